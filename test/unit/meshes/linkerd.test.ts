import t from 'tap';
import { linkerd } from '../../../policies/meshes/linkerd.js';
import { DEFAULT_MESH_OPTIONS } from '../../../policies/meshes/types.js';
import { mergePorts } from '../../../policies/values/port-list.js';
import { container, nativeSidecar, ns, pod } from './fixtures/objects.js';

const INJECT = 'linkerd.io/inject';
const would = (p: Parameters<typeof linkerd.wouldMesh>[0], n: Parameters<typeof linkerd.wouldMesh>[1]) => linkerd.wouldMesh(p, n, DEFAULT_MESH_OPTIONS);
const nsWith = (v: string) => ns('db', {}, { [INJECT]: v });
const podWith = (v: string) => pod({ annotations: { [INJECT]: v } });

t.test('namespace enabled or ingress injects unless the pod says disabled', async (t) => {
  for (const v of ['enabled', 'ingress']) {
    const d = would(pod(), nsWith(v));
    t.equal(d.value, true, v);
    t.equal(d.reason, `namespace annotation linkerd.io/inject=${v} injects the namespace`);
  }
  const agree = would(podWith('enabled'), nsWith('enabled'));
  t.match(agree.reason, /and the pod annotation linkerd.io\/inject=enabled agrees/);
  const off = would(podWith('disabled'), nsWith('enabled'));
  t.equal(off.value, false);
  t.match(off.reason, /but the pod annotation linkerd.io\/inject=disabled opts this pod out/);
});

t.test('the pod alone can opt in', async (t) => {
  t.same(would(podWith('enabled'), ns('db')), { value: true, reason: 'pod annotation linkerd.io/inject=enabled injects the pod' });
  t.equal(would(podWith('ingress'), nsWith('disabled')).value, true, 'pod enabled in a disabled namespace');
  t.match(would(podWith('disabled'), ns('db')).reason, /injection disabled by the pod annotation/);
  t.match(would(pod(), nsWith('disabled')).reason, /injection disabled by the namespace annotation/);
  const nothing = would(pod(), ns('db'));
  t.equal(nothing.value, false);
  t.match(nothing.reason, /neither the namespace nor the pod has the annotation linkerd.io\/inject=enabled/);
  t.equal(would(pod({ labels: { [INJECT]: 'enabled' } }), ns('db')).value, false, 'a label is not the annotation');
});

t.test('an invalid value anywhere means no injection', async (t) => {
  const badNs = would(podWith('enabled'), nsWith('true'));
  t.equal(badNs.value, false);
  t.equal(badNs.reason, "the namespace annotation linkerd.io/inject=true is not one of enabled, disabled, ingress, so Linkerd's injector skips the pod");
  const badPod = would(podWith('Enabled'), nsWith('enabled'));
  t.equal(badPod.value, false);
  t.match(badPod.reason, /the pod annotation linkerd.io\/inject=Enabled is not one of/);
  t.match(would(podWith(''), ns('db')).reason, /linkerd.io\/inject="" is not one of/);
});

t.test('hostNetwork is never injected; an existing proxy is meshed', async (t) => {
  const d = would(pod({ hostNetwork: true }), nsWith('enabled'));
  t.equal(d.value, false);
  t.match(d.reason, /never injects hostNetwork pods/);
  t.equal(would(pod({ containers: [container('app'), container('linkerd-proxy')] }), ns('db')).value, true);
});

t.test('isMeshed', async (t) => {
  const n = ns('db');
  t.same(linkerd.isMeshed(pod({ containers: [container('linkerd-proxy'), container('app')] }), n), { value: true, reason: 'Linkerd\'s proxy is present (container "linkerd-proxy")' });
  t.equal(linkerd.isMeshed(pod({ initContainers: [container('linkerd-init'), nativeSidecar('linkerd-proxy')] }), n).value, true, 'native sidecar');
  t.equal(linkerd.isMeshed(pod({ initContainers: [container('linkerd-proxy')] }), n).value, false, 'init container without Always');
  t.equal(linkerd.isMeshed(pod({ initContainers: [nativeSidecar('linkerd-init')] }), n).value, false);
  const logging = linkerd.isMeshed(pod({ containers: [container('app'), container('log-shipper')] }), n);
  t.equal(logging.value, false, 'a second container is not a proxy');
  t.match(logging.reason, /no linkerd-proxy container/);
  t.equal(linkerd.isMeshed(pod({ annotations: { [INJECT]: 'enabled' } }), n).value, false, 'the switch is not the proxy');
});

t.test('checkAnnotation', async (t) => {
  for (const v of ['enabled', 'disabled', 'ingress']) t.equal(linkerd.checkAnnotation(INJECT, v), undefined, v);
  t.match(linkerd.checkAnnotation(INJECT, 'true'), /Linkerd accepts only "enabled", "disabled", "ingress" here .*use "enabled"/);
  for (const k of ['config.linkerd.io/skip-inbound-ports', 'config.linkerd.io/skip-outbound-ports']) {
    t.equal(linkerd.checkAnnotation(k, '4567,4568,9000-9100'), undefined, k);
    t.match(linkerd.checkAnnotation(k, '9100-9000'), /Linkerd cannot parse this port list: element 1 \("9100-9000"\) runs backwards/, k);
    t.match(linkerd.checkAnnotation(k, '80,,81'), /element 2 \(""\) is empty/, k);
  }
  for (const s of ['cpu-request', 'cpu-limit', 'memory-request', 'memory-limit']) {
    t.equal(linkerd.checkAnnotation(`config.linkerd.io/proxy-${s}`, '64Mi'), undefined, s);
    t.match(linkerd.checkAnnotation(`config.linkerd.io/proxy-${s}`, '-1'), /Linkerd cannot use this as the proxy's resources: "-1" is negative/, s);
  }
  t.equal(linkerd.checkAnnotation('config.linkerd.io/opaque-ports', 'mysql'), undefined, 'other keys are not judged');
});

t.test('selection, ownership, mutation data', async (t) => {
  t.ok(linkerd.selectedByNamespace(nsWith('disabled')), 'any value names Linkerd');
  t.notOk(linkerd.selectedByNamespace(ns('db', { [INJECT]: 'enabled' })), 'a namespace label is not the annotation');
  t.ok(linkerd.ownsAnnotationKey('config.linkerd.io/skip-inbound-ports'));
  t.ok(linkerd.ownsAnnotationKey(INJECT));
  t.notOk(linkerd.ownsAnnotationKey('viz.linkerd.io/tap'));
  const { startValue, ...rest } = linkerd.portExclusion!;
  t.same(rest, { inbound: 'config.linkerd.io/skip-inbound-ports', outbound: 'config.linkerd.io/skip-outbound-ports', ranges: true });
  // The list Linkerd uses without a pod annotation: the namespace's (copied onto the pod), else 4567,4568.
  t.equal(startValue!('config.linkerd.io/skip-inbound-ports', ns('db')), '4567,4568');
  t.equal(startValue!('config.linkerd.io/skip-outbound-ports', nsWith('enabled')), '4567,4568');
  t.equal(startValue!('config.linkerd.io/skip-inbound-ports', ns('db', {}, { 'config.linkerd.io/skip-inbound-ports': '25' })), '25');
  t.same(linkerd.optOut, { annotations: { [INJECT]: 'disabled' } });
});

t.test('linkerd exclusion merge: defaults kept, ranges cover consensus ports', async (t) => {
  const ex = linkerd.portExclusion!;
  t.equal(mergePorts(ex.startValue!(ex.inbound, ns('db')), [9017, 9021], ex), '4567,4568,9017,9021');
  t.equal(mergePorts('9000-9030', [9017, 9021], ex), '9000-9030', 'a range already covering both ports adds nothing');
  t.equal(mergePorts('9000-9020', [9017, 9021], ex), '9000-9020,9021');
});

// linkerd/linkerd2 pkg/inject/inject.go: AppendNamespaceAnnotations copies a namespace's
// config annotation onto a workload that lacks it (GetConfigOverride: the workload's own
// value wins), and ApplyAnnotationOverrides then sets values.ProxyInit.IgnoreInboundPorts /
// IgnoreOutboundPorts to the annotation as a whole (no merge). Without either, the chart's
// proxyInit.ignoreInboundPorts / ignoreOutboundPorts apply: "4567,4568"
// (charts/linkerd-control-plane/values.yaml).
t.test('the skip-port list Linkerd uses: pod, else namespace, else 4567,4568 (table from pkg/inject/inject.go)', async (t) => {
  const ex = linkerd.portExclusion!;
  const table: [string | undefined, string | undefined, string][] = [
    [undefined, undefined, '4567,4568'],
    [undefined, '25', '25'],
    ['3306', '25', '3306'],
    ['3306', undefined, '3306'],
    ['', '25', ''],
  ];
  for (const key of [ex.inbound, ex.outbound]) {
    for (const [podValue, nsValue, uses] of table) {
      const n = ns('db', {}, nsValue === undefined ? {} : { [key]: nsValue });
      t.equal(podValue ?? ex.startValue!(key, n), uses, `${key}: pod ${podValue}, namespace ${nsValue}`);
    }
  }
});
