// What `meshguard analyze` reads of a live cluster: one paged list per kind of the object
// index and per cluster CR of the profiles (read-only: list, nothing else). A kind whose
// CRD is not installed answers 404 and is reported as absent, not as an error.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
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

const statusCode = (err: unknown): number | undefined => {
  const e = err as { code?: unknown; statusCode?: unknown } | undefined;
  return typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
};

const PAGE = 500;

type Page = { items?: unknown[]; metadata?: { _continue?: string; continue?: string } };

/** Every object of every target, in `namespace` (undefined: all namespaces) for namespaced kinds. */
export const listCluster = async (
  kc: KubeConfig,
  targets: readonly ListTarget[],
  namespace: string | undefined,
  progress: (done: number, total: number, resource: string) => void = () => {},
): Promise<ListResult> => {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const objects: KubeObject[] = [];
  const absent: ListTarget[] = [];
  for (const [i, t] of targets.entries()) {
    progress(i, targets.length, t.resource);
    const ns = t.namespaced ? namespace : undefined;
    const page = (cont: string | undefined): Promise<Page> => {
      const common = { limit: PAGE, _continue: cont };
      if (t.group === '') {
        if (t.plural === 'namespaces') return core.listNamespace(common) as Promise<Page>;
        if (t.plural === 'pods') return (ns ? core.listNamespacedPod({ namespace: ns, ...common }) : core.listPodForAllNamespaces(common)) as Promise<Page>;
        return (ns ? core.listNamespacedService({ namespace: ns, ...common }) : core.listServiceForAllNamespaces(common)) as Promise<Page>;
      }
      const args = { group: t.group, version: t.version, plural: t.plural, limit: PAGE, _continue: cont };
      return (ns ? custom.listNamespacedCustomObject({ ...args, namespace: ns }) : custom.listClusterCustomObject(args)) as Promise<Page>;
    };
    try {
      let cont: string | undefined;
      do {
        const p = await page(cont);
        // List items carry no apiVersion/kind of their own.
        for (const item of p.items ?? []) objects.push({ ...(item as KubeObject), apiVersion: t.group ? `${t.group}/${t.version}` : t.version, kind: t.kind });
        cont = p.metadata?._continue ?? p.metadata?.continue ?? undefined;
      } while (cont);
    } catch (err) {
      if (statusCode(err) === 404) absent.push(t);
      else throw new ClusterReadError(`cannot list ${t.resource}: ${(err as Error).message ?? String(err)}`);
    }
  }
  progress(targets.length, targets.length, '');
  return { objects, absent };
};

export class ClusterReadError extends Error {
  override name = 'ClusterReadError';
}
