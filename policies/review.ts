// What meshguard decides for one object: the mutating and the validating half, on any
// cluster view. The admission function and `meshguard check` both call these.
import type { Operation } from 'fast-json-patch';
import type { ClusterView } from './cluster-view.js';
import { UNMEMOIZED, type JudgementMemo } from './judgement-memo.js';
import type { PolicyConfig } from './config.js';
import { finding, type Finding } from './findings.js';
import type { KubeObject, NamespaceInfo } from './k8s.js';
import { isPlainObject, namespaceInfo, podFacts } from './k8s.js';
import { clusterInjection, type Mode } from './mesh-state.js';
import { mutatePodPart } from './mutation/mutate.js';
import { judgePodPart } from './rejection.js';
import type { DesiredMesh } from './targets/desired.js';
import type { TargetProfile } from './targets/profile.js';
import {
  clusterRefOf, isIgnored, podShapeOf, profileOfCluster, targetOfPod, type PodShape, type PodTarget,
} from './targets/resolve.js';
import { checkAnnotations, checkIstioSwitchForm } from './validation/annotations.js';
import { clusterLabel, validateCluster } from './validation/cluster.js';

/** Where a `meshguard.io/ignore` label that made meshguard skip an object sits. */
export type IgnoredBy = 'namespace' | 'workload' | 'template' | 'pod';

export type Skip = { reason: 'not-a-target' } | { reason: 'ignored'; by: IgnoredBy };

/** What meshguard made of one object: exactly one of three outcomes. */
export type ObjectDecision =
  | ({ type: 'skipped' } & Skip)
  /** The object claims a kind meshguard judges but cannot be read: answer 400. */
  | { type: 'unreadable'; why: string }
  /**
   * `mutated` is set by mutate when the object is a pod part of an existing cluster
   * (changed or not), with `patch`: the RFC 6902 operations from the object to it ([] when unchanged).
   */
  | { type: 'judged'; findings: Finding[]; mutated?: KubeObject; patch?: Operation[] };

/** The findings of a decision (none unless judged). */
export const findingsOf = (d: ObjectDecision): Finding[] => (d.type === 'judged' ? d.findings : []);

const objectLabel = (obj: KubeObject, namespace: string): string =>
  `${obj.kind ?? 'object'} ${namespace}/${obj.metadata?.name ?? obj.metadata?.generateName ?? '(unnamed)'}`;

interface PodTargetContext {
  shape: PodShape;
  profile: TargetProfile;
  clusterName: string;
  ns: NamespaceInfo;
  /** The pod's cluster CR and what it asks of its pods; undefined when the CR does not exist. */
  owner: { cr: KubeObject; desired: DesiredMesh } | undefined;
}

type Located =
  | { type: 'pod'; ctx: PodTargetContext }
  | { type: 'cluster'; profile: TargetProfile; ns: NamespaceInfo }
  | { type: 'skip'; skip: Skip }
  | { type: 'unreadable'; why: string };

/** What an object is, before any cluster state is known. */
type Kind =
  | { type: 'cluster'; profile: TargetProfile }
  | { type: 'pod'; shape: PodShape; target: PodTarget | undefined }
  | { type: 'other' }
  | { type: 'unreadable'; why: string };

const classify = (obj: KubeObject, config: PolicyConfig): Kind => {
  const profile = profileOfCluster(obj, config.profiles);
  if (profile) return { type: 'cluster', profile };
  const shape = podShapeOf(obj);
  if (typeof shape === 'string') return { type: 'unreadable', why: shape };
  if (!shape) return { type: 'other' };
  return { type: 'pod', shape, target: targetOfPod(shape.meta?.labels, config.profiles) };
};

/**
 * False when no cluster state could make meshguard judge this object (not a target kind,
 * or a pod of no profile), so a caller holding many objects need not keep it.
 */
export const mayBeJudged = (obj: KubeObject, config: PolicyConfig): boolean => {
  const k = classify(obj, config);
  return k.type !== 'other' && !(k.type === 'pod' && !k.target);
};

/**
 * Which `meshguard.io/ignore` label makes meshguard skip the object, if any: the
 * namespace's always; the workload's, its template's or the pod's own only where the
 * configuration allows it (see PolicyConfig.ignoreLabel). Cluster CRs only by namespace.
 */
const ignoredBy = (ns: NamespaceInfo, podBearer: KubeObject | undefined, shape: PodShape | undefined, config: PolicyConfig): IgnoredBy | undefined => {
  if (isIgnored(ns.labels)) return 'namespace';
  if (!config.ignoreLabel?.objects || !podBearer || !shape) return undefined;
  if (shape.isPod) return isIgnored(shape.meta?.labels) ? 'pod' : undefined;
  if (isIgnored(podBearer.metadata?.labels)) return 'workload';
  if (isIgnored(shape.meta?.labels)) return 'template';
  return undefined;
};

const locate = (obj: KubeObject, namespace: string, view: ClusterView, config: PolicyConfig): Located => {
  const k = classify(obj, config);
  if (k.type === 'unreadable') return { type: 'unreadable', why: k.why };
  if (k.type === 'other') return { type: 'skip', skip: { reason: 'not-a-target' } };
  const nsObject = view.getNamespace(namespace);
  const ns = namespaceInfo(namespace, nsObject);
  const by = ignoredBy(ns, k.type === 'pod' ? obj : undefined, k.type === 'pod' ? k.shape : undefined, config);
  if (by) return { type: 'skip', skip: { reason: 'ignored', by } };
  if (k.type === 'cluster') return { type: 'cluster', profile: k.profile, ns };
  if (!k.target) return { type: 'skip', skip: { reason: 'not-a-target' } };
  const { profile, clusterName } = k.target;
  const cr = view.getCluster(clusterRefOf(profile), namespace, clusterName);
  if (!cr) return { type: 'pod', ctx: { shape: k.shape, profile, clusterName, ns, owner: undefined } };
  // Every pod part of a cluster asks what its CR wants: the view's memo answers once per CR.
  const desired = (view.memo ?? UNMEMOIZED).desiredMesh(profile, cr, nsObject, ns);
  return { type: 'pod', ctx: { shape: k.shape, profile, clusterName, ns, owner: { cr, desired } } };
};

/** The mutating half: the object as meshguard would leave it, and why. */
export const mutateObject = (obj: KubeObject, namespace: string, view: ClusterView, config: PolicyConfig): ObjectDecision =>
  mutateLocated(obj, namespace, locate(obj, namespace, view, config), config, true, view.memo);

/**
 * The validating half. `podMode` says how to read Pods: 'live' at the validating webhook
 * (every injector has run), 'predict' offline. Templates are always predicted.
 */
export const validateObject = (obj: KubeObject, namespace: string, view: ClusterView, config: PolicyConfig, podMode: Mode): ObjectDecision =>
  validateLocated(obj, namespace, locate(obj, namespace, view, config), view, config, podMode);

/**
 * Both halves, as the cluster would run them in turn: validate sees the mutated object.
 * Same answers as mutateObject then validateObject, for one lookup of the object's
 * namespace, cluster and desired mesh instead of two (what `meshguard check` runs per document).
 */
export const reviewObject = (
  obj: KubeObject,
  namespace: string,
  view: ClusterView,
  config: PolicyConfig,
  podMode: Mode,
  /** false: the mutate decision carries no `patch` (a caller that reads only findings, as judgeObject). */
  patch = true,
): { mutate: ObjectDecision; validate: ObjectDecision } => {
  const loc = locate(obj, namespace, view, config);
  const mutate = mutateLocated(obj, namespace, loc, config, patch, view.memo);
  if (loc.type !== 'pod' || mutate.type !== 'judged' || !mutate.mutated) return { mutate, validate: validateLocated(obj, namespace, loc, view, config, podMode) };
  // Mutation adds annotations and labels only: the target, cluster and namespace stay.
  const after: Located = { type: 'pod', ctx: { ...loc.ctx, shape: mutatedShape(loc.ctx.shape, mutate.mutated) } };
  return { mutate, validate: validateLocated(mutate.mutated, namespace, after, view, config, podMode) };
};

/**
 * podShapeOf(mutated), read off the shape the object had: mutation only sets string values
 * in the template's label and annotation maps (making the metadata and the maps where they
 * were absent or null), so the mutated part passes every check the original passed, and
 * only its metadata object is new (a property test holds it equal to podShapeOf).
 */
export const mutatedShape = (shape: PodShape, mutated: KubeObject): PodShape => {
  let holder: unknown = mutated;
  for (const seg of shape.base) holder = isPlainObject(holder) ? holder[seg as string] : undefined;
  const meta = isPlainObject(holder) ? (holder.metadata ?? undefined) : undefined;
  return { base: shape.base, meta: meta as PodShape['meta'], spec: shape.spec, isPod: shape.isPod };
};

/** The decision for an object that is not judged, or undefined when it is. */
const notJudged = (loc: Located): ObjectDecision | undefined => {
  if (loc.type === 'skip') return { type: 'skipped', ...loc.skip };
  if (loc.type === 'unreadable') return { type: 'unreadable', why: loc.why };
  return undefined;
};

const mutateLocated = (obj: KubeObject, namespace: string, loc: Located, config: PolicyConfig, patch = true, memo?: JudgementMemo): ObjectDecision => {
  if (loc.type === 'skip' || loc.type === 'unreadable') return notJudged(loc)!;
  if (loc.type === 'cluster') return { type: 'judged', findings: [] };
  const { shape, ns, owner } = loc.ctx;
  const where = objectLabel(obj, namespace);
  const annotations = shape.meta?.annotations ?? {};
  const findings = checkIstioSwitchForm(annotations, [...shape.base, 'metadata', 'annotations'], { labels: shape.meta?.labels, where });
  if (!owner) return { type: 'judged', findings };
  const result = mutatePodPart({
    obj,
    base: shape.base,
    desired: owner.desired,
    ns,
    options: config.mesh,
    where,
    cluster: clusterLabel(owner.cr),
    patch,
    memo,
  });
  if (!patch) return { type: 'judged', findings: result.findings.length === 0 ? findings : [...findings, ...result.findings], mutated: result.mutated };
  return { type: 'judged', findings: [...findings, ...result.findings], mutated: result.mutated, patch: result.ops };
};

const validateLocated = (
  obj: KubeObject,
  namespace: string,
  loc: Located,
  view: ClusterView,
  config: PolicyConfig,
  podMode: Mode,
): ObjectDecision => {
  if (loc.type === 'skip' || loc.type === 'unreadable') return notJudged(loc)!;
  if (loc.type === 'cluster') return { type: 'judged', findings: validateCluster(loc.profile, obj, loc.ns, config.mesh, view.memo) };
  const { shape, profile, clusterName, ns, owner } = loc.ctx;
  const where = objectLabel(obj, namespace);
  const findings = checkAnnotations(shape.meta?.annotations ?? {}, [...shape.base, 'metadata', 'annotations'], {
    labels: shape.meta?.labels,
    where,
    switchForm: false,
    memo: view.memo,
  });
  if (!owner) {
    findings.push(
      finding(
        'MG204',
        `${where} belongs to ${profile.cluster.kind} ${namespace}/${clusterName} (label ${profile.clusterNameLabel}), which does not exist, so its mesh state cannot be checked. Create the ${profile.cluster.kind} first or fix the label.`,
        [...shape.base, 'metadata', 'labels', profile.clusterNameLabel],
        'warning',
        `${profile.cluster.kind} ${namespace}/${clusterName} not found; mesh state not checked`,
      ),
    );
    return { type: 'judged', findings };
  }
  findings.push(
    ...judgePodPart({
      facts: podFacts(shape.meta, shape.spec),
      base: shape.base,
      desired: owner.desired,
      ns,
      mode: shape.isPod ? podMode : 'predict',
      options: config.mesh,
      where,
      cluster: clusterLabel(owner.cr),
      count: () => clusterInjection(view, profile, namespace, clusterName, ns),
    }),
  );
  return { type: 'judged', findings };
};
