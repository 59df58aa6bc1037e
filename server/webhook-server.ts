// Puts the pieces together: TLS material and its reloader, the cluster view, the two apps,
// readiness and the shutdown sequence. `meshguard serve` and the tests start servers here.
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { admit } from '../policies/admission.js';
import type { PolicyConfig } from '../policies/config.js';
import type { LogAdmissions } from './admission-routes.js';
import { askClientsToClose, BODY_LIMIT_BYTES, buildAdmissionApp, buildOpsApp, type Readiness } from './app.js';
import { BodyBudget } from './request-body.js';
import type { ManagedClusterView } from './managed-view.js';
import { createMetrics, type WebhookMetrics } from './metrics.js';
import { ShutdownController, type ShutdownResult } from './shutdown.js';
import { readTlsMaterial, TlsReloader, type TlsFiles } from './tls-reloader.js';

export interface WebhookServerOptions {
  host: string;
  port: number;
  /** Host of the metrics/probe listener (defaults to `host`); port null turns it off. */
  metricsHost?: string;
  metricsPort: number | null;
  tls: TlsFiles;
  certPollMs: number;
  view: ManagedClusterView;
  config: PolicyConfig;
  logger: Logger;
  shutdownGraceMs: number;
  drainDelayMs: number;
  /** Test seam; production uses the policy core's admit(). */
  admitFn?: typeof admit;
  /** Which admissions are logged at info (see AdmissionRouteOptions); default 'changes'. */
  logAdmissions?: LogAdmissions;
  /** process_* metrics (a process has one set; tests with many servers turn them off). */
  defaultMetrics?: boolean;
  /** Bytes of request bodies in flight at once; default BODY_BUDGET_BYTES. */
  bodyBudgetBytes?: number;
  /** Defaults in server/app.ts; tests make them short. */
  requestTimeoutMs?: number;
  handshakeTimeoutMs?: number;
}

/**
 * Room for one body of the maximum size at a time, or hundreds of ordinary reviews at once
 * (the API server's are a few KB). A body of N bytes of tiny JSON values costs many times N
 * of heap while it is parsed and checked (the fuzz tier's worst case), so large bodies are
 * taken one at a time; see docs/operations.md for the measured peak.
 */
export const BODY_BUDGET_BYTES = BODY_LIMIT_BYTES;

export interface WebhookServer {
  port: number;
  metricsPort: number | null;
  metrics: WebhookMetrics;
  reloader: TlsReloader;
  readiness: Readiness;
  shutdown(reason: string): Promise<ShutdownResult>;
}

const portOf = (app: FastifyInstance): number => (app.server.address() as AddressInfo).port;

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const { logger, view } = opts;
  const initial = await readTlsMaterial(opts.tls);
  const bodyBudget = new BodyBudget(opts.bodyBudgetBytes ?? BODY_BUDGET_BYTES);
  const metrics = createMetrics({
    bodyBudget: () => bodyBudget.status(),
    clusterKinds: opts.config.profiles.map((p) => p.cluster.kind),
    view: () => view.status(),
    defaultMetrics: opts.defaultMetrics,
  });
  metrics.recordTlsReload(true, initial.notAfter);

  let shutdown: ShutdownController | undefined;
  const readiness: Readiness = {
    notReadyReason() {
      if (shutdown?.draining) return 'shutting down';
      if (!view.synced) {
        const pending = Object.entries(view.status().synced).filter(([, s]) => !s).map(([r]) => r);
        return `cluster view not synced yet (waiting for ${pending.join(', ') || 'informers'})`;
      }
      return undefined;
    },
  };

  const admissionLogger = logger.child({ component: 'admission' });
  const app = buildAdmissionApp({
    tls: initial,
    clientAuth: opts.tls.clientCa !== undefined,
    readiness,
    metrics,
    bodyBudget,
    ...(opts.requestTimeoutMs !== undefined ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    ...(opts.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: opts.handshakeTimeoutMs } : {}),
    logger: admissionLogger,
    context: () => {
      // The analysed kinds are watched only with analysis.admissionWarnings on (see InformerClusterView).
      const analysis = opts.config.analysis?.admissionWarnings ? view.analysis?.() : undefined;
      return analysis ? { view, config: opts.config, analysis } : { view, config: opts.config };
    },
    ...(opts.admitFn ? { admitFn: opts.admitFn } : {}),
    ...(opts.logAdmissions ? { logAdmissions: opts.logAdmissions } : {}),
  });
  const ops = opts.metricsPort === null ? undefined : buildOpsApp({ metrics, readiness, logger: logger.child({ component: 'ops' }) });

  const reloader = new TlsReloader({
    files: opts.tls,
    initial,
    apply: (ctx) => app.server.setSecureContext(ctx),
    pollIntervalMs: opts.certPollMs,
    logger: logger.child({ component: 'tls' }),
    onReload: (ok, m) => metrics.recordTlsReload(ok, m?.notAfter),
  });

  // The view syncs in the background; /readyz stays false until it has. Admission never
  // waits for it: an answer from a partial view beats an API server timeout.
  await view.start();
  // Whether the API server reuses its connections (and in which protocol) shows here.
  app.server.on('secureConnection', (socket: TLSSocket) => metrics.recordConnection(socket.alpnProtocol || 'none', socket.isSessionReused()));
  await app.listen({ host: opts.host, port: opts.port });
  if (ops) await ops.listen({ host: opts.metricsHost ?? opts.host, port: opts.metricsPort ?? 0 });
  reloader.start();

  shutdown = new ShutdownController({
    graceMs: opts.shutdownGraceMs,
    drainDelayMs: opts.drainDelayMs,
    logger,
    onDrain: () => askClientsToClose(app.server),
    steps: [
      { name: 'admission listener', run: () => app.close() },
      { name: 'certificate reloader', run: async () => reloader.stop() },
      { name: 'cluster view', run: () => view.stop() },
      // Last, so /readyz keeps answering "shutting down" while reviews finish.
      { name: 'metrics listener', run: async () => void (await ops?.close()) },
    ],
  });

  const server: WebhookServer = {
    port: portOf(app),
    metricsPort: ops ? portOf(ops) : null,
    metrics,
    reloader,
    readiness,
    shutdown: (reason) => shutdown!.shutdown(reason),
  };
  logger.info(
    { host: opts.host, port: server.port, metricsPort: server.metricsPort, clientAuth: opts.tls.clientCa !== undefined, serial: initial.serial },
    'meshguard webhook listening',
  );
  return server;
}

