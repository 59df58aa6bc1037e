// The object index: one read-only view of what the cluster holds, typed and indexed by
// kind, namespace, name and labels. Three backings: informer caches (server), input
// manifests plus --state files and a live cluster's lists (CLI), plain objects (tests).
// The policies never know which one they read. Relations between objects (selection,
// ports, webhooks, meshing, effective mTLS) are functions over it in ./relations.ts and
// ./mtls.ts, so no backing keeps copies.
import type { KubeObject, Namespace, Pod, StringMap } from '../k8s.js';
import type { InjectionCount } from '../mesh-state.js';
import { JudgementMemo } from '../judgement-memo.js';
import type { MeshName } from '../meshes/types.js';
import type { TargetProfile } from '../targets/profile.js';
import { groupOf, profileOfCluster } from '../targets/resolve.js';
import { INDEX_KINDS, indexKindOf, type IndexKind } from './kinds.js';
import { labelsMatch, requiredLabels, selectorMatches } from './selectors.js';

export interface ClusterRef {
  apiVersion: string;
  kind: string;
}

/** An object's identity, for messages and for telling which inputs a finding involves. */
export interface ObjectRef {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
}

export const refOf = (o: KubeObject): ObjectRef => ({
  ...(o.apiVersion !== undefined ? { apiVersion: o.apiVersion } : {}),
  kind: o.kind ?? 'object',
  ...(o.metadata?.namespace !== undefined ? { namespace: o.metadata.namespace } : {}),
  name: o.metadata?.name ?? '',
});

/** `Kind ns/name` (cluster-scoped: `Kind name`). */
export const refLabel = (r: ObjectRef): string => `${r.kind} ${r.namespace !== undefined ? `${r.namespace}/` : ''}${r.name}`;

export const refKey = (r: ObjectRef): string => `${groupOf(r.apiVersion ?? 'v1')}|${r.kind}|${r.namespace ?? ''}|${r.name}`;

/**
 * What reviewing one object reads (the cluster view of the per-object rules): its
 * namespace, its cluster CR and the cluster's pods.
 */
export interface ClusterView {
  getNamespace(name: string): Namespace | undefined;
  /** The cluster custom resource `ref` named `name` in `namespace`. */
  getCluster(ref: ClusterRef, namespace: string, name: string): KubeObject | undefined;
  /** Every cluster custom resource of a kind (all namespaces). */
  listClusters(ref: ClusterRef): KubeObject[];
  /** Pods in `namespace` whose labels include every `matchLabels` entry. */
  listPods(namespace: string, matchLabels: StringMap): Pod[];
  /**
   * A backing that keeps injection counts (the live view, see clusterInjection) answers
   * what countMeshed over `listPods(namespace, podSelectorOf(profile, clusterName))` with
   * the namespace as getNamespace reads it would; undefined when it keeps no count for
   * that profile, and the caller counts the list.
   */
  injectionCount?(profile: TargetProfile, namespace: string, clusterName: string, mesh?: MeshName): InjectionCount | undefined;
  /**
   * Answers the judgements over this view share (see JudgementMemo); a view without one
   * makes each judgement compute them itself. A view that wraps another hands on its memo.
   */
  readonly memo?: JudgementMemo;
}

/** The whole index: what the cross-object rules read. */
export interface ObjectIndex extends ClusterView {
  /** Whether this backing holds the kind at all (false: its CRD is absent, or the server does not watch it). */
  holds(kind: IndexKind): boolean;
  /** Objects of a kind in `namespace`, or in every namespace when it is omitted. */
  list(kind: IndexKind, namespace?: string): readonly KubeObject[];
  get(kind: IndexKind, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Objects of a kind in `namespace` whose labels satisfy a LabelSelector (matchLabels and matchExpressions). */
  select(kind: IndexKind, namespace: string, selector: unknown): readonly KubeObject[];
  /** Namespaces that hold objects of any kind, and every Namespace object. */
  namespaceNames(): readonly string[];
}

// Cluster CRs and other kinds outside INDEX_KINDS keep their exact apiVersion as identity (a
// profile names one served version); the index kinds are one kind across their versions.
const typeKey = (apiVersion: string | undefined, kind: string): string => `@${apiVersion ?? ''}|${kind}`;
// Made once: a key built per lookup is a new string that the Map hashes anew every time,
// and every review looks up its namespace, its cluster and the cluster's pods.
const KIND_KEYS = Object.fromEntries(Object.entries(INDEX_KINDS).map(([kind, info]) => [kind, `${info.group}|${kind}`])) as Record<IndexKind, string>;
const kindKey = (kind: IndexKind): string => KIND_KEYS[kind];

interface Bucket {
  byName: Map<string, KubeObject>;
  /** Built on the first select of the bucket, dropped when it changes: `k=v` → objects. */
  byLabel?: Map<string, KubeObject[]>;
}

/**
 * Plain-object backing (tests, `check` inputs plus --state, `analyze`'s lists): the objects
 * given, indexed once. Later objects replace earlier ones of the same identity, so a
 * manifest overrides --state.
 */
export class PlainObjectIndex implements ObjectIndex {
  /** type key → namespace ('' when cluster-scoped) → bucket */
  private readonly types = new Map<string, Map<string, Bucket>>();
  private readonly absent: ReadonlySet<IndexKind>;
  /** typeKey of each cluster ref asked for (apiVersion → kind → key): the profiles' few, kept so that lookups hash no new string. */
  private readonly refKeys = new Map<string, Map<string, string>>();
  private memoStore: JudgementMemo | undefined;
  private readonly memoized: boolean;

  /**
   * Made on first use: a view built for one review and never judged against pays nothing.
   * None for a view made with `memo: false` (a module's shared constant: policies/ keeps no state).
   */
  get memo(): JudgementMemo | undefined {
    return this.memoized ? (this.memoStore ??= new JudgementMemo()) : undefined;
  }

  constructor(objects: Iterable<KubeObject> = [], options: { absent?: Iterable<IndexKind>; memo?: boolean } = {}) {
    this.absent = new Set(options.absent ?? []);
    this.memoized = options.memo !== false;
    for (const o of objects) this.add(o);
  }

  /** Where `o` is stored: type key, namespace ('' when cluster-scoped), name; undefined when the index never holds it. */
  private slot(o: KubeObject): { t: string; ns: string; name: string } | undefined {
    const name = o.metadata?.name;
    if (!o.kind || !name) return undefined;
    const known = indexKindOf(o);
    // Only Namespaces and Pods may omit apiVersion (the view always read them so); a custom
    // resource without one cannot be told apart from another group's kind of that name.
    if (!known && !o.apiVersion) return undefined;
    const namespaced = known ? INDEX_KINDS[known].namespaced : true;
    return { t: known ? kindKey(known) : typeKey(o.apiVersion, o.kind), ns: namespaced ? (o.metadata?.namespace ?? 'default') : '', name };
  }

  add(o: KubeObject): void {
    const at = this.slot(o);
    if (!at) return;
    let byNs = this.types.get(at.t);
    if (!byNs) this.types.set(at.t, (byNs = new Map()));
    let bucket = byNs.get(at.ns);
    if (!bucket) byNs.set(at.ns, (bucket = { byName: new Map() }));
    bucket.byName.set(at.name, o);
    bucket.byLabel = undefined;
  }

  /** Forgets the object of `o`'s identity (a test's delete event). */
  remove(o: KubeObject): void {
    const at = this.slot(o);
    const bucket = at ? this.types.get(at.t)?.get(at.ns) : undefined;
    if (!bucket?.byName.delete(at!.name)) return;
    bucket.byLabel = undefined;
  }

  holds(kind: IndexKind): boolean {
    return !this.absent.has(kind);
  }

  /** The one bucket of a type and namespace: a lookup that allocates nothing (every review makes several). */
  private bucket(key: string, namespace: string): Bucket | undefined {
    return this.types.get(key)?.get(namespace);
  }

  private buckets(key: string, namespace?: string): Bucket[] {
    const byNs = this.types.get(key);
    if (!byNs) return [];
    if (namespace === undefined) return [...byNs.values()];
    const b = byNs.get(namespace);
    return b ? [b] : [];
  }

  list(kind: IndexKind, namespace?: string): readonly KubeObject[] {
    const ns = INDEX_KINDS[kind].namespaced ? namespace : '';
    const out: KubeObject[] = [];
    for (const b of this.buckets(kindKey(kind), ns)) for (const o of b.byName.values()) out.push(o);
    return out;
  }

  get(kind: IndexKind, namespace: string | undefined, name: string): KubeObject | undefined {
    const ns = INDEX_KINDS[kind].namespaced ? (namespace ?? 'default') : '';
    return this.bucket(kindKey(kind), ns)?.byName.get(name);
  }

  select(kind: IndexKind, namespace: string, selector: unknown): readonly KubeObject[] {
    const bucket = this.bucket(kindKey(kind), namespace);
    if (!bucket) return [];
    const required = requiredLabels(selector);
    let candidates: Iterable<KubeObject> = bucket.byName.values();
    // The rarest required label narrows most; the full match decides.
    let best: readonly KubeObject[] | undefined;
    for (const k of Object.keys(required)) {
      const byLabel = (bucket.byLabel ??= labelIndex(bucket.byName.values()));
      const posting = byLabel.get(`${k}=${required[k]}`) ?? NONE;
      if (!best || posting.length < best.length) best = posting;
    }
    if (best) candidates = best;
    const out: KubeObject[] = [];
    for (const o of candidates) if (selectorMatches(labelsOf(kind, o), selector)) out.push(o);
    return out;
  }

  namespaceNames(): readonly string[] {
    const names = new Set<string>();
    for (const byNs of this.types.values()) for (const ns of byNs.keys()) if (ns !== '') names.add(ns);
    for (const n of this.list('Namespace')) if (n.metadata?.name) names.add(n.metadata.name);
    return [...names].sort();
  }

  getNamespace(name: string): Namespace | undefined {
    return this.get('Namespace', undefined, name);
  }

  getCluster(ref: ClusterRef, namespace: string, name: string): KubeObject | undefined {
    return this.bucket(this.refKey(ref), namespace)?.byName.get(name);
  }

  private refKey(ref: ClusterRef): string {
    let byKind = this.refKeys.get(ref.apiVersion);
    if (!byKind) this.refKeys.set(ref.apiVersion, (byKind = new Map()));
    let key = byKind.get(ref.kind);
    if (key === undefined) byKind.set(ref.kind, (key = typeKey(ref.apiVersion, ref.kind)));
    return key;
  }

  listClusters(ref: ClusterRef): KubeObject[] {
    return this.buckets(typeKey(ref.apiVersion, ref.kind)).flatMap((b) => [...b.byName.values()]);
  }

  listPods(namespace: string, matchLabels: StringMap): Pod[] {
    return this.select('Pod', namespace, { matchLabels }) as Pod[];
  }
}

const NONE: readonly KubeObject[] = [];

/** The labels a selector of this kind is matched against: a Pod's own labels, every other kind's metadata labels. */
const labelsOf = (_kind: IndexKind, o: KubeObject): StringMap | undefined => o.metadata?.labels ?? undefined;

const labelIndex = (objects: Iterable<KubeObject>): Map<string, KubeObject[]> => {
  const out = new Map<string, KubeObject[]>();
  for (const o of objects) {
    const labels = o.metadata?.labels;
    if (!labels || typeof labels !== 'object') continue;
    for (const [k, v] of Object.entries(labels)) {
      const key = `${k}=${v}`;
      const list = out.get(key);
      if (list) list.push(o);
      else out.set(key, [o]);
    }
  }
  return out;
};

export const EMPTY_INDEX: ObjectIndex = new PlainObjectIndex([], { memo: false });

/** Whether reviewing one object can ever look `o` up: Namespaces, Pods and the profiles' cluster CRs. */
export const isClusterViewObject = (o: KubeObject, profiles: readonly TargetProfile[]): boolean =>
  ((o.kind === 'Namespace' || o.kind === 'Pod') && (o.apiVersion ?? 'v1') === 'v1') || profileOfCluster(o, profiles) !== undefined;

/** Whether the index ever holds `o`: every kind of INDEX_KINDS and the profiles' cluster CRs. */
export const isIndexObject = (o: KubeObject, profiles: readonly TargetProfile[]): boolean =>
  indexKindOf(o) !== undefined || profileOfCluster(o, profiles) !== undefined;

export { labelsMatch };
