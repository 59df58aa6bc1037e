import t from 'tap';
import { istioAmbient } from '../../../policies/meshes/istio-ambient.js';
import { DEFAULT_MESH_OPTIONS } from '../../../policies/meshes/types.js';
import { container, nativeSidecar, ns, pod } from './fixtures/objects.js';

const AMBIENT = { 'istio.io/dataplane-mode': 'ambient' };
const would = (p: Parameters<typeof istioAmbient.wouldMesh>[0], n: Parameters<typeof istioAmbient.wouldMesh>[1]) => istioAmbient.wouldMesh(p, n, DEFAULT_MESH_OPTIONS);

t.test('enrolment by namespace or pod label', async (t) => {
  const byNs = would(pod(), ns('db', AMBIENT));
  t.same(byNs, { value: true, reason: 'namespace label istio.io/dataplane-mode=ambient enrols the pod in ambient mode' });
  const byPod = would(pod({ labels: AMBIENT }), ns('db'));
  t.same(byPod, { value: true, reason: 'pod label istio.io/dataplane-mode=ambient enrols the pod in ambient mode' });
  const none = would(pod(), ns('db'));
  t.equal(none.value, false);
  t.match(none.reason, /neither the namespace nor the pod carries the label istio.io\/dataplane-mode=ambient/);
  t.equal(would(pod(), ns('db', {}, AMBIENT)).value, false, 'a namespace annotation does not enrol');
  t.equal(would(pod({ annotations: AMBIENT }), ns('db')).value, false, 'a pod annotation does not enrol');
});

t.test('pod label none opts out', async (t) => {
  const d = would(pod({ labels: { 'istio.io/dataplane-mode': 'none' } }), ns('db', AMBIENT));
  t.equal(d.value, false);
  t.match(d.reason, /pod label istio.io\/dataplane-mode=none opts this pod out/);
  t.equal(istioAmbient.isMeshed(pod({ labels: { 'istio.io/dataplane-mode': 'none' } }), ns('db', AMBIENT)).value, false);
});

t.test('a pod that has or gets an Istio sidecar is a sidecar pod, not ambient', async (t) => {
  const gets = would(pod(), ns('db', { ...AMBIENT, 'istio-injection': 'enabled' }));
  t.equal(gets.value, false);
  t.match(gets.reason, /it is an Istio sidecar pod \(Istio would inject its sidecar\) and ambient leaves sidecar pods alone/);
  const getsByLabel = would(pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), ns('db', AMBIENT));
  t.equal(getsByLabel.value, false);

  const has = istioAmbient.isMeshed(pod({ containers: [container('app'), container('istio-proxy')] }), ns('db', AMBIENT));
  t.equal(has.value, false);
  t.match(has.reason, /sidecar pod \(container "istio-proxy"\)/);
  t.equal(istioAmbient.isMeshed(pod({ initContainers: [nativeSidecar('istio-proxy')] }), ns('db', AMBIENT)).value, false, 'native sidecar too');
  t.equal(istioAmbient.isMeshed(pod({ annotations: { 'sidecar.istio.io/status': '{}' } }), ns('db', AMBIENT)).value, false, 'status annotation too');
  t.equal(istioAmbient.isMeshed(pod({ containers: [container('app'), container('fluent-bit')] }), ns('db', AMBIENT)).value, true, 'a logging sidecar does not matter');
});

t.test('hostNetwork pods cannot be captured', async (t) => {
  const d = istioAmbient.isMeshed(pod({ hostNetwork: true }), ns('db', AMBIENT));
  t.equal(d.value, false);
  t.match(d.reason, /hostNetwork pods cannot be captured by ztunnel/);
});

t.test('contract data', async (t) => {
  t.ok(istioAmbient.selectedByNamespace(ns('db', AMBIENT)));
  t.notOk(istioAmbient.selectedByNamespace(ns('db', { 'istio.io/dataplane-mode': 'none' })));
  t.notOk(istioAmbient.ownsAnnotationKey('sidecar.istio.io/inject'));
  t.equal(istioAmbient.checkAnnotation('sidecar.istio.io/inject', 'bogus'), undefined);
  t.equal(istioAmbient.portExclusion, undefined, 'ambient cannot exclude ports');
  t.same(istioAmbient.optOut, { labels: { 'istio.io/dataplane-mode': 'none' } });
});
