import { formatPath } from '../../policies/findings.js';
import { summarize, type CheckResult } from '../run-checks.js';

/** The `--format json` contract of DESIGN.md. */
export const renderJson = (r: CheckResult): string =>
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
