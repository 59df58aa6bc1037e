// --state files for a standalone server: what the cluster "already holds" (Namespaces,
// cluster CRs, Pods), e.g. the output of `kubectl get ns,antflyclusters,pods -A -o yaml`.
// Such dumps can be large, so js-yaml does the bulk parsing; nothing here needs comments
// or positions kept.
import { loadAll } from 'js-yaml';
import { readFile } from 'node:fs/promises';
import { ObjectClusterView } from '../policies/cluster-view.js';
import { isPlainObject, type KubeObject } from '../policies/k8s.js';
import type { ManagedClusterView, ViewStatus } from './managed-view.js';

export class StateFileError extends Error {
  override name = 'StateFileError';
}

/**
 * Every object of a parsed document, with `List` kinds flattened. Items of a typed list
 * (`PodList` from `kubectl get --raw`) carry no apiVersion/kind; they get the list's.
 */
export function objectsOf(doc: unknown, out: KubeObject[] = []): KubeObject[] {
  if (!isPlainObject(doc)) return out;
  const kind = typeof doc.kind === 'string' ? doc.kind : undefined;
  if (kind?.endsWith('List') && Array.isArray(doc.items)) {
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
    for (const item of doc.items) {
      if (isPlainObject(item) && itemKind !== undefined) {
        item.kind ??= itemKind;
        item.apiVersion ??= doc.apiVersion;
      }
      objectsOf(item, out);
    }
    return out;
  }
  out.push(doc as KubeObject);
  return out;
}

/** Parses one state file (YAML or JSON, any number of documents). */
export function parseStateText(text: string, file: string): KubeObject[] {
  const out: KubeObject[] = [];
  try {
    // JSON.parse is several times faster than a YAML parser on the large JSON dumps kubectl writes.
    if (/^\s*[{[]/.test(text)) {
      try {
        return objectsOf(JSON.parse(text), out);
      } catch {
        // not a single JSON document after all (e.g. YAML flow style or several documents): parse as YAML
      }
    }
    for (const doc of loadAll(text)) objectsOf(doc, out);
    return out;
  } catch (err) {
    const mark = (err as { mark?: { line: number; column: number } }).mark;
    const where = mark ? `${file}:${mark.line + 1}:${mark.column + 1}` : file;
    const reason = (err as { reason?: string }).reason ?? (err as Error).message;
    throw new StateFileError(`cannot parse state file ${where}: ${reason}`);
  }
}

export async function loadStateFiles(files: readonly string[]): Promise<KubeObject[]> {
  const all: KubeObject[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new StateFileError(`cannot read state file ${file}: ${(err as Error).message}`);
    }
    all.push(...parseStateText(text, file));
  }
  return all;
}

/** The standalone server's view: fixed objects, always synced. */
export class StaticClusterView extends ObjectClusterView implements ManagedClusterView {
  readonly synced = true;
  /** Identities by resource, so that an object given twice counts once (as ObjectClusterView keeps it once). */
  private readonly ids = new Map<string, Set<string>>();

  constructor(objects: Iterable<KubeObject> = []) {
    super();
    for (const o of objects) this.add(o);
  }

  override add(o: KubeObject): void {
    super.add(o);
    if (!o.kind || !o.metadata?.name) return;
    const resource = o.kind === 'Namespace' ? 'namespaces' : o.kind === 'Pod' ? 'pods' : o.kind;
    const set = this.ids.get(resource) ?? new Set<string>();
    set.add(`${o.apiVersion}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    this.ids.set(resource, set);
  }

  sizes(): Record<string, number> {
    return Object.fromEntries([...this.ids].map(([resource, set]) => [resource, set.size]));
  }

  status(): ViewStatus {
    const objects = this.sizes();
    return { objects, synced: Object.fromEntries(Object.keys(objects).map((r) => [r, true])), missing: [] };
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}
