// Kubernetes label selectors as the API server reads them (metav1.LabelSelectorAsSelector):
// matchLabels and matchExpressions are ANDed; `{}` selects everything; an operator it does
// not know, or In/NotIn without values, makes the selector invalid, which selects nothing.
import { isPlainObject, type StringMap } from '../k8s.js';

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: StringMap;
  matchExpressions?: LabelSelectorRequirement[];
}

export const labelsMatch = (labels: StringMap | undefined, matchLabels: StringMap): boolean => {
  for (const k of Object.keys(matchLabels)) if (labels?.[k] !== matchLabels[k]) return false;
  return true;
};

const requirementMatches = (labels: StringMap | undefined, r: LabelSelectorRequirement): boolean => {
  const has = labels !== undefined && Object.hasOwn(labels, r.key);
  const values = Array.isArray(r.values) ? r.values : [];
  switch (r.operator) {
    case 'In':
      return values.length > 0 && has && values.includes(labels[r.key]!);
    case 'NotIn':
      return values.length > 0 && (!has || !values.includes(labels[r.key]!));
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    default:
      return false;
  }
};

/** Whether `labels` satisfy a LabelSelector. Anything that is not an object selects nothing. */
export const selectorMatches = (labels: StringMap | undefined, selector: unknown): boolean => {
  if (!isPlainObject(selector)) return false;
  const { matchLabels, matchExpressions } = selector as LabelSelector;
  if (matchLabels !== undefined && matchLabels !== null && !(isPlainObject(matchLabels) && labelsMatch(labels, matchLabels))) return false;
  if (matchExpressions === undefined || matchExpressions === null) return true;
  return Array.isArray(matchExpressions) && matchExpressions.every((r) => isPlainObject(r) && requirementMatches(labels, r));
};

/** The exact-match labels a selector requires: what a label index can narrow by before the full match. */
export const requiredLabels = (selector: unknown): StringMap => {
  if (!isPlainObject(selector) || !isPlainObject(selector.matchLabels)) return {};
  return selector.matchLabels as StringMap;
};

/** `app=web,tier in (a,b)` for messages. */
export const describeSelector = (selector: unknown): string => {
  if (!isPlainObject(selector)) return '(none)';
  const parts = Object.entries(isPlainObject(selector.matchLabels) ? (selector.matchLabels as StringMap) : {}).map(([k, v]) => `${k}=${v}`);
  // As written: a manifest may give a requirement that is no mapping, no operator, or one
  // that is not a string (such a selector selects nothing, selectorMatches).
  for (const r of Array.isArray(selector.matchExpressions) ? (selector.matchExpressions as unknown[]) : []) {
    if (!isPlainObject(r)) {
      parts.push(JSON.stringify(r) ?? String(r));
      continue;
    }
    const { key, operator, values } = r as Partial<Record<keyof LabelSelectorRequirement, unknown>>;
    const vals = Array.isArray(values) ? `(${values.join(',')})` : '';
    const op = typeof operator === 'string' ? operator.toLowerCase() : `(operator ${JSON.stringify(operator) ?? 'missing'})`;
    parts.push(operator === 'Exists' ? String(key) : operator === 'DoesNotExist' ? `!${String(key)}` : [String(key), op, vals].filter(Boolean).join(' '));
  }
  return parts.length === 0 ? '{} (every pod)' : parts.join(',');
};
