// The offline core of `check` and `inject`: every input document through the same
// mutate-then-validate path the cluster would take, with file and line for each finding.
import { ObjectClusterView, type ClusterView } from '../policies/cluster-view.js';
import type { PolicyConfig } from '../policies/config.js';
import { formatPath, type Finding } from '../policies/findings.js';
import type { KubeObject } from '../policies/k8s.js';
import { reviewObject } from '../policies/review.js';
import { MG_ERR_INPUT_OBJECT } from '../policies/errors.js';
import type { SourceDoc } from './inputs.js';

export interface LocatedFinding extends Finding {
  file: string;
  line: number;
  kind: string;
  namespace: string;
  name: string;
}

export interface CheckResult {
  findings: LocatedFinding[];
  documents: number;
  files: number;
  /** Kubernetes objects meshguard judged (targets and cluster CRs). */
  judged: number;
}

export const namespaceOf = (o: KubeObject, fallback: string): string => o.metadata?.namespace ?? fallback;

/**
 * An object as the API server would store it when applied with `-n namespace`: a
 * Namespace is cluster-scoped; everything else the view holds (Pods, cluster CRs) is
 * namespaced and lands in the namespace given, as `kubectl apply -n` puts it there.
 */
export const placed = (o: KubeObject, namespace: string): KubeObject =>
  o.metadata?.namespace || o.kind === 'Namespace' || !o.metadata ? o : { ...o, metadata: { ...o.metadata, namespace } };

/**
 * The cluster as the run sees it: --state first, then the inputs (inputs win). Objects
 * that name no namespace are stored in `defaultNamespace`, the one they are judged in
 * (`check -n prod`): a namespace-less cluster CR stored under `default` was not found
 * for the workloads judged in `prod`.
 */
export const buildView = (
  state: readonly { object: KubeObject }[],
  inputs: readonly { object: KubeObject }[],
  defaultNamespace = 'default',
): ClusterView => new ObjectClusterView([...state, ...inputs].map((d) => placed(d.object, defaultNamespace)));

const dedupeKey = (f: Finding): string => `${f.rule}|${formatPath(f.path)}|${f.message}`;

/** Findings of both halves, each once: a rule both halves check would otherwise show twice. */
const merged = (a: readonly Finding[], b: readonly Finding[]): readonly Finding[] => {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const seen = new Set<string>();
  return [...a, ...b].filter((f) => {
    const k = dedupeKey(f);
    return seen.has(k) ? false : (seen.add(k), true);
  });
};

export const checkDocuments = (docs: readonly SourceDoc[], view: ClusterView, config: PolicyConfig, defaultNamespace: string): CheckResult => {
  const findings: LocatedFinding[] = [];
  let judged = 0;
  for (const doc of docs) {
    const obj = doc.object;
    if (typeof obj.kind !== 'string') continue;
    const ns = namespaceOf(obj, defaultNamespace);
    // Judged where it would be stored, so its own messages name the namespace it lands in.
    const { mutate, validate } = reviewObject(placed(obj, ns), ns, view, config, 'predict');
    if (mutate.unreadable) throw MG_ERR_INPUT_OBJECT(doc.file, doc.lineOf([]), `${obj.kind} ${obj.metadata?.name ?? ''}: ${mutate.unreadable}`);
    if (mutate.skipped) continue;
    judged++;
    const name = obj.metadata?.name ?? '';
    for (const f of merged(mutate.findings, validate.findings))
      findings.push({ ...f, file: doc.file, line: doc.lineOf(f.path), kind: obj.kind, namespace: ns, name });
  }
  return { findings, documents: docs.length, files: new Set(docs.map((d) => d.file)).size, judged };
};

export interface Summary {
  errors: number;
  warnings: number;
  infos: number;
  documents: number;
  files: number;
}

export const summarize = (r: CheckResult): Summary => ({
  errors: r.findings.filter((f) => f.severity === 'error').length,
  warnings: r.findings.filter((f) => f.severity === 'warning').length,
  infos: r.findings.filter((f) => f.severity === 'info').length,
  documents: r.documents,
  files: r.files,
});
