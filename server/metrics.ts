// Prometheus metrics of the webhook. One registry per server instance (not prom-client's
// global one) so that tests and the benchmark can run several servers in one process.
import { createRequire } from 'node:module';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdmissionOutcome, WebhookKind } from '../policies/admission.js';
import type { ViewStatus } from './managed-view.js';
import type { BodyBudgetStatus } from './request-body.js';

/** Kinds meshguard is registered for; anything else is labelled "other" (bounded label values). */
const WORKLOAD_KINDS = new Set(['Pod', 'StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob']);
const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

const REQUEST_LABELS = ['webhook', 'kind', 'operation', 'decision'] as const;
const RULE_HIT_LABELS = ['webhook', 'rule', 'severity'] as const;
const FINDING_LABELS = ['rule', 'severity', 'action'] as const;
const IGNORED_LABELS = ['webhook', 'kind', 'by'] as const;

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

type DefaultMetric = (registry: Registry, config: { eventLoopMonitoringPrecision: number }) => void;

/**
 * The default metric the webhook leaves out: prom-client's module name for
 * nodejs_gc_duration_seconds, whose PerformanceObserver has node make a performance entry
 * in JavaScript after every collection, delivered on a later turn of the event loop. Under
 * review load the young generation is collected every ~100 reviews, and those entries (with
 * what observing them allocates) outlive the next scavenges: at half the baseline's rate
 * (bench/admission-load) 2.0 KB promoted to the old generation per MB allocated with it
 * against 0.85 without (the floor, which has no metrics: 1.0), 11% more bytes copied by
 * each scavenge and scavenge pauses 13% longer (0.68 against 0.60 ms), pauses every review
 * that arrives during one waits out. GC pauses still show where they cost: in
 * nodejs_eventloop_lag_seconds.
 */
const LEFT_OUT = 'gc';

/**
 * prom-client's process_* and nodejs_* metrics but LEFT_OUT: collectDefaultMetrics takes
 * no list, so each is registered by its own module, as collectDefaultMetrics itself does
 * (prom-client/lib/defaultMetrics.js; test/unit/server/pieces.test.ts holds the names to
 * the rest of its set).
 */
const collectRuntimeMetrics = (registry: Registry): void => {
  const require = createRequire(import.meta.url);
  for (const name of collectDefaultMetrics.metricsList) {
    if (name === LEFT_OUT) continue;
    (require(`prom-client/lib/metrics/${name}.js`) as DefaultMetric)(registry, { eventLoopMonitoringPrecision: 10 });
  }
};

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

interface TallyCell {
  labels: Record<string, string>;
  n: number;
}
type TallyLevel = Map<string, unknown>;

const below = (level: TallyLevel, value: string): TallyLevel => {
  let next = level.get(value) as TallyLevel | undefined;
  if (next === undefined) level.set(value, (next = new Map()));
  return next;
};

/**
 * The increments of a counter with three or four labels, counted per review as plain
 * numbers and added to the counter whenever it is read: a scrape, `registry.metrics()` and
 * `get()` all call its collect first, so every read shows the values an inc() per review
 * would have. prom-client builds and looks up a key string from the label set on every
 * inc() (a child's from labels() included) and checks the label names: ~5k instructions
 * per inc, several per review. Here a review's cell is reached through one Map per label
 * (no key string, no array, no label object; those are made once, for a cell's first
 * review), and series appear in the order of their first review, as before.
 */
class CounterTally {
  private readonly root: TallyLevel = new Map();
  private readonly cells: TallyCell[] = [];

  constructor(private readonly labelNames: readonly string[]) {}

  /** One more (or `by` more) for the label set a, b, c[, d], in the order of labelNames. */
  count(a: string, b: string, c: string, d = '', by = 1): void {
    const last = below(below(below(this.root, a), b), c);
    let cell = last.get(d) as TallyCell | undefined;
    if (cell === undefined) last.set(d, (cell = this.newCell([a, b, c, d])));
    cell.n += by;
  }

  /** Adds what was counted since the last read to `counter`. */
  flush(counter: Counter<string>): void {
    for (const cell of this.cells) {
      if (cell.n === 0) continue;
      counter.inc(cell.labels, cell.n);
      cell.n = 0;
    }
  }

  private newCell(values: string[]): TallyCell {
    const labels: Record<string, string> = {};
    this.labelNames.forEach((name, i) => (labels[name] = values[i]!));
    const cell = { labels, n: 0 };
    this.cells.push(cell);
    return cell;
  }
}

export function createMetrics(opts: MetricsOptions = {}): WebhookMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectRuntimeMetrics(registry);
  const knownKinds = new Set([...WORKLOAD_KINDS, ...(opts.clusterKinds ?? [])]);
  const kindLabel = (kind: string | undefined): string => (kind === undefined ? 'unknown' : knownKinds.has(kind) ? kind : 'other');
  const opLabel = (op: string | undefined): string => (op === undefined ? 'unknown' : OPERATIONS.has(op) ? op : 'other');

  // What each review counts, added to the counters when they are read (see CounterTally).
  const requestsTally = new CounterTally(REQUEST_LABELS);
  const ruleHitsTally = new CounterTally(RULE_HIT_LABELS);
  const findingsTally = new CounterTally(FINDING_LABELS);
  const ignoredTally = new CounterTally(IGNORED_LABELS);
  let pendingPatchOps = 0;

  const requests = new Counter({
    name: 'meshguard_admission_requests_total',
    help: 'Admission reviews answered, by webhook, object kind, operation and decision (allowed, denied, patched, skipped, invalid, error).',
    labelNames: REQUEST_LABELS,
    registers: [registry],
    collect() {
      requestsTally.flush(this);
    },
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
    labelNames: RULE_HIT_LABELS,
    registers: [registry],
    collect() {
      ruleHitsTally.flush(this);
    },
  });
  const findingsTotal = new Counter({
    name: 'meshguard_admission_findings_total',
    help: 'Findings of admission answers, by rule id, severity and action (deny, warn, audit): what enforcement would refuse is visible before it does.',
    labelNames: FINDING_LABELS,
    registers: [registry],
    collect() {
      findingsTally.flush(this);
    },
  });
  new Counter({
    name: 'meshguard_patch_operations_total',
    help: 'RFC 6902 operations returned in mutating admission answers.',
    registers: [registry],
    collect() {
      if (pendingPatchOps > 0) this.inc(pendingPatchOps);
      pendingPatchOps = 0;
    },
  });
  new Counter({
    name: 'meshguard_ignored_objects_total',
    help: 'Objects skipped because of the meshguard.io/ignore label, by webhook, kind and where the label sits (namespace, workload, template, pod).',
    labelNames: IGNORED_LABELS,
    registers: [registry],
    collect() {
      ignoredTally.flush(this);
    },
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

  // The histogram is observed per review (prom-client has no way to add many observations
  // at once); its child per webhook is looked up once. Label values are bounded.
  const durationOf = memo((webhook: string) => duration.labels(webhook));
  const connectionsOf = memo((protocol: string, resumed: string) => connections.labels(protocol, resumed));

  return {
    registry,
    recordAdmission(webhook, outcome, seconds) {
      const kind = kindLabel(outcome.request.kind);
      requestsTally.count(webhook, kind, opLabel(outcome.request.operation), outcome.decision);
      durationOf(webhook).observe(seconds);
      for (const f of outcome.findings) {
        ruleHitsTally.count(webhook, f.rule, f.severity);
        findingsTally.count(f.rule, f.severity, f.action);
      }
      pendingPatchOps += outcome.patchOps;
      if (outcome.ignoredBy) ignoredTally.count(webhook, kind, outcome.ignoredBy);
    },
    recordError(webhook, seconds) {
      requestsTally.count(webhook, 'unknown', 'unknown', 'error');
      durationOf(webhook).observe(seconds);
    },
    recordRefusal(webhook, status) {
      requestsTally.count(webhook, 'unknown', 'unknown', status >= 500 ? 'error' : 'invalid');
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
