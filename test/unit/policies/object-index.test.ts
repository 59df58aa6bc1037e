// The object index (plain-object backing) and its relations: kinds across versions, label
// selection incl. matchExpressions (checked against a brute-force filter), Service ports to
// container ports, webhooks to Services, sidecar capture, Linkerd's default policy, and
// the cross-object rules' edge cases.
import fc from 'fast-check';
import t from 'tap';
import { DEFAULT_CONFIG, type PolicyConfig } from '../../../policies/config.js';
import { analyzeIndex } from '../../../policies/analysis.js';
import { refusesPlaintext, sidecarCaptures } from '../../../policies/index/mtls.js';
import { PlainObjectIndex, isIndexObject } from '../../../policies/index/object-index.js';
import { containerPortOf, selectPodLikes, serviceTargets, servicePorts, webhookServices } from '../../../policies/index/relations.js';
import { selectorMatches } from '../../../policies/index/selectors.js';
import { podFacts, type KubeObject, type StringMap } from '../../../policies/k8s.js';
import { BUILTIN_PROFILES } from '../../../policies/targets/profile.js';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));

const ns = (name: string, labels: StringMap = {}, annotations: StringMap = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } });
const pod = (name: string, namespace: string, labels: StringMap, extra: Partial<KubeObject> = {}, ports = [{ name: 'webhook', containerPort: 9443 }]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels, ...(extra.metadata ?? {}) },
  spec: { containers: [{ name: 'app', ports }, ...((extra.spec as any)?.containers ?? [])] },
});
const service = (name: string, namespace: string, selector: StringMap, ports: unknown[]): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector, ports } });
const webhook = (name: string, service: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingWebhookConfiguration',
  metadata: { name },
  webhooks: [{ name: `${name}.example.com`, clientConfig: { service }, ...extra }],
});
const pa = (name: string, namespace: string, spec: Record<string, unknown>, creationTimestamp?: string): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name, namespace, ...(creationTimestamp ? { creationTimestamp } : {}) },
  spec,
});
const analyze = (objects: KubeObject[], config: PolicyConfig = DEFAULT_CONFIG, podMode: 'live' | 'predict' = 'predict', complete = true) =>
  analyzeIndex(new PlainObjectIndex(objects), { config, podMode, complete });

t.test('kinds are one kind across versions, told apart by group; cluster scope has no namespace', async (t) => {
  const index = new PlainObjectIndex([
    pa('a', 'db', {}),
    { apiVersion: 'security.istio.io/v1beta1', kind: 'PeerAuthentication', metadata: { name: 'b', namespace: 'db' }, spec: {} },
    { apiVersion: 'example.com/v1', kind: 'PeerAuthentication', metadata: { name: 'c', namespace: 'db' } },
    webhook('w', { name: 's', namespace: 'db' }),
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np' } },
  ]);
  t.same(index.list('PeerAuthentication', 'db').map((o) => o.metadata?.name), ['a', 'b']);
  t.equal(index.get('ValidatingWebhookConfiguration', 'ignored', 'w')?.metadata?.name, 'w');
  t.equal(index.get('NetworkPolicy', 'default', 'np')?.metadata?.name, 'np', 'no namespace reads as default');
  t.same(index.namespaceNames(), ['db', 'default']);
  t.ok(index.holds('ServiceMonitor'));
  t.notOk(new PlainObjectIndex([], { absent: ['ServiceMonitor'] }).holds('ServiceMonitor'));
  t.ok(isIndexObject(pa('x', 'db', {}), BUILTIN_PROFILES));
  t.notOk(isIndexObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm' } }, BUILTIN_PROFILES));
});

t.test('label selectors: matchLabels and matchExpressions as the API server reads them', async (t) => {
  const l = { app: 'web', tier: 'front' };
  t.ok(selectorMatches(l, {}), '{} selects everything');
  t.notOk(selectorMatches(l, undefined), 'no selector selects nothing');
  t.ok(selectorMatches(l, { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] }));
  t.notOk(selectorMatches(l, { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }));
  t.ok(selectorMatches(l, { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }), 'NotIn matches an absent label');
  t.ok(selectorMatches(l, { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }));
  t.ok(selectorMatches(l, { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }));
  t.notOk(selectorMatches(l, { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] }), 'In without values is invalid');
  t.notOk(selectorMatches(l, { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['web'] }] }), 'an unknown operator is invalid');
  t.notOk(selectorMatches(l, { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }), 'ANDed');
});

t.test('select through the label index equals a plain filter (property)', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  const labels = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('1', '2'), { maxKeys: 3, noNullPrototype: true });
  const requirement = fc.record({ key: fc.constantFrom('a', 'b', 'c'), operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'), values: fc.array(fc.constantFrom('1', '2'), { maxLength: 2 }) });
  const selectorArb = fc.record({ matchLabels: labels, matchExpressions: fc.array(requirement, { maxLength: 2 }) }, { requiredKeys: [] });
  fc.assert(
    fc.property(fc.array(labels, { maxLength: 12 }), selectorArb, (podLabels, sel) => {
      const pods = podLabels.map((l, i) => pod(`p${i}`, 'db', l));
      const index = new PlainObjectIndex(pods);
      const viaIndex = index.select('Pod', 'db', sel).map((p) => p.metadata?.name).sort();
      const plain = pods.filter((p) => selectorMatches(p.metadata?.labels, sel)).map((p) => p.metadata?.name).sort();
      return JSON.stringify(viaIndex) === JSON.stringify(plain);
    }),
    { numRuns: 300, seed: SEED },
  );
});

t.test('Service ports resolve to container ports, by number and by name; templates are selected too', async (t) => {
  const sts: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'db' },
    spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', ports: [{ name: 'https', containerPort: 8443 }] }] } } },
  };
  const p = pod('web-0', 'db', { app: 'web' }, {}, [{ name: 'https', containerPort: 9443 }]);
  const svc = service('web', 'db', { app: 'web' }, [{ name: 'a', port: 443, targetPort: 'https' }, { port: 80 }, { port: 81, targetPort: '8081' }, { port: 82, targetPort: 'nope' }]);
  const index = new PlainObjectIndex([sts, p, svc]);
  const ports = servicePorts(svc);
  t.same(ports.map((x) => x.targetPort), ['https', 80, 8081, 'nope']);
  t.same(serviceTargets(index, svc, ports[0]!).map((x) => [x.pod.ref.kind, x.containerPort]), [['Pod', 9443], ['StatefulSet', 8443]], 'named targetPort per pod');
  t.same(serviceTargets(index, svc, ports[3]!).map((x) => x.containerPort), [undefined, undefined], 'a name no container declares');
  t.same(serviceTargets(index, service('x', 'db', {}, [{ port: 1 }]), { port: 1, targetPort: 1, protocol: 'TCP' }), [], 'no selector, no pods');
  t.equal(containerPortOf(podFacts(undefined, { containers: [{ ports: [{ name: 'm', containerPort: 1 }] }] }), 'm'), 1);
  t.same(selectPodLikes(index, 'db', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }).length, 2);
});

t.test('webhooks name their Service; port 443 and failurePolicy Fail by default', async (t) => {
  const index = new PlainObjectIndex([
    webhook('a', { name: 's', namespace: 'db' }),
    webhook('b', { name: 's', namespace: 'db', port: 8443 }, { failurePolicy: 'Ignore' }),
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'url' }, webhooks: [{ name: 'u', clientConfig: { url: 'https://x' } }] },
    service('s', 'db', { app: 'x' }, [{ port: 443 }]),
  ]);
  const ws = webhookServices(index);
  t.same(ws.map((w) => [w.configuration.metadata?.name, w.port, w.failurePolicy, w.service?.metadata?.name]), [['a', 443, 'Fail', 's'], ['b', 8443, 'Ignore', 's']]);
});

t.test('sidecar capture and Linkerd default inbound policy', async (t) => {
  const facts = (annotations: StringMap) => podFacts({ annotations }, {});
  t.ok(sidecarCaptures(facts({}), 9443));
  t.notOk(sidecarCaptures(facts({ 'traffic.sidecar.istio.io/excludeInboundPorts': '8080,9443' }), 9443));
  t.notOk(sidecarCaptures(facts({ 'traffic.sidecar.istio.io/includeInboundPorts': '8080' }), 9443));
  t.ok(sidecarCaptures(facts({ 'traffic.sidecar.istio.io/includeInboundPorts': '*' }), 9443));
  const index = new PlainObjectIndex([ns('l', {}, { 'config.linkerd.io/default-inbound-policy': 'all-authenticated' })]);
  t.match(refusesPlaintext(index, { namespace: 'l', facts: facts({}) }, 'linkerd', 9443), { mesh: 'linkerd' });
  t.equal(refusesPlaintext(index, { namespace: 'l', facts: facts({ 'config.linkerd.io/skip-inbound-ports': '9000-9500' }) }, 'linkerd', 9443), undefined, 'a skipped port');
  t.equal(refusesPlaintext(index, { namespace: 'l', facts: facts({ 'config.linkerd.io/default-inbound-policy': 'all-unauthenticated' }) }, 'linkerd', 9443), undefined, 'the pod wins');
  // linkerd2-proxy-init makeMultiportDestinations: each element through ParsePortRange as
  // written; one it refuses is dropped and the others still count.
  const skip = (v: string) => refusesPlaintext(index, { namespace: 'l', facts: facts({ 'config.linkerd.io/skip-inbound-ports': v }) }, 'linkerd', 9443);
  t.equal(skip('9100-9000,9443'), undefined, 'a dropped neighbour does not undo 9443');
  t.match(skip(' 9443'), { mesh: 'linkerd' }, 'an element with a space is dropped: 9443 goes through the proxy');
  t.match(skip('9443 ,80'), { mesh: 'linkerd' });
});

const strictWebhookSetup = (podAnnotations: StringMap = {}, nsLabels: StringMap = { 'istio-injection': 'enabled' }): KubeObject[] => [
  ns('hooks', nsLabels),
  pod('op-0', 'hooks', { app: 'op' }, { metadata: { annotations: podAnnotations } }),
  service('op', 'hooks', { app: 'op' }, [{ port: 443, targetPort: 'webhook' }]),
  webhook('op', { name: 'op', namespace: 'hooks' }),
  pa('strict', 'hooks', { mtls: { mode: 'STRICT' } }),
];

t.test('MG301 on sidecar pods: predicted injection, capture exclusions, the oldest workload policy', async (t) => {
  t.same(analyze(strictWebhookSetup()).map((f) => f.rule), ['MG301'], 'predicted: the namespace injects the pod');
  t.same(analyze(strictWebhookSetup(), DEFAULT_CONFIG, 'live'), [], 'live: the pod has no proxy, so it is not meshed');
  const live = strictWebhookSetup();
  (live[1]!.spec as any).containers.push({ name: 'istio-proxy' });
  t.same(analyze(live, DEFAULT_CONFIG, 'live').map((f) => f.rule), ['MG301'], 'live: the proxy is there');
  t.same(analyze(strictWebhookSetup({ 'traffic.sidecar.istio.io/excludeInboundPorts': '9443' })), [], 'the port bypasses the sidecar');
  const withWorkload = [...strictWebhookSetup(), pa('older', 'hooks', { selector: { matchLabels: { app: 'op' } }, portLevelMtls: { '8080': { mode: 'DISABLE' } } }, '2024-01-01T00:00:00Z')];
  const [f] = analyze(withWorkload);
  t.match(f?.message, /in PeerAuthentication hooks\/older, the workload policy/, 'the exception goes into the policy that wins');
  t.same(analyze(strictWebhookSetup({}, {})), [], 'not meshed: no finding');
  const ignore = strictWebhookSetup();
  (ignore[3] as any).webhooks[0].failurePolicy = 'Ignore';
  t.match(analyze(ignore)[0]?.message, /failurePolicy Ignore/);
});

t.test('MG304: the namespace switch conflicts', async (t) => {
  const rules = (o: KubeObject) => analyze([o]).map((f) => `${f.rule}:${f.severity}`);
  t.same(rules(ns('a', { 'istio-injection': 'enabled', 'kuma.io/sidecar-injection': 'enabled' })), ['MG304:error']);
  t.same(rules(ns('a', { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' })), ['MG304:warning']);
  t.same(rules(ns('a', { 'istio.io/rev': 'canary', 'istio.io/dataplane-mode': 'ambient' })), ['MG304:warning']);
  t.same(rules(ns('a', { 'istio-injection': 'disabled', 'istio.io/dataplane-mode': 'ambient' })), [], 'a switch that is off conflicts with nothing');
  t.same(rules(ns('a', { 'istio.io/dataplane-mode': 'ambient' }, { 'linkerd.io/inject': 'disabled' })), []);
});

const antfly = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', metadata: { name: 'orders', namespace: 'db' }, spec });
const np = (name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'db' }, spec });
const members = { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'orders' };

t.test('MG305: consensus ports open unless only the cluster\'s own pods are admitted', async (t) => {
  const meshed = antfly({ serviceMesh: { enabled: true, annotations: { 'linkerd.io/inject': 'enabled' } } });
  const rules = (...o: KubeObject[]) => analyze([meshed, ...o]).map((f) => f.rule);
  t.same(rules(), ['MG305']);
  t.same(analyze([meshed], DEFAULT_CONFIG, 'predict', false), [], 'offline without any NetworkPolicy of the namespace: cannot tell');
  t.same(analyze([meshed, np('api', { podSelector: {}, ingress: [{}] })], DEFAULT_CONFIG, 'predict', false).map((f) => f.rule), ['MG305'], 'offline with the namespace\'s policies');
  const own = { from: [{ podSelector: { matchLabels: members } }], ports: [{ port: 9017 }, { port: 9021 }] };
  t.same(rules(np('raft', { podSelector: { matchLabels: members }, ingress: [own] })), []);
  t.same(rules(np('raft', { podSelector: { matchLabels: members }, ingress: [own, { ports: [{ port: 9000, endPort: 9100 }] }] })), ['MG305'], 'a range admits everyone');
  t.same(rules(np('raft', { podSelector: { matchLabels: members }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: members } }], ports: [{ port: 9017 }, { port: 9021 }] }] })), ['MG305'], 'any namespace');
  t.same(rules(np('raft', { podSelector: { matchLabels: members }, policyTypes: ['Egress'] })), ['MG305'], 'an egress-only policy isolates nothing');
  t.same(analyze([antfly({ serviceMesh: { enabled: true } }), ns('db', { 'istio.io/dataplane-mode': 'ambient' })]).map((f) => f.rule), [], 'ambient keeps Raft in ztunnel');
  t.same(analyze([antfly({ serviceMesh: { enabled: false } })]), [], 'not meshed');
});

t.test('MG306: selectors that match no pod or template beside a cluster', async (t) => {
  const cluster = antfly({ serviceMesh: { enabled: false } });
  const copied = pa('guide', 'db', { selector: { matchLabels: { app: 'antfly' } }, mtls: { mode: 'STRICT' } });
  const [f] = analyze([cluster, copied]);
  t.equal(f?.rule, 'MG306');
  t.match(f?.message, /app\.kubernetes\.io\/instance: "orders"/, 'the message shows the labels the pods carry');
  t.same(analyze([cluster, copied, pod('other-0', 'db', { app: 'antfly' })]), [], 'some pod carries the label');
  t.same(analyze([cluster, pa('wide', 'db', { mtls: { mode: 'STRICT' } })]), [], 'a namespace-wide policy selects every pod');
  t.same(analyze([cluster, np('all', { podSelector: {} })]), [], 'podSelector {} selects the cluster pods to come');
  t.same(analyze([copied]), [], 'no cluster in the namespace: not this rule\'s business');
});

t.test('MG303: warnings for the support ports only; pods outside ambient are not concerned', async (t) => {
  const ambientNs = ns('kc', { 'istio.io/dataplane-mode': 'ambient' });
  const p = pod('kc-0', 'kc', { app: 'kc' });
  const policy = (ports: number[]): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'kc' }, spec: { podSelector: {}, ingress: [{ ports: ports.map((port) => ({ port })) }] } });
  t.same(analyze([ambientNs, p, policy([15008])]).map((f) => `${f.rule}:${f.severity}`), ['MG303:warning']);
  t.same(analyze([ambientNs, p, policy([15008, 15006, 15020, 15021])]), []);
  t.same(analyze([ambientNs, p, { ...policy([]), spec: { podSelector: {}, ingress: [{}] } }]), [], 'a rule without ports admits every port');
  t.same(analyze([ns('kc'), p, policy([8080])]), [], 'not enrolled in ambient');
});

t.test('MG302: ServiceMonitor through a Service port name; prometheusMeshed turns it off', async (t) => {
  const objects = [
    ns('m', { 'istio.io/dataplane-mode': 'ambient' }),
    pod('app-0', 'm', { app: 'x' }, {}, [{ name: 'metrics', containerPort: 9090 }]),
    { ...service('app', 'm', { app: 'x' }, [{ name: 'http-metrics', port: 80, targetPort: 'metrics' }]), metadata: { name: 'app', namespace: 'm', labels: { monitored: 'yes' } } },
    { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'sm', namespace: 'monitoring' }, spec: { selector: { matchLabels: { monitored: 'yes' } }, namespaceSelector: { matchNames: ['m'] }, endpoints: [{ port: 'http-metrics' }] } },
    pa('strict', 'istio-system', { mtls: { mode: 'STRICT' } }),
  ];
  const [f] = analyze(objects);
  t.equal(f?.rule, 'MG302');
  t.match(f?.message, /container port 9090/);
  t.same(analyze(objects, { ...DEFAULT_CONFIG, analysis: { prometheusMeshed: true } }), []);
  t.same(analyze(objects, { ...DEFAULT_CONFIG, analysis: { istioRootNamespace: 'mesh-root' } }), [], 'the root namespace is configurable');
});
