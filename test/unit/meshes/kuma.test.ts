import t from 'tap';
import { kuma } from '../../../policies/meshes/kuma.js';
import { DEFAULT_MESH_OPTIONS } from '../../../policies/meshes/types.js';
import { container, nativeSidecar, ns, pod } from './fixtures/objects.js';

const LABEL = 'kuma.io/sidecar-injection';
const would = (p: Parameters<typeof kuma.wouldMesh>[0], n: Parameters<typeof kuma.wouldMesh>[1]) => kuma.wouldMesh(p, n, DEFAULT_MESH_OPTIONS);

t.test('namespace label decides when the pod has none', async (t) => {
  for (const v of ['enabled', 'true']) t.same(would(pod(), ns('db', { [LABEL]: v })), { value: true, reason: `namespace label ${LABEL}=${v} enables Kuma's sidecar` });
  for (const v of ['disabled', 'false']) t.equal(would(pod(), ns('db', { [LABEL]: v })).value, false, v);
  const none = would(pod(), ns('db'));
  t.equal(none.value, false, 'default no');
  t.match(none.reason, /Kuma injects nothing by default/);
  t.equal(would(pod(), ns('db', {}, { [LABEL]: 'enabled' })).value, false, 'a namespace annotation is not the label');
});

t.test('the pod label overrides the namespace', async (t) => {
  const off = would(pod({ labels: { [LABEL]: 'disabled' } }), ns('db', { [LABEL]: 'enabled' }));
  t.equal(off.value, false);
  t.equal(off.reason, `pod label ${LABEL}=disabled disables Kuma's sidecar (it overrides the namespace label ${LABEL}=enabled)`);
  const on = would(pod({ labels: { [LABEL]: 'true' } }), ns('db', { [LABEL]: 'false' }));
  t.equal(on.value, true);
  t.equal(would(pod({ labels: { [LABEL]: 'enabled' } }), ns('db')).reason, `pod label ${LABEL}=enabled enables Kuma's sidecar`);
  const bogus = would(pod({ labels: { [LABEL]: 'yes' } }), ns('db', { [LABEL]: 'enabled' }));
  t.equal(bogus.value, false, 'an unknown pod value is not injected');
  t.match(bogus.reason, /is not one of enabled, true, disabled, false/);
});

t.test('isMeshed', async (t) => {
  const n = ns('db');
  t.equal(kuma.isMeshed(pod({ containers: [container('app'), container('kuma-sidecar')] }), n).value, true);
  t.equal(kuma.isMeshed(pod({ initContainers: [container('kuma-init'), nativeSidecar('kuma-sidecar')] }), n).value, true, 'native sidecar');
  t.equal(kuma.isMeshed(pod({ initContainers: [container('kuma-sidecar')] }), n).value, false, 'init container without Always');
  t.match(kuma.isMeshed(pod({ annotations: { 'kuma.io/sidecar-injected': 'true' } }), n).reason, /annotation kuma.io\/sidecar-injected=true/);
  t.equal(kuma.isMeshed(pod({ annotations: { 'kuma.io/sidecar-injected': 'false' } }), n).value, false);
  const logging = kuma.isMeshed(pod({ containers: [container('app'), container('promtail')] }), n);
  t.equal(logging.value, false);
  t.match(logging.reason, /no kuma-sidecar container/);
  t.equal(would(pod({ containers: [container('kuma-sidecar')] }), ns('db', { [LABEL]: 'disabled' })).value, true, 'already injected');
});

t.test('checkAnnotation', async (t) => {
  for (const k of ['traffic.kuma.io/exclude-inbound-ports', 'traffic.kuma.io/exclude-outbound-ports']) {
    t.equal(kuma.checkAnnotation(k, '1,65535'), undefined, k);
    t.match(kuma.checkAnnotation(k, '0'), /Kuma cannot parse this port list: element 1 \("0"\) is outside the port range 1–65535/, k);
    t.match(kuma.checkAnnotation(k, '9000-9100'), /is a range/, k);
  }
  t.equal(kuma.checkAnnotation(LABEL, 'enabled'), undefined);
  t.match(kuma.checkAnnotation(LABEL, 'on'), /Kuma accepts only "enabled", "disabled", "true" or "false"/);
  t.equal(kuma.checkAnnotation('kuma.io/mesh', 'default'), undefined);
});

t.test('contract data', async (t) => {
  t.ok(kuma.selectedByNamespace(ns('db', { [LABEL]: 'disabled' })));
  t.notOk(kuma.selectedByNamespace(ns('db')));
  t.ok(kuma.ownsAnnotationKey('kuma.io/mesh'));
  t.ok(kuma.ownsAnnotationKey('traffic.kuma.io/exclude-inbound-ports'));
  t.notOk(kuma.ownsAnnotationKey('kumaio/mesh'));
  t.same(kuma.portExclusion, { inbound: 'traffic.kuma.io/exclude-inbound-ports', outbound: 'traffic.kuma.io/exclude-outbound-ports', ranges: false });
  t.same(kuma.optOut, { labels: { [LABEL]: 'disabled' } });
});
