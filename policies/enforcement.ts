// What happens to each finding: `deny` (the object is refused), `warn` (admitted, the
// finding returned as an admission warning) or `audit` (admitted silently, recorded in the
// audit annotations, metrics and PolicyReports). An admin can switch a namespace, a rule or
// the whole webhook to warn or audit and roll enforcement out without refusing pods that
// already run; the CLI resolves actions the same way, so CI predicts what the cluster does.
import type { Finding, RuleId, Severity } from './findings.js';
import { copyForWriting, type StringMap } from './k8s.js';

export const ACTIONS = ['deny', 'warn', 'audit'] as const;
export type Action = (typeof ACTIONS)[number];

/** Namespace label choosing the action of every finding in the namespace. */
export const ENFORCEMENT_LABEL = 'meshguard.io/enforcement';

export interface EnforcementConfig {
  /** The action where neither the namespace nor `rules` says otherwise. */
  default: Action;
  /** Per-rule action, e.g. `{ MG201: 'warn' }`; a namespace label still wins. */
  rules: Partial<Record<RuleId, Action>>;
  /**
   * Replaces every other source (the CLI's `--enforcement`: CI stricter, or laxer, than
   * the cluster). Never set by the configuration file.
   */
  override?: Action;
}

export const DEFAULT_ENFORCEMENT: EnforcementConfig = { default: 'deny', rules: {} };

export const isAction = (v: unknown): v is Action => typeof v === 'string' && (ACTIONS as readonly string[]).includes(v);

/** A finding with what the cluster does about it. */
export type JudgedFinding = Finding & { action: Action };

// Strength order: a finding never gets a stronger action than its severity allows.
const STRENGTH: Record<Action, number> = { audit: 0, warn: 1, deny: 2 };
const CEILING: Record<Severity, Action> = { error: 'deny', warning: 'warn', info: 'audit' };

/**
 * The configured mode of `rule` in a namespace with these labels: the override, else a
 * valid namespace label, else the rule's entry, else the default. A label value that is not
 * an action is ignored (and reported by `enforcementLabelProblem`), so a typo falls back
 * to the configuration instead of to an arbitrary action.
 */
export const modeOf = (rule: RuleId, namespaceLabels: StringMap | undefined, enforcement: EnforcementConfig): Action => {
  if (enforcement.override) return enforcement.override;
  const label = namespaceLabels?.[ENFORCEMENT_LABEL];
  if (isAction(label)) return label;
  return enforcement.rules[rule] ?? enforcement.default;
};

/**
 * The action of one finding: its rule's mode, weakened to what its severity allows — an
 * error takes the mode, a warning at most `warn`, an info is only recorded. So the default
 * configuration (`deny`) behaves as meshguard always has: errors refuse, warnings warn.
 */
export const actionOf = (f: Pick<Finding, 'rule' | 'severity'>, namespaceLabels: StringMap | undefined, enforcement: EnforcementConfig): Action => {
  const mode = modeOf(f.rule, namespaceLabels, enforcement);
  const ceiling = CEILING[f.severity];
  return STRENGTH[mode] <= STRENGTH[ceiling] ? mode : ceiling;
};

export const judge = (findings: readonly Finding[], namespaceLabels: StringMap | undefined, enforcement: EnforcementConfig): JudgedFinding[] =>
  findings.map((f) => withAction(f, actionOf(f, namespaceLabels, enforcement)));

/** `{ ...f, action }`, built without the spread's slow added key (see copyForWriting). */
export const withAction = <F extends Finding>(f: F, action: Action): F & { action: Action } => {
  const judged = copyForWriting(f) as F & { action: Action };
  judged.action = action;
  return judged;
};

/** A short message for a namespace label meshguard cannot read; undefined when it is fine or absent. */
export const enforcementLabelProblem = (namespace: string, namespaceLabels: StringMap | undefined): string | undefined => {
  const label = namespaceLabels?.[ENFORCEMENT_LABEL];
  if (label === undefined || isAction(label)) return undefined;
  return `namespace ${namespace}: ${ENFORCEMENT_LABEL}=${JSON.stringify(label)} is not deny, warn or audit; ignored`;
};
