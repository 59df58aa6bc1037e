// Is a pod (or template) meshed, and by what? One answer for the webhook, the CLI and
// the status syncer, so they can never disagree.
import type { NamespaceInfo, Pod, PodFacts } from './k8s.js';
import { podFacts } from './k8s.js';
import type { ClusterView } from './index/object-index.js';
import type { Judgements } from './judgement-memo.js';
import type { TargetProfile } from './targets/profile.js';
import { podSelectorOf } from './targets/resolve.js';
import { MESHES, detectProxies } from './meshes/index.js';
import type { Decision, MeshName, MeshOptions } from './meshes/types.js';
import { MESH_NAMES } from './meshes/types.js';

/**
 * live: the pod as stored, after every mutating webhook ran (look for the proxy).
 * predict: a manifest or template that no injector has seen yet (apply the injectors' rules).
 */
export type Mode = 'live' | 'predict';

export interface MeshedBy {
  mesh: MeshName;
  reason: string;
}

/** Every mesh that meshes this pod, with why. Empty when unmeshed. */
export const meshedBy = (pod: PodFacts, ns: NamespaceInfo, mode: Mode, options: MeshOptions): MeshedBy[] =>
  mode === 'live' ? liveMeshedBy(pod, ns) : collect(pod, false, (name) => (MESHES[name].mayMesh(pod, ns, options) ? MESHES[name].wouldMesh(pod, ns, options) : NO));

// A "no" whose reason meshedBy drops, for meshes that cannot take the pod (MeshRules.mayMesh).
const NO: Decision = { value: false, reason: '' };

/** meshedBy in live mode, which reads the pod as it runs and no injector's options. */
const liveMeshedBy = (pod: PodFacts, ns: NamespaceInfo): MeshedBy[] => collect(pod, true, (name) => MESHES[name].isMeshed(pod, ns));

const collect = (pod: PodFacts, live: boolean, decide: (mesh: MeshName) => Decision): MeshedBy[] => {
  // Plain loops over at most five meshes: every judged pod and every watched pod comes here.
  const out: MeshedBy[] = detectProxies(pod);
  for (const name of MESH_NAMES) {
    // A live sidecar mesh is meshing the pod exactly when its proxy was detected above.
    if (hasMesh(out, name) || (live && MESHES[name].meshedByProxyOnly)) continue;
    const d = decide(name);
    if (d.value) out.push({ mesh: name, reason: d.reason });
  }
  // A pod with an Istio sidecar is skipped by ztunnel: it is a sidecar pod, not an ambient one.
  return hasMesh(out, 'istio') ? out.filter((x) => x.mesh !== 'istio-ambient') : out;
};

const hasMesh = (by: readonly MeshedBy[], mesh: MeshName): boolean => {
  for (const b of by) if (b.mesh === mesh) return true;
  return false;
};

/** Pods that count for a cluster's injection state: scheduled or running, not on their way out. */
export const isCountedPod = (pod: Pod): boolean => {
  const phase = pod.status?.phase;
  return (phase === undefined || phase === 'Pending' || phase === 'Running') && !pod.metadata?.deletionTimestamp;
};

export interface InjectionCount {
  meshed: number;
  total: number;
}

/**
 * What one live pod adds to its cluster's injection count: whether it counts, and every
 * mesh that meshes it now. It depends on the pod and its namespace only, so a view that
 * watches both can keep it per pod and sum it incrementally (see InjectionTally).
 */
export interface PodInjection {
  counted: boolean;
  meshes: readonly MeshName[];
}

const NOT_COUNTED: PodInjection = { counted: false, meshes: [] };
const UNMESHED: PodInjection = { counted: true, meshes: [] };

export const podInjection = (pod: Pod, ns: NamespaceInfo): PodInjection => {
  if (!isCountedPod(pod)) return NOT_COUNTED;
  const meshes = liveMeshedBy(podFacts(pod.metadata, pod.spec), ns).map((b) => b.mesh);
  return meshes.length === 0 ? UNMESHED : { counted: true, meshes };
};

/** The sum of PodInjections over some pods; pods can be added and taken out one at a time. */
export interface InjectionTally {
  total: number;
  /** Meshed by any mesh. */
  meshed: number;
  byMesh: Partial<Record<MeshName, number>>;
}

export const emptyTally = (): InjectionTally => ({ total: 0, meshed: 0, byMesh: {} });

/** Adds a pod's injection to a tally (sign 1) or takes it out (sign -1). */
export const addToTally = (tally: InjectionTally, p: PodInjection, sign: 1 | -1 = 1): void => {
  if (!p.counted) return;
  tally.total += sign;
  if (p.meshes.length > 0) tally.meshed += sign;
  for (const m of p.meshes) tally.byMesh[m] = (tally.byMesh[m] ?? 0) + sign;
};

/** N of M live pods meshed. With `mesh` given, only that mesh counts as meshed. */
export const countOfTally = (tally: InjectionTally, mesh?: MeshName): InjectionCount => ({
  meshed: mesh ? (tally.byMesh[mesh] ?? 0) : tally.meshed,
  total: tally.total,
});

/**
 * N of M live pods meshed. With `mesh` given, only that mesh counts as meshed. With a
 * view's memo, each pod's injection comes from it (what podInjection answers).
 */
export const countMeshed = (pods: readonly Pod[], ns: NamespaceInfo, mesh?: MeshName, memo?: Pick<Judgements, 'podInjection'>): InjectionCount => {
  const tally = emptyTally();
  // Not `memo ?? UNMEMOIZED` as elsewhere: judgement-memo.ts imports podInjection from this
  // module to build UNMEMOIZED when it loads, so importing it back would make the two modules
  // a cycle in which the one loaded first decides whether podInjection exists by then.
  if (memo) for (const pod of pods) addToTally(tally, memo.podInjection(pod, ns));
  else for (const pod of pods) addToTally(tally, podInjection(pod, ns));
  return countOfTally(tally, mesh);
};

/**
 * N of M live pods of a cluster meshed: the view's own count when it keeps one (the live
 * view, whose answer then costs the same for 3 pods or 10,000), else countMeshed over its pods.
 */
export const clusterInjection = (
  view: ClusterView,
  profile: TargetProfile,
  namespace: string,
  clusterName: string,
  ns: NamespaceInfo,
  mesh?: MeshName,
): InjectionCount =>
  view.injectionCount?.(profile, namespace, clusterName, mesh) ?? countMeshed(view.listPods(namespace, podSelectorOf(profile, clusterName)), ns, mesh, view.memo);
