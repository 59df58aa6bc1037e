// The runtime under meshguard: which Node.js and which V8 young-generation cap. A major
// Node version changes V8's heap defaults, so the image's `--max-semi-space-size` is chosen
// from these numbers, not carried over.
//
//   npm run build && node --import @tapjs/typescript/import bench/runtime.ts [--compare-node /usr/bin/node] [--reviews 20000] [--rounds 3]
//
// Two measurements, each variant against the image's own flags in the same run:
// - `serve`: for each young-generation setting, the server's own CPU time per review (from
//   /proc, over a fixed number of reviews posted over keep-alive HTTPS) and its peak RSS. CPU
//   per review is what a shared machine disturbs least; requests/s is printed for reference.
// - `check` on the 10k-document bench corpus: CPU seconds and peak RSS per runtime and flag
//   set, read by the process itself at exit (bench/report-usage.mjs).
// With --compare-node, both run on that Node.js too (e.g. the previous LTS), so a runtime
// move is measured against its baseline in one run. Writes bench/results/runtime.json.
import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDevCerts } from '../certs/dev-ca.js';
import { writeCorpus } from './corpus.mjs';
import { argValue, cpuSeconds, freePort, imageNodeFlags, reviewLoad, ROOT, rssMb, waitReady, type Webhook } from './servers.js';

const REVIEWS = Number(argValue('reviews') ?? 20000);
const ROUNDS = Number(argValue('rounds') ?? 3);
const COMPARE_NODE = argValue('compare-node');
const CONNECTIONS = 10;
const CLI = join(ROOT, 'dist/cli/main.js');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

const versionOf = (node: string): string => spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
const runtimes = [{ node: process.execPath, version: process.version }];
if (COMPARE_NODE) runtimes.push({ node: COMPARE_NODE, version: versionOf(COMPARE_NODE) });

const IMAGE_FLAGS = imageNodeFlags();
const FLAG_SETS: { name: string; flags: string[] }[] = [
  { name: `image (${IMAGE_FLAGS.join(' ') || 'no flags'})`, flags: IMAGE_FLAGS },
  { name: 'V8 default young generation', flags: IMAGE_FLAGS.filter((f) => !f.startsWith('--max-semi-space-size')) },
  { name: '--max-semi-space-size=8', flags: [...IMAGE_FLAGS.filter((f) => !f.startsWith('--max-semi-space-size')), '--max-semi-space-size=8'] },
  { name: '--max-semi-space-size=16', flags: [...IMAGE_FLAGS.filter((f) => !f.startsWith('--max-semi-space-size')), '--max-semi-space-size=16'] },
];

// --- serve ---------------------------------------------------------------------------
const dir = await mkdtemp(join(tmpdir(), 'meshguard-runtime-'));
const certs = await writeDevCerts(join(dir, 'certs'));
const ca = await readFile(certs.caCert, 'utf8');

interface ServeVariant {
  runtime: string;
  flags: string;
  pid: number;
  port: number;
  stop: () => void;
  cpuUsPerReview: Record<Webhook, number[]>;
  rps: Record<Webhook, number[]>;
}

const startServe = async (node: string, runtime: string, fs: { name: string; flags: string[] }): Promise<ServeVariant> => {
  const port = await freePort();
  const child = spawn(
    node,
    [...fs.flags, CLI, 'serve', '--tls-cert', certs.tlsCert, '--tls-key', certs.tlsKey, '--state', join(ROOT, 'examples/state.yaml'),
      '--port', String(port), '--metrics-port', 'off', '--log-level', 'info', '--shutdown-delay-seconds', '0'],
    { cwd: dir, stdio: 'ignore' },
  );
  await waitReady(child, port, { ca, what: `serve on ${runtime} ${fs.name}` });
  return { runtime, flags: fs.name, pid: child.pid!, port, stop: () => child.kill('SIGTERM'), cpuUsPerReview: { mutate: [], validate: [] }, rps: { mutate: [], validate: [] } };
};

const variants: ServeVariant[] = [];
for (const rt of runtimes) for (const fs of FLAG_SETS) variants.push(await startServe(rt.node, rt.version, fs));
process.on('exit', () => variants.forEach((v) => v.stop()));

for (const webhook of ['mutate', 'validate'] as const) {
  for (const v of variants) await autocannon({ ...reviewLoad(v.port, webhook, ca, CONNECTIONS), amount: 2000 }); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      const before = cpuSeconds(v.pid);
      const result = await autocannon({ ...reviewLoad(v.port, webhook, ca, CONNECTIONS), amount: REVIEWS });
      const served = result.requests.total;
      if (result.errors + result.non2xx > 0) throw new Error(`${v.runtime} ${v.flags}: ${result.errors} errors, ${result.non2xx} non-2xx answers`);
      v.cpuUsPerReview[webhook].push(((cpuSeconds(v.pid) - before) * 1e6) / served);
      v.rps[webhook].push(result.requests.average);
    }
  }
}
const serve = variants.map((v) => ({
  runtime: v.runtime,
  flags: v.flags,
  cpuUsPerReview: { mutate: round(median(v.cpuUsPerReview.mutate), 1), validate: round(median(v.cpuUsPerReview.validate), 1) },
  requestsPerSec: { mutate: Math.round(median(v.rps.mutate)), validate: Math.round(median(v.rps.validate)) },
  peakRssMb: rssMb(v.pid).peak,
}));
variants.forEach((v) => v.stop());

// --- check ---------------------------------------------------------------------------
const corpusDir = join(ROOT, 'bench', '.corpus', 'docs-10000');
const corpus = writeCorpus(corpusDir, 10000);
const usageOf = (node: string, flags: string[]): { cpuSeconds: number; maxRssMb: number } => {
  const r = spawnSync(node, [...flags, '--import', join(ROOT, 'bench/report-usage.mjs'), CLI, 'check', '--format', 'json', corpusDir], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const line = /MESHGUARD_USAGE (.*)$/m.exec(r.stderr)?.[1];
  if (!line || (r.status !== 0 && r.status !== 1)) throw new Error(`check on ${node} ${flags.join(' ')} failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
  return JSON.parse(line) as { cpuSeconds: number; maxRssMb: number };
};
const checkRows = runtimes.flatMap((rt) =>
  FLAG_SETS.slice(0, 2).map((fs) => ({ runtime: rt.version, node: rt.node, flags: fs.name, nodeFlags: fs.flags, cpu: [] as number[], rss: [] as number[] })),
);
for (const row of checkRows) usageOf(row.node, row.nodeFlags); // warm the page cache
for (let r = 0; r < ROUNDS; r++) {
  for (const row of checkRows) {
    const u = usageOf(row.node, row.nodeFlags);
    row.cpu.push(u.cpuSeconds);
    row.rss.push(u.maxRssMb);
  }
}
const check = checkRows.map((row) => ({ runtime: row.runtime, flags: row.flags, cpuSeconds: round(median(row.cpu)), peakRssMb: round(median(row.rss), 1) }));

// --- report --------------------------------------------------------------------------
const base = serve[0]!;
const report = {
  when: new Date().toISOString(),
  node: process.version,
  settings: { reviewsPerRound: REVIEWS, rounds: ROUNDS, connections: CONNECTIONS, imageFlags: IMAGE_FLAGS, checkCorpus: corpus },
  serve: serve.map((s) => ({
    ...s,
    cpuRatioToImage: { mutate: round(s.cpuUsPerReview.mutate / base.cpuUsPerReview.mutate), validate: round(s.cpuUsPerReview.validate / base.cpuUsPerReview.validate) },
    peakRssRatioToImage: round(s.peakRssMb / base.peakRssMb),
  })),
  check: check.map((c) => ({ ...c, cpuRatioToFirst: round(c.cpuSeconds / check[0]!.cpuSeconds), rssRatioToFirst: round(c.peakRssMb / check[0]!.peakRssMb) })),
};
await mkdir(join(ROOT, 'bench/results'), { recursive: true });
await writeFile(join(ROOT, 'bench/results/runtime.json'), `${JSON.stringify(report, null, 2)}\n`);

const lines = [
  `serve: server CPU per review (median of ${ROUNDS} rounds of ${REVIEWS}), ratio to the image's flags on ${base.runtime}`,
  ...report.serve.map(
    (s) =>
      `  ${s.runtime.padEnd(9)} ${s.flags.padEnd(36)} mutate ${String(s.cpuUsPerReview.mutate).padStart(6)} µs (${s.cpuRatioToImage.mutate}x)  validate ${String(s.cpuUsPerReview.validate).padStart(6)} µs (${s.cpuRatioToImage.validate}x)  peak RSS ${s.peakRssMb} MB (${s.peakRssRatioToImage}x)  ${s.requestsPerSec.mutate}/${s.requestsPerSec.validate} req/s`,
  ),
  `check ${corpus.documents} documents: CPU seconds and peak RSS (median of ${ROUNDS}), ratio to the first row`,
  ...report.check.map((c) => `  ${c.runtime.padEnd(9)} ${c.flags.padEnd(36)} ${c.cpuSeconds} s (${c.cpuRatioToFirst}x)  peak RSS ${c.peakRssMb} MB (${c.rssRatioToFirst}x)`),
];
process.stdout.write(`${lines.join('\n')}\nwrote bench/results/runtime.json\n`);
process.exit(0);
