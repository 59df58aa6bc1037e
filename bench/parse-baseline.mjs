// Baseline for bench/check-throughput: read the same files and only parse them, with
// js-yaml (`js-yaml`) or the yaml library's document model (`yaml`). `judge`: js-yaml's
// parse plus the policy core's whole answer and nothing else: the judgement of every
// document against the whole view, and the cross-object rules (MG3xx) over every object of
// the index, as check runs both (no command line, line numbers, copies or output). That is
// the floor under `check` that cli/ cannot go below; its ratio to `js-yaml` is what the
// policy core alone costs. `judge-parts`: the same work, each part timed inside the process
// (ms of wall time, as the target is stated): js-yaml's parse, importing the policy core,
// building the view, the judgement as check pays it (once per document, cold), the
// cross-object rules (cold, once, as check runs them), and the same judgement once V8 has
// compiled and optimized the policy core (warm); printed as one JSON line: what the policy
// core alone costs against js-yaml's parse of the same files.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jsYaml from 'js-yaml';
import { parseAllDocuments } from 'yaml';

const [which, dir] = process.argv.slice(2);
const parts = which === 'judge-parts';
/** ms since `from` (a performance.now() reading), to 0.1 ms. */
const msSince = (from) => Math.round((performance.now() - from) * 10) / 10;
const t0 = performance.now();
let docs = 0;
const objects = [];
// kubectl's merge keys, as check reads them (cli/inputs.ts MANIFEST_SCHEMA).
const judging = which === 'judge' || parts;
const options = judging ? { schema: jsYaml.CORE_SCHEMA.withTags(jsYaml.mergeTag) } : undefined;
for (const f of readdirSync(dir).sort()) {
  const text = readFileSync(join(dir, f), 'utf8');
  if (which === 'yaml') docs += parseAllDocuments(text).length;
  else {
    const values = jsYaml.loadAll(text, options);
    docs += values.length;
    if (judging) objects.push(...values.filter((v) => v !== null && typeof v === 'object'));
  }
}
if (judging) {
  const parseMs = msSince(t0);
  const t1 = performance.now();
  // Loaded only here: the parse baselines do not pay for the policy core's modules.
  const dist = new URL('../dist/', import.meta.url);
  const { judgeObject } = await import(new URL('policies/judge.js', dist).href);
  const { mayBeJudged } = await import(new URL('policies/review.js', dist).href);
  const { isClusterViewObject, isIndexObject } = await import(new URL('policies/index/object-index.js', dist).href);
  const { DEFAULT_CONFIG } = await import(new URL('policies/config.js', dist).href);
  const { buildView, crossObjectFindings, namespaceOf, placed } = await import(new URL('cli/run-checks.js', dist).href);
  const importMs = msSince(t1);
  const t2 = performance.now();
  const view = buildView([], objects.filter((o) => isClusterViewObject(o, DEFAULT_CONFIG.profiles)).map((object) => ({ object })));
  const viewMs = msSince(t2);
  let judged = 0;
  const judgeAll = () => {
    let findings = 0;
    judged = 0;
    for (const o of objects) {
      if (typeof o.kind !== 'string' || !mayBeJudged(o, DEFAULT_CONFIG)) continue;
      judged++;
      const ns = namespaceOf(o, 'default');
      findings += judgeObject(placed(o, ns), ns, view, DEFAULT_CONFIG, 'predict').findings.length;
    }
    return findings;
  };
  const t3 = performance.now();
  const judgedFindings = judgeAll();
  const judgeMs = msSince(t3);
  // The cross-object rules over every object of the index the files hold, as check calls
  // them (every input is an input; where it is located does not matter here).
  const t5 = performance.now();
  const sources = objects.filter((o) => isIndexObject(o, DEFAULT_CONFIG.profiles)).map((object) => ({ object, file: 'input', line: 1, input: true }));
  const crossFindings = crossObjectFindings(sources, DEFAULT_CONFIG).length;
  const crossMs = msSince(t5);
  const findings = judgedFindings + crossFindings;
  if (parts) {
    // The warm pass: what the same judgement costs once V8 has compiled and optimized the
    // policy core's code (the fourth pass; the second is still partly cold). The difference
    // from judgeMs is warm-up, which check pays once per process on its first documents.
    for (let i = 0; i < 2; i++) judgeAll();
    const t4 = performance.now();
    judgeAll();
    const judgeWarmMs = msSince(t4);
    process.stdout.write(`${JSON.stringify({ documents: docs, judged, findings, crossFindings, parseMs, importMs, viewMs, judgeMs, crossMs, judgeWarmMs })}\n`);
  } else process.stdout.write(`${docs} documents, ${findings} findings\n`);
} else process.stdout.write(`${docs}\n`);
