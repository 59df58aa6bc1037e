// Validation of spec.serviceMesh on cluster CRs: MG101-MG107 and MG206.
import t from 'tap';
import { DEFAULT_CONFIG } from '../../../policies/config.js';
import type { Finding } from '../../../policies/findings.js';
import type { KubeObject } from '../../../policies/k8s.js';
import { findingsOf, validateObject } from '../../../policies/review.js';
import { antflyCluster, namespace, NS, observabilityPlatform, runValidate, view } from './fixtures/objects.js';

/** `ns: null` = the namespace is not in the view (offline, unknown). */
const check = (cr: KubeObject, ns: KubeObject | null = namespace()): Finding[] => {
  const d = validateObject(cr, NS, ns ? view(ns) : view(), DEFAULT_CONFIG, 'live');
  t.equal(d.type, 'judged');
  return findingsOf(d);
};
const only = (fs: Finding[], rule: string) => fs.filter((f) => f.rule === rule);
const op = (serviceMesh: unknown) => observabilityPlatform({ serviceMesh });
const af = (serviceMesh: unknown) => antflyCluster({ serviceMesh });
const RAFT_ISTIO = { 'traffic.sidecar.istio.io/excludeInboundPorts': '9017,9021', 'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,9021' };
const ISTIO_OK = { 'sidecar.istio.io/inject': 'true', ...RAFT_ISTIO };

t.test('a correct Antfly cluster has no error or warning beyond MG105', async (t) => {
  const fs = check(af({ enabled: true, annotations: ISTIO_OK }));
  t.same(fs.map((f) => f.rule), ['MG105'], 'the annotation-only inject switch is the one note');
  t.same(check(antflyCluster({})), [], 'no serviceMesh at all');
  t.same(check(af(null)), [], 'serviceMesh: null');
  t.same(check(af({ enabled: false })), []);
  const linkerd = { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-inbound-ports': '4567,4568,9017,9021', 'config.linkerd.io/skip-outbound-ports': '9017,9021,4567-4568' };
  t.same(check(af({ enabled: true, annotations: linkerd })), []);
});

t.test('MG101: Antfly serviceMesh shape', async (t) => {
  const notMap = check(af('yes'));
  t.same(notMap.map((f) => f.rule), ['MG101']);
  t.match(notMap[0]!.message, /spec\.serviceMesh must be a map \(got "yes"\)/);
  const enabled = only(check(af({ enabled: 'true' })), 'MG101');
  t.equal(enabled.length, 1);
  t.same(enabled[0]!.path, ['spec', 'serviceMesh', 'enabled']);
  t.match(enabled[0]!.message, /spec\.serviceMesh\.enabled must be a boolean \(got "true"\)/);
  const value = only(check(af({ enabled: true, annotations: { 'linkerd.io/inject': true } })), 'MG101');
  t.equal(value.length, 1);
  t.same(value[0]!.path, ['spec', 'serviceMesh', 'annotations', 'linkerd.io/inject']);
  t.match(value[0]!.message, /must be a string/);
  t.equal(value[0]!.severity, 'error');
  const annotationsList = only(check(af({ enabled: true, annotations: ['a'] })), 'MG101');
  t.equal(annotationsList.length, 1);
  t.match(annotationsList[0]!.message, /annotations must be a map/);
});

t.test('MG107: unknown field is a warning that names the known fields', async (t) => {
  const fs = check(af({ enabled: false, anotations: { a: 'b' } }));
  t.equal(fs.length, 1);
  t.equal(fs[0]!.rule, 'MG107');
  t.equal(fs[0]!.severity, 'warning');
  t.same(fs[0]!.path, ['spec', 'serviceMesh', 'anotations']);
  t.match(fs[0]!.message, /spec\.serviceMesh\.anotations is not a field of spec\.serviceMesh/);
  t.match(fs[0]!.message, /Known fields: enabled, annotations/);
  const nested = check(op({ enabled: false, mtls: { enabled: true, mod: 'STRICT' } }));
  t.same(nested.map((f) => f.rule), ['MG107']);
  t.match(nested[0]!.message, /Known fields: enabled, mode/);
  const res = runValidate(af({ enabled: false, foo: 1 }), view(namespace()));
  t.equal(res.review.response.allowed, true, 'a warning does not deny');
  t.equal(res.review.response.warnings?.length, 1);
  t.match(res.review.response.warnings![0]!, /^MG107: /);
});

t.test('MG102: annotation key not a qualified name', async (t) => {
  const fs = check(af({ enabled: true, annotations: { ...ISTIO_OK, 'bad key!': 'x', 'a/b/c': 'y' } }));
  const bad = only(fs, 'MG102');
  t.equal(bad.length, 2);
  t.same(bad[0]!.path, ['spec', 'serviceMesh', 'annotations', 'bad key!']);
  t.match(bad[0]!.message, /"bad key!" on AntflyCluster db\/ac is not a valid Kubernetes qualified name/);
  t.equal(bad[0]!.severity, 'error');
});

t.test('MG103: mesh annotation values the mesh would reject', async (t) => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ 'sidecar.istio.io/inject': 'True' }, 'sidecar.istio.io/inject', /exactly "true" or "false"/],
    [{ 'sidecar.istio.io/inject': 'true', 'traffic.sidecar.istio.io/excludeInboundPorts': '9017-9021' }, 'traffic.sidecar.istio.io/excludeInboundPorts', /range/],
    [{ 'sidecar.istio.io/inject': 'true', 'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,,9021' }, 'traffic.sidecar.istio.io/excludeOutboundPorts', /empty/],
    [{ 'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/proxyCPU': 'lots' }, 'sidecar.istio.io/proxyCPU', /quantity/i],
    [{ 'linkerd.io/inject': 'true' }, 'linkerd.io/inject', /use "enabled"/],
    [{ 'consul.hashicorp.com/connect-inject': 'yes' }, 'consul.hashicorp.com/connect-inject', /ParseBool/],
    // kumahq/kuma PodAnnotationDeprecations: the annotation form is not read at all (a warning).
    [{ 'kuma.io/sidecar-injection': 'on' }, 'kuma.io/sidecar-injection', /Kuma reads kuma.io\/sidecar-injection only as a label; as an annotation it is ignored/],
    [{ 'traffic.kuma.io/exclude-inbound-ports': '0' }, 'traffic.kuma.io/exclude-inbound-ports', /port range 1–65535/],
  ];
  for (const [annotations, key, message] of cases) {
    const bad = only(check(af({ enabled: true, annotations })), 'MG103');
    t.equal(bad.length, 1, key);
    t.same(bad[0]!.path, ['spec', 'serviceMesh', 'annotations', key]);
    t.match(bad[0]!.message, message);
    t.match(bad[0]!.message, /AntflyCluster db\/ac/);
  }
  t.same(only(check(af({ enabled: true, annotations: { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-inbound-ports': '9000-9100' } })), 'MG103'), [], 'linkerd takes ranges');
  t.same(only(check(af({ enabled: true, annotations: { 'example.com/owner': 'not a port list' } })), 'MG103'), [], 'non-mesh keys are not judged');
});

t.test('MG104: annotations of two meshes', async (t) => {
  const fs = check(af({ enabled: true, annotations: { 'sidecar.istio.io/inject': 'true', 'linkerd.io/inject': 'enabled' } }));
  const two = only(fs, 'MG104');
  t.equal(two.length, 1);
  t.equal(two[0]!.severity, 'error');
  t.match(two[0]!.message, /Istio \(sidecar\.istio\.io\/inject\) and Linkerd \(linkerd\.io\/inject\)/);
  t.same(only(fs, 'MG106'), [], 'no injection guess when the mesh is ambiguous');
  t.same(only(fs, 'MG206'), []);
  const res = runValidate(af({ enabled: true, annotations: { 'kuma.io/sidecar-injection': 'enabled', 'consul.hashicorp.com/connect-inject': 'true' } }), view(namespace()));
  t.equal(res.review.response.allowed, false);
  t.equal(res.review.response.status?.code, 403);
  t.match(res.review.response.status?.message, /\[MG104\]/);
  // An opt-out keeps a mesh away; it does not configure a second one.
  const optOut = check(af({ enabled: true, annotations: { ...ISTIO_OK, 'linkerd.io/inject': 'disabled', 'consul.hashicorp.com/connect-inject': 'false' } }));
  t.same(only(optOut, 'MG104'), []);
  t.same(optOut.map((f) => f.rule), ['MG105'], 'istio is the mesh: its ports are checked and found excluded');
  t.equal(only(check(af({ enabled: true, annotations: { ...ISTIO_OK, 'linkerd.io/inject': 'enabled' } })), 'MG104').length, 1, 'an opt-in still is');
});

t.test('MG105: istio inject switch only as an annotation', async (t) => {
  const fs = only(check(af({ enabled: true, annotations: ISTIO_OK })), 'MG105');
  t.equal(fs.length, 1);
  t.equal(fs[0]!.severity, 'warning');
  t.same(fs[0]!.path, ['spec', 'serviceMesh', 'annotations', 'sidecar.istio.io/inject']);
  t.match(fs[0]!.message, /meshguard adds the label sidecar\.istio\.io\/inject="true"/);
  t.same(only(check(af({ enabled: true, annotations: RAFT_ISTIO }), namespace({ 'istio-injection': 'enabled' })), 'MG105'), []);
});

t.test('MG106: enabled but nothing would inject, only for a known namespace', async (t) => {
  const noMesh = only(check(af({ enabled: true })), 'MG106');
  t.equal(noMesh.length, 1);
  t.equal(noMesh[0]!.severity, 'warning');
  t.same(noMesh[0]!.path, ['spec', 'serviceMesh', 'enabled']);
  t.match(noMesh[0]!.message, /no mesh annotation is set and namespace db has no injection label/);
  t.same(only(check(af({ enabled: true }), null), 'MG106'), [], 'unknown namespace: no guess');

  const istioNoSwitch = only(check(af({ enabled: true, annotations: RAFT_ISTIO })), 'MG106');
  t.equal(istioNoSwitch.length, 1);
  t.match(istioNoSwitch[0]!.message, /Istio would not inject its pods: nothing selects the pod/);
  t.same(only(check(af({ enabled: true, annotations: RAFT_ISTIO }), namespace({ 'istio-injection': 'enabled' })), 'MG106'), []);
  const nsOff = only(check(af({ enabled: true, annotations: ISTIO_OK }), namespace({ 'istio-injection': 'disabled' })), 'MG106');
  t.equal(nsOff.length, 1, 'a namespace that turns istio off wins over the pod');
  t.same(only(check(af({ enabled: true, annotations: ISTIO_OK }), namespace({}, {}, 'kube-system')), 'MG106').length, 0, 'other namespace object: unknown');

  t.same(only(check(af({ enabled: true, annotations: { 'linkerd.io/inject': 'enabled' } })), 'MG106'), []);
  t.equal(only(check(af({ enabled: true, annotations: { 'config.linkerd.io/skip-inbound-ports': '9017,9021' } })), 'MG106').length, 1);
  t.same(only(check(af({ enabled: true }), namespace({}, { 'linkerd.io/inject': 'enabled' })), 'MG106'), []);
  t.same(only(check(af({ enabled: true }), namespace({ 'istio.io/dataplane-mode': 'ambient' })), 'MG106'), []);
  t.equal(only(check(af({ enabled: true, annotations: { 'consul.hashicorp.com/connect-inject': 'false' } })), 'MG106').length, 1);
  t.same(only(check(af({ enabled: false })), 'MG106'), [], 'disabled: nothing to inject');
  t.equal(only(check(op({ enabled: true, type: 'linkerd' })), 'MG106').length, 1);
  t.same(only(check(op({ enabled: true, type: 'linkerd' }), namespace({}, { 'linkerd.io/inject': 'enabled' })), 'MG106'), []);
});

t.test('MG206 on the CR: consensus ports from the spec, defaults 9017/9021', async (t) => {
  const missing = only(check(af({ enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } })), 'MG206');
  t.equal(missing.length, 1);
  t.equal(missing[0]!.severity, 'info');
  t.match(missing[0]!.message, /consensus ports 9017,9021 are not excluded in traffic\.sidecar\.istio\.io\/excludeInboundPorts and traffic\.sidecar\.istio\.io\/excludeOutboundPorts/);
  const half = only(check(af({ enabled: true, annotations: { 'sidecar.istio.io/inject': 'true', 'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,9021' } })), 'MG206');
  t.match(half[0]!.message, /not excluded in traffic\.sidecar\.istio\.io\/excludeInboundPorts;/);
  const custom = antflyCluster({
    metadataNodes: { metadataRaft: { port: 7000 } },
    dataNodes: { raft: { port: 7001 } },
    serviceMesh: { enabled: true, annotations: ISTIO_OK },
  });
  const c = only(check(custom), 'MG206');
  t.equal(c.length, 1, 'ports from the spec are looked for');
  t.match(c[0]!.message, /consensus ports 7000,7001/);
  t.same(only(check(af({ enabled: true, annotations: { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-inbound-ports': '9000-9100', 'config.linkerd.io/skip-outbound-ports': '9017,9021' } })), 'MG206'), [], 'a linkerd range covers them');
  t.same(only(check(af({ enabled: true }), namespace({ 'istio.io/dataplane-mode': 'ambient' })), 'MG206'), [], 'ambient cannot exclude ports');
  t.same(only(check(af({ enabled: false, annotations: { 'sidecar.istio.io/inject': 'false' } })), 'MG206'), []);
});

t.test('ObservabilityPlatform: the Gunj reference example is clean', async (t) => {
  const spec = {
    enabled: true,
    type: 'istio',
    mtls: { enabled: true, mode: 'STRICT' },
    trafficManagement: {
      retry: { attempts: 3, perTryTimeout: '10s', retryOn: '5xx,reset,connect-failure' },
      circuitBreaker: { consecutiveErrors: 5, interval: '30s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      timeout: { request: '30s', idle: '900s' },
      loadBalancing: { algorithm: 'ROUND_ROBIN', consistentHash: { httpHeaderName: 'x-session-id' } },
    },
    observability: { metrics: { enabled: true }, tracing: { enabled: true, samplingRate: 0.01 }, accessLogs: { enabled: true, format: 'JSON' } },
    multiCluster: {
      enabled: true,
      clusterName: 'primary',
      network: 'network1',
      remoteClusters: [{ name: 'secondary', endpoint: 'https://secondary-api.example.com:6443', network: 'network2' }],
    },
  };
  t.same(check(op(spec), namespace({ 'istio-injection': 'enabled' })), []);
  t.same(check(op({ enabled: true, type: 'auto', mtls: { enabled: true, mode: 'STRICT' } }), namespace({ 'istio-injection': 'enabled' })), []);
});

t.test('ObservabilityPlatform: MG101 rules', async (t) => {
  const one = (sm: unknown, path: (string | number)[], message: RegExp, severity = 'error') => {
    const fs = check(op(sm)).filter((f) => f.rule === 'MG101');
    t.equal(fs.length, 1, JSON.stringify(sm));
    t.same(fs[0]?.path, ['spec', 'serviceMesh', ...path]);
    t.match(fs[0]?.message, message);
    t.equal(fs[0]?.severity, severity);
  };
  one({ type: 'consul' }, ['type'], /spec\.serviceMesh\.type must be one of "auto", "istio", "linkerd" \(got "consul"\)/);
  one({ mtls: { mode: 'strict' } }, ['mtls', 'mode'], /must be one of "STRICT", "PERMISSIVE", "DISABLE"/);
  one({ mtls: { enabled: false, mode: 'STRICT' } }, ['mtls', 'mode'], /enabled: false with mode: STRICT/);
  t.same(check(op({ mtls: { enabled: false, mode: 'DISABLE' } })), []);
  t.same(check(op({ mtls: { enabled: true, mode: 'PERMISSIVE' } })), []);
  one({ trafficManagement: { retry: { attempts: 0 } } }, ['trafficManagement', 'retry', 'attempts'], /must be >= 1 \(got 0\)/);
  one({ trafficManagement: { retry: { attempts: 11 } } }, ['trafficManagement', 'retry', 'attempts'], /must be <= 10 \(got 11\)/);
  one({ trafficManagement: { retry: { attempts: 2.5 } } }, ['trafficManagement', 'retry', 'attempts'], /must be a integer|must be an integer/);
  t.same(check(op({ trafficManagement: { retry: { attempts: 1 } } })), []);
  t.same(check(op({ trafficManagement: { retry: { attempts: 10 } } })), []);
  for (const good of ['10s', '1m30s', '500ms', '0', '1.5h'])
    t.same(check(op({ trafficManagement: { retry: { perTryTimeout: good } } })), [], good);
  for (const bad of ['10', 'ten', '', '10 s', '1d'])
    one({ trafficManagement: { retry: { perTryTimeout: bad } } }, ['trafficManagement', 'retry', 'perTryTimeout'], /must be a Go duration such as "10s"/);
  one({ trafficManagement: { timeout: { idle: 900 } } }, ['trafficManagement', 'timeout', 'idle'], /must be a string/);
  one({ trafficManagement: { circuitBreaker: { interval: 'soon' } } }, ['trafficManagement', 'circuitBreaker', 'interval'], /Go duration/);
  one(
    { trafficManagement: { retry: { retryOn: '5xx,retry-later,reset' } } },
    ['trafficManagement', 'retry', 'retryOn'],
    /retry conditions Envoy does not know: "retry-later"; use a comma-separated list/,
  );
  t.same(check(op({ trafficManagement: { retry: { retryOn: 'gateway-error,connect-failure,refused-stream,503' } } })), []);
  t.same(check(op({ trafficManagement: { retry: { retryOn: 'cancelled, deadline-exceeded,unavailable' } } })), [], 'gRPC tokens, spaces trimmed');
  one({ trafficManagement: { circuitBreaker: { consecutiveErrors: 0 } } }, ['trafficManagement', 'circuitBreaker', 'consecutiveErrors'], />= 1/);
  one({ trafficManagement: { circuitBreaker: { maxEjectionPercent: 101 } } }, ['trafficManagement', 'circuitBreaker', 'maxEjectionPercent'], /<= 100/);
  one({ trafficManagement: { circuitBreaker: { maxEjectionPercent: -1 } } }, ['trafficManagement', 'circuitBreaker', 'maxEjectionPercent'], />= 0/);
  t.same(check(op({ trafficManagement: { circuitBreaker: { maxEjectionPercent: 0, consecutiveErrors: 1 } } })), []);
  one({ trafficManagement: { loadBalancing: { algorithm: 'LEAST_CONN' } } }, ['trafficManagement', 'loadBalancing', 'algorithm'], /"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"/);
  one({ trafficManagement: { loadBalancing: { consistentHash: { httpHeaderName: '' } } } }, ['trafficManagement', 'loadBalancing', 'consistentHash', 'httpHeaderName'], /must not be empty/);
  one({ observability: { tracing: { samplingRate: 101 } } }, ['observability', 'tracing', 'samplingRate'], /<= 100/);
  one({ observability: { tracing: { samplingRate: -0.5 } } }, ['observability', 'tracing', 'samplingRate'], />= 0/);
  one({ observability: { tracing: { samplingRate: 10 } } }, ['observability', 'tracing', 'samplingRate'], /percentage \(0-100\), so this samples 10% of requests/, 'warning');
  t.same(check(op({ observability: { tracing: { samplingRate: 1 } } })), []);
  t.same(check(op({ observability: { tracing: { samplingRate: 0 } } })), []);
  one({ observability: { accessLogs: { format: 'json' } } }, ['observability', 'accessLogs', 'format'], /"JSON", "TEXT"/);
  one({ multiCluster: { enabled: true } }, ['multiCluster', 'clusterName'], /enabled is true but clusterName is not set/);
  // One problem, one finding: the schema already reports an empty name.
  one({ multiCluster: { enabled: true, clusterName: '' } }, ['multiCluster', 'clusterName'], /must not be empty/);
  one({ multiCluster: { enabled: true, clusterName: 7 } }, ['multiCluster', 'clusterName'], /must be a string/);
  t.same(check(op({ multiCluster: { enabled: false } })), [], 'disabled multi-cluster needs no name');
  one(
    { multiCluster: { enabled: true, clusterName: 'primary', remoteClusters: [{ name: 'b', endpoint: 'https://b.example.com' }, { name: 'b', endpoint: 'https://c.example.com' }] } },
    ['multiCluster', 'remoteClusters', 1, 'name'],
    /remoteClusters\[1\]\.name "b" repeats remoteClusters\[0\]; remote cluster names must be unique/,
  );
  one(
    { multiCluster: { enabled: true, clusterName: 'primary', remoteClusters: [{ name: 'primary', endpoint: 'https://b.example.com' }] } },
    ['multiCluster', 'remoteClusters', 0, 'name'],
    /own clusterName/,
  );
  one(
    { multiCluster: { enabled: true, clusterName: 'primary', remoteClusters: [{ name: 'b', endpoint: 'http://b.example.com:6443' }] } },
    ['multiCluster', 'remoteClusters', 0, 'endpoint'],
    /must be an https:\/\/ URL \(got "http:\/\/b\.example\.com:6443"\)/,
  );
  one(
    { multiCluster: { enabled: true, clusterName: 'primary', remoteClusters: [{ name: 'b' }] } },
    ['multiCluster', 'remoteClusters', 0],
    /missing the required field "endpoint"/,
  );
  one({ enabled: 'yes' }, ['enabled'], /must be a boolean/);
});

t.test('admission of a bad CR: 403 naming rule, field and fix; warnings separate', async (t) => {
  const res = runValidate(op({ enabled: true, type: 'istio', mtls: { enabled: false, mode: 'STRICT' }, observability: { tracing: { samplingRate: 5 } } }), view(namespace({ 'istio-injection': 'enabled' })));
  const r = res.review.response;
  t.equal(r.allowed, false);
  t.equal(r.status?.code, 403);
  t.match(r.status?.message, /\[MG101\] spec\.serviceMesh\.mtls has enabled: false with mode: STRICT.*Set enabled: true.*\(field spec\.serviceMesh\.mtls\.mode\)/);
  t.equal(r.warnings?.length, 1);
  t.match(r.warnings![0]!, /^MG101: tracing\.samplingRate 5 is a percentage: 5% of requests are sampled$/);
  t.equal(res.decision, 'denied');
  const upd = runValidate(op({ mtls: { enabled: false, mode: 'STRICT' } }), view(), { operation: 'UPDATE', oldObject: op({ mtls: { enabled: false, mode: 'STRICT' } }) });
  t.equal(upd.review.response.allowed, true, 'an UPDATE that keeps an old error is allowed');
  t.match(upd.review.response.warnings?.[0], /^MG101: /);
});
