// The index's objects stripped (policies/index/strip.ts: what the informers cache and
// what `check` keeps past a file) answer every rule exactly as the objects as written:
// the cross-object rules (both pod modes) and the judgement of each document against a
// cluster view built from them. The objects come in every shape `check` accepts from a
// file: fields missing, null, of the wrong type, and values shared by YAML aliases.
// The property's seed is printed; replay a failure with FC_SEED=<seed>.
import fc from 'fast-check';
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { buildView, crossObjectFindings, judgeDocument } from '../../../cli/run-checks.js';
import type { SourceDoc } from '../../../cli/inputs.js';
import { DEFAULT_CONFIG, type PolicyConfig } from '../../../policies/config.js';
import { INDEX_KINDS, indexKindOf, type IndexKind } from '../../../policies/index/kinds.js';
import { isIndexObject } from '../../../policies/index/object-index.js';
import { stripIndexObject, stripPod, stripService, stripWorkload } from '../../../policies/index/strip.js';
import type { KubeObject } from '../../../policies/k8s.js';
import { ANTFLY, OBSERVABILITY_PLATFORM } from '../../../policies/targets/profile.js';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const NUM_RUNS = 200;

const CONFIG: PolicyConfig = { ...DEFAULT_CONFIG, analysis: { ...DEFAULT_CONFIG.analysis, istioRootNamespace: 'istio-system' } };

// --- generators: small pools, so that selectors, namespaces and clusters meet ---

/** A value of any other type, as YAML can give it where a mapping, list or string belongs. */
const wrong = fc.constantFrom<unknown>(null, 'x', '', 5, 0, true, false, [], ['a'], {});
const odd = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 12, arbitrary: a }, { weight: 1, arbitrary: wrong });
/** A mapping whose fields are each (rarely) absent or of another type. */
const ABSENT = Symbol('absent');
const rec = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .record(Object.fromEntries(Object.entries(fields).map(([k, a]) => [k, fc.oneof({ weight: 5, arbitrary: odd(a) }, { weight: 1, arbitrary: fc.constant(ABSENT) })])))
    .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== ABSENT)));
const list = <T>(a: fc.Arbitrary<T>, max = 3): fc.Arbitrary<unknown[]> => fc.array(odd(a), { maxLength: max });

const name = fc.constantFrom('db', 'db', 'web', 'a', 'meshguard');
const namespace = fc.constantFrom('prod', 'prod', 'default', 'istio-system');
const labelKey = fc.constantFrom('app', 'app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'istio-injection', 'istio.io/dataplane-mode', 'sidecar.istio.io/inject', 'observability.io/platform', 'linkerd.io/inject');
const labelValue = fc.constantFrom('web', 'db', 'antfly-database', 'enabled', 'disabled', 'ambient', 'true', 'false', 'a');
// Mostly the labels a target cluster's pods, a mesh's namespace or a plain app carry.
const labels = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom({ 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'db' }, { 'observability.io/platform': 'db' }, { app: 'web' }, { 'istio-injection': 'enabled' }, { 'istio.io/dataplane-mode': 'ambient' }, { 'linkerd.io/inject': 'enabled' }) },
  { weight: 2, arbitrary: fc.dictionary(labelKey, odd(labelValue), { maxKeys: 4 }) },
);
const annotationKey = fc.constantFrom(
  'sidecar.istio.io/inject',
  'linkerd.io/inject',
  'consul.hashicorp.com/connect-inject',
  'config.linkerd.io/skip-inbound-ports',
  'config.linkerd.io/default-inbound-policy',
  'traffic.sidecar.istio.io/excludeInboundPorts',
  'traffic.sidecar.istio.io/includeInboundPorts',
  'istio.io/dataplane-mode',
  'kubectl.kubernetes.io/last-applied-configuration',
);
const annotationValue = fc.constantFrom('true', 'false', 'enabled', 'disabled', '9021', '9017,9021', '*', 'all-unauthenticated', 'deny', 'ambient', '{}');
const annotations = fc.dictionary(annotationKey, odd(annotationValue), { maxKeys: 4 });
const time = fc.constantFrom('2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z', 'yesterday', 5);
const port = fc.constantFrom(80, 443, 8080, 9017, 9021, 12380, 15008, 15021, 9100);
const portName = fc.constantFrom('raft', 'api', 'http', 'metrics', 'https-webhook');
const selector = rec({ matchLabels: labels, matchExpressions: list(rec({ key: labelKey, operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'), values: list(labelValue) })) });

const metadata = (extra: Record<string, fc.Arbitrary<unknown>> = {}) =>
  rec({
    name,
    namespace,
    labels,
    annotations,
    uid: fc.constant('u-1'),
    resourceVersion: fc.constant('7'),
    generation: fc.nat(3),
    creationTimestamp: time,
    deletionTimestamp: time,
    ownerReferences: list(rec({ apiVersion: fc.constant('apps/v1'), kind: fc.constantFrom('Deployment', 'StatefulSet'), name, controller: fc.boolean() })),
    managedFields: fc.constant([{ manager: 'kubectl' }]),
    ...extra,
  }).map((m) => ({ ...m, name: m.name ?? 'db' }));

const container = rec({
  name: fc.constantFrom('antfly', 'web', 'istio-proxy', 'linkerd-proxy', 'consul-dataplane', 'istio-init', 'linkerd-init'),
  image: fc.constantFrom('nginx', 'istio/proxyv2:1.24.0', 'cr.l5d.io/linkerd/proxy:stable'),
  restartPolicy: fc.constantFrom('Always', 'Never'),
  args: fc.constant(['--port', '9021']),
  env: fc.constant([{ name: 'X', value: 'y' }]),
  ports: list(rec({ name: portName, containerPort: port, protocol: fc.constantFrom('TCP', 'UDP') })),
  securityContext: fc.constant({ runAsUser: 1337 }),
});
const podSpec = rec({
  containers: list(container),
  initContainers: list(container, 2),
  hostNetwork: fc.oneof(fc.boolean(), fc.constant('true')),
  nodeName: fc.constant('n1'),
  volumes: fc.constant([{ name: 'v', emptyDir: {} }]),
});
const template = rec({ metadata: rec({ labels, annotations, name }), spec: podSpec });

/** Objects of `kind` under each of `versions` (undefined: no apiVersion). */
const typed = (kind: string, versions: (string | undefined)[], body: fc.Arbitrary<Record<string, unknown>>, meta = metadata()) =>
  fc.record({ apiVersion: fc.constantFrom(...versions), meta, body }).map(({ apiVersion, meta, body }) => ({
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    kind,
    metadata: meta,
    ...body,
  }));

/** A workload whose selector may be the very mapping of its template's labels (a YAML alias). */
const workload = (kind: IndexKind) => {
  const { group } = INDEX_KINDS[kind];
  const spec =
    kind === 'CronJob'
      ? rec({ schedule: fc.constant('* * * * *'), jobTemplate: rec({ spec: rec({ template, backoffLimit: fc.nat(2) }) }), selector })
      : rec({ replicas: fc.nat(3), selector, template, serviceName: name });
  return typed(
    kind,
    [`${group}/v1`, `${group}/v1beta1`],
    fc.record({ spec: odd(spec), alias: fc.boolean() }).map(({ spec, alias }) => {
      const s = spec as Record<string, unknown> | undefined;
      const tpl = (s && typeof s === 'object' ? s.template : undefined) as { metadata?: { labels?: unknown } } | undefined;
      if (alias && s && tpl?.metadata?.labels && typeof s.selector === 'object' && s.selector) (s.selector as Record<string, unknown>).matchLabels = tpl.metadata.labels;
      return { spec, status: { replicas: 3 } };
    }),
  );
};

const webhooks = list(
  rec({
    name: fc.constantFrom('a.meshguard.io', 'b.example.com'),
    failurePolicy: fc.constantFrom('Fail', 'Ignore'),
    clientConfig: rec({ service: rec({ name, namespace, port, path: fc.constant('/mutate') }), caBundle: fc.constant('Q0E='), url: fc.constant('https://x') }),
    rules: fc.constant([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }]),
    namespaceSelector: selector,
    objectSelector: selector,
    sideEffects: fc.constant('None'),
  }),
);

const serviceMesh = rec({ enabled: fc.boolean(), annotations, mesh: fc.constantFrom('istio', 'linkerd', 'consul') });

const indexObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  typed('Namespace', ['v1', undefined], rec({ spec: fc.constant({ finalizers: ['kubernetes'] }), status: fc.constant({ phase: 'Active' }) })),
  typed('Pod', ['v1', undefined], rec({ spec: podSpec, status: rec({ phase: fc.constantFrom('Running', 'Pending', 'Succeeded', 'Failed', ''), podIP: fc.constant('10.0.0.1') }) })),
  typed(
    'Service',
    ['v1', undefined],
    rec({ spec: rec({ selector: labels, ports: list(rec({ name: portName, port, targetPort: fc.oneof(port, portName), protocol: fc.constantFrom('TCP', 'UDP') })), type: fc.constant('ClusterIP') }) }),
  ),
  ...(['StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob'] as const).map(workload),
  ...(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'] as const).map((kind) =>
    typed(kind, ['admissionregistration.k8s.io/v1', 'admissionregistration.k8s.io/v1beta1'], rec({ webhooks }), metadata({ namespace: fc.constant(undefined) })),
  ),
  typed(
    'PeerAuthentication',
    ['security.istio.io/v1', 'security.istio.io/v1beta1'],
    rec({
      spec: rec({
        selector,
        mtls: rec({ mode: fc.constantFrom('STRICT', 'PERMISSIVE', 'DISABLE', 'UNSET') }),
        portLevelMtls: fc.dictionary(fc.constantFrom('9021', '9017', '8080'), odd(rec({ mode: fc.constantFrom('STRICT', 'PERMISSIVE', 'DISABLE') })), { maxKeys: 2 }),
      }),
    }),
  ),
  typed(
    'NetworkPolicy',
    ['networking.k8s.io/v1'],
    rec({
      spec: rec({
        podSelector: selector,
        policyTypes: list(fc.constantFrom('Ingress', 'Egress'), 2),
        ingress: list(rec({ ports: list(rec({ port: fc.oneof(port, portName), protocol: fc.constantFrom('TCP', 'UDP') })), from: fc.constant([{ podSelector: {} }]) })),
        egress: fc.constant([{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }]),
      }),
    }),
  ),
  typed(
    'ServiceMonitor',
    ['monitoring.coreos.com/v1'],
    rec({ spec: rec({ selector, namespaceSelector: rec({ any: fc.boolean(), matchNames: list(namespace) }), endpoints: list(rec({ port: portName, targetPort: port, scheme: fc.constantFrom('http', 'https') })), jobLabel: fc.constant('x') }) }),
  ),
  typed('PodMonitor', ['monitoring.coreos.com/v1'], rec({ spec: rec({ selector, namespaceSelector: rec({ any: fc.boolean(), matchNames: list(namespace) }), podMetricsEndpoints: list(rec({ port: portName, targetPort: port })) }) })),
  typed(
    ANTFLY.cluster.kind,
    [ANTFLY.cluster.apiVersion],
    rec({
      spec: rec({ serviceMesh, metadataNodes: rec({ metadataRaft: rec({ port }) }), dataNodes: rec({ raft: rec({ port }) }) }),
      status: rec({ serviceMeshStatus: rec({ totalPods: fc.nat(3) }), conditions: fc.constant([{ type: 'Ready' }]), phase: fc.constant('Running') }),
    }),
  ),
  typed(OBSERVABILITY_PLATFORM.cluster.kind, [OBSERVABILITY_PLATFORM.cluster.apiVersion], rec({ spec: rec({ serviceMesh, components: fc.constant({ a: 1 }) }) })),
  typed('ConfigMap', ['v1'], rec({ data: fc.constant({ a: '1' }) })),
);

// A coherent cluster whose objects the rules read together (every MG3xx rule has something
// to say about it), then damaged at random places: a value replaced by one of another type
// or taken out, anywhere in an object.
const y = (o: unknown) => o as Record<string, unknown>;
const POD_LABELS = { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'db', 'app.kubernetes.io/component': 'data' };
const POD_SPEC = {
  containers: [{ name: 'antfly', image: 'antfly', ports: [{ name: 'raft', containerPort: 9021 }, { name: 'api', containerPort: 12380 }], env: [{ name: 'A', value: 'b' }] }],
};
const tpl = (labels: object, annotations: object = {}, spec: object = POD_SPEC) => ({ metadata: { labels, annotations }, spec });
const COHERENT: Record<string, unknown>[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { 'istio-injection': 'enabled' } } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'amb', labels: { 'istio.io/dataplane-mode': 'ambient' } } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'multi', labels: { 'istio-injection': 'enabled' }, annotations: { 'linkerd.io/inject': 'enabled' } } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lk', annotations: { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/default-inbound-policy': 'all-authenticated' } } },
  y({
    apiVersion: 'antfly.io/v1',
    kind: 'AntflyCluster',
    metadata: { name: 'db', namespace: 'prod', generation: 2 },
    spec: { serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } }, metadataNodes: { metadataRaft: { port: 9017 } }, dataNodes: { raft: { port: 9021 } } },
    status: { serviceMeshStatus: { totalPods: 1 }, phase: 'Running' },
  }),
  y({ apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', metadata: { name: 'db', namespace: 'amb' }, spec: { serviceMesh: { enabled: true } } }),
  y({ apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', metadata: { name: 'db', namespace: 'lk' }, spec: { serviceMesh: { enabled: true, annotations: { 'linkerd.io/inject': 'enabled' } } } }),
  y({ apiVersion: 'observability.io/v1beta1', kind: 'ObservabilityPlatform', metadata: { name: 'db', namespace: 'prod' }, spec: { serviceMesh: { enabled: true } } }),
  y({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db-data', namespace: 'prod' }, spec: { selector: { matchLabels: POD_LABELS }, template: tpl(POD_LABELS, { 'sidecar.istio.io/inject': 'true' }) } }),
  y({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db-data', namespace: 'amb' }, spec: { selector: { matchLabels: POD_LABELS }, template: tpl(POD_LABELS) } }),
  y({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db-data', namespace: 'lk' }, spec: { selector: { matchLabels: POD_LABELS }, template: tpl(POD_LABELS, { 'linkerd.io/inject': 'enabled' }) } }),
  y({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-data-0', namespace: 'prod', labels: POD_LABELS, annotations: { 'sidecar.istio.io/status': '{}' }, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { containers: [...POD_SPEC.containers, { name: 'istio-proxy', image: 'istio/proxyv2:1.24.0', ports: [{ name: 'http-envoy-prom', containerPort: 15090 }] }], initContainers: [{ name: 'istio-init' }] },
    status: { phase: 'Running', podIP: '10.0.0.1' },
  }),
  y({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'multi', labels: { app: 'web' } }, spec: { containers: [{ name: 'web', ports: [{ containerPort: 8080 }] }] } }),
  y({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db-api', namespace: 'prod', annotations: { a: 'b' } }, spec: { selector: { 'app.kubernetes.io/instance': 'db' }, ports: [{ name: 'api', port: 443, targetPort: 'api' }, { name: 'raft', port: 9021, targetPort: 9021 }] } }),
  y({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'db-api', namespace: 'lk' }, spec: { selector: { 'app.kubernetes.io/instance': 'db' }, ports: [{ name: 'api', port: 443, targetPort: 12380 }] } }),
  y({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'istio-system', creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { mtls: { mode: 'STRICT' } } }),
  y({ apiVersion: 'security.istio.io/v1beta1', kind: 'PeerAuthentication', metadata: { name: 'ns', namespace: 'prod', creationTimestamp: '2024-02-01T00:00:00Z' }, spec: { mtls: { mode: 'STRICT' } } }),
  y({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'wl', namespace: 'prod' }, spec: { selector: { matchLabels: { 'app.kubernetes.io/instance': 'db' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '9021': { mode: 'PERMISSIVE' } } } }),
  y({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'guide', namespace: 'prod' }, spec: { selector: { matchLabels: { app: 'antfly' } }, mtls: { mode: 'STRICT' } } }),
  y({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'amb' }, spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 12380, protocol: 'TCP' }] }], egress: [{}] } }),
  y({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'guide', namespace: 'prod' }, spec: { podSelector: { matchLabels: { app: 'antfly' } }, ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'db' } } }] }] } }),
  y({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'db', namespace: 'prod' }, spec: { selector: { matchLabels: { 'app.kubernetes.io/instance': 'db' } }, endpoints: [{ port: 'api' }, { targetPort: 9021 }] } }),
  y({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'db', namespace: 'monitoring' }, spec: { namespaceSelector: { matchNames: ['prod', 'lk'] }, selector: { matchLabels: { 'app.kubernetes.io/instance': 'db' } }, podMetricsEndpoints: [{ port: 'raft' }] } }),
  ...(['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const).map((kind, i) =>
    y({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind,
      metadata: { name: `hook-${i}` },
      webhooks: [
        { name: 'a.example.com', failurePolicy: 'Fail', clientConfig: { service: { name: 'db-api', namespace: i === 0 ? 'prod' : 'lk', port: 443 }, caBundle: 'Q0E=' }, rules: [{ operations: ['CREATE'] }], sideEffects: 'None' },
        { name: 'b.example.com', clientConfig: { service: { name: 'db-api', namespace: 'prod' } } },
      ],
    }),
  ),
  y({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'obs', namespace: 'prod' }, spec: { selector: { matchLabels: { 'observability.io/platform': 'db' } }, template: tpl({ 'observability.io/platform': 'db' }, { 'sidecar.istio.io/inject': 'true' }) } }),
  y({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'obs-1', namespace: 'prod', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'obs', controller: true, uid: 'u' }] }, spec: { template: tpl({ 'observability.io/platform': 'db' }) } }),
  y({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'amb' }, spec: { template: tpl({ app: 'agent', 'istio.io/dataplane-mode': 'ambient' }, {}, { hostNetwork: true, containers: [{ name: 'a', ports: [{ containerPort: 15008 }] }] }) } }),
  y({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'prod' }, spec: { template: tpl(POD_LABELS, {}, { containers: [{ name: 'j', restartPolicy: 'Always' }], initContainers: [{ name: 'proxy', restartPolicy: 'Always' }] }) } }),
  y({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c', namespace: 'prod' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: tpl(POD_LABELS) } } } }),
];

/** One place of a value (a path of key positions) replaced by another type, or taken out. */
const damage = fc.record({ at: fc.array(fc.nat(), { minLength: 1, maxLength: 7 }), to: fc.oneof(wrong, fc.constant(ABSENT)) });
const damaged = (o: Record<string, unknown>, d: { at: number[]; to: unknown }): Record<string, unknown> => {
  const copy = structuredClone(o);
  let parent: Record<string, unknown> | unknown[] = copy;
  for (let i = 0; ; i++) {
    const keys = Object.keys(parent);
    if (keys.length === 0) return copy;
    const key = keys[d.at[i]! % keys.length]!;
    const v = (parent as Record<string, unknown>)[key];
    if (i === d.at.length - 1 || typeof v !== 'object' || v === null) {
      if (d.to === ABSENT) {
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete parent[key];
      } else (parent as Record<string, unknown>)[key] = d.to;
      return copy;
    }
    parent = v as Record<string, unknown>;
  }
};
const coherent = fc
  .record({ keep: fc.array(fc.integer({ min: 0, max: 9 }).map((n) => n > 0), { minLength: COHERENT.length, maxLength: COHERENT.length }), damages: fc.array(fc.record({ which: fc.nat(), d: damage }), { maxLength: 5 }) })
  .map(({ keep, damages }) => {
    const objects = COHERENT.filter((_, i) => keep[i]);
    for (const { which, d } of damages) if (objects.length > 0) objects[which % objects.length] = damaged(objects[which % objects.length]!, d);
    return objects;
  });
const world = fc.oneof(coherent, fc.array(indexObject, { minLength: 1, maxLength: 30 }), fc.tuple(coherent, fc.array(indexObject, { maxLength: 10 })).map(([a, b]) => [...a, ...b]));

// --- the property ---

const doc = (object: KubeObject, i: number): SourceDoc => ({ file: 'in.yaml', index: i, prefix: [], object, lineOf: (p) => i * 100 + p.length + 1 });

/** What a call answers, or the message it throws. */
const outcome = <T>(f: () => T): T | { threw: string } => {
  try {
    return f();
  } catch (e) {
    return { threw: String((e as Error).message ?? e) };
  }
};

t.test('the rules answer about the stripped index objects exactly as about the objects as written', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  let crossFindings = 0;
  const rules = new Map<string, number>();
  let judgedFindings = 0;
  const kinds = new Set<string>();
  fc.assert(
    fc.property(world, fc.constantFrom('default', 'prod'), (objects, ns) => {
      // An apiVersion that is not a string fails `check` before anything is kept (MG_ERR_INTERNAL).
      const written = (objects as KubeObject[]).filter((o) => o.apiVersion === undefined || typeof o.apiVersion === 'string');
      const kept = written.map((o) => (isIndexObject(o, CONFIG.profiles) ? stripIndexObject(o, CONFIG.profiles) : o));
      for (const o of written) kinds.add(indexKindOf(o) ?? String(o.kind));
      const sources = (os: KubeObject[]) => os.map((object, i) => ({ object, file: 'in.yaml', line: i + 1, input: i % 3 !== 2 }));
      for (const podMode of ['predict', 'live'] as const) {
        const a = outcome(() => crossObjectFindings(sources(written), CONFIG, { namespace: ns, podMode }));
        const b = outcome(() => crossObjectFindings(sources(kept), CONFIG, { namespace: ns, podMode }));
        if (!isDeepStrictEqual(a, b)) throw new Error(`cross-object (${podMode}):\n${JSON.stringify(a)}\n!==\n${JSON.stringify(b)}`);
        if (Array.isArray(a)) crossFindings += a.length;
        if (Array.isArray(a)) for (const f of a) rules.set(f.rule, (rules.get(f.rule) ?? 0) + 1);
      }
      const viewWritten = buildView([], written.map((object) => ({ object })), ns);
      const viewKept = buildView([], kept.map((object) => ({ object })), ns);
      written.forEach((o, i) => {
        for (const podMode of ['predict', 'live'] as const) {
          // Judged as written (check judges the document itself), against either view.
          const a = outcome(() => judgeDocument(doc(structuredClone(o), i), viewWritten, CONFIG, ns, podMode));
          const b = outcome(() => judgeDocument(doc(structuredClone(o), i), viewKept, CONFIG, ns, podMode));
          if (!isDeepStrictEqual(a, b)) throw new Error(`judgement of #${i} (${podMode}):\n${JSON.stringify(a)}\n!==\n${JSON.stringify(b)}`);
          if (!('threw' in a)) judgedFindings += a.findings.length;
        }
      });
    }),
    { numRuns: NUM_RUNS, seed: SEED },
  );
  t.comment(`cross-object findings by rule: ${JSON.stringify(Object.fromEntries(rules))}`);
  // The generators reach the rules: every kind, and findings of both paths.
  const reached = [...Object.keys(INDEX_KINDS), ANTFLY.cluster.kind, OBSERVABILITY_PLATFORM.cluster.kind];
  t.strictSame(reached.filter((k) => !kinds.has(k)), [], 'every kind of the index is generated');
  t.ok(crossFindings > NUM_RUNS, `cross-object findings: ${crossFindings}`);
  t.ok(judgedFindings > NUM_RUNS, `judgement findings: ${judgedFindings}`);
});

t.test('check keeps an object under its own apiVersion and kind; the informers under the kind they watch', async (t) => {
  const svc = { kind: 'Service', metadata: { name: 's', namespace: 'n', annotations: { a: 'b' } }, spec: { selector: { app: 'a' }, clusterIP: '10.0.0.1' } };
  t.strictSame(stripIndexObject(svc, CONFIG.profiles), { kind: 'Service', metadata: { name: 's', namespace: 'n' }, spec: { selector: { app: 'a' }, ports: [] } });
  t.strictSame(stripService(svc), { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'n' }, spec: { selector: { app: 'a' }, ports: [] } });
  const pa = { apiVersion: 'security.istio.io/v1beta1', kind: 'PeerAuthentication', metadata: { name: 'p' }, spec: { mtls: { mode: 'STRICT' } } };
  t.equal(stripIndexObject(pa, CONFIG.profiles).apiVersion, 'security.istio.io/v1beta1');
  // Not an index object, or one the index cannot hold: as it is.
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } };
  t.equal(stripIndexObject(cm, CONFIG.profiles), cm);
  const unnamed = { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: {} };
  t.equal(stripIndexObject(unnamed, CONFIG.profiles), unnamed);
});

t.test('a strip keeps a value of the wrong type as it is, where the rules tell it from an absent one', async (t) => {
  // Each of these made the stripped object answer differently before (the strips assumed the API server's shapes).
  t.strictSame(stripPod({ metadata: { name: 'p' }, spec: { containers: 'x' as never } }).spec, { containers: 'x' }, 'containers that are not a list');
  t.strictSame(stripPod({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', ports: [null as never] }] } }).spec, { containers: [{ name: 'c', ports: [null] }] }, 'a port that is null');
  t.strictSame(stripPod({ metadata: { name: 'p' }, spec: { hostNetwork: 'true' as never } }).spec, { containers: [] }, 'hostNetwork is read as === true');
  t.strictSame(stripPod({ metadata: { name: 'p' }, status: { phase: '' } }).status, { phase: '' }, 'an empty phase does not count the pod');
  t.strictSame(stripPod({ metadata: { name: 'p', deletionTimestamp: 5 as never } }).metadata, { name: 'p', deletionTimestamp: 5 }, 'any deletionTimestamp');
  t.strictSame(stripService({ metadata: { name: 's' }, spec: { ports: [7] } }).spec, { ports: [7] }, 'a port that is not a mapping');
  const d = stripWorkload('Deployment')({ metadata: { name: 'd' }, spec: { template: { metadata: 'x' as never, spec: 'y' as never } } });
  t.strictSame(d.spec, { template: { metadata: 'x', spec: 'y' } }, 'a template whose metadata and spec are not mappings');
  t.strictSame(stripWorkload('Deployment')({ metadata: { name: 'd' }, spec: { replicas: 1 } }).spec, {}, 'no template: none is made up');
  // FC_SEED=2007431293 found these: a null spec made a pod part the rules refuse into one they read.
  t.strictSame(stripWorkload('DaemonSet')({ metadata: { name: 'd' }, spec: { template: { spec: null as never } } }).spec, { template: { metadata: {}, spec: null } }, 'a template whose spec is null');
  t.equal(stripPod({ metadata: { name: 'p' }, spec: null as never }).spec, null, 'a pod whose spec is null');
});
