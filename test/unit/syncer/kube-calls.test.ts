// The syncer's API calls without client-node's generated classes (syncer/kube-calls.ts):
// each sends what the generated method it stands in for sends (method, path, JSON body, a
// merge patch's Content-Type) and fails with the same ApiException code.
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import { once } from 'node:events';
import { createServer } from 'node:http';
import t from 'tap';
import { syncerApis } from '../../../syncer/kube-calls.js';
import { statusCodeOf } from '../../../server/kube-request.js';
import { answerStatus, kubeConfigOf } from '../../integration/fixtures/helpers.js';

interface Seen {
  method: string;
  url: string;
  contentType?: string;
  authorization?: string;
  body?: unknown;
}
const seen: Seen[] = [];
const apiserver = createServer((req, res) => {
  let text = '';
  req.on('data', (c) => (text += String(c)));
  req.on('end', () => {
    seen.push({ method: req.method!, url: req.url!, contentType: req.headers['content-type'], authorization: req.headers.authorization, body: text ? JSON.parse(text) : undefined });
    if (req.url!.includes('/missing')) return answerStatus(res, 404, 'NotFound');
    if (req.url!.includes('/taken')) return answerStatus(res, 409, 'Conflict');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Echo', metadata: { name: 'x', resourceVersion: '7' } }));
  });
});
apiserver.listen(0, '127.0.0.1');
await once(apiserver, 'listening');
t.teardown(() => apiserver.close());
const apis = syncerApis(kubeConfigOf(apiserver));
const last = () => seen[seen.length - 1]!;

t.test('leases: read, create, replace', async (t) => {
  t.same(await apis.coordination.readNamespacedLease({ name: 'l', namespace: 'ns' }), { kind: 'Echo', metadata: { name: 'x', resourceVersion: '7' } });
  t.match(last(), { method: 'GET', url: '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l', authorization: 'Bearer token' });
  const body = { metadata: { name: 'l', namespace: 'ns' }, spec: { holderIdentity: 'me', renewTime: '2026-11-30T05:00:00.000000Z' as unknown as Date } };
  await apis.coordination.createNamespacedLease({ namespace: 'ns', body });
  t.match(last(), { method: 'POST', url: '/apis/coordination.k8s.io/v1/namespaces/ns/leases', contentType: 'application/json', body });
  await apis.coordination.replaceNamespacedLease({ name: 'l', namespace: 'ns', body });
  t.match(last(), { method: 'PUT', url: '/apis/coordination.k8s.io/v1/namespaces/ns/leases/l', body });
});

t.test('events: create', async (t) => {
  const body = { metadata: { name: 'e', namespace: 'db' }, involvedObject: { kind: 'AntflyCluster', name: 'demo' }, reason: 'R' };
  await apis.core.createNamespacedEvent({ namespace: 'db', body });
  t.match(last(), { method: 'POST', url: '/api/v1/namespaces/db/events', body });
});

t.test('custom objects: namespaced and cluster paths, the status merge patch, the labelled list', async (t) => {
  const ns = { group: 'wgpolicyk8s.io', version: 'v1alpha2', plural: 'policyreports', namespace: 'db' };
  const cluster = { group: 'wgpolicyk8s.io', version: 'v1alpha2', plural: 'clusterpolicyreports' };
  const check = async (p: Promise<unknown>, method: string, url: string) => {
    await p;
    t.match(last(), { method, url }, `${method} ${url}`);
  };
  await check(apis.custom.getNamespacedCustomObject({ ...ns, name: 'r' }), 'GET', '/apis/wgpolicyk8s.io/v1alpha2/namespaces/db/policyreports/r');
  await check(apis.custom.createNamespacedCustomObject({ ...ns, body: {} }), 'POST', '/apis/wgpolicyk8s.io/v1alpha2/namespaces/db/policyreports');
  await check(apis.custom.replaceNamespacedCustomObject({ ...ns, name: 'r', body: {} }), 'PUT', '/apis/wgpolicyk8s.io/v1alpha2/namespaces/db/policyreports/r');
  await check(apis.custom.deleteNamespacedCustomObject({ ...ns, name: 'r' }), 'DELETE', '/apis/wgpolicyk8s.io/v1alpha2/namespaces/db/policyreports/r');
  await check(apis.custom.getClusterCustomObject({ ...cluster, name: 'r' }), 'GET', '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/r');
  await check(apis.custom.createClusterCustomObject({ ...cluster, body: {} }), 'POST', '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports');
  await check(apis.custom.replaceClusterCustomObject({ ...cluster, name: 'r', body: {} }), 'PUT', '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/r');
  await check(apis.custom.deleteClusterCustomObject({ ...cluster, name: 'r' }), 'DELETE', '/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/r');

  const status = { metadata: { resourceVersion: '7' }, status: { serviceMeshStatus: 'Meshed' } };
  await apis.custom.patchNamespacedCustomObjectStatus(
    { group: 'antfly.io', version: 'v1', plural: 'antflyclusters', namespace: 'db', name: 'demo', body: status },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  t.match(last(), { method: 'PATCH', url: '/apis/antfly.io/v1/namespaces/db/antflyclusters/demo/status', contentType: 'application/merge-patch+json', body: status });

  await apis.custom.getAPIResources({ group: 'wgpolicyk8s.io', version: 'v1alpha2' });
  t.match(last(), { method: 'GET', url: '/apis/wgpolicyk8s.io/v1alpha2' });
  await apis.custom.listClusterCustomObject({ group: ns.group, version: ns.version, plural: ns.plural, labelSelector: 'app.kubernetes.io/managed-by=meshguard' });
  t.match(last(), { method: 'GET', url: '/apis/wgpolicyk8s.io/v1alpha2/policyreports?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dmeshguard' });
});

t.test('a failure Status is an ApiException with its code, as the generated methods throw', async (t) => {
  await t.rejects(apis.coordination.readNamespacedLease({ name: 'missing', namespace: 'ns' }), { code: 404 });
  const err = await apis.custom.replaceNamespacedCustomObject({ group: 'g', version: 'v', plural: 'p', namespace: 'n', name: 'taken', body: {} }).catch((e: unknown) => e);
  t.equal(statusCodeOf(err), 409);
});
