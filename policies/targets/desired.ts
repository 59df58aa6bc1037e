// What a cluster CR asks of its pods: meshed or not, by which mesh, with which
// annotations, and which consensus ports must stay out of the proxy.
import type { KubeObject, NamespaceInfo, StringMap } from '../k8s.js';
import { isPlainObject } from '../k8s.js';
import type { MeshName } from '../meshes/types.js';
import { meshFromNamespace, meshesOfAnnotations } from '../meshes/index.js';
import { getIn } from './resolve.js';
import type { TargetProfile } from './profile.js';

export type MeshSource = 'annotations' | 'type' | 'namespace' | 'none' | 'conflict';

export interface DesiredMesh {
  enabled: boolean;
  /** undefined when nothing says which mesh (or two meshes conflict). */
  mesh: MeshName | undefined;
  source: MeshSource;
  /** `spec.serviceMesh.annotations` that are strings (invalid entries are MG101 elsewhere). */
  annotations: StringMap;
  consensusPorts: number[];
}

const validPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

export const consensusPortsOf = (profile: TargetProfile, cr: KubeObject): number[] => {
  const ports: number[] = [];
  for (const p of profile.consensusPorts) {
    const v = getIn(cr, p.path);
    const port = validPort(v) ? v : p.default;
    if (!ports.includes(port)) ports.push(port);
  }
  return ports;
};

export const serviceMeshOf = (cr: KubeObject): Record<string, unknown> => {
  const sm = getIn(cr, ['spec', 'serviceMesh']);
  return isPlainObject(sm) ? sm : {};
};

export const desiredMeshOf = (profile: TargetProfile, cr: KubeObject, ns: NamespaceInfo): DesiredMesh => {
  const sm = serviceMeshOf(cr);
  const enabled = sm.enabled === true;
  const annotations: StringMap = {};
  const raw = sm.annotations;
  if (isPlainObject(raw)) {
    for (const k of Object.keys(raw)) {
      const v = raw[k];
      if (typeof v === 'string') annotations[k] = v;
    }
  }
  const consensusPorts = consensusPortsOf(profile, cr);
  // Every pod part of a cluster asks this: no closure, one object literal per outcome.
  const fromAnnotations = meshesOfAnnotations(annotations);
  if (fromAnnotations.size > 1) return { enabled, annotations, consensusPorts, mesh: undefined, source: 'conflict' };
  if (fromAnnotations.size === 1) {
    // Istio annotations in an ambient namespace still mean a sidecar: the pod keeps it.
    return { enabled, annotations, consensusPorts, mesh: fromAnnotations.keys().next().value, source: 'annotations' };
  }
  const nsMesh = meshFromNamespace(ns);
  if (profile.dialect === 'observability-platform' && (sm.type === 'istio' || sm.type === 'linkerd')) {
    const mesh: MeshName = sm.type === 'istio' && nsMesh === 'istio-ambient' ? 'istio-ambient' : sm.type;
    return { enabled, annotations, consensusPorts, mesh, source: 'type' };
  }
  if (nsMesh) return { enabled, annotations, consensusPorts, mesh: nsMesh, source: 'namespace' };
  return { enabled, annotations, consensusPorts, mesh: undefined, source: 'none' };
};
