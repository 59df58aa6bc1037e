// Admission throughput and latency of `meshguard serve` against a bare node:https baseline
// (same TLS settings and certificates) that parses the body and answers a fixed "allowed".
// Two more servers show where the gap lies: bare Fastify doing the same (the framework's
// share), and meshguard's server with admit() answering a fixed "allowed" (the shell's
// share: the framework plus the log line and the metrics every review must have).
// A fourth, the floor, is bare Fastify whose routes run meshguard's real admit() over the
// same state, write the admission line meshguard must write for the review (the same
// function, logReview, to stdout as `serve` does) and send its answer, with nothing else
// (bench/admission-load-fastify.mjs with `decide`): what the decided stack plus the
// decision and its log line cost at the least. Where the floor misses a target,
// no change to meshguard's shell can meet it; where it meets one, the gap between the floor
// and meshguard is the shell's. Its answers are compared with meshguard's before the rounds.
// Loopback only, keep-alive, each measurement bounded.
//
//   npm run build && node --import @tapjs/typescript/import bench/admission-load.ts [--duration 5] [--rounds 3] [--fixed-rounds 13] [--connections 10]
//     [--only baseline,meshguard,...] [--before DIR] [--reference-flags image|default]
//
// --before DIR adds a target "before": the meshguard built in DIR (a checkout of another
// commit with its dist/ built), run exactly as this one, so that a change is measured
// against its parent in the same interleaved rounds. --only keeps some targets (baseline
// and meshguard always run); the results file is then not written, as it would not be a
// full run.
//
// Writes bench/results/admission-load.json and prints a table. Targets: meshguard reaches
// >= 75% of the baseline's requests/s; at a fixed offered load of half the baseline's
// maximum its p99 is <= 1.5x the baseline's; its RSS stays < 120 MB.
//
// Each measurement also gives the server's CPU time per request (Δ utime+stime of the
// server process over its rounds / the requests it answered): on a shared machine the
// requests/s of a round move by a third with what else runs, the CPU a request costs far
// less, so the ratio of CPU per request to the baseline's is the figure to compare runs by.
//
// Node flags: meshguard runs with its image's (bench/servers.ts imageNodeFlags: a 4 MB
// young generation and a capped old one). By default every other target runs with the same
// flags, so that the ratios compare code under one runtime; --reference-flags default runs
// the baseline, bare Fastify and the floor with node's defaults instead (the shell always
// has meshguard's). The flags of each target are in the JSON's settings.nodeFlags.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { isDeepStrictEqual } from 'node:util';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDevCerts } from '../certs/dev-ca.js';
import { argValue, cpuSeconds, freePort, imageNodeFlags, REVIEWS, reviewLoad, ROOT, rssMb, waitReady, type Webhook } from './servers.js';

const flag = (name: string, dflt: number): number => Number(argValue(name) ?? dflt);
// Each target is measured ROUNDS times for DURATION seconds, the targets taking turns, so
// that a slow stretch of a shared machine hits all of them alike: requests/s is the median
// of the rounds, percentiles come from all of their responses. A p99 ratio to the baseline
// (the p99 target) is the median over the rounds of each round's ratio, a target's p99 in
// that round against the baseline's in the same round, as requests/s is a median of
// rounds: a slow stretch lands in one target's round and moves its p99 over all responses
// a long way (the pooled ratio, `pooledP99RatioAtHalfLoad`, is kept beside it).
// More, shorter rounds than one long one: a slow stretch then lands in one round of each
// target rather than in all of one target's time. Each round starts one target later than
// the one before (baseline, floor, meshguard; then floor, meshguard, baseline; ...): with a
// fixed order meshguard always ran right after the floor and the baseline right after
// meshguard, so whatever a server leaves behind once its load stops (V8 finishing its
// collections on the second of two cores, autocannon's own garbage) fell on the same
// neighbour in every round, and a p99 ratio taken per round inherited that place.
// The half-load rounds, whose p99s decide the p99 target, are more than the full-speed
// ones: on a quiet host, twelve runs of six rounds each put the floor's /mutate ratio
// anywhere from 1.27x to 1.78x (median 1.52x), so a median of 7 rounds decided a target
// whose floor sits at 1.5x by the luck of the run; 13 rounds cut that spread by ~1.4x
// (the square root of the rounds) for ~3 minutes more. Requests/s at full speed settles
// with fewer.
const DURATION = flag('duration', 3);
const ROUNDS = flag('rounds', 7);
const FIXED_ROUNDS = flag('fixed-rounds', 13);
const WARMUP = 2;
const CONNECTIONS = flag('connections', 10);
const BEFORE = argValue('before');
const ONLY = argValue('only')?.split(',');
const REFERENCE_FLAGS = argValue('reference-flags') ?? 'image';
if (REFERENCE_FLAGS !== 'image' && REFERENCE_FLAGS !== 'default') throw new Error(`--reference-flags: image or default, not ${REFERENCE_FLAGS}`);
const wanted = (name: string) => !ONLY || ONLY.includes(name) || name === 'baseline' || name === 'meshguard';

interface Measurement {
  target: string;
  webhook: string;
  mode: 'max' | 'fixed';
  offeredRps?: number;
  requestsPerSec: number;
  /** requests/s of each round, in order. */
  roundsRps: number[];
  p50Ms: number;
  p99Ms: number;
  /** p99 of each round's responses, in order. */
  roundsP99Ms: number[];
  p999Ms: number;
  errors: number;
  non2xx: number;
  rssMb: number;
  peakRssMb: number;
  /** Server CPU (user + system) per answered request over all rounds, in µs. */
  cpuUsPerRequest: number;
  /**
   * meshguard's own mean time in admit() over the rounds (meshguard_admission_duration_seconds
   * sum / count), in µs: what the decision costs inside the server under this load.
   */
  admitMeanUs?: number;
}

interface Target {
  name: string;
  pid: number;
  port: number;
  /** meshguard's plain-HTTP metrics port. */
  metricsPort?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The q-quantile of sorted latencies (ms, to 0.01 ms). */
const percentile = (sorted: number[], q: number): number => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN) * 100) / 100;

/** Sum and count of meshguard_admission_duration_seconds for `webhook`, from /metrics. */
async function admitDuration(metricsPort: number, webhook: Webhook): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}\\{webhook="${webhook}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { sum: value('meshguard_admission_duration_seconds_sum'), count: value('meshguard_admission_duration_seconds_count') };
}

/** Every target in turn, ROUNDS times at full speed or FIXED_ROUNDS times at `rate` requests/s (each round starting one target later). */
async function measure(targets: Target[], ca: string, webhook: Webhook, rate?: number): Promise<Measurement[]> {
  const optsOf = (t: Target): autocannon.Options => ({ ...reviewLoad(t.port, webhook, ca, CONNECTIONS), ...(rate ? { overallRate: rate } : {}) });
  for (const t of targets) await autocannon({ ...optsOf(t), duration: WARMUP });
  const admitBefore = await Promise.all(targets.map((t) => (t.metricsPort ? admitDuration(t.metricsPort, webhook) : undefined)));
  const acc = targets.map(() => ({ rps: [] as number[], latencies: [] as number[], roundsP99: [] as number[], errors: 0, non2xx: 0, cpuSeconds: 0, requests: 0 }));
  const rounds = rate ? FIXED_ROUNDS : ROUNDS;
  for (let n = 0; n < rounds; n++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (k + n) % targets.length;
      const t = targets[i]!;
      // autocannon's own percentiles come from a histogram of whole milliseconds, which makes
      // a p99 ratio of 1 ms against 2 ms meaningless; each response's time is a float.
      // Without a callback autocannon returns its tracker (an EventEmitter) made thenable.
      const cpuBefore = cpuSeconds(t.pid);
      const instance = autocannon({ ...optsOf(t), duration: DURATION }) as unknown as Promise<autocannon.Result> & import('node:events').EventEmitter;
      const round: number[] = [];
      instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) round.push(ms);
      });
      const r = await instance;
      for (const ms of round) acc[i]!.latencies.push(ms);
      acc[i]!.roundsP99.push(percentile(round.sort((a, b) => a - b), 0.99));
      acc[i]!.cpuSeconds += cpuSeconds(t.pid) - cpuBefore;
      acc[i]!.requests += r.requests.total;
      acc[i]!.rps.push(r.requests.average);
      acc[i]!.errors += r.errors + r.timeouts;
      acc[i]!.non2xx += r.non2xx;
    }
  }
  const admitAfter = await Promise.all(targets.map((t) => (t.metricsPort ? admitDuration(t.metricsPort, webhook) : undefined)));
  return targets.map((t, i) => {
    const { rps, latencies, roundsP99, errors, non2xx, cpuSeconds: cpu, requests } = acc[i]!;
    const a0 = admitBefore[i];
    const a1 = admitAfter[i];
    latencies.sort((a, b) => a - b);
    const pct = (q: number) => percentile(latencies, q);
    const mem = rssMb(t.pid);
    return {
      target: t.name,
      webhook,
      mode: rate ? 'fixed' : 'max',
      ...(rate ? { offeredRps: rate } : {}),
      requestsPerSec: median(rps),
      roundsRps: rps.map(Math.round),
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      roundsP99Ms: roundsP99,
      p999Ms: pct(0.999),
      errors,
      non2xx,
      rssMb: mem.rss,
      peakRssMb: mem.peak,
      cpuUsPerRequest: requests > 0 ? Math.round((cpu / requests) * 1e7) / 10 : NaN,
      ...(a0 && a1 ? { admitMeanUs: Math.round(((a1.sum - a0.sum) / (a1.count - a0.count)) * 1e7) / 10 } : {}),
    };
  });
}

const dir = await mkdtemp(join(tmpdir(), 'meshguard-bench-'));
const certs = await writeDevCerts(join(dir, 'certs'));
const ca = await readFile(certs.caCert, 'utf8');

// meshguard runs with the image's node flags as deployed (ENTRYPOINT and the manifests' NODE_OPTIONS), so RSS is measured as deployed.
const NODE_FLAGS = imageNodeFlags();
const loader = ['--import', '@tapjs/typescript/import'];
const built = join(ROOT, 'dist/cli/main.js');
const useDist = existsSync(built);
if (!useDist) process.stderr.write('dist/ not built: running meshguard from sources (run `npm run build` for the real thing)\n');

/** A reference server of bench/ (PORT CERT KEY), on the same certificates as meshguard. */
const reference = (script: string, port: number, nodeFlags: string[] = [], args: string[] = []) =>
  spawn(process.execPath, [...nodeFlags, join(ROOT, 'bench', script), String(port), certs.tlsCert, certs.tlsKey, ...args], { cwd: ROOT, stdio: 'ignore' });
/** The node flags of each target that runs (see the header). */
const nodeFlags: Record<string, string[]> = {};
const referenceFlags = REFERENCE_FLAGS === 'image' ? NODE_FLAGS : [];
const basePort = await freePort();
const baseline = reference('admission-load-baseline.mjs', basePort, (nodeFlags['baseline'] = referenceFlags));
const fastifyPort = await freePort();
const fastify = wanted('fastify') ? reference('admission-load-fastify.mjs', fastifyPort, (nodeFlags['fastify'] = referenceFlags)) : undefined;
// The shell and the floor run meshguard's compiled code, so only with dist/ built.
const shellPort = await freePort();
const shell = useDist && wanted('shell') ? reference('admission-load-shell.mjs', shellPort, (nodeFlags['shell'] = NODE_FLAGS)) : undefined;
const floorPort = await freePort();
const floor = useDist && wanted('floor') ? reference('admission-load-fastify.mjs', floorPort, (nodeFlags['floor'] = referenceFlags), ['decide']) : undefined;
if (!useDist) process.stderr.write('dist/ not built: no shell and no floor target\n');
/** `meshguard serve` from `main` (a built main.js, or the sources with the TS loader) on `port`. */
const serveMeshguard = async (main: string[], port: number, metricsPort: number) =>
  spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      ...main,
      'serve', '--tls-cert', certs.tlsCert, '--tls-key', certs.tlsKey, '--state', join(ROOT, 'examples/state.yaml'),
      '--port', String(port), '--metrics-port', String(metricsPort), '--log-level', 'info', '--shutdown-delay-seconds', '0',
    ],
    // Logs at info (as in production) go to /dev/null.
    { cwd: dir, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' }, stdio: 'ignore' },
  );
const mgPort = await freePort();
const mgMetricsPort = await freePort();
const meshguard = await serveMeshguard(useDist ? [built] : [...loader, join(ROOT, 'cli/main.ts')], mgPort, mgMetricsPort);
nodeFlags['meshguard'] = NODE_FLAGS;
const beforePort = await freePort();
const beforeMetricsPort = await freePort();
const before = BEFORE ? await serveMeshguard([join(BEFORE, 'dist/cli/main.js')], beforePort, beforeMetricsPort) : undefined;
if (before) nodeFlags['before'] = NODE_FLAGS;
const stopAll = () => {
  for (const c of [baseline, fastify, shell, floor, meshguard, before]) if (c && c.exitCode === null) c.kill('SIGTERM');
};

/** One POST of `webhook`'s review to `port`: its HTTP status and parsed answer. */
const answerOf = (port: number, webhook: Webhook): Promise<{ status: number; body: unknown }> =>
  new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: `/${webhook}?timeout=10s`, method: 'POST', servername: 'localhost', ca, agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          } catch (err) {
            reject(err as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(REVIEWS[webhook]);
  });

/**
 * The floor proves a limit only if it decides as meshguard does: one answer of each webhook
 * from both, before any round, must be the same (status and AdmissionReview).
 */
async function sameAnswers(floorPort: number, meshguardPort: number): Promise<void> {
  for (const webhook of ['mutate', 'validate'] as const) {
    const [f, m] = await Promise.all([answerOf(floorPort, webhook), answerOf(meshguardPort, webhook)]);
    if (f.status !== m.status || !isDeepStrictEqual(f.body, m.body))
      throw new Error(
        `the floor's answer to /${webhook} differs from meshguard's, so it is no floor of meshguard:\n` +
          `  floor     HTTP ${f.status} ${JSON.stringify(f.body)}\n  meshguard HTTP ${m.status} ${JSON.stringify(m.body)}`,
      );
  }
}
process.on('exit', stopAll);

try {
  await waitReady(baseline, basePort, { ca, what: 'baseline' });
  if (fastify) await waitReady(fastify, fastifyPort, { ca, what: 'bare Fastify' });
  if (shell) await waitReady(shell, shellPort, { ca, what: 'meshguard shell' });
  if (floor) await waitReady(floor, floorPort, { ca, what: 'floor (bare Fastify + admit() + its log line)' });
  await waitReady(meshguard, mgPort, { ca, what: 'meshguard' });
  if (floor) await sameAnswers(floorPort, mgPort);
  if (before) await waitReady(before, beforePort, { ca, what: `meshguard of ${BEFORE}` });
  const results: Measurement[] = [];
  const targets: Target[] = [
    { name: 'baseline', pid: baseline.pid!, port: basePort },
    ...(fastify ? [{ name: 'fastify', pid: fastify.pid!, port: fastifyPort }] : []),
    ...(shell ? [{ name: 'shell', pid: shell.pid!, port: shellPort }] : []),
    ...(floor ? [{ name: 'floor', pid: floor.pid!, port: floorPort }] : []),
    ...(before ? [{ name: 'before', pid: before.pid!, port: beforePort, metricsPort: beforeMetricsPort }] : []),
    { name: 'meshguard', pid: meshguard.pid!, port: mgPort, metricsPort: mgMetricsPort },
  ];
  for (const webhook of ['mutate', 'validate'] as const) {
    const max = await measure(targets, ca, webhook);
    const rate = Math.max(1, Math.round(max[0]!.requestsPerSec / 2));
    results.push(...max, ...(await measure(targets, ca, webhook, rate)));
  }
  const by = (t: string, w: string, m: string) => results.find((r) => r.target === t && r.webhook === w && r.mode === m)!;
  const summary = (['mutate', 'validate'] as const).map((w) => {
    const throughputRatio = by('meshguard', w, 'max').requestsPerSec / by('baseline', w, 'max').requestsPerSec;
    // At half load: the median over the rounds of target / baseline in the same round.
    const p99RatioOf = (t: string) => {
      const base = by('baseline', w, 'fixed').roundsP99Ms;
      return median(by(t, w, 'fixed').roundsP99Ms.map((ms, i) => ms / Math.max(base[i]!, 0.001)));
    };
    const pooledP99RatioOf = (t: string) => by(t, w, 'fixed').p99Ms / Math.max(by('baseline', w, 'fixed').p99Ms, 0.001);
    const p99Ratio = p99RatioOf('meshguard');
    const peak = Math.max(...results.filter((r) => r.target === 'meshguard').map((r) => r.peakRssMb));
    const ratio = (x: number) => Math.round(x * 1000) / 1000;
    const cpu = (mode: 'max' | 'fixed') => Object.fromEntries(targets.map((t) => [t.name, by(t.name, w, mode).cpuUsPerRequest]));
    const cpuRatio = (mode: 'max' | 'fixed') => Object.fromEntries(targets.map((t) => [t.name, ratio(by(t.name, w, mode).cpuUsPerRequest / by('baseline', w, mode).cpuUsPerRequest)]));
    const floorThroughput = floor ? by('floor', w, 'max').requestsPerSec / by('baseline', w, 'max').requestsPerSec : NaN;
    const floorP99 = floor ? p99RatioOf('floor') : NaN;
    return {
      webhook: w,
      throughputRatio: ratio(throughputRatio),
      p99RatioAtHalfLoad: ratio(p99Ratio),
      pooledP99RatioAtHalfLoad: ratio(pooledP99RatioOf('meshguard')),
      meshguardPeakRssMb: peak,
      // Server CPU µs per request of each target, and its ratio to the baseline's: at half
      // the baseline's maximum rate (the same offered load for all) and at full speed.
      cpuUsPerRequest: { halfLoad: cpu('fixed'), max: cpu('max') },
      cpuRatioToBaseline: { halfLoad: cpuRatio('fixed'), max: cpuRatio('max') },
      // The share of one core each server was busy at half load (CPU per request x requests/s):
      // a queue's p99 grows steeply with it, so a server that needs twice the baseline's CPU
      // per request is nearly full at half the baseline's maximum rate, and its p99 shows that.
      utilizationAtHalfLoad: Object.fromEntries(
        targets.map((t) => [t.name, ratio((by(t.name, w, 'fixed').cpuUsPerRequest * by(t.name, w, 'fixed').requestsPerSec) / 1e6)]),
      ),
      // The part of meshguard's CPU per request spent deciding, as the server itself times it.
      meshguardAdmitMeanUs: { halfLoad: by('meshguard', w, 'fixed').admitMeanUs, max: by('meshguard', w, 'max').admitMeanUs },
      // Not targets: where the gap lies. Bare Fastify against the baseline is the framework's
      // share; the shell (meshguard's server deciding nothing) adds the log line and metrics;
      // meshguard against the shell is what the decision costs.
      reference: {
        ...(fastify
          ? {
              fastifyThroughputRatio: ratio(by('fastify', w, 'max').requestsPerSec / by('baseline', w, 'max').requestsPerSec),
              fastifyP99RatioAtHalfLoad: ratio(p99RatioOf('fastify')),
              meshguardToFastifyThroughputRatio: ratio(by('meshguard', w, 'max').requestsPerSec / by('fastify', w, 'max').requestsPerSec),
            }
          : {}),
        ...(before
          ? {
              beforeThroughputRatio: ratio(by('before', w, 'max').requestsPerSec / by('baseline', w, 'max').requestsPerSec),
              beforeP99RatioAtHalfLoad: ratio(p99RatioOf('before')),
              meshguardToBeforeThroughputRatio: ratio(by('meshguard', w, 'max').requestsPerSec / by('before', w, 'max').requestsPerSec),
            }
          : {}),
        ...(shell
          ? {
              shellThroughputRatio: ratio(by('shell', w, 'max').requestsPerSec / by('baseline', w, 'max').requestsPerSec),
              shellP99RatioAtHalfLoad: ratio(p99RatioOf('shell')),
              meshguardToShellThroughputRatio: ratio(by('meshguard', w, 'max').requestsPerSec / by('shell', w, 'max').requestsPerSec),
            }
          : {}),
      },
      targets: { throughput: throughputRatio >= 0.75, p99: p99Ratio <= 1.5, rss: peak < 120 },
      // The floor against the same targets: a target the floor misses is out of reach on
      // Fastify with this decision (the proof); one it meets leaves meshguard's gap to the
      // floor to its shell.
      ...(floor
        ? {
            floor: {
              // What the floor does per review besides Fastify's own work (README: the floor).
              does: "admit() and the review's admission line (logReview, pino at info, synchronous stdout)",
              throughputRatio: ratio(floorThroughput),
              p99RatioAtHalfLoad: ratio(floorP99),
              pooledP99RatioAtHalfLoad: ratio(pooledP99RatioOf('floor')),
              cpuRatioToBaseline: { halfLoad: cpuRatio('fixed')['floor'], max: cpuRatio('max')['floor'] },
              meshguardToFloorThroughputRatio: ratio(by('meshguard', w, 'max').requestsPerSec / by('floor', w, 'max').requestsPerSec),
              meshguardToFloorCpuRatioAtHalfLoad: ratio(by('meshguard', w, 'fixed').cpuUsPerRequest / by('floor', w, 'fixed').cpuUsPerRequest),
              meets: { throughput: floorThroughput >= 0.75, p99: floorP99 <= 1.5 },
            },
          }
        : {}),
    };
  });
  const report = {
    when: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    settings: { roundSeconds: DURATION, rounds: ROUNDS, fixedRounds: FIXED_ROUNDS, warmupSeconds: WARMUP, connections: CONNECTIONS, keepAlive: true, meshguardFrom: useDist ? 'dist' : 'sources', meshguardNodeFlags: NODE_FLAGS, referenceFlags: REFERENCE_FLAGS, nodeFlags },
    bodyBytes: { mutate: Buffer.byteLength(REVIEWS.mutate), validate: Buffer.byteLength(REVIEWS.validate) },
    results,
    summary,
  };
  const partial = ONLY !== undefined || BEFORE !== undefined || argValue('reference-flags') !== undefined;
  if (!partial) {
    await mkdir(join(ROOT, 'bench/results'), { recursive: true });
    await writeFile(join(ROOT, 'bench/results/admission-load.json'), `${JSON.stringify(report, null, 2)}\n`);
  }

  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const lines = [
    `${'target'.padEnd(10)} ${'webhook'.padEnd(9)} ${'mode'.padEnd(12)} ${pad('req/s', 9)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('p99.9', 7)} ${pad('errors', 7)} ${pad('RSS MB', 7)} ${pad('peak', 7)} ${pad('CPU µs/req', 10)}`,
    ...results.map(
      (r) =>
        `${r.target.padEnd(10)} ${r.webhook.padEnd(9)} ${(r.mode === 'max' ? 'max' : `fixed ${r.offeredRps}`).padEnd(12)} ${pad(r.requestsPerSec.toFixed(0), 9)} ${pad(r.p50Ms, 7)} ${pad(r.p99Ms, 7)} ${pad(r.p999Ms, 7)} ${pad(r.errors + r.non2xx, 7)} ${pad(r.rssMb, 7)} ${pad(r.peakRssMb, 7)} ${pad(r.cpuUsPerRequest, 10)}`,
    ),
    '',
    ...summary.map(
      (s) =>
        `${s.webhook.padEnd(9)} throughput ${(s.throughputRatio * 100).toFixed(1)}% of baseline (target >= 75%: ${s.targets.throughput ? 'met' : 'MISSED'}), ` +
        `p99 at half load ${s.p99RatioAtHalfLoad}x baseline (median of the rounds' ratios; target <= 1.5x: ${s.targets.p99 ? 'met' : 'MISSED'}; over all responses ${s.pooledP99RatioAtHalfLoad}x), ` +
        `peak RSS ${s.meshguardPeakRssMb} MB (target < 120: ${s.targets.rss ? 'met' : 'MISSED'})\n` +
        `${''.padEnd(9)} reference:` +
        (s.reference.fastifyThroughputRatio === undefined
          ? ''
          : ` bare Fastify ${(s.reference.fastifyThroughputRatio * 100).toFixed(1)}% of baseline (p99 ${s.reference.fastifyP99RatioAtHalfLoad}x); ` +
            `meshguard ${(s.reference.meshguardToFastifyThroughputRatio! * 100).toFixed(1)}% of bare Fastify`) +
        (s.reference.beforeThroughputRatio === undefined
          ? ''
          : `; before ${(s.reference.beforeThroughputRatio * 100).toFixed(1)}% of baseline (p99 ${s.reference.beforeP99RatioAtHalfLoad}x), ` +
            `meshguard ${(s.reference.meshguardToBeforeThroughputRatio! * 100).toFixed(1)}% of before`) +
        (s.reference.shellThroughputRatio === undefined
          ? ''
          : `; shell (admit() stubbed) ${(s.reference.shellThroughputRatio * 100).toFixed(1)}% of baseline (p99 ${s.reference.shellP99RatioAtHalfLoad}x), ` +
            `meshguard ${(s.reference.meshguardToShellThroughputRatio! * 100).toFixed(1)}% of the shell`) +
        `\n${''.padEnd(9)} server CPU per request at half load: ` +
        Object.entries(s.cpuUsPerRequest.halfLoad)
          .map(([t, us]) => `${t} ${us} µs${t === 'baseline' ? '' : ` (${s.cpuRatioToBaseline.halfLoad[t]}x)`}`)
          .join(', ') +
        `; meshguard's own time in admit(): ${s.meshguardAdmitMeanUs.halfLoad} µs at half load, ${s.meshguardAdmitMeanUs.max} µs at full speed` +
        `\n${''.padEnd(9)} busy share of a core at half load (CPU per request x requests/s; p99 follows it): ` +
        Object.entries(s.utilizationAtHalfLoad)
          .map(([t, u]) => `${t} ${u}`)
          .join(', ') +
        (s.floor === undefined
          ? ''
          : `\n${''.padEnd(9)} floor (bare Fastify + admit() + its log line, nothing else): throughput ${(s.floor.throughputRatio * 100).toFixed(1)}% of baseline, ` +
            `CPU per request ${s.floor.cpuRatioToBaseline.halfLoad}x, p99 at half load ${s.floor.p99RatioAtHalfLoad}x (over all responses ${s.floor.pooledP99RatioAtHalfLoad}x); ` +
            `the floor itself ${s.floor.meets.throughput ? 'meets' : 'MISSES'} 75% (${s.floor.meets.throughput ? "meshguard's gap to it is the shell's" : 'out of reach on Fastify with this decision'}) ` +
            `and ${s.floor.meets.p99 ? 'meets' : 'MISSES'} 1.5x (${s.floor.meets.p99 ? "meshguard's gap to it is the shell's" : 'out of reach on Fastify with this decision'}); ` +
            `meshguard ${(s.floor.meshguardToFloorThroughputRatio * 100).toFixed(1)}% of the floor's throughput, ${s.floor.meshguardToFloorCpuRatioAtHalfLoad}x its CPU per request`),
    ),
    `node flags: ${Object.entries(nodeFlags).map(([t, f]) => `${t} ${f.length ? f.join(' ') : '(defaults)'}`).join('; ')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n${partial ? '(--only/--before/--reference-flags: bench/results/admission-load.json left as it was)' : 'wrote bench/results/admission-load.json'}\n`);
} finally {
  stopAll();
}
