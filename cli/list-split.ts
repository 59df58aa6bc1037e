// Where a large `kind: List` file can be cut so that its items are parsed a few at a time.
//
// Parsed whole, a 9 MB List of 10k items keeps every YAML event of the file alive until
// the last item is read: 1.2 s and 240 MB in js-yaml alone, against 0.45 s and 118 MB in
// pieces of ~64 KB (the same file, interleaved runs). This module only finds the cuts, from
// the lines' indentation; inputs.ts parses the pieces, and parses the file whole instead
// whenever a piece or the List's other keys do not parse on their own. A cut is made only
// before a line that starts an item of the List's own sequence (`-` at the column of the
// first item). The only constructs that could hold such a line without ending the item,
// quoted scalars and flow collections spanning lines, fail to parse when cut, and an
// alias cut off from its anchor fails too, so a wrong cut falls back instead of misreading.

/** A file that is one `kind: List`-like document whose `items:` is a block sequence. */
export interface ListSplit {
  /** Offset where the sequence's first line starts; text before it ends with the `items:` line. */
  itemsStart: number;
  /** Offset where the sequence's text ends: the List's remaining keys (or nothing) follow. */
  itemsEnd: number;
  /** Offsets where each piece starts (the first is itemsStart); each runs to the next or to itemsEnd. */
  cuts: number[];
}

/** A piece grows to at least this many characters: young-generation sized, as a manifest file. */
export const PIECE_CHARS = 64 * 1024;

/** Content line: not blank, not a comment. */
const content = (line: string): boolean => {
  const t = line.trimStart();
  return t !== '' && !t.startsWith('#');
};

/** Leading spaces (YAML indents with spaces only; a tab there is the whole parse's error to report). */
const indentOf = (line: string): number => {
  let i = 0;
  while (line.charCodeAt(i) === 32) i++;
  return i;
};

/** `-` at column `k`, followed by a space, a tab or the line's end: an entry of the sequence at k. */
const entryAt = (line: string, k: number): boolean =>
  indentOf(line) === k && line[k] === '-' && (line.length === k + 1 || line[k + 1] === ' ' || line[k + 1] === '\t');

/**
 * The cuts of `text`, or undefined when the file is not laid out as one List document with
 * a root mapping at column 0 and `items:` as a plain key followed by a block sequence (then
 * it is parsed whole). Directives, document markers other than one leading `---`, a byte
 * order mark and carriage returns are left to the whole parse.
 */
export const splitList = (text: string, pieceChars = PIECE_CHARS): ListSplit | undefined => {
  if (text.includes('\r') || text.includes('\uFEFF')) return undefined;
  let offset = 0;
  let itemsLine = -1;
  let seenContent = false;
  // The header: the List's keys up to `items:`.
  for (;;) {
    if (offset >= text.length) return undefined;
    const nl = text.indexOf('\n', offset);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(offset, end);
    const next = nl < 0 ? text.length : nl + 1;
    if (line.startsWith('%') || line.startsWith('...')) return undefined;
    if (/^---(\s|$)/.test(line)) {
      if (seenContent || line.trim() !== '---') return undefined;
    } else if (content(line)) {
      seenContent = true;
      if (/^items:[ \t]*(#.*)?$/.test(line)) {
        itemsLine = next;
        offset = next;
        break;
      }
    }
    offset = next;
  }
  // The sequence: from its first content line, which must be an entry, to the first
  // content line left of it or at its column that is not an entry.
  let k = -1;
  let itemsStart = -1;
  let itemsEnd = text.length;
  const cuts: number[] = [];
  let pieceStart = -1;
  while (offset < text.length) {
    const nl = text.indexOf('\n', offset);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(offset, end);
    const next = nl < 0 ? text.length : nl + 1;
    if (content(line)) {
      if (k < 0) {
        k = indentOf(line);
        if (!entryAt(line, k)) return undefined;
        itemsStart = itemsLine;
        cuts.push(itemsStart);
        pieceStart = itemsStart;
      } else if (entryAt(line, k)) {
        if (offset - pieceStart >= pieceChars) {
          cuts.push(offset);
          pieceStart = offset;
        }
      } else if (indentOf(line) <= k) {
        itemsEnd = offset;
        break;
      }
    }
    offset = next;
  }
  if (k < 0) return undefined;
  // What follows must be more keys of the root mapping, with no document marker.
  for (let o = itemsEnd; o < text.length; ) {
    const nl = text.indexOf('\n', o);
    const line = text.slice(o, nl < 0 ? text.length : nl);
    if (line.startsWith('%') || line.startsWith('...') || /^---(\s|$)/.test(line)) return undefined;
    if (content(line) && indentOf(line) !== 0) return undefined;
    o = nl < 0 ? text.length : nl + 1;
  }
  return { itemsStart, itemsEnd, cuts };
};
