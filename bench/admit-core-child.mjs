// One measurement of bench/admit-core.ts in a process of its own: admit() of the meshguard
// built in DIST over each review shape, in a warm loop. A separate process per measurement
// keeps one build's JIT feedback and heap from colouring the other's.
//
//   node [flags] bench/admit-core-child.mjs DIST SHAPES.json time REVIEWS
//   node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 bench/admit-core-child.mjs DIST SHAPES.json alloc
//
// time: µs per review, each review timed on its own (a fresh body parsed outside the timed
// part): the mean (garbage collection included) and the median (which a neighbour taking
// the core now and then does not move), after a warm-up. alloc: bytes allocated per review, as the growth
// of the used heap over a batch small enough that no garbage collection runs inside it
// (the young generation is made larger than the batch), median of several batches.
// Prints one JSON line: per shape its numbers and the answer (to compare builds).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';

const [dist, shapesFile, mode, reviewsArg] = process.argv.slice(2);
const load = (m) => import(pathToFileURL(join(dist, m)).href);
const [{ admit }, { loadStateFiles, StaticClusterView }, { DEFAULT_CONFIG }] = await Promise.all([
  load('policies/admission.js'),
  load('cli/state-view.js'),
  load('policies/config.js'),
]);
/** @type {{ name: string; webhook: 'mutate' | 'validate'; body: string; state: string }[]} */
const shapes = JSON.parse(readFileSync(shapesFile, 'utf8'));
const views = new Map();
for (const s of shapes) if (!views.has(s.state)) views.set(s.state, new StaticClusterView(await loadStateFiles([s.state])));

// Distinct parsed copies of each body, as the server gets a fresh one per request.
const COPIES = 200;
const cases = shapes.map((s) => ({
  ...s,
  ctx: { view: views.get(s.state), config: DEFAULT_CONFIG },
  bodies: Array.from({ length: COPIES }, () => JSON.parse(s.body)),
}));
const run = (c, n) => {
  let last;
  for (let i = 0; i < n; i++) last = admit(c.bodies[i % COPIES], c.webhook, c.ctx);
  return last;
};
const answerOf = (c) => {
  const o = admit(JSON.parse(c.body), c.webhook, c.ctx);
  return JSON.stringify({ review: o.review, decision: o.decision, patchOps: o.patchOps, request: o.request, findings: o.findings, ignoredBy: o.ignoredBy });
};

const out = {};
for (const c of cases) run(c, 3000); // warm-up: every shape before any is measured, as in a server
if (mode === 'time') {
  const n = Number(reviewsArg ?? 20000);
  const times = new Float64Array(n);
  for (const c of cases) {
    // Each review gets a body parsed just before it, outside the timed part, as the server's
    // body parser hands admit() one still in the cache: a loop over bodies parsed long ago
    // would charge admit()'s first walk over the body with the cache misses.
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const body = JSON.parse(c.body);
      const t0 = process.hrtime.bigint();
      admit(body, c.webhook, c.ctx);
      const t = Number(process.hrtime.bigint() - t0) / 1000;
      times[i] = t;
      sum += t;
    }
    times.sort();
    out[c.name] = { meanUs: sum / n, medianUs: times[n >> 1], answer: answerOf(c) };
  }
} else {
  const BATCH = 100;
  for (const c of cases) {
    const per = [];
    for (let r = 0; r < 7; r++) {
      globalThis.gc();
      const before = getHeapStatistics().used_heap_size;
      run(c, BATCH);
      per.push((getHeapStatistics().used_heap_size - before) / BATCH);
    }
    per.sort((a, b) => a - b);
    out[c.name] = { bytes: per[3] };
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
