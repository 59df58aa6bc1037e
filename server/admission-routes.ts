// POST /mutate and POST /validate: parsed body -> admit() -> AdmissionReview. The policy
// core decides everything; this file only times, logs, counts and picks the HTTP status.
//
// HTTP status: the API server treats any 200 answer as the webhook's verdict, even one
// whose status.code is 500 (it would reject the object). Only a failed call (non-2xx,
// timeout) makes it apply the webhook's failurePolicy. So internal errors are answered
// with HTTP 500, still carrying an AdmissionReview that explains them.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { admit, refusal, type AdmissionOutcome, type PolicyContext, type WebhookKind } from '../policies/admission.js';
import type { AnyFastify } from './app.js';
import type { WebhookMetrics } from './metrics.js';
import { admissionBodyGate, type BodyBudget } from './request-body.js';

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
  bodyBudget: BodyBudget;
  bodyLimit: number;
}

export type LogAdmissions = 'changes' | 'all';
export const LOG_ADMISSIONS: readonly LogAdmissions[] = ['changes', 'all'];

/**
 * True when an answer patches, warns or refuses, or skips an object through the
 * meshguard.io/ignore escape hatch: what an operator reads the log for.
 */
const changesSomething = (outcome: AdmissionOutcome): boolean =>
  (outcome.decision !== 'allowed' && outcome.decision !== 'skipped') || outcome.ignoredBy !== undefined || (outcome.review.response.warnings?.length ?? 0) > 0;

/** The API server's default webhook timeout; it sends its own as `?timeout=10s`. */
const DEFAULT_TIMEOUT_SECONDS = 10;

/**
 * `?timeout=Ns` as the API server sends it (seconds, 1..30), or the default: digits then
 * "s", read digit by digit (a regular expression's match array cost ~1k instructions on
 * every review; test/unit/server/pieces.test.ts holds this to /^(\d+)s$/).
 */
export function requestTimeoutSeconds(query: unknown): number {
  const raw = (query as { timeout?: unknown } | undefined)?.timeout;
  if (typeof raw !== 'string' || raw.length < 2 || raw.charCodeAt(raw.length - 1) !== 0x73 /* s */) return DEFAULT_TIMEOUT_SECONDS;
  let n = 0;
  for (let i = 0; i < raw.length - 1; i++) {
    const digit = raw.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return DEFAULT_TIMEOUT_SECONDS;
    n = n * 10 + digit;
  }
  // Past 2^53 the sum above may round otherwise than Number() does.
  if (n > Number.MAX_SAFE_INTEGER) n = Number(raw.slice(0, -1));
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_TIMEOUT_SECONDS;
}

/** The AdmissionReview for a failure outside admit(): uid and apiVersion echoed when readable. */
export const internalErrorReview = (body: unknown, message: string): AdmissionOutcome['review'] =>
  refusal(body, 500, `meshguard internal error: ${message}`);

/** Fastify's refusals of a body, in words for the person reading the API server's log. */
const refusalMessage = (err: FastifyError): string => {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'meshguard reads AdmissionReviews sent as Content-Type application/json only';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'the request body is larger than meshguard reads (7 MiB)';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the request body is empty';
    default:
      return err.message;
  }
};

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
      logReview(opts.logger, webhook, outcome, elapsed, requestTimeoutSeconds(req.query), logAll);
      reply.code(outcome.review.response.status?.code === 500 ? 500 : 200).send(outcome.review);
    };

  // Every answer these routes give is an AdmissionReview, refusals of the body included
  // (HTTP 4xx: a client fault the API server never commits, so no failurePolicy question).
  const errorHandler = (webhook: WebhookKind) =>
    function answerRefusal(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
      const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      const message = status === 500 ? `meshguard internal error: ${err.message}` : `meshguard cannot read this request: ${refusalMessage(err)}`;
      if (status === 500) opts.logger.error({ webhook, err }, 'admission failed');
      else opts.logger.info({ webhook, statusCode: status, code: err.code }, message);
      opts.metrics.recordRefusal(webhook, status);
      reply.code(status).send(refusal(req.body, status, message));
    };
  const preParsing = admissionBodyGate(opts.bodyBudget, opts.bodyLimit);

  app.post('/mutate', { preParsing, errorHandler: errorHandler('mutate') }, handler('mutate'));
  app.post('/validate', { preParsing, errorHandler: errorHandler('validate') }, handler('validate'));
}

type Level = 'error' | 'warn' | 'info' | 'debug';

/**
 * What the log gets for one answered review: its line at the level its outcome calls for
 * (see AdmissionRouteOptions.logAdmissions), and its findings at debug. Exported for the
 * bench's floor (bench/admission-load-fastify.mjs), which must write the same line.
 */
export function logReview(logger: Logger, webhook: WebhookKind, outcome: AdmissionOutcome, elapsed: number, timeout: number, logAll: boolean): void {
  const late = elapsed > timeout / 2;
  const level: Level = outcome.decision === 'error' ? 'error' : late ? 'warn' : logAll || changesSomething(outcome) ? 'info' : 'debug';
  // The line is built only when it is written: for a no-op allow at info, not at all.
  if (logger.isLevelEnabled(level)) logAdmission(logger, level, webhook, outcome, elapsed, timeout);
  if (logger.isLevelEnabled('debug') && outcome.findings.length > 0) {
    logger.debug({ uid: outcome.review.response.uid, findings: outcome.findings.map((f) => ({ rule: f.rule, severity: f.severity, message: f.message })) }, 'admission findings');
  }
}

/** The one line per logged review: its facts, never the object. */
function logAdmission(logger: Logger, level: Level, webhook: WebhookKind, outcome: AdmissionOutcome, elapsed: number, timeout: number): void {
  const r = outcome.request;
  const response = outcome.review.response;
  // Built in one go with every key in place (no spreads): pino serializes it key by key,
  // and this runs for every logged review.
  const line: AdmissionLine = {
    uid: response.uid,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    operation: r.operation,
    webhook,
    decision: outcome.decision,
    ignoredBy: outcome.ignoredBy,
    rules: rulesOf(outcome.findings),
    patchOps: outcome.patchOps,
    durationMs: Math.round(elapsed * 1e6) / 1e3,
  };
  if (level === 'error') {
    line.message = response.status?.message;
    logger.error(line, 'admission failed');
  }
  // admit() is synchronous and in-memory: a late answer only happens when the event loop
  // is starved, and the API server is about to give up on us.
  else if (level === 'warn') {
    line.timeoutSeconds = timeout;
    logger.warn(line, 'admission answered close to the API server timeout');
  } else logger[level](line, 'admission');
}

/** The fields of the admission line; pino leaves out the undefined ones. */
interface AdmissionLine {
  uid: string;
  kind: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  operation: string | undefined;
  webhook: WebhookKind;
  decision: AdmissionOutcome['decision'];
  ignoredBy: AdmissionOutcome['ignoredBy'];
  rules: string[];
  patchOps: number;
  durationMs: number;
  message?: string | undefined;
  timeoutSeconds?: number;
}

/** The distinct rule ids of the findings, in order of first appearance. */
const rulesOf = (findings: AdmissionOutcome['findings']): string[] => [...new Set(findings.map((f) => f.rule))];
