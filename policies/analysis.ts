// The cross-object half of the catalog: every index rule of the registry over one object
// index. `check` runs it over inputs plus --state, `analyze` over a live cluster's lists,
// and any other backing of the object index.
import type { ObjectIndex } from './index/object-index.js';
import { INDEX_RULES } from './rules/registry.js';
import type { AnalysisContext, IndexFinding } from './rules/types.js';

/** Findings of every cross-object rule, in catalog order. A rule whose kinds the index does not hold says nothing. */
export const analyzeIndex = (index: ObjectIndex, ctx: AnalysisContext): IndexFinding[] =>
  INDEX_RULES.flatMap((rule) => rule.check(index, ctx));
