// Is a pod (or template) meshed, and by what? One answer for the webhook, the CLI and
// the status syncer, so they can never disagree.
import type { NamespaceInfo, Pod, PodFacts } from './k8s.js';
import { podFacts } from './k8s.js';
import { MESHES, detectProxies } from './meshes/index.js';
import type { MeshName, MeshOptions } from './meshes/types.js';
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
export const meshedBy = (pod: PodFacts, ns: NamespaceInfo, mode: Mode, options: MeshOptions): MeshedBy[] => {
  const out: MeshedBy[] = detectProxies(pod).map((p) => ({ mesh: p.mesh, reason: p.reason }));
  const has = (m: MeshName): boolean => out.some((x) => x.mesh === m);
  for (const name of MESH_NAMES) {
    if (has(name)) continue;
    const d = mode === 'live' ? MESHES[name].isMeshed(pod, ns) : MESHES[name].wouldMesh(pod, ns, options);
    if (d.value) out.push({ mesh: name, reason: d.reason });
  }
  // A pod with an Istio sidecar is skipped by ztunnel: it is a sidecar pod, not an ambient one.
  return has('istio') ? out.filter((x) => x.mesh !== 'istio-ambient') : out;
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

/** N of M live pods meshed. With `mesh` given, only that mesh counts as meshed. */
export const countMeshed = (pods: readonly Pod[], ns: NamespaceInfo, options: MeshOptions, mesh?: MeshName): InjectionCount => {
  let meshed = 0;
  let total = 0;
  for (const pod of pods) {
    if (!isCountedPod(pod)) continue;
    total++;
    const by = meshedBy(podFacts(pod.metadata, pod.spec), ns, 'live', options);
    if (mesh ? by.some((b) => b.mesh === mesh) : by.length > 0) meshed++;
  }
  return { meshed, total };
};
