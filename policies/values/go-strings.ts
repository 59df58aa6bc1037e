// Go's strings.TrimSpace, which the meshes' parsers apply to annotation values. It trims
// what unicode.IsSpace calls space; JavaScript's trim() differs at the edges (it trims
// U+FEFF, which Go keeps, and keeps U+0085, which Go trims).
const GO_SPACE = new Set([
  '\t', '\n', '\v', '\f', '\r', ' ', '\u0085', '\u00a0', '\u1680',
  '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a',
  '\u2028', '\u2029', '\u202f', '\u205f', '\u3000',
]);

export const isGoSpace = (c: string): boolean => GO_SPACE.has(c);

export const goTrimSpace = (s: string): string => {
  let start = 0;
  let end = s.length;
  while (start < end && GO_SPACE.has(s[start]!)) start++;
  while (end > start && GO_SPACE.has(s[end - 1]!)) end--;
  return s.slice(start, end);
};
