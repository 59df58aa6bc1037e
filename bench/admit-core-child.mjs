// One measurement of bench/admit-core.ts in a process of its own: admit() of the meshguard
// built in DIST over each review shape, in a warm loop. One build per process: V8's
// megamorphic caches and the shapes of the parsed bodies are the process's, and a build
// that makes many shapes slowed the other one down by as much as it slowed itself when the
// two took turns in one process (measured: their ratio went from 0.5 to 0.9).
//
//   node [flags] bench/admit-core-child.mjs DIST SHAPES.json time REVIEWS
//   node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 bench/admit-core-child.mjs DIST SHAPES.json alloc
//   node [flags] bench/admit-core-child.mjs DIST SHAPES.json cold N SHAPE
//
// time: µs per review, each review timed on its own on a body parsed just before it
// (outside the timed part: the server's body parser hands admit() a body still in the
// cache, and a loop over bodies parsed long ago would charge admit()'s first walk over the
// body with cache misses). The mean (garbage collection included) and the median per
// review, after a warm-up.
// alloc: bytes allocated per
// review, as the growth of the used heap over a batch small enough that no garbage
// collection runs inside it (the young generation is made larger than the batch), median
// of several batches.
// cold: the first N reviews of one shape in a process that has run no admit() yet, each
// timed on its own: what a freshly started server (or a rollout's new pod) pays before V8
// has compiled and optimized the policy core. The mean over the N and the first review.
// Prints one JSON line: per shape its numbers and the answer (to compare builds).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';

const [dist, shapesFile, mode, reviewsArg] = process.argv.slice(2);
/** @type {{ name: string; webhook: 'mutate' | 'validate'; body: string; state: string }[]} */
const shapes = JSON.parse(readFileSync(shapesFile, 'utf8'));

const load = (m) => import(pathToFileURL(join(dist, m)).href);
const [{ admit }, { loadStateFiles, StaticClusterView }, { DEFAULT_CONFIG }] = await Promise.all([
  load('policies/admission.js'),
  load('cli/state-view.js'),
  load('policies/config.js'),
]);
const views = new Map();
for (const s of shapes) if (!views.has(s.state)) views.set(s.state, new StaticClusterView(await loadStateFiles([s.state])));
const ctxOf = (s) => ({ view: views.get(s.state), config: DEFAULT_CONFIG });

// Distinct parsed copies of each body for the warm-up and the allocation batches.
const COPIES = 200;
const bodies = new Map(shapes.map((s) => [s.name, Array.from({ length: COPIES }, () => JSON.parse(s.body))]));
const run = (s, n) => {
  const ctx = ctxOf(s);
  const copies = bodies.get(s.name);
  for (let i = 0; i < n; i++) admit(copies[i % COPIES], s.webhook, ctx);
};
const answerOf = (s) => {
  const o = admit(JSON.parse(s.body), s.webhook, ctxOf(s));
  return JSON.stringify({ review: o.review, decision: o.decision, patchOps: o.patchOps, request: o.request, findings: o.findings, ignoredBy: o.ignoredBy });
};

/** µs of each of `n` reviews of `s`, each timed on its own on a body parsed just before it. */
const timed = (s, n) => {
  const ctx = ctxOf(s);
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const body = JSON.parse(s.body);
    const t0 = process.hrtime.bigint();
    admit(body, s.webhook, ctx);
    times[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return times;
};
const sumOf = (times) => times.reduce((a, b) => a + b, 0);

const out = {};
if (mode === 'cold') {
  const n = Number(reviewsArg);
  const s = shapes.find((x) => x.name === process.argv[6]);
  const times = timed(s, n);
  process.stdout.write(`${JSON.stringify({ [s.name]: { coldMeanUs: sumOf(times) / n, firstUs: times[0] } })}\n`);
  process.exit(0);
}
// Warm-up: every shape before any is measured, as in a server.
for (const s of shapes) run(s, 3000);
if (mode === 'time') {
  const n = Number(reviewsArg ?? 20000);
  for (const s of shapes) {
    const times = timed(s, n);
    const sum = sumOf(times);
    times.sort();
    out[s.name] = { meanUs: sum / n, medianUs: times[n >> 1], answer: answerOf(s) };
  }
} else {
  const BATCH = 100;
  for (const s of shapes) {
    const per = [];
    for (let r = 0; r < 7; r++) {
      globalThis.gc();
      const before = getHeapStatistics().used_heap_size;
      run(s, BATCH);
      per.push((getHeapStatistics().used_heap_size - before) / BATCH);
    }
    per.sort((x, y) => x - y);
    out[s.name] = { bytes: per[3] };
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
