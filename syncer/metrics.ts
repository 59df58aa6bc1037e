// Prometheus metrics of the status syncer and its plain-HTTP listener (/metrics, /healthz,
// /readyz). Its own registry, so tests can run several syncers in one process.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { baseFastifyOptions } from '../server/fastify-base.js';

export type ReconcileOutcome = 'written' | 'unchanged' | 'gone' | 'error';

export interface SyncerMetrics {
  registry: Registry;
  statusWrites: Counter;
  conflicts: Counter;
  events: Counter<'reason'>;
  reconciles: Counter<'outcome'>;
  leader: Gauge;
  lastSync: Gauge;
  reportWrites: Counter<'kind' | 'outcome'>;
  reportCrd: Gauge<'kind'>;
}

export function createSyncerMetrics(opts: { defaultMetrics?: boolean } = {}): SyncerMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    statusWrites: new Counter({
      name: 'meshguard_syncer_status_writes_total',
      help: 'Successful writes of a cluster status (PATCH of the /status subresource).',
      registers,
    }),
    conflicts: new Counter({
      name: 'meshguard_syncer_status_conflicts_total',
      help: 'Status writes refused with 409 Conflict (the cluster changed since it was read; re-read and retried).',
      registers,
    }),
    events: new Counter({
      name: 'meshguard_syncer_events_total',
      help: 'Kubernetes Events created, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    reconciles: new Counter({
      name: 'meshguard_syncer_reconciles_total',
      help: 'Cluster status reconciliations, by outcome (written, unchanged, gone, error).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    leader: new Gauge({
      name: 'meshguard_syncer_leader',
      help: '1 while this replica is the leader (the one that writes status), else 0. Always 1 without --leader-elect.',
      registers,
    }),
    lastSync: new Gauge({
      name: 'meshguard_syncer_last_sync_timestamp_seconds',
      help: 'When a cluster status was last reconciled successfully (written or found up to date), as a Unix timestamp.',
      registers,
    }),
    reportWrites: new Counter({
      name: 'meshguard_syncer_policy_reports_total',
      help: 'Report reconciliations, by kind (PolicyReport of a namespace, ClusterPolicyReport) and outcome (created, updated, unchanged, deleted, absent, crd-missing, error).',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    reportCrd: new Gauge({
      name: 'meshguard_syncer_policy_report_crd_installed',
      help: '1 while the wgpolicyk8s.io/v1alpha2 CRD of a report kind (PolicyReport, ClusterPolicyReport) is installed (reports of that kind are written), 0 while it is not (looked for again periodically).',
      labelNames: ['kind'] as const,
      registers,
    }),
  };
}

export interface OpsOptions {
  metrics: SyncerMetrics;
  logger: Logger;
  /** undefined when ready, else why not. */
  notReadyReason(): string | undefined;
}

export function buildSyncerOpsApp(opts: OpsOptions): FastifyInstance {
  const app = Fastify(baseFastifyOptions(opts.logger));
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
  // Alive while the event loop answers; leadership and API-server reachability are not
  // liveness: restarting a follower, or every replica during an outage, fixes nothing.
  app.get('/healthz', async () => 'ok\n');
  app.get('/readyz', async (_req, reply) => {
    const reason = opts.notReadyReason();
    if (reason === undefined) return 'ok\n';
    reply.code(503);
    return `not ready: ${reason}\n`;
  });
  return app;
}
