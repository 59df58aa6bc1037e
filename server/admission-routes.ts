// POST /mutate and POST /validate: parsed body -> admit() -> AdmissionReview. The policy
// core decides everything; this file only times, logs, counts and picks the HTTP status.
//
// HTTP status: the API server treats any 200 answer as the webhook's verdict, even one
// whose status.code is 500 (it would reject the object). Only a failed call (non-2xx,
// timeout) makes it apply the webhook's failurePolicy. So internal errors are answered
// with HTTP 500, still carrying an AdmissionReview that explains them.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { admit, type AdmissionOutcome, type PolicyContext, type WebhookKind } from '../policies/admission.js';
import type { AnyFastify } from './app.js';
import type { WebhookMetrics } from './metrics.js';

export interface AdmissionRouteOptions {
  /** The policy inputs of the moment (the view object stays the same; its contents move). */
  context(): PolicyContext;
  metrics: WebhookMetrics;
  logger: Logger;
  /** The seam tests use to make admit() throw; production passes the real one. */
  admitFn?: typeof admit;
  /**
   * 'changes' (the default): only admissions that patch, warn about or refuse something are
   * logged at info; an allow that changes nothing is logged at debug. 'all': every admission
   * at info. Most reviews of a cluster are no-op allows (every pod of every namespace the
   * webhook selects), and their lines cost CPU on every call and drown the ones that matter.
   */
  logAdmissions?: LogAdmissions;
}

export type LogAdmissions = 'changes' | 'all';
export const LOG_ADMISSIONS: readonly LogAdmissions[] = ['changes', 'all'];

/** True when an answer patches, warns or refuses: what an operator reads the log for. */
const changesSomething = (outcome: AdmissionOutcome): boolean =>
  outcome.decision !== 'allowed' && outcome.decision !== 'skipped' ? true : (outcome.review.response.warnings?.length ?? 0) > 0;

/** The API server's default webhook timeout; it sends its own as `?timeout=10s`. */
const DEFAULT_TIMEOUT_SECONDS = 10;

/** `?timeout=Ns` as the API server sends it (seconds, 1..30), or the default. */
export function requestTimeoutSeconds(query: unknown): number {
  const raw = (query as { timeout?: unknown } | undefined)?.timeout;
  const m = typeof raw === 'string' ? /^(\d+)s$/.exec(raw) : null;
  const n = m ? Number(m[1]) : NaN;
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_TIMEOUT_SECONDS;
}

type ReviewVersion = AdmissionOutcome['review']['apiVersion'];

/** The AdmissionReview for a failure outside admit(): uid and apiVersion echoed when readable. */
export function internalErrorReview(body: unknown, message: string): AdmissionOutcome['review'] {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { apiVersion?: unknown; request?: { uid?: unknown } };
  const apiVersion: ReviewVersion = b.apiVersion === 'admission.k8s.io/v1beta1' ? 'admission.k8s.io/v1beta1' : 'admission.k8s.io/v1';
  const uid = typeof b.request?.uid === 'string' ? b.request.uid : '';
  return {
    apiVersion,
    kind: 'AdmissionReview',
    response: { uid, allowed: false, status: { code: 500, message: `meshguard internal error: ${message}`, reason: 'InternalError' } },
  };
}

export function registerAdmissionRoutes(app: AnyFastify, opts: AdmissionRouteOptions): void {
  const admitFn = opts.admitFn ?? admit;
  const logAll = opts.logAdmissions === 'all';
  const handler = (webhook: WebhookKind) =>
    function handleAdmission(req: FastifyRequest, reply: FastifyReply): void {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      let outcome: AdmissionOutcome;
      try {
        outcome = admitFn(req.body, webhook, opts.context());
      } catch (err) {
        // admit() answers its own errors; this is the last net so that nothing reaches the
        // client as a dropped connection.
        const message = err instanceof Error ? err.message : String(err);
        opts.metrics.recordError(webhook, seconds());
        opts.logger.error({ webhook, err }, 'admission failed');
        reply.code(500).send(internalErrorReview(req.body, message));
        return;
      }
      const elapsed = seconds();
      opts.metrics.recordAdmission(webhook, outcome, elapsed);
      const response = outcome.review.response;
      const timeout = requestTimeoutSeconds(req.query);
      const late = elapsed > timeout / 2;
      const level: Level = outcome.decision === 'error' ? 'error' : late ? 'warn' : logAll || changesSomething(outcome) ? 'info' : 'debug';
      // The line is built only when it is written: for a no-op allow at info, not at all.
      if (opts.logger.isLevelEnabled(level)) logAdmission(opts.logger, level, webhook, outcome, elapsed, timeout);
      if (opts.logger.isLevelEnabled('debug') && outcome.findings.length > 0) {
        opts.logger.debug({ uid: response.uid, findings: outcome.findings.map((f) => ({ rule: f.rule, severity: f.severity, message: f.message })) }, 'admission findings');
      }
      reply.code(response.status?.code === 500 ? 500 : 200).send(outcome.review);
    };

  app.post('/mutate', handler('mutate'));
  app.post('/validate', handler('validate'));
}

type Level = 'error' | 'warn' | 'info' | 'debug';

/** The one line per logged review: its facts, never the object. */
function logAdmission(logger: Logger, level: Level, webhook: WebhookKind, outcome: AdmissionOutcome, elapsed: number, timeout: number): void {
  const r = outcome.request;
  const response = outcome.review.response;
  const line = {
    uid: response.uid,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    operation: r.operation,
    webhook,
    decision: outcome.decision,
    rules: [...new Set(outcome.findings.map((f) => f.rule))],
    patchOps: outcome.patchOps,
    durationMs: Math.round(elapsed * 1e6) / 1e3,
  };
  if (level === 'error') logger.error({ ...line, message: response.status?.message }, 'admission failed');
  // admit() is synchronous and in-memory: a late answer only happens when the event loop
  // is starved, and the API server is about to give up on us.
  else if (level === 'warn') logger.warn({ ...line, timeoutSeconds: timeout }, 'admission answered close to the API server timeout');
  else logger[level](line, 'admission');
}
