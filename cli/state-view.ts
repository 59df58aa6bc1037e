// --state files for a standalone server: what the cluster "already holds" (Namespaces,
// cluster CRs, Pods), e.g. the output of `kubectl get ns,antflyclusters,pods -A -o yaml`.
// The same reader as the offline commands' --state (inputs.ts), so both see the same
// objects. It lives with the CLI: the server only knows the ManagedClusterView it is given.
import { InputError, listItem, parseManifests } from './inputs.js';
import { readFile } from 'node:fs/promises';
import { ObjectClusterView } from '../policies/cluster-view.js';
import { MeshguardError, MG_ERR_STATE } from '../policies/errors.js';
import { isPlainObject, type KubeObject } from '../policies/k8s.js';
import type { ManagedClusterView, ViewStatus } from '../server/managed-view.js';

/** MG_ERR_STATE of the error catalog. */
export class StateFileError extends MeshguardError {
  override name = 'StateFileError';
  constructor(message: string) {
    super(MG_ERR_STATE.code, MG_ERR_STATE.exitCode, message);
  }
}

/** Every object of a parsed JSON value, with `List` kinds flattened (typed lists as in cli/inputs). */
export function objectsOf(doc: unknown, out: KubeObject[] = []): KubeObject[] {
  if (!isPlainObject(doc)) return out;
  if (typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(doc.items)) {
    for (const item of doc.items) if (isPlainObject(item)) objectsOf(listItem(doc, item), out);
    return out;
  }
  out.push(doc as KubeObject);
  return out;
}

/** Parses one state file (YAML or JSON, any number of documents) the way the CLI reads --state. */
export function parseStateText(text: string, file: string): KubeObject[] {
  // JSON.parse is several times faster than a YAML parser on the large JSON dumps kubectl writes.
  if (/^\s*[{[]/.test(text)) {
    try {
      return objectsOf(JSON.parse(text));
    } catch {
      // not a single JSON document after all (YAML flow style, several documents): read it as YAML
    }
  }
  try {
    return parseManifests(text, file).map((d) => d.object);
  } catch (err) {
    if (err instanceof InputError) throw new StateFileError(`cannot parse state file ${err.message}`);
    throw err;
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

  /** The --state files are the whole index: a rule never concludes from an absence in them. */
  analysis() {
    return { index: this, complete: false };
  }
}
