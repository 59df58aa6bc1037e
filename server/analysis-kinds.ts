// What the webhook watches besides its cluster view when `analysis.admissionWarnings` is on:
// the kinds the cross-object rules read at apply time (Services, NetworkPolicies,
// PeerAuthentications, both webhook configurations; every pod is watched instead of the
// target pods only). The status syncer writing PolicyReports watches these and the rest of
// the object index: the workloads (their pod templates) and the monitors. Each object is
// stripped to the fields those rules read: no annotations (last-applied-configuration alone
// is the size of the object; a workload's template keeps its own), no caBundle, no webhook
// rules, no status. Measured cost: docs/operations.md.
import { INDEX_KINDS, WORKLOAD_KINDS, type IndexKind, type WorkloadKind } from '../policies/index/kinds.js';
import { isPlainObject, type KubeObject, type ObjectMeta, type PodSpec } from '../policies/k8s.js';
import { templatePathOf } from '../policies/targets/resolve.js';

/** An informer's resource: what to list and watch (GET `path`, server/kube-list.ts), and how to strip what it caches. */
export interface ResourceSpec {
  /** Name in sizes/metrics/logs: "namespaces", "pods/antfly", "antflyclusters.antfly.io". */
  name: string;
  path: string;
  labelSelector?: string;
  strip(o: KubeObject): KubeObject;
  /** A CRD that may not be installed. */
  optional: boolean;
  /** Absent (404) or not permitted (403): held as empty and tried again later (the syncer's index kinds). */
  skippable?: boolean;
}

/** A timestamp as the policies read it: lists and watch events give strings, client-node's typed models Dates. */
export const timestamp = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : undefined);

/** Identity, labels and creationTimestamp (Istio's PeerAuthentication precedence: the oldest wins). */
const analysisMeta = (m: ObjectMeta | undefined): ObjectMeta => {
  const out: ObjectMeta = {};
  if (!m) return out;
  if (m.name !== undefined) out.name = m.name;
  if (m.namespace !== undefined) out.namespace = m.namespace;
  if (m.uid !== undefined) out.uid = m.uid;
  // The informer compares resourceVersions to skip no-op updates and resumes watches from them.
  if (m.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
  if (m.labels) out.labels = m.labels;
  const created = timestamp(m.creationTimestamp);
  if (created !== undefined) out.creationTimestamp = created;
  return out;
};

const pick = (o: unknown, keys: readonly string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  if (!isPlainObject(o)) return out;
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) out[k] = o[k];
  return out;
};

export const stripService = (o: KubeObject): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: analysisMeta(o.metadata),
  spec: {
    ...pick(o.spec, ['selector']),
    ports: (Array.isArray(o.spec?.ports) ? (o.spec.ports as unknown[]) : []).map((p) => pick(p, ['name', 'port', 'targetPort', 'protocol'])),
  },
});

export const stripNetworkPolicy = (o: KubeObject): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: analysisMeta(o.metadata),
  // Egress rules are never read: the rules judge what reaches a pod.
  spec: pick(o.spec, ['podSelector', 'policyTypes', 'ingress']),
});

export const stripPeerAuthentication = (o: KubeObject): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: analysisMeta(o.metadata),
  spec: pick(o.spec, ['selector', 'mtls', 'portLevelMtls']),
});

export const stripWebhookConfiguration =
  (kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration') =>
  (o: KubeObject): KubeObject => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind,
    metadata: analysisMeta(o.metadata),
    webhooks: (Array.isArray(o.webhooks) ? (o.webhooks as unknown[]) : []).map((w) => ({
      ...pick(w, ['name', 'failurePolicy']),
      clientConfig: pick(isPlainObject(w) ? w.clientConfig : undefined, ['service']),
    })),
  });

/** The informers of the analysed kinds, by the index kind each holds. */
export const analysisResources = (): [IndexKind, ResourceSpec][] => {
  return [
    ['Service', { name: 'services', path: '/api/v1/services', strip: stripService, optional: false }],
    [
      'NetworkPolicy',
      {
        name: 'networkpolicies.networking.k8s.io',
        path: '/apis/networking.k8s.io/v1/networkpolicies',
        strip: stripNetworkPolicy,
        optional: false,
      },
    ],
    [
      'MutatingWebhookConfiguration',
      {
        name: 'mutatingwebhookconfigurations.admissionregistration.k8s.io',
        path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
        strip: stripWebhookConfiguration('MutatingWebhookConfiguration'),
        optional: false,
      },
    ],
    [
      'ValidatingWebhookConfiguration',
      {
        name: 'validatingwebhookconfigurations.admissionregistration.k8s.io',
        path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
        strip: stripWebhookConfiguration('ValidatingWebhookConfiguration'),
        optional: false,
      },
    ],
    [
      // v1 is served since Istio 1.22 (v1beta1 carries the same spec).
      'PeerAuthentication',
      {
        name: 'peerauthentications.security.istio.io',
        path: '/apis/security.istio.io/v1/peerauthentications',
        strip: stripPeerAuthentication,
        optional: true,
      },
    ],
  ];
};

// --- the rest of the object index (the syncer's PolicyReports) ---

/** Analysis metadata plus the controller owner: a Deployment's ReplicaSet is judged through its Deployment. */
const workloadMeta = (m: ObjectMeta | undefined): ObjectMeta => {
  const out = analysisMeta(m);
  const owner = m?.ownerReferences?.find((r) => r.controller === true);
  if (owner) out.ownerReferences = [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, controller: true }];
  return out;
};

/** A pod spec as the rules read it: containers' names, ports and restartPolicy, hostNetwork. */
export const stripPodSpec = (spec: PodSpec): PodSpec => {
  const container = (c: Record<string, unknown>) => ({
    ...pick(c, ['name', 'restartPolicy']),
    ...(Array.isArray(c.ports) ? { ports: (c.ports as unknown[]).map((p) => pick(p, ['containerPort', 'name', 'protocol'])) } : {}),
  });
  return {
    containers: (Array.isArray(spec.containers) ? spec.containers : []).map(container),
    ...(Array.isArray(spec.initContainers) ? { initContainers: spec.initContainers.map(container) } : {}),
    ...(spec.hostNetwork ? { hostNetwork: true } : {}),
  };
};

/** A workload keeps its selector and its pod template's labels, annotations and pod facts (the per-object rules judge the template). */
export const stripWorkload =
  (kind: WorkloadKind) =>
  (o: KubeObject): KubeObject => {
    const { group, version } = INDEX_KINDS[kind];
    const apiVersion = `${group}/${version}`;
    const out: KubeObject = { apiVersion, kind, metadata: workloadMeta(o.metadata) };
    // List items carry no apiVersion or kind of their own: the informer's kind decides.
    const base = templatePathOf(apiVersion, kind)!;
    if (!isPlainObject(o.spec)) return out;
    let t: unknown = o;
    for (const seg of base) t = isPlainObject(t) ? t[seg] : undefined;
    const template = isPlainObject(t) ? t : {};
    const meta = isPlainObject(template.metadata) ? (template.metadata as ObjectMeta) : {};
    const stripped = { metadata: pick(meta, ['labels', 'annotations']), spec: stripPodSpec(isPlainObject(template.spec) ? (template.spec as PodSpec) : {}) };
    // spec.template, or spec.jobTemplate.spec.template for a CronJob.
    const inner = base.slice(1).reduceRight<unknown>((acc, seg) => ({ [seg]: acc }), stripped) as Record<string, unknown>;
    out.spec = { ...pick(o.spec, ['selector']), ...inner };
    return out;
  };

export const stripMonitor =
  (kind: 'ServiceMonitor' | 'PodMonitor') =>
  (o: KubeObject): KubeObject => ({
    apiVersion: 'monitoring.coreos.com/v1',
    kind,
    metadata: analysisMeta(o.metadata),
    spec: pick(o.spec, ['selector', 'namespaceSelector', 'endpoints', 'podMetricsEndpoints']),
  });

/** The informers of every kind of the object index but Namespace and Pod. */
export const indexResources = (): [IndexKind, ResourceSpec][] => {
  const resource = (kind: IndexKind, strip: (o: KubeObject) => KubeObject, optional: boolean): [IndexKind, ResourceSpec] => {
    const { group, version, plural } = INDEX_KINDS[kind];
    return [kind, { name: `${plural}.${group}`, path: `/apis/${group}/${version}/${plural}`, strip, optional }];
  };
  return [
    ...analysisResources(),
    ...WORKLOAD_KINDS.map((kind) => resource(kind, stripWorkload(kind), false)),
    resource('ServiceMonitor', stripMonitor('ServiceMonitor'), true),
    resource('PodMonitor', stripMonitor('PodMonitor'), true),
  ];
};
