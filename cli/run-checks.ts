// The offline core of `check` and `inject`: every input document through the same
// mutate-then-validate path the cluster would take, with file and line for each finding.
import { ObjectClusterView, type ClusterView } from '../policies/cluster-view.js';
import type { PolicyConfig } from '../policies/config.js';
import { formatPath, type Finding } from '../policies/findings.js';
import type { KubeObject } from '../policies/k8s.js';
import { reviewObject } from '../policies/review.js';
import { InputError, type SourceDoc } from './inputs.js';

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

/** The cluster as the run sees it: --state first, then the inputs (inputs win). */
export const buildView = (state: readonly { object: KubeObject }[], inputs: readonly { object: KubeObject }[]): ClusterView =>
  new ObjectClusterView([...state, ...inputs].map((d) => d.object));

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
    const { mutate, validate } = reviewObject(obj, ns, view, config, 'predict');
    if (mutate.unreadable) throw new InputError(`${obj.kind} ${obj.metadata?.name ?? ''}: ${mutate.unreadable}`, doc.file, doc.lineOf([]));
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
