// Fastify options every meshguard listener shares: the webhook's HTTPS app, its ops app,
// and the status syncer's ops app.
import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';

/**
 * Fastify logs two lines per request; the admission handler already writes the one line per
 * review that operators read, and probes and scrapes every few seconds would drown the log.
 * Only failures stay: a client's mistake (bad JSON, wrong content type, too large) as one
 * short line without a stack, a server error in full.
 */
export class QuietRequests extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, request: unknown, reply: unknown): void {
    if (error) super.requestCompleted(error, request as never, reply as never);
  }
  override defaultErrorLog(error: Error & { statusCode?: number; code?: string }, request: never, reply: { statusCode: number; log: FastifyBaseLogger }): void {
    if (reply.statusCode >= 500) return super.defaultErrorLog(error, request, reply as never);
    reply.log.info({ statusCode: reply.statusCode, code: error.code, url: (request as { url?: string }).url }, error.message);
  }
}

const noSchemas = (): never => {
  throw new Error('meshguard routes declare no JSON schemas: validate in the handler or the policy core');
};

/**
 * Without this, every Fastify instance loads ajv and fast-json-stringify to compile route
 * schemas, and no meshguard route has one: about 3.5 MB of resident memory per process for
 * nothing. A route that declares a schema fails at startup with the message above.
 */
const SCHEMA_CONTROLLER: FastifyServerOptions['schemaController'] = {
  compilersFactory: { buildValidator: () => noSchemas, buildSerializer: () => noSchemas },
};

const sharedOptions = () => ({ logController: new QuietRequests(), schemaController: SCHEMA_CONTROLLER });

export const baseFastifyOptions = (logger: Logger) => ({ loggerInstance: logger as FastifyBaseLogger, ...sharedOptions() });

/**
 * The same, for the admission app, where every review pays for what Fastify does per
 * request once it "has a logger": a 'finish' and an 'error' listener on every response,
 * only so that a completed request can be logged (which QuietRequests does not, unless its
 * response failed). Given no logger instance, Fastify skips them; `request.log` and
 * `reply.log` are still `logger` through the child logger factory (no per-request child:
 * the admission line carries the review's uid, which is what the API server logs too), so
 * every line QuietRequests and the error handlers write is unchanged. What goes is only
 * Fastify's own instance-level output: its "Server listening at" line (meshguard writes
 * its own with more facts) and a response stream failing after its headers were sent.
 */
export const requestPathFastifyOptions = (logger: Logger) => ({
  ...sharedOptions(),
  childLoggerFactory: (): FastifyBaseLogger => logger as FastifyBaseLogger,
});
