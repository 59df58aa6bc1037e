// What `status.serviceMeshStatus` and the `ServiceMeshReady` condition of a cluster CR
// should say, given its pods. Pure: the syncer (syncer/) reads the cluster, hands the
// previous status and the clock in, and writes what comes out when `changed` says so.
//
// Counting uses the policy core's proxy detection (mesh-state.ts), the same answer the
// webhook gives: a logging sidecar is not a mesh proxy, and for istio-ambient "meshed"
// means enrolled, since no proxy runs in the pod.
import type { PolicyConfig } from './config.js';
import type { KubeObject, NamespaceInfo, Pod } from './k8s.js';
import { isPlainObject } from './k8s.js';
import { countMeshed, type InjectionCount } from './mesh-state.js';
import type { MeshName } from './meshes/types.js';
import { desiredMeshOf, serviceMeshOf } from './targets/desired.js';
import { profileOfCluster } from './targets/resolve.js';

export type SidecarInjectionStatus = 'Complete' | 'Partial' | 'None' | 'Unknown';

export interface ServiceMeshStatus {
  enabled: boolean;
  sidecarInjectionStatus: SidecarInjectionStatus;
  podsWithSidecars: number;
  totalPods: number;
  /** When sidecarInjectionStatus last changed (RFC 3339). */
  lastTransitionTime: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** metav1.Condition. Conditions of other types are carried through as they are. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export const SERVICE_MESH_READY = 'ServiceMeshReady';
export const PARTIAL_INJECTION_EVENT_REASON = 'PartialSidecarInjection';

export type ReadyReason = 'Disabled' | 'SidecarInjectionComplete' | 'PartialInjection' | 'NoSidecarInjection' | 'Unknown';

export interface StatusResult {
  serviceMeshStatus: ServiceMeshStatus;
  /** The previous conditions with ServiceMeshReady replaced in place (or appended). */
  conditions: unknown[];
  /** The ServiceMeshReady entry of `conditions`. */
  condition: Condition;
  /** False when the resource already says exactly this: no write needed. */
  changed: boolean;
  /** The status turned Partial with this computation (the Warning event is due once). */
  enteredPartial: boolean;
  /** The mesh pods were counted against; undefined = any mesh counted. */
  countedMesh: MeshName | undefined;
}

const injectionStatusOf = (v: unknown): SidecarInjectionStatus | undefined =>
  v === 'Complete' || v === 'Partial' || v === 'None' || v === 'Unknown' ? v : undefined;

const proxyWord = (mesh: MeshName | undefined): { have: string; none: string } =>
  // Ambient pods are enrolled, not injected: saying "sidecars" would send people looking for one.
  mesh === 'istio-ambient'
    ? { have: 'are enrolled in the ambient mesh', none: 'No pods are enrolled in the ambient mesh' }
    : { have: 'have sidecars injected', none: 'No pods have sidecars injected' };

interface Verdict {
  status: SidecarInjectionStatus;
  ready: ConditionStatus;
  reason: ReadyReason;
  message: string;
}

const verdictOf = (enabled: boolean, meshed: number, total: number, mesh: MeshName | undefined): Verdict => {
  if (!enabled) {
    // Disabled wins over the pod count: an unmeshed cluster is what was asked for. Pods that
    // still carry a proxy are the webhook's business (MG202), but the message says so.
    const message =
      meshed > 0 ? `Service mesh is disabled, but ${meshed}/${total} pods still have a mesh proxy` : 'Service mesh is disabled';
    return { status: 'None', ready: 'True', reason: 'Disabled', message };
  }
  const words = proxyWord(mesh);
  if (total === 0) return { status: 'Unknown', ready: 'Unknown', reason: 'Unknown', message: 'No pods found for this cluster' };
  if (meshed === total) return { status: 'Complete', ready: 'True', reason: 'SidecarInjectionComplete', message: `All ${total} pods ${words.have}` };
  if (meshed === 0) return { status: 'None', ready: 'False', reason: 'NoSidecarInjection', message: `${words.none} (0/${total})` };
  return { status: 'Partial', ready: 'False', reason: 'PartialInjection', message: `${meshed}/${total} pods ${words.have}` };
};

const sameStatus = (a: Record<string, unknown>, b: ServiceMeshStatus): boolean =>
  a.enabled === b.enabled &&
  a.sidecarInjectionStatus === b.sidecarInjectionStatus &&
  a.podsWithSidecars === b.podsWithSidecars &&
  a.totalPods === b.totalPods &&
  a.lastTransitionTime === b.lastTransitionTime;

const sameCondition = (a: Record<string, unknown>, b: Condition): boolean =>
  a.type === b.type &&
  a.status === b.status &&
  a.reason === b.reason &&
  a.message === b.message &&
  a.lastTransitionTime === b.lastTransitionTime &&
  a.observedGeneration === b.observedGeneration;

const isReadyCondition = (c: unknown): c is Record<string, unknown> => isPlainObject(c) && c.type === SERVICE_MESH_READY;

/**
 * The status a cluster CR should carry.
 *
 * @param previousStatus the CR's `status` as read (any shape; garbage is replaced)
 * @param cr the cluster CR (spec and metadata.generation are read)
 * @param pods the cluster's pods (all phases; only Pending/Running, not terminating, count),
 *   or what countMeshed over them answers for a mesh (a view that keeps the count: clusterInjection)
 * @param ns the namespace the cluster lives in (it can decide which mesh is meant)
 * @param now the caller's clock, RFC 3339; used only where a transition happened
 */
export function computeServiceMeshStatus(
  previousStatus: unknown,
  cr: KubeObject,
  pods: readonly Pod[] | ((mesh: MeshName | undefined) => InjectionCount),
  ns: NamespaceInfo,
  config: PolicyConfig,
  now: string,
): StatusResult {
  const prev = isPlainObject(previousStatus) ? previousStatus : {};
  const prevMesh = isPlainObject(prev.serviceMeshStatus) ? prev.serviceMeshStatus : {};
  const prevConditions: unknown[] = Array.isArray(prev.conditions) ? prev.conditions : [];

  const profile = profileOfCluster(cr, config.profiles);
  // Without a profile (a CR this configuration does not know) nothing says which mesh is
  // meant; `enabled` is still the plain spec field every dialect shares.
  const desired = profile ? desiredMeshOf(profile, cr, ns) : { enabled: serviceMeshOf(cr).enabled === true, mesh: undefined };
  // Meshed by the cluster's own mesh when known: a Linkerd proxy in an Istio cluster is no
  // sidecar for it. When disabled, any proxy counts: every proxy is one too many.
  const countedMesh = desired.enabled ? desired.mesh : undefined;
  const { meshed, total } = typeof pods === 'function' ? pods(countedMesh) : countMeshed(pods, ns, countedMesh);
  const verdict = verdictOf(desired.enabled, meshed, total, countedMesh);

  const previousInjection = injectionStatusOf(prevMesh.sidecarInjectionStatus);
  const keepTransition = previousInjection === verdict.status && typeof prevMesh.lastTransitionTime === 'string';
  const serviceMeshStatus: ServiceMeshStatus = {
    enabled: desired.enabled,
    sidecarInjectionStatus: verdict.status,
    podsWithSidecars: meshed,
    totalPods: total,
    lastTransitionTime: keepTransition ? (prevMesh.lastTransitionTime as string) : now,
  };

  // As apimachinery's SetStatusCondition: the transition time moves only with `status`;
  // reason, message and observedGeneration follow the latest computation.
  const prevCondition = prevConditions.find(isReadyCondition);
  const keepConditionTime = prevCondition?.status === verdict.ready && typeof prevCondition.lastTransitionTime === 'string';
  const generation = cr.metadata?.generation;
  const condition: Condition = {
    type: SERVICE_MESH_READY,
    status: verdict.ready,
    reason: verdict.reason,
    message: verdict.message,
    lastTransitionTime: keepConditionTime ? (prevCondition.lastTransitionTime as string) : now,
    ...(typeof generation === 'number' ? { observedGeneration: generation } : {}),
  };

  // Replace in place so other conditions keep their order; duplicates of our type (written by
  // someone else) collapse into one, since a condition type is a map key.
  const conditions: unknown[] = [];
  let placed = false;
  for (const c of prevConditions) {
    if (!isReadyCondition(c)) conditions.push(c);
    else if (!placed) {
      conditions.push(condition);
      placed = true;
    }
  }
  if (!placed) conditions.push(condition);

  const duplicates = prevConditions.filter(isReadyCondition).length > 1;
  const changed = !sameStatus(prevMesh, serviceMeshStatus) || !prevCondition || !sameCondition(prevCondition, condition) || duplicates;
  const enteredPartial = verdict.status === 'Partial' && previousInjection !== 'Partial';

  return { serviceMeshStatus, conditions, condition, changed, enteredPartial, countedMesh };
}
