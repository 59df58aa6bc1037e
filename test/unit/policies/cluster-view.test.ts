// ObjectClusterView, the plain-object backing of the cluster view.
import t from 'tap';
import { EMPTY_VIEW, labelsMatch, ObjectClusterView } from '../../../policies/cluster-view.js';
import type { KubeObject } from '../../../policies/k8s.js';
import { antflyCluster, antflyLabels, namespace, pod } from './fixtures/objects.js';

const REF = { apiVersion: 'antfly.io/v1', kind: 'AntflyCluster' };

t.test('namespaces, clusters and pods are found by identity', async (t) => {
  const v = new ObjectClusterView([namespace({ a: 'b' }), antflyCluster({ x: 1 }), pod(), pod(antflyLabels('other'), undefined, undefined, 'p2')]);
  t.same(v.getNamespace('db')?.metadata?.labels, { a: 'b' });
  t.equal(v.getNamespace('nope'), undefined);
  t.same(v.getCluster(REF, 'db', 'ac')?.spec, { x: 1 });
  t.equal(v.getCluster(REF, 'other', 'ac'), undefined);
  t.equal(v.getCluster({ ...REF, apiVersion: 'antfly.io/v2' }, 'db', 'ac'), undefined, 'the version is part of the identity');
  t.same(v.listPods('db', antflyLabels()).map((p) => p.metadata?.name), ['ac-metadata-0']);
  t.same(v.listPods('db', {}).map((p) => p.metadata?.name), ['ac-metadata-0', 'p2']);
  t.same(v.listPods('elsewhere', {}), []);
  t.same(EMPTY_VIEW.listClusters(REF), []);
});

t.test('later objects replace earlier ones; listClusters has one entry per identity', async (t) => {
  const v = new ObjectClusterView([antflyCluster({ v: 1 }), antflyCluster({ v: 1 }, 'b'), antflyCluster({ v: 1 }, 'ac', 'other')]);
  v.add(antflyCluster({ v: 2 }));
  v.add({ ...pod(), status: { phase: 'Pending' } });
  v.add({ ...pod(), status: { phase: 'Running' } });
  const list = v.listClusters(REF);
  t.equal(list.length, 3);
  t.same(list.map((c) => `${c.metadata?.namespace}/${c.metadata?.name}:${c.spec.v}`).sort(), ['db/ac:2', 'db/b:1', 'other/ac:1']);
  t.same(v.getCluster(REF, 'db', 'ac')?.spec, { v: 2 });
  t.same(v.listPods('db', {}).map((p) => p.status?.phase), ['Running']);
  const copy = v.listClusters(REF);
  copy.pop();
  t.equal(v.listClusters(REF).length, 3, 'the list is a copy');
});

t.test('objects without kind, name or apiVersion are not indexed', async (t) => {
  const v = new ObjectClusterView([
    { kind: 'Namespace', metadata: {} },
    { metadata: { name: 'x' } },
    { kind: 'AntflyCluster', metadata: { name: 'ac', namespace: 'db' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nons' } } as KubeObject,
  ]);
  t.equal(v.getNamespace('x'), undefined);
  t.same(v.listClusters({ apiVersion: '', kind: 'AntflyCluster' }), []);
  t.equal(v.listPods('default', {}).length, 1, 'a pod without namespace is in default');
});

t.test('labelsMatch', async (t) => {
  t.ok(labelsMatch({ a: '1', b: '2' }, { a: '1' }));
  t.notOk(labelsMatch({ a: '2' }, { a: '1' }));
  t.notOk(labelsMatch(undefined, { a: '1' }));
  t.ok(labelsMatch(undefined, {}));
});

t.test('isClusterViewObject keeps exactly what the policies can look up', async (t) => {
  const { isClusterViewObject } = await import('../../../policies/cluster-view.js');
  const { BUILTIN_PROFILES } = await import('../../../policies/targets/profile.js');
  const objects = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'db', labels: { a: 'b' } } },
    { apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', metadata: { name: 'c', namespace: 'db' } },
    { apiVersion: 'observability.io/v1beta1', kind: 'ObservabilityPlatform', metadata: { name: 'o', namespace: 'db' } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', namespace: 'db' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm', namespace: 'db' } },
    { apiVersion: 'example.com/v1', kind: 'AntflyCluster', metadata: { name: 'other-group', namespace: 'db' } },
  ];
  const kept = objects.filter((o) => isClusterViewObject(o, BUILTIN_PROFILES));
  t.same(kept.map((o) => o.metadata.name), ['db', 'p', 'c', 'o']);
  const full = new ObjectClusterView(objects);
  const small = new ObjectClusterView(kept);
  for (const p of BUILTIN_PROFILES) {
    const ref = { apiVersion: p.cluster.apiVersion, kind: p.cluster.kind };
    t.same(small.listClusters(ref), full.listClusters(ref), `${p.name} clusters`);
  }
  t.same(small.getNamespace('db'), full.getNamespace('db'));
  t.same(small.listPods('db', { a: 'b' }), full.listPods('db', { a: 'b' }));
});
