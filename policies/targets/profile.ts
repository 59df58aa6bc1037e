// Which objects belong to which cluster. Profiles are data: a third CRD is one more entry
// in the configuration, not new code.
import type { ClusterRef } from '../cluster-view.js';
import type { StringMap } from '../k8s.js';

/** How a cluster CR's `spec.serviceMesh` is shaped (which schema validates it). */
export type ServiceMeshDialect = 'annotations' | 'observability-platform';

export interface ConsensusPort {
  /** Path inside the cluster CR, e.g. ['spec','metadataNodes','metadataRaft','port']. */
  path: string[];
  default: number;
}

export interface TargetProfile {
  name: string;
  cluster: ClusterRef & { plural: string };
  /** Labels (exact values) that every pod of this profile carries. */
  podLabels: StringMap;
  /** The pod label whose value is the name of the pod's cluster CR (same namespace). */
  clusterNameLabel: string;
  consensusPorts: ConsensusPort[];
  dialect: ServiceMeshDialect;
}

export const ANTFLY: TargetProfile = {
  name: 'antfly',
  cluster: { apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', plural: 'antflyclusters' },
  podLabels: { 'app.kubernetes.io/name': 'antfly-database' },
  clusterNameLabel: 'app.kubernetes.io/instance',
  consensusPorts: [
    { path: ['spec', 'metadataNodes', 'metadataRaft', 'port'], default: 9017 },
    { path: ['spec', 'dataNodes', 'raft', 'port'], default: 9021 },
  ],
  dialect: 'annotations',
};

export const OBSERVABILITY_PLATFORM: TargetProfile = {
  name: 'observability-platform',
  cluster: { apiVersion: 'observability.io/v1beta1', kind: 'ObservabilityPlatform', plural: 'observabilityplatforms' },
  podLabels: {},
  clusterNameLabel: 'observability.io/platform',
  consensusPorts: [],
  dialect: 'observability-platform',
};

export const BUILTIN_PROFILES: readonly TargetProfile[] = [ANTFLY, OBSERVABILITY_PLATFORM];
