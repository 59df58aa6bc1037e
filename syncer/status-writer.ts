// Read, decide, write: the status of one cluster CR through its /status subresource.
//
// The decision is made on a fresh read of the CR (its spec, generation and current status),
// and the write is a JSON merge patch carrying that read's resourceVersion: the API server
// refuses it with 409 when anything changed in between, and then we read and decide again.
// That guard matters because `conditions` is a list, which a merge patch replaces whole: a
// condition another controller added meanwhile must not be lost.
import type { CustomObjectsApi } from '@kubernetes/client-node';
// patch.js and middleware.js themselves: the package root loads every generated model.
import { setHeaderOptions } from '@kubernetes/client-node/dist/middleware.js';
import { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
import type { KubeObject } from '../policies/k8s.js';
import type { StatusResult } from '../policies/status.js';
import { statusCodeOf } from '../server/kube-request.js';

export type CustomObjectsCalls = Pick<CustomObjectsApi, 'getNamespacedCustomObject' | 'patchNamespacedCustomObjectStatus'>;

export interface ClusterCoordinates {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export type WriteOutcome =
  | { outcome: 'written'; result: StatusResult; cr: KubeObject; conflicts: number }
  | { outcome: 'unchanged'; result: StatusResult; cr: KubeObject; conflicts: number }
  | { outcome: 'gone'; conflicts: number };

export class ConflictRetriesExhausted extends Error {
  override name = 'ConflictRetriesExhausted';
}

export const coordinatesOf = (apiVersion: string, plural: string, namespace: string, name: string): ClusterCoordinates => {
  const [group, version] = apiVersion.split('/') as [string, string];
  return { group, version, plural, namespace, name };
};

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Brings the CR's status in line with `decide(freshCr)`. 404 at any point means the cluster
 * was deleted: nothing to do. Gives up after `maxAttempts` conflicts in a row (the caller
 * retries later).
 */
export async function writeStatus(
  api: CustomObjectsCalls,
  at: ClusterCoordinates,
  decide: (cr: KubeObject) => StatusResult,
  opts: { maxAttempts?: number; onConflict?: () => void } = {},
): Promise<WriteOutcome> {
  const maxAttempts = opts.maxAttempts ?? 5;
  let conflicts = 0;
  for (;;) {
    let cr: KubeObject;
    try {
      cr = (await api.getNamespacedCustomObject(at)) as KubeObject;
    } catch (err) {
      if (statusCodeOf(err) === 404) return { outcome: 'gone', conflicts };
      throw err;
    }
    const result = decide(cr);
    if (!result.changed) return { outcome: 'unchanged', result, cr, conflicts };
    const body = {
      metadata: { resourceVersion: cr.metadata?.resourceVersion },
      status: { serviceMeshStatus: result.serviceMeshStatus, conditions: result.conditions },
    };
    try {
      const updated = (await api.patchNamespacedCustomObjectStatus({ ...at, body }, mergePatch)) as KubeObject;
      return { outcome: 'written', result, cr: updated, conflicts };
    } catch (err) {
      const code = statusCodeOf(err);
      if (code === 404) return { outcome: 'gone', conflicts };
      if (code !== 409) throw err;
      conflicts++;
      opts.onConflict?.();
      if (conflicts >= maxAttempts) throw new ConflictRetriesExhausted(`status of ${at.namespace}/${at.name}: ${conflicts} conflicts in a row`);
    }
  }
}
