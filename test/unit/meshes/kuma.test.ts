import t from 'tap';
import { kuma } from '../../../policies/meshes/kuma.js';
import { DEFAULT_MESH_OPTIONS } from '../../../policies/meshes/types.js';
import { mergePorts } from '../../../policies/values/port-list.js';
import { container, nativeSidecar, ns, pod } from './fixtures/objects.js';

// Each table mirrors kumahq/kuma at 348b6528bc234b3c4bd7f22ad7c5bf950d6149fc; the test names
// say which file and function.
const KUMA = 'kuma@348b652';
const LABEL = 'kuma.io/sidecar-injection';
const IN = 'traffic.kuma.io/exclude-inbound-ports';
const OUT = 'traffic.kuma.io/exclude-outbound-ports';
const would = (p: Parameters<typeof kuma.wouldMesh>[0], n: Parameters<typeof kuma.wouldMesh>[1]) => kuma.wouldMesh(p, n, DEFAULT_MESH_OPTIONS);
const podLabel = (v?: string) => pod(v === undefined ? {} : { labels: { [LABEL]: v } });
const nsLabel = (v?: string) => ns('db', v === undefined ? {} : { [LABEL]: v });

// The chart's two webhooks (namespace-kuma-injector: namespace label In [enabled, "true"];
// pods-kuma-injector: namespace label Exists and pod label exactly enabled), then
// needToInject: the pod label if present, else the namespace label, each read by GetEnabled.
t.test(`${KUMA} deployments/charts/kuma/templates/cp-webhooks-and-secrets.yaml selectors + pkg/plugins/runtime/k8s/webhooks/injector/precheck.go needToInject`, async (t) => {
  const R = 'refused';
  const table: [string | undefined, string | undefined, boolean | typeof R, RegExp][] = [
    // namespace label, pod label, injected?, reason
    [undefined, undefined, false, /the namespace has no label kuma.io\/sidecar-injection, so Kuma's webhooks are not called/],
    [undefined, 'enabled', false, /pod label kuma.io\/sidecar-injection=enabled counts only in a namespace that carries the label/],
    ['enabled', undefined, true, /^namespace label kuma.io\/sidecar-injection=enabled enables Kuma's sidecar$/],
    ['true', undefined, true, /namespace label kuma.io\/sidecar-injection=true enables/],
    ['yes', undefined, false, /namespace label kuma.io\/sidecar-injection=yes is not "enabled" or "true"/],
    ['disabled', undefined, false, /is called only for pods labelled exactly kuma.io\/sidecar-injection=enabled/],
    ['disabled', 'enabled', true, /pod label kuma.io\/sidecar-injection=enabled enables Kuma's sidecar \(it overrides the namespace label kuma.io\/sidecar-injection=disabled\)/],
    ['disabled', 'true', false, /\(this pod has kuma.io\/sidecar-injection=true\)/],
    ['bogus', 'enabled', true, /pod label .*=enabled enables/],
    ['enabled', 'disabled', false, /pod label kuma.io\/sidecar-injection=disabled disables Kuma's sidecar \(it overrides/],
    ['enabled', 'no', false, /=no disables/],
    ['true', 'yes', true, /=yes enables/],
    ['enabled', 'false', false, /disables/],
    ['enabled', 'on', R, /pod label kuma.io\/sidecar-injection=on is not one of "enabled", "true", "yes", "disabled", "false", "no", so Kuma's injector refuses the pod/],
    ['enabled', 'Enabled', R, /refuses the pod/],
    ['enabled', '', R, /refuses the pod/],
  ];
  for (const [nsValue, podValue, want, reason] of table) {
    const d = would(podLabel(podValue), nsLabel(nsValue));
    t.equal(d.value, want === true, `namespace ${nsValue}, pod ${podValue}`);
    t.match(d.reason, reason, `namespace ${nsValue}, pod ${podValue}`);
  }
  t.equal(would(pod(), ns('db', {}, { [LABEL]: 'enabled' })).value, false, 'a namespace annotation is not the label');
  t.equal(would(pod({ annotations: { [LABEL]: 'enabled' } }), nsLabel('disabled')).value, false, 'a pod annotation is not the label');
});

t.test(`${KUMA} cp-webhooks-and-secrets.yaml namespaceSelector: kube-system and the release namespace are never called`, async (t) => {
  for (const name of ['kube-system', 'kuma-system']) {
    const d = would(podLabel('enabled'), ns(name, { [LABEL]: 'enabled' }));
    t.equal(d.value, false, name);
    t.match(d.reason, /Kuma's chart leaves out kube-system and its own namespace/);
  }
});

t.test(`${KUMA} precheck.go isInjectionException with kuma-cp.defaults.yaml injector.exceptions.labels`, async (t) => {
  for (const key of ['openshift.io/build.name', 'openshift.io/deployer-pod-for.name']) {
    const d = would(pod({ labels: { [key]: 'x' } }), nsLabel('enabled'));
    t.equal(d.value, false, key);
    t.match(d.reason, /one of kuma-cp's default injector exceptions/);
  }
});

t.test(`${KUMA} pkg/plugins/runtime/k8s/metadata/annotations.go GetEnabled: label values`, async (t) => {
  for (const v of ['enabled', 'disabled', 'true', 'false', 'yes', 'no']) t.same(kuma.labelErrors!({ [LABEL]: v }), [], v);
  for (const v of ['on', 'True', '1', '']) {
    t.match(kuma.labelErrors!({ [LABEL]: v }), [{ key: LABEL, message: /its injector refuses a pod whose label has any other value/ }], JSON.stringify(v));
  }
  t.same(kuma.labelErrors!({ app: 'db' }), []);
});

t.test(`${KUMA} metadata/annotations.go PodAnnotationDeprecations: kuma.io/sidecar-injection as an annotation is ignored`, async (t) => {
  for (const v of ['enabled', 'on']) {
    t.equal(kuma.checkAnnotation(LABEL, v), undefined, v);
    t.match(kuma.annotationWarning!(LABEL, v), /Kuma reads kuma.io\/sidecar-injection only as a label; as an annotation it is ignored/);
  }
  t.equal(kuma.annotationWarning!('kuma.io/mesh', 'default'), undefined);
});

// Ports.Set (pkg/transparentproxy/config/config.go) → parsePort (config/utils.go).
t.test(`${KUMA} pkg/transparentproxy/config/config.go Ports.Set / utils.go parsePort: exclude-port lists`, async (t) => {
  const table: [string, RegExp | undefined][] = [
    ['1,65535', undefined],
    [' 9017 , 9021 ', undefined],
    ['9017,,9021', undefined],
    ['9017,', undefined],
    ['', undefined],
    [',', undefined],
    ['09017', undefined],
    ['0', /element 1 \("0"\) is outside the port range 1–65535/],
    ['65536', /outside the port range/],
    ['9000-9100', /is a range/],
    ['+80', /is not a port number/],
    ['80,x', /element 2 \("x"\) is not a port number/],
  ];
  for (const key of [IN, OUT]) {
    for (const [value, error] of table) {
      const got = kuma.checkAnnotation(key, value);
      if (error === undefined) t.equal(got, undefined, `${key} ${JSON.stringify(value)}`);
      else t.match(got, error, `${key} ${JSON.stringify(value)}`);
    }
  }
  t.match(kuma.checkAnnotation(IN, '0'), /^Kuma's injector refuses the pod, it cannot parse this port list: /);
  t.equal(kuma.checkAnnotation('kuma.io/mesh', 'default'), undefined, 'other keys are not judged');
});

t.test('mutation rule 2 on a Kuma list: blank elements Kuma skips stay, the consensus ports are appended', async (t) => {
  const ex = kuma.portExclusion!;
  t.equal(mergePorts('9017,,80', [9017, 9021], ex), '9017,,80,9021');
  t.equal(mergePorts('80,', [9017], ex), '80,9017');
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
  t.equal(would(pod({ containers: [container('kuma-sidecar')] }), nsLabel('disabled')).value, true, 'already injected');
});

t.test('contract data', async (t) => {
  t.ok(kuma.selectedByNamespace(nsLabel('disabled')));
  t.notOk(kuma.selectedByNamespace(ns('db')));
  t.ok(kuma.ownsAnnotationKey('kuma.io/mesh'));
  t.ok(kuma.ownsAnnotationKey(IN));
  t.notOk(kuma.ownsAnnotationKey('kumaio/mesh'));
  t.same(kuma.portExclusion, { inbound: IN, outbound: OUT, ranges: false });
  t.same(kuma.optOut, { labels: { [LABEL]: 'disabled' } });
});
