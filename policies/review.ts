// What meshguard decides for one object: the mutating and the validating half, on any
// cluster view. The admission function and `meshguard check` both call these.
import type { ClusterView } from './cluster-view.js';
import type { PolicyConfig } from './config.js';
import { finding, type Finding } from './findings.js';
import type { KubeObject, NamespaceInfo } from './k8s.js';
import { namespaceInfo, podFacts } from './k8s.js';
import { countMeshed, type Mode } from './mesh-state.js';
import { mutatePodPart } from './mutation/mutate.js';
import { judgePodPart } from './rejection.js';
import { desiredMeshOf } from './targets/desired.js';
import type { TargetProfile } from './targets/profile.js';
import {
  clusterRefOf, isIgnored, podSelectorOf, podShapeOf, profileOfCluster, targetOfPod, type PodShape,
} from './targets/resolve.js';
import { checkAnnotations, checkIstioSwitchForm } from './validation/annotations.js';
import { clusterLabel, validateCluster } from './validation/cluster.js';

export type Skip = 'not-a-target' | 'ignored';

export interface ObjectDecision {
  findings: Finding[];
  /** Set by mutate when the object changed. */
  mutated?: KubeObject;
  skipped?: Skip;
  /** The object claims a kind meshguard judges but cannot be read: answer 400. */
  unreadable?: string;
}

const objectLabel = (obj: KubeObject, namespace: string): string =>
  `${obj.kind ?? 'object'} ${namespace}/${obj.metadata?.name ?? obj.metadata?.generateName ?? '(unnamed)'}`;

interface PodTargetContext {
  shape: PodShape;
  profile: TargetProfile;
  clusterName: string;
  ns: NamespaceInfo;
  cr: KubeObject | undefined;
}

type Located =
  | { type: 'pod'; ctx: PodTargetContext }
  | { type: 'cluster'; profile: TargetProfile; ns: NamespaceInfo }
  | { type: 'skip'; skip: Skip }
  | { type: 'unreadable'; why: string };

const locate = (obj: KubeObject, namespace: string, view: ClusterView, config: PolicyConfig): Located => {
  const nsObj = view.getNamespace(namespace);
  const ns = namespaceInfo(namespace, nsObj);
  const clusterProfile = profileOfCluster(obj, config.profiles);
  const shape = clusterProfile ? undefined : podShapeOf(obj);
  if (typeof shape === 'string') return { type: 'unreadable', why: shape };
  if (!clusterProfile && !shape) return { type: 'skip', skip: 'not-a-target' };
  if (isIgnored(ns.labels) || isIgnored(obj.metadata?.labels) || isIgnored(shape?.meta?.labels)) return { type: 'skip', skip: 'ignored' };
  if (clusterProfile) return { type: 'cluster', profile: clusterProfile, ns };
  const target = targetOfPod(shape!.meta?.labels, config.profiles);
  if (!target) return { type: 'skip', skip: 'not-a-target' };
  const cr = view.getCluster(clusterRefOf(target.profile), namespace, target.clusterName);
  return { type: 'pod', ctx: { shape: shape!, profile: target.profile, clusterName: target.clusterName, ns, cr } };
};

/** The mutating half: the object as meshguard would leave it, and why. */
export const mutateObject = (obj: KubeObject, namespace: string, view: ClusterView, config: PolicyConfig): ObjectDecision => {
  const loc = locate(obj, namespace, view, config);
  if (loc.type === 'skip') return { findings: [], skipped: loc.skip };
  if (loc.type === 'unreadable') return { findings: [], unreadable: loc.why };
  if (loc.type === 'cluster') return { findings: [] };
  const { shape, profile, ns, cr } = loc.ctx;
  const where = objectLabel(obj, namespace);
  const annotations = shape.meta?.annotations ?? {};
  const findings = checkIstioSwitchForm(annotations, [...shape.base, 'metadata', 'annotations'], { labels: shape.meta?.labels, where });
  if (!cr) return { findings };
  const result = mutatePodPart({
    obj,
    base: shape.base,
    desired: desiredMeshOf(profile, cr, ns),
    ns,
    options: config.mesh,
    where,
    cluster: clusterLabel(cr),
  });
  return { findings: [...findings, ...result.findings], mutated: result.mutated };
};

/**
 * The validating half. `podMode` says how to read Pods: 'live' at the validating webhook
 * (every injector has run), 'predict' offline. Templates are always predicted.
 */
export const validateObject = (obj: KubeObject, namespace: string, view: ClusterView, config: PolicyConfig, podMode: Mode): ObjectDecision => {
  const loc = locate(obj, namespace, view, config);
  if (loc.type === 'skip') return { findings: [], skipped: loc.skip };
  if (loc.type === 'unreadable') return { findings: [], unreadable: loc.why };
  if (loc.type === 'cluster') return { findings: validateCluster(loc.profile, obj, loc.ns, config.mesh) };
  const { shape, profile, clusterName, ns, cr } = loc.ctx;
  const where = objectLabel(obj, namespace);
  const findings = checkAnnotations(shape.meta?.annotations ?? {}, [...shape.base, 'metadata', 'annotations'], {
    labels: shape.meta?.labels,
    where,
    switchForm: false,
  });
  if (!cr) {
    findings.push(
      finding(
        'MG204',
        `${where} belongs to ${profile.cluster.kind} ${namespace}/${clusterName} (label ${profile.clusterNameLabel}), which does not exist, so its mesh state cannot be checked. Create the ${profile.cluster.kind} first or fix the label.`,
        [...shape.base, 'metadata', 'labels', profile.clusterNameLabel],
        'warning',
        `${profile.cluster.kind} ${namespace}/${clusterName} not found; mesh state not checked`,
      ),
    );
    return { findings };
  }
  const desired = desiredMeshOf(profile, cr, ns);
  findings.push(
    ...judgePodPart({
      facts: podFacts(shape.meta, shape.spec),
      base: shape.base,
      desired,
      ns,
      mode: shape.isPod ? podMode : 'predict',
      options: config.mesh,
      where,
      cluster: clusterLabel(cr),
      count: () => countMeshed(view.listPods(namespace, podSelectorOf(profile, clusterName)), ns, config.mesh),
    }),
  );
  return { findings };
};
