// Answers that many judgements over one cluster view ask again with the same inputs, kept
// for as long as that view lives. `meshguard check` judges thousands of documents against
// one view, and a cluster's pod parts all ask what its CR wants and merge the same port
// lists into the same annotation values: without the memo every document pays for it,
// mostly in code V8 has not optimized yet (the cold cost). The memo belongs to the view
// object that holds it, never to a module: policies/ keeps no state of its own.
//
// Each entry is a pure function of its inputs. Objects are keys by identity: the policy
// core never changes an object it reads (mutation copies), and a view that replaces an
// object stores a new one, which is a new key.
import type { KubeObject, Namespace, NamespaceInfo, Pod, StringMap } from './k8s.js';
import { podInjection, type PodInjection } from './mesh-state.js';
import { desiredMeshOf, type DesiredMesh } from './targets/desired.js';
import type { TargetProfile } from './targets/profile.js';
import { MESHES } from './meshes/index.js';
import type { MeshName } from './meshes/types.js';
import { mergePorts, type MergeOptions } from './values/port-list.js';
import { qualifiedNameError } from './values/qualified-name.js';

/** A pod's injection and the namespace it was read with (NamespaceInfo's fields: it is made anew per judgement). */
interface InjectionEntry {
  name: string;
  known: boolean;
  labels: StringMap;
  annotations: StringMap;
  injection: PodInjection;
}

/** The same map for a judgement: the same object, or both empty (namespaceInfo makes a new `{}` for each absent map). */
const sameMap = (a: StringMap, b: StringMap): boolean => {
  if (a === b) return true;
  for (const _ in a) return false;
  for (const _ in b) return false;
  return true;
};

interface DesiredEntry {
  profile: TargetProfile;
  nsObject: Namespace | undefined;
  nsName: string;
  desired: DesiredMesh;
}

/**
 * Distinct answers kept per table (merges, annotation keys, annotation values): a bound
 * on what a view that lives long (`meshguard serve` on state files, the review server) or
 * reads hostile input may keep; beyond it they are computed each time.
 */
export const MAX_ENTRIES = 4096;

/** The answers a judgement may take from a memo: the memo's, or each computed again. */
export interface Judgements {
  desiredMesh(profile: TargetProfile, cr: KubeObject, nsObject: Namespace | undefined, ns: NamespaceInfo): DesiredMesh;
  keyError(key: string): string | undefined;
  valueError(mesh: MeshName, key: string, value: string): string | undefined;
  mergePorts(existing: string | undefined, add: readonly number[], opts: MergeOptions, addList?: string): string;
  podInjection(pod: Pod, ns: NamespaceInfo): PodInjection;
}

/**
 * Every answer computed each time, keeping nothing: for a view without a memo (EMPTY_VIEW)
 * and callers with no view, so that a judgement asks `memo ?? UNMEMOIZED` one way.
 */
export const UNMEMOIZED: Judgements = Object.freeze({
  desiredMesh: (profile: TargetProfile, cr: KubeObject, _nsObject: Namespace | undefined, ns: NamespaceInfo) => desiredMeshOf(profile, cr, ns),
  keyError: qualifiedNameError,
  valueError: (mesh: MeshName, key: string, value: string) => MESHES[mesh].checkAnnotation(key, value),
  mergePorts,
  podInjection,
});

export class JudgementMemo implements Judgements {
  private readonly desired = new WeakMap<KubeObject, DesiredEntry>();
  /** Pod → its injection: the census of a cluster's pods that every /validate review of a pod part counts. */
  private readonly injections = new WeakMap<Pod, InjectionEntry>();
  /** opts → existing → addList → ports → merged. */
  private readonly merges = new Map<MergeOptions, Map<string | undefined, Map<string | undefined, Map<number | string, string>>>>();
  private mergeCount = 0;
  /** Annotation key → qualifiedNameError (null: none). */
  private readonly keyErrors = new Map<string, string | null>();
  /** Annotation key → value → its mesh's checkAnnotation (null: none). */
  private readonly valueErrors = new Map<string, Map<string, string | null>>();
  private valueCount = 0;

  /**
   * desiredMeshOf(profile, cr, ns) where `ns` is namespaceInfo(ns.name, nsObject): one
   * object per cluster CR, profile and namespace (each DesiredMesh is shared: readers only).
   */
  desiredMesh(profile: TargetProfile, cr: KubeObject, nsObject: Namespace | undefined, ns: NamespaceInfo): DesiredMesh {
    const e = this.desired.get(cr);
    if (e !== undefined && e.profile === profile && e.nsObject === nsObject && e.nsName === ns.name) return e.desired;
    const desired = desiredMeshOf(profile, cr, ns);
    this.desired.set(cr, { profile, nsObject, nsName: ns.name, desired });
    return desired;
  }

  /** qualifiedNameError(key). */
  keyError(key: string): string | undefined {
    const hit = this.keyErrors.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const error = qualifiedNameError(key);
    if (this.keyErrors.size < MAX_ENTRIES) this.keyErrors.set(key, error ?? null);
    return error;
  }

  /** MESHES[mesh].checkAnnotation(key, value), where `mesh` owns `key` (meshOfAnnotationKey: one mesh per key). */
  valueError(mesh: MeshName, key: string, value: string): string | undefined {
    let byValue = this.valueErrors.get(key);
    const hit = byValue?.get(value);
    if (hit !== undefined) return hit ?? undefined;
    const error = MESHES[mesh].checkAnnotation(key, value);
    if (this.valueCount < MAX_ENTRIES) {
      this.valueCount++;
      if (byValue === undefined) this.valueErrors.set(key, (byValue = new Map()));
      byValue.set(value, error ?? null);
    }
    return error;
  }

  /** mergePorts(existing, add, opts, addList), the same string (or the same RangeError). */
  mergePorts(existing: string | undefined, add: readonly number[], opts: MergeOptions, addList?: string): string {
    // Nested maps, so that a call builds no key from the lists (undefined is a key of its
    // own); the ports are one number, or their text joined: a number never equals a string.
    const ports = add.length === 1 ? add[0]! : add.join(',');
    const hit = this.merges.get(opts)?.get(existing)?.get(addList)?.get(ports);
    if (hit !== undefined) return hit;
    const merged = mergePorts(existing, add, opts, addList);
    if (this.mergeCount < MAX_ENTRIES) {
      this.mergeCount++;
      let byExisting = this.merges.get(opts);
      if (byExisting === undefined) this.merges.set(opts, (byExisting = new Map()));
      let byList = byExisting.get(existing);
      if (byList === undefined) byExisting.set(existing, (byList = new Map()));
      let byPorts = byList.get(addList);
      if (byPorts === undefined) byList.set(addList, (byPorts = new Map()));
      byPorts.set(ports, merged);
    }
    return merged;
  }

  /**
   * podInjection(pod, ns): each pod's part of its cluster's injection count, kept for as long
   * as the pod object lives (a view that replaces a pod stores a new object, a new key), so a
   * count over the same pods reads no container list again.
   */
  podInjection(pod: Pod, ns: NamespaceInfo): PodInjection {
    const e = this.injections.get(pod);
    if (e !== undefined && e.name === ns.name && e.known === ns.known && sameMap(e.labels, ns.labels) && sameMap(e.annotations, ns.annotations)) return e.injection;
    const injection = podInjection(pod, ns);
    this.injections.set(pod, { name: ns.name, known: ns.known, labels: ns.labels, annotations: ns.annotations, injection });
    return injection;
  }
}
