// What `meshguard analyze` reads of a live cluster: one paged list per kind of the object
// index and per cluster CR of the profiles (read-only: list, nothing else). A kind whose
// CRD is not installed answers 404 and is reported as absent, not as an error.
// The lists go through server/kube-request.ts, as the webhook's informers do: client-node's
// generated CoreV1Api and CustomObjectsApi load its package root and with it ~980 modules
// (every model and API group), ~1.3 s of `analyze`'s start-up on this machine for two
// GETs, and their models turned the items into class instances (timestamps as Dates,
// unknown fields dropped) where check and the webhook judge the JSON as the API server
// sends it.
import type { KubeConfig } from '@kubernetes/client-node';
import type { PolicyConfig } from '../policies/config.js';
import { INDEX_KINDS, type IndexKind } from '../policies/index/kinds.js';
import type { KubeObject } from '../policies/k8s.js';

export interface ListTarget {
  /** For notes and progress: "pods", "peerauthentications.security.istio.io". */
  resource: string;
  kind: string;
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
  /** The index kind, or undefined for a profile's cluster CR. */
  indexKind?: IndexKind;
}

export const listTargets = (config: PolicyConfig): ListTarget[] => {
  const out: ListTarget[] = (Object.keys(INDEX_KINDS) as IndexKind[]).map((k) => {
    const i = INDEX_KINDS[k];
    return { resource: i.group ? `${i.plural}.${i.group}` : i.plural, kind: k, group: i.group, version: i.version, plural: i.plural, namespaced: i.namespaced, indexKind: k };
  });
  for (const p of config.profiles) {
    const [group, version] = p.cluster.apiVersion.split('/') as [string, string];
    const resource = `${p.cluster.plural}.${group}`;
    if (!out.some((t) => t.resource === resource)) out.push({ resource, kind: p.cluster.kind, group, version, plural: p.cluster.plural, namespaced: true });
  }
  return out;
};

export interface ListResult {
  objects: KubeObject[];
  /** Resources whose CRD is not installed. */
  absent: ListTarget[];
}

const PAGE = 500;

type Page = { items?: unknown[]; metadata?: { continue?: string } };

/** The collection's path: /api/v1/pods, /api/v1/namespaces/NS/pods, /apis/GROUP/VERSION[/namespaces/NS]/PLURAL. */
export const collectionPath = (t: ListTarget, namespace: string | undefined): string =>
  `${t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`}${namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${t.plural}`;

/** Every object of every target, in `namespace` (undefined: all namespaces) for namespaced kinds. */
export const listCluster = async (
  kc: KubeConfig,
  targets: readonly ListTarget[],
  namespace: string | undefined,
  progress: (done: number, total: number, resource: string) => void = () => {},
): Promise<ListResult> => {
  // On first use: `analyze --help` and usage errors need no HTTP client.
  const { listPath, statusCodeOf } = await import('../server/kube-request.js');
  const objects: KubeObject[] = [];
  const absent: ListTarget[] = [];
  for (const [i, t] of targets.entries()) {
    progress(i, targets.length, t.resource);
    const path = collectionPath(t, t.namespaced ? namespace : undefined);
    const page = (cont: string | undefined): Promise<Page> => listPath(kc, path, undefined, { limit: PAGE, continue: cont }) as Promise<Page>;
    try {
      let cont: string | undefined;
      do {
        const p = await page(cont);
        // List items carry no apiVersion/kind of their own.
        for (const item of p.items ?? []) objects.push({ ...(item as KubeObject), apiVersion: t.group ? `${t.group}/${t.version}` : t.version, kind: t.kind });
        cont = p.metadata?.continue || undefined;
      } while (cont);
    } catch (err) {
      if (statusCodeOf(err) === 404) absent.push(t);
      else throw new ClusterReadError(`cannot list ${t.resource}: ${(err as Error).message ?? String(err)}`);
    }
  }
  progress(targets.length, targets.length, '');
  return { objects, absent };
};

export class ClusterReadError extends Error {
  override name = 'ClusterReadError';
}
