// Finds where an object keeps its pod template and which cluster (profile + CR name)
// the pod belongs to. Workloads are judged by their template, a Pod by itself.
import type { KubeObject, ObjectMeta, PodSpec, StringMap } from '../k8s.js';
import { copyForWriting, isPlainObject } from '../k8s.js';
import type { Path } from '../findings.js';
import type { ClusterRef } from '../cluster-view.js';
import type { TargetProfile } from './profile.js';
import { labelsMatch } from '../index/selectors.js';

export const IGNORE_LABEL = 'meshguard.io/ignore';

const TEMPLATE_PATHS: Record<string, { groups: readonly string[]; path: Path }> = {
  Pod: { groups: [''], path: [] },
  StatefulSet: { groups: ['apps'], path: ['spec', 'template'] },
  Deployment: { groups: ['apps'], path: ['spec', 'template'] },
  ReplicaSet: { groups: ['apps'], path: ['spec', 'template'] },
  DaemonSet: { groups: ['apps'], path: ['spec', 'template'] },
  Job: { groups: ['batch'], path: ['spec', 'template'] },
  CronJob: { groups: ['batch'], path: ['spec', 'jobTemplate', 'spec', 'template'] },
};

/**
 * A manifest's API group ('' for the core group). An apiVersion that is not a string (a
 * YAML `apiVersion: 5`) names no group: it gets one no kind has, so the object is nothing
 * meshguard judges or indexes, as an object whose kind is not a string.
 */
const NO_GROUP = '(apiVersion is not a string)';

export const groupOf = (apiVersion: string | undefined): string => {
  if (apiVersion === undefined || apiVersion === null || apiVersion === '') return '';
  if (typeof apiVersion !== 'string') return NO_GROUP;
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
};

/** The path of the pod template inside a workload kind, [] for a Pod, undefined for other kinds. */
export const templatePathOf = (apiVersion: string | undefined, kind: string | undefined): Path | undefined => {
  // Own keys only: a kind such as "constructor" would otherwise read Object.prototype.
  const entry = kind && Object.hasOwn(TEMPLATE_PATHS, kind) ? TEMPLATE_PATHS[kind] : undefined;
  if (!entry || !entry.groups.includes(groupOf(apiVersion))) return undefined;
  return entry.path;
};

export const getIn = (obj: unknown, path: Path): unknown => {
  let cur: unknown = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
};

/** The pod-shaped part of an object: metadata + spec of the Pod or of the workload's template. */
export interface PodShape {
  /** Where the template sits in the object ([] for a Pod). */
  base: Path;
  meta: ObjectMeta | undefined;
  spec: PodSpec | undefined;
  isPod: boolean;
}

/**
 * The pod part of `obj`, or a string saying why it cannot be read (the object claims a
 * pod-bearing kind but its template is not an object) — a 400, not a crash.
 */
export const podShapeOf = (obj: KubeObject): PodShape | string | undefined => {
  const base = templatePathOf(obj.apiVersion, obj.kind);
  if (!base) return undefined;
  const holder = base.length === 0 ? obj : getIn(obj, base);
  if (holder === undefined && base.length > 0) return { base, meta: undefined, spec: undefined, isPod: false };
  if (!isPlainObject(holder)) return `${base.join('.') || 'object'} is not an object`;
  // An empty `metadata:`, `labels:` or `annotations:` in YAML is null: kubectl accepts it as absent.
  const meta = holder.metadata ?? undefined;
  const spec = holder.spec;
  if (meta !== undefined && !isPlainObject(meta)) return `${[...base, 'metadata'].join('.')} is not an object`;
  if (spec !== undefined && !isPlainObject(spec)) return `${[...base, 'spec'].join('.')} is not an object`;
  // Every object of `meshguard check` and every review passes here: the four fields are
  // checked in place, without a list of them or a closure per object.
  const m = meta as ObjectMeta | undefined;
  const notMap = m === undefined ? undefined : !isStringMapOrAbsent(m.labels) ? 'labels' : !isStringMapOrAbsent(m.annotations) ? 'annotations' : undefined;
  if (notMap) return `${[...base, 'metadata', notMap].join('.')} must map strings to strings`;
  const sp = spec as PodSpec | undefined;
  const notList = sp === undefined ? undefined : !isContainerListOrAbsent(sp.containers) ? 'containers' : !isContainerListOrAbsent(sp.initContainers) ? 'initContainers' : undefined;
  if (notList) return `${[...base, 'spec', notList].join('.')} must be a list of containers`;
  return { base, meta: m, spec: sp, isPod: base.length === 0 };
};

const isStringMapOrAbsent = (v: unknown): boolean => v === undefined || v === null || isStringMap(v);

const isContainerListOrAbsent = (c: unknown): boolean => {
  if (c === undefined || c === null) return true;
  if (!Array.isArray(c)) return false;
  for (const x of c) if (!isPlainObject(x)) return false;
  return true;
};

export const isStringMap = (v: unknown): v is StringMap => {
  if (!isPlainObject(v)) return false;
  for (const x of Object.values(v)) if (typeof x !== 'string') return false;
  return true;
};

export interface PodTarget {
  profile: TargetProfile;
  clusterName: string;
}

/** The profile and cluster a pod (by its labels) belongs to. */
export const targetOfPod = (labels: StringMap | undefined, profiles: readonly TargetProfile[]): PodTarget | undefined => {
  if (!labels) return undefined;
  for (const profile of profiles) {
    const clusterName = labels[profile.clusterNameLabel];
    if (!clusterName) continue;
    if (labelsMatch(labels, profile.podLabels)) return { profile, clusterName };
  }
  return undefined;
};

/** The profile whose cluster CR kind this object is. Versions of the same group count. */
export const profileOfCluster = (obj: { apiVersion?: string; kind?: string }, profiles: readonly TargetProfile[]): TargetProfile | undefined => {
  for (const p of profiles) if (p.cluster.kind === obj.kind && groupOf(p.cluster.apiVersion) === groupOf(obj.apiVersion)) return p;
  return undefined;
};

/** Labels that select the pods of one cluster. */
export const podSelectorOf = (profile: TargetProfile, clusterName: string): StringMap => {
  const selector = copyForWriting(profile.podLabels);
  selector[profile.clusterNameLabel] = clusterName;
  return selector;
};

export const clusterRefOf = (profile: TargetProfile): ClusterRef => ({
  apiVersion: profile.cluster.apiVersion,
  kind: profile.cluster.kind,
});

export const isIgnored = (labels: StringMap | undefined): boolean => labels?.[IGNORE_LABEL] === 'true';
