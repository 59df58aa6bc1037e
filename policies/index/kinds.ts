// The kinds the object index holds, each by API group (every served version of a group is
// the same kind to the rules: PeerAuthentication v1 and v1beta1 carry the same spec).
import type { KubeObject } from '../k8s.js';
import { groupOf } from '../targets/resolve.js';

export interface KindInfo {
  group: string;
  /** The version `meshguard analyze` lists. */
  version: string;
  plural: string;
  namespaced: boolean;
  /** Custom resources: the kind may not be installed. */
  optional?: boolean;
}

export const INDEX_KINDS = {
  Namespace: { group: '', version: 'v1', plural: 'namespaces', namespaced: false },
  Pod: { group: '', version: 'v1', plural: 'pods', namespaced: true },
  Service: { group: '', version: 'v1', plural: 'services', namespaced: true },
  StatefulSet: { group: 'apps', version: 'v1', plural: 'statefulsets', namespaced: true },
  Deployment: { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true },
  ReplicaSet: { group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true },
  DaemonSet: { group: 'apps', version: 'v1', plural: 'daemonsets', namespaced: true },
  Job: { group: 'batch', version: 'v1', plural: 'jobs', namespaced: true },
  CronJob: { group: 'batch', version: 'v1', plural: 'cronjobs', namespaced: true },
  MutatingWebhookConfiguration: { group: 'admissionregistration.k8s.io', version: 'v1', plural: 'mutatingwebhookconfigurations', namespaced: false },
  ValidatingWebhookConfiguration: { group: 'admissionregistration.k8s.io', version: 'v1', plural: 'validatingwebhookconfigurations', namespaced: false },
  PeerAuthentication: { group: 'security.istio.io', version: 'v1', plural: 'peerauthentications', namespaced: true, optional: true },
  NetworkPolicy: { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', namespaced: true },
  ServiceMonitor: { group: 'monitoring.coreos.com', version: 'v1', plural: 'servicemonitors', namespaced: true, optional: true },
  PodMonitor: { group: 'monitoring.coreos.com', version: 'v1', plural: 'podmonitors', namespaced: true, optional: true },
} as const satisfies Record<string, KindInfo>;

export type IndexKind = keyof typeof INDEX_KINDS;

export const WORKLOAD_KINDS = ['StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob'] as const satisfies readonly IndexKind[];
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const WEBHOOK_CONFIGURATION_KINDS = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'] as const satisfies readonly IndexKind[];

/** The index kind of an object (kind and API group must both match), or undefined. */
export const indexKindOf = (o: KubeObject): IndexKind | undefined => {
  const kind = o.kind;
  if (!kind || !Object.hasOwn(INDEX_KINDS, kind)) return undefined;
  // A missing apiVersion reads as the core group, as in the cluster view before.
  return groupOf(o.apiVersion ?? 'v1') === INDEX_KINDS[kind as IndexKind].group ? (kind as IndexKind) : undefined;
};
