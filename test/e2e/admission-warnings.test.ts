// Admission warnings for cross-object findings on a real kube-apiserver: `meshguard serve`
// with analysis.admissionWarnings (informers of this API server) registered with the
// shipped webhook configurations plus the entry of manifests/components/admission-warnings.
// A webhook configuration, its Service and meshed (ambient) pods are installed; then
// `kubectl apply` of a STRICT PeerAuthentication prints the MG301 warning and the object is
// stored (never refused); applying it again, or an unrelated PeerAuthentication, prints none.
// Needs the binaries from test/e2e/build.sh and `npm run build` (`make e2e` does both).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t from 'tap';

import { startCluster } from './lib/cluster.js';
import { operatorWebhook, strictPeerAuthentication } from './lib/operator-webhook.js';
import { eventually, Kubectl, makeServingCert, MeshguardProcess, ROOT, shippedWebhookConfigurations, warningsOf, yamlOf, type Doc } from './lib/webhook-env.js';

t.setTimeout(10 * 60_000);

const NS = 'hooks';
const FIXTURES = path.join(ROOT, 'test', 'e2e', 'fixtures');

const setup: Doc[] = [...operatorWebhook(NS), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'elsewhere' } }];

const cluster = await startCluster({ log: (m) => t.comment(m) });
t.teardown(() => cluster.stop());
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meshguard-e2e-warnings-'));
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
const k = new Kubectl(cluster.kubeconfigPath, path.join(cluster.dir, 'kubectl-cache'));
await k.must(['apply', '-f', path.join(FIXTURES, 'crd-peerauthentication.yaml')]);
await k.must(['wait', '--for=condition=Established', '--timeout=60s', 'crd/peerauthentications.security.istio.io']);
await k.must(['apply', '-f', '-'], yamlOf(setup));

const config = path.join(work, 'config.yaml');
fs.writeFileSync(config, 'analysis:\n  admissionWarnings: true\n');
const cert = await makeServingCert(path.join(work, 'certs'));
const meshguard = await MeshguardProcess.start({ kubeconfig: cluster.kubeconfigPath, cert, args: ['--config', config] });
t.teardown(() => meshguard.stop());
t.teardown(() => {
  if (!t.passing()) t.comment(`--- meshguard serve ---\n${meshguard.tail(40)}`);
});
await k.must(['apply', '-f', '-'], yamlOf(shippedWebhookConfigurations(meshguard.port, cert.caPem, undefined, { components: ['admission-warnings'] })));

t.test('kubectl apply of a STRICT PeerAuthentication over the webhook Service prints the MG301 warning', async (t) => {
  const pa = yamlOf([strictPeerAuthentication('hooks-strict', NS)]);
  // Readiness does not wait for the analysed kinds: a server-side dry run (stores nothing)
  // tells when the webhook has them.
  await eventually('the webhook to warn on a dry run', async () => warningsOf((await k.run(['apply', '--dry-run=server', '-f', '-'], pa)).stderr).length > 0);
  const r = await k.run(['apply', '-f', '-'], pa);
  t.equal(r.code, 0, `stored, not refused\n${r.stderr}`);
  t.match(r.stdout, /peerauthentication\.security\.istio\.io\/hooks-strict created/);
  const warnings = warningsOf(r.stderr);
  t.equal(warnings.length, 1, r.stderr);
  t.match(warnings[0], /^MG301: webhook widgets\.example\.com: Service hooks\/operator-webhook port 9443 refuses the API server/);
  t.ok(await k.get('peerauthentications.security.istio.io', 'hooks-strict', NS), 'the PeerAuthentication exists');
});

t.test('the finding is not repeated, and an unrelated PeerAuthentication gets none', async (t) => {
  await eventually('the webhook to see the stored PeerAuthentication', async () =>
    warningsOf((await k.run(['apply', '--dry-run=server', '-f', '-'], yamlOf([strictPeerAuthentication('hooks-strict-2', NS)]))).stderr).length === 0);
  const relabel = await k.run(['label', '-n', NS, 'peerauthentication/hooks-strict', 'team=db']);
  t.equal(relabel.code, 0, relabel.stderr);
  t.same(warningsOf(relabel.stderr), [], 'a label change of the STRICT policy');
  const other = await k.run(['apply', '-f', '-'], yamlOf([strictPeerAuthentication('elsewhere-strict', 'elsewhere')]));
  t.equal(other.code, 0, other.stderr);
  t.same(warningsOf(other.stderr), [], 'a STRICT policy where no webhook is served');
});
