// MG2xx: a pod or pod template against its cluster's desired mesh state. The checks run
// while one object is reviewed (mutation first, then rejection).
import type { ObjectRule } from './types.js';

const POD = 'pod, template';
const READS = ['cluster CR', 'Namespace', 'Pod', 'StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob'] as const;

export const POD_STATE_RULES: readonly ObjectRule[] = [
  {
    id: 'MG201',
    severity: 'error',
    title: 'pod/template of a meshed cluster would run without the proxy',
    appliesTo: POD,
    reads: READS,
    scope: 'object',
    checkedBy: 'policies/rejection.ts',
  },
  {
    id: 'MG202',
    severity: 'error',
    title: 'pod/template of an unmeshed cluster would get a proxy',
    appliesTo: POD,
    reads: READS,
    scope: 'object',
    checkedBy: 'policies/rejection.ts',
  },
  {
    id: 'MG203',
    severity: 'error',
    title: "proxy of another mesh than the cluster's",
    appliesTo: POD,
    reads: READS,
    scope: 'object',
    checkedBy: 'policies/rejection.ts',
  },
  {
    id: 'MG204',
    severity: 'warning',
    title: "the pod's cluster resource was not found",
    appliesTo: POD,
    reads: READS,
    scope: 'object',
    checkedBy: 'policies/review.ts',
  },
  {
    id: 'MG205',
    severity: 'error',
    title: 'hostNetwork pod in a meshed cluster',
    appliesTo: POD,
    reads: READS,
    scope: 'object',
    checkedBy: 'policies/rejection.ts',
  },
  {
    id: 'MG206',
    severity: 'info',
    title: 'consensus ports not excluded (the webhook would add them)',
    appliesTo: 'cluster CR, pod, template',
    reads: READS,
    scope: 'object',
    checkedBy: 'policies/validation/cluster.ts, policies/mutation/mutate.ts',
  },
  {
    id: 'MG207',
    severity: 'warning',
    // Added after the first catalog: the mutation replaced a template value with the cluster's.
    title: "a pod template value was replaced by the cluster's serviceMesh setting",
    appliesTo: POD,
    reads: READS,
    scope: 'object',
    checkedBy: 'policies/mutation/mutate.ts',
  },
];
