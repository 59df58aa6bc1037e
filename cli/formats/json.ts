import { formatPath } from '../../policies/findings.js';
import { summarize, type CheckResult, type LocatedFinding } from '../run-checks.js';

/** The fields of a finding in `--format json`, in order. */
const FIELDS = ['rule', 'severity', 'action', 'message', 'file', 'line', 'kind', 'namespace', 'name', 'path'] as const;

/** What JSON.stringify(value, null, 2) writes for `value` at `indent`, or undefined where it leaves the key out. */
const jsonAt = (value: unknown, indent: string): string | undefined =>
  typeof value === 'object' && value !== null ? JSON.stringify(value, null, 2).replaceAll('\n', `\n${indent}`) : JSON.stringify(value);

/**
 * One finding as JSON.stringify(output, null, 2) writes it inside the findings array,
 * written field by field: the whole output through JSON.stringify with indentation took
 * ~40 ms at 10k bench documents, building an object per finding first.
 */
const findingJson = (f: LocatedFinding): string => {
  let out = '';
  for (const key of FIELDS) {
    const v = jsonAt(key === 'path' ? formatPath(f.path) : f[key], '      ');
    if (v === undefined) continue;
    out += `${out === '' ? '' : ','}\n      "${key}": ${v}`;
  }
  return out === '' ? '{}' : `{${out}\n    }`;
};

/** The `--format json` contract of DESIGN.md (byte for byte what JSON.stringify(output, null, 2) gave: test/unit/cli/formats.test.ts). */
export const renderJson = (r: CheckResult): string => {
  const findings = r.findings.length === 0 ? '[]' : `[\n    ${r.findings.map(findingJson).join(',\n    ')}\n  ]`;
  return `{\n  "findings": ${findings},\n  "summary": ${jsonAt(summarize(r), '  ')}\n}\n`;
};
