// `--format json` is written field by field (cli/formats/json.ts); its bytes must stay
// exactly what JSON.stringify(output, null, 2) writes, whatever the findings hold (a name
// or namespace YAML gave as a number, a mapping, null; messages with quotes, newlines and
// any character). The property's seed is printed; replay a failure with FC_SEED=<seed>.
import fc from 'fast-check';
import t from 'tap';
import { renderJson } from '../../../cli/formats/json.js';
import { summarize, type CheckResult, type LocatedFinding } from '../../../cli/run-checks.js';
import { formatPath } from '../../../policies/findings.js';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** What renderJson wrote before: the whole output through JSON.stringify. */
const reference = (r: CheckResult): string =>
  JSON.stringify(
    {
      findings: r.findings.map((f) => ({
        rule: f.rule,
        severity: f.severity,
        action: f.action,
        message: f.message,
        file: f.file,
        line: f.line,
        kind: f.kind,
        namespace: f.namespace,
        name: f.name,
        path: formatPath(f.path),
      })),
      summary: summarize(r),
    },
    null,
    2,
  ) + '\n';

const anyValue = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.integer(), fc.double(), fc.constant(undefined), fc.constant(null), fc.jsonValue(), fc.anything());
const finding = fc.record({
  rule: fc.constantFrom('MG101', 'MG306'),
  severity: fc.constantFrom('error', 'warning', 'info'),
  action: fc.constantFrom('deny', 'warn', 'audit'),
  message: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('a "quoted"\n\tline \u2028 \ud800')),
  file: fc.string(),
  line: fc.oneof(fc.nat(), fc.constant(Number.NaN)),
  kind: anyValue,
  namespace: anyValue,
  name: anyValue,
  path: fc.array(fc.oneof(fc.string(), fc.nat()), { maxLength: 4 }),
});

t.test('renderJson writes exactly what JSON.stringify(output, null, 2) writes', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  fc.assert(
    fc.property(fc.array(finding, { maxLength: 6 }), fc.nat(20), (findings, documents) => {
      const r = { findings: findings as unknown as LocatedFinding[], documents, files: 1, judged: documents };
      const a = renderJson(r);
      const b = reference(r);
      if (a !== b) throw new Error(`${JSON.stringify(a)}\n!==\n${JSON.stringify(b)}`);
    }),
    { numRuns: 500, seed: SEED },
  );
});
