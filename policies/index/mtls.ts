// Which inbound ports of a meshed pod refuse a client without a mesh identity (the
// kube-apiserver calling a webhook, a Prometheus outside the mesh): Istio's effective
// PeerAuthentication mode, Istio's inbound capture, and Linkerd's default inbound policy.
//
// Istio's precedence, as pilot's ComposePeerAuthentication applies it: among the policies
// without a selector (or with empty matchLabels), the oldest in the root namespace is the
// mesh policy and the oldest in the pod's namespace the namespace policy; among the
// selector policies of the pod's namespace that match the pod, the oldest is the workload
// policy (selector policies in the root namespace are ignored). Mesh, then namespace, then
// workload override the mode unless UNSET; `portLevelMtls` is read only from the workload
// policy, an UNSET port inherits the workload result; nothing at all is PERMISSIVE.
// "Oldest" is creationTimestamp, then name (Istio sorts its configs so); a manifest not yet
// applied has no timestamp and counts as newer than any stored object.
import { isPlainObject, type KubeObject, type PodFacts, type StringMap } from '../k8s.js';
import { linkerdSkipsPort } from '../meshes/linkerd.js';
import type { MeshName } from '../meshes/types.js';
import { parsePortList } from '../values/port-list.js';
import { namespaceOfIndex } from './relations.js';
import type { ObjectIndex } from './object-index.js';
import { labelsMatch } from './selectors.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

export const DEFAULT_ISTIO_ROOT_NAMESPACE = 'istio-system';

export interface EffectiveMtls {
  mode: MtlsMode;
  /** The policy whose setting decided the mode; undefined for the PERMISSIVE default. */
  decidedBy?: KubeObject;
  /** Where the mode came from. */
  level: 'port' | 'workload' | 'namespace' | 'mesh' | 'default';
  /** The workload policy that applies to the pod, if any: a new exception must be added to it (the oldest wins). */
  workloadPolicy?: KubeObject;
}

const MODES: ReadonlySet<string> = new Set(['STRICT', 'PERMISSIVE', 'DISABLE']);

/** The mode a `mtls` block sets, or undefined for UNSET / absent (inherit). */
const modeOf = (mtls: unknown): MtlsMode | undefined =>
  isPlainObject(mtls) && typeof mtls.mode === 'string' && MODES.has(mtls.mode) ? (mtls.mode as MtlsMode) : undefined;

const matchLabelsOf = (pa: KubeObject): StringMap | undefined => {
  const sel = pa.spec?.selector;
  return isPlainObject(sel) && isPlainObject(sel.matchLabels) && Object.keys(sel.matchLabels).length > 0 ? (sel.matchLabels as StringMap) : undefined;
};

/** Whether a PeerAuthentication applies to a whole namespace (no selector, or empty matchLabels). */
export const isNamespaceWide = (pa: KubeObject): boolean => matchLabelsOf(pa) === undefined;

/** Istio's order: older first; a missing timestamp sorts last; then by name. */
export const olderFirst = (a: KubeObject, b: KubeObject): number => {
  const ta = a.metadata?.creationTimestamp;
  const tb = b.metadata?.creationTimestamp;
  const ma = typeof ta === 'string' ? Date.parse(ta) : Number.POSITIVE_INFINITY;
  const mb = typeof tb === 'string' ? Date.parse(tb) : Number.POSITIVE_INFINITY;
  if (ma !== mb) return (Number.isNaN(ma) ? Infinity : ma) < (Number.isNaN(mb) ? Infinity : mb) ? -1 : 1;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
};

const oldest = (xs: readonly KubeObject[]): KubeObject | undefined => xs.reduce<KubeObject | undefined>((a, b) => (!a || olderFirst(b, a) < 0 ? b : a), undefined);

/**
 * The effective mode for a pod with `labels` in `namespace` on container `port`, given the
 * PeerAuthentications of that namespace and of the root namespace (pure: the property
 * test compares it with a reference model).
 */
export const composeMtls = (
  inNamespace: readonly KubeObject[],
  inRoot: readonly KubeObject[],
  namespace: string,
  labels: StringMap,
  port: number,
  rootNamespace: string,
): EffectiveMtls => {
  const mesh = oldest(inRoot.filter(isNamespaceWide));
  const ns = namespace === rootNamespace ? undefined : oldest(inNamespace.filter(isNamespaceWide));
  const workload =
    namespace === rootNamespace
      ? undefined
      : oldest(inNamespace.filter((pa) => {
          const m = matchLabelsOf(pa);
          return m !== undefined && labelsMatch(labels, m);
        }));
  let out: EffectiveMtls = { mode: 'PERMISSIVE', level: 'default' };
  const meshMode = mesh && modeOf(mesh.spec?.mtls);
  if (meshMode) out = { mode: meshMode, decidedBy: mesh, level: 'mesh' };
  const nsMode = ns && modeOf(ns.spec?.mtls);
  if (nsMode) out = { mode: nsMode, decidedBy: ns, level: 'namespace' };
  if (!workload) return out;
  const wlMode = modeOf(workload.spec?.mtls);
  if (wlMode) out = { mode: wlMode, decidedBy: workload, level: 'workload' };
  const ports = workload.spec?.portLevelMtls;
  const portMode = isPlainObject(ports) && Object.hasOwn(ports, String(port)) ? modeOf(ports[String(port)]) : undefined;
  if (portMode) out = { mode: portMode, decidedBy: workload, level: 'port' };
  return { ...out, workloadPolicy: workload };
};

/** Istio's effective mTLS mode for a pod (or template) and container port, read from the index. */
export const effectiveMtls = (index: ObjectIndex, namespace: string, labels: StringMap, port: number, rootNamespace = DEFAULT_ISTIO_ROOT_NAMESPACE): EffectiveMtls =>
  composeMtls(index.list('PeerAuthentication', namespace), index.list('PeerAuthentication', rootNamespace), namespace, labels, port, rootNamespace);

/** Whether an annotation's port list names `port` (`*` names every port; an unparsable list names none). */
const listsPort = (value: string | undefined, port: number, ranges: boolean): boolean => {
  if (value === undefined) return false;
  const parsed = parsePortList(value, { ranges, allowStar: true });
  return parsed.ok && (parsed.value.all || parsed.value.spans.some((s) => s.from <= port && port <= s.to));
};

const INCLUDE_INBOUND = 'traffic.sidecar.istio.io/includeInboundPorts';
const EXCLUDE_INBOUND = 'traffic.sidecar.istio.io/excludeInboundPorts';

/**
 * Whether the Istio sidecar captures inbound traffic to `port`: not when the port is in
 * excludeInboundPorts, nor when includeInboundPorts is set (default `*`) and does not list
 * it. An uncaptured port reaches the application directly, with no mTLS at all.
 */
export const sidecarCaptures = (pod: PodFacts, port: number): boolean => {
  if (listsPort(pod.annotations[EXCLUDE_INBOUND], port, false)) return false;
  const include = pod.annotations[INCLUDE_INBOUND];
  return include === undefined || listsPort(include, port, false);
};

const LINKERD_POLICY = 'config.linkerd.io/default-inbound-policy';
const LINKERD_SKIP_INBOUND = 'config.linkerd.io/skip-inbound-ports';
/** Linkerd's policies that refuse a client without a mesh identity. */
const LINKERD_AUTHENTICATED = new Set(['all-authenticated', 'deny']);

export interface PlaintextRefusal {
  mesh: MeshName;
  /** e.g. 'PeerAuthentication databases/databases-strict makes port 9443 STRICT'. */
  reason: string;
  mtls?: EffectiveMtls;
}

/**
 * Why a client outside the mesh cannot reach `port` of a pod meshed by `mesh`, or
 * undefined when it can.
 */
export const refusesPlaintext = (
  index: ObjectIndex,
  pod: { namespace: string; facts: PodFacts },
  mesh: MeshName,
  port: number,
  rootNamespace = DEFAULT_ISTIO_ROOT_NAMESPACE,
): PlaintextRefusal | undefined => {
  if (mesh === 'istio' || mesh === 'istio-ambient') {
    // ztunnel captures every port of an enrolled pod; the sidecar only what it is told to.
    if (mesh === 'istio' && !sidecarCaptures(pod.facts, port)) return undefined;
    const mtls = effectiveMtls(index, pod.namespace, pod.facts.labels, port, rootNamespace);
    if (mtls.mode !== 'STRICT') return undefined;
    const by = mtls.decidedBy;
    const where = by ? `PeerAuthentication ${by.metadata?.namespace ?? ''}/${by.metadata?.name ?? ''}` : 'the mesh default';
    const scope = mtls.level === 'port' ? `its portLevelMtls for ${port}` : mtls.level === 'workload' ? 'its workload mode' : mtls.level === 'namespace' ? 'its namespace-wide mode' : 'its mesh-wide mode';
    return { mesh, reason: `${where} makes port ${port} STRICT (${scope})`, mtls };
  }
  if (mesh === 'linkerd') {
    const skip = pod.facts.annotations[LINKERD_SKIP_INBOUND];
    if (skip !== undefined && linkerdSkipsPort(skip, port)) return undefined;
    const ns = namespaceOfIndex(index, pod.namespace);
    const fromPod = pod.facts.annotations[LINKERD_POLICY];
    const policy = fromPod ?? ns.annotations[LINKERD_POLICY];
    if (policy === undefined || !LINKERD_AUTHENTICATED.has(policy)) return undefined;
    const where = fromPod !== undefined ? 'the pod annotation' : `the annotation of namespace ${pod.namespace}`;
    return { mesh, reason: `${where} ${LINKERD_POLICY}: ${policy} admits only meshed clients on port ${port}` };
  }
  return undefined;
};
