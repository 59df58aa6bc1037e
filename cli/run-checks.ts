// The offline core of `check` and `inject`: every input document through the same
// mutate-then-validate path the cluster would take, with file and line for each finding.
import { ObjectClusterView, type ClusterView } from '../policies/cluster-view.js';
import type { PolicyConfig } from '../policies/config.js';
import { formatPath, type Finding } from '../policies/findings.js';
import type { KubeObject } from '../policies/k8s.js';
import { mutateObject, validateObject } from '../policies/review.js';
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

export const checkDocuments = (docs: readonly SourceDoc[], view: ClusterView, config: PolicyConfig, defaultNamespace: string): CheckResult => {
  const findings: LocatedFinding[] = [];
  let judged = 0;
  for (const doc of docs) {
    const obj = doc.object;
    if (typeof obj.kind !== 'string') continue;
    const ns = namespaceOf(obj, defaultNamespace);
    const m = mutateObject(obj, ns, view, config);
    if (m.unreadable) throw new InputError(`${obj.kind} ${obj.metadata?.name ?? ''}: ${m.unreadable}`, doc.file, doc.lineOf([]));
    if (m.skipped) continue;
    judged++;
    const v = validateObject(m.mutated ?? obj, ns, view, config, 'predict');
    const seen = new Set<string>();
    for (const f of [...m.findings, ...v.findings]) {
      const k = dedupeKey(f);
      if (seen.has(k)) continue;
      seen.add(k);
      findings.push({ ...f, file: doc.file, line: doc.lineOf(f.path), kind: obj.kind, namespace: ns, name: obj.metadata?.name ?? '' });
    }
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
