// Baseline for bench/check-throughput: read the same files and only parse them, with
// js-yaml (`js-yaml`) or the yaml library's document model (`yaml`). `judge`: js-yaml's
// parse plus the policy core's judgement of every document against the whole view and
// nothing else (no command line, line numbers, copies, cross-object rules or output): the
// floor under `check` that cli/ cannot go below, its ratio to `js-yaml` what the policy
// core alone costs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jsYaml from 'js-yaml';
import { parseAllDocuments } from 'yaml';

const [which, dir] = process.argv.slice(2);
let docs = 0;
const objects = [];
// kubectl's merge keys, as check reads them (cli/inputs.ts MANIFEST_SCHEMA).
const options = which === 'judge' ? { schema: jsYaml.CORE_SCHEMA.withTags(jsYaml.mergeTag) } : undefined;
for (const f of readdirSync(dir).sort()) {
  const text = readFileSync(join(dir, f), 'utf8');
  if (which === 'yaml') docs += parseAllDocuments(text).length;
  else {
    const values = jsYaml.loadAll(text, options);
    docs += values.length;
    if (which === 'judge') objects.push(...values.filter((v) => v !== null && typeof v === 'object'));
  }
}
if (which === 'judge') {
  // Loaded only here: the parse baselines do not pay for the policy core's modules.
  const dist = new URL('../dist/', import.meta.url);
  const { judgeObject } = await import(new URL('policies/judge.js', dist).href);
  const { mayBeJudged } = await import(new URL('policies/review.js', dist).href);
  const { isClusterViewObject } = await import(new URL('policies/index/object-index.js', dist).href);
  const { DEFAULT_CONFIG } = await import(new URL('policies/config.js', dist).href);
  const { buildView, namespaceOf, placed } = await import(new URL('cli/run-checks.js', dist).href);
  const view = buildView([], objects.filter((o) => isClusterViewObject(o, DEFAULT_CONFIG.profiles)).map((object) => ({ object })));
  let findings = 0;
  for (const o of objects) {
    if (typeof o.kind !== 'string' || !mayBeJudged(o, DEFAULT_CONFIG)) continue;
    const ns = namespaceOf(o, 'default');
    findings += judgeObject(placed(o, ns), ns, view, DEFAULT_CONFIG, 'predict').findings.length;
  }
  process.stdout.write(`${docs} documents, ${findings} findings\n`);
} else process.stdout.write(`${docs}\n`);
