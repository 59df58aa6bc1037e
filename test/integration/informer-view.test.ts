// InformerClusterView against a small fake API server (list + watch over HTTP): what it
// asks for, what it keeps, sync state, a missing CRD, watch events.
import t from 'tap';
import { createServer, type ServerResponse } from 'node:http';
import { pino } from 'pino';
import { DEFAULT_CONFIG } from '../../policies/config.js';
import { namespaceInfo, type KubeObject } from '../../policies/k8s.js';
import { mutateObject } from '../../policies/review.js';
import { countMeshed } from '../../policies/mesh-state.js';
import type { MeshName } from '../../policies/meshes/types.js';
import { ANTFLY, OBSERVABILITY_PLATFORM } from '../../policies/targets/profile.js';
import { InformerClusterView, LIST_PAGE_SIZE, type ChangeEvent } from '../../server/informer-view.js';
import { answerListOrWatch, listenUntilTeardown, answerStatus, kubeConfigOf, waitFor } from './fixtures/helpers.js';

const fatPod = (name: string, instance: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'databases',
    uid: `uid-${name}`,
    resourceVersion: '10',
    labels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': instance },
    annotations: { 'sidecar.istio.io/status': '{}' },
    managedFields: [{ manager: 'kubelet', fieldsV1: { 'f:status': {} } }],
    creationTimestamp: '2025-01-01T00:00:00Z',
  },
  spec: {
    containers: [
      { name: 'antfly', image: 'antfly:1', env: [{ name: 'SECRET', value: 'x' }], ports: [{ containerPort: 9021, name: 'raft', protocol: 'TCP' }] },
      { name: 'istio-proxy', image: 'proxyv2' },
    ],
    initContainers: [{ name: 'istio-init', image: 'proxyv2', restartPolicy: 'Always' }],
    volumes: [{ name: 'data', emptyDir: {} }],
    nodeName: 'node-1',
  },
  status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
});

const requests: string[] = [];
const watchers = new Map<string, ServerResponse[]>();
let platformsInstalled = false;

const list = (kind: string, items: unknown[]) => ({ apiVersion: 'v1', kind: `${kind}List`, metadata: { resourceVersion: '10' }, items });
const lists: Record<string, () => unknown> = {
  '/api/v1/namespaces': () => list('Namespace', [{ metadata: { name: 'databases', labels: { 'istio-injection': 'enabled' }, resourceVersion: '3' }, status: { phase: 'Active' } }]),
  '/apis/antfly.io/v1/antflyclusters': () => ({
    apiVersion: 'antfly.io/v1',
    kind: 'AntflyClusterList',
    metadata: { resourceVersion: '10' },
    items: [{ apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', metadata: { name: 'demo', namespace: 'databases', resourceVersion: '5', generation: 2 }, spec: { serviceMesh: { enabled: true } }, status: { big: 'x'.repeat(1000) } }],
  }),
  '/apis/observability.io/v1beta1/observabilityplatforms': () => list('ObservabilityPlatform', []),
  '/api/v1/pods': () => list('Pod', [fatPod('demo-0', 'demo')]),
  // The other kinds of the object index (index mode).
  '/api/v1/services': () => list('Service', [{ metadata: { name: 'demo', namespace: 'databases', resourceVersion: '4' }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }], clusterIP: '10.0.0.9' } }]),
  '/apis/apps/v1/deployments': () => ({
    apiVersion: 'apps/v1',
    kind: 'DeploymentList',
    metadata: { resourceVersion: '10' },
    items: [{ metadata: { name: 'web', namespace: 'databases', resourceVersion: '6', managedFields: [{}] }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'w', env: [{ name: 'E' }] }] } } } }],
  }),
  '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations': () => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfigurationList',
    metadata: { resourceVersion: '10' },
    items: [{ metadata: { name: 'hook', resourceVersion: '7' }, webhooks: [{ name: 'h.example.com', clientConfig: { caBundle: 'QUJD', service: { name: 'demo', namespace: 'databases' } } }] }],
  }),
};
/** Paths the caller may not list (RBAC). */
const forbidden = new Set(['/apis/networking.k8s.io/v1/networkpolicies']);

const apiserver = createServer((req, res) => {
  const url = new URL(req.url!, 'http://x');
  requests.push(`${url.pathname}?${url.searchParams.toString()}`);
  if (url.pathname.startsWith('/apis/observability.io') && !platformsInstalled) {
    answerStatus(res, 404, 'NotFound');
    return;
  }
  if (forbidden.has(url.pathname)) {
    answerStatus(res, 403, 'Forbidden');
    return;
  }
  const make = lists[url.pathname];
  if (!make) {
    res.writeHead(404).end();
    return;
  }
  answerListOrWatch(url, res, make, (w) => watchers.set(url.pathname, [...(watchers.get(url.pathname) ?? []), w]));
});
await listenUntilTeardown(t, apiserver, () => [...watchers.values()].flat());

const kubeConfig = kubeConfigOf(apiserver);
const view = new InformerClusterView({
  kubeConfig,
  profiles: [ANTFLY, OBSERVABILITY_PLATFORM],
  logger: pino({ level: 'silent' }),
  retryMs: 50,
  missingCrdRetryMs: 200,
});
const events: [ChangeEvent, string, string][] = [];
view.onChange((event, resource, obj) => events.push([event, resource, obj.metadata?.name ?? '']));
t.teardown(() => view.stop());
const syncedBeforeStart = view.synced;
await view.start();
await waitFor(() => view.synced, 'the view to sync');

t.test('asks only for what the policies need: namespaces, cluster CRs, target pods by label', async (t) => {
  t.equal(syncedBeforeStart, false, 'not synced before start');
  t.ok(requests.some((r) => r.startsWith('/api/v1/pods?') && r.includes(encodeURIComponent('app.kubernetes.io/name=antfly-database,app.kubernetes.io/instance'))));
  t.ok(requests.some((r) => r.startsWith('/api/v1/pods?') && r.includes('labelSelector=observability.io%2Fplatform')));
  t.notOk(requests.some((r) => r.startsWith('/api/v1/pods?') && !r.includes('labelSelector=')), 'never all pods');
});

t.test('serves namespaces, clusters and pods from the caches, stripped', async (t) => {
  t.same(view.getNamespace('databases')?.metadata?.labels, { 'istio-injection': 'enabled' });
  const cluster = view.getCluster(ANTFLY.cluster, 'databases', 'demo');
  t.same(cluster?.spec, { serviceMesh: { enabled: true } });
  t.equal(cluster?.status, undefined, 'CR status dropped');
  t.equal(view.listClusters(ANTFLY.cluster).length, 1);
  const pods = view.listPods('databases', { 'app.kubernetes.io/instance': 'demo' });
  t.equal(pods.length, 1);
  t.same(pods[0], {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'demo-0',
      namespace: 'databases',
      uid: 'uid-demo-0',
      resourceVersion: '10',
      labels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'demo' },
      annotations: { 'sidecar.istio.io/status': '{}' },
    },
    spec: {
      containers: [{ name: 'antfly', ports: [{ containerPort: 9021, name: 'raft', protocol: 'TCP' }] }, { name: 'istio-proxy' }],
      initContainers: [{ name: 'istio-init', restartPolicy: 'Always' }],
    },
    status: { phase: 'Running' },
  });
  t.same(view.listPods('databases', { 'app.kubernetes.io/instance': 'other' }), []);
});

t.test('a CRD that is not installed counts as synced and empty, and is picked up when it appears', async (t) => {
  t.same(view.status().missing, ['observabilityplatforms.observability.io']);
  t.same(view.listClusters(OBSERVABILITY_PLATFORM.cluster), []);
  platformsInstalled = true;
  await waitFor(() => view.status().missing.length === 0, 'the CRD to be found');
  t.equal(view.status().synced['observabilityplatforms.observability.io'], true);
});

t.test('watch events update the cache (stripped) and reach onChange listeners', async (t) => {
  await waitFor(() => (watchers.get('/api/v1/pods')?.length ?? 0) > 0, 'the pod watch');
  const added = fatPod('demo-1', 'demo');
  added.metadata.resourceVersion = '11';
  for (const w of watchers.get('/api/v1/pods')!) w.write(`${JSON.stringify({ type: 'ADDED', object: added })}\n`);
  await waitFor(() => view.listPods('databases', { 'app.kubernetes.io/instance': 'demo' }).length === 2, 'the added pod');
  const pod = view.listPods('databases', {}).find((p) => p.metadata?.name === 'demo-1')!;
  t.equal((pod.spec?.containers?.[0] as Record<string, unknown>).env, undefined, 'watched objects are stripped too');
  t.equal(pod.metadata?.managedFields, undefined);
  t.ok(events.some(([e, r, n]) => e === 'add' && r === 'pods/antfly' && n === 'demo-1'));

  for (const w of watchers.get('/api/v1/pods')!) w.write(`${JSON.stringify({ type: 'DELETED', object: { ...added, metadata: { ...added.metadata, resourceVersion: '12' } } })}\n`);
  await waitFor(() => view.listPods('databases', {}).length === 1, 'the deleted pod to go');
  t.ok(events.some(([e, , n]) => e === 'delete' && n === 'demo-1'));
  t.match(view.sizes(), { namespaces: 1, 'antflyclusters.antfly.io': 1, 'pods/antfly': 1 });
});

// The view keeps a memo of what each cluster's reviews share (policies/judgement-memo.ts),
// keyed by the cached CR and Namespace objects: a watch event must reach the next answer,
// which a memo over objects changed in place would miss.
t.test("a CR changed by a watch event changes the next review's answer (the memo's keys are the cached objects)", async (t) => {
  t.ok(view.memo, 'the live view has a memo');
  t.equal(view.memo, view.memo, 'one per view');
  const pod = { ...fatPod('demo-5', 'demo'), metadata: { ...fatPod('demo-5', 'demo').metadata, annotations: {} } };
  pod.spec = { ...pod.spec, containers: [pod.spec.containers[0]!], initContainers: [] };
  const before = mutateObject(pod as KubeObject, 'databases', view, DEFAULT_CONFIG);
  t.equal(before.type, 'judged');
  t.ok(before.type === 'judged' && (before.patch?.length ?? 0) > 0, 'the meshed cluster: the pod is patched');
  await waitFor(() => (watchers.get('/apis/antfly.io/v1/antflyclusters')?.length ?? 0) > 0, 'the cluster watch');
  const cr = (lists['/apis/antfly.io/v1/antflyclusters']!() as { items: Record<string, unknown>[] }).items[0]!;
  const off = { ...cr, metadata: { ...(cr.metadata as object), resourceVersion: '20' }, spec: { serviceMesh: { enabled: false } } };
  for (const w of watchers.get('/apis/antfly.io/v1/antflyclusters')!) w.write(`${JSON.stringify({ type: 'MODIFIED', object: off })}\n`);
  await waitFor(() => (view.getCluster(ANTFLY.cluster, 'databases', 'demo')?.spec as { serviceMesh?: { enabled?: boolean } })?.serviceMesh?.enabled === false, 'the modified CR');
  const after = mutateObject(pod as KubeObject, 'databases', view, DEFAULT_CONFIG);
  t.notSame(after, before, 'a new answer');
  t.same(after.type === 'judged' ? after.patch : undefined, [{ op: 'add', path: '/metadata/labels/sidecar.istio.io~1inject', value: 'false' }], 'mesh off: the pod is kept out of the namespace-wide injection');
  const on = { ...cr, metadata: { ...(cr.metadata as object), resourceVersion: '21' } };
  for (const w of watchers.get('/apis/antfly.io/v1/antflyclusters')!) w.write(`${JSON.stringify({ type: 'MODIFIED', object: on })}\n`);
  await waitFor(() => (view.getCluster(ANTFLY.cluster, 'databases', 'demo')?.spec as { serviceMesh?: { enabled?: boolean } })?.serviceMesh?.enabled === true, 'the CR back on');
  t.same(mutateObject(pod as KubeObject, 'databases', view, DEFAULT_CONFIG), before, 'and on again: the first answer');
});

t.test('without index mode the view holds no other kind: it is not the whole index', async (t) => {
  t.equal(view.holds('Namespace'), true);
  t.equal(view.holds('Pod'), false, 'only the target pods');
  t.equal(view.holds('Deployment'), false);
  t.same(view.list('Deployment'), []);
  t.same(view.list('Pod', 'databases'), [], 'the target pods are not all the pods');
  t.notOk(requests.some((r) => r.startsWith('/apis/apps/')), 'no workload is listed');
});

t.test('index mode: every pod and the other kinds of the index; absent or forbidden kinds held as empty', async (t) => {
  const index = new InformerClusterView({ kubeConfig, profiles: [ANTFLY], logger: pino({ level: 'silent' }), retryMs: 50, missingCrdRetryMs: 200, index: true });
  t.teardown(() => index.stop());
  await index.start();
  await waitFor(() => index.analysis() !== undefined, 'every kind of the index to sync');
  t.equal(index.analysis()?.complete, false, 'a forbidden kind: not known to be empty, so the index is not complete');
  t.ok(requests.includes(`/api/v1/pods?limit=${LIST_PAGE_SIZE}`), 'all pods, without a label selector, by pages');
  t.same(index.sizes(), {
    namespaces: 1, 'antflyclusters.antfly.io': 1, pods: 1, services: 1,
    'statefulsets.apps': 0, 'deployments.apps': 1, 'replicasets.apps': 0, 'daemonsets.apps': 0, 'jobs.batch': 0, 'cronjobs.batch': 0,
    'mutatingwebhookconfigurations.admissionregistration.k8s.io': 0, 'validatingwebhookconfigurations.admissionregistration.k8s.io': 1,
    'peerauthentications.security.istio.io': 0, 'networkpolicies.networking.k8s.io': 0, 'servicemonitors.monitoring.coreos.com': 0, 'podmonitors.monitoring.coreos.com': 0,
  });
  t.ok(index.status().missing.includes('networkpolicies.networking.k8s.io'), 'forbidden (403): held as missing');
  t.ok(index.status().missing.includes('peerauthentications.security.istio.io'), 'absent (404): held as missing');
  t.equal(index.holds('NetworkPolicy'), false);
  t.equal(index.holds('PeerAuthentication'), false);
  t.same(index.list('NetworkPolicy'), []);
  t.equal(index.holds('Deployment'), true);
  t.equal(index.holds('Pod'), true);
  t.same(index.list('Deployment', 'databases'), [{
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'databases', resourceVersion: '6' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web' }] } } },
  }], 'stripped to what the rules read');
  t.same(index.list('Deployment', 'elsewhere'), []);
  t.same(index.get('ValidatingWebhookConfiguration', undefined, 'hook')?.webhooks, [{ name: 'h.example.com', clientConfig: { service: { name: 'demo', namespace: 'databases' } } }]);
  t.equal(index.get('Service', 'databases', 'demo')?.spec?.clusterIP, undefined);
  t.same(index.select('Pod', 'databases', { matchExpressions: [{ key: 'app.kubernetes.io/instance', operator: 'In', values: ['demo'] }] }).map((p) => p.metadata?.name), ['demo-0']);
  t.same(index.namespaceNames(), ['databases']);
  t.same(index.listPods('databases', { 'app.kubernetes.io/instance': 'demo' }).map((p) => p.metadata?.name), ['demo-0']);
});

t.test("a cluster's injection count follows pod and namespace watch events, equal to counting its pods", async (t) => {
  const selector = { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'demo' };
  const counted = (mesh?: MeshName) => countMeshed(view.listPods('databases', selector), namespaceInfo('databases', view.getNamespace('databases')), mesh);
  const same = (what: string) => {
    for (const mesh of [undefined, 'istio', 'istio-ambient'] as const) t.same(view.injectionCount(ANTFLY, 'databases', 'demo', mesh), counted(mesh), `${what} (${mesh ?? 'any mesh'})`);
  };
  same('after the list');
  t.same(view.injectionCount(ANTFLY, 'databases', 'demo'), { meshed: 1, total: 1 });

  const plain = fatPod('demo-2', 'demo');
  plain.metadata.resourceVersion = '20';
  (plain.metadata as { annotations?: unknown }).annotations = {};
  plain.spec.containers = plain.spec.containers.filter((c) => c.name !== 'istio-proxy');
  plain.spec.initContainers = [];
  for (const w of watchers.get('/api/v1/pods')!) w.write(`${JSON.stringify({ type: 'ADDED', object: plain })}\n`);
  await waitFor(() => view.injectionCount(ANTFLY, 'databases', 'demo')?.total === 2, 'the added pod to count');
  same('after a pod without a proxy came');
  t.same(view.injectionCount(ANTFLY, 'databases', 'demo'), { meshed: 1, total: 2 });

  // The namespace enrols its pods in ambient: the proxy-less pod is meshed now.
  await waitFor(() => (watchers.get('/api/v1/namespaces')?.length ?? 0) > 0, 'the namespace watch');
  const ambient = { metadata: { name: 'databases', labels: { 'istio.io/dataplane-mode': 'ambient' }, resourceVersion: '21' } };
  for (const w of watchers.get('/api/v1/namespaces')!) w.write(`${JSON.stringify({ type: 'MODIFIED', object: ambient })}\n`);
  await waitFor(() => view.injectionCount(ANTFLY, 'databases', 'demo')?.meshed === 2, 'the namespace label to count');
  same('after the namespace was labelled for ambient');
  t.same(view.injectionCount(ANTFLY, 'databases', 'demo', 'istio-ambient'), { meshed: 1, total: 2 }, 'the sidecar pod is no ambient pod');

  const finished = { ...plain, metadata: { ...plain.metadata, resourceVersion: '22' }, status: { ...plain.status, phase: 'Succeeded' } };
  for (const w of watchers.get('/api/v1/pods')!) w.write(`${JSON.stringify({ type: 'MODIFIED', object: finished })}\n`);
  await waitFor(() => view.injectionCount(ANTFLY, 'databases', 'demo')?.total === 1, 'the finished pod to stop counting');
  same('after the pod finished');
  for (const w of watchers.get('/api/v1/pods')!) w.write(`${JSON.stringify({ type: 'DELETED', object: finished })}\n`);
  await waitFor(() => view.listPods('databases', selector).length === 1, 'the deleted pod to go');
  same('after the pod was deleted');
  t.equal(view.injectionCount(OBSERVABILITY_PLATFORM, 'databases', 'demo')?.total, 0, 'a cluster without pods');
});
