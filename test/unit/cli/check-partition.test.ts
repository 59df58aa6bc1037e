// `check` over files judges each document right after its file is parsed and keeps only
// its findings; a document whose namespace a later file adds to is judged again from its
// own text. Whatever the order and split of the documents, the answer must be exactly the
// one of judging every document against the whole view; standard input (`check -`) the
// same as the file it would otherwise have been written to.
// The property's seed is printed; replay a failure with FC_SEED=<seed>.
import fc from 'fast-check';
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFiles } from '../../../cli/check-files.js';
import { mergeContext, Partition } from '../../../cli/check-partition.js';
import { expandPaths, loadManifests, parseManifests, STDIN, type Cutting, type SourceDoc } from '../../../cli/inputs.js';
import { buildView, checkDocuments, crossObjectFindings, type CheckResult } from '../../../cli/run-checks.js';
import { DEFAULT_CONFIG } from '../../../policies/config.js';
import { writeCorpus } from '../../../bench/corpus.mjs';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const NUM_RUNS = 40;

/** What `check` answers when every document is judged against the whole view. */
const reference = async (dir: string, state: SourceDoc[], namespace: string): Promise<CheckResult> =>
  judgedWhole(await loadManifests([dir]), state, namespace);

const judgedWhole = (docs: SourceDoc[], state: SourceDoc[], namespace: string): CheckResult => {
  const r = checkDocuments(docs, buildView(state, docs, namespace), DEFAULT_CONFIG, namespace);
  const sources = [...state.map((d) => ({ d, input: false })), ...docs.map((d) => ({ d, input: true }))];
  r.findings.push(...crossObjectFindings(sources.map(({ d, input }) => ({ object: d.object, file: d.file, line: d.lineOf([]), input })), DEFAULT_CONFIG, { namespace }));
  return r;
};

/** The share's run as checkFiles drives it on one thread, with how many documents were judged twice. */
const partitioned = async (dir: string, state: SourceDoc[], namespace: string, cutting?: Cutting) => {
  const files = (await expandPaths([dir])).map((file, order) => ({ file, order }));
  const p = new Partition(files, DEFAULT_CONFIG, true, state, namespace, 'copy', cutting);
  const parsed = p.parse();
  const r = p.check(mergeContext([parsed.context]));
  return { rejudged: p.rejudged, judged: r.judged };
};

const tmp = (t: { teardown(fn: () => void): void }): string => {
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-partition-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

const NAMESPACE = `apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels: { istio-injection: enabled }
`;
const CLUSTER = `apiVersion: antfly.io/v1
kind: AntflyCluster
metadata: { name: db, namespace: prod }
spec:
  serviceMesh:
    enabled: true
    annotations: { sidecar.istio.io/inject: "true" }
`;
const WORKLOAD = `# the data nodes
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db-data, namespace: prod }
spec:
  selector: { matchLabels: { app.kubernetes.io/instance: db } }
  template:
    metadata:
      labels: { app.kubernetes.io/name: antfly-database, app.kubernetes.io/instance: db }
    spec:
      containers:
        - name: antfly
          ports: [{ name: raft, containerPort: 9021 }]
`;

const CONFIG_MAP = `apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: prod }
data: { a: "1" }
`;

t.test('a document judged before its namespace was complete is judged again, with the lines of its file', async (t) => {
  const dir = tmp(t);
  // The workload's file sorts first and the cluster's two files later: its first judgement
  // (once the next file was read) saw neither Namespace nor cluster.
  writeFileSync(join(dir, 'a-workload.yaml'), `# leading comment\n---\n${CONFIG_MAP}---\n${WORKLOAD}`);
  writeFileSync(join(dir, 'b-other.yaml'), CONFIG_MAP);
  writeFileSync(join(dir, 'c-cluster.yaml'), `${NAMESPACE}---\n${CLUSTER}`);
  const want = await reference(dir, [], 'default');
  t.ok(want.findings.some((f) => f.file.endsWith('a-workload.yaml')), 'the workload has findings to locate');
  t.same(await checkFiles([dir], [], DEFAULT_CONFIG, 'default', { jobs: 1 }), want);
  t.same(await partitioned(dir, [], 'default'), { rejudged: 1, judged: want.judged });
});

t.test('the documents of a file are judged with the objects of the next file in the view', async (t) => {
  const dir = tmp(t);
  // The namespace goes on in the next file: judged once, not again from its text.
  writeFileSync(join(dir, 'a-workload.yaml'), `# leading comment\n---\n${CONFIG_MAP}---\n${WORKLOAD}`);
  writeFileSync(join(dir, 'b-cluster.yaml'), `${NAMESPACE}---\n${CLUSTER}`);
  const want = await reference(dir, [], 'default');
  t.ok(want.findings.some((f) => f.file.endsWith('a-workload.yaml')), 'the workload has findings to locate');
  t.same(await checkFiles([dir], [], DEFAULT_CONFIG, 'default', { jobs: 1 }), want);
  t.same(await partitioned(dir, [], 'default'), { rejudged: 0, judged: want.judged });
});

t.test('in a file read in pieces, a document is judged again when a piece after the next completes its namespace', async (t) => {
  const dir = tmp(t);
  // One file, every document its own piece: the workload is judged once the ConfigMap's
  // piece is in the view, before the Namespace's and the cluster's pieces.
  writeFileSync(join(dir, 'all.yaml'), `${WORKLOAD}---\n${CONFIG_MAP}---\n${NAMESPACE}---\n${CLUSTER}`);
  const want = await reference(dir, [], 'default');
  t.ok(want.findings.some((f) => f.kind === 'StatefulSet'), 'the workload has findings to locate');
  const cutting = { minChars: 0, pieceChars: 1 };
  t.same(await checkFiles([dir], [], DEFAULT_CONFIG, 'default', { jobs: 1, compactMinBytes: Infinity, jsonCopyMinBytes: Infinity, cutting }), want);
  t.same(await partitioned(dir, [], 'default', cutting), { rejudged: 1, judged: want.judged });
  // Pieces that end after the Namespace and cluster: judged once.
  writeFileSync(join(dir, 'all.yaml'), `${WORKLOAD}---\n${NAMESPACE}---\n${CLUSTER}---\n${CONFIG_MAP}`);
  const again = await reference(dir, [], 'default');
  t.same(await checkFiles([dir], [], DEFAULT_CONFIG, 'default', { jobs: 1, compactMinBytes: Infinity, jsonCopyMinBytes: Infinity, cutting }), again);
  t.same(await partitioned(dir, [], 'default', { minChars: 0, pieceChars: WORKLOAD.length + NAMESPACE.length }), { rejudged: 0, judged: again.judged });
});

t.test('standard input is read in pieces and judged again from the text held for the run, never from disk', async (t) => {
  const text = `${WORKLOAD}---\n${CONFIG_MAP}---\n${NAMESPACE}---\n${CLUSTER}`;
  const want = judgedWhole(parseManifests(text, STDIN), [], 'default');
  t.ok(want.findings.some((f) => f.kind === 'StatefulSet' && f.file === STDIN), 'the workload has findings on <stdin>');
  const cutting = { minChars: 0, pieceChars: 1 };
  t.same(await checkFiles(['-'], [], DEFAULT_CONFIG, 'default', { jobs: 1, cutting, stdin: async () => text }), want);
  // No file named <stdin> exists: a read from disk would fail the run.
  const p = new Partition([{ file: STDIN, order: 0, text }], DEFAULT_CONFIG, true, [], 'default', 'copy', cutting);
  const r = p.check(mergeContext([p.parse().context]));
  t.equal(p.rejudged, 1, 'the workload is judged again once its namespace is complete');
  // A share answers for its documents only; checkFiles adds the cross-object rules' findings.
  const docs = parseManifests(text, STDIN);
  t.same(r.findings, checkDocuments(docs, buildView([], docs, 'default'), DEFAULT_CONFIG, 'default').findings);
});

t.test('standard input among files keeps its place in the run and is read once', async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, 'a.yaml'), WORKLOAD);
  writeFileSync(join(dir, 'c.yaml'), CLUSTER);
  let reads = 0;
  const stdin = async () => (reads++, NAMESPACE);
  const paths = [join(dir, 'a.yaml'), '-', join(dir, 'c.yaml'), '-'];
  const docs = [...parseManifests(WORKLOAD, paths[0]!), ...parseManifests(NAMESPACE, STDIN), ...parseManifests(CLUSTER, paths[2]!)];
  const want = judgedWhole(docs, [], 'default');
  t.ok(want.findings.some((f) => f.file === paths[0]), 'the workload, before standard input, has findings');
  t.same(await checkFiles(paths, [], DEFAULT_CONFIG, 'default', { jobs: 1, stdin }), want, 'named twice, standard input is one input, in its first place');
  t.equal(reads, 1);
});

t.test('in namespace-first order every document is judged once, as it is read', async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, 'a-cluster.yaml'), `${NAMESPACE}---\n${CLUSTER}`);
  writeFileSync(join(dir, 'b-workload.yaml'), WORKLOAD);
  const want = await reference(dir, [], 'default');
  t.same(await checkFiles([dir], [], DEFAULT_CONFIG, 'default', { jobs: 1 }), want);
  t.same(await partitioned(dir, [], 'default'), { rejudged: 0, judged: want.judged });
});

t.test('--state is part of the view from the first file on', async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, 'a-workload.yaml'), WORKLOAD);
  const stateDir = tmp(t);
  writeFileSync(join(stateDir, 'state.yaml'), `${NAMESPACE}---\n${CLUSTER}`);
  const state = await loadManifests([stateDir]);
  const want = await reference(dir, state, 'default');
  t.same(await checkFiles([dir], state, DEFAULT_CONFIG, 'default', { jobs: 1 }), want);
  t.same(await partitioned(dir, state, 'default'), { rejudged: 0, judged: want.judged });
});

t.test('the cross-object rules read the compact copies as they read the parsed objects', async (t) => {
  // The write-up's cluster: webhooks, monitors and a NetworkPolicy the MG3xx rules flag.
  const dir = new URL('../../cli/fixtures/pi-cluster/base/', import.meta.url).pathname;
  const want = await reference(dir, [], 'default');
  t.ok(want.findings.filter((f) => f.rule.startsWith('MG3')).length >= 3, 'the cross-object rules have findings');
  // Kept as parsed (a small input), copied structurally (a large one) and through JSON (the largest).
  t.same(await checkFiles([dir], [], DEFAULT_CONFIG, 'default', { jobs: 1, compactMinBytes: Infinity, jsonCopyMinBytes: Infinity }), want);
  t.same(await checkFiles([dir], [], DEFAULT_CONFIG, 'default', { jobs: 1, compactMinBytes: 0, jsonCopyMinBytes: Infinity }), want);
  t.same(await checkFiles([dir], [], DEFAULT_CONFIG, 'default', { jobs: 1, compactMinBytes: 0, jsonCopyMinBytes: 0 }), want);
});

// --- the property: any order and split of a realistic manifest set ---

/** The corpus' documents as separate texts. */
const corpusDocs = (): string[] => {
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-partition-corpus-'));
  try {
    writeCorpus(dir, 64);
    return readdirSync(dir)
      .sort()
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split(/^---\n/m))
      .filter((d) => d.trim() !== '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** Documents as the items of one `kind: List` (comment lines dropped: they would sit between items). */
const asList = (docs: string[]): string =>
  `apiVersion: v1\nkind: List\nitems:\n${docs
    .map((d) =>
      d
        .trimEnd()
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .map((l, i) => (i === 0 ? `  - ${l}` : l === '' ? l : `    ${l}`))
        .join('\n'),
    )
    .join('\n')}\n`;

/** How a document is introduced: plain, after a comment, or with a tag or an anchor on its root. */
const SEPARATORS = ['---\n', '---\n# next\n', '--- !!map\n', '--- &root\n', '\n---\n'];

t.test('any order and split of the documents gives the answer of judging each against the whole view', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  const docs = corpusDocs();
  let rejudged = 0;
  let rejudgedInPieces = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.shuffledSubarray(docs.map((_, i) => i), { minLength: 8 }),
      fc.array(fc.nat({ max: 5 }), { minLength: 64, maxLength: 64 }),
      fc.array(fc.constantFrom(...SEPARATORS.keys()), { minLength: 64, maxLength: 64 }),
      fc.nat({ max: 3 }),
      fc.constantFrom('default', 'prod'),
      fc.nat({ max: 2000 }),
      fc.nat({ max: 5 }),
      async (order, fileOf, separatorOf, listAt, namespace, pieceChars, stdinAt) => {
        const dir = mkdtempSync(join(tmpdir(), 'meshguard-partition-'));
        try {
          const files: string[][] = Array.from({ length: 6 }, () => []);
          order.forEach((d, i) => files[fileOf[i % fileOf.length]!]!.push(docs[d]!));
          files.forEach((texts, f) => {
            if (texts.length === 0) return;
            // One file holds some of its documents as a List.
            const parts = f === listAt && texts.length > 2 ? [asList(texts.slice(0, 3)), ...texts.slice(3)] : texts;
            const text = parts.map((p, i) => (i === 0 ? p : `${SEPARATORS[separatorOf[(f * 7 + i) % separatorOf.length]!]}${p}`)).join('');
            writeFileSync(join(dir, `part-${f}.yaml`), text);
          });
          const want = await reference(dir, [], namespace);
          // Kept as parsed (a small input), copied structurally (a large one) and through JSON
          // (the largest): the same answer.
          const got = await checkFiles([dir], [], DEFAULT_CONFIG, namespace, { jobs: 1, compactMinBytes: Infinity, jsonCopyMinBytes: Infinity });
          const compacted = await checkFiles([dir], [], DEFAULT_CONFIG, namespace, { jobs: 1, compactMinBytes: 0, jsonCopyMinBytes: Infinity });
          const viaJson = await checkFiles([dir], [], DEFAULT_CONFIG, namespace, { jobs: 1, compactMinBytes: 0, jsonCopyMinBytes: 0 });
          const share = await partitioned(dir, [], namespace);
          rejudged += share.rejudged;
          t.same(got, want);
          t.same(compacted, want);
          t.same(viaJson, want);
          // Every file cut into pieces of `pieceChars` or more, each judged once the next
          // is in the view (a large file's run): the same answer.
          const cutting = { minChars: 0, pieceChars };
          t.same(await checkFiles([dir], [], DEFAULT_CONFIG, namespace, { jobs: 1, compactMinBytes: Infinity, jsonCopyMinBytes: Infinity, cutting }), want);
          const inPieces = await partitioned(dir, [], namespace, cutting);
          rejudgedInPieces += inPieces.rejudged;
          // One of the files given on standard input instead: the same answer, under <stdin>.
          const paths = await expandPaths([dir]);
          const at = stdinAt % paths.length;
          const text = readFileSync(paths[at]!, 'utf8');
          const named = paths.map((p, i) => (i === at ? '-' : p));
          const docsIn = named.flatMap((p) => (p === '-' ? parseManifests(text, STDIN) : parseManifests(readFileSync(p, 'utf8'), p)));
          t.same(
            await checkFiles(named, [], DEFAULT_CONFIG, namespace, { jobs: 1, compactMinBytes: 0, jsonCopyMinBytes: Infinity, cutting, stdin: async () => text }),
            judgedWhole(docsIn, [], namespace),
          );
          return share.judged === want.judged && inPieces.judged === want.judged;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: NUM_RUNS, seed: SEED },
  );
  t.ok(rejudged > 0 && rejudgedInPieces > 0, `the orders reach documents judged again (${rejudged} of whole files, ${rejudgedInPieces} in pieces)`);
});
