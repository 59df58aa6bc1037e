// The cross-object half of the catalog: every index rule of the registry over one object
// index. `check` runs it over inputs plus --state, `analyze` over a live cluster's lists,
// the status syncer over its informer caches (PolicyReports), and any other backing of
// the object index.
import { actionOf, type Action } from './enforcement.js';
import type { ObjectIndex } from './index/object-index.js';
import { INDEX_RULES } from './rules/registry.js';
import type { AnalysisContext, IndexFinding } from './rules/types.js';

/** Findings of every cross-object rule, in catalog order. A rule whose kinds the index does not hold says nothing. */
export const analyzeIndex = (index: ObjectIndex, ctx: AnalysisContext): IndexFinding[] =>
  INDEX_RULES.flatMap((rule) => rule.check(index, ctx));

export type JudgedIndexFinding = IndexFinding & { action: Action };

/**
 * Each finding with its action, as for any finding: the enforcement label of the subject's
 * namespace (a Namespace's own), then the configuration. Cluster-scoped subjects (webhook
 * configurations) have no namespace label to read.
 */
export const judgeIndexFinding = (f: IndexFinding, index: ObjectIndex, ctx: AnalysisContext): JudgedIndexFinding => {
  const ns = f.subject.kind === 'Namespace' ? f.subject.name : f.subject.namespace;
  return { ...f, action: actionOf(f, ns !== undefined ? index.getNamespace(ns)?.metadata?.labels : undefined, ctx.config.enforcement) };
};
