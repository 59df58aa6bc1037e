// `meshguard analyze` against a real kube-apiserver: a webhook configuration, its Service,
// meshed (ambient) pods behind it and a STRICT PeerAuthentication are installed; analyze
// lists them (read-only) and reports MG301, exit 1. The kinds whose CRDs are absent
// (ServiceMonitor, PodMonitor, the cluster CRs) are skipped with one note each; with the
// port-level exception applied the finding is gone, exit 0.
// Needs the binaries from test/e2e/build.sh and `npm run build` (`make e2e` does both).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { startCluster } from './lib/cluster.js';
import { operatorWebhook, strictPeerAuthentication, webhookPortException } from './lib/operator-webhook.js';
import { Kubectl, yamlOf, type Doc } from './lib/webhook-env.js';

t.setTimeout(10 * 60_000);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const NS = 'hooks';

const analyze = (args: string[]): Promise<{ code: number | null; out: string; err: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'analyze', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err }));
  });

const setup: Doc[] = [...operatorWebhook(NS), strictPeerAuthentication('hooks-strict', NS)];

const exception: Doc = webhookPortException(NS);

const cluster = await startCluster({ log: (m) => t.comment(m) });
t.teardown(() => cluster.stop());
const k = new Kubectl(cluster.kubeconfigPath, path.join(cluster.dir, 'kubectl-cache'));
await k.must(['apply', '-f', path.join(HERE, 'fixtures', 'crd-peerauthentication.yaml')]);
await k.must(['wait', '--for=condition=Established', '--timeout=60s', 'crd/peerauthentications.security.istio.io']);
await k.must(['apply', '-f', '-'], yamlOf(setup));

t.test('analyze -A reports MG301 for the webhook behind STRICT ambient pods, exit 1', async (t) => {
  const r = await analyze(['--kubeconfig', cluster.kubeconfigPath, '-A', '--format', 'json']);
  t.equal(r.code, 1, r.err);
  const findings = JSON.parse(r.out).findings as { rule: string; kind: string; name: string; message: string; file: string }[];
  const mg301 = findings.filter((f) => f.rule === 'MG301');
  t.equal(mg301.length, 1, r.out);
  t.match(mg301[0], { kind: 'ValidatingWebhookConfiguration', name: 'operator-validating', file: 'cluster-scoped' });
  t.match(mg301[0]?.message, /Service hooks\/operator-webhook port 443, served on container port 9443 by Pod hooks\/operator-0/);
  t.match(mg301[0]?.message, /PeerAuthentication hooks\/hooks-strict makes port 9443 STRICT/);
  for (const absent of ['servicemonitors.monitoring.coreos.com', 'podmonitors.monitoring.coreos.com', 'antflyclusters.antfly.io', 'observabilityplatforms.observability.io'])
    t.equal(r.err.split(absent).length - 1, 1, `one note for ${absent}`);
  t.notMatch(r.err, /peerauthentications/, 'an installed CRD gets no note');
});

t.test('analyze --enforcement overrides every action, as check does', async (t) => {
  const warn = await analyze(['--kubeconfig', cluster.kubeconfigPath, '-A', '--format', 'json', '--enforcement', 'warn']);
  t.equal(warn.code, 0, `nothing the cluster would deny under warn: ${warn.err}`);
  const mg301 = (JSON.parse(warn.out).findings as { rule: string; action: string }[]).filter((f) => f.rule === 'MG301');
  t.same(mg301.map((f) => f.action), ['warn'], 'MG301 is reported with the overriding action');
  const bad = await analyze(['--kubeconfig', cluster.kubeconfigPath, '-A', '--enforcement', 'block']);
  t.equal(bad.code, 2, 'any other value is a usage error');
  t.match(bad.err, /--enforcement/);
  t.match(bad.err, /MG_ERR_USAGE_FLAG/);
});

t.test('analyze -n of another namespace does not see the Service: no MG301', async (t) => {
  const r = await analyze(['--kubeconfig', cluster.kubeconfigPath, '-n', 'default', '--format', 'json']);
  t.equal(r.code, 0, r.err);
  t.same(JSON.parse(r.out).findings.filter((f: { rule: string }) => f.rule === 'MG301'), []);
});

t.test('with the port-level exception applied, analyze is clean, exit 0', async (t) => {
  await k.must(['apply', '-f', '-'], yamlOf([exception]));
  const r = await analyze(['--kubeconfig', cluster.kubeconfigPath, '-A']);
  t.equal(r.code, 0, `${r.out}\n${r.err}`);
  t.match(r.out, /✔ 0 errors/);
});

t.test('analyze without a reachable cluster or with bad flags exits 2', async (t) => {
  const missing = await analyze(['--kubeconfig', path.join(cluster.dir, 'no-such-kubeconfig')]);
  t.equal(missing.code, 2, missing.err);
  const both = await analyze(['--kubeconfig', cluster.kubeconfigPath, '-n', 'x', '-A']);
  t.equal(both.code, 2);
});
