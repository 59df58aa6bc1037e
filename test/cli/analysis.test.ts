// The cross-object rules through the built CLI: `meshguard rules`, and `check` over the
// production write-up's own manifests (databases, kafka, keycloak namespaces): without
// their exceptions the MG3xx findings appear, with them none. Needs `npm run build`.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');
const pi = (name: string): string => join('test', 'cli', 'fixtures', 'pi-cluster', name);

const run = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, input, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

type JsonFinding = { rule: string; severity: string; kind: string; namespace: string; name: string; file: string; line: number; message: string; path: string };
const findings = (out: string): JsonFinding[] => JSON.parse(out).findings;

t.before(() => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build (make unit does)`);
});

t.test('analyze takes --enforcement as check does: another value is a usage error before any cluster is read', async (t) => {
  const r = run(['analyze', '--kubeconfig', join(root, 'no-such-kubeconfig'), '--enforcement', 'block']);
  t.equal(r.code, 2, r.err);
  t.match(r.err, /--enforcement/);
  t.match(r.err, /MG_ERR_USAGE_FLAG/);
  t.match(run(['analyze', '--help']).out, /--enforcement <action>/);
});

t.test('rules lists the registry as text and JSON', async (t) => {
  const text = run(['rules']);
  t.equal(text.code, 0, text.err);
  t.match(text.out, /^MG101 +error +serviceMesh is not of the schema$/m);
  t.match(text.out, /^MG303 +error\/warning +a NetworkPolicy on ambient pods/m);
  const json = run(['rules', '--format', 'json']);
  t.equal(json.code, 0);
  const rules = JSON.parse(json.out).rules as { id: string; severity: string; title: string }[];
  t.equal(rules.length, 20);
  t.same(rules.find((r) => r.id === 'MG301')?.severity, 'error');
  t.equal(run(['rules', '--format', 'yaml']).code, 2, 'an unknown format is a usage error');
});

t.test('the write-up without its exceptions: MG301 for both webhooks, MG302 for three monitors, MG303 for Keycloak', async (t) => {
  const r = run(['check', '-f', 'json', pi('base')]);
  t.equal(r.code, 1, r.err);
  const got = findings(r.out).map((f) => `${f.rule} ${f.severity} ${f.kind} ${f.namespace}/${f.name} ${f.path}`);
  t.same(got.sort(), [
    'MG301 error ValidatingWebhookConfiguration /cnpg-validating-webhook-configuration webhooks[0].clientConfig.service',
    'MG301 error ValidatingWebhookConfiguration /strimzi-validating-webhook webhooks[0].clientConfig.service',
    'MG302 warning PodMonitor kafka/cluster-operator-metrics spec.podMetricsEndpoints[0]',
    'MG302 warning PodMonitor kafka/entity-operator-metrics spec.podMetricsEndpoints[0]',
    'MG302 warning PodMonitor kafka/kafka-resources-metrics spec.podMetricsEndpoints[0]',
    'MG303 error NetworkPolicy keycloak/keycloak-network-policy spec.ingress',
  ]);
  const cnpg = findings(r.out).find((f) => f.name === 'cnpg-validating-webhook-configuration')!;
  t.equal(cnpg.file, pi('base/databases.yaml'));
  t.equal(cnpg.line, 39, 'located at the start of the webhook configuration');
  for (const part of ['vcluster.cnpg.io', 'databases/cnpg-webhook-service', 'port 443', 'container port 9443', 'Deployment databases/cnpg-controller-manager', 'PeerAuthentication databases/databases-strict', '"9443": {mode: PERMISSIVE}'])
    t.match(cnpg.message, part, `the MG301 message names ${part}`);
});

t.test('the write-up with its exceptions: no finding, exit 0', async (t) => {
  const r = run(['check', '-f', 'json', pi('base'), pi('exceptions')]);
  t.equal(r.code, 0, r.err);
  t.same(findings(r.out), []);
});

t.test('--state: a finding is reported when it involves an input, not for what the cluster alone holds', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-analysis-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The cluster already holds the CNPG webhook setup and its STRICT policy: nothing of it is this change.
  const stateOnly = run(['check', '-f', 'json', '--state', pi('base/databases.yaml'), pi('exceptions/kafka.yaml')]);
  t.equal(stateOnly.code, 0, stateOnly.err);
  t.same(findings(stateOnly.out), []);
  // The change adds the STRICT policy to a cluster that holds the webhook: the finding is this change's.
  const strict = join(dir, 'strict.yaml');
  writeFileSync(strict, 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: databases-strict, namespace: databases}\nspec: {mtls: {mode: STRICT}}\n');
  const state = join(dir, 'state.yaml');
  const { readFileSync } = await import('node:fs');
  writeFileSync(state, readFileSync(join(root, pi('base/databases.yaml')), 'utf8').replace(/---\napiVersion: security.istio.io\/v1[\s\S]*$/, ''));
  const change = run(['check', '-f', 'json', '--state', state, strict]);
  t.equal(change.code, 1, change.err);
  t.same(findings(change.out).map((f) => [f.rule, f.name, f.file]), [['MG301', 'cnpg-validating-webhook-configuration', state]]);
  // And stdin reads the same way.
  const stdin = run(['check', '-f', 'json', '--state', state, '-'], readFileSync(strict, 'utf8'));
  t.same(findings(stdin.out).map((f) => f.rule), ['MG301']);
});

t.test('--no-cross-object leaves the MG3xx rules out (the benchmark baseline)', async (t) => {
  const r = run(['check', '-f', 'json', '--no-cross-object', pi('base')]);
  t.equal(r.code, 0, r.err);
  t.same(findings(r.out), []);
});
