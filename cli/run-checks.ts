// The offline core of `check` and `inject`: every input document through the same
// mutate-then-validate path the cluster would take, with file and line for each finding.
import { analyzeIndex, judgeIndexFinding } from '../policies/analysis.js';
import type { PolicyConfig } from '../policies/config.js';
import type { JudgedFinding } from '../policies/enforcement.js';
import { judgeObject } from '../policies/judge.js';
import { PlainObjectIndex, refKey, refOf, type ClusterView, type ObjectRef } from '../policies/index/object-index.js';
import { INDEX_KINDS, indexKindOf } from '../policies/index/kinds.js';
import type { Mode } from '../policies/mesh-state.js';
import type { KubeObject } from '../policies/k8s.js';
import { MG_ERR_INPUT_OBJECT } from '../policies/errors.js';
import type { SourceDoc } from './inputs.js';

export type LocatedFinding = JudgedFinding & {
  file: string;
  line: number;
  kind: string;
  namespace: string;
  name: string;
};

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
): PlainObjectIndex => new PlainObjectIndex([...state, ...inputs].map((d) => placed(d.object, defaultNamespace)));

/** An object of the index with where it was read: `input` for the checked manifests, not for --state. */
export interface IndexSource {
  object: KubeObject;
  file: string;
  line: number;
  input: boolean;
}

export interface CrossObjectOptions {
  /** How Pods are read: 'predict' for manifests, 'live' for a cluster's objects. */
  podMode?: Mode;
  /** Whether the sources are all the cluster holds (analyze), not only what a run was given. */
  complete?: boolean;
  /** Where objects that name no namespace are stored (check -n). */
  namespace?: string;
}

/**
 * The cross-object rules over everything the run sees. A finding is reported when it
 * involves at least one input (a CI run judges the change, not what the cluster already
 * holds); it is located at the start of the object it is about.
 */
export const crossObjectFindings = (sources: readonly IndexSource[], config: PolicyConfig, opts: CrossObjectOptions = {}): LocatedFinding[] => {
  const { podMode = 'predict', complete = false, namespace = 'default' } = opts;
  // Cluster-scoped kinds (webhook configurations) stay without a namespace.
  const place = (o: KubeObject): KubeObject => {
    const kind = indexKindOf(o);
    return kind && !INDEX_KINDS[kind].namespaced ? o : placed(o, namespace);
  };
  const placedSources = sources.map((s) => ({ ...s, object: place(s.object) }));
  const index = new PlainObjectIndex(placedSources.map((s) => s.object));
  const where = new Map<string, IndexSource>();
  for (const s of placedSources) where.set(refKey(refOf(s.object)), s);
  const isInput = (r: ObjectRef): boolean => where.get(refKey(r))?.input === true;
  const out: LocatedFinding[] = [];
  const ctx = { config, podMode, complete };
  for (const f of analyzeIndex(index, ctx)) {
    if (!isInput(f.subject) && !f.related.some(isInput)) continue;
    const at = where.get(refKey(f.subject));
    const { subject, related: _related, ...finding } = judgeIndexFinding(f, index, ctx);
    out.push({ ...finding, file: at?.file ?? '', line: at?.line ?? 0, kind: subject.kind, namespace: subject.namespace ?? '', name: subject.name });
  }
  return out;
};

/**
 * One document through the cluster's path, its findings located in the source; `judged`
 * is false for what meshguard skips. An object of a shape it cannot judge is refused
 * (MG_ERR_INPUT_OBJECT).
 */
export const judgeDocument = (
  doc: SourceDoc,
  view: ClusterView,
  config: PolicyConfig,
  defaultNamespace: string,
  podMode: Mode = 'predict',
): { findings: LocatedFinding[]; judged: boolean } => {
  const obj = doc.object;
  if (typeof obj.kind !== 'string') return { findings: [], judged: false };
  const ns = namespaceOf(obj, defaultNamespace);
  // Judged where it would be stored, so its own messages name the namespace it lands in.
  const j = judgeObject(placed(obj, ns), ns, view, config, podMode);
  if (j.unreadable !== undefined) throw MG_ERR_INPUT_OBJECT(doc.file, doc.lineOf([]), `${obj.kind} ${obj.metadata?.name ?? ''}: ${j.unreadable}`);
  if (j.skipped) return { findings: [], judged: false };
  const name = obj.metadata?.name ?? '';
  const kind = obj.kind;
  return { findings: j.findings.map((f) => ({ ...f, file: doc.file, line: doc.lineOf(f.path), kind, namespace: ns, name })), judged: true };
};

export const checkDocuments = (
  docs: readonly SourceDoc[],
  view: ClusterView,
  config: PolicyConfig,
  defaultNamespace: string,
  podMode: Mode = 'predict',
): CheckResult => {
  const findings: LocatedFinding[] = [];
  let judged = 0;
  for (const doc of docs) {
    const r = judgeDocument(doc, view, config, defaultNamespace, podMode);
    if (r.judged) judged++;
    findings.push(...r.findings);
  }
  return { findings, documents: docs.length, files: new Set(docs.map((d) => d.file)).size, judged };
};

export interface Summary {
  errors: number;
  warnings: number;
  infos: number;
  /** Findings by action: `deny` > 0 means the cluster would refuse something (exit 1). */
  deny: number;
  warn: number;
  audit: number;
  documents: number;
  files: number;
}

export const summarize = (r: CheckResult): Summary => ({
  errors: r.findings.filter((f) => f.severity === 'error').length,
  warnings: r.findings.filter((f) => f.severity === 'warning').length,
  infos: r.findings.filter((f) => f.severity === 'info').length,
  deny: r.findings.filter((f) => f.action === 'deny').length,
  warn: r.findings.filter((f) => f.action === 'warn').length,
  audit: r.findings.filter((f) => f.action === 'audit').length,
  documents: r.documents,
  files: r.files,
});
