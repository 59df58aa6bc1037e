// Go's strings.TrimSpace, which the meshes' parsers apply to annotation values. It trims
// what unicode.IsSpace calls space; JavaScript's trim() differs at the edges (it trims
// U+FEFF, which Go keeps, and keeps U+0085, which Go trims).
export const GO_SPACE: ReadonlySet<string> = new Set([
  '\t', '\n', '\v', '\f', '\r', ' ', '\u0085', '\u00a0', '\u1680',
  '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a',
  '\u2028', '\u2029', '\u202f', '\u205f', '\u3000',
]);

/**
 * GO_SPACE by code unit. Every annotation value of every review is trimmed, most of them
 * with nothing to trim: comparing numbers spares a one-character string and a Set lookup
 * per end (a property test holds it equal to GO_SPACE).
 */
const isGoSpaceCode = (c: number): boolean =>
  c <= 0x20
    ? c === 0x20 || (c >= 0x09 && c <= 0x0d)
    : c >= 0x85 &&
      (c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000);

export const isGoSpace = (c: string): boolean => c.length === 1 && isGoSpaceCode(c.charCodeAt(0));

export const goTrimSpace = (s: string): string => {
  let start = 0;
  let end = s.length;
  while (start < end && isGoSpaceCode(s.charCodeAt(start))) start++;
  while (end > start && isGoSpaceCode(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
};
