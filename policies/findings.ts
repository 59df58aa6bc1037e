// Every decision meshguard makes carries its reason: a stable rule id, a severity, a
// message for the person whose apply failed, and the field it is about.

export type Severity = 'error' | 'warning' | 'info';

export type RuleId =
  | 'MG101' | 'MG102' | 'MG103' | 'MG104' | 'MG105' | 'MG106' | 'MG107'
  | 'MG201' | 'MG202' | 'MG203' | 'MG204' | 'MG205' | 'MG206' | 'MG207';

export const RULES: Record<RuleId, { severity: Severity; title: string }> = {
  MG101: { severity: 'error', title: 'serviceMesh is not of the schema' },
  MG102: { severity: 'error', title: 'annotation key is not a valid qualified name' },
  MG103: { severity: 'error', title: 'mesh annotation value the mesh itself would reject' },
  MG104: { severity: 'error', title: 'annotations of more than one mesh' },
  MG105: { severity: 'warning', title: 'istio inject switch given only as an annotation' },
  MG106: { severity: 'warning', title: 'mesh enabled but nothing would trigger injection' },
  MG107: { severity: 'warning', title: 'unknown field in serviceMesh (it would be ignored)' },
  MG201: { severity: 'error', title: 'pod/template of a meshed cluster would run without the proxy' },
  MG202: { severity: 'error', title: 'pod/template of an unmeshed cluster would get a proxy' },
  MG203: { severity: 'error', title: "proxy of another mesh than the cluster's" },
  MG204: { severity: 'warning', title: "the pod's cluster resource was not found" },
  MG205: { severity: 'error', title: 'hostNetwork pod in a meshed cluster' },
  MG206: { severity: 'info', title: 'consensus ports not excluded (the webhook would add them)' },
  // Added after the first catalog: the mutation replaced a template value with the cluster's.
  MG207: { severity: 'warning', title: "a pod template value was replaced by the cluster's serviceMesh setting" },
};

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

export const finding = (rule: RuleId, message: string, path: Path, severity: Severity = RULES[rule].severity, summary?: string): Finding => ({
  rule,
  severity,
  message,
  path,
  ...(summary !== undefined ? { summary } : {}),
});

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
