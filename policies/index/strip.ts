// Every kind of the object index stripped to the fields the policies (and the status
// syncer) read: what the webhook's and the syncer's informers cache and what `check` keeps
// of an object once its document is judged. One module, so a rule that starts reading a
// field changes one place, and the live view and `check` can never disagree about it.
//
// Dropped: annotations of the kinds the rules read no annotation of (last-applied-
// configuration alone is the size of the object; a Pod, a Namespace, a cluster CR and a
// workload's pod template keep theirs), caBundle, webhook rules, egress rules, status but
// a pod's phase and the two fields of a cluster CR the syncer owns, and every field of a
// container but its name, restartPolicy and ports.
//
// An object from the API server has the shape its schema gives. `check` reads files, so
// a strip also takes any shape YAML gives: it only ever leaves out keys of plain objects
// where the rules expect them, and keeps a value of another type (null, a string where a
// list belongs, an item that is not a mapping) as it is, so the rules answer about the
// stripped object exactly as about the original (test/unit/policies/strip.test.ts).
import type { Path } from '../findings.js';
import type { ClusterRef } from './object-index.js';
import { INDEX_KINDS, indexKindOf, type IndexKind, type WorkloadKind } from './kinds.js';
import { isPlainObject, type Container, type KubeObject, type Namespace, type ObjectMeta, type Pod, type PodSpec } from '../k8s.js';
import type { TargetProfile } from '../targets/profile.js';
import { profileOfCluster, templatePathOf } from '../targets/resolve.js';

/** A timestamp as the policies read it: lists and watch events give strings, client-node's typed models Dates. */
export const timestamp = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : undefined);

/** A Date as its string; any other value as it is (a pod whose deletionTimestamp is set, to whatever, is on its way out). */
const timestampValue = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : v);

/** The kind and apiVersion a strip gives its copy: the informer's, or the object's own (`check`). */
interface Type {
  apiVersion: string | undefined;
  kind: string | undefined;
}

/**
 * A new object of `type` with `metadata`. Built key by key, as is everything here: a spread
 * copy in V8 costs about a microsecond a key added after it, and check strips every object
 * of its input.
 */
const typed = (type: Type, metadata: ObjectMeta): KubeObject => {
  const out: KubeObject = {};
  if (type.apiVersion !== undefined) out.apiVersion = type.apiVersion;
  out.kind = type.kind;
  out.metadata = metadata;
  return out;
};

/** Identity and labels: what every stripped object keeps of its metadata. */
const identityMeta = (m: ObjectMeta): ObjectMeta => {
  const out: ObjectMeta = {};
  if (m.name !== undefined) out.name = m.name;
  if (m.namespace !== undefined) out.namespace = m.namespace;
  if (m.uid !== undefined) out.uid = m.uid;
  // The informer compares resourceVersions to skip no-op updates and resumes watches from them.
  if (m.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
  if (m.labels !== undefined) out.labels = m.labels;
  return out;
};

/** Metadata of a Pod, a Namespace or a cluster CR: identity, labels, annotations, generation, deletionTimestamp. */
export function stripMeta(m: ObjectMeta | undefined): ObjectMeta {
  if (!m) return {};
  const out = identityMeta(m);
  if (m.generation !== undefined) out.generation = m.generation;
  if (m.annotations !== undefined) out.annotations = m.annotations;
  const deletion = timestampValue(m.deletionTimestamp);
  if (deletion !== undefined) out.deletionTimestamp = deletion as string;
  return out;
}

/** A container as the rules read it: name, restartPolicy (a native sidecar) and ports. */
const stripContainer = (c: Container): Container => {
  const out: Container = {};
  if (c.name !== undefined) out.name = c.name;
  if (c.restartPolicy !== undefined) out.restartPolicy = c.restartPolicy;
  if (Array.isArray(c.ports)) out.ports = c.ports.map((p) => (isPlainObject(p) ? { containerPort: p.containerPort, name: p.name, protocol: p.protocol } : p)) as Container['ports'];
  return out;
};

/** A list of containers stripped item by item; anything else as it is. */
const containers = (cs: unknown): unknown => (Array.isArray(cs) ? cs.map((c) => (isPlainObject(c) ? stripContainer(c as Container) : c)) : cs);

/** A pod spec as the rules read it: containers' names, ports and restartPolicy, hostNetwork. */
export const stripPodSpec = (spec: PodSpec): PodSpec => {
  const out: PodSpec = { containers: (containers(spec.containers ?? []) ?? []) as Container[] };
  if (spec.initContainers !== undefined && spec.initContainers !== null) out.initContainers = containers(spec.initContainers) as Container[];
  // Read as `hostNetwork === true` (podFacts).
  if (spec.hostNetwork === true) out.hostNetwork = true;
  return out;
};

const stripPodAs = (type: Type, p: Pod): Pod => {
  // A spec that is null or not a mapping stays as it is: the rules refuse such a pod (podShapeOf).
  const spec = p.spec === undefined ? {} : p.spec;
  const phase = isPlainObject(p.status) ? p.status.phase : undefined;
  const out = typed(type, stripMeta(p.metadata)) as Pod;
  out.spec = (isPlainObject(spec) ? stripPodSpec(spec as PodSpec) : spec) as PodSpec;
  // isCountedPod: a pod counts while its phase is absent, Pending or Running.
  if (phase !== undefined) out.status = { phase: phase as string };
  return out;
};

export const stripPod = (p: Pod): Pod => stripPodAs({ apiVersion: 'v1', kind: 'Pod' }, p);

const stripNamespaceAs = (type: Type, n: Namespace): Namespace => typed(type, stripMeta(n.metadata)) as Namespace;

export const stripNamespace = (n: Namespace): Namespace => stripNamespaceAs({ apiVersion: 'v1', kind: 'Namespace' }, n);

/**
 * Of a cluster CR's status only the two fields the status syncer owns are kept: with
 * them cached it can tell that a status is already right without reading the CR again.
 */
const stripStatus = (status: unknown): Record<string, unknown> | undefined => {
  if (status === null || typeof status !== 'object') return undefined;
  const { serviceMeshStatus, conditions } = status as Record<string, unknown>;
  if (serviceMeshStatus === undefined && conditions === undefined) return undefined;
  return { ...(serviceMeshStatus !== undefined ? { serviceMeshStatus } : {}), ...(conditions !== undefined ? { conditions } : {}) };
};

const stripClusterAs = (type: Type, o: KubeObject): KubeObject => {
  const status = stripStatus(o.status);
  const out = typed(type, stripMeta(o.metadata));
  if (o.spec !== undefined) out.spec = o.spec;
  if (status !== undefined) out.status = status;
  return out;
};

export const stripCluster =
  (ref: ClusterRef) =>
  (o: KubeObject): KubeObject =>
    stripClusterAs(ref, o);

// --- the kinds the cross-object rules read ---

/** Identity, labels and creationTimestamp (Istio's PeerAuthentication precedence: the oldest wins). */
const analysisMeta = (m: ObjectMeta | undefined): ObjectMeta => {
  if (!m) return {};
  const out = identityMeta(m);
  const created = timestamp(m.creationTimestamp);
  if (created !== undefined) out.creationTimestamp = created;
  return out;
};

/** Metadata plus the controller owner: a Deployment's ReplicaSet is judged through its Deployment. */
const workloadMeta = (m: ObjectMeta | undefined): ObjectMeta => {
  const out = analysisMeta(m);
  const owner = Array.isArray(m?.ownerReferences) ? m.ownerReferences.find((r) => isPlainObject(r) && r.controller === true) : undefined;
  if (owner) out.ownerReferences = [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, controller: true }];
  return out;
};

/** The keys of `o` that are set (neither undefined nor null: the rules read both as absent). */
const pick = (o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) out[k] = o[k];
  return out;
};

/** A value that is a mapping picked to `keys`, or the value as it is. */
const picked = (o: unknown, keys: readonly string[]): unknown => (isPlainObject(o) ? pick(o, keys) : o);

const SELECTOR = ['selector'];
const TEMPLATE_META = ['labels', 'annotations'];

const withSpec = (o: KubeObject, spec: unknown): KubeObject => {
  o.spec = spec as Record<string, unknown>;
  return o;
};

/** A spec picked to `keys`; an absent one as an empty one (`{}`, what the informers always cached). */
const pickSpec = (spec: unknown, keys: readonly string[]): unknown => (spec === undefined ? {} : picked(spec, keys));

const SERVICE_PORT = ['name', 'port', 'targetPort', 'protocol'];
const stripServiceAs = (type: Type, o: KubeObject): KubeObject => {
  const spec = o.spec;
  const out = typed(type, analysisMeta(o.metadata));
  if (spec === undefined || isPlainObject(spec)) {
    const s = pick(spec ?? {}, SELECTOR);
    s.ports = Array.isArray(spec?.ports) ? (spec.ports as unknown[]).map((p) => picked(p, SERVICE_PORT)) : [];
    out.spec = s;
  } else out.spec = spec;
  return out;
};

export const stripService = (o: KubeObject): KubeObject => stripServiceAs({ apiVersion: 'v1', kind: 'Service' }, o);

// Egress rules are never read: the rules judge what reaches a pod.
const NETWORK_POLICY = ['podSelector', 'policyTypes', 'ingress'];
const stripNetworkPolicyAs = (type: Type, o: KubeObject): KubeObject => withSpec(typed(type, analysisMeta(o.metadata)), pickSpec(o.spec, NETWORK_POLICY));

export const stripNetworkPolicy = (o: KubeObject): KubeObject => stripNetworkPolicyAs({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' }, o);

const PEER_AUTHENTICATION = ['selector', 'mtls', 'portLevelMtls'];
const stripPeerAuthenticationAs = (type: Type, o: KubeObject): KubeObject => withSpec(typed(type, analysisMeta(o.metadata)), pickSpec(o.spec, PEER_AUTHENTICATION));

export const stripPeerAuthentication = (o: KubeObject): KubeObject => stripPeerAuthenticationAs({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication' }, o);

const WEBHOOK = ['name', 'failurePolicy'];
const CLIENT_CONFIG = ['service'];
const stripWebhookConfigurationAs = (type: Type, o: KubeObject): KubeObject => {
  const out = typed(type, analysisMeta(o.metadata));
  out.webhooks = (Array.isArray(o.webhooks) ? (o.webhooks as unknown[]) : []).map((w) => {
    if (!isPlainObject(w)) return w;
    const hook = pick(w, WEBHOOK);
    hook.clientConfig = pickSpec(w.clientConfig, CLIENT_CONFIG);
    return hook;
  });
  return out;
};

export const stripWebhookConfiguration =
  (kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration') =>
  (o: KubeObject): KubeObject =>
    stripWebhookConfigurationAs({ apiVersion: 'admissionregistration.k8s.io/v1', kind }, o);

/**
 * A workload keeps its selector and its pod template's labels, annotations and pod facts
 * (the per-object rules judge the template). `base`: where its pod template is.
 */
const stripWorkloadAs = (type: Type, base: Path, o: KubeObject): KubeObject => {
  const out = typed(type, workloadMeta(o.metadata));
  if (!isPlainObject(o.spec)) {
    if (o.spec !== undefined) out.spec = o.spec;
    return out;
  }
  // spec.template, or spec.jobTemplate.spec.template for a CronJob: each level keeps only
  // the key on the way; a level that is not a mapping is kept as it is.
  const level = (v: unknown, depth: number): unknown => {
    if (depth === base.length) return template(v);
    if (!isPlainObject(v)) return v;
    const key = base[depth] as string;
    const out = depth === 1 ? pick(v, SELECTOR) : {};
    if (v[key] !== undefined) out[key] = level(v[key], depth + 1);
    return out;
  };
  out.spec = level(o.spec, 1) as Record<string, unknown>;
  return out;
};

/** A pod template: labels and annotations, the pod facts of its spec. */
const template = (t: unknown): unknown => {
  if (!isPlainObject(t)) return t;
  const meta = t.metadata;
  const spec = t.spec;
  return {
    // A null metadata reads as absent (podShapeOf); a null spec does not.
    metadata: meta === undefined || meta === null ? {} : picked(meta, TEMPLATE_META),
    spec: spec === undefined ? stripPodSpec({}) : isPlainObject(spec) ? stripPodSpec(spec as PodSpec) : spec,
  };
};

export const stripWorkload =
  (kind: WorkloadKind) =>
  (o: KubeObject): KubeObject => {
    const { group, version } = INDEX_KINDS[kind];
    const apiVersion = `${group}/${version}`;
    // List items carry no apiVersion or kind of their own: the informer's kind decides.
    return stripWorkloadAs({ apiVersion, kind }, templatePathOf(apiVersion, kind)!, o);
  };

const MONITOR = ['selector', 'namespaceSelector', 'endpoints', 'podMetricsEndpoints'];
const stripMonitorAs = (type: Type, o: KubeObject): KubeObject => withSpec(typed(type, analysisMeta(o.metadata)), pickSpec(o.spec, MONITOR));

export const stripMonitor =
  (kind: 'ServiceMonitor' | 'PodMonitor') =>
  (o: KubeObject): KubeObject =>
    stripMonitorAs({ apiVersion: 'monitoring.coreos.com/v1', kind }, o);

const AS: Record<IndexKind, (type: Type, o: KubeObject) => KubeObject> = {
  Namespace: (type, o) => stripNamespaceAs(type, o as Namespace),
  Pod: (type, o) => stripPodAs(type, o as Pod),
  Service: stripServiceAs,
  StatefulSet: (type, o) => stripWorkloadAs(type, ['spec', 'template'], o),
  Deployment: (type, o) => stripWorkloadAs(type, ['spec', 'template'], o),
  ReplicaSet: (type, o) => stripWorkloadAs(type, ['spec', 'template'], o),
  DaemonSet: (type, o) => stripWorkloadAs(type, ['spec', 'template'], o),
  Job: (type, o) => stripWorkloadAs(type, ['spec', 'template'], o),
  CronJob: (type, o) => stripWorkloadAs(type, ['spec', 'jobTemplate', 'spec', 'template'], o),
  MutatingWebhookConfiguration: stripWebhookConfigurationAs,
  ValidatingWebhookConfiguration: stripWebhookConfigurationAs,
  PeerAuthentication: stripPeerAuthenticationAs,
  NetworkPolicy: stripNetworkPolicyAs,
  ServiceMonitor: stripMonitorAs,
  PodMonitor: stripMonitorAs,
};

/**
 * An object of the index (an index kind or a profile's cluster CR) as `check` keeps it
 * past its file: stripped, under its own apiVersion and kind (every version of a kind is
 * one to the rules, and findings name the object as written). Anything else, and an
 * object the index cannot hold (no kind or name), is returned as it is.
 */
export const stripIndexObject = (o: KubeObject, profiles: readonly TargetProfile[]): KubeObject => {
  if (!isPlainObject(o.metadata) || !o.metadata.name || typeof o.kind !== 'string') return o;
  const type = { apiVersion: o.apiVersion, kind: o.kind };
  const kind = indexKindOf(o);
  if (kind) return AS[kind](type, o);
  return profileOfCluster(o, profiles) ? stripClusterAs(type, o) : o;
};
