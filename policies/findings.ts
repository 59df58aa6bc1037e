// Every decision meshguard makes carries its reason: a stable rule id, a severity, a
// message for the person whose apply failed, and the field it is about.

// The registry's rule modules never import this module at run time (they build findings
// with rules/emit.ts), so this import cannot form a cycle.
import { REGISTRY } from './rules/registry.js';

export type Severity = 'error' | 'warning' | 'info';

export type RuleId =
  | 'MG101' | 'MG102' | 'MG103' | 'MG104' | 'MG105' | 'MG106' | 'MG107'
  | 'MG201' | 'MG202' | 'MG203' | 'MG204' | 'MG205' | 'MG206' | 'MG207'
  | 'MG301' | 'MG302' | 'MG303' | 'MG304' | 'MG305' | 'MG306';

/** Severity and title of every rule, from the rule registry (policies/rules/). */
export const RULES: Record<RuleId, { severity: Severity; title: string }> = Object.fromEntries(
  REGISTRY.map((r) => [r.id, { severity: r.severity, title: r.title }]),
) as Record<RuleId, { severity: Severity; title: string }>;

/** A field path as segments: object keys and array indexes. */
export type PathSegment = string | number;
export type Path = readonly PathSegment[];

export interface Finding {
  rule: RuleId;
  severity: Severity;
  message: string;
  /** Segments from the root of the reviewed object, e.g. ['spec','serviceMesh','annotations','sidecar.istio.io/inject']. */
  path: Path;
  /**
   * The gist in under 100 characters, for admission warnings (which kubectl shows inline
   * and meshguard keeps to 120 characters); the message stays the full explanation.
   */
  summary?: string;
}

export const finding = (rule: RuleId, message: string, path: Path, severity: Severity = RULES[rule].severity, summary?: string): Finding => {
  const f: Finding = { rule, severity, message, path };
  if (summary !== undefined) f.summary = summary;
  return f;
};

const SIMPLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `spec.serviceMesh.annotations["sidecar.istio.io/inject"]`, `spec.template.spec.containers[0]`. */
export const formatPath = (path: Path): string => {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (SIMPLE_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
};

export const hasErrors = (findings: readonly Finding[]): boolean => findings.some((f) => f.severity === 'error');
