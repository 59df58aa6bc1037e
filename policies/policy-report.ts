// What already runs, as the Policy Working Group's PolicyReport (wgpolicyk8s.io/v1alpha2):
// the format Kyverno, Kubewarden and Trivy write and Policy Reporter displays. One report
// per namespace holding target clusters: a result per finding of the cluster CRs and their
// pods (judged exactly as `meshguard check` judges them), and a `pass` per cluster whose
// CR and pods have no finding.
import type { ClusterView } from './cluster-view.js';
import type { PolicyConfig } from './config.js';
import type { JudgedFinding } from './enforcement.js';
import { formatPath, RULES, type Severity } from './findings.js';
import { judgeObject } from './judge.js';
import type { KubeObject } from './k8s.js';
import { isCountedPod } from './mesh-state.js';
import { targetOfPod } from './targets/resolve.js';

export const POLICY_REPORT_GROUP = 'wgpolicyk8s.io';
export const POLICY_REPORT_VERSION = 'v1alpha2';
export const POLICY_REPORT_API_VERSION = `${POLICY_REPORT_GROUP}/${POLICY_REPORT_VERSION}`;
/** Name of meshguard's report in each namespace (other tools write their own, by other names). */
export const POLICY_REPORT_NAME = 'meshguard';
export const REPORT_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/managed-by': 'meshguard' };
/** `policy` of the pass results: a cluster passes every rule at once. */
export const PASS_POLICY = 'meshguard';

export type ReportResultKind = 'pass' | 'fail' | 'warn' | 'error' | 'skip';
type ReportSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface ResourceRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

export interface ReportResult {
  source: 'meshguard';
  policy: string;
  rule: string;
  category: string;
  result: ReportResultKind;
  severity?: ReportSeverity;
  scored: boolean;
  message: string;
  resources: ResourceRef[];
  properties?: Record<string, string>;
}

export interface ReportSummary {
  pass: number;
  fail: number;
  warn: number;
  error: number;
  skip: number;
}

/** The parts of a report meshguard decides; metadata is the writer's. */
export interface ReportContent {
  summary: ReportSummary;
  results: ReportResult[];
}

const SEVERITY: Record<Severity, ReportSeverity> = { error: 'high', warning: 'medium', info: 'info' };
// An error is a failed check whatever the action: audit mode is exactly when the report must say so.
const RESULT: Record<Severity, ReportResultKind> = { error: 'fail', warning: 'warn', info: 'warn' };
const CATEGORY = 'Service mesh';

const refOf = (o: KubeObject, fallbackNamespace: string): ResourceRef => ({
  apiVersion: o.apiVersion ?? '',
  kind: o.kind ?? '',
  namespace: o.metadata?.namespace ?? fallbackNamespace,
  name: o.metadata?.name ?? '',
  ...(o.metadata?.uid ? { uid: o.metadata.uid } : {}),
});

const findingResult = (f: JudgedFinding, ref: ResourceRef): ReportResult => ({
  source: 'meshguard',
  policy: f.rule,
  rule: f.rule,
  category: CATEGORY,
  result: RESULT[f.severity],
  severity: SEVERITY[f.severity],
  scored: true,
  message: f.message,
  resources: [ref],
  properties: { action: f.action, title: RULES[f.rule].title, ...(f.path.length > 0 ? { path: formatPath(f.path) } : {}) },
});

const order = (a: ReportResult, b: ReportResult): number => {
  const ra = a.resources[0]!;
  const rb = b.resources[0]!;
  return (
    ra.kind.localeCompare(rb.kind) || ra.name.localeCompare(rb.name) || a.policy.localeCompare(b.policy) ||
    (a.properties?.path ?? '').localeCompare(b.properties?.path ?? '') || a.message.localeCompare(b.message)
  );
};

export const summarizeResults = (results: readonly ReportResult[]): ReportSummary => {
  const s: ReportSummary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) s[r.result]++;
  return s;
};

/**
 * The report of `namespace`, or undefined when it holds no target cluster (no report
 * belongs there). Pods are judged as they run ('live': the proxy they actually have), the
 * way the validating webhook sees them; cluster CRs as `check` does.
 */
export const namespaceReport = (namespace: string, view: ClusterView, config: PolicyConfig): ReportContent | undefined => {
  const clusters = config.profiles.flatMap((profile) =>
    view.listClusters(profile.cluster).filter((cr) => cr.metadata?.namespace === namespace && cr.metadata?.name).map((cr) => ({ profile, cr })),
  );
  if (clusters.length === 0) return undefined;
  const results: ReportResult[] = [];
  /** Clusters (profile name + CR name) with at least one finding on the CR or a pod. */
  const flagged = new Set<string>();
  const judge = (o: KubeObject, cluster: string | undefined) => {
    const j = judgeObject(o, namespace, view, config, 'live');
    if (j.unreadable !== undefined || j.skipped) return;
    const ref = refOf(o, namespace);
    for (const f of j.findings) results.push(findingResult(f, ref));
    if (j.findings.length > 0 && cluster !== undefined) flagged.add(cluster);
  };
  for (const { profile, cr } of clusters) judge(cr, `${profile.name}/${cr.metadata!.name}`);
  const seen = new Set<string>();
  for (const profile of config.profiles) {
    for (const pod of view.listPods(namespace, profile.podLabels)) {
      const name = pod.metadata?.name;
      const target = targetOfPod(pod.metadata?.labels, config.profiles);
      // Completed and terminating pods are history, not what runs (as in the status count).
      if (!name || !target || seen.has(name) || !isCountedPod(pod)) continue;
      seen.add(name);
      judge(pod as KubeObject, `${target.profile.name}/${target.clusterName}`);
    }
  }
  for (const { profile, cr } of clusters) {
    if (flagged.has(`${profile.name}/${cr.metadata!.name}`)) continue;
    results.push({
      source: 'meshguard',
      policy: PASS_POLICY,
      rule: PASS_POLICY,
      category: CATEGORY,
      result: 'pass',
      scored: true,
      message: `${cr.kind} ${namespace}/${cr.metadata!.name} and its pods: no finding of any meshguard rule`,
      resources: [refOf(cr, namespace)],
    });
  }
  results.sort(order);
  return { summary: summarizeResults(results), results };
};
