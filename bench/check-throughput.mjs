// `meshguard check` over generated manifest sets of 1,000, 10,000 and 100,000 documents,
// against baselines measured in the same run on the same files: parsing alone with js-yaml,
// and (up to 10k) with the yaml library's document model. Every measurement is a fresh
// process, so node start-up is paid equally by all; the runs of the subjects take turns.
// Also: peak resident memory (VmHWM) of each run against the input size, and the 10k
// documents as one `kind: List`, and as one multi-document file, against the same documents
// in their 100 files.
//
//   npm run build && node bench/check-throughput.mjs [--runs 5] [--sizes 1000,10000,100000]
//
// Up to 10k documents, check also runs with the hidden --no-cross-object (per-object rules
// only) in the same rounds: `crossObjectCost` is check's time over that, the cost of the
// cross-object rules (MG3xx) over the inputs. Also up to 10k: js-yaml's parse plus the
// policy core's whole answer and nothing else (bench/parse-baseline.mjs judge: the
// judgement of every document and the cross-object rules over every index object), the
// floor under check; `floorRatioToJsYaml` is what the policy core alone adds to the parse,
// which no change in cli/ takes back.
//
// The judgement alone (`judgementAlone`, up to 10k): parse-baseline.mjs judge-parts in the
// same rounds times, inside one process, js-yaml's parse, importing the policy core and the
// judgement of every document (cold, as check pays it once per document, and again warm)
// and the cross-object rules (`crossMs`, cold, in the same process: crossObjectMs, check
// against --no-cross-object, also holds what the CLI does for them, e.g. copying every
// index object it keeps). At 1.5x, check may add half of js-yaml's time to the parse
// (`budgetMs`); the policy core's import, judgement and cross-object rules (`mustMs`) are
// work check cannot leave out, so where they exceed that budget (`overBudget`) the target is
// out of reach of any change in cli/, and `judgeUsPerDocumentAt15x` is what the judgement
// of a document would have to come down to, cold. The warm figure
// (`judgeWarmUsPerDocument`) is the same judgement once V8 has optimized the policy core:
// the rest of the cold figure is warm-up, paid once per process on the first documents.
// `freeJudgementRatioToJsYaml`: check's time less the cold judgement, against js-yaml: above
// 1.5x, the rest of check alone misses the target too.
//
// Targets: check at 10k <= 1.5x js-yaml; 100k in <= 10x the 10k time; peak RSS < 5x the
// input + 150 MB; the List no slower than 1.5x the separate documents (linear); the
// cross-object rules add at most 20% at 10k (crossObjectCost <= 1.2).
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCorpus } from './corpus.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
/** The node flags of the CLI's shebang (`meshguard check` runs with them), passed explicitly. */
const cliFlags = (/^#!.*\bnode\s+(.*)$/m.exec(readFileSync(cli, 'utf8').split('\n', 1)[0])?.[1] ?? '').split(/\s+/).filter((f) => f.startsWith('--'));
const checkArgs = (dir) => [...cliFlags, cli, 'check', '--format', 'json', dir];
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const RUNS = Number(opt('runs', process.env.BENCH_RUNS ?? 5));
const SIZES = opt('sizes', '1000,10000,100000').split(',').map(Number);
/** 100k documents take a minute a run: fewer runs there. */
const runsFor = (size) => (size >= 100_000 ? Math.min(RUNS, 2) : RUNS);

/** Seconds and peak resident memory (MB) of one process; VmHWM is read until it exits. */
const run = (args) =>
  new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    // Only judge-parts prints what is read (one JSON line); the others' output is dropped.
    let stdout = '';
    child.stdout.on('data', (d) => {
      if (stdout.length < 4096) stdout += d;
    });
    let peakKb = 0;
    const poll = () => {
      try {
        const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
        if (kb > peakKb) peakKb = kb;
      } catch {
        // gone between the exit and this read
      }
    };
    const timer = setInterval(poll, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      // check exits 1 when it has error findings: that is a result, not a failure.
      if (code !== 0 && code !== 1) return reject(new Error(`${args.join(' ')} exited with ${code}`));
      resolve({ seconds: Number(process.hrtime.bigint() - start) / 1e9, peakMb: Math.round(peakKb / 102.4) / 10, stdout });
    });
  });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Every subject once per round, in turn; medians over the rounds. */
async function measure(subjects, runs) {
  for (const args of Object.values(subjects)) await run(args); // warm the page cache
  const acc = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
  for (let r = 0; r < runs; r++) for (const [name, args] of Object.entries(subjects)) acc[name].push(await run(args));
  return Object.fromEntries(
    Object.entries(acc).map(([name, xs]) => [name, { seconds: median(xs.map((x) => x.seconds)), peakMb: Math.max(...xs.map((x) => x.peakMb)), stdouts: xs.map((x) => x.stdout) }]),
  );
}

/** The documents of `dir` as the items of one `kind: List` in `file`. */
const writeAsList = (dir, file) => {
  const docs = readdirSync(dir).sort().flatMap((f) => readFileSync(join(dir, f), 'utf8').split(/^---\n/m)).filter((d) => d.trim() !== '');
  const items = docs.map((d) =>
    d
      .trimEnd()
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l, i) => (i === 0 ? `  - ${l}` : l === '' ? l : `    ${l}`))
      .join('\n'),
  );
  writeFileSync(file, `apiVersion: v1\nkind: List\nitems:\n${items.join('\n')}\n`);
  return docs.length;
};

const JS_YAML = 'js-yaml parse (baseline)';
const YAML = 'yaml parse (baseline)';
const CHECK = 'meshguard check';
const NO_CROSS = 'check --no-cross-object';
const FLOOR = 'js-yaml + judgement (floor)';
const PARTS = 'js-yaml + judgement, timed in parts';
const results = { benchmark: 'check-throughput', runs: RUNS, node: process.version, checkNodeFlags: cliFlags, sizes: [] };
for (const size of SIZES) {
  const dir = join(here, '.corpus', `docs-${size}`);
  const corpus = writeCorpus(dir, size);
  const subjects = {
    [JS_YAML]: [join(here, 'parse-baseline.mjs'), 'js-yaml', dir],
    // The yaml library's document model takes minutes at 100k and is only a reference.
    ...(size <= 10_000 ? { [YAML]: [join(here, 'parse-baseline.mjs'), 'yaml', dir] } : {}),
    // With the CLI's node flags, as check runs.
    ...(size <= 10_000 ? { [FLOOR]: [...cliFlags, join(here, 'parse-baseline.mjs'), 'judge', dir] } : {}),
    ...(size <= 10_000 ? { [PARTS]: [...cliFlags, join(here, 'parse-baseline.mjs'), 'judge-parts', dir] } : {}),
    [CHECK]: checkArgs(dir),
    // The 100k runs take a minute each; the cross-object target is stated at 10k.
    ...(size <= 10_000 ? { [NO_CROSS]: [...checkArgs(dir), '--no-cross-object'] } : {}),
  };
  const m = await measure(subjects, runsFor(size));
  // Its own time is not a subject's: it runs the judgement twice. What it reads is its parts.
  const parts = m[PARTS];
  delete m[PARTS];
  const row = {
    documents: corpus.documents,
    bytes: corpus.bytes,
    runs: runsFor(size),
    seconds: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.seconds])),
    peakRssMb: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.peakMb])),
    docsPerSecond: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(corpus.documents / v.seconds)])),
  };
  row.ratioToJsYaml = row.seconds[CHECK] / row.seconds[JS_YAML];
  if (row.seconds[YAML]) row.ratioToYaml = row.seconds[CHECK] / row.seconds[YAML];
  if (row.seconds[NO_CROSS]) row.crossObjectCost = row.seconds[CHECK] / row.seconds[NO_CROSS];
  if (row.seconds[FLOOR]) row.floorRatioToJsYaml = row.seconds[FLOOR] / row.seconds[JS_YAML];
  if (parts) {
    const lines = parts.stdouts.map((o) => JSON.parse(o));
    const med = (k) => median(lines.map((l) => l[k]));
    const [parseMs, importMs, viewMs, judgeMs, crossMs, judgeWarmMs] = ['parseMs', 'importMs', 'viewMs', 'judgeMs', 'crossMs', 'judgeWarmMs'].map(med);
    const jsYamlMs = row.seconds[JS_YAML] * 1000;
    const budgetMs = 0.5 * jsYamlMs;
    const crossObjectMs = row.seconds[NO_CROSS] ? Math.max(0, (row.seconds[CHECK] - row.seconds[NO_CROSS]) * 1000) : 0;
    // The policy core's own work, timed in one process: what check cannot leave out.
    const mustMs = importMs + judgeMs + crossMs;
    row.judgementAlone = {
      judged: lines[0].judged,
      parseMs,
      importMs,
      viewMs,
      judgeMs,
      judgeWarmMs,
      judgeUsPerDocument: (judgeMs * 1000) / lines[0].judged,
      judgeWarmUsPerDocument: (judgeWarmMs * 1000) / lines[0].judged,
      judgeToJsYaml: judgeMs / jsYamlMs,
      judgeWarmToJsYaml: judgeWarmMs / jsYamlMs,
      budgetMs,
      crossMs,
      crossObjectMs,
      mustMs,
      mustRatioToJsYaml: (jsYamlMs + mustMs) / jsYamlMs,
      overBudget: mustMs > budgetMs,
      // What the judgement of one document may cost for check to reach 1.5x with nothing else
      // of the CLI but the cross-object rules (negative: not even with a free judgement).
      judgeUsPerDocumentAt15x: ((budgetMs - importMs - crossMs) * 1000) / lines[0].judged,
      // check's ratio to js-yaml were its judgement free: what the parse and the rest of the
      // CLI (compaction, line numbers, cross-object rules, output, start-up) take alone.
      freeJudgementRatioToJsYaml: (row.seconds[CHECK] * 1000 - judgeMs) / jsYamlMs,
    };
  }
  row.rssBudgetMb = Math.round((5 * corpus.bytes) / 1e6 + 150);
  row.rssWithinBudget = row.peakRssMb[CHECK] < row.rssBudgetMb;
  results.sizes.push(row);
  rmSync(dir, { recursive: true, force: true });
}

// kind: List against separate documents, 10k items, in the same rounds.
{
  const size = 10_000;
  const dir = join(here, '.corpus', `docs-${size}`);
  writeCorpus(dir, size);
  const listDir = join(here, '.corpus', 'list-10000');
  rmSync(listDir, { recursive: true, force: true });
  mkdirSync(listDir, { recursive: true });
  const items = writeAsList(dir, join(listDir, 'list.yaml'));
  const oneDir = join(here, '.corpus', 'one-10000');
  rmSync(oneDir, { recursive: true, force: true });
  mkdirSync(oneDir, { recursive: true });
  writeFileSync(join(oneDir, 'all.yaml'), readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('---\n'));
  const m = await measure({ documents: checkArgs(dir), list: checkArgs(listDir), oneFile: checkArgs(oneDir) }, RUNS);
  results.list = {
    items,
    documentsSeconds: m.documents.seconds,
    listSeconds: m.list.seconds,
    ratio: m.list.seconds / m.documents.seconds,
    // Reported, not a target: the List is one file, whose items are all held until judged.
    documentsPeakRssMb: m.documents.peakMb,
    listPeakRssMb: m.list.peakMb,
  };
  // The same documents in one file (as `kustomize build > all.yaml` writes them): reported.
  results.oneFile = { seconds: m.oneFile.seconds, ratio: m.oneFile.seconds / m.documents.seconds, peakRssMb: m.oneFile.peakMb };
  rmSync(dir, { recursive: true, force: true });
  rmSync(listDir, { recursive: true, force: true });
  rmSync(oneDir, { recursive: true, force: true });
}

const at = (n) => results.sizes.find((r) => r.documents === n);
const [small, large, huge] = [at(1000), at(10000), at(100000)];
if (small && large) {
  results.growth1kTo10k = large.seconds[CHECK] / small.seconds[CHECK];
  results.growthBaseline1kTo10k = large.seconds[JS_YAML] / small.seconds[JS_YAML];
}
if (large && huge) {
  results.growth10kTo100k = huge.seconds[CHECK] / large.seconds[CHECK];
  results.growthBaseline10kTo100k = huge.seconds[JS_YAML] / large.seconds[JS_YAML];
}
results.targets = {
  ratioToJsYamlAt10k: { target: 1.5, met: large ? large.ratioToJsYaml <= 1.5 : null },
  growth10kTo100k: { target: 10, met: results.growth10kTo100k === undefined ? null : results.growth10kTo100k <= 10 },
  peakRss: { target: '5x input + 150 MB', met: results.sizes.every((r) => r.rssWithinBudget) },
  listLinear: { target: 1.5, met: results.list.ratio <= 1.5 },
  crossObjectCostAt10k: { target: 1.2, met: large?.crossObjectCost === undefined ? null : large.crossObjectCost <= 1.2 },
};

for (const r of results.sizes) {
  console.log(`\n${r.documents} documents (${(r.bytes / 1e6).toFixed(1)} MB), median of ${r.runs}`);
  for (const [name, s] of Object.entries(r.seconds))
    console.log(`  ${name.padEnd(26)} ${s.toFixed(3).padStart(8)} s  ${String(r.docsPerSecond[name]).padStart(7)} docs/s  peak RSS ${r.peakRssMb[name]} MB`);
  console.log(`  check / js-yaml: ${r.ratioToJsYaml.toFixed(2)}x${r.ratioToYaml ? `   check / yaml: ${r.ratioToYaml.toFixed(2)}x` : ''}   check RSS budget ${r.rssBudgetMb} MB: ${r.rssWithinBudget ? 'within' : 'OVER'}`);
  if (r.crossObjectCost) console.log(`  cross-object rules: check / check --no-cross-object ${r.crossObjectCost.toFixed(2)}x`);
  if (r.floorRatioToJsYaml) console.log(`  floor (js-yaml + the policy core's judgement and cross-object rules, no CLI) / js-yaml: ${r.floorRatioToJsYaml.toFixed(2)}x`);
  const j = r.judgementAlone;
  if (j)
    console.log(
      `  judgement alone (in-process, ${j.judged} documents judged): ${j.judgeMs.toFixed(0)} ms cold as check pays it (${j.judgeToJsYaml.toFixed(2)}x js-yaml, ${j.judgeUsPerDocument.toFixed(1)} µs a document), ${j.judgeWarmMs.toFixed(0)} ms warm (${j.judgeWarmToJsYaml.toFixed(2)}x, ${j.judgeWarmUsPerDocument.toFixed(1)} µs); ` +
        `policy core import ${j.importMs.toFixed(0)} ms, cross-object rules ${j.crossMs.toFixed(0)} ms in-process (check against --no-cross-object: ${j.crossObjectMs.toFixed(0)} ms); ` +
        `the policy core's work ${j.mustMs.toFixed(0)} ms (js-yaml + it: ${j.mustRatioToJsYaml.toFixed(2)}x); 1.5x leaves ${j.budgetMs.toFixed(0)} ms over js-yaml: ${j.overBudget ? 'OVER it without any other CLI cost' : 'within it'}; ` +
        `the judgement would have to take ${j.judgeUsPerDocumentAt15x.toFixed(1)} µs a document; with a free judgement check would be ${j.freeJudgementRatioToJsYaml.toFixed(2)}x js-yaml`,
    );
}
if (results.growth1kTo10k) console.log(`\ngrowth 1k -> 10k: check ${results.growth1kTo10k.toFixed(2)}x, js-yaml ${results.growthBaseline1kTo10k.toFixed(2)}x (10x documents)`);
if (results.growth10kTo100k) console.log(`growth 10k -> 100k: check ${results.growth10kTo100k.toFixed(2)}x, js-yaml ${results.growthBaseline10kTo100k.toFixed(2)}x (target <= 10x)`);
console.log(
  `kind: List of ${results.list.items} items ${results.list.listSeconds.toFixed(3)} s against ${results.list.documentsSeconds.toFixed(3)} s as documents: ${results.list.ratio.toFixed(2)}x; ` +
    `peak RSS ${results.list.listPeakRssMb} MB against ${results.list.documentsPeakRssMb} MB`,
);
console.log(`the same documents as one file: ${results.oneFile.seconds.toFixed(3)} s, ${results.oneFile.ratio.toFixed(2)}x the 100 files; peak RSS ${results.oneFile.peakRssMb} MB`);
console.log(`targets: ${Object.entries(results.targets).map(([k, v]) => `${k} ${v.met === null ? 'not measured' : v.met ? 'met' : 'NOT met'}`).join(', ')}`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'check-throughput.json'), JSON.stringify(results, null, 2) + '\n');
