// The object index as it would be after one write: a view over any backing with one object
// put in place of the stored object of the same identity (or added), or taken out. The
// admission analysis judges a write by comparing the index before and after it without
// copying either.
import type { KubeObject } from '../k8s.js';
import type { JudgementMemo } from '../judgement-memo.js';
import type { MeshName } from '../meshes/types.js';
import type { TargetProfile } from '../targets/profile.js';
import { INDEX_KINDS, indexKindOf, type IndexKind } from './kinds.js';
import { refKey, refOf, type ClusterRef, type ObjectIndex } from './object-index.js';
import { selectorMatches } from './selectors.js';

class OverlayIndex implements ObjectIndex {
  private readonly key: string;
  private readonly name: string;
  private readonly ns: string | undefined;

  constructor(
    private readonly base: ObjectIndex,
    private readonly kind: IndexKind,
    /** The identity replaced (the written object's). */
    identity: KubeObject,
    /** What stands in its place; undefined: nothing (the object is taken out). */
    private readonly object: KubeObject | undefined,
  ) {
    this.key = refKey(refOf(identity));
    this.name = identity.metadata?.name ?? '';
    this.ns = INDEX_KINDS[kind].namespaced ? (identity.metadata?.namespace ?? 'default') : undefined;
  }

  private isReplaced(o: KubeObject): boolean {
    return refKey(refOf(o)) === this.key;
  }

  private inScope(kind: IndexKind, namespace: string | undefined): boolean {
    return kind === this.kind && (namespace === undefined || !INDEX_KINDS[kind].namespaced || namespace === this.ns);
  }

  /** The base's: the memo keys objects by identity, and the object put in place is a new one. */
  get memo(): JudgementMemo | undefined {
    return this.base.memo;
  }

  holds(kind: IndexKind): boolean {
    return this.base.holds(kind);
  }

  list(kind: IndexKind, namespace?: string): readonly KubeObject[] {
    const stored = this.base.list(kind, namespace);
    if (!this.inScope(kind, namespace)) return stored;
    const out = stored.filter((o) => !this.isReplaced(o));
    if (this.object) out.push(this.object);
    return out;
  }

  get(kind: IndexKind, namespace: string | undefined, name: string): KubeObject | undefined {
    const replaced = kind === this.kind && name === this.name && (this.ns === undefined || (namespace ?? 'default') === this.ns);
    return replaced ? this.object : this.base.get(kind, namespace, name);
  }

  select(kind: IndexKind, namespace: string, selector: unknown): readonly KubeObject[] {
    const stored = this.base.select(kind, namespace, selector);
    if (!this.inScope(kind, namespace)) return stored;
    const out = stored.filter((o) => !this.isReplaced(o));
    if (this.object && selectorMatches(this.object.metadata?.labels ?? undefined, selector)) out.push(this.object);
    return out;
  }

  namespaceNames(): readonly string[] {
    const names = this.base.namespaceNames();
    return this.ns === undefined || names.includes(this.ns) ? names : [...names, this.ns].sort();
  }

  getNamespace(name: string) {
    return this.base.getNamespace(name);
  }

  getCluster(ref: ClusterRef, namespace: string, name: string) {
    return this.base.getCluster(ref, namespace, name);
  }

  listClusters(ref: ClusterRef) {
    return this.base.listClusters(ref);
  }

  listPods(namespace: string, matchLabels: Record<string, string>) {
    return this.base.listPods(namespace, matchLabels);
  }

  // Pods and Namespaces are read from the base, as listPods and getNamespace do.
  injectionCount(profile: TargetProfile, namespace: string, clusterName: string, mesh?: MeshName) {
    return this.base.injectionCount?.(profile, namespace, clusterName, mesh);
  }
}

/**
 * `index` with the stored object of `identity`'s kind, namespace and name replaced by
 * `replacement` (added when none is stored), or taken out when `replacement` is undefined.
 * Only index kinds can be written: any other object leaves the index as it is. `identity`
 * must carry its namespace.
 */
export const withWrite = (index: ObjectIndex, identity: KubeObject, replacement: KubeObject | undefined): ObjectIndex => {
  const kind = indexKindOf(identity);
  return kind ? new OverlayIndex(index, kind, identity, replacement) : index;
};
