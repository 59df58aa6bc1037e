// The policy configuration: which target profiles are on, each mesh's installation
// defaults and what happens to findings. Loaded by the shell (cli/config-file.ts) and
// handed to the pure core.
import { DEFAULT_ENFORCEMENT, type EnforcementConfig } from './enforcement.js';
import { DEFAULT_MESH_OPTIONS, type MeshOptions } from './meshes/types.js';
import { BUILTIN_PROFILES, type TargetProfile } from './targets/profile.js';

export interface PolicyConfig {
  profiles: readonly TargetProfile[];
  mesh: MeshOptions;
  enforcement: EnforcementConfig;
}

export const DEFAULT_CONFIG: PolicyConfig = {
  profiles: BUILTIN_PROFILES,
  mesh: DEFAULT_MESH_OPTIONS,
  enforcement: DEFAULT_ENFORCEMENT,
};
