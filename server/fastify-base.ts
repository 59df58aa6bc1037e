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

export const baseFastifyOptions = (logger: Logger) => ({
  loggerInstance: logger as FastifyBaseLogger,
  logController: new QuietRequests(),
  schemaController: SCHEMA_CONTROLLER,
});
