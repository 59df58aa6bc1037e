// The policy configuration: which target profiles are on and each mesh's installation
// defaults. Loaded by the shell (cli/config-file.ts) and handed to the pure core.
import { DEFAULT_MESH_OPTIONS, type MeshOptions } from './meshes/types.js';
import { BUILTIN_PROFILES, type TargetProfile } from './targets/profile.js';

export interface PolicyConfig {
  profiles: readonly TargetProfile[];
  mesh: MeshOptions;
}

export const DEFAULT_CONFIG: PolicyConfig = {
  profiles: BUILTIN_PROFILES,
  mesh: DEFAULT_MESH_OPTIONS,
};
