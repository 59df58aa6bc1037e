// `check` over files: split across threads when the input is large enough to pay for a
// worker's start-up. Parsing is most of the cost and parallelises; only the objects the
// cluster view needs (Namespaces, Pods, cluster CRs) cross between threads.
import { availableParallelism } from 'node:os';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { PolicyConfig } from '../policies/config.js';
import { CUTTING, expandPaths, InputError, readStdin, STDIN, type Cutting, type SourceDoc } from './inputs.js';
import { isClusterViewObject } from '../policies/index/object-index.js';
import { mergeContext, Partition, type Compaction, type ContextObject, type FileRef, type ShareResult } from './check-partition.js';
import { crossObjectFindings, type CheckResult } from './run-checks.js';

/** Below this much YAML a worker's start-up (~100 ms) costs more than it saves. */
export const PARALLEL_MIN_BYTES = 2 * 1024 * 1024;

/**
 * From this much YAML on, what a run keeps past each file (the index's objects, the
 * findings) is copied compactly (Partition's `compact`, cli/compact-copy.ts). Below it the
 * parsed objects are kept (stripped, policies/index/strip.ts, which is already a copy of
 * the fields the rules read), which saves the copies for a larger retained heap and the
 * text of every file. It was 4 MiB, from before the strips; 16 MiB now, with the shebang's
 * flags on a loaded machine, interleaved runs: 10k bench documents (7.8 MB) peak RSS
 * 145.0-147.1 MB without the copies against 134.5-135.5 MB with them (5 runs each; bound
 * 5x the input + 150 MB = 189 MB), 20k (15.7 MB) 185.0-189.0 MB without against
 * 194.4-196.0 MB with (3 runs each; bound 228 MB); callgrind at 10k: 6,979M instructions
 * without against 7,180M with (-2.8%: compilation -142M, builtins -75M, GC +65M).
 */
export const COMPACT_MIN_BYTES = 16 * 1024 * 1024;

/**
 * From this much YAML on the copies go through JSON: a third slower, but ~30% smaller
 * (10k bench documents: 16 MB of heap held against 22 MB). At 100k documents (79 MB) the
 * structural copies held ~60 MB more, and peak RSS rose from 411-583 to 485-559 MB against
 * a bound of 544 MB (loaded machine, three runs each); at 10k (7.8 MB, bound 189 MB) they
 * stay at 139-143 MB.
 */
export const JSON_COPY_MIN_BYTES = 32 * 1024 * 1024;

/**
 * Half the CPUs: a thread parsing YAML keeps a second core busy with V8's concurrent
 * garbage collection, so on 2 cores two threads are slower than one (measured: 10k
 * documents 2.3 s with one thread, 3.1 s with two).
 */
export const defaultJobs = (): number => Math.max(1, Math.floor(availableParallelism() / 2));

type Share = { files: FileRef[]; bytes: number };

/** Greedy split by size, each share keeping input order. */
const split = (files: { ref: FileRef; bytes: number }[], n: number): FileRef[][] => {
  const shares: Share[] = Array.from({ length: n }, () => ({ files: [], bytes: 0 }));
  for (const f of [...files].sort((a, b) => b.bytes - a.bytes)) {
    const s = shares.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    s.files.push(f.ref);
    s.bytes += f.bytes;
  }
  return shares.map((s) => s.files.sort((a, b) => a.order - b.order)).filter((s) => s.length > 0);
};

interface RemoteShare {
  context: Promise<{ context: ContextObject[]; documents: number; files: number }>;
  check(context: ContextObject[]): Promise<ShareResult>;
  close(): void;
}

const remote = (files: FileRef[], config: PolicyConfig, crossObject: boolean, state: readonly SourceDoc[], namespace: string, compact: Compaction, cutting: Cutting): RemoteShare => {
  // Functions do not cross threads: only the objects, which is all the view needs.
  const workerData = { files, config, crossObject, state: state.map((s) => ({ object: s.object })), namespace, compact, cutting };
  const worker = new Worker(new URL('./check-worker.js', import.meta.url), { workerData });
  let onResult: ((m: any) => void) | undefined;
  let onError: ((e: Error) => void) | undefined;
  const context = new Promise<{ context: ContextObject[]; documents: number; files: number }>((resolve, reject) => {
    onError = reject;
    worker.on('message', (m) => {
      if (m.type === 'context') resolve(m);
      else if (m.type === 'result') onResult?.(m.result);
      else if (m.type === 'error') onError?.(m.input ? new InputError(m.input.reason, m.input.file, m.input.line, m.input.code) : new Error(m.message));
    });
    worker.on('error', (e) => onError?.(e));
  });
  return {
    context,
    check: (ctx) =>
      new Promise((resolve, reject) => {
        onResult = resolve;
        onError = reject;
        worker.postMessage({ context: ctx });
      }),
    close: () => void worker.terminate(),
  };
};

export interface CheckFilesOptions {
  /** Threads for a large input (`--jobs`). */
  jobs?: number;
  /** Whether the cross-object rules (MG3xx) run (`--no-cross-object`). */
  crossObject?: boolean;
  /** Input sizes from which what outlives its file is copied (tests set them to 0 or Infinity). */
  compactMinBytes?: number;
  jsonCopyMinBytes?: number;
  /** Where large files are cut into pieces (tests cut small ones). */
  cutting?: Cutting;
  /** What `-` reads (tests give text): once, before any file is parsed. */
  stdin?: () => Promise<string>;
}

export const checkFiles = async (
  paths: readonly string[],
  state: readonly SourceDoc[],
  config: PolicyConfig,
  namespace: string,
  {
    jobs: parallelism = defaultJobs(),
    crossObject = true,
    compactMinBytes = COMPACT_MIN_BYTES,
    jsonCopyMinBytes = JSON_COPY_MIN_BYTES,
    cutting = CUTTING,
    stdin = readStdin,
  }: CheckFilesOptions = {},
): Promise<CheckResult> => {
  const files = await expandPaths(paths);
  // Standard input cannot be read again to judge a document anew: its text is held for the
  // run, like a file's on disk. `helm template | meshguard check -` is read in pieces like
  // the file it would otherwise have been written to.
  const text = files.includes('-') ? await stdin() : undefined;
  const sized = await Promise.all(
    files.map(async (file, order) =>
      file === '-'
        ? { ref: { file: STDIN, order, text }, bytes: Buffer.byteLength(text!) }
        : { ref: { file, order }, bytes: (await stat(file).catch(() => ({ size: 0 }))).size },
    ),
  );
  const total = sized.reduce((a, f) => a + f.bytes, 0);
  const n = total >= PARALLEL_MIN_BYTES && parallelism > 1 ? Math.min(parallelism, files.length) : 1;
  const compact: Compaction = total >= jsonCopyMinBytes ? 'json' : total >= compactMinBytes ? 'copy' : 'none';
  const [mine = [], ...theirs] = split(sized, n);
  const workers = theirs.map((share) => remote(share, config, crossObject, state, namespace, compact, cutting));
  try {
    const local = new Partition(mine, config, crossObject, state, namespace, compact, cutting);
    // A failing local parse becomes a rejection inside Promise.all, which keeps a handler on
    // the workers' promises too (a synchronous throw would leave them unhandled).
    const parsed = await Promise.all([Promise.resolve().then(() => local.parse()), ...workers.map((w) => w.context)]);
    const context = mergeContext(parsed.map((p) => p.context));
    // A share's check() reads only the cluster view's objects: the others (the cross-object
    // rules', here) are not copied to every worker (10k bench documents: 3,750 of 8,750).
    const view = workers.length > 0 ? context.filter((c) => isClusterViewObject(c.object, config.profiles)) : [];
    const results = await Promise.all([
      ...workers.map((w) => w.check(view)),
      Promise.resolve(local.check(context)),
    ]);
    const tagged = results.flatMap((r) => r.findings.map((f, i) => ({ f, order: r.orders[i]! })));
    tagged.sort((a, b) => a.order - b.order);
    const across = crossObject
      ? crossObjectFindings(
          [
            ...state.map((d) => ({ object: d.object, file: d.file, line: d.lineOf([]), input: false })),
            ...context.map((c) => ({ object: c.object, file: c.file, line: c.line, input: true })),
          ],
          config,
          { namespace },
        )
      : [];
    return {
      findings: [...tagged.map((t) => t.f), ...across],
      documents: parsed.reduce((a, p) => a + p.documents, 0),
      files: parsed.reduce((a, p) => a + p.files, 0),
      judged: results.reduce((a, r) => a + r.judged, 0),
    };
  } finally {
    for (const w of workers) w.close();
  }
};
