import t from 'tap';
import { linkerd, linkerdPortRange } from '../../../policies/meshes/linkerd.js';
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
  t.match(would(podWith(''), ns('db')).reason, /neither the namespace nor the pod has the annotation/, 'an empty value is none');
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
    t.match(linkerd.checkAnnotation(k, '"9017"'), /linkerd-init reads this list as CSV/, k);
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
  t.same(rest, { inbound: 'config.linkerd.io/skip-inbound-ports', outbound: 'config.linkerd.io/skip-outbound-ports', ranges: true, asWritten: true });
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

// Values Linkerd drops with only a log line (issue 13). Each table names the linkerd2 (at
// b24cd4059841f8cee2fb7a9c2ac23a693c583579) or linkerd2-proxy-init (at
// 183e791d99dcc6d4fa765b7331cbaec7ce40c2de) function it mirrors.
const L2 = 'linkerd2@b24cd40';
const PI = 'linkerd2-proxy-init@183e791';

t.test(`${L2} pkg/util/portrange.go ParsePortRange (also ${PI} pkg/util/portrange.go)`, async (t) => {
  const table: [string, { from: number; to: number } | undefined][] = [
    ['80', { from: 80, to: 80 }],
    ['0', { from: 0, to: 0 }],
    ['65535', { from: 65535, to: 65535 }],
    ['+80', { from: 80, to: 80 }],
    ['0080', { from: 80, to: 80 }],
    ['9000-9100', { from: 9000, to: 9100 }],
    ['9100-9000', undefined],
    ['65536', undefined],
    ['-1', undefined],
    ['1-2-3', undefined],
    [' 80', undefined],
    ['80 ', undefined],
    ['', undefined],
    ['http', undefined],
    ['1-', undefined],
  ];
  for (const [element, want] of table) t.same(linkerdPortRange(element), want, JSON.stringify(element));
});

t.test(`${PI} pkg/iptables/iptables.go makeMultiportDestinations: a skip-port element ParsePortRange refuses is dropped with a log line`, async (t) => {
  const table: [string, RegExp | undefined][] = [
    ['4567,4568,9000-9100', undefined],
    ['9017,', undefined],
    ['9017,,9021', undefined],
    ['', undefined],
    ['+9017', undefined],
    ['9017, 9021', /cannot parse " 9021" .* so it skips only: 9017$/],
    ['9100-9000', /cannot parse "9100-9000" .*ignores it with only a log line, so it skips only: none$/],
    ['mysql,9017 ', /cannot parse "mysql", "9017 " .*ignores them .*skips only: none$/],
    ['70000,80', /cannot parse "70000" .*skips only: 80$/],
  ];
  for (const k of ['config.linkerd.io/skip-inbound-ports', 'config.linkerd.io/skip-outbound-ports']) {
    for (const [value, warning] of table) {
      t.equal(linkerd.checkAnnotation(k, value), undefined, `${k} ${JSON.stringify(value)} is not refused`);
      const got = linkerd.annotationWarning!(k, value);
      if (warning === undefined) t.equal(got, undefined, `${k} ${JSON.stringify(value)}`);
      else t.match(got, warning, `${k} ${JSON.stringify(value)}`);
    }
  }
});

t.test('mutation rule 2 on a Linkerd list: an element with spaces covers no port (proxy-init drops it)', async (t) => {
  const ex = linkerd.portExclusion!;
  t.equal(mergePorts(' 9017', [9017, 9021], ex), ' 9017,9017,9021');
  t.equal(mergePorts('9017 ,9000-9030', [9017, 9021], ex), '9017 ,9000-9030', 'the range covers both');
  t.equal(mergePorts('9017', [9017], ex, ' 9021'), '9017,9021', "the CR's element is added trimmed");
});

t.test(`${L2} pkg/util/parsing.go ParseContainerOpaquePorts / GetPortRanges: opaque-ports entries dropped with a log line`, async (t) => {
  const K = 'config.linkerd.io/opaque-ports';
  const table: [string, RegExp | undefined][] = [
    ['3306,9000-9100', undefined],
    ['3306,', undefined],
    [' 3306 , 5432 ', undefined],
    ['mysql,http-alt', undefined],
    ['3306,,5432', /ignores "" .*opaque ports are: 3306,5432$/],
    ['', /ignores "" .*chart default 25,587,3306,4444,5432,6379,9300,11211\), so the pod's opaque ports are: none$/],
    ['3306,MySQL', /ignores "MySQL"/],
    ['9100-9000', /ignores "9100-9000"/],
    ['3306,,', /ignores ""/],
    ['a--b', /ignores "a--b"/],
    ['1234567890abcdef', /ignores "1234567890abcdef"/],
  ];
  for (const [value, warning] of table) {
    t.equal(linkerd.checkAnnotation(K, value), undefined, JSON.stringify(value));
    const got = linkerd.annotationWarning!(K, value);
    if (warning === undefined) t.equal(got, undefined, JSON.stringify(value));
    else t.match(got, warning, JSON.stringify(value));
  }
});

t.test(`${L2} pkg/inject/inject.go ApplyAnnotationOverrides: proxy-await, default-inbound-policy, proxy-wait-before-exit-seconds`, async (t) => {
  const table: [string, string, RegExp | undefined][] = [
    ['config.linkerd.io/proxy-await', 'enabled', undefined],
    ['config.linkerd.io/proxy-await', 'disabled', undefined],
    ['config.linkerd.io/proxy-await', 'true', /accepts only "enabled" or "disabled" here; it ignores this value and uses the installation's proxy.await \(chart default true/],
    ['config.linkerd.io/proxy-await', 'Enabled', /ignores this value/],
    ...['all-unauthenticated', 'all-authenticated', 'cluster-unauthenticated', 'cluster-authenticated', 'deny', 'audit'].map((v): [string, string, undefined] => ['config.linkerd.io/default-inbound-policy', v, undefined]),
    ['config.linkerd.io/default-inbound-policy', 'authenticated', /uses the installation's proxy.defaultInboundPolicy \(chart default all-unauthenticated\)/],
    ['config.linkerd.io/default-inbound-policy', 'Deny', /ignores this value/],
    ['config.alpha.linkerd.io/proxy-wait-before-exit-seconds', '0', undefined],
    ['config.alpha.linkerd.io/proxy-wait-before-exit-seconds', '30', undefined],
    ['config.alpha.linkerd.io/proxy-wait-before-exit-seconds', '18446744073709551615', undefined],
    ['config.alpha.linkerd.io/proxy-wait-before-exit-seconds', '18446744073709551616', /strconv.ParseUint .*uses the installation's proxy.waitBeforeExitSeconds \(chart default 0/],
    ['config.alpha.linkerd.io/proxy-wait-before-exit-seconds', '30s', /ignores this value/],
    ['config.alpha.linkerd.io/proxy-wait-before-exit-seconds', '-1', /ignores this value/],
    ['config.alpha.linkerd.io/proxy-wait-before-exit-seconds', '+5', /ignores this value/],
  ];
  for (const [key, value, warning] of table) {
    t.equal(linkerd.checkAnnotation(key, value), undefined, `${key} ${value}`);
    const got = linkerd.annotationWarning!(key, value);
    if (warning === undefined) t.equal(got, undefined, `${key} ${value}`);
    else t.match(got, warning, `${key} ${value}`);
  }
  t.equal(linkerd.annotationWarning!('config.linkerd.io/proxy-log-level', 'whatever'), undefined, 'other keys are not judged');
});

t.test(`${L2} pkg/inject/report.go disabledByAnnotation / isInjectAnnotationValid: an empty linkerd.io/inject is none`, async (t) => {
  const table: [string | undefined, string | undefined, boolean][] = [
    ['enabled', '', true],
    ['', 'enabled', true],
    ['', '', false],
    ['', 'disabled', false],
    ['disabled', '', false],
  ];
  for (const [nsValue, podValue, want] of table) {
    const n = ns('db', {}, nsValue === undefined ? {} : { [INJECT]: nsValue });
    const p = pod({ annotations: podValue === undefined ? {} : { [INJECT]: podValue } });
    t.equal(would(p, n).value, want, `namespace ${JSON.stringify(nsValue)}, pod ${JSON.stringify(podValue)}`);
  }
  t.equal(linkerd.checkAnnotation(INJECT, ''), undefined);
  t.match(linkerd.annotationWarning!(INJECT, ''), /Linkerd reads an empty linkerd.io\/inject as if it were absent/);
  t.equal(linkerd.annotationWarning!(INJECT, 'enabled'), undefined);
});

t.test(`${L2} pkg/inject/inject.go ApplyAnnotationOverrides: proxy resources ParseQuantity refuses are ignored; negative ones reach the API server`, async (t) => {
  for (const s of ['cpu-request', 'cpu-limit', 'memory-request', 'memory-limit']) {
    const k = `config.linkerd.io/proxy-${s}`;
    t.equal(linkerd.checkAnnotation(k, '64Mi'), undefined, s);
    t.equal(linkerd.annotationWarning!(k, '64Mi'), undefined, s);
    t.match(linkerd.checkAnnotation(k, '-1'), /Linkerd copies it into the proxy's resources: "-1" is negative: .*the API server then refuses the pod/, s);
    t.equal(linkerd.annotationWarning!(k, '-1'), undefined, s);
    t.equal(linkerd.checkAnnotation(k, '100 m'), undefined, `${s}: not refused`);
    t.match(linkerd.annotationWarning!(k, '100 m'), /Linkerd cannot parse this quantity .*; it ignores the value with only a log line and the installation's proxy.resources apply/, s);
  }
});
