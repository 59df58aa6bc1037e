import t from 'tap';
import { join } from 'node:path';
import { ConfigFileError, loadConfigFile, mergeConfig, parseConfigText } from '../../../cli/config-file.js';
import { DEFAULT_CONFIG } from '../../../policies/config.js';

t.test('an empty file is the default configuration', async (t) => {
  t.same(parseConfigText('', 'c.yaml'), DEFAULT_CONFIG);
});

t.test('built-in profiles can be turned off and overridden; new ones added', async (t) => {
  const c = parseConfigText(
    `profiles:
  observability-platform: { enabled: false }
  antfly:
    consensusPorts: [{ path: spec.raft.port, default: 9000 }]
  my-db:
    cluster: { apiVersion: example.com/v1, kind: MyDB, plural: mydbs }
    clusterNameLabel: example.com/cluster
    consensusPorts: [{ path: [spec, raft, port], default: 7000 }]
mesh:
  consulDefaultInject: true
`,
    'c.yaml',
  );
  t.same(c.profiles.map((p) => p.name), ['antfly', 'my-db']);
  t.same(c.profiles[0]!.consensusPorts, [{ path: ['spec', 'raft', 'port'], default: 9000 }]);
  t.equal(c.profiles[0]!.clusterNameLabel, 'app.kubernetes.io/instance', 'unchanged fields kept');
  t.same(c.profiles[1]!.podLabels, {});
  t.equal(c.profiles[1]!.dialect, 'annotations');
  t.equal(c.mesh.consulDefaultInject, true);
});

t.test('errors say file, line, field and what is expected', async (t) => {
  t.throws(() => parseConfigText('profiles:\n  antfly:\n    enabeld: true\n', 'c.yaml'), { message: /c\.yaml:\d+: profiles\.antfly unknown field "enabeld"/ });
  t.throws(() => parseConfigText('profiles:\n  x:\n    cluster: {apiVersion: v1, kind: X, plural: xs}\n', 'c.yaml'), { message: /apiVersion must be group\/version/ });
  t.throws(() => parseConfigText('profiles:\n  x:\n    dialect: foo\n', 'c.yaml'), { message: /must be one of "annotations", "observability-platform"/ });
  t.throws(() => parseConfigText('profiles:\n  my-db:\n    podLabels: {a: b}\n', 'c.yaml'), { message: /needs both "cluster" and "clusterNameLabel"/ });
  t.throws(() => parseConfigText('profiles: [\n', 'c.yaml'), { message: /^c\.yaml:\d+:\d+: / });
  t.throws(() => parseConfigText('mesh: 3\n', 'c.yaml'), ConfigFileError);
});

t.test('two profiles may not claim the same kind', async (t) => {
  t.throws(
    () => mergeConfig({ profiles: { copy: { cluster: DEFAULT_CONFIG.profiles[0]!.cluster, clusterNameLabel: 'x' } } }),
    { message: /both claim AntflyCluster/ },
  );
});

t.test('loadConfigFile reads the file and reports a missing one', async (t) => {
  const dir = t.testdir({ 'c.yaml': 'mesh: { consulDefaultInject: true }\n' });
  t.equal((await loadConfigFile(join(dir, 'c.yaml'))).mesh.consulDefaultInject, true);
  await t.rejects(loadConfigFile(join(dir, 'missing.yaml')), { message: /cannot read config file/ });
});

t.test('enforcement: default and per-rule actions; unknown rules and actions are errors with the line', async (t) => {
  t.same(parseConfigText('', 'c.yaml').enforcement, { default: 'deny', rules: {} });
  t.same(parseConfigText('enforcement:\n  default: audit\n  rules: {MG201: warn, MG206: deny}\n', 'c.yaml').enforcement, {
    default: 'audit',
    rules: { MG201: 'warn', MG206: 'deny' },
  });
  t.same(parseConfigText('enforcement: {rules: {MG205: audit}}\n', 'c.yaml').enforcement, { default: 'deny', rules: { MG205: 'audit' } });
  t.throws(() => parseConfigText('enforcement:\n  rules: {MG201: block}\n', 'c.yaml'), { message: /^c\.yaml:2: enforcement\.rules\.MG201 must be one of "deny", "warn", "audit"/ });
  t.throws(() => parseConfigText('enforcement:\n  rules: {MG999: warn, mg201: warn}\n', 'c.yaml'), { message: /enforcement\.rules names "MG999", "mg201", which are not meshguard rule ids/ });
  t.throws(() => parseConfigText('enforcement:\n  override: warn\n', 'c.yaml'), { message: /enforcement unknown field "override"/ }, 'the override is the CLI flag only');
});

t.test('the analysis block: root namespace and prometheusMeshed; unknown keys are errors', async (t) => {
  const c = parseConfigText('analysis:\n  istioRootNamespace: mesh-root\n  prometheusMeshed: true\n', 'c.yaml');
  t.same(c.analysis, { istioRootNamespace: 'mesh-root', prometheusMeshed: true });
  t.throws(() => parseConfigText('analysis:\n  admissionWarning: true\n', 'c.yaml'), /c\.yaml:2: analysis unknown field "admissionWarning"/);
  t.throws(() => parseConfigText('analysis:\n  istioRootNamespace: Mesh_Root\n', 'c.yaml'), /analysis\.istioRootNamespace/);
});
