// Reads the manifests a CLI run is given: files, directories (recursive), `-` for stdin;
// multi-document YAML and JSON; `kind: List` expanded into its items.
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { constructFromEvents, CORE_SCHEMA, mergeTag, parseEvents, YAMLException, type Event } from 'js-yaml';
import {
  InputError,
  MG_ERR_INPUT_DOCUMENT,
  MG_ERR_INPUT_LOOP,
  MG_ERR_INPUT_MISSING,
  MG_ERR_INPUT_READ,
  MG_ERR_INPUT_UTF8,
  MG_ERR_INPUT_YAML,
} from '../policies/errors.js';
import type { Path } from '../policies/findings.js';
import type { KubeObject } from '../policies/k8s.js';
import { isPlainObject } from '../policies/k8s.js';
import { EventIndex, LineIndex } from './source-map.js';
import { PIECE_CHARS, splitDocuments, splitList, type ListSplit } from './file-cuts.js';

/** Unreadable input: exit code 2, with where it went wrong (a catalog error, policies/errors.ts). */
export { InputError };

/**
 * The schema kubectl reads manifests with, as far as meshguard can tell the difference:
 * kubectl converts YAML to JSON with sigs.k8s.io/yaml, whose go-yaml v2 decoder resolves
 * merge keys (`<<: *base`, or a sequence of mappings, earlier ones winning; an explicit
 * key after the merge overrides it). js-yaml's CORE_SCHEMA leaves `<<` a plain key, which
 * made a kubectl-valid manifest unreadable here (labels "must map strings to strings").
 * One difference remains: go-yaml v2 lets a merge overwrite an explicit key written
 * *before* the `<<`, js-yaml (and the YAML merge-key spec) keep the explicit key.
 */
export const MANIFEST_SCHEMA = CORE_SCHEMA.withTags(mergeTag);

export interface SourceDoc {
  file: string;
  /** 0-based position of the document in its file. */
  index: number;
  /** Path of this object inside the document ([] or ['items', n] for a List item). */
  prefix: Path;
  object: KubeObject;
  /** 1-based line of a field path inside `object`. */
  lineOf(path: Path): number;
  /**
   * Offset in the file's text of the document's first token (its root node's anchor, tag
   * or content; a List's for each of its items), where the document can be parsed again
   * on its own (cli/check-partition.ts). -1 when unknown.
   */
  start?: number;
}

const MANIFEST = /\.(ya?ml|json)$/i;

/** The catalog error for a failed stat/read of `file`: a loop and a missing file are named as such. */
const fsError = (err: unknown, file: string): InputError => {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return MG_ERR_INPUT_LOOP(file) as InputError;
  if (code === 'ENOENT' || code === 'ENOTDIR') return MG_ERR_INPUT_MISSING(file) as InputError;
  return MG_ERR_INPUT_READ(file, code ?? (err as Error).message) as InputError;
};

/**
 * Names whose locale order is their code-unit order: in ICU's root collation (and in the
 * en and POSIX tailorings) '-' < '.' < digits < lowercase letters, each with its own
 * primary weight, as in ASCII.
 */
const CODE_ORDERED = /^[a-z0-9.-]*$/;

/**
 * Whether the default collation is the root's or English's: ICU takes the default locale
 * from LC_ALL, then LC_MESSAGES, then LANG (C and POSIX read as en-US-POSIX). Another
 * language may reorder even ASCII names (Danish sorts "aa" after "z").
 */
export const rootCollation = (env: NodeJS.ProcessEnv): boolean => {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG;
  return !locale || /^(C|POSIX|en(_[A-Za-z]+)?)([.@].*)?$/.test(locale);
};

/**
 * Directory entries in the locale order of their names (localeCompare). Names that the
 * locale orders as code units are compared as such: localeCompare's first call opens
 * ICU's collator, 1% of the instructions of a `check` of 10k documents.
 */
export const sortByName = <T extends { name: string }>(entries: T[], env: NodeJS.ProcessEnv = process.env): T[] =>
  rootCollation(env) && entries.every((e) => CODE_ORDERED.test(e.name))
    ? entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    : entries.sort((a, b) => a.name.localeCompare(b.name));

/**
 * Every manifest file under `paths`, each once: a file named twice (or reached through a
 * directory and by name, or through two links) is read once, under the first name it was
 * given, so its findings are not doubled. A directory link back into its own ancestry
 * would recurse without end: it is refused as a loop.
 */
export const expandPaths = async (paths: readonly string[]): Promise<string[]> => {
  const out: string[] = [];
  const seen = new Set<string>();
  const walk = async (list: readonly string[], ancestors: readonly string[]): Promise<void> => {
    for (const p of list) {
      if (p === '-') {
        if (!seen.has(p)) out.push(p);
        seen.add(p);
        continue;
      }
      let st;
      let real;
      try {
        st = await stat(p);
        real = await realpath(p);
      } catch (err) {
        throw fsError(err, p);
      }
      if (st.isDirectory()) {
        if (ancestors.includes(real)) throw MG_ERR_INPUT_LOOP(p);
        let entries;
        try {
          entries = sortByName(await readdir(p, { withFileTypes: true }));
        } catch (err) {
          throw fsError(err, p);
        }
        const nested = entries.filter((e) => e.isDirectory() || MANIFEST.test(e.name)).map((e) => join(p, e.name));
        await walk(nested, [...ancestors, real]);
      } else if (!seen.has(real)) {
        seen.add(real);
        out.push(p);
      }
    }
  };
  await walk(paths, []);
  return out;
};

/** 1-based line of the first byte of `buf` that is not UTF-8, or 0 when all of it is. */
const firstBadUtf8Line = (buf: Buffer): number => {
  if (isUtf8(buf)) return 0;
  // Rare path: find the offending sequence by decoding ever longer prefixes line by line.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl < 0 ? buf.length : nl;
    try {
      decoder.decode(buf.subarray(start, end));
    } catch {
      return line;
    }
    if (nl < 0) return line;
    start = nl + 1;
    line++;
  }
};

/**
 * Bytes as text, refusing what is not UTF-8. kubectl refuses it too (go-yaml's reader
 * stops at an "invalid leading UTF-8 octet"); decoding with replacement instead would
 * judge, and `inject` would print, text that is not what the file holds.
 */
export const decodeUtf8 = (buf: Buffer, file: string): string => {
  const line = firstBadUtf8Line(buf);
  if (line > 0) throw MG_ERR_INPUT_UTF8(file, line);
  return buf.toString('utf8');
};

/** One input file's text (synchronous: see Partition.parse for why). */
export const readTextFileSync = (file: string): string => {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw fsError(err, file);
  }
  return decodeUtf8(buf, file);
};

/** One input file's text. */
export const readTextFile = async (file: string): Promise<string> => {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw fsError(err, file);
  }
  return decodeUtf8(buf, file);
};

/** The name findings and errors give standard input (`-`). */
export const STDIN = '<stdin>';

/** Standard input's text: all of it, refusing what is not UTF-8. */
export const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return decodeUtf8(Buffer.concat(chunks), STDIN);
};

/**
 * An item of a `List` as an object. Items of a typed list (`PodList` from
 * `kubectl get --raw`) carry no apiVersion/kind of their own: they get the list's.
 */
export const listItem = (list: Record<string, unknown>, item: Record<string, unknown>): KubeObject => {
  const kind = String(list.kind);
  if (kind === 'List' || (typeof item.kind === 'string' && typeof item.apiVersion === 'string')) return item as KubeObject;
  return { ...item, kind: item.kind ?? kind.slice(0, -'List'.length), apiVersion: item.apiVersion ?? list.apiVersion } as KubeObject;
};

/**
 * A copy sharing no object with another part of the value. js-yaml hands every alias of
 * an anchor the same object, so a mutation of the pod template's labels would also change
 * the StatefulSet's selector that aliases them; the API server gets JSON, where nothing
 * is shared, and changes only the template.
 */
const unshared = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(unshared);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = unshared(v[k]);
    return out;
  }
  return v;
};

/** The smaller of two offsets, -1 (absent) counting as none. */
const earlier = (a: number, b: number | undefined): number => (b === undefined || b < 0 ? a : a < 0 || b < a ? b : a);

/** Offset of a document root's first token: its anchor, its tag or its content, whichever comes first. */
const firstToken = (e: Event): number => {
  // Compared in place: the array of four offsets made per document cost more than the rest.
  const ev = e as Partial<Record<'start' | 'valueStart' | 'anchorStart' | 'tagStart', number>>;
  return earlier(earlier(earlier(earlier(-1, ev.start), ev.valueStart), ev.anchorStart), ev.tagStart);
};

/** A text's documents: their values, the index of their nodes, where each starts. */
interface Parsed {
  values: unknown[];
  index: EventIndex;
  /** Offset of each document's first token (-1: unknown). */
  starts: number[];
}

/** Parses YAML text; throws js-yaml's errors as they come. */
const parseYaml = (text: string, file: string): Parsed => {
  const events = parseEvents(text, { filename: file });
  let values = constructFromEvents(events, { source: text, filename: file, schema: MANIFEST_SCHEMA });
  const index = new EventIndex(events);
  // Anchors are per document (js-yaml forgets them at each document's start): only a
  // document with an alias can share a node, and only those are copied.
  const { aliased } = index;
  if (aliased.size > 0) values = values.map((v, n) => (aliased.has(n) ? unshared(v) : v));
  const starts = index.roots.map((r) => (r < events.length ? firstToken(events[r]!) : -1));
  return { values, index, starts };
};

/** From this size on, a file is parsed in pieces where it can be cut (cli/file-cuts.ts). */
export const PIECES_MIN_CHARS = 1024 * 1024;

/**
 * Lines of paths under the node at `node` (a document's root, or an item of a List) of
 * parsed text that starts at `from` in the file.
 */
const locator =
  ({ index }: Parsed, source: string, from: number, lines: LineIndex) =>
  (node: number) =>
  (path: Path): number => {
    const offset = index.offsetOfPath(source, node, path);
    return lines.lineOf(offset < 0 ? offset : from + offset);
  };

/**
 * Source documents of parsed text that starts at `from` in the file (its documents
 * numbered from `base`), added to `out`. Returns the position (in `parsed`) of a document
 * that is not a mapping, where it stopped, or -1.
 */
const collect = (parsed: Parsed, source: string, from: number, base: number, lines: LineIndex, file: string, out: SourceDoc[]): number => {
  const { values, index, starts } = parsed;
  const at = locator(parsed, source, from, lines);
  for (let n = 0; n < values.length; n++) {
    const value = values[n];
    const root = index.roots[n]!;
    if (value === null || value === undefined) continue;
    if (!isPlainObject(value)) return n;
    const s = starts[n] ?? -1;
    const start = s < 0 ? -1 : from + s;
    if (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
      // Each item is located from its own node, found in one pass over the sequence.
      const nodes = index.sequenceItems(source, root, 'items');
      const aligned = nodes.length === value.items.length;
      value.items.forEach((item, i) => {
        if (!isPlainObject(item)) return;
        const lineOf = aligned ? at(nodes[i]!) : (path: Path) => at(root)(['items', i, ...path]);
        out.push({ file, index: base + n, prefix: ['items', i], object: listItem(value, item), lineOf, start });
      });
      continue;
    }
    out.push({ file, index: base + n, prefix: [], object: value as KubeObject, lineOf: at(root), start });
  }
  return -1;
};

/** A piece of a file: its source documents, and where the document of the last one ends (the next piece's start; -1: the file's end). */
export interface Piece {
  docs: SourceDoc[];
  end: number;
}

/** What a piece generator yields when a piece does not read alone: the rest of the file is parsed whole. */
const FALL_BACK = undefined;

/**
 * The items of a List file piece by piece at `split`'s cuts, each piece parsed when asked
 * for, as parseManifests reads them from the whole file (same objects, lines and offsets);
 * FALL_BACK when a piece, or the List's own keys, do not parse on their own as a sequence of
 * items and a List mapping. Every item's document is the List (its end: -1).
 */
function* listPieces(text: string, file: string, split: ListSplit): Generator<Piece | typeof FALL_BACK> {
  let list: Record<string, unknown>;
  let start: number;
  try {
    // The List's own keys, with `items:` left empty.
    const head = parseYaml(text.slice(0, split.itemsStart) + text.slice(split.itemsEnd), file);
    const value = head.values[0];
    if (head.values.length !== 1 || head.index.aliased.size > 0 || !isPlainObject(value)) return yield FALL_BACK;
    if (typeof value.kind !== 'string' || !value.kind.endsWith('List') || value.items !== null) return yield FALL_BACK;
    list = value;
    start = head.starts[0]!;
  } catch {
    return yield FALL_BACK;
  }
  const lines = new LineIndex(text);
  let i = 0;
  for (let p = 0; p < split.cuts.length; p++) {
    const from = split.cuts[p]!;
    const source = text.slice(from, split.cuts[p + 1] ?? split.itemsEnd);
    let piece: Parsed;
    try {
      piece = parseYaml(source, file);
    } catch {
      return yield FALL_BACK;
    }
    const items = piece.values[0];
    if (piece.values.length !== 1 || !Array.isArray(items)) return yield FALL_BACK;
    const { index } = piece;
    const nodes = index.items(index.roots[0]!);
    if (nodes.length !== items.length) return yield FALL_BACK;
    const at = locator(piece, source, from, lines);
    const docs: SourceDoc[] = [];
    items.forEach((item, j) => {
      const n = i++;
      if (!isPlainObject(item)) return;
      docs.push({ file, index: 0, prefix: ['items', n], object: listItem(list, item), lineOf: at(nodes[j]!), start });
    });
    yield { docs, end: -1 };
  }
}

/**
 * The documents of a file piece by piece at `cuts` (before `---` lines), each piece parsed
 * when asked for, as parseManifests reads them from the whole file; FALL_BACK when a piece
 * does not parse on its own or holds a document that is not a mapping (the whole parse then
 * reports the file's first error).
 */
function* documentPieces(text: string, file: string, cuts: readonly number[]): Generator<Piece | typeof FALL_BACK> {
  const lines = new LineIndex(text);
  let base = 0;
  for (let p = 0; p < cuts.length; p++) {
    const from = cuts[p]!;
    const end = cuts[p + 1] ?? -1;
    const source = text.slice(from, end < 0 ? text.length : end);
    let piece: Parsed;
    try {
      piece = parseYaml(source, file);
    } catch {
      return yield FALL_BACK;
    }
    const docs: SourceDoc[] = [];
    if (collect(piece, source, from, base, lines, file, docs) >= 0) return yield FALL_BACK;
    base += piece.values.length;
    yield { docs, end };
  }
}

/** The documents of every piece, or undefined when one fell back. */
const all = (pieces: Iterable<Piece | typeof FALL_BACK>): SourceDoc[] | undefined => {
  const out: SourceDoc[] = [];
  for (const piece of pieces) {
    if (!piece) return undefined;
    for (const d of piece.docs) out.push(d);
  }
  return out;
};

/** A List file's items parsed at `split`'s cuts, or undefined when a piece does not read alone. */
export const listInPieces = (text: string, file: string, split: ListSplit): SourceDoc[] | undefined => all(listPieces(text, file, split));

/** A file's documents parsed at `cuts`, or undefined when a piece does not read alone. */
export const documentsInPieces = (text: string, file: string, cuts: readonly number[]): SourceDoc[] | undefined => all(documentPieces(text, file, cuts));

/** The whole text's source documents, with its first error as a catalog error. */
const parseWhole = (text: string, file: string): SourceDoc[] => {
  let parsed: Parsed;
  try {
    parsed = parseYaml(text, file);
  } catch (err) {
    if (err instanceof YAMLException) throw MG_ERR_INPUT_YAML(file, (err.mark?.line ?? 0) + 1, err.reason || err.message);
    throw MG_ERR_INPUT_YAML(file, undefined, (err as Error).message);
  }
  const lines = new LineIndex(text);
  const out: SourceDoc[] = [];
  const n = collect(parsed, text, 0, 0, lines, file, out);
  if (n >= 0) throw MG_ERR_INPUT_DOCUMENT(file, lines.lineOf(parsed.index.start(parsed.index.roots[n]!)), `document ${n + 1} is not a mapping (a Kubernetes object)`);
  return out;
};

/** Where files are cut (cli/file-cuts.ts): from `minChars` characters on, in pieces of at least `pieceChars`. */
export interface Cutting {
  minChars: number;
  pieceChars: number;
}
export const CUTTING: Cutting = { minChars: PIECES_MIN_CHARS, pieceChars: PIECE_CHARS };

/**
 * One file's source documents a piece at a time, each parsed when asked for (the whole file
 * is one piece below `cutting.minChars` or where it cannot be cut): the documents of
 * parseManifests, in its order. When a piece does not read alone, the rest of the file comes
 * from the whole parse, which reports the file's first error; the pieces before it read as
 * the whole parse does, as cli/file-cuts.ts argues and test/unit/cli/file-cuts.test.ts holds.
 */
export function* manifestPieces(text: string, file: string, cutting: Cutting = CUTTING): Generator<Piece> {
  if (text.length >= cutting.minChars) {
    const list = splitList(text, cutting.pieceChars);
    const cuts = list ? undefined : splitDocuments(text, cutting.pieceChars);
    const pieces = list ? listPieces(text, file, list) : cuts ? documentPieces(text, file, cuts) : undefined;
    if (pieces) {
      let read = 0;
      for (const piece of pieces) {
        if (!piece) {
          yield { docs: parseWhole(text, file).slice(read), end: -1 };
          return;
        }
        read += piece.docs.length;
        yield piece;
      }
      return;
    }
  }
  yield { docs: parseWhole(text, file), end: -1 };
}

/** Parses one file's text into source documents. */
export const parseManifests = (text: string, file: string, cutting: Cutting = CUTTING): SourceDoc[] => {
  const out: SourceDoc[] = [];
  for (const piece of manifestPieces(text, file, cutting)) for (const d of piece.docs) out.push(d);
  return out;
};

export interface LoadedFile {
  file: string;
  text: string;
}

/** Reads every manifest file under `paths` (stdin once for `-`). */
export const readManifestFiles = async (paths: readonly string[]): Promise<LoadedFile[]> => {
  const files = await expandPaths(paths);
  const out: LoadedFile[] = [];
  for (const file of files) {
    if (file === '-') out.push({ file: STDIN, text: await readStdin() });
    else out.push({ file, text: await readTextFile(file) });
  }
  return out;
};

export const loadManifests = async (paths: readonly string[]): Promise<SourceDoc[]> =>
  (await readManifestFiles(paths)).flatMap((f) => parseManifests(f.text, f.file));
