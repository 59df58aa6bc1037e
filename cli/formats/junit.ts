// JUnit XML: one suite per file, one case per judged object, a failure per finding the
// cluster would deny (warned and audited findings go to system-out), so CI dashboards show
// meshguard like tests and fail exactly where `check` exits 1.
import { formatPath } from '../../policies/findings.js';
import type { CheckResult, LocatedFinding } from '../run-checks.js';

const esc = (s: string): string =>
  s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!);

export const renderJunit = (r: CheckResult): string => {
  const byFile = new Map<string, Map<string, LocatedFinding[]>>();
  for (const f of r.findings) {
    const cases = byFile.get(f.file) ?? new Map<string, LocatedFinding[]>();
    const name = `${f.kind} ${f.namespace}/${f.name}`;
    cases.set(name, [...(cases.get(name) ?? []), f]);
    byFile.set(f.file, cases);
  }
  const denied = (x: LocatedFinding) => x.action === 'deny';
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="meshguard" tests="${r.judged}" failures="${r.findings.filter(denied).length}">`];
  for (const [file, cases] of byFile) {
    const failures = [...cases.values()].flat().filter(denied).length;
    out.push(`  <testsuite name="${esc(file)}" tests="${cases.size}" failures="${failures}">`);
    for (const [name, fs] of cases) {
      out.push(`    <testcase classname="${esc(file)}" name="${esc(name)}">`);
      for (const f of fs.filter(denied))
        out.push(`      <failure type="${f.rule}" message="${esc(f.message)}">${esc(`${f.file}:${f.line} ${formatPath(f.path)}`)}</failure>`);
      const other = fs.filter((x) => !denied(x));
      if (other.length > 0)
        out.push(`      <system-out>${esc(other.map((f) => `${f.severity} (${f.action}) ${f.rule} ${f.file}:${f.line}: ${f.message}`).join('\n'))}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
};
