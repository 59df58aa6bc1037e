// The policy core's cost per admission review: admit() alone (no HTTP, no JSON parse, no
// log line) over the reviews the admission benchmark posts and a few other shapes, in a
// warm loop. µs per review (mean and median, each review timed on a freshly parsed body)
// and bytes allocated per review; each shape's median over rounds, each round in a fresh
// process (bench/admit-core-child.mjs). And cold: the mean µs of the first --cold N (50)
// reviews of each shape in a process that has run no admit() yet (a new server's first
// reviews), and the very first review's µs; medians over the rounds.
//
//   npm run build && node --import @tapjs/typescript/import bench/admit-core.ts [--before DIR] [--rounds 5] [--reviews 20000]
//
// --before DIR measures the meshguard built in DIR too (a checkout of another commit with
// its dist/ built), the two taking turns round by round, reports each shape's ratio, and
// fails when any shape's answer (the AdmissionReview, decision, findings) differs between
// the two builds: a faster core must answer exactly as before.
//
// Shapes, all against the objects of examples/state.yaml:
// - mutate-statefulset: examples/admission-review-statefulset.json on /mutate (patched);
// - validate-pod: examples/admission-review-pod.json on /validate (refused, MG201);
// - mutate-pod: the same Pod on /mutate;
// - validate-statefulset-update / mutate-statefulset-update: the StatefulSet as an UPDATE
//   with its oldObject;
// - validate-pod-allowed: the Pod with Istio's proxy injected (allowed);
// - validate-cluster: the AntflyCluster of the state file as an UPDATE on /validate.
// Writes bench/results/admit-core.json (without --before it has no ratios).
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { review } from '../test/unit/policies/fixtures/objects.js';
import { argValue, imageNodeFlags, ROOT } from './servers.js';

const ROUNDS = Number(argValue('rounds') ?? 5);
const REVIEWS = Number(argValue('reviews') ?? 20000);
const BEFORE = argValue('before');
const COLD = Number(argValue('cold') ?? 50);
const CHILD = join(ROOT, 'bench/admit-core-child.mjs');
const STATE = join(ROOT, 'examples/state.yaml');

type Json = Record<string, any>;
const example = async (name: string): Promise<Json> => JSON.parse(await readFile(join(ROOT, 'examples', name), 'utf8'));
const asUpdate = (review: Json): Json => ({
  ...review,
  request: { ...review.request, operation: 'UPDATE', oldObject: structuredClone(review.request.object) },
});

const sts = await example('admission-review-statefulset.json');
const pod = await example('admission-review-pod.json');
const meshedPod = structuredClone(pod);
meshedPod.request.object.metadata.annotations['sidecar.istio.io/status'] = '{"containers":["istio-proxy"]}';
meshedPod.request.object.spec.containers.push({ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.23.0' });
const cluster = parseAllDocuments(await readFile(STATE, 'utf8'))
  .flatMap((d) => (d.toJS() as Json).items ?? [d.toJS()])
  .find((o: Json) => o.kind === 'AntflyCluster') as Json;
const clusterReview = asUpdate(review('AntflyCluster', cluster));

const SHAPES: { name: string; webhook: 'mutate' | 'validate'; review: Json }[] = [
  { name: 'mutate-statefulset', webhook: 'mutate', review: sts },
  { name: 'validate-pod', webhook: 'validate', review: pod },
  { name: 'mutate-pod', webhook: 'mutate', review: pod },
  { name: 'mutate-statefulset-update', webhook: 'mutate', review: asUpdate(sts) },
  { name: 'validate-statefulset-update', webhook: 'validate', review: asUpdate(sts) },
  { name: 'validate-pod-allowed', webhook: 'validate', review: meshedPod },
  { name: 'validate-cluster', webhook: 'validate', review: clusterReview },
];
const dir = await mkdtemp(join(tmpdir(), 'meshguard-admit-core-'));
const shapesFile = join(dir, 'shapes.json');
await writeFile(shapesFile, JSON.stringify(SHAPES.map((s) => ({ name: s.name, webhook: s.webhook, state: STATE, body: JSON.stringify(s.review) }))));

const targets = [{ name: 'current', dist: join(ROOT, 'dist') }, ...(BEFORE ? [{ name: 'before', dist: join(BEFORE, 'dist') }] : [])];

/** The child's numbers for one build: shape → numbers. */
const child = (flags: string[], dist: string, mode: 'time' | 'alloc' | 'cold', shape?: string): Json => {
  const n = mode === 'cold' ? COLD : REVIEWS;
  const r = spawnSync(process.execPath, [...flags, CHILD, dist, shapesFile, mode, String(n), ...(shape ? [shape] : [])], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`admit-core-child ${mode} on ${dist} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Json;
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

// Timing runs with the image's node flags (its young-generation cap shapes the GC share).
const flags = imageNodeFlags();
const mean: Record<string, Record<string, number[]>> = {};
const med: Record<string, Record<string, number[]>> = {};
const answers: Record<string, Record<string, string>> = {};
for (const t of targets) {
  mean[t.name] = Object.fromEntries(SHAPES.map((s) => [s.name, []]));
  med[t.name] = Object.fromEntries(SHAPES.map((s) => [s.name, []]));
}
for (let r = 0; r < ROUNDS; r++) {
  for (const t of targets) {
    const res = child(flags, t.dist, 'time');
    for (const s of SHAPES) {
      mean[t.name]![s.name]!.push(res[s.name].meanUs);
      med[t.name]![s.name]!.push(res[s.name].medianUs);
      answers[t.name] ??= {};
      answers[t.name]![s.name] = res[s.name].answer;
    }
  }
}
// Cold: one process per shape, build and round, the builds taking turns.
const cold: Record<string, Record<string, { mean: number[]; first: number[] }>> = {};
for (const t of targets) cold[t.name] = Object.fromEntries(SHAPES.map((s) => [s.name, { mean: [], first: [] }]));
for (let r = 0; r < ROUNDS; r++) {
  for (const s of SHAPES) {
    for (const t of targets) {
      const res = child(flags, t.dist, 'cold', s.name)[s.name];
      cold[t.name]![s.name]!.mean.push(res.coldMeanUs);
      cold[t.name]![s.name]!.first.push(res.firstUs);
    }
  }
}
const alloc: Record<string, Json> = {};
for (const t of targets) alloc[t.name] = child(['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'], t.dist, 'alloc');

const shapes = SHAPES.map((s) => {
  const of = (t: string) => ({
    meanUsPerReview: round(median(mean[t]![s.name]!)),
    medianUsPerReview: round(median(med[t]![s.name]!)),
    meanUsRounds: mean[t]![s.name]!.map((x) => round(x)),
    bytesPerReview: Math.round(alloc[t]![s.name].bytes),
    coldMeanUsFirstN: round(median(cold[t]![s.name]!.mean)),
    coldFirstReviewUs: round(median(cold[t]![s.name]!.first)),
  });
  const now = of('current');
  const answer = JSON.parse(answers.current![s.name]!) as Json;
  const row: Json = { shape: s.name, webhook: s.webhook, decision: answer.decision, current: now };
  if (BEFORE) {
    const before = of('before');
    row.before = before;
    row.meanRatioToBefore = round(now.meanUsPerReview / before.meanUsPerReview, 3);
    row.medianRatioToBefore = round(now.medianUsPerReview / before.medianUsPerReview, 3);
    row.bytesRatioToBefore = round(now.bytesPerReview / before.bytesPerReview, 3);
    row.coldRatioToBefore = round(now.coldMeanUsFirstN / before.coldMeanUsFirstN, 3);
    row.sameAnswer = answers.current![s.name] === answers.before![s.name];
  }
  return row;
});

const report = {
  when: new Date().toISOString(),
  node: process.version,
  settings: { rounds: ROUNDS, reviewsPerRound: REVIEWS, coldReviews: COLD, nodeFlags: flags, before: BEFORE ?? null },
  shapes,
};
await mkdir(join(ROOT, 'bench/results'), { recursive: true });
await writeFile(join(ROOT, 'bench/results/admit-core.json'), `${JSON.stringify(report, null, 2)}\n`);

const cell = (r: Json) =>
  `${String(r.meanUsPerReview).padStart(7)} ${String(r.medianUsPerReview).padStart(7)} µs ${String(r.bytesPerReview).padStart(6)} B, cold ${String(r.coldMeanUsFirstN).padStart(7)} µs`;
const lines = [
  `admit() per review: mean and median µs (each the median of ${ROUNDS} rounds of ${REVIEWS}), bytes allocated, cold: mean µs of the first ${COLD} in a fresh process${BEFORE ? `; before = ${BEFORE}` : ''}`,
  ...shapes.map(
    (s) =>
      `  ${s.shape.padEnd(28)} ${String(s.decision).padEnd(8)} ${cell(s.current)}` +
      (s.before
        ? `   before ${cell(s.before)}   ratio ${s.meanRatioToBefore} / ${s.medianRatioToBefore} / ${s.bytesRatioToBefore} / cold ${s.coldRatioToBefore}${s.sameAnswer ? '' : '   ANSWER DIFFERS'}`
        : ''),
  ),
  'wrote bench/results/admit-core.json',
];
process.stdout.write(`${lines.join('\n')}\n`);
const differing = shapes.filter((s) => s.sameAnswer === false).map((s) => s.shape);
if (differing.length > 0) {
  process.stderr.write(`answers differ from ${BEFORE} for: ${differing.join(', ')}\n`);
  process.exitCode = 1;
}
