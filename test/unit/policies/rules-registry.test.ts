// The rule registry is the one list of rules: docs/rules.md is generated from it (and must
// be current), every rule has documentation with a failing example and a fix, and every
// cross-object rule's examples really fail and pass.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { REGISTRY, INDEX_RULES } from '../../../policies/rules/registry.js';
import { RULES } from '../../../policies/findings.js';
import { DEFAULT_CONFIG } from '../../../policies/config.js';
import { generate, OUTPUT, readRuleDoc } from '../../../scripts/rules-doc.js';
import { parseManifests } from '../../../cli/inputs.js';
import { crossObjectFindings } from '../../../cli/run-checks.js';

t.test('docs/rules.md is up to date (run `make rules-doc` if not)', async (t) => {
  t.equal(readFileSync(OUTPUT, 'utf8'), generate());
});

t.test('ids are unique and in catalog order; RULES is the registry', async (t) => {
  const ids = REGISTRY.map((r) => r.id);
  t.same(ids, [...ids].sort(), 'catalog order');
  t.equal(new Set(ids).size, ids.length, 'unique');
  t.same(Object.keys(RULES), ids);
  for (const r of REGISTRY) {
    t.same(RULES[r.id], { severity: r.severity, title: r.title }, r.id);
    t.ok(r.title.length > 0 && r.appliesTo.length > 0 && r.reads.length > 0, `${r.id} states title, subjects and kinds read`);
    if (r.severities) t.ok(r.severities.includes(r.severity), `${r.id}: its severity is one of its severities`);
  }
});

t.test('every rule has documentation: an explanation, a failing example and a fix', async (t) => {
  for (const r of REGISTRY) {
    const doc = readRuleDoc(r.id);
    t.match(doc.body, /^\*\*[^*]+\*\*/, `${r.id} opens with its bold summary`);
    t.ok(doc.failing.length > 0, `${r.id} has a failing example`);
    t.match(doc.body, /\*\*Fix:\*\*/, `${r.id} says how to fix it`);
    if (r.scope === 'index') t.ok(doc.passing.length > 0, `${r.id} has a passing example`);
  }
});

const findingsOf = (yaml: string) =>
  crossObjectFindings(
    parseManifests(yaml, 'example.yaml').map((d) => ({ object: d.object, file: d.file, line: d.lineOf([]), input: true })),
    DEFAULT_CONFIG,
  );

t.test('each cross-object rule fires on its failing example and not once the passing example is added', async (t) => {
  for (const r of INDEX_RULES) {
    const doc = readRuleDoc(r.id);
    for (const failing of doc.failing) {
      const before = findingsOf(failing).filter((f) => f.rule === r.id);
      t.ok(before.length > 0, `${r.id} fires on its failing example`);
      t.match(before[0]?.message ?? '', /Fix:/, `${r.id}'s message carries the fix`);
      for (const passing of doc.passing) {
        const after = findingsOf(`${failing}\n---\n${passing}`).filter((f) => f.rule === r.id);
        t.same(after, [], `${r.id} is silent once the fix is applied`);
      }
    }
  }
});
