// charts/meshguard installed by a real helm (test/helm/build.sh) into the real kube-apiserver:
// - `helm install`: every template applied, the webhooks registered, and answering: the API
//   server calls the chart's Service and gets meshguard's decisions (a patched StatefulSet,
//   a refused pod). With no kubelet the chart's pods never run, so the Service is served by
//   `meshguard serve` on this machine: the cluster's Service range is a loopback range
//   (--service-cluster-ip-range=127.x.0.0/24), so the Service's ClusterIP — the address the
//   API server dials for a service reference — is a local address meshguard listens on.
// - `helm upgrade` changing values: the live objects change, the webhooks still answer.
// - `helm uninstall`: nothing of the release is left, and the webhook configurations are
//   deleted before any other object (the pre-delete hooks). Shown by the resourceVersions
//   of the deletions, which etcd orders; `--no-hooks` (hooks skipped) reverses the order,
//   so the check can tell.
// Needs test/e2e/build.sh, test/helm/build.sh, `npm run build` and kubectl.
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as k8s from '@kubernetes/client-node';
import t, { type Test } from 'tap';

import { createCA, issueCertificate } from '../../certs/dev-ca.js';
import { CHART, helm, valuesFile } from '../chart/fixtures/helm.js';
import { parseDocs } from '../manifests/fixtures/manifests.js';
import { startCluster } from './lib/cluster.js';
import { eventually, Kubectl, MeshguardProcess, ROOT, warningsOf, yamlOf, type Doc } from './lib/webhook-env.js';

t.setTimeout(14 * 60_000);

const NS = 'meshguard-system';
const TARGETS = 'e2e-helm-targets';
const RELEASE = 'meshguard';
const FIXTURES = path.join(ROOT, 'test', 'e2e', 'fixtures');

// A loopback /24 of its own per run, so concurrent runs on one machine do not meet.
const octet = 100 + Math.floor(Math.random() * 150);
const cluster = await startCluster({ log: (m) => t.comment(m), apiServerArgs: [`--service-cluster-ip-range=127.${octet}.0.0/24`] });
t.teardown(() => cluster.stop());
const kubectl = new Kubectl(cluster.kubeconfigPath, path.join(cluster.dir, 'kubectl-cache'));
const work = path.join(cluster.dir, 'helm-e2e');
fs.mkdirSync(work);

const kubeHelm = async (args: string[]) => {
  const r = await helm([...args, '--kubeconfig', cluster.kubeconfigPath]);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
  return r.stdout;
};

// The CA the chart is given (certificate.source=secret): its caBundle goes into the webhooks.
const ca = await createCA('meshguard helm e2e CA', 2);
const caBundle = Buffer.from(ca.cert).toString('base64');

// Cluster CRDs, the namespaces, and the Secret the chart mounts (made beforehand, as an
// admin does with `meshguard certs` + kubectl when cert-manager is not used).
await kubectl.must(['apply', '-f', path.join(FIXTURES, 'crd-antflycluster.yaml'), '-f', path.join(FIXTURES, 'crd-observabilityplatform.yaml')]);
await kubectl.must(['wait', '--for=condition=Established', '--timeout=60s', 'crd/antflyclusters.antfly.io', 'crd/observabilityplatforms.observability.io']);
await kubectl.must(
  ['apply', '-f', '-'],
  yamlOf([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TARGETS, labels: { 'istio-injection': 'enabled' } } },
  ]),
);

const values: Doc = { certificate: { source: 'secret', secret: { name: 'meshguard-tls', caBundle } } };

/** Objects of the release as helm recorded them (its manifest), without hooks. */
const releaseObjects = async (): Promise<Doc[]> => parseDocs(await kubeHelm(['get', 'manifest', RELEASE, '-n', NS]));
const resourceOf = (d: Doc) => `${d.kind.toLowerCase()}${d.apiVersion.includes('/') ? `.${d.apiVersion.split('/')[0]}` : ''}`;
const exists = async (d: Doc) => (await kubectl.get(resourceOf(d), d.metadata.name, d.metadata.namespace)) !== undefined;

// ---------------------------------------------------------------------------------------

let meshguard: MeshguardProcess | undefined;
t.teardown(() => meshguard?.stop());

/** meshguard serve on the Service's ClusterIP and port, with a certificate for the Service's names. */
async function serveBehindService(t: Test): Promise<void> {
  const svc = (await kubectl.get('service', RELEASE, NS))!;
  const ip = svc.spec.clusterIP as string;
  const port = svc.spec.ports[0].port as number;
  t.match(ip, new RegExp(`^127\\.${octet}\\.0\\.\\d+$`), `the Service's ClusterIP ${ip} is a local address`);
  const leaf = await issueCertificate(ca, {
    commonName: 'meshguard',
    dns: [`${RELEASE}.${NS}.svc`, `${RELEASE}.${NS}.svc.cluster.local`],
    ip: [ip],
    usage: 'server',
    days: 2,
  });
  const dir = path.join(work, 'tls');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tls.crt'), leaf.cert);
  fs.writeFileSync(path.join(dir, 'tls.key'), leaf.key, { mode: 0o600 });
  await meshguard?.stop();
  meshguard = await MeshguardProcess.start({
    kubeconfig: cluster.kubeconfigPath,
    cert: { caPem: ca.cert, certFile: path.join(dir, 'tls.crt'), keyFile: path.join(dir, 'tls.key') },
    host: ip,
    port,
  });
}

const antfly = { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'demo' };
const statefulSet: Doc = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'demo-data', namespace: TARGETS },
  spec: {
    serviceName: 'demo-data',
    selector: { matchLabels: antfly },
    template: { metadata: { labels: antfly }, spec: { containers: [{ name: 'antfly', image: 'example.invalid/antfly:1' }] } },
  },
};
const podWithoutProxy: Doc = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'demo-data-0', namespace: TARGETS, labels: antfly },
  spec: { containers: [{ name: 'antfly', image: 'example.invalid/antfly:1' }] },
};

/** The webhooks answer through the chart's Service: the StatefulSet comes back patched, the pod is refused. */
async function webhooksAnswer(t: Test): Promise<void> {
  const sts = await eventually('the mutating webhook to patch the StatefulSet', async () => {
    const r = await kubectl.run(['create', '--dry-run=server', '-o', 'json', '-f', '-'], yamlOf([statefulSet]));
    if (r.code !== 0) throw new Error(r.stderr);
    const out = JSON.parse(r.stdout) as Doc;
    return out.spec.template.metadata.annotations?.['traffic.sidecar.istio.io/excludeInboundPorts'] ? out : undefined;
  }, 60_000);
  t.equal(sts.spec.template.metadata.annotations['traffic.sidecar.istio.io/excludeInboundPorts'], '9017,9021', 'StatefulSet patched: Raft ports excluded');
  t.equal(sts.spec.template.metadata.labels['sidecar.istio.io/inject'], 'true', 'StatefulSet patched: inject label added');
  const refused = await kubectl.run(['create', '--dry-run=server', '-o', 'name', '-f', '-'], yamlOf([podWithoutProxy]));
  t.not(refused.code, 0, 'a pod without the proxy is refused');
  t.match(refused.stderr, /admission webhook "pods\.validate\.meshguard\.io" denied the request: .*MG201/, 'by meshguard, with the rule');
  t.match(refused.stderr, /\d+\/\d+ of its pods are meshed/, 'and N/M pods meshed');
  t.same(warningsOf(refused.stderr).filter((w) => /x509|connection/.test(w)), [], 'no TLS or connection trouble');
}

// ---------------------------------------------------------------------------------------

t.test('helm install: every template applied, webhooks registered and answering', async (t) => {
  await kubectl.must(
    ['apply', '-f', '-'],
    yamlOf([
      {
        apiVersion: 'antfly.io/v1',
        kind: 'AntflyCluster',
        metadata: { name: 'demo', namespace: TARGETS },
        spec: { serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } } },
      },
    ]),
  );
  // The Secret the chart mounts: a serving certificate of the CA, as `meshguard certs` writes.
  const leaf = await issueCertificate(ca, { commonName: 'meshguard', dns: [`${RELEASE}.${NS}.svc`], usage: 'server', days: 2 });
  fs.writeFileSync(path.join(work, 'secret.crt'), leaf.cert);
  fs.writeFileSync(path.join(work, 'secret.key'), leaf.key, { mode: 0o600 });
  await kubectl.must(['create', '-n', NS, 'secret', 'tls', 'meshguard-tls', `--cert=${path.join(work, 'secret.crt')}`, `--key=${path.join(work, 'secret.key')}`]);

  const out = await kubeHelm(['install', RELEASE, CHART, '-n', NS, '--values', valuesFile(values)]);
  t.match(out, /STATUS: deployed/, 'helm reports the release deployed');
  const objects = await releaseObjects();
  t.ok(objects.length >= 10, `the release holds ${objects.length} objects`);
  for (const d of objects) t.ok(await exists(d), `${d.kind} ${d.metadata.name} exists`);
  for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
    const cfg = (await kubectl.get(kind, RELEASE))!;
    t.ok((cfg.webhooks as Doc[]).length > 0, `${kind}: registered with its webhooks`);
    for (const w of cfg.webhooks as Doc[]) t.equal(w.clientConfig.caBundle, caBundle, `${w.name}: caBundle from the values`);
  }
  await serveBehindService(t);
  await webhooksAnswer(t);
});

t.test('helm upgrade changing values: the live objects follow, the webhooks still answer', async (t) => {
  const out = await kubeHelm([
    'upgrade', RELEASE, CHART, '-n', NS, '--values', valuesFile(values),
    '--set', 'replicaCount=3', '--set', 'webhook.failurePolicy.mutating=Fail', '--set', 'webhook.timeoutSeconds=4',
  ]);
  t.match(out, /REVISION: 2/, 'revision 2');
  t.equal((await kubectl.get('deployment', RELEASE, NS))!.spec.replicas, 3, 'Deployment scaled to 3');
  const mutating = (await kubectl.get('mutatingwebhookconfiguration', RELEASE))!;
  for (const w of mutating.webhooks as Doc[]) {
    t.equal(w.failurePolicy, 'Fail', `${w.name}: failurePolicy Fail`);
    t.equal(w.timeoutSeconds, 4, `${w.name}: timeoutSeconds 4`);
  }
  const history = JSON.parse(await kubeHelm(['history', RELEASE, '-n', NS, '-o', 'json'])) as Doc[];
  t.same(history.map((h) => h.status), ['superseded', 'deployed']);
  await webhooksAnswer(t);
});

interface DeletionWatch {
  /** "<kind> <name>" -> resourceVersion (the etcd revision) of its last deletion. */
  deletions: Map<string, bigint>;
  ready: Promise<unknown>;
  stop: () => void;
}

/** Watches the kinds of the release and records every deletion of one of its objects. */
function watchDeletions(): DeletionWatch {
  const deletions = new Map<string, bigint>();
  const watch = new k8s.Watch(cluster.kubeConfig);
  const aborts: AbortController[] = [];
  const paths = [
    '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
    '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
    '/apis/rbac.authorization.k8s.io/v1/clusterroles',
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    `/api/v1/namespaces/${NS}/services`,
    `/api/v1/namespaces/${NS}/serviceaccounts`,
    `/apis/apps/v1/namespaces/${NS}/deployments`,
    `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`,
    `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`,
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`,
  ];
  const ready = paths.map(
    (p) =>
      new Promise<void>((resolve, reject) => {
        watch
          .watch(p, { allowWatchBookmarks: false }, (type: string, obj: Doc) => {
            const name = String(obj.metadata?.name);
            if (type === 'DELETED' && (name === RELEASE || name.startsWith(`${RELEASE}-`))) {
              deletions.set(`${obj.kind ?? p.split('/').pop()} ${name}`, BigInt(obj.metadata.resourceVersion));
            }
          }, () => undefined)
          .then((c) => {
            aborts.push(c);
            resolve();
          }, reject);
      }),
  );
  return { deletions, ready: Promise.all(ready), stop: () => aborts.forEach((a) => a.abort()) };
}

const isWebhookConfig = (k: string) => /WebhookConfiguration /.test(k) || /webhookconfigurations /.test(k);

t.test('helm uninstall: webhook configurations first, then nothing left behind', async (t) => {
  const objects = await releaseObjects();
  const w = watchDeletions();
  await w.ready;
  const out = await kubeHelm(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '120s']);
  t.match(out, /release "meshguard" uninstalled/);
  const seen = () => [...w.deletions.keys()];
  await eventually('the deletions to be observed', async () => seen().filter(isWebhookConfig).length >= 2 && seen().some((k) => /^Service /.test(k)) && seen().some((k) => /^Deployment /.test(k)), 30_000).catch(() => undefined);
  w.stop();

  const hooks = [...w.deletions].filter(([k]) => isWebhookConfig(k));
  const others = [...w.deletions].filter(([k]) => !isWebhookConfig(k));
  t.ok(hooks.length >= 2, `both webhook configurations deleted (${hooks.map(([k]) => k).join(', ')})`);
  t.ok(others.length >= 5, `the other objects deleted (${others.map(([k]) => k).join(', ')})`);
  // The hook objects (no webhooks) are created and deleted again after the real ones; what
  // matters is that the first deletions of each configuration precede every other deletion.
  const lastOtherFirst = others.reduce((m, [, rv]) => (rv < m ? rv : m), BigInt(Number.MAX_SAFE_INTEGER));
  for (const [k, rv] of hooks) t.ok(rv < lastOtherFirst, `${k} (rv ${rv}) deleted before any other object (first at rv ${lastOtherFirst})`);

  for (const d of objects) t.notOk(await exists(d), `${d.kind} ${d.metadata.name} is gone`);
  for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
    t.equal(await kubectl.get(kind, RELEASE), undefined, `no ${kind} left (not even a hook object)`);
  }
  const secrets = JSON.parse(await kubectl.must(['get', 'secrets', '-n', NS, '-l', 'owner=helm', '-o', 'json'])) as Doc;
  t.same(secrets.items, [], 'no release records left');
  t.same(JSON.parse(await kubeHelm(['list', '-A', '-o', 'json'])), [], 'helm lists no release');

  // Nothing admits or refuses any more: the pod the webhook refused is now accepted.
  const r = await kubectl.run(['create', '--dry-run=server', '-o', 'name', '-f', '-'], yamlOf([podWithoutProxy]));
  t.equal(r.code, 0, `no dangling webhook: a target pod is admitted${r.code === 0 ? '' : `\n${r.stderr}`}`);
});

t.test('control: without the hooks (--no-hooks) helm deletes the webhook configurations last', async (t) => {
  await kubeHelm(['install', RELEASE, CHART, '-n', NS, '--values', valuesFile(values)]);
  const w = watchDeletions();
  await w.ready;
  await kubeHelm(['uninstall', RELEASE, '-n', NS, '--no-hooks', '--wait', '--timeout', '120s']);
  await eventually('the deletions to be observed', async () => [...w.deletions.keys()].filter(isWebhookConfig).length >= 2, 30_000).catch(() => undefined);
  w.stop();
  const hooks = [...w.deletions].filter(([k]) => isWebhookConfig(k)).map(([, rv]) => rv);
  const others = [...w.deletions].filter(([k]) => !isWebhookConfig(k)).map(([, rv]) => rv);
  t.equal(hooks.length, 2, 'both configurations deleted');
  t.ok(
    hooks.every((h) => others.some((o) => o < h)),
    'the Service and the Deployment went first: the order the hooks exist to prevent',
  );
});
