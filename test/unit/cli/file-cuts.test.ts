// A large file is parsed in pieces: a `kind: List` cut before its items' lines, other files
// before `---` lines (cli/file-cuts.ts; listInPieces and documentsInPieces in
// cli/inputs.ts). Whatever the pieces give must be what the whole file gives: the same
// objects, documents, item positions, offsets and line of every path. The generated files
// hold what could fool a cut made from lines alone: item-like and marker-like lines inside
// quoted scalars, flow collections and block scalars, aliases to an anchor in an earlier
// item, comments, empty documents, documents and items that are not mappings, the List's
// keys after its items. Where a piece cannot be read alone the file is parsed whole
// (undefined here).
// fast-check runs under the seed test/fc-seed.mjs prints first; replay with FC_SEED=<seed>.
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { documentsInPieces, listInPieces, manifestPieces, parseManifests, PIECES_MIN_CHARS, type SourceDoc } from '../../../cli/inputs.js';
import { splitDocuments, splitList } from '../../../cli/file-cuts.js';
import type { Path } from '../../../policies/findings.js';

/** Every path of a value, and one under each that does not exist. */
const pathsOf = (v: unknown, p: Path = []): Path[] => {
  if (v === null || typeof v !== 'object') return [p];
  const kids = Array.isArray(v) ? v.map((x, i) => pathsOf(x, [...p, i])) : Object.entries(v).map(([k, x]) => pathsOf(x, [...p, k]));
  return [p, [...p, 'absent'], ...kids.flat()];
};

/** Why two parses differ, or undefined. */
const difference = (pieces: SourceDoc[], whole: SourceDoc[]): string | undefined => {
  if (pieces.length !== whole.length) return `${pieces.length} objects against ${whole.length}`;
  for (let i = 0; i < whole.length; i++) {
    const a = pieces[i]!;
    const b = whole[i]!;
    if (!isDeepStrictEqual(a.object, b.object)) return `object ${i}: ${JSON.stringify(a.object)} against ${JSON.stringify(b.object)}`;
    if (a.file !== b.file || a.index !== b.index || a.start !== b.start || !isDeepStrictEqual(a.prefix, b.prefix)) {
      return `object ${i}: ${JSON.stringify([a.file, a.index, a.start, a.prefix])} against ${JSON.stringify([b.file, b.index, b.start, b.prefix])}`;
    }
    for (const p of pathsOf(b.object)) if (a.lineOf(p) !== b.lineOf(p)) return `object ${i} path ${JSON.stringify(p)}: line ${a.lineOf(p)} against ${b.lineOf(p)}`;
  }
  return undefined;
};

/** The whole parse (no cut), or its error. */
const whole = (text: string): SourceDoc[] | Error => {
  try {
    return parseManifests(text, 'l.yaml', { minChars: Infinity, pieceChars: 0 });
  } catch (err) {
    return err as Error;
  }
};

/** Throws unless `pieces` read `text` as the whole parse does. */
const sameAsWhole = (text: string, pieces: SourceDoc[]): void => {
  const w = whole(text);
  if (w instanceof Error) throw new Error(`the pieces read a file whose whole parse fails (${w.message}):\n${text}`);
  const diff = difference(pieces, w);
  if (diff) throw new Error(`${diff}\n${text}`);
};

/**
 * Over generated texts cut every `chars` characters or more: the pieces read each as the
 * whole parse does, or fall back (undefined). Both must happen: the property checked
 * readings, not only fallbacks.
 */
const readOrFallBack = <L>(t: Test, layouts: fc.Arbitrary<L>, text: (l: L) => string, read: (text: string, chars: number) => SourceDoc[] | undefined): void => {
  let readings = 0;
  let fallbacks = 0;
  fc.assert(
    fc.property(layouts, fc.nat(200), (l, chars) => {
      const s = text(l);
      const pieces = read(s, chars);
      if (!pieces) {
        fallbacks++;
        return;
      }
      readings++;
      sameAsWhole(s, pieces);
    }),
    { numRuns: 600 },
  );
  t.ok(readings > 0 && fallbacks > 0, `${readings} read in pieces, ${fallbacks} parsed whole`);
};

/** An item's lines at content indentation `c` (the entry's `-` goes at c - 2). */
type Part = (c: number, n: number) => string[];
const sp = (n: number) => ' '.repeat(n);
const PLAIN: Part[] = [
  (c, n) => [`kind: Namespace`, `${sp(c)}apiVersion: v1`, `${sp(c)}metadata: {name: ns-${n}}`],
  (c, n) => [`apiVersion: v1`, `${sp(c)}kind: Pod`, `${sp(c)}metadata:`, `${sp(c + 2)}name: p-${n}`, `${sp(c + 2)}labels: {app: db}`],
  (c, n) => [`kind: ConfigMap`, `${sp(c)}metadata: {name: cm-${n}}`, `${sp(c)}data:`, `${sp(c + 2)}script: |`, `${sp(c + 4)}run`, '', `${sp(c + 4)}- not an item`],
  (c, n) => [`kind: ConfigMap`, `${sp(c)}data: {k: "v${n}"}`, `# - a comment at column 0`, `${sp(c - 2)}# - a comment at the entries' column`],
  // The mapping on the line after the `-`.
  (c, n) => ['', `${sp(c)}kind: Secret`, `${sp(c)}metadata: {name: s-${n}}`],
  // Not mappings: kept out of the objects, counted in the positions.
  () => ['just a string'],
  () => ['[1, 2]'],
  (c) => [`- nested`, `${sp(c)}- sequence`],
  // A plain scalar running over lines deeper than the entry.
  (c, n) => [`kind: ConfigMap`, `${sp(c)}data: {note: first`, `${sp(c + 2)}second ${n}}`],
];
/** What a cut by indentation could misread: each either parses as in the file or fails alone. */
const TRICKY: Part[] = [
  (c) => [`kind: ConfigMap`, `${sp(c)}data: {note: "first`, `${sp(c - 2)}- second"}`],
  (c) => [`kind: ConfigMap`, `${sp(c)}data: {note: 'first`, `${sp(c - 2)}- second'}`],
  (c) => [`kind: ConfigMap`, `${sp(c)}data: {ports: [1,`, `${sp(c - 2)}- 2]}`],
  (c, n) => [`&a${n % 3} {kind: Namespace, metadata: {name: anchored-${n}}}`],
  (_c, n) => [`*a${n % 3}`],
  (c, n) => [`kind: Pod`, `${sp(c)}metadata: &m${n % 2} {name: m-${n}}`, `${sp(c)}spec: {x: *m${(n + 1) % 2}}`],
  (c) => [`kind: ConfigMap`, `${sp(c)}data: {k: |`, `${sp(c - 2)}- inside}`],
  (c) => [`kind: ConfigMap`, `${sp(c)}data:`, `${sp(c + 2)}k: >-`, `${sp(c + 4)}folded`, `${sp(c - 2)}- after`],
];

interface Layout {
  /** Column of the entries' `-`. */
  k: number;
  marker: boolean;
  typed: boolean;
  kindAfter: boolean;
  trailer: boolean;
  items: { part: number; n: number }[];
}

const render = (parts: Part[], l: Layout): string => {
  const c = l.k + 2;
  const kind = `kind: ${l.typed ? 'PodList' : 'List'}`;
  const head = [...(l.marker ? ['# a List', '---'] : []), 'apiVersion: v1', ...(l.kindAfter ? [] : [kind]), 'items:', '# before the first item'];
  const items = l.items.flatMap(({ part, n }) => {
    const [first, ...rest] = parts[part % parts.length]!(c, n);
    return [`${sp(l.k)}-${first === '' ? '' : ` ${first}`}`, ...rest];
  });
  const tail = [...(l.kindAfter ? [kind] : []), ...(l.trailer ? ['metadata: {resourceVersion: ""}', '# the end'] : [])];
  return [...head, ...items, ...tail].join('\n') + '\n';
};

const layout = (parts: number) =>
  fc.record({
    k: fc.constantFrom(0, 2, 4),
    marker: fc.boolean(),
    typed: fc.boolean(),
    kindAfter: fc.boolean(),
    trailer: fc.boolean(),
    items: fc.array(fc.record({ part: fc.nat(parts - 1), n: fc.nat(20) }), { minLength: 1, maxLength: 12 }),
  });

t.test('Lists laid out plainly are cut before every item and read as the whole file reads them', (t) => {
  fc.assert(
    fc.property(layout(PLAIN.length), (l) => {
      const text = render(PLAIN, l);
      const split = splitList(text, 1);
      if (!split) throw new Error(`not split:\n${text}`);
      if (split.cuts.length !== l.items.length) throw new Error(`${split.cuts.length} cuts for ${l.items.length} items:\n${text}`);
      const pieces = listInPieces(text, 'l.yaml', split);
      if (!pieces) throw new Error(`pieces fell back to the whole parse:\n${text}`);
      const w = whole(text);
      if (w instanceof Error) throw new Error(`the whole file failed (${w.message}):\n${text}`);
      const diff = difference(pieces, w);
      if (diff) throw new Error(`${diff}\n${text}`);
    }),
    { numRuns: 300 },
  );
  t.end();
});

t.test('a List with lines that look like items inside an item is read as the whole file reads it, or parsed whole', (t) => {
  const parts = [...PLAIN, ...TRICKY];
  readOrFallBack(t, layout(parts.length), (l) => render(parts, l), (text, chars) => {
    const split = splitList(text, chars);
    return split && listInPieces(text, 'l.yaml', split);
  });
  t.end();
});

t.test('what is not one List document with a block sequence of items is left to the whole parse', (t) => {
  const list = (body: string) => `apiVersion: v1\nkind: List\n${body}`;
  const cases: [string, string][] = [
    ['no items key', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n'],
    ['flow items', list('items: [{kind: Namespace}]\n')],
    ['items then nothing', list('items:\n# only a comment\n')],
    ['items not a sequence', list('items:\n  kind: Namespace\n')],
    ['a directive', `%YAML 1.2\n---\n${list('items:\n- kind: Namespace\n')}`],
    ['a second document', `${list('items:\n- kind: Namespace\n')}---\nkind: Pod\n`],
    ['a document end marker', `${list('items:\n- kind: Namespace\n')}...\n`],
    ['a marker after content', `apiVersion: v1\n---\nkind: List\nitems:\n- kind: Namespace\n`],
    ['a tagged marker', `--- !!map\n${list('items:\n- kind: Namespace\n')}`],
    ['carriage returns', list('items:\r\n- kind: Namespace\r\n')],
    ['a byte order mark', `\uFEFF${list('items:\n- kind: Namespace\n')}`],
    ['an indented key after the items', list('items:\n    - kind: Namespace\n  metadata: {}\n')],
    ['a marker after the items', list('items:\n  - kind: Namespace\nmetadata: {}\n---\n')],
    ['a tab before an entry', list('items:\n  - kind: Namespace\n \t- kind: Pod\n')],
  ];
  for (const [name, text] of cases) t.equal(splitList(text, 1), undefined, name);
  t.end();
});

t.test('the pieces fall back when the List keys or a piece do not read as a List and items', (t) => {
  const cut = (text: string) => {
    const split = splitList(text, 1);
    t.ok(split, `split:\n${text}`);
    return listInPieces(text, 'l.yaml', split!);
  };
  // kind after the items names no List; an entry at column 0 under items at column 2
  // belongs to no key; an alias into the List's own keys; a duplicated items key.
  t.equal(cut('apiVersion: v1\nkind: Pod\nitems:\n- kind: Namespace\n'), undefined, 'not a List');
  t.equal(cut('apiVersion: v1\nkind: List\nitems:\n  - kind: Namespace\n- kind: Pod\n'), undefined, 'an entry left of the items');
  t.equal(cut('apiVersion: &v v1\nkind: List\nitems:\n- {kind: Namespace, apiVersion: *v}\n'), undefined, 'an alias to the List keys');
  t.equal(cut('apiVersion: v1\nkind: List\nitems:\n- kind: Namespace\nitems: []\n'), undefined, 'items twice');
  t.equal(cut('kind: List\nx: *nowhere\nitems:\n- kind: Namespace\n'), undefined, 'an alias in the List keys');
  t.equal(cut('kind: List\nitems:\n- kind: Namespace\n  bad: [\n- kind: Pod\n'), undefined, 'an item that does not parse');
  t.equal(cut('kind: List\nitems:\n- &a {kind: Namespace}\n- *a\n'), undefined, 'an alias to an earlier piece');
  t.end();
});

t.test('a List past the size where pieces start is read as the whole file reads it', (t) => {
  const item = (i: number) => `  - apiVersion: v1\n    kind: Namespace\n    metadata:\n      name: ns-${i}\n      labels: {team: storage}\n`;
  const count = Math.ceil(PIECES_MIN_CHARS / item(0).length) + 10;
  const text = `apiVersion: v1\nkind: List\nitems:\n${Array.from({ length: count }, (_, i) => item(i)).join('')}`;
  t.ok(text.length >= PIECES_MIN_CHARS);
  const split = splitList(text);
  t.ok(split && split.cuts.length > 1, 'cut into pieces');
  const docs = parseManifests(text, 'big.yaml');
  t.equal(docs.length, count);
  t.same(docs.at(-1)!.object.metadata, { name: `ns-${count - 1}`, labels: { team: 'storage' } });
  t.equal(docs.at(-1)!.lineOf(['metadata', 'name']), 3 + (count - 1) * 5 + 4);
  // The same List after a directive is parsed whole (two lines and 14 characters later).
  const wholeDocs = parseManifests(`%YAML 1.2\n---\n${text}`, 'big.yaml');
  t.equal(wholeDocs.length, count);
  const shifted = wholeDocs.map((d) => ({ ...d, start: d.start! - 14, lineOf: (p: Path) => d.lineOf(p) - 2 }));
  t.equal(difference(docs, shifted), undefined);
  t.end();
});

/** A document's text (the marker line before it, if any, is the layout's). */
type Doc = (n: number) => string[];
const PLAIN_DOCS: Doc[] = [
  (n) => ['apiVersion: v1', 'kind: Namespace', `metadata: {name: ns-${n}}`],
  (n) => ['kind: ConfigMap', `metadata: {name: cm-${n}}`, 'data:', '  script: |', '    ---', '    - run', '', '  other: x'],
  (n) => ['# only a comment before the content', `kind: Pod`, `metadata: &m {name: p-${n}}`, 'spec: {copy: *m}'],
  (n) => ['apiVersion: v1', 'kind: List', 'items:', `- {kind: Namespace, metadata: {name: l-${n}}}`, '- not a mapping', '- kind: Pod'],
  () => [],
  () => ['# a document of comments only'],
  (n) => [`{kind: Secret, metadata: {name: s-${n}}}`],
];
/** Marker-like lines where a cut by lines could misread: each parses as in the file or fails. */
const TRICKY_DOCS: Doc[] = [
  () => ['kind: ConfigMap', 'data: {note: "first', '---', '  second"}'],
  () => ['kind: ConfigMap', 'data: [1,', '--- 2]'],
  () => ['just a scalar'],
  () => ['|', '  a block scalar'],
  () => ['kind: ConfigMap', 'data:', '  k: |', '    text', '--- # then a document'],
  () => ['kind: Pod', 'x: *nowhere'],
];
const MARKERS = ['---', '--- # a comment', '---\t', '--- ', '...\n---'];

interface DocsLayout {
  first: boolean;
  docs: { part: number; n: number; marker: number }[];
}
const renderDocs = (parts: Doc[], l: DocsLayout): string =>
  l.docs
    .flatMap(({ part, n, marker }, i) => [...(i > 0 || l.first ? [MARKERS[marker % MARKERS.length]!] : []), ...parts[part % parts.length]!(n)])
    .join('\n') + '\n';
const docsLayout = (parts: number) =>
  fc.record({
    first: fc.boolean(),
    docs: fc.array(fc.record({ part: fc.nat(parts - 1), n: fc.nat(20), marker: fc.nat(MARKERS.length - 1) }), { minLength: 1, maxLength: 12 }),
  });

t.test('files of plain documents are cut before every marker and read as the whole file reads them', (t) => {
  fc.assert(
    fc.property(docsLayout(PLAIN_DOCS.length), (l) => {
      const text = renderDocs(PLAIN_DOCS, l);
      const cuts = splitDocuments(text, 1);
      // A cut before every marker line but one at the very start.
      const markers = [...text.matchAll(/^---/gm)].filter((m) => m.index > 0).length;
      if ((cuts?.length ?? 1) !== markers + 1) throw new Error(`${cuts?.length} cuts for ${markers} markers:\n${text}`);
      const w = whole(text);
      if (w instanceof Error) throw new Error(`the whole file failed (${w.message}):\n${text}`);
      if (!cuts) return;
      const pieces = documentsInPieces(text, 'l.yaml', cuts);
      if (!pieces) throw new Error(`pieces fell back to the whole parse:\n${text}`);
      const diff = difference(pieces, w);
      if (diff) throw new Error(`${diff}\n${text}`);
    }),
    { numRuns: 300 },
  );
  t.end();
});

t.test('a file with marker-like lines inside a document is read as the whole file reads it, or parsed whole', (t) => {
  const parts = [...PLAIN_DOCS, ...TRICKY_DOCS];
  readOrFallBack(t, docsLayout(parts.length), (l) => renderDocs(parts, l), (text, chars) => {
    const cuts = splitDocuments(text, chars);
    return cuts && documentsInPieces(text, 'l.yaml', cuts);
  });
  t.end();
});

t.test('a file with a directive, a byte order mark or carriage returns is not cut', (t) => {
  const docs = 'kind: Namespace\n---\nkind: Pod\n';
  t.same(splitDocuments(docs, 1), [0, 16]);
  t.equal(splitDocuments(`%YAML 1.2\n---\n${docs}`, 1), undefined, 'a directive');
  t.equal(splitDocuments(`\uFEFF${docs}`, 1), undefined, 'a byte order mark');
  t.equal(splitDocuments(docs.replaceAll('\n', '\r\n'), 1), undefined, 'carriage returns');
  t.equal(splitDocuments(docs, 1000), undefined, 'one piece');
  t.equal(splitDocuments('kind: Namespace\n----\nkind: Pod\n---x\n', 1), undefined, 'no marker');
  t.end();
});

t.test('a file of documents past the size where pieces start is read as the whole file reads it', (t) => {
  const doc = (i: number) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-${i}\n  labels: {team: storage}\n---\n`;
  const count = Math.ceil(PIECES_MIN_CHARS / doc(0).length) + 10;
  const text = Array.from({ length: count }, (_, i) => doc(i)).join('');
  t.ok((splitDocuments(text)?.length ?? 0) > 1, 'cut into pieces');
  const docs = parseManifests(text, 'big.yaml');
  t.equal(docs.length, count);
  t.same(docs.at(-1)!.object.metadata, { name: `ns-${count - 1}`, labels: { team: 'storage' } });
  t.equal(docs.at(-1)!.index, count - 1);
  t.equal(docs.at(-1)!.lineOf(['metadata', 'name']), (count - 1) * 6 + 4);
  // After a directive the same documents are parsed whole (two lines and 14 characters later).
  const wholeDocs = parseManifests(`%YAML 1.2\n---\n${text}`, 'big.yaml');
  const shifted = wholeDocs.map((d) => ({ ...d, start: d.start! - 14, lineOf: (p: Path) => d.lineOf(p) - 2 }));
  t.equal(difference(docs, shifted), undefined);
  // A document that is not a mapping in a later piece is reported as the whole parse does.
  t.throws(() => parseManifests(`${text}- a sequence\n`, 'big.yaml'), { message: new RegExp(`^big\\.yaml:${count * 6 + 1}: document ${count + 1} is not a mapping`) });
  t.end();
});

t.test('a file read a piece at a time gives the whole parse\'s documents, or its error, also when a later piece falls back', (t) => {
  const lists = [...PLAIN, ...TRICKY];
  const docs = [...PLAIN_DOCS, ...TRICKY_DOCS];
  const texts = fc.oneof(layout(lists.length).map((l) => render(lists, l)), docsLayout(docs.length).map((l) => renderDocs(docs, l)));
  let midway = 0;
  fc.assert(
    fc.property(texts, fc.nat(200), (text, chars) => {
      const w = whole(text);
      const got: SourceDoc[] = [];
      let pieces = 0;
      try {
        for (const piece of manifestPieces(text, 'l.yaml', { minChars: 0, pieceChars: chars })) {
          got.push(...piece.docs);
          pieces++;
        }
      } catch (err) {
        if (!(w instanceof Error) || (err as Error).message !== w.message) throw new Error(`pieces threw ${(err as Error).message}, the whole parse ${w instanceof Error ? w.message : 'did not'}:\n${text}`);
        if (pieces > 0) midway++;
        return;
      }
      if (w instanceof Error) throw new Error(`the pieces read a file whose whole parse fails (${w.message}):\n${text}`);
      const diff = difference(got, w);
      if (diff) throw new Error(`${diff}\n${text}`);
    }),
    { numRuns: 600 },
  );
  // Some files failed after pieces before the failing one had been read.
  t.ok(midway > 0, `${midway} errors after the first piece`);
  t.end();
});
