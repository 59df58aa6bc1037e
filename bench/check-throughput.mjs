// `meshguard check` over generated manifest sets of 1,000 and 10,000 documents, against
// two baselines measured in the same run on the same files: parsing alone with js-yaml,
// and with the yaml library's document model. Every measurement is a fresh process, so
// node start-up is paid equally by all three.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCorpus } from './corpus.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZES = [1000, 10000];

const time = (args) => {
  const start = process.hrtime.bigint();
  try {
    execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
  } catch (err) {
    // check exits 1 when it has error findings: that is a result, not a failure.
    if (err.status !== 1) throw err;
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const results = { benchmark: 'check-throughput', runs: RUNS, node: process.version, sizes: [] };
for (const size of SIZES) {
  const dir = join(here, '.corpus', `docs-${size}`);
  const corpus = writeCorpus(dir, size);
  const subjects = {
    'js-yaml parse (baseline)': [join(here, 'parse-baseline.mjs'), 'js-yaml', dir],
    'yaml parse (baseline)': [join(here, 'parse-baseline.mjs'), 'yaml', dir],
    'meshguard check': [cli, 'check', '--format', 'json', dir],
  };
  const row = { documents: corpus.documents, bytes: corpus.bytes, seconds: {}, docsPerSecond: {} };
  for (const [name, args] of Object.entries(subjects)) {
    time(args); // warm the page cache
    const s = median(Array.from({ length: RUNS }, () => time(args)));
    row.seconds[name] = s;
    row.docsPerSecond[name] = Math.round(corpus.documents / s);
  }
  row.ratioToJsYaml = row.seconds['meshguard check'] / row.seconds['js-yaml parse (baseline)'];
  row.ratioToYaml = row.seconds['meshguard check'] / row.seconds['yaml parse (baseline)'];
  results.sizes.push(row);
}
const [small, large] = results.sizes;
results.growth1kTo10k = large.seconds['meshguard check'] / small.seconds['meshguard check'];
results.growthBaseline1kTo10k = large.seconds['js-yaml parse (baseline)'] / small.seconds['js-yaml parse (baseline)'];
results.target = { ratioToJsYaml: 1.5 };
results.meetsTarget = large.ratioToJsYaml <= 1.5;

for (const r of results.sizes) {
  console.log(`\n${r.documents} documents (${(r.bytes / 1e6).toFixed(1)} MB), median of ${RUNS}`);
  for (const [name, s] of Object.entries(r.seconds))
    console.log(`  ${name.padEnd(26)} ${s.toFixed(3).padStart(7)} s  ${String(r.docsPerSecond[name]).padStart(7)} docs/s`);
  console.log(`  check / js-yaml: ${r.ratioToJsYaml.toFixed(2)}x   check / yaml: ${r.ratioToYaml.toFixed(2)}x`);
}
console.log(`\ngrowth 1k -> 10k: check ${results.growth1kTo10k.toFixed(2)}x, js-yaml ${results.growthBaseline1kTo10k.toFixed(2)}x (10x documents)`);
console.log(`target check <= 1.5x js-yaml at 10k: ${results.meetsTarget ? 'met' : 'NOT met'}`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'check-throughput.json'), JSON.stringify(results, null, 2) + '\n');
