// One read-only view of what the cluster holds, with three backings: informer caches
// (server), input manifests plus --state files (CLI) and plain objects (tests). The
// policies never know which one they read.
import type { KubeObject, Namespace, Pod, StringMap } from './k8s.js';
import type { TargetProfile } from './targets/profile.js';
import { profileOfCluster } from './targets/resolve.js';

export interface ClusterRef {
  apiVersion: string;
  kind: string;
}

export interface ClusterView {
  getNamespace(name: string): Namespace | undefined;
  /** The cluster custom resource `ref` named `name` in `namespace`. */
  getCluster(ref: ClusterRef, namespace: string, name: string): KubeObject | undefined;
  /** Every cluster custom resource of a kind (all namespaces). */
  listClusters(ref: ClusterRef): KubeObject[];
  /** Pods in `namespace` whose labels include every `matchLabels` entry. */
  listPods(namespace: string, matchLabels: StringMap): Pod[];
}

const key = (...parts: string[]): string => parts.join('\u0000');

/** Plain-object backing: the objects given, indexed once. */
export class ObjectClusterView implements ClusterView {
  private readonly namespaces = new Map<string, Namespace>();
  private readonly clusters = new Map<string, KubeObject>();
  // Keyed by name within each kind, so replacing an object keeps one entry per identity.
  private readonly clustersByKind = new Map<string, Map<string, KubeObject>>();
  private readonly podsByNamespace = new Map<string, Pod[]>();

  constructor(objects: Iterable<KubeObject> = []) {
    for (const o of objects) this.add(o);
  }

  /** Later objects replace earlier ones with the same identity (a manifest overrides --state). */
  add(o: KubeObject): void {
    const name = o.metadata?.name;
    if (!o.kind || !name) return;
    if (o.kind === 'Namespace' && (o.apiVersion ?? 'v1') === 'v1') {
      this.namespaces.set(name, o);
      return;
    }
    const ns = o.metadata?.namespace ?? 'default';
    if (o.kind === 'Pod' && (o.apiVersion ?? 'v1') === 'v1') {
      const list = this.podsByNamespace.get(ns) ?? [];
      const i = list.findIndex((p) => p.metadata?.name === name);
      if (i >= 0) list[i] = o;
      else list.push(o);
      this.podsByNamespace.set(ns, list);
      return;
    }
    if (!o.apiVersion) return;
    const k = key(o.apiVersion, o.kind, ns, name);
    const kindKey = key(o.apiVersion, o.kind);
    const byName = this.clustersByKind.get(kindKey) ?? new Map<string, KubeObject>();
    byName.set(key(ns, name), o);
    this.clustersByKind.set(kindKey, byName);
    this.clusters.set(k, o);
  }

  getNamespace(name: string): Namespace | undefined {
    return this.namespaces.get(name);
  }

  getCluster(ref: ClusterRef, namespace: string, name: string): KubeObject | undefined {
    return this.clusters.get(key(ref.apiVersion, ref.kind, namespace, name));
  }

  listClusters(ref: ClusterRef): KubeObject[] {
    return [...(this.clustersByKind.get(key(ref.apiVersion, ref.kind))?.values() ?? [])];
  }

  listPods(namespace: string, matchLabels: StringMap): Pod[] {
    const pods = this.podsByNamespace.get(namespace) ?? [];
    return pods.filter((p) => labelsMatch(p.metadata?.labels, matchLabels));
  }
}

export const labelsMatch = (labels: StringMap | undefined, matchLabels: StringMap): boolean =>
  Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v);

export const EMPTY_VIEW: ClusterView = new ObjectClusterView();

/**
 * Whether the policies can ever look `o` up in a cluster view: Namespaces, Pods and the
 * cluster CRs of the profiles. A view built from only these answers every lookup the same.
 */
export const isClusterViewObject = (o: KubeObject, profiles: readonly TargetProfile[]): boolean =>
  ((o.kind === 'Namespace' || o.kind === 'Pod') && (o.apiVersion ?? 'v1') === 'v1') || profileOfCluster(o, profiles) !== undefined;
