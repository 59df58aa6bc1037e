// Prometheus metrics of the webhook. One registry per server instance (not prom-client's
// global one) so that tests and the benchmark can run several servers in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdmissionOutcome, WebhookKind } from '../policies/admission.js';
import type { ViewStatus } from './managed-view.js';
import type { BodyBudgetStatus } from './request-body.js';

/** Kinds meshguard is registered for; anything else is labelled "other" (bounded label values). */
const WORKLOAD_KINDS = new Set(['Pod', 'StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob']);
const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

export interface WebhookMetrics {
  registry: Registry;
  recordAdmission(webhook: WebhookKind, outcome: AdmissionOutcome, seconds: number): void;
  recordError(webhook: WebhookKind, seconds: number): void;
  /** A request refused before admit() (unreadable body: 400, 413, 415). */
  recordRefusal(webhook: WebhookKind, status: number): void;
  recordTlsReload(ok: boolean, notAfter?: Date): void;
  /** A TLS connection accepted on the admission port: its ALPN protocol and whether it resumed a session. */
  recordConnection(protocol: string, resumed: boolean): void;
}

export interface MetricsOptions {
  /** Cluster CR kinds of the enabled profiles: also allowed as `kind` label values. */
  clusterKinds?: readonly string[];
  /** Read at scrape time for the cluster-view gauges. */
  view?: () => ViewStatus;
  /** process_* and nodejs_* metrics (off in tests that create many registries). */
  defaultMetrics?: boolean;
  /** Read at scrape time: request bodies in flight and waiting for room (server/request-body.ts). */
  bodyBudget?: () => BodyBudgetStatus;
}

/** One value per distinct list of string arguments. */
const memo = <A extends string[], R>(make: (...args: A) => R): ((...args: A) => R) => {
  const cache = new Map<string, R>();
  return (...args: A): R => {
    const key = args.join('\u0000');
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = make(...args)));
    return v;
  };
};

export function createMetrics(opts: MetricsOptions = {}): WebhookMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const knownKinds = new Set([...WORKLOAD_KINDS, ...(opts.clusterKinds ?? [])]);
  const kindLabel = (kind: string | undefined): string => (kind === undefined ? 'unknown' : knownKinds.has(kind) ? kind : 'other');
  const opLabel = (op: string | undefined): string => (op === undefined ? 'unknown' : OPERATIONS.has(op) ? op : 'other');

  const requests = new Counter({
    name: 'meshguard_admission_requests_total',
    help: 'Admission reviews answered, by webhook, object kind, operation and decision (allowed, denied, patched, skipped, invalid, error).',
    labelNames: ['webhook', 'kind', 'operation', 'decision'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'meshguard_admission_duration_seconds',
    help: 'Time from a parsed AdmissionReview to its answer, by webhook.',
    labelNames: ['webhook'] as const,
    // Admission answers are sub-millisecond when healthy; the upper buckets show trouble long before the API server's 10 s timeout.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
    registers: [registry],
  });
  const ruleHits = new Counter({
    name: 'meshguard_rule_hits_total',
    help: 'Findings reported in admission answers, by rule id and severity.',
    labelNames: ['webhook', 'rule', 'severity'] as const,
    registers: [registry],
  });
  const findingsTotal = new Counter({
    name: 'meshguard_admission_findings_total',
    help: 'Findings of admission answers, by rule id, severity and action (deny, warn, audit): what enforcement would refuse is visible before it does.',
    labelNames: ['rule', 'severity', 'action'] as const,
    registers: [registry],
  });
  const patchOps = new Counter({
    name: 'meshguard_patch_operations_total',
    help: 'RFC 6902 operations returned in mutating admission answers.',
    registers: [registry],
  });
  const ignored = new Counter({
    name: 'meshguard_ignored_objects_total',
    help: 'Objects skipped because of the meshguard.io/ignore label, by webhook, kind and where the label sits (namespace, workload, template, pod).',
    labelNames: ['webhook', 'kind', 'by'] as const,
    registers: [registry],
  });
  const tlsReloads = new Counter({
    name: 'meshguard_tls_reloads_total',
    help: 'Serving certificate (re)loads from disk, by result (success, failure).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const certExpiry = new Gauge({
    name: 'meshguard_tls_certificate_expiry_timestamp_seconds',
    help: 'notAfter of the serving certificate in use, as a Unix timestamp.',
    registers: [registry],
  });
  const connections = new Counter({
    name: 'meshguard_tls_connections_total',
    help: 'TLS connections accepted on the admission port, by ALPN protocol (h2, http/1.1, none) and whether the handshake resumed a session. A rate close to the review rate means the client opens a connection per review.',
    labelNames: ['protocol', 'resumed'] as const,
    registers: [registry],
  });
  const view = opts.view;
  new Gauge({
    name: 'meshguard_cluster_view_objects',
    help: 'Objects held in the cluster view, by resource.',
    labelNames: ['resource'] as const,
    registers: [registry],
    collect() {
      this.reset();
      if (!view) return;
      for (const [resource, count] of Object.entries(view().objects)) this.set({ resource }, count);
    },
  });
  new Gauge({
    name: 'meshguard_cluster_view_synced',
    help: 'Whether a cluster-view resource has completed its initial list (1) or not (0).',
    labelNames: ['resource'] as const,
    registers: [registry],
    collect() {
      this.reset();
      if (!view) return;
      for (const [resource, synced] of Object.entries(view().synced)) this.set({ resource }, synced ? 1 : 0);
    },
  });
  new Gauge({
    name: 'meshguard_cluster_view_resource_missing',
    help: 'Whether the custom resource definition of a cluster-view resource is not installed (1).',
    labelNames: ['resource'] as const,
    registers: [registry],
    collect() {
      this.reset();
      if (!view) return;
      for (const resource of view().missing) this.set({ resource }, 1);
    },
  });

  const bodyBudget = opts.bodyBudget;
  new Gauge({
    name: 'meshguard_admission_body_bytes_in_flight',
    help: 'Bytes of admission request bodies being read or decided now (bounded by the body budget).',
    registers: [registry],
    collect() {
      if (bodyBudget) this.set(bodyBudget().inFlightBytes);
    },
  });
  new Gauge({
    name: 'meshguard_admission_requests_waiting',
    help: 'Admission requests waiting for room in the body budget before their body is read.',
    registers: [registry],
    collect() {
      if (bodyBudget) this.set(bodyBudget().waiting);
    },
  });

  // Label values are bounded, so each combination's child is looked up once and kept:
  // prom-client hashes the label object on every inc() otherwise, several per review.
  const requestsOf = memo((webhook: string, kind: string, operation: string, decision: string) => requests.labels(webhook, kind, operation, decision));
  const durationOf = memo((webhook: string) => duration.labels(webhook));
  const ruleHitsOf = memo((webhook: string, rule: string, severity: string) => ruleHits.labels(webhook, rule, severity));
  const connectionsOf = memo((protocol: string, resumed: string) => connections.labels(protocol, resumed));
  const findingsOf = memo((rule: string, severity: string, action: string) => findingsTotal.labels(rule, severity, action));

  return {
    registry,
    recordAdmission(webhook, outcome, seconds) {
      const kind = kindLabel(outcome.request.kind);
      requestsOf(webhook, kind, opLabel(outcome.request.operation), outcome.decision).inc();
      durationOf(webhook).observe(seconds);
      for (const f of outcome.findings) {
        ruleHitsOf(webhook, f.rule, f.severity).inc();
        findingsOf(f.rule, f.severity, f.action).inc();
      }
      if (outcome.patchOps > 0) patchOps.inc(outcome.patchOps);
      if (outcome.ignoredBy) ignored.inc({ webhook, kind, by: outcome.ignoredBy });
    },
    recordError(webhook, seconds) {
      requestsOf(webhook, 'unknown', 'unknown', 'error').inc();
      durationOf(webhook).observe(seconds);
    },
    recordRefusal(webhook, status) {
      requestsOf(webhook, 'unknown', 'unknown', status >= 500 ? 'error' : 'invalid').inc();
    },
    recordConnection(protocol, resumed) {
      connectionsOf(protocol === 'h2' || protocol === 'http/1.1' ? protocol : 'none', String(resumed)).inc();
    },
    recordTlsReload(ok, notAfter) {
      tlsReloads.inc({ result: ok ? 'success' : 'failure' });
      if (ok && notAfter) certExpiry.set(notAfter.getTime() / 1000);
    },
  };
}
