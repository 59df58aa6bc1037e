// One share of a `check` run: parse some files, hand back the objects the object index
// needs, and judge the share's documents. The same code runs in the main thread and in
// worker threads (cli/check-worker.ts).
//
// Memory stays bounded by what the index holds, not by the input: each document is judged
// once its file and the next one are parsed, against the cluster view built so far, and
// only its located findings are kept; the file's text, its YAML events and the parsed
// objects are dropped once the file is judged (in a large run: see `compact`). Judging one
// object reads only its own namespace of the view (the Namespace, its cluster CR, that
// cluster's pods): a document is judged again, with the whole view, only when a file after
// the next one or another share added to a namespace its first judgement read; then its
// file is read again and only that document's text parsed. A file of 1 MiB or more is
// read in pieces (cli/file-cuts.ts), each handled as a file here: its parse, YAML events
// and objects need not all be alive at once.
import type { PolicyConfig } from '../policies/config.js';
import type { KubeObject, Namespace, Pod, StringMap } from '../policies/k8s.js';
import { isClusterViewObject, isIndexObject, PlainObjectIndex, type ClusterRef, type ClusterView } from '../policies/index/object-index.js';
import { mayBeJudged } from '../policies/review.js';
import { stripIndexObject } from '../policies/index/strip.js';
import { MG_ERR_INPUT_READ } from '../policies/errors.js';
import { CUTTING, manifestPieces, parseManifests, readTextFileSync, type Cutting, type SourceDoc } from './inputs.js';
import { LineIndex } from './source-map.js';
import { compactCopy, jsonCopyAll } from './compact-copy.js';
import { buildView, judgeDocument, placed, type CheckResult, type LocatedFinding } from './run-checks.js';

export interface FileRef {
  file: string;
  /** Position of the file in the whole run; keeps results in input order. */
  order: number;
  /** The input's text when it cannot be read (again) from `file`: standard input's, held for the run. */
  text?: string;
}

export type ShareResult = Pick<CheckResult, 'findings' | 'judged'> & { orders: number[] };

/** An object the index needs, with where it came from (later wins, as sequentially). */
export interface ContextObject {
  order: number;
  /** Position of the object among its file's documents (parseManifests' output). */
  index: number;
  object: KubeObject;
  file: string;
  /** Line of the object's start, where cross-object findings about it are located. */
  line: number;
}

/**
 * Where a document is in the run: its file's order, then its position in the file. A file
 * of 1 MiB or more is read in pieces (cli/file-cuts.ts), each judged once the next is in the
 * view, so what a judgement saw ends inside a file.
 */
type Position = readonly [order: number, index: number];
const NOWHERE: Position = [-1, -1];
const later = (a: Position, b: Position): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);

/** Every namespace: what a judgement that listed cluster CRs of all namespaces read. */
const ALL = '\0all';

/**
 * The part of the view an object of it belongs to: a Namespace's own name, else the
 * namespace it is stored in (objects are placed before they are added).
 */
const viewKey = (o: KubeObject): string => (o.kind === 'Namespace' ? (o.metadata?.name ?? '') : (o.metadata?.namespace ?? 'default'));

/** A ClusterView that notes which namespaces a judgement read. */
class RecordingView implements ClusterView {
  readonly read = new Set<string>();
  constructor(private readonly view: ClusterView) {}
  /** The view's memo: what it holds depends on no namespace (policies/judgement-memo.ts). */
  get memo(): ClusterView['memo'] {
    return this.view.memo;
  }
  getNamespace(name: string): Namespace | undefined {
    this.read.add(name);
    return this.view.getNamespace(name);
  }
  getCluster(ref: ClusterRef, namespace: string, name: string): KubeObject | undefined {
    this.read.add(namespace);
    return this.view.getCluster(ref, namespace, name);
  }
  listClusters(ref: ClusterRef): KubeObject[] {
    this.read.add(ALL);
    return this.view.listClusters(ref);
  }
  listPods(namespace: string, matchLabels: StringMap): Pod[] {
    this.read.add(namespace);
    return this.view.listPods(namespace, matchLabels);
  }
}

/**
 * How a share keeps what outlives its file (cli/check-files.ts chooses by input size): as
 * parsed, or copied so that it keeps none of the file's text (cli/compact-copy.ts),
 * structurally or, smaller and slower, through JSON.
 */
export type Compaction = 'none' | 'copy' | 'json';

/** One judged document of a file: its findings, or undefined until it is judged with the whole view. */
interface Slot {
  /** Position among the file's documents (parseManifests' output). */
  index: number;
  /** Where its document starts in the file, where the next one starts (-1: the end), and which item of a List it is (-1: the document itself). */
  start: number;
  end: number;
  item: number;
  /** kind, apiVersion, namespace and name: tells that its text alone parsed into the same object. */
  identity: string;
  result?: { findings: LocatedFinding[]; judged: boolean };
  /** Namespaces of the view the first judgement read, as a JSON array (a flat copy of names sliced from the file's text). */
  read?: string;
}

const JUDGED = Object.freeze({ findings: [], judged: true });
const SKIPPED = Object.freeze({ findings: [], judged: false });

interface ParsedFile {
  file: string;
  order: number;
  /** The last document of the share whose objects were in the view when these documents were judged. */
  seen: Position;
  slots: Slot[];
}

/** A parsed file, or piece of one, whose documents wait for the next one's objects before they are judged. */
interface PendingFile {
  file: string;
  order: number;
  docs: SourceDoc[];
  /** Position in the file of docs[0]. */
  first: number;
  slots: Slot[];
}

export class Partition {
  private readonly parsed: ParsedFile[] = [];
  /** The view as built so far: state, then the share's files in order. */
  private view: PlainObjectIndex | undefined;
  /** Documents judged again in check(): how many, for tests. */
  rejudged = 0;

  constructor(
    private readonly files: readonly FileRef[],
    private readonly config: PolicyConfig,
    /** Whether the cross-object rules run: they need every kind of the index, not only the cluster view's. */
    private readonly crossObject: boolean,
    private readonly state: readonly { object: KubeObject }[],
    /** Where objects that name no namespace are stored and judged (check -n). */
    private readonly namespace: string,
    /**
     * How what is kept past its file is copied (10k bench documents: 32 MB of heap held as
     * parsed, 22 MB as structural copies made in 55-90 ms, 16 MB through JSON in 155-230
     * ms). Kept as parsed, the objects and findings keep the text of every file alive
     * (cli/check-files.ts decides by size).
     */
    private readonly compact: Compaction = 'copy',
    /** Where large files are cut into pieces judged one after another (tests cut small ones). */
    private readonly cutting: Cutting = CUTTING,
  ) {
    this.view = new PlainObjectIndex(state.map((s) => placed(s.object, namespace)));
  }

  /**
   * Reads synchronously: nothing else runs meanwhile in this thread, and awaiting each
   * read left the CPU idle for about 80 ms over 100 files.
   */
  parse(): { context: ContextObject[]; documents: number; files: number } {
    const context: ContextObject[] = [];
    let documents = 0;
    let files = 0;
    const needed = this.crossObject ? isIndexObject : isClusterViewObject;
    let pending: PendingFile | undefined;
    for (const ref of this.files) {
      const { file, order } = ref;
      let first = 0;
      for (const { docs, end: pieceEnd } of manifestPieces(textOf(ref), file, this.cutting)) {
        documents += docs.length;
        const slots: Slot[] = [];
        // Where the next document starts, for each document (one pass from the end: a List's
        // items share their document); the last one's is where the next piece starts.
        const ends: number[] = new Array(docs.length);
        for (let i = docs.length - 1, end = pieceEnd; i >= 0; i--) {
          ends[i] = end;
          if (i === 0 || docs[i - 1]!.index !== docs[i]!.index) end = docs[i]!.start ?? -1;
        }
        const kept: number[] = [];
        docs.forEach((d, i) => {
          if (needed(d.object, this.config.profiles)) kept.push(i);
          if (mayBeJudged(d.object, this.config)) {
            slots.push({ index: first + i, start: d.start ?? -1, end: ends[i]!, item: itemOf(d), identity: identity(d.object) });
          }
        });
        // Stripped to what the rules read (the informers' strips): of a 10k bench document
        // the index keeps a fifth.
        this.compacted(kept.map((i) => stripIndexObject(docs[i]!.object, this.config.profiles))).forEach((object, k) => {
          const i = kept[k]!;
          context.push({ order, index: first + i, object, file, line: docs[i]!.lineOf([]) });
          if (isClusterViewObject(object, this.config.profiles)) this.view!.add(placed(object, this.namespace));
        });
        // The whole file (or piece) is in the view first: a sequential run saw every
        // document of it. A namespace's objects often go on in the next file (the bench
        // corpus: 3% of the documents judged, each then read and parsed again in check()),
        // so a file's documents are judged once the next file's objects are in the view
        // too; memory holds one more file's (or piece's) parse.
        if (pending) this.judge(pending, [order, first + docs.length - 1]);
        pending = { file, order, docs, first, slots };
        first += docs.length;
      }
      if (first > 0) files++;
    }
    if (pending) this.judge(pending, [pending.order, pending.first + pending.docs.length - 1]);
    return { context, documents, files };
  }

  /** Judges a parsed file's (or piece's) documents against the view as built up to document `seen`. */
  private judge({ file, order, docs, first, slots }: PendingFile, seen: Position): void {
    const found: { slot: Slot; findings: LocatedFinding[] }[] = [];
    for (const slot of slots) {
      const view = new RecordingView(this.view!);
      try {
        const { findings, judged } = judgeDocument(docs[slot.index - first]!, view, this.config, this.namespace);
        slot.result = judged ? JUDGED : SKIPPED;
        if (findings.length > 0) found.push({ slot, findings });
        slot.read = JSON.stringify([...view.read]);
      } catch {
        // Unjudgeable: check() judges it again and reports it in input order, after
        // every file has been parsed (a YAML error in a later file comes first).
      }
    }
    this.compacted(found.map((f) => f.findings)).forEach((findings, k) => {
      // The file's name is one string for all its findings (each finding is the run's own
      // object: judgeDocument made it, compacted() copied it).
      for (const f of findings) f.file = file;
      found[k]!.slot.result = { findings, judged: found[k]!.slot.result!.judged };
    });
    if (slots.length > 0) this.parsed.push({ file, order, seen, slots });
  }

  private compacted<T>(vs: T[]): T[] {
    return this.compact === 'copy' ? vs.map(compactCopy) : this.compact === 'json' ? jsonCopyAll(vs) : vs;
  }

  /**
   * Findings and judged count of the share's documents; document and file counts come from
   * parse(). `context`: the objects of every share in input order (mergeContext); only the
   * cluster view's are read.
   */
  check(context: readonly ContextObject[]): ShareResult {
    // For each namespace of the view: the last document (in input order) that added to it,
    // and whether a file of another share did.
    const mine = new Set(this.files.map((f) => f.order));
    const last = new Map<string, Position>();
    const foreign = new Set<string>();
    let lastAny = NOWHERE;
    let foreignAny = false;
    for (const c of context) {
      if (!isClusterViewObject(c.object, this.config.profiles)) continue;
      const key = viewKey(placed(c.object, this.namespace));
      const at: Position = [c.order, c.index];
      if (later(at, last.get(key) ?? NOWHERE)) last.set(key, at);
      if (later(at, lastAny)) lastAny = at;
      if (!mine.has(c.order)) {
        foreign.add(key);
        foreignAny = true;
      }
    }
    const stale = (slot: Slot, seen: Position): boolean => {
      if (!slot.result || !slot.read) return true;
      for (const key of JSON.parse(slot.read) as string[]) {
        if (key === ALL ? foreignAny || later(lastAny, seen) : foreign.has(key) || later(last.get(key) ?? NOWHERE, seen)) return true;
      }
      return false;
    };
    // With no other share adding to it, the view built while parsing is the whole view
    // (state, then every file in order); else it is built again from every share's objects.
    let view = foreignAny ? undefined : this.view;
    this.view = undefined;
    const findings: LocatedFinding[] = [];
    const orders: number[] = [];
    let judged = 0;
    // A file read again is read once, for all its pieces.
    let again: Rereader | undefined;
    const refs = new Map(this.files.map((f) => [f.order, f]));
    for (const { file, order, seen, slots } of this.parsed) {
      if (again?.file !== file) again = undefined;
      for (const slot of slots) {
        if (stale(slot, seen)) {
          view ??= buildView(this.state, context.filter((c) => isClusterViewObject(c.object, this.config.profiles)), this.namespace);
          again ??= new Rereader(file, textOf(refs.get(order)!));
          slot.result = judgeDocument(again.doc(slot), view, this.config, this.namespace);
          this.rejudged++;
        }
        const r = slot.result!;
        if (r.judged) judged++;
        for (const f of r.findings) {
          findings.push(f);
          orders.push(order);
        }
      }
    }
    return { findings, judged, orders };
  }
}

/** An input's text: held for the run (standard input's) or read from its file. */
const textOf = ({ file, text }: FileRef): string => text ?? readTextFileSync(file);

/** Which item of a List a document's object is; -1 for the document itself. */
const itemOf = (d: SourceDoc): number => (d.prefix.length === 0 ? -1 : Number(d.prefix[1]));

const identity = (o: KubeObject): string => JSON.stringify([o.kind, o.apiVersion, o.metadata?.namespace, o.metadata?.name]);

/**
 * A file read again to judge some of its documents with the whole view: each document's
 * own text is parsed (its lines counted from where it starts), not the whole file. A file
 * with directives (`%TAG`), or a document whose text alone does not give back the same
 * object, is parsed whole.
 */
class Rereader {
  private readonly directives: boolean;
  private lines: LineIndex | undefined;
  private whole: SourceDoc[] | undefined;
  /** Documents parsed alone, by where they start: the items of a List are parsed once. */
  private readonly parsed = new Map<number, Map<number, SourceDoc>>();

  constructor(
    readonly file: string,
    private readonly text: string,
  ) {
    this.directives = /^%/m.test(this.text);
  }

  doc(slot: Slot): SourceDoc {
    const doc = this.alone(slot) ?? (this.whole ??= parseManifests(this.text, this.file))[slot.index];
    if (!doc || identity(doc.object) !== slot.identity) throw MG_ERR_INPUT_READ(this.file, 'the file changed while it was being checked');
    return doc;
  }

  private alone(slot: Slot): SourceDoc | undefined {
    if (this.directives || slot.start < 0) return undefined;
    let byItem = this.parsed.get(slot.start);
    if (!byItem) this.parsed.set(slot.start, (byItem = new Map(this.parseAlone(slot).map((d) => [itemOf(d), d]))));
    const doc = byItem.get(slot.item);
    return doc && identity(doc.object) === slot.identity ? doc : undefined;
  }

  /** The objects of the document starting at slot.start, parsed from its own text, located in the file. */
  private parseAlone(slot: Slot): SourceDoc[] {
    const { text } = this;
    const lineStart = (offset: number): number => text.lastIndexOf('\n', offset - 1) + 1;
    const from = lineStart(slot.start);
    const to = slot.end > slot.start ? lineStart(slot.end) : text.length;
    let docs: SourceDoc[];
    try {
      docs = parseManifests(text.slice(from, to > from ? to : text.length), this.file);
    } catch {
      return [];
    }
    const before = (this.lines ??= new LineIndex(text)).lineOf(from) - 1;
    return docs.filter((d) => d.index === 0).map((d) => ({ ...d, lineOf: (path) => d.lineOf(path) + before }));
  }
}

/** Context objects of every share in input order, as a sequential run would add them. */
export const mergeContext = (shares: readonly ContextObject[][]): ContextObject[] =>
  shares.flat().sort((a, b) => a.order - b.order || a.index - b.index);
