// Writes meshguard's PolicyReport of one namespace (or its ClusterPolicyReport) when its
// content differs from what is stored; deletes it when no result is left (the namespace no
// longer holds a target cluster, or nothing cluster-scoped has a finding).
//
// Replace (PUT) carries the read's resourceVersion, so a report another writer changed in
// between is refused with 409 and the coalescer retries with a fresh read. A 404 on create
// means the CRD is not installed (the namespace exists: its objects were just judged); the
// caller stops writing and looks for the CRD again later.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../policies/k8s.js';
import {
  POLICY_REPORT_API_VERSION, POLICY_REPORT_GROUP, POLICY_REPORT_NAME, POLICY_REPORT_VERSION, REPORT_LABELS, type ReportContent,
} from '../policies/policy-report.js';
import { statusCodeOf } from '../server/kube-request.js';

export type ReportCalls = Pick<
  CustomObjectsApi,
  | 'getNamespacedCustomObject' | 'createNamespacedCustomObject' | 'replaceNamespacedCustomObject' | 'deleteNamespacedCustomObject'
  | 'getClusterCustomObject' | 'createClusterCustomObject' | 'replaceClusterCustomObject' | 'deleteClusterCustomObject'
>;

export type ReportWrite = 'created' | 'updated' | 'unchanged' | 'deleted' | 'absent' | 'crd-missing';

const at = (namespace: string) => ({ group: POLICY_REPORT_GROUP, version: POLICY_REPORT_VERSION, namespace, plural: 'policyreports' });
const atCluster = { group: POLICY_REPORT_GROUP, version: POLICY_REPORT_VERSION, plural: 'clusterpolicyreports' };

/** The four calls on one report: the namespace's PolicyReport, or (no namespace) the ClusterPolicyReport. */
const reportApi = (api: ReportCalls, namespace: string | undefined) => {
  const name = POLICY_REPORT_NAME;
  if (namespace === undefined) {
    return {
      get: () => api.getClusterCustomObject({ ...atCluster, name }),
      create: (body: object) => api.createClusterCustomObject({ ...atCluster, body }),
      replace: (body: object) => api.replaceClusterCustomObject({ ...atCluster, name, body }),
      remove: () => api.deleteClusterCustomObject({ ...atCluster, name }),
    };
  }
  return {
    get: () => api.getNamespacedCustomObject({ ...at(namespace), name }),
    create: (body: object) => api.createNamespacedCustomObject({ ...at(namespace), body }),
    replace: (body: object) => api.replaceNamespacedCustomObject({ ...at(namespace), name, body }),
    remove: () => api.deleteNamespacedCustomObject({ ...at(namespace), name }),
  };
};

/** The stored report already says `content` (and carries our labels): nothing to write. */
export const sameReport = (stored: KubeObject, content: ReportContent): boolean => {
  const labels = stored.metadata?.labels ?? {};
  if (!Object.entries(REPORT_LABELS).every(([k, v]) => labels[k] === v)) return false;
  // Through JSON: what the API server returned and what we would send, in the same shape.
  return isDeepStrictEqual(JSON.parse(JSON.stringify({ summary: stored.summary, results: stored.results ?? [] })), JSON.parse(JSON.stringify(content)));
};

/** `namespace` undefined: the ClusterPolicyReport. */
export async function writeReport(api: ReportCalls, namespace: string | undefined, content: ReportContent | undefined): Promise<ReportWrite> {
  const calls = reportApi(api, namespace);
  let stored: KubeObject | undefined;
  try {
    stored = (await calls.get()) as KubeObject;
  } catch (err) {
    if (statusCodeOf(err) !== 404) throw err;
  }
  if (content === undefined) {
    if (!stored) return 'absent';
    try {
      await calls.remove();
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
    return 'deleted';
  }
  if (stored && sameReport(stored, content)) return 'unchanged';
  const body = {
    apiVersion: POLICY_REPORT_API_VERSION,
    kind: namespace === undefined ? 'ClusterPolicyReport' : 'PolicyReport',
    metadata: {
      name: POLICY_REPORT_NAME,
      ...(namespace !== undefined ? { namespace } : {}),
      labels: { ...(stored?.metadata?.labels ?? {}), ...REPORT_LABELS },
      ...(stored?.metadata?.resourceVersion ? { resourceVersion: stored.metadata.resourceVersion } : {}),
    },
    ...content,
  };
  if (stored) {
    await calls.replace(body);
    return 'updated';
  }
  try {
    await calls.create(body);
  } catch (err) {
    // The namespace exists (its objects were just judged): a 404 means the CRD is not installed.
    if (statusCodeOf(err) === 404) return 'crd-missing';
    throw err;
  }
  return 'created';
}
