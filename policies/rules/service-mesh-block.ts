// MG1xx: the `serviceMesh` block of a cluster CR and the mesh annotations of pods and
// templates, each judged on its own. The checks run while one object is reviewed; the
// modules that decide them are named in `checkedBy`.
import type { ObjectRule } from './types.js';

const CR = 'cluster CR';
const CR_POD = 'cluster CR, pod, template';
const POD_KINDS = ['Namespace', 'Pod', 'StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob'] as const;

export const SERVICE_MESH_BLOCK_RULES: readonly ObjectRule[] = [
  {
    id: 'MG101',
    severity: 'error',
    title: 'serviceMesh is not of the schema',
    appliesTo: CR,
    reads: ['cluster CR'],
    scope: 'object',
    checkedBy: 'policies/validation/schema-check.ts, policies/validation/cluster.ts',
  },
  {
    id: 'MG102',
    severity: 'error',
    title: 'annotation key is not a valid qualified name',
    appliesTo: CR_POD,
    reads: ['cluster CR', ...POD_KINDS],
    scope: 'object',
    checkedBy: 'policies/validation/annotations.ts',
  },
  {
    id: 'MG103',
    severity: 'error',
    title: 'mesh annotation value the mesh itself would reject',
    appliesTo: CR_POD,
    reads: ['cluster CR', ...POD_KINDS],
    scope: 'object',
    checkedBy: 'policies/validation/annotations.ts (values: policies/meshes/)',
  },
  {
    id: 'MG104',
    severity: 'error',
    title: 'annotations of more than one mesh',
    appliesTo: CR_POD,
    reads: ['cluster CR', ...POD_KINDS],
    scope: 'object',
    checkedBy: 'policies/validation/annotations.ts',
  },
  {
    id: 'MG105',
    severity: 'warning',
    title: 'istio inject switch given only as an annotation',
    appliesTo: CR,
    reads: ['cluster CR', ...POD_KINDS],
    scope: 'object',
    checkedBy: 'policies/validation/annotations.ts',
  },
  {
    id: 'MG106',
    severity: 'warning',
    title: 'mesh enabled but nothing would trigger injection',
    appliesTo: CR,
    reads: ['cluster CR', 'Namespace'],
    scope: 'object',
    checkedBy: 'policies/validation/cluster.ts',
  },
  {
    id: 'MG107',
    severity: 'warning',
    title: 'unknown field in serviceMesh (it would be ignored)',
    appliesTo: CR,
    reads: ['cluster CR'],
    scope: 'object',
    checkedBy: 'policies/validation/schema-check.ts',
  },
];
