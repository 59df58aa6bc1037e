// InformerClusterView over many target pods, against a fake API server that pages its
// lists as the real one does (limit + continue): the view lists page by page, holds every
// page, and keeps each cluster's injection count equal to counting its pods, through the
// list and through the watch events of a StatefulSet scaling up and down.
import t, { type Test } from 'tap';
import { createServer, type ServerResponse } from 'node:http';
import { pino } from 'pino';
import { namespaceInfo, type KubeObject } from '../../policies/k8s.js';
import { countMeshed } from '../../policies/mesh-state.js';
import { ANTFLY, OBSERVABILITY_PLATFORM } from '../../policies/targets/profile.js';
import { podSelectorOf } from '../../policies/targets/resolve.js';
import { InformerClusterView, LIST_PAGE_SIZE } from '../../server/informer-view.js';
import { answerListOrWatch, listenUntilTeardown, kubeConfigOf, waitFor } from './fixtures/helpers.js';

const NAMESPACES = ['db-a', 'db-b', 'db-c'];
const PODS_PER_NAMESPACE = 420;

const pod = (namespace: string, i: number, resourceVersion = '10'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `demo-${i}`,
    namespace,
    resourceVersion,
    labels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': i % 2 === 0 ? 'demo' : 'other' },
    annotations: i % 3 === 0 ? {} : { 'sidecar.istio.io/status': '{}' },
  },
  spec: { containers: [{ name: 'antfly' }, ...(i % 3 === 0 ? [] : [{ name: 'istio-proxy' }])] },
  status: { phase: i % 7 === 0 ? 'Succeeded' : 'Running' },
});

const podItems = NAMESPACES.flatMap((ns) => Array.from({ length: PODS_PER_NAMESPACE }, (_, i) => pod(ns, i)));
const lists: Record<string, unknown[]> = {
  '/api/v1/namespaces': NAMESPACES.map((name) => ({ metadata: { name, labels: name === 'db-c' ? { 'istio.io/dataplane-mode': 'ambient' } : {}, resourceVersion: '3' } })),
  '/apis/antfly.io/v1/antflyclusters': [],
  '/apis/observability.io/v1beta1/observabilityplatforms': [],
  '/api/v1/pods': podItems,
};

const requests: URL[] = [];
const watchers = new Map<string, ServerResponse[]>();
/** A page of `items` as the API server answers `limit` and `continue` (the token is the offset here). */
const page = (url: URL, items: unknown[]) => {
  const limit = Number(url.searchParams.get('limit') ?? 0);
  const from = Number(url.searchParams.get('continue') ?? 0);
  const to = limit > 0 ? Math.min(items.length, from + limit) : items.length;
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '10', ...(to < items.length ? { continue: String(to) } : {}) }, items: items.slice(from, to) };
};
const apiserver = createServer((req, res) => {
  const url = new URL(req.url!, 'http://x');
  requests.push(url);
  const items = lists[url.pathname];
  if (!items) {
    res.writeHead(404).end();
    return;
  }
  answerListOrWatch(url, res, () => page(url, items), (w) => watchers.set(url.pathname, [...(watchers.get(url.pathname) ?? []), w]));
});
await listenUntilTeardown(t, apiserver, () => [...watchers.values()].flat());

const view = new InformerClusterView({ kubeConfig: kubeConfigOf(apiserver), profiles: [ANTFLY, OBSERVABILITY_PLATFORM], logger: pino({ level: 'silent' }), retryMs: 50 });
t.teardown(() => view.stop());
await view.start();
await waitFor(() => view.synced, 'the view to sync');

const counted = (namespace: string, cluster: string) =>
  countMeshed(view.listPods(namespace, podSelectorOf(ANTFLY, cluster)), namespaceInfo(namespace, view.getNamespace(namespace)));
const sameCounts = (t: Test, what: string) => {
  for (const ns of NAMESPACES) for (const cluster of ['demo', 'other']) t.same(view.injectionCount(ANTFLY, ns, cluster), counted(ns, cluster), `${what}: ${ns}/${cluster}`);
};

t.test('lists page by page and holds every page', async (t) => {
  const podLists = requests.filter((u) => u.pathname === '/api/v1/pods' && u.searchParams.get('watch') !== 'true' && u.searchParams.get('labelSelector')?.includes('antfly'));
  t.equal(podLists.length, Math.ceil(podItems.length / LIST_PAGE_SIZE), 'one request per page');
  t.ok(podLists.every((u) => u.searchParams.get('limit') === String(LIST_PAGE_SIZE)), `pages of ${LIST_PAGE_SIZE}`);
  t.same(podLists.map((u) => u.searchParams.get('continue')), [null, ...podLists.slice(1).map((_, i) => String((i + 1) * LIST_PAGE_SIZE))], 'each page continues where the last ended');
  t.equal(view.sizes()['pods/antfly'], podItems.length);
  t.equal(view.listPods('db-a', podSelectorOf(ANTFLY, 'demo')).length, PODS_PER_NAMESPACE / 2);
  sameCounts(t, 'after the list');
  // Ambient namespace: the proxy-less pods are meshed as well.
  t.same(view.injectionCount(ANTFLY, 'db-c', 'demo'), { meshed: 180, total: 180 });
  t.same(view.injectionCount(ANTFLY, 'db-a', 'demo'), { meshed: 120, total: 180 });
});

t.test('a StatefulSet scaling up and down: the counts follow the watch events', async (t) => {
  await waitFor(() => (watchers.get('/api/v1/pods')?.length ?? 0) > 0, 'the pod watch');
  const send = (type: string, object: KubeObject) => {
    for (const w of watchers.get('/api/v1/pods')!) w.write(`${JSON.stringify({ type, object })}\n`);
  };
  for (let i = PODS_PER_NAMESPACE; i < PODS_PER_NAMESPACE + 300; i++) send('ADDED', pod('db-a', i, String(100 + i)));
  await waitFor(() => view.sizes()['pods/antfly'] === podItems.length + 300, 'the scale-up');
  sameCounts(t, 'after scaling up');
  for (let i = 0; i < 200; i++) send('DELETED', pod('db-a', i, String(2000 + i)));
  await waitFor(() => view.sizes()['pods/antfly'] === podItems.length + 100, 'the scale-down');
  sameCounts(t, 'after scaling down');
  t.same(view.injectionCount(ANTFLY, 'db-a', 'demo'), counted('db-a', 'demo'));
});
