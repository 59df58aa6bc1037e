// What the webhook watches besides its cluster view when `analysis.admissionWarnings` is on:
// the kinds the cross-object rules read at apply time (Services, NetworkPolicies,
// PeerAuthentications, both webhook configurations; every pod is watched instead of the
// target pods only). The status syncer writing PolicyReports watches these and the rest of
// the object index: the workloads (their pod templates) and the monitors. Each object is
// stripped to the fields those rules read: no annotations (last-applied-configuration alone
// is the size of the object; a workload's template keeps its own), no caBundle, no webhook
// rules, no status (policies/index/strip.ts, which `check` uses too). Measured cost:
// docs/operations.md.
import { INDEX_KINDS, WORKLOAD_KINDS, type IndexKind } from '../policies/index/kinds.js';
import type { KubeObject } from '../policies/k8s.js';
import {
  stripMonitor,
  stripNetworkPolicy,
  stripPeerAuthentication,
  stripService,
  stripWebhookConfiguration,
  stripWorkload,
} from '../policies/index/strip.js';

/** An informer's resource: what to list and watch (GET `path`, server/kube-list.ts), and how to strip what it caches. */
export interface ResourceSpec {
  /** Name in sizes/metrics/logs: "namespaces", "pods/antfly", "antflyclusters.antfly.io". */
  name: string;
  path: string;
  labelSelector?: string;
  strip(o: KubeObject): KubeObject;
  /** A CRD that may not be installed. */
  optional: boolean;
  /** Absent (404) or not permitted (403): held as empty and tried again later (the syncer's index kinds). */
  skippable?: boolean;
}

/** The informers of the analysed kinds, by the index kind each holds. */
export const analysisResources = (): [IndexKind, ResourceSpec][] => {
  return [
    ['Service', { name: 'services', path: '/api/v1/services', strip: stripService, optional: false }],
    [
      'NetworkPolicy',
      {
        name: 'networkpolicies.networking.k8s.io',
        path: '/apis/networking.k8s.io/v1/networkpolicies',
        strip: stripNetworkPolicy,
        optional: false,
      },
    ],
    [
      'MutatingWebhookConfiguration',
      {
        name: 'mutatingwebhookconfigurations.admissionregistration.k8s.io',
        path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
        strip: stripWebhookConfiguration('MutatingWebhookConfiguration'),
        optional: false,
      },
    ],
    [
      'ValidatingWebhookConfiguration',
      {
        name: 'validatingwebhookconfigurations.admissionregistration.k8s.io',
        path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
        strip: stripWebhookConfiguration('ValidatingWebhookConfiguration'),
        optional: false,
      },
    ],
    [
      // v1 is served since Istio 1.22 (v1beta1 carries the same spec).
      'PeerAuthentication',
      {
        name: 'peerauthentications.security.istio.io',
        path: '/apis/security.istio.io/v1/peerauthentications',
        strip: stripPeerAuthentication,
        optional: true,
      },
    ],
  ];
};

// --- the rest of the object index (the syncer's PolicyReports) ---

/** The informers of every kind of the object index but Namespace and Pod. */
export const indexResources = (): [IndexKind, ResourceSpec][] => {
  const resource = (kind: IndexKind, strip: (o: KubeObject) => KubeObject, optional: boolean): [IndexKind, ResourceSpec] => {
    const { group, version, plural } = INDEX_KINDS[kind];
    return [kind, { name: `${plural}.${group}`, path: `/apis/${group}/${version}/${plural}`, strip, optional }];
  };
  return [
    ...analysisResources(),
    ...WORKLOAD_KINDS.map((kind) => resource(kind, stripWorkload(kind), false)),
    resource('ServiceMonitor', stripMonitor('ServiceMonitor'), true),
    resource('PodMonitor', stripMonitor('PodMonitor'), true),
  ];
};
