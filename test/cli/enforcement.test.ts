// Enforcement modes through the built `meshguard` binary: the action of every finding in
// every format, exit 1 only for what would be denied, --enforcement, namespace labels and
// the configuration. Needs `npm run build` first (make does it).
import t from 'tap';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fx, requireBuild, root, run } from './fixtures/run.js';

t.before(requireBuild);

t.test('--enforcement overrides every action; exit 1 only when something would be denied', async (t) => {
  const actions = (r: { out: string }) => JSON.parse(r.out).findings.map((f: any) => `${f.rule}:${f.severity}:${f.action}`).sort();
  const warn = run(['check', '-f', 'json', '--enforcement', 'warn', fx('bad-cluster.yaml')]);
  t.equal(warn.code, 0, 'nothing denied in warn');
  t.same(actions(warn), ['MG103:error:warn', 'MG103:error:warn', 'MG105:warning:warn', 'MG205:error:warn', 'MG206:info:audit', 'MG206:info:audit']);
  const audit = run(['check', '-f', 'json', '--enforcement', 'audit', fx('bad-cluster.yaml')]);
  t.equal(audit.code, 0);
  t.ok(JSON.parse(audit.out).findings.every((f: any) => f.action === 'audit'), 'every finding still reported, as audit');
  t.equal(JSON.parse(audit.out).findings.length, 6);
  t.equal(run(['check', '--enforcement', 'deny', fx('bad-cluster.yaml')]).code, 1);
  const junit = run(['check', '-f', 'junit', '--enforcement', 'warn', fx('bad-cluster.yaml')]);
  t.match(junit.out, /<testsuites name="meshguard" tests="2" failures="0">/, 'junit fails exactly the denied findings');
  const sarif = JSON.parse(run(['check', '-f', 'sarif', '--enforcement', 'audit', fx('bad-cluster.yaml')]).out);
  const hostNet = sarif.runs[0].results.find((x: any) => x.ruleId === 'MG205');
  t.same([hostNet.level, hostNet.properties], ['note', { severity: 'error', action: 'audit' }], 'sarif level follows the action');
  const text = run(['check', '--enforcement', 'audit', fx('bad-cluster.yaml')]);
  t.match(text.out, /^\s+33\s+error\s+audit\s+MG205/m);
  t.match(text.out, /^✔ 3 errors, 1 warning, 2 info in 3 documents \(1 file\); 0 denied, 0 warned, 6 audited$/m);
  for (const bad of ['Deny', '']) {
    const r = run(['check', '--enforcement', bad, fx('bad-cluster.yaml')]);
    t.equal(r.code, 2, `--enforcement ${JSON.stringify(bad)} is a usage error`);
    t.match(r.err, /^meshguard: --enforcement "[^"]*": use deny, warn, audit \[MG_ERR_USAGE_FLAG\]$/m);
    t.equal(r.out, '', 'nothing checked');
  }
  t.equal(run(['review', '--webhook', 'validate', '--enforcement', 'block', fx('review-pod.json')]).code, 2);
});

t.test('namespace label and configuration decide actions as in the cluster', async (t) => {
  const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-enforcement-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The fixture's own Namespace, labelled: inputs are the cluster view too.
  const inWarn = join(dir, 'bad-cluster-warn.yaml');
  const original = readFileSync(join(root, fx('bad-cluster.yaml')), 'utf8');
  writeFileSync(inWarn, original.replace('    istio-injection: enabled\n', '    istio-injection: enabled\n    meshguard.io/enforcement: warn\n'));
  const labelled = run(['check', '-f', 'json', inWarn]);
  t.equal(labelled.code, 0, 'namespace in warn: nothing denied');
  const errors = JSON.parse(labelled.out).findings.filter((f: any) => f.severity === 'error');
  t.equal(errors.length, 3);
  t.ok(errors.every((f: any) => f.action === 'warn'));
  t.equal(run(['check', '--enforcement', 'deny', inWarn]).code, 1, '--enforcement beats the label');
  writeFileSync(inWarn, original.replace('    istio-injection: enabled\n', '    istio-injection: enabled\n    meshguard.io/enforcement: Audit\n'));
  t.equal(run(['check', inWarn]).code, 1, 'a label value that is no action is ignored');
  const nsWarn = inWarn;
  writeFileSync(nsWarn, original.replace('    istio-injection: enabled\n', '    istio-injection: enabled\n    meshguard.io/enforcement: warn\n'));

  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'enforcement:\n  default: audit\n  rules: {MG205: deny}\n');
  const configured = run(['check', '-f', 'json', '--config', config, fx('bad-cluster.yaml')]);
  t.equal(configured.code, 1, 'MG205 still denies');
  const byRule = Object.fromEntries(JSON.parse(configured.out).findings.map((f: any) => [f.rule, f.action]));
  t.same(byRule, { MG103: 'audit', MG105: 'audit', MG205: 'deny', MG206: 'audit' });
  t.equal(run(['check', '--config', config, nsWarn]).code, 0, 'the namespace label beats the per-rule entry');

  writeFileSync(config, 'enforcement:\n  rules: {MG999: warn}\n');
  const unknown = run(['check', '--config', config, fx('bad-cluster.yaml')]);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /enforcement\.rules names "MG999", which are not meshguard rule ids/);
  writeFileSync(config, 'enforcement:\n  default: block\n');
  const badDefault = run(['check', '--config', config, fx('bad-cluster.yaml')]);
  t.equal(badDefault.code, 2);
  t.match(badDefault.err, /:2: enforcement\.default must be one of "deny", "warn", "audit"/);
});

