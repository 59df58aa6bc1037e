// What every rule of the registry states about itself. Per-object rules (MG1xx, MG2xx)
// are decided while one object is reviewed; cross-object rules (MG3xx) read the whole
// object index. Both kinds are listed, documented and tested from the same entries.
import type { PolicyConfig } from '../config.js';
import type { Finding, RuleId, Severity } from '../findings.js';
import type { ObjectIndex, ObjectRef } from '../index/object-index.js';
import type { IndexKind } from '../index/kinds.js';
import type { Mode } from '../mesh-state.js';

export interface RuleMeta {
  id: RuleId;
  /** The most severe level the rule reports at (what `meshguard rules` shows). */
  severity: Severity;
  /** Every level it can report at, when more than one (MG303: error for 15008, warning otherwise). */
  severities?: readonly Severity[];
  title: string;
  /** For the docs table: which objects the findings are about. */
  appliesTo: string;
  /** The kinds the rule reads. */
  reads: readonly (IndexKind | 'cluster CR')[];
}

/** A rule decided while reviewing one object; `checkedBy` names the module that decides it. */
export interface ObjectRule extends RuleMeta {
  scope: 'object';
  checkedBy: string;
}

/** A finding about one object of the index, naming every object it involves. */
export interface IndexFinding extends Finding {
  subject: ObjectRef;
  /** Objects the finding depends on besides its subject (a CI run reports a finding when any of them is an input). */
  related: readonly ObjectRef[];
}

/** What a cross-object rule reads besides the index. */
export interface AnalysisContext {
  config: PolicyConfig;
  /** How Pods in the index are read: 'live' in a cluster (analyze, the webhook), 'predict' for manifests (check). */
  podMode: Mode;
  /**
   * Whether the index holds everything the cluster holds (a live cluster), so that a missing
   * object is really missing. Offline it holds what the run was given: a rule that concludes
   * from absence ("no NetworkPolicy") only judges what it sees.
   */
  complete: boolean;
}

export interface IndexRule extends RuleMeta {
  scope: 'index';
  check(index: ObjectIndex, ctx: AnalysisContext): IndexFinding[];
}

export type Rule = ObjectRule | IndexRule;
