// The two Fastify apps: the HTTPS admission app the API server calls, and the plain-HTTP
// ops app (metrics and probes) for Prometheus and the kubelet.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerBase } from 'fastify';
import type { Server as HttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { baseFastifyOptions, requestPathFastifyOptions } from './fastify-base.js';
import { registerAdmissionRoutes, type AdmissionRouteOptions } from './admission-routes.js';
import type { WebhookMetrics } from './metrics.js';
import { parseJsonBody } from './request-body.js';
import { secureContextOptions, type TlsMaterial } from './tls-reloader.js';

/** Kubernetes caps objects at ~1.5 MiB in etcd, but an AdmissionReview carries object and oldObject, JSON-escaped. */
export const BODY_LIMIT_BYTES = 7 * 1024 * 1024;

/**
 * Longer than the idle timeout of the API server's client (Go's 90 s), so that the client,
 * not us, closes an idle keep-alive connection: a server-side close racing a new request on
 * that connection would fail the request and trigger the failurePolicy.
 */
const KEEP_ALIVE_TIMEOUT_MS = 100_000;

/**
 * No webhook call may take longer than 30 s (the API server's maximum timeout): a request
 * whose body has not arrived by then (a client that sends a never-ending body) gets 408.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A client that connects but never completes the TLS handshake is dropped after this
 * (Node's default is 120 s). The API server's handshake with a reachable webhook takes
 * milliseconds.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * How often Node looks for requests past their timeout: the timeout above is only as
 * precise as this (Node's default of 30 s let a 30 s timeout hold a connection for a minute).
 */
const CONNECTIONS_CHECK_MS = 1_000;

export interface Readiness {
  /** undefined when ready, else why not (shown on /readyz). */
  notReadyReason(): string | undefined;
}

export interface AdmissionAppOptions extends Omit<AdmissionRouteOptions, 'bodyLimit'> {
  tls: TlsMaterial;
  /** Require client certificates signed by the CA bundle in `tls.clientCa`. */
  clientAuth: boolean;
  readiness: Readiness;
  /** Defaults REQUEST_TIMEOUT_MS and HANDSHAKE_TIMEOUT_MS; tests make them short. */
  requestTimeoutMs?: number;
  handshakeTimeoutMs?: number;
}

export type AnyFastify = FastifyInstance<RawServerBase, any, any, FastifyBaseLogger>;

const addProbes = (app: AnyFastify, readiness: Readiness): void => {
  app.get('/healthz', async () => 'ok\n');
  app.get('/readyz', async (_req, reply) => {
    const reason = readiness.notReadyReason();
    if (reason !== undefined) return reply.code(503).send(`not ready: ${reason}\n`);
    return 'ok\n';
  });
};

export function buildAdmissionApp(opts: AdmissionAppOptions): FastifyInstance<HttpsServer> {
  const app = Fastify({
    https: {
      ...secureContextOptions(opts.tls),
      // With a client CA, an unauthenticated peer is refused during the handshake, before any HTTP.
      requestCert: opts.clientAuth,
      rejectUnauthorized: opts.clientAuth,
      handshakeTimeout: opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(CONNECTIONS_CHECK_MS, opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS),
      // Headers arrive first; they get the same bound as the whole request.
      headersTimeout: opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    },
    ...requestPathFastifyOptions(opts.logger),
    bodyLimit: BODY_LIMIT_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    return503OnClosing: true,
  }) as unknown as FastifyInstance<HttpsServer>;

  // AdmissionReviews are JSON, and only JSON is read: Fastify answers 415 for a type it has
  // no parser for and 413 over the body limit. Fastify's own JSON parser refuses bodies with
  // __proto__ or constructor.prototype keys with its own 400; this one reads them as the
  // data they are (see parseJsonBody), so every answer can be an AdmissionReview.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // While draining, responses ask keep-alive clients to close: see askClientsToClose.

  addProbes(app, opts.readiness);
  registerAdmissionRoutes(app as unknown as AnyFastify, { ...opts, bodyLimit: BODY_LIMIT_BYTES });
  return app;
}

/**
 * From now on every response of `server` carries `Connection: close`, so that keep-alive
 * clients (the API server) reconnect and reach a pod that stays. A listener put before
 * Fastify's at the start of the drain, rather than an onSend hook that asks on every
 * response whether shutdown began, a question whose answer is "no" until the pod goes
 * away. (With the child-logger factory, about 5-8k instructions per /validate review in
 * quiet callgrind runs, about 1%; the larger figures first measured were load noise.)
 * Node merges a header set here into the status line Fastify writes, whatever the route.
 * A request whose headers came before the drain began is answered without it; the next one
 * on that connection carries it.
 */
export function askClientsToClose(server: HttpsServer): void {
  server.prependListener('request', (_req, res) => res.setHeader('connection', 'close'));
}

export interface OpsAppOptions {
  metrics: WebhookMetrics;
  readiness: Readiness;
  logger: Logger;
}

/**
 * /metrics plus the probes again: with --client-ca the HTTPS port refuses the kubelet
 * (whose probes carry no client certificate), so the probes are reachable here too.
 */
export function buildOpsApp(opts: OpsAppOptions): FastifyInstance {
  const app = Fastify(baseFastifyOptions(opts.logger));
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
  addProbes(app, opts.readiness);
  return app;
}
