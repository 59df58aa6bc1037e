// Where a large manifest file can be cut so that it is parsed a piece at a time.
//
// Parsed whole, a file keeps every YAML event of it alive until its last document is
// read. A 9 MB `kind: List` of 10k items took 1.2 s and 240 MB in js-yaml alone, against
// 0.45 s and 118 MB in pieces of ~64 KB (interleaved runs); a 7.8 MB file of 10k documents
// took `check` 1.7 s and 300 MB, against 1.1 s and 148 MB for the same documents in 100
// files. This module only finds the cuts, from the lines alone; inputs.ts parses the
// pieces, and parses the file whole instead whenever a piece does not parse on its own.
//
// Documents are cut before a `---` line: YAML ends any node there, and js-yaml does (an
// unterminated quoted scalar or flow collection fails, a block scalar ends). A List's items
// are cut before a line that starts an item of the List's own sequence (`-` at the column
// of its first item): the only constructs that could hold such a line without ending the
// item, quoted scalars and flow collections over several lines, fail to parse when cut, and
// an alias cut off from its anchor fails too, so a wrong cut falls back, never misreads.
// Directives, a byte order mark and carriage returns are left to the whole parse.

/** A piece grows to at least this many characters: young-generation sized, as a manifest file. */
export const PIECE_CHARS = 64 * 1024;

/** Whether the text has what the cuts leave to the whole parse: a directive, a byte order mark, a carriage return. */
const uncuttable = (text: string): boolean => text.includes('\r') || text.includes('\uFEFF') || /^%/m.test(text);

/** A document marker line: `---` at column 0, then the line's end or a space or tab. */
const MARKER = /^---([ \t]|$)/;

/**
 * Offsets where pieces of whole documents start (the first is 0), each running to the next
 * or to the end; undefined when the text is not cut (fewer than two pieces, or see above).
 */
export const splitDocuments = (text: string, pieceChars = PIECE_CHARS): number[] | undefined => {
  if (uncuttable(text)) return undefined;
  const cuts = [0];
  let pieceStart = 0;
  for (let offset = 0; offset < text.length; ) {
    const nl = text.indexOf('\n', offset);
    const next = nl < 0 ? text.length : nl + 1;
    if (offset - pieceStart >= pieceChars && text.startsWith('---', offset) && MARKER.test(text.slice(offset, nl < 0 ? text.length : nl))) {
      cuts.push(offset);
      pieceStart = offset;
    }
    offset = next;
  }
  return cuts.length > 1 ? cuts : undefined;
};

/** A file that is one `kind: List`-like document whose `items:` is a block sequence. */
export interface ListSplit {
  /** Offset where the sequence's first line starts; text before it ends with the `items:` line. */
  itemsStart: number;
  /** Offset where the sequence's text ends: the List's remaining keys (or nothing) follow. */
  itemsEnd: number;
  /** Offsets where each piece starts (the first is itemsStart); each runs to the next or to itemsEnd. */
  cuts: number[];
}

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
 * it is parsed whole). Document markers other than one leading `---` are left to the whole
 * parse.
 */
export const splitList = (text: string, pieceChars = PIECE_CHARS): ListSplit | undefined => {
  if (uncuttable(text)) return undefined;
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
    if (line.startsWith('...')) return undefined;
    if (MARKER.test(line)) {
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
    if (line.startsWith('...') || MARKER.test(line)) return undefined;
    if (content(line) && indentOf(line) !== 0) return undefined;
    o = nl < 0 ? text.length : nl + 1;
  }
  return { itemsStart, itemsEnd, cuts };
};
