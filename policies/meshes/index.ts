// The mesh registry, and the questions that span meshes: which mesh an annotation key,
// an annotation set or a namespace points to, and which proxies a pod carries.
import type { NamespaceInfo, PodFacts, StringMap } from '../k8s.js';
import { consul, consulProxy } from './consul.js';
import { istio, istioProxy } from './istio.js';
import { istioAmbient } from './istio-ambient.js';
import { kuma, kumaProxy } from './kuma.js';
import { linkerd, linkerdProxy } from './linkerd.js';
import { MESH_NAMES, type MeshName, type MeshRules } from './types.js';

export const MESHES: Record<MeshName, MeshRules> = {
  istio,
  'istio-ambient': istioAmbient,
  linkerd,
  consul,
  kuma,
};

/** The mesh whose annotation this key is (by its prefix), or undefined for any other key. */
export const meshOfAnnotationKey = (key: string): MeshName | undefined => {
  for (const m of MESH_NAMES) if (MESHES[m].ownsAnnotationKey(key)) return m;
  return undefined;
};

/**
 * The meshes these annotations configure, each with its keys, in MESH_NAMES order (which
 * mesh a message names first). More than one entry is MG104. A mesh's opt-out annotation
 * (`linkerd.io/inject: disabled`, `consul.hashicorp.com/connect-inject: "false"`)
 * configures nothing: it keeps that mesh away, which is what mutation rule 4 writes for a
 * disabled cluster, so it neither makes a second mesh nor names the cluster's mesh.
 */
export const meshesOfAnnotations = (annotations: StringMap): Map<MeshName, string[]> => {
  const keysOf = new Map<MeshName, string[]>();
  for (const k of Object.keys(annotations)) {
    const mesh = meshOfAnnotationKey(k);
    if (!mesh || MESHES[mesh].optOut.annotations?.[k] === annotations[k]) continue;
    const keys = keysOf.get(mesh);
    if (keys) keys.push(k);
    else keysOf.set(mesh, [k]);
  }
  // One mesh (or none) is the rule; only a conflict needs putting in order.
  if (keysOf.size <= 1) return keysOf;
  const ordered = new Map<MeshName, string[]>();
  for (const m of MESH_NAMES) {
    const keys = keysOf.get(m);
    if (keys) ordered.set(m, keys);
  }
  return ordered;
};

// DESIGN's order: a namespace labelled for Istio sidecars stays a sidecar namespace even
// when it is also labelled for ambient. Consul has no namespace switch.
const NAMESPACE_ORDER: readonly MeshName[] = ['istio', 'istio-ambient', 'linkerd', 'kuma'];

/** The mesh a namespace's own labels/annotations name, or undefined. */
export const meshFromNamespace = (ns: NamespaceInfo): MeshName | undefined => {
  for (const m of NAMESPACE_ORDER) if (MESHES[m].selectedByNamespace(ns)) return m;
  return undefined;
};

export interface DetectedProxy {
  mesh: MeshName;
  /** Which container or annotation shows it, e.g. 'container "istio-proxy"'. */
  reason: string;
}

const PROXIES: readonly [MeshName, (pod: PodFacts) => string | undefined][] = [
  ['istio', istioProxy],
  ['linkerd', linkerdProxy],
  ['consul', consulProxy],
  ['kuma', kumaProxy],
];

/** Every mesh whose proxy the pod carries (ambient runs none in the pod). More than one, or the wrong one, is MG203. */
export const detectProxies = (pod: PodFacts): DetectedProxy[] => {
  const out: DetectedProxy[] = [];
  for (const [mesh, find] of PROXIES) {
    const reason = find(pod);
    if (reason !== undefined) out.push({ mesh, reason });
  }
  return out;
};
