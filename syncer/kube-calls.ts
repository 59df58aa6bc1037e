// The status syncer's calls to the API server, each in the shape of the generated
// @kubernetes/client-node method it stands in for (same parameters, same ApiException on a
// non-2xx answer), sent through client-node's request path (server/kube-request.ts) rather
// than its generated API classes: those load every generated model, ~30 MB of the syncer's
// RSS (docs/operations.md). Bodies are the plain JSON the syncer builds and reads.
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest, type CallOptions } from '../server/kube-request.js';
import type { EventApi } from './events.js';
import type { LeaseApi } from './leader-election.js';
import type { ReportCalls } from './report-writer.js';
import type { CustomObjectsCalls } from './status-writer.js';

/** The syncer lists its own PolicyReports by label, and looks for their CRDs by discovery. */
export interface ListCalls {
  listClusterCustomObject(p: { group: string; version: string; plural: string; labelSelector?: string }): Promise<unknown>;
  getAPIResources(p: { group: string; version: string }): Promise<{ resources?: { name: string }[] }>;
}

export interface SyncerApis {
  custom: CustomObjectsCalls & ReportCalls & ListCalls;
  core: EventApi;
  coordination: LeaseApi;
}

const seg = encodeURIComponent;
interface At {
  group: string;
  version: string;
  plural: string;
  namespace?: string;
}
/** /apis/{group}/{version}[/namespaces/{namespace}]/{plural}[/{name}] */
const customPath = (p: At, name?: string): string =>
  `/apis/${seg(p.group)}/${seg(p.version)}${p.namespace !== undefined ? `/namespaces/${seg(p.namespace)}` : ''}/${seg(p.plural)}${name !== undefined ? `/${seg(name)}` : ''}`;
const leasePath = (namespace: string, name?: string): string =>
  `/apis/coordination.k8s.io/v1/namespaces/${seg(namespace)}/leases${name !== undefined ? `/${seg(name)}` : ''}`;

export function syncerApis(kc: KubeConfig): SyncerApis {
  const call = <T>(method: Parameters<typeof kubeRequest>[1], path: string, body?: unknown, options?: CallOptions): Promise<T> =>
    kubeRequest(kc, method, path, { body, options }) as Promise<T>;
  type Named = At & { name: string };
  type WithBody = At & { body: object };
  const custom: SyncerApis['custom'] = {
    getNamespacedCustomObject: (p: Named) => call('GET', customPath(p, p.name)),
    getClusterCustomObject: (p: Named) => call('GET', customPath(p, p.name)),
    createNamespacedCustomObject: (p: WithBody) => call('POST', customPath(p), p.body),
    createClusterCustomObject: (p: WithBody) => call('POST', customPath(p), p.body),
    replaceNamespacedCustomObject: (p: Named & { body: object }) => call('PUT', customPath(p, p.name), p.body),
    replaceClusterCustomObject: (p: Named & { body: object }) => call('PUT', customPath(p, p.name), p.body),
    deleteNamespacedCustomObject: (p: Named) => call('DELETE', customPath(p, p.name)),
    deleteClusterCustomObject: (p: Named) => call('DELETE', customPath(p, p.name)),
    // The caller's options carry the patch's Content-Type (setHeaderOptions), as for the generated method.
    patchNamespacedCustomObjectStatus: ((p: Named & { body: object }, options?: CallOptions) =>
      call('PATCH', `${customPath(p, p.name)}/status`, p.body, options)) as SyncerApis['custom']['patchNamespacedCustomObjectStatus'],
    listClusterCustomObject: (p) => kubeRequest(kc, 'GET', customPath(p), { query: { labelSelector: p.labelSelector } }),
    getAPIResources: (p) => call('GET', `/apis/${seg(p.group)}/${seg(p.version)}`),
  };
  return {
    custom,
    core: { createNamespacedEvent: (p) => call('POST', `/api/v1/namespaces/${seg(p.namespace)}/events`, p.body) },
    coordination: {
      readNamespacedLease: (p) => call('GET', leasePath(p.namespace, p.name)),
      createNamespacedLease: (p) => call('POST', leasePath(p.namespace), p.body),
      replaceNamespacedLease: (p) => call('PUT', leasePath(p.namespace, p.name), p.body),
    },
  };
}
