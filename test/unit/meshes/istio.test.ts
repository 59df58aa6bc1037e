import t from 'tap';
import { ISTIO_IGNORED_NAMESPACES, istio, istioProxy } from '../../../policies/meshes/istio.js';
import { DEFAULT_MESH_OPTIONS } from '../../../policies/meshes/types.js';
import { container, nativeSidecar, ns, pod } from './fixtures/objects.js';

const would = (p: Parameters<typeof istio.wouldMesh>[0], n: Parameters<typeof istio.wouldMesh>[1]) => istio.wouldMesh(p, n, DEFAULT_MESH_OPTIONS);

t.test('namespace istio-injection=enabled', async (t) => {
  const enabled = ns('db', { 'istio-injection': 'enabled' });
  const d = would(pod(), enabled);
  t.equal(d.value, true);
  t.match(d.reason, /namespace label istio-injection=enabled injects the namespace, and the pod does not opt out/);

  const optedOut = would(pod({ labels: { 'sidecar.istio.io/inject': 'false' } }), enabled);
  t.equal(optedOut.value, false);
  t.match(optedOut.reason, /pod label sidecar.istio.io\/inject=false opts this pod out/);

  const annotationOff = would(pod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), enabled);
  t.equal(annotationOff.value, false, 'the injector reads the annotation once reached');
  t.match(annotationOff.reason, /pod annotation sidecar.istio.io\/inject=false turns injection off/);

  const labelWins = would(pod({ labels: { 'sidecar.istio.io/inject': 'true' }, annotations: { 'sidecar.istio.io/inject': 'false' } }), enabled);
  t.equal(labelWins.value, true, 'the label wins over the annotation');
  t.match(labelWins.reason, /the label wins over the annotation sidecar.istio.io\/inject=false/);

  t.equal(would(pod({ annotations: { 'sidecar.istio.io/inject': '' } }), enabled).value, true, 'empty switch means the default');
});

// injectRequired (pkg/kube/inject/inject.go) reads only exactly "true" and "false"; any
// other value is ignored with a log line and the injection policy (the namespace) decides.
t.test('a switch value other than exactly true/false is ignored: the namespace decides', async (t) => {
  const enabled = ns('db', { 'istio-injection': 'enabled' });
  for (const v of ['False', 'no', '0', 'off', 'yes', '1', 'True', 'on', 'enabled', ' false']) {
    const byLabel = would(pod({ labels: { 'sidecar.istio.io/inject': v } }), enabled);
    t.equal(byLabel.value, true, `label ${JSON.stringify(v)}`);
    t.match(byLabel.reason, /is neither "true" nor "false", so Istio ignores it and the namespace decides/);
    t.equal(would(pod({ annotations: { 'sidecar.istio.io/inject': v } }), enabled).value, true, `annotation ${JSON.stringify(v)}`);
    t.equal(would(pod({ labels: { 'sidecar.istio.io/inject': v } }), ns('db', { 'istio.io/rev': 'default' })).value, true, `rev namespace, label ${JSON.stringify(v)}`);
  }
  const ignoredLabelShadows = would(pod({ labels: { 'sidecar.istio.io/inject': 'no' }, annotations: { 'sidecar.istio.io/inject': 'false' } }), enabled);
  t.equal(ignoredLabelShadows.value, true, 'a present label is read even when its value is ignored: the annotation is not consulted');
  t.equal(would(pod({ labels: { 'sidecar.istio.io/inject': 'no', 'istio.io/rev': 'default' } }), ns('db')).value, true, 'a revision-selected pod with an ignored value is injected');
});

t.test('namespace istio-injection with any other value beats the pod', async (t) => {
  const d = would(pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), ns('db', { 'istio-injection': 'disabled' }));
  t.equal(d.value, false);
  t.equal(d.reason, 'namespace label istio-injection=disabled turns injection off whatever the pod says');
  t.equal(would(pod({ labels: { 'istio.io/rev': 'canary' } }), ns('db', { 'istio-injection': 'Enabled' })).value, false, 'value is case-sensitive');
  t.equal(would(pod(), ns('db', { 'istio-injection': 'disabled', 'istio.io/rev': 'canary' })).value, false, 'istio-injection is read before istio.io/rev');
});

t.test('namespace istio.io/rev acts as enabled', async (t) => {
  const rev = ns('db', { 'istio.io/rev': '1-22' });
  const d = would(pod(), rev);
  t.equal(d.value, true);
  t.match(d.reason, /namespace label istio.io\/rev=1-22 injects the namespace/);
  t.equal(would(pod({ labels: { 'sidecar.istio.io/inject': 'false' } }), rev).value, false);
});

t.test('no namespace label: only pod labels select', async (t) => {
  const plain = ns('db');
  const byLabel = would(pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), plain);
  t.equal(byLabel.value, true);
  t.match(byLabel.reason, /pod label sidecar.istio.io\/inject=true selects the pod/);

  const annotationOnly = would(pod({ annotations: { 'sidecar.istio.io/inject': 'true' } }), plain);
  t.equal(annotationOnly.value, false, 'the annotation form alone does nothing');
  t.match(annotationOnly.reason, /annotation sidecar.istio.io\/inject=true alone does nothing: Istio's webhook selects pods by the label; set the pod label sidecar.istio.io\/inject=true/);

  const podRev = would(pod({ labels: { 'istio.io/rev': 'canary' } }), plain);
  t.equal(podRev.value, true);
  t.match(podRev.reason, /pod label istio.io\/rev=canary selects the pod for revision injection/);

  const podRevOff = would(pod({ labels: { 'istio.io/rev': 'canary' }, annotations: { 'sidecar.istio.io/inject': 'false' } }), plain);
  t.equal(podRevOff.value, false, 'a revision-selected pod still reads the annotation');

  const podRevLabelOff = would(pod({ labels: { 'istio.io/rev': 'canary', 'sidecar.istio.io/inject': 'false' } }), plain);
  t.equal(podRevLabelOff.value, false, 'the revision webhook does not select inject=false pods');

  const weirdLabel = would(pod({ labels: { 'sidecar.istio.io/inject': 'True' } }), plain);
  t.equal(weirdLabel.value, false, 'the object selector matches "true" exactly');
  t.match(weirdLabel.reason, /the pod label sidecar.istio.io\/inject=True is not "true"/);

  const nothing = would(pod(), plain);
  t.equal(nothing.value, false);
  t.match(nothing.reason, /nothing selects the pod for Istio injection/);
});

t.test('hostNetwork and excluded namespaces are never injected', async (t) => {
  const enabled = { 'istio-injection': 'enabled' };
  const host = would(pod({ hostNetwork: true }), ns('db', enabled));
  t.equal(host.value, false);
  t.match(host.reason, /never injects hostNetwork pods/);
  t.same(ISTIO_IGNORED_NAMESPACES, ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);
  for (const name of ISTIO_IGNORED_NAMESPACES) {
    const d = would(pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), ns(name, enabled));
    t.equal(d.value, false, name);
    t.equal(d.reason, `Istio never injects pods in namespace ${name}`);
  }
});

t.test('a template that already carries the proxy is meshed', async (t) => {
  const d = would(pod({ containers: [container('app'), container('istio-proxy')] }), ns('db', { 'istio-injection': 'disabled' }));
  t.equal(d.value, true);
  t.match(d.reason, /already carries Istio's proxy \(container "istio-proxy"\)/);
});

t.test('isMeshed finds the proxy, never counts containers', async (t) => {
  const n = ns('db');
  t.same(istio.isMeshed(pod({ containers: [container('app'), container('istio-proxy')] }), n), { value: true, reason: 'Istio\'s proxy is present (container "istio-proxy")' });
  const native = istio.isMeshed(pod({ initContainers: [container('istio-init'), nativeSidecar('istio-proxy')] }), n);
  t.equal(native.value, true, 'native sidecar');
  t.match(native.reason, /native sidecar "istio-proxy" \(init container with restartPolicy: Always\)/);
  t.equal(istio.isMeshed(pod({ initContainers: [container('istio-proxy')] }), n).value, false, 'an init container without Always is not a proxy');
  t.equal(istio.isMeshed(pod({ initContainers: [container('istio-proxy', { restartPolicy: 'OnFailure' })] }), n).value, false);
  const logging = istio.isMeshed(pod({ containers: [container('app'), container('fluent-bit')] }), n);
  t.equal(logging.value, false, 'a logging sidecar is not a proxy');
  t.match(logging.reason, /no istio-proxy container and no sidecar.istio.io\/status annotation/);
  t.match(istio.isMeshed(pod({ annotations: { 'sidecar.istio.io/status': '{}' } }), n).reason, /annotation sidecar.istio.io\/status/);
  t.equal(istioProxy(pod({ containers: [null as never, { image: 'x' }, container('app')] })), undefined, 'junk entries are tolerated');
});

t.test('namespace selection and key ownership', async (t) => {
  t.ok(istio.selectedByNamespace(ns('db', { 'istio-injection': 'enabled' })));
  t.ok(istio.selectedByNamespace(ns('db', { 'istio-injection': 'disabled' })), 'the namespace still names Istio');
  t.ok(istio.selectedByNamespace(ns('db', { 'istio.io/rev': 'x' })));
  t.notOk(istio.selectedByNamespace(ns('db', { 'istio.io/dataplane-mode': 'ambient' })));
  t.notOk(istio.selectedByNamespace(ns('db', {}, { 'istio-injection': 'enabled' })), 'an annotation is not a label');
  for (const k of ['sidecar.istio.io/inject', 'traffic.sidecar.istio.io/excludeInboundPorts', 'proxy.istio.io/config', 'status.sidecar.istio.io/port', 'readiness.status.sidecar.istio.io/periodSeconds', 'prometheus.istio.io/merge-metrics', 'istio.io/reroute-virtual-interfaces']) t.ok(istio.ownsAnnotationKey(k), k);
  for (const k of ['istio.io/rev', 'linkerd.io/inject', 'sidecar.istio.io', 'xsidecar.istio.io/inject', 'inject']) t.notOk(istio.ownsAnnotationKey(k), k);
});

// istio-cni reads the injected pod again with rules of its own (cni/pkg/plugin at the
// istio.io/istio version pinned in test/differential/istio/go.mod): doAddRun reads the
// switch, label first, with strconv.ParseBool and sets up nothing on false; NewRedirect
// validates interceptionMode (validateInterceptionMode: REDIRECT, TPROXY) and
// includeOutboundPorts (validatePortListWithWildcard). The differential tier runs the plugin.
t.test('istio-cni: doAddRun and NewRedirect (cni/pkg/plugin) as the warnings name them', async (t) => {
  const warn = istio.annotationWarning!;
  for (const v of ['0', 'f', 'F', 'FALSE', 'False']) {
    t.match(istio.labelWarnings!({ 'sidecar.istio.io/inject': v })[0]?.message, /istio-cni .* ParseBool as false and sets up no traffic redirection/, `label ${v}`);
    t.match(warn('sidecar.istio.io/inject', v, {}), /istio-cni .*reads the label sidecar.istio.io\/inject instead where the pod has one/, `annotation ${v}, no label`);
    t.notMatch(warn('sidecar.istio.io/inject', v, { 'sidecar.istio.io/inject': 'true' }), /istio-cni/, `annotation ${v} under a label: the plugin reads the label`);
  }
  for (const v of ['True', '1', 'yes', 'no', 'off', '']) {
    t.notMatch(istio.labelWarnings!({ 'sidecar.istio.io/inject': v })[0]?.message ?? '', /istio-cni/, `label ${JSON.stringify(v)}: ParseBool does not read it as false`);
  }
  t.match(warn('sidecar.istio.io/interceptionMode', 'NONE'), /none of the pod's traffic passes through it.*istio-cni.*ContainerCreating/);
  t.equal(warn('sidecar.istio.io/interceptionMode', 'TPROXY'), undefined);
  t.match(warn('traffic.sidecar.istio.io/includeOutboundPorts', '70000'), /istio-init container, and where istio-cni is installed, its plugin refuses this value/);
  t.match(warn('traffic.sidecar.istio.io/includeOutboundPorts', ' * '), /istio-cni/, 'the plugin compares with "*" before trimming');
  t.notMatch(warn('traffic.sidecar.istio.io/includeOutboundPorts', '*') ?? '', /istio-cni/, 'the plugin takes "*"');
});

t.test('checkAnnotation follows Istio value rules', async (t) => {
  const check = istio.checkAnnotation;
  t.equal(check('sidecar.istio.io/inject', 'true'), undefined);
  t.equal(check('sidecar.istio.io/inject', 'false'), undefined);
  for (const v of ['True', 'yes', 'enabled', '']) {
    t.equal(check('sidecar.istio.io/inject', v), undefined, `${JSON.stringify(v)} is not refused`);
    t.match(istio.annotationWarning!('sidecar.istio.io/inject', v), /Istio reads only exactly "true" or "false" here and ignores .* so the namespace decides/, v);
  }
  t.same(istio.labelWarnings!({ 'sidecar.istio.io/inject': 'no' }).map((w) => w.key), ['sidecar.istio.io/inject']);
  t.same(istio.labelWarnings!({ 'sidecar.istio.io/inject': 'false' }), []);

  t.equal(check('traffic.sidecar.istio.io/excludeInboundPorts', '9017,9021'), undefined);
  t.equal(check('traffic.sidecar.istio.io/excludeOutboundPorts', '0,65535'), undefined);
  t.match(check('traffic.sidecar.istio.io/excludeOutboundPorts', '9017-9021'), /Istio's injector refuses the pod: element 1 \("9017-9021"\) is a range/);
  t.match(check('traffic.sidecar.istio.io/excludeInboundPorts', '9017,,9021'), /element 2 \(""\) is empty/);
  t.match(check('traffic.sidecar.istio.io/excludeInboundPorts', '*'), /not accepted here/);
  // Not validated by Istio (absent from AnnotationValidation): a warning, never a refusal.
  t.equal(check('traffic.sidecar.istio.io/includeOutboundPorts', '*'), undefined);
  t.match(istio.annotationWarning!('traffic.sidecar.istio.io/includeOutboundPorts', '80-90'), /Istio's injector does not check this value; istio-iptables hands each element to iptables as written/);
  t.equal(istio.annotationWarning!('traffic.sidecar.istio.io/includeOutboundPorts', '80,90'), undefined);
  t.equal(check('traffic.sidecar.istio.io/includeInboundPorts', '*'), undefined, '* only in includeInboundPorts');
  t.match(check('traffic.sidecar.istio.io/includeInboundPorts', ' * '), /must be the whole value/, 'Istio compares with "*" literally');
  t.match(check('traffic.sidecar.istio.io/includeInboundPorts', '65536'), /outside the port range/);

  t.equal(check('traffic.sidecar.istio.io/includeOutboundIPRanges', '*'), undefined);
  t.equal(check('traffic.sidecar.istio.io/excludeOutboundIPRanges', '10.96.0.1/32,fd00::/8'), undefined);
  t.match(check('traffic.sidecar.istio.io/excludeOutboundIPRanges', '*'), /Istio's injector refuses the pod: "\*" is not accepted here/);
  t.equal(check('traffic.sidecar.istio.io/excludeInboundIPRanges', '10.0.0.1'), undefined, 'Istio does not validate this key');

  for (const k of ['proxyCPU', 'proxyMemory', 'proxyCPULimit', 'proxyMemoryLimit']) {
    t.equal(check(`sidecar.istio.io/${k}`, '100m'), undefined, k);
    t.match(check(`sidecar.istio.io/${k}`, '1GB'), /Istio cannot use this as the proxy's resources: "1GB" is not a Kubernetes quantity/, k);
    for (const z of ['-', '+', '.']) t.equal(check(`sidecar.istio.io/${k}`, z), undefined, `${z} is a quantity (zero)`);
    t.match(check(`sidecar.istio.io/${k}`, '-100m'), /is negative: the mesh copies it into the proxy container's resources, and the API server then refuses the pod/);
  }
  t.same(
    istio.checkAnnotationSet!({ 'sidecar.istio.io/proxyCPU': '2', 'sidecar.istio.io/proxyCPULimit': '1500m', 'sidecar.istio.io/proxyMemory': '1Gi', 'sidecar.istio.io/proxyMemoryLimit': '1Gi' }).map((e) => e.key),
    ['sidecar.istio.io/proxyCPU'],
    'a request above its limit is refused by the API server',
  );
  t.match(istio.checkAnnotationSet!({ 'sidecar.istio.io/proxyMemory': '2Gi', 'sidecar.istio.io/proxyMemoryLimit': '1Gi' })[0]!.message, /Istio injects it as written and the API server then refuses the pod/);

  // validateInterceptionMode: exact names.
  t.equal(check('sidecar.istio.io/interceptionMode', 'TPROXY'), undefined);
  for (const v of ['redirect', 'REDIRECT ', '', 'tproxy']) t.match(check('sidecar.istio.io/interceptionMode', v), /must be exactly REDIRECT, TPROXY or NONE/, v);
  // validateStatusPort (parsePort: trimmed, ParseUint 16) and validateUInt32 (no trimming).
  t.equal(check('status.sidecar.istio.io/port', ' 15020 '), undefined);
  t.equal(check('status.sidecar.istio.io/port', '0'), undefined);
  for (const v of ['', '65536', '-1', 'http']) t.match(check('status.sidecar.istio.io/port', v), /is not a port number 0–65535/, v);
  t.equal(check('readiness.status.sidecar.istio.io/periodSeconds', '10'), undefined);
  for (const v of [' 10', '-1', '4294967296', '1.5']) t.match(check('readiness.status.sidecar.istio.io/failureThreshold', v), /is not a whole number/, v);
  // A uint32 above int32 passes validateUInt32 but does not fit the rendered readinessProbe:
  // refused only while there is a probe, i.e. unless the status port is 0 (the differential
  // tier found both sides: seed 703801141, case 936, status port "0" and 4294967295 injected).
  for (const v of ['4294967295', '2147483648']) t.equal(check('readiness.status.sidecar.istio.io/failureThreshold', v), undefined, v);
  const overflow = { 'readiness.status.sidecar.istio.io/periodSeconds': '4294967295' };
  t.same(istio.checkAnnotationSet!(overflow).map((e) => e.key), ['readiness.status.sidecar.istio.io/periodSeconds'], 'default status port: the probe is rendered, the value does not fit');
  t.match(istio.checkAnnotationSet!(overflow)[0]!.message, /does not fit the proxy's readinessProbe/);
  t.same(istio.checkAnnotationSet!({ ...overflow, 'status.sidecar.istio.io/port': '15021' }).length, 1, 'another status port: still a probe');
  t.same(istio.checkAnnotationSet!({ ...overflow, 'status.sidecar.istio.io/port': ' 0 ' }), [], 'status port 0: no probe, nothing to overflow');
  t.same(istio.checkAnnotationSet!({ 'readiness.status.sidecar.istio.io/periodSeconds': '2147483647' }), [], 'int32 max fits');
  // ValidateInterfaceNames.
  t.equal(check('traffic.sidecar.istio.io/excludeInterfaces', 'eth1, net1'), undefined);
  for (const v of ['eth1,', '1eth', 'averyveryverylongname', 'eth 1']) t.match(check('traffic.sidecar.istio.io/excludeInterfaces', v), /Istio's injector refuses the pod: .*interface name/, v);
  t.match(check('istio.io/reroute-virtual-interfaces', 'tap@0'), /interface name/);
  // validateBool: Go's ParseBool.
  t.equal(check('prometheus.istio.io/merge-metrics', 'F'), undefined);
  t.match(check('prometheus.istio.io/merge-metrics', 'yes'), /ParseBool/);
  // validateProxyConfig.
  t.equal(check('proxy.istio.io/config', 'concurrency: 2\nholdApplicationUntilProxyStarts: true'), undefined);
  t.equal(check('proxy.istio.io/config', 'someFutureField: 1'), undefined, 'unknown fields are ignored');
  t.match(check('proxy.istio.io/config', 'concurrency: two'), /not a valid ProxyConfig: concurrency must be a whole number/);
  t.match(check('proxy.istio.io/config', '[1, 2]'), /must be a YAML mapping/);
  t.match(check('proxy.istio.io/config', 'statusPort: 0'), /statusPort must be a port number/);
  t.equal(check('sidecar.istio.io/statsInclusionPrefixes', 'anything at all'), undefined, 'unknown keys are not judged');
  t.equal(check('linkerd.io/inject', 'bogus'), undefined, 'other meshes keys are not judged');
});

t.test('mutation data', async (t) => {
  t.same({ ...istio.portExclusion }, { inbound: 'traffic.sidecar.istio.io/excludeInboundPorts', outbound: 'traffic.sidecar.istio.io/excludeOutboundPorts', ranges: false });
  t.same(istio.optOut, { labels: { 'sidecar.istio.io/inject': 'false' } });
  t.equal(istio.name, 'istio');
  t.equal(istio.title, 'Istio');
});
