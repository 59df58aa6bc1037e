// The rule registry: every rule meshguard reports, in catalog order. `meshguard rules`,
// docs/rules.md (scripts/rules-doc.ts), SARIF's rule table and the cross-object analysis
// all read it. Adding a rule: a module here, its docs in docs/MGxxx.md beside it.
import { MG301 } from './mg301-webhook-mesh-identity.js';
import { MG302 } from './mg302-monitor-strict-port.js';
import { MG303 } from './mg303-ambient-hbone-blocked.js';
import { MG304 } from './mg304-namespace-switches.js';
import { MG305 } from './mg305-consensus-ports-open.js';
import { MG306 } from './mg306-selects-nothing.js';
import { POD_STATE_RULES } from './pod-state.js';
import { SERVICE_MESH_BLOCK_RULES } from './service-mesh-block.js';
import type { IndexRule, Rule } from './types.js';

export const INDEX_RULES: readonly IndexRule[] = [MG301, MG302, MG303, MG304, MG305, MG306];

export const REGISTRY: readonly Rule[] = [...SERVICE_MESH_BLOCK_RULES, ...POD_STATE_RULES, ...INDEX_RULES];
