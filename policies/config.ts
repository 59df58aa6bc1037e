// The policy configuration: which target profiles are on, each mesh's installation
// defaults and what happens to findings. Loaded by the shell (cli/config-file.ts) and
// handed to the pure core.
import { DEFAULT_ENFORCEMENT, type EnforcementConfig } from './enforcement.js';
import { DEFAULT_MESH_OPTIONS, type MeshOptions } from './meshes/types.js';
import { BUILTIN_PROFILES, type TargetProfile } from './targets/profile.js';

/** Settings of the cross-object rules (MG3xx). */
export interface AnalysisOptions {
  /** Istio's root namespace (meshConfig.rootNamespace), where mesh-wide PeerAuthentications live. Default istio-system. */
  istioRootNamespace?: string;
  /** Prometheus scrapes from inside the mesh (it has a mesh identity): MG302 does not apply. */
  prometheusMeshed?: boolean;
  /**
   * The validating webhook also receives PeerAuthentication, NetworkPolicy, Service and
   * webhook-configuration writes and answers them with admission warnings (never a
   * denial) for the MG3xx findings the write would cause. The server then watches those
   * kinds and every pod, which costs memory (docs/operations.md).
   */
  admissionWarnings?: boolean;
}

export interface PolicyConfig {
  profiles: readonly TargetProfile[];
  mesh: MeshOptions;
  enforcement: EnforcementConfig;
  analysis?: AnalysisOptions;
  /**
   * Where `meshguard.io/ignore: "true"` is honoured. On namespaces always (only cluster
   * admins label namespaces); on workloads, pod templates and pods only with `objects`,
   * since anyone who may create a pod can set a label on it. Absent: objects false.
   */
  ignoreLabel?: { objects: boolean };
}

export const DEFAULT_CONFIG: PolicyConfig = {
  profiles: BUILTIN_PROFILES,
  mesh: DEFAULT_MESH_OPTIONS,
  enforcement: DEFAULT_ENFORCEMENT,
  ignoreLabel: { objects: false },
};
