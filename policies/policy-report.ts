// What already runs, as the Policy Working Group's PolicyReport (wgpolicyk8s.io/v1alpha2):
// the format Kyverno, Kubewarden and Trivy write and Policy Reporter displays. The whole
// catalog over the object index, as `meshguard analyze` runs it on a live cluster:
// - one PolicyReport per namespace holding target clusters: a result per finding of the
//   cluster CRs, their pods (as they run) and workloads (their templates), and of the
//   cross-object rules about objects there; a `pass` per cluster with no finding at all.
//   A cross-object finding elsewhere that involves such a namespace's objects (a
//   ServiceMonitor in `monitoring` scraping a cluster's pods) gets a report in its own
//   namespace, since a report lists the objects of its namespace.
// - one ClusterPolicyReport for findings about cluster-scoped objects (webhook
//   configurations, Namespaces), whichever namespace they concern.
// A report with no result has no reason to exist: it is absent from the answer.
import { analyzeIndex, judgeIndexFinding } from './analysis.js';
import type { PolicyConfig } from './config.js';
import type { JudgedFinding } from './enforcement.js';
import { formatPath, RULES, type Severity } from './findings.js';
import { indexKindOf, WORKLOAD_KINDS } from './index/kinds.js';
import type { ObjectIndex, ObjectRef } from './index/object-index.js';
import { judgeObject } from './judge.js';
import type { KubeObject } from './k8s.js';
import { isCountedPod } from './mesh-state.js';
import { podShapeOf, profileOfCluster, targetOfPod } from './targets/resolve.js';

export const POLICY_REPORT_GROUP = 'wgpolicyk8s.io';
export const POLICY_REPORT_VERSION = 'v1alpha2';
export const POLICY_REPORT_API_VERSION = `${POLICY_REPORT_GROUP}/${POLICY_REPORT_VERSION}`;
/** Name of meshguard's report in each namespace and of its ClusterPolicyReport (other tools write their own, by other names). */
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

const refOf = (o: KubeObject, fallbackNamespace: string | undefined): ResourceRef => {
  const namespace = o.metadata?.namespace ?? fallbackNamespace;
  return {
    apiVersion: o.apiVersion ?? '',
    kind: o.kind ?? '',
    ...(namespace !== undefined ? { namespace } : {}),
    name: o.metadata?.name ?? '',
    ...(o.metadata?.uid ? { uid: o.metadata.uid } : {}),
  };
};

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

export interface PolicyReports {
  /** Namespace → its PolicyReport. */
  namespaces: Map<string, ReportContent>;
  /** The ClusterPolicyReport, when a cluster-scoped object has a finding. */
  cluster?: ReportContent;
}

const passResult = (cr: KubeObject, namespace: string): ReportResult => ({
  source: 'meshguard',
  policy: PASS_POLICY,
  rule: PASS_POLICY,
  category: CATEGORY,
  result: 'pass',
  scored: true,
  message: `${cr.kind} ${namespace}/${cr.metadata!.name} and its pods and workloads: no finding of any meshguard rule`,
  resources: [refOf(cr, namespace)],
});

/** A workload a controller of the catalog's kinds owns (a Deployment's ReplicaSet, a CronJob's Job) is judged through its owner. */
const ownedByWorkload = (o: KubeObject): boolean =>
  (o.metadata?.ownerReferences ?? []).some((r) => r.controller === true && (WORKLOAD_KINDS as readonly string[]).includes(r.kind));

/**
 * The most a report's results may take, in JSON characters. The API server refuses a
 * request body over 3 MiB and etcd a value over 1.5 MiB (their defaults), so a report past
 * that is never written and its namespace keeps the last one that fit. It happens at scale:
 * 10,000 pods of one cluster, each with an info finding, make a 6 MB report. 1 MiB leaves
 * room for the report's metadata and managedFields.
 */
export const REPORT_RESULTS_MAX_CHARS = 1024 * 1024;

/** Which results a report over the limit keeps first: what fails, then by severity; passes last. */
const KEEP_RANK: Record<ReportResultKind, number> = { fail: 0, error: 0, warn: 1, skip: 2, pass: 3 };
const SEVERITY_RANK: Record<ReportSeverity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

const omittedResult = (omitted: readonly ReportResult[], where: string): ReportResult => {
  const rules = [...new Set(omitted.map((r) => r.policy))].sort();
  return {
    source: 'meshguard',
    policy: PASS_POLICY,
    rule: 'report-size',
    category: CATEGORY,
    result: 'warn',
    severity: 'info',
    scored: false,
    message:
      `${omitted.length} more results (${rules.join(', ')}) are not listed: listing them would make this report too large ` +
      `for the API server to store (meshguard keeps a report's results under 1 MiB). The summary counts them. ` +
      `Run \`meshguard analyze\` against the cluster for every finding in ${where}.`,
    resources: [],
  };
};

/**
 * A report's content: its results in order, with a summary of all of them. Results past
 * maxChars are left out, the least severe first, and one result says how many and of
 * which rules, so the report can still be written.
 */
const content = (results: ReportResult[], where: string, maxChars = REPORT_RESULTS_MAX_CHARS): ReportContent => ({
  summary: summarizeResults(results),
  results: withinLimit(results, where, maxChars),
});

/** The results in report order, the least severe left out (and counted in one last result) past maxChars. */
const withinLimit = (results: ReportResult[], where: string, maxChars: number): ReportResult[] => {
  const sized = results.map((r) => ({ r, size: JSON.stringify(r).length + 1 }));
  if (sized.reduce((sum, x) => sum + x.size, 0) <= maxChars) return results.sort(order);
  sized.sort((a, b) => KEEP_RANK[a.r.result] - KEEP_RANK[b.r.result] || SEVERITY_RANK[a.r.severity ?? 'info'] - SEVERITY_RANK[b.r.severity ?? 'info'] || order(a.r, b.r));
  // Room for the notice itself, which names at most every rule.
  let room = maxChars - 2048;
  const kept = sized.findIndex((x) => (room -= x.size) < 0);
  return [...sized.slice(0, kept).map((x) => x.r).sort(order), omittedResult(sized.slice(kept).map((x) => x.r), where)];
};

/**
 * Every report meshguard writes, from one object index. Pods are judged as they run
 * ('live': the proxy they actually have), the way the validating webhook sees them;
 * workload templates and cluster CRs as `check` and `analyze` judge them.
 */
export const policyReports = (index: ObjectIndex, config: PolicyConfig, opts: { complete?: boolean; maxResultChars?: number } = {}): PolicyReports => {
  const profiles = config.profiles;
  const clusters = profiles.flatMap((profile) =>
    index.listClusters(profile.cluster).filter((cr) => cr.metadata?.namespace && cr.metadata?.name).map((cr) => ({ profile, cr })),
  );
  const targetNamespaces = new Set(clusters.map(({ cr }) => cr.metadata!.namespace!));
  const byNamespace = new Map<string, ReportResult[]>();
  const resultsOf = (ns: string): ReportResult[] => {
    let r = byNamespace.get(ns);
    if (!r) byNamespace.set(ns, (r = []));
    return r;
  };
  const clusterResults: ReportResult[] = [];
  /** Clusters (profile, namespace, name) with at least one finding about an object of theirs. */
  const flagged = new Set<string>();
  const clusterKey = (profile: string, ns: string, name: string) => `${profile}/${ns}/${name}`;
  /** The cluster an object belongs to: a cluster CR itself, or the target of a pod's or template's labels. */
  const clusterOf = (o: KubeObject, ns: string): string | undefined => {
    const profile = profileOfCluster(o, profiles);
    if (profile) return clusterKey(profile.name, ns, o.metadata?.name ?? '');
    const shape = podShapeOf(o);
    const target = shape && typeof shape !== 'string' ? targetOfPod(shape.meta?.labels, profiles) : undefined;
    return target ? clusterKey(target.profile.name, ns, target.clusterName) : undefined;
  };

  const judge = (o: KubeObject, ns: string) => {
    const j = judgeObject(o, ns, index, config, 'live');
    if (j.unreadable !== undefined || j.skipped || j.findings.length === 0) return;
    const ref = refOf(o, ns);
    for (const f of j.findings) resultsOf(ns).push(findingResult(f, ref));
    const cluster = clusterOf(o, ns);
    if (cluster !== undefined) flagged.add(cluster);
  };
  for (const ns of targetNamespaces) {
    resultsOf(ns);
    for (const { cr } of clusters) if (cr.metadata!.namespace === ns) judge(cr, ns);
    const seen = new Set<string>();
    for (const profile of profiles) {
      for (const pod of index.listPods(ns, profile.podLabels)) {
        const name = pod.metadata?.name;
        // Completed and terminating pods are history, not what runs (as in the status count).
        if (!name || !targetOfPod(pod.metadata?.labels, profiles) || seen.has(name) || !isCountedPod(pod)) continue;
        seen.add(name);
        judge(pod as KubeObject, ns);
      }
    }
    for (const kind of WORKLOAD_KINDS) for (const w of index.list(kind, ns)) if (!ownedByWorkload(w)) judge(w, ns);
  }

  /** The object a finding names, for its uid and its cluster (undefined when the index does not hold it). */
  const objectOf = (r: ObjectRef): KubeObject | undefined => {
    const kind = indexKindOf({ apiVersion: r.apiVersion, kind: r.kind });
    if (kind) return index.get(kind, r.namespace, r.name);
    const profile = profileOfCluster(r, profiles);
    return profile && r.namespace !== undefined ? index.getCluster(profile.cluster, r.namespace, r.name) : undefined;
  };
  // Complete unless a kind could not be listed: then "no NetworkPolicy" is not known (MG305 says nothing).
  const ctx = { config, podMode: 'live' as const, complete: opts.complete ?? true };
  for (const finding of analyzeIndex(index, ctx)) {
    const f = judgeIndexFinding(finding, index, ctx);
    const ns = f.subject.namespace;
    const involved = [f.subject, ...f.related];
    if (ns !== undefined && !involved.some((r) => r.namespace !== undefined && targetNamespaces.has(r.namespace))) continue;
    const subject = objectOf(f.subject);
    const ref = subject ? refOf(subject, ns) : { apiVersion: f.subject.apiVersion ?? '', kind: f.subject.kind, ...(ns !== undefined ? { namespace: ns } : {}), name: f.subject.name };
    (ns === undefined ? clusterResults : resultsOf(ns)).push(findingResult(f, ref));
    // A cluster is flagged by a finding its own namespace's report shows (else it would have neither a pass nor the finding there).
    for (const r of involved) {
      const o = ns !== undefined && r.namespace === ns ? objectOf(r) : undefined;
      const cluster = o ? clusterOf(o, ns!) : undefined;
      if (cluster !== undefined) flagged.add(cluster);
    }
  }

  for (const { profile, cr } of clusters) {
    const ns = cr.metadata!.namespace!;
    if (!flagged.has(clusterKey(profile.name, ns, cr.metadata!.name!))) resultsOf(ns).push(passResult(cr, ns));
  }
  const namespaces = new Map<string, ReportContent>();
  for (const [ns, results] of [...byNamespace].sort(([a], [b]) => a.localeCompare(b))) {
    if (results.length > 0) namespaces.set(ns, content(results, `namespace ${ns}`, opts.maxResultChars));
  }
  return { namespaces, ...(clusterResults.length > 0 ? { cluster: content(clusterResults, 'cluster-scoped objects', opts.maxResultChars) } : {}) };
};
