// AdmissionReview in, AdmissionReview out: the one function both the server and
// `meshguard review` call, so a pipeline sees exactly what the cluster would decide.
import { analysedKindOf, writeFindings } from './admission-analysis.js';
import type { ClusterView } from './cluster-view.js';
import type { PolicyConfig } from './config.js';
import { enforcementLabelProblem, judge, type JudgedFinding } from './enforcement.js';
import { formatPath, RULES, type Finding } from './findings.js';
import { INDEX_KINDS } from './index/kinds.js';
import type { ObjectIndex } from './index/object-index.js';
import type { KubeObject } from './k8s.js';
import { copyForWriting, isPlainObject } from './k8s.js';
import { findingsOf, mutateObject, validateObject, type IgnoredBy, type ObjectDecision } from './review.js';

export type WebhookKind = 'mutate' | 'validate';

export interface AdmissionResponseBody {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  patchType?: 'JSONPatch';
  /** base64 of the RFC 6902 patch */
  patch?: string;
  warnings?: string[];
  /** Recorded by the API server in its audit log, each key prefixed with the webhook's name. */
  auditAnnotations?: Record<string, string>;
}

export type ReviewApiVersion = 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';

export interface AdmissionReviewOut {
  apiVersion: ReviewApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponseBody;
}

export type AdmissionDecision = 'allowed' | 'denied' | 'patched' | 'skipped' | 'invalid' | 'error';

/** What the shell needs for logs and metrics, besides the review itself. */
export interface AdmissionOutcome {
  review: AdmissionReviewOut;
  /** Every finding of the answer with its action (deny, warn, audit), whatever was returned. */
  findings: JudgedFinding[];
  /** Number of RFC 6902 operations in the patch (0 when none). */
  patchOps: number;
  /** Facts about the request for logs/metrics; absent fields were not readable. */
  request: { uid?: string; kind?: string; namespace?: string; name?: string; operation?: string; dryRun?: boolean };
  decision: AdmissionDecision;
  /** Set when a meshguard.io/ignore label made meshguard skip the object: where that label sits. */
  ignoredBy?: IgnoredBy;
}

export interface PolicyContext {
  view: ClusterView;
  config: PolicyConfig;
  /**
   * The object index the cross-object rules read at apply time (`analysis.admissionWarnings`):
   * present once the backing holds the analysed kinds. `complete`: it holds everything
   * the cluster holds (the webhook's informers), not only what a run was given.
   */
  analysis?: { index: ObjectIndex; complete: boolean };
}

/** Kubernetes shows warnings inline; long ones are cut so `kubectl` output stays readable. */
export const MAX_WARNING_LENGTH = 120;

const API_VERSIONS: readonly string[] = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

// --- response helpers, in the manner of controller-runtime's admission package ---

const reply = (apiVersion: ReviewApiVersion, response: AdmissionResponseBody): AdmissionReviewOut => ({
  apiVersion,
  kind: 'AdmissionReview',
  response,
});

// The answers are built key by key, in the order the API server has always been sent them
// (uid, allowed, status, warnings, patchType, patch, auditAnnotations), without spreading
// one object into the next: every review builds one, and the copies showed in its profile.

export const allowed = (uid: string, warnings: string[] = []): AdmissionResponseBody => {
  const r: AdmissionResponseBody = { uid, allowed: true };
  if (warnings.length > 0) r.warnings = warnings;
  return r;
};

export const denied = (uid: string, code: number, message: string, warnings: string[] = []): AdmissionResponseBody => {
  const r: AdmissionResponseBody = {
    uid,
    allowed: false,
    status: { code, message, reason: code === 403 ? 'Forbidden' : code === 400 ? 'BadRequest' : 'InternalError' },
  };
  if (warnings.length > 0) r.warnings = warnings;
  return r;
};

/**
 * base64 of the UTF-8 of `text`. Patches are nearly always ASCII, where btoa (Latin-1) gives
 * the same bytes without going through a Buffer; a non-ASCII character makes the UTF-8
 * byte count exceed the length, and then the Buffer encodes it.
 */
export const base64Utf8 = (text: string): string => (Buffer.byteLength(text) === text.length ? btoa(text) : Buffer.from(text).toString('base64'));

export const patched = (uid: string, patch: readonly unknown[], warnings: string[] = []): AdmissionResponseBody => {
  const r = allowed(uid, warnings);
  if (patch.length === 0) return r;
  r.patchType = 'JSONPatch';
  r.patch = base64Utf8(JSON.stringify(patch));
  return r;
};

/** The auditAnnotations key holding the findings (the API server prefixes it with the webhook name). */
export const FINDINGS_AUDIT_KEY = 'findings';

/**
 * The findings of an answer for the API server's audit log, in every mode: an audited
 * finding is recorded there even though the answer says nothing of it.
 */
const withAudit = (response: AdmissionResponseBody, findings: readonly JudgedFinding[]): AdmissionResponseBody => {
  if (findings.length > 0) response.auditAnnotations = { [FINDINGS_AUDIT_KEY]: auditJson(findings) };
  return response;
};

/** The audit annotation's value: each finding's rule, severity, action, message and path, as JSON. */
export const auditJson = (findings: readonly JudgedFinding[]): string => {
  const records = new Array<{ rule: string; severity: string; action: string; message: string; path: string }>(findings.length);
  for (let i = 0; i < findings.length; i++) {
    const f = findings[i]!;
    records[i] = { rule: f.rule, severity: f.severity, action: f.action, message: f.message, path: formatPath(f.path) };
  }
  return JSON.stringify(records);
};

const clip = (text: string): string => (text.length <= MAX_WARNING_LENGTH ? text : `${text.slice(0, MAX_WARNING_LENGTH - 1)}…`);

export const toWarning = (f: Finding): string => clip(`${f.rule}: ${f.summary ?? f.message}`);

const denialMessage = (errors: readonly Finding[]): string => {
  let out = 'meshguard: ';
  for (let i = 0; i < errors.length; i++) {
    const f = errors[i]!;
    out += `${i > 0 ? ' ' : ''}[${f.rule}] ${f.message}${f.path.length > 1 ? ` (field ${formatPath(f.path)})` : ''}`;
  }
  return out;
};

// --- reading the request ---

interface ParsedRequest {
  apiVersion: ReviewApiVersion;
  uid: string;
  operation: string;
  namespace: string;
  name?: string;
  kind?: string;
  subResource?: string;
  dryRun: boolean;
  object?: KubeObject;
  oldObject?: KubeObject;
}

/** Longest quote of a request value in a message: an answer must not echo megabytes back. */
const MAX_QUOTE_LENGTH = 100;

/**
 * Any value for a message, cut to MAX_QUOTE_LENGTH; unlike String() it cannot throw
 * (prototype-less objects, cycles, BigInt, nesting deeper than the stack).
 */
const text = (v: unknown): string => {
  let s: string;
  if (typeof v === 'string') s = v;
  else {
    try {
      s = JSON.stringify(v) ?? typeof v;
    } catch {
      s = typeof v;
    }
  }
  return s.length <= MAX_QUOTE_LENGTH ? s : `${s.slice(0, MAX_QUOTE_LENGTH - 1)}…`;
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Deepest nesting of objects and arrays meshguard reads, counted from the AdmissionReview
 * itself (a Pod's container env is at about 8, a CronJob's at about 12). Deeper values
 * would overflow the stack of the recursive steps (the patch diff, serialization) and turn
 * a client's fault into a server error; no object meshguard judges comes near it.
 */
export const MAX_NESTING_DEPTH = 100;

/**
 * True when `root` nests objects/arrays deeper than `max`. Recursive, but never more than
 * `max` calls deep whatever the input's depth, so any value is safe to ask about. It runs
 * on every review's whole body: reading each object's keys in place, instead of building
 * an array of its values, keeps it from allocating anything (a tenth of the decision's
 * time went to this walk and its garbage).
 */
export const nestsDeeperThan = (root: unknown, max: number): boolean => root !== null && typeof root === 'object' && deeper(root, 1, max);

/** Whether a child of `v` (at `depth`) is an object or array and `depth` is already `max`, or one nests deeper below. */
const deeper = (v: object, depth: number, max: number): boolean => {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const c: unknown = v[i];
      if (c !== null && typeof c === 'object' && (depth >= max || deeper(c, depth + 1, max))) return true;
    }
    return false;
  }
  // JSON.parse makes plain objects with own enumerable keys only (a "__proto__" key among
  // them, as data): for...in sees exactly Object.values()'s keys here.
  for (const k in v) {
    const c: unknown = (v as Record<string, unknown>)[k];
    if (c !== null && typeof c === 'object' && (depth >= max || deeper(c, depth + 1, max))) return true;
  }
  return false;
};

/** The apiVersion and uid of a review as far as they can be read: answers echo both even when the rest is unusable. */
const envelopeOf = (input: unknown): { apiVersion: ReviewApiVersion; uid: string } => {
  const review = isPlainObject(input) ? input : undefined;
  const request = isPlainObject(review?.request) ? review.request : undefined;
  return {
    apiVersion: review?.apiVersion === 'admission.k8s.io/v1beta1' ? 'admission.k8s.io/v1beta1' : 'admission.k8s.io/v1',
    uid: str(request?.uid) ?? '',
  };
};

/**
 * The AdmissionReview that refuses `input` (any value, even one that is not a review) with
 * `code`: apiVersion and uid echoed where they can be read. For answers outside admit()
 * too: transport refusals (400, 413, 415) and internal errors (500).
 */
export const refusal = (input: unknown, code: number, message: string): AdmissionReviewOut => {
  const { apiVersion, uid } = envelopeOf(input);
  return reply(apiVersion, denied(uid, code, message));
};

const parse = (input: unknown): ParsedRequest | { apiVersion: ReviewApiVersion; uid: string; error: string } => {
  const { apiVersion, uid: readableUid } = envelopeOf(input);
  const fail = (error: string) => ({ apiVersion, uid: readableUid, error });
  if (!isPlainObject(input)) return fail('the body is not an AdmissionReview object');
  if (nestsDeeperThan(input, MAX_NESTING_DEPTH)) return fail(`it is nested deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays`);
  if (input.kind !== 'AdmissionReview' || typeof input.apiVersion !== 'string' || !API_VERSIONS.includes(input.apiVersion))
    return fail(`expected kind AdmissionReview of admission.k8s.io/v1 or v1beta1, got ${text(input.kind)} ${text(input.apiVersion)}`);
  const req = input.request;
  if (!isPlainObject(req)) return fail('the AdmissionReview has no request');
  const uid = str(req.uid);
  if (!uid) return fail('request.uid is missing');
  const operation = str(req.operation);
  if (!operation) return fail('request.operation is missing');
  const object = req.object ?? undefined;
  const oldObject = req.oldObject ?? undefined;
  if (object !== undefined && object !== null && !isPlainObject(object)) return fail('request.object is not an object');
  if (oldObject !== undefined && oldObject !== null && !isPlainObject(oldObject)) return fail('request.oldObject is not an object');
  const kindInfo = isPlainObject(req.kind) ? req.kind : {};
  const withTypeMeta = (o: unknown): KubeObject | undefined => {
    if (!isPlainObject(o)) return undefined;
    const group = str(kindInfo.group);
    const version = str(kindInfo.version);
    const typed = copyForWriting(o) as KubeObject;
    typed.apiVersion = str(o.apiVersion) ?? (version ? (group ? `${group}/${version}` : version) : undefined);
    typed.kind = str(o.kind) ?? str(kindInfo.kind);
    return typed;
  };
  const obj = withTypeMeta(object);
  return {
    apiVersion,
    uid,
    operation,
    namespace: str(req.namespace) ?? str(obj?.metadata?.namespace) ?? 'default',
    name: str(req.name) ?? str(obj?.metadata?.name),
    kind: str(kindInfo.kind) ?? obj?.kind,
    subResource: str(req.subResource),
    dryRun: req.dryRun === true,
    object: obj,
    oldObject: withTypeMeta(oldObject),
  };
};

// --- the decision ---

const decide = (req: ParsedRequest, webhook: WebhookKind, ctx: PolicyContext, request: AdmissionOutcome['request']): AdmissionOutcome => {
  const out = (response: AdmissionResponseBody, decision: AdmissionDecision, findings: JudgedFinding[] = [], patchOps = 0, ignoredBy?: IgnoredBy): AdmissionOutcome => {
    // Keys in the order admit() has always given them (ignoredBy, when set, before request).
    if (!ignoredBy) return { review: reply(req.apiVersion, withAudit(response, findings)), findings, patchOps, decision, request };
    return { review: reply(req.apiVersion, withAudit(response, findings)), findings, patchOps, decision, ignoredBy, request };
  };
  // Deletes, connects and subresources (status, scale) cannot change the mesh state of a pod.
  if ((req.operation !== 'CREATE' && req.operation !== 'UPDATE') || req.subResource) return out(allowed(req.uid), 'skipped');
  if (!req.object) return out(denied(req.uid, 400, `meshguard cannot review ${req.operation} without request.object`), 'invalid');
  const obj = req.object;
  const notJudged = (d: Exclude<ObjectDecision, { type: 'judged' }>) =>
    d.type === 'skipped'
      ? out(allowed(req.uid), 'skipped', [], 0, d.reason === 'ignored' ? d.by : undefined)
      : out(denied(req.uid, 400, `meshguard cannot read ${req.kind ?? 'object'} ${req.namespace}/${req.name ?? ''}: ${d.why}`), 'invalid');
  if (webhook === 'validate' && ctx.config.analysis?.admissionWarnings) {
    const kind = analysedKindOf(obj);
    if (kind) {
      // Before the index has synced the analysed kinds, nothing is said: a finding judged on a
      // partial index could be wrong, and these writes are never refused anyway.
      if (!ctx.analysis) return out(allowed(req.uid), 'skipped');
      const place = (o: KubeObject): KubeObject =>
        !INDEX_KINDS[kind].namespaced || o.metadata?.namespace ? o : { ...o, metadata: { ...o.metadata, namespace: req.namespace } };
      const findings = writeFindings(place(obj), req.oldObject && place(req.oldObject), ctx.analysis.index, {
        config: ctx.config,
        podMode: 'live',
        complete: ctx.analysis.complete,
      });
      return out(allowed(req.uid, findings.filter((f) => f.action === 'warn').map(toWarning)), 'allowed', findings);
    }
  }
  const nsLabels = ctx.view.getNamespace(req.namespace)?.metadata?.labels;
  const judged = (findings: readonly Finding[]) => judge(findings, nsLabels, ctx.config.enforcement);

  if (webhook === 'mutate') {
    const d = mutateObject(obj, req.namespace, ctx.view, ctx.config);
    if (d.type !== 'judged') return notJudged(d);
    // Mutation never refuses and is never held back by the mode: only what is said changes.
    const findings = judged(d.findings);
    const warnings = findings.filter((f) => f.action === 'warn').map(toWarning);
    const ops = d.patch ?? [];
    return out(patched(req.uid, ops, warnings), ops.length > 0 ? 'patched' : 'allowed', findings, ops.length);
  }

  const d = validateObject(obj, req.namespace, ctx.view, ctx.config, 'live');
  if (d.type !== 'judged') return notJudged(d);
  let raw = d.findings;
  if (req.operation === 'UPDATE') raw = forgiveUnchanged(raw, req, ctx);
  const findings = judged(raw);
  const refused = findings.filter((f) => f.action === 'deny');
  const warnings = findings.filter((f) => f.action === 'warn').map(toWarning);
  const labelProblem = enforcementLabelProblem(req.namespace, nsLabels);
  if (labelProblem !== undefined) warnings.push(clip(labelProblem));
  if (refused.length > 0) return out(denied(req.uid, 403, denialMessage(refused), warnings), 'denied', findings);
  return out(allowed(req.uid, warnings), 'allowed', findings);
};

/**
 * An update that does not make things worse is allowed: errors the old object already
 * had become warnings. Otherwise a finalizer removal or a label change on an object that
 * predates meshguard could never go through, and deletion would hang.
 */
const forgiveUnchanged = (findings: Finding[], req: ParsedRequest, ctx: PolicyContext): Finding[] => {
  if (!findings.some((f) => f.severity === 'error')) return findings;
  const beingDeleted = req.object?.metadata?.deletionTimestamp !== undefined;
  const before = req.oldObject ? findingsOf(validateObject(req.oldObject, req.namespace, ctx.view, ctx.config, 'live')) : [];
  const had = new Set(before.filter((f) => f.severity === 'error').map((f) => `${f.rule}|${formatPath(f.path)}`));
  return findings.map((f) =>
    f.severity === 'error' && (beingDeleted || had.has(`${f.rule}|${formatPath(f.path)}`))
      ? forgiven(f)
      : f,
  );
};

/** `f` as a warning that the update may keep. */
const forgiven = (f: Finding): Finding => {
  const w = copyForWriting(f);
  w.severity = 'warning';
  w.message = `${f.message} (allowed: the object was already in this state)`;
  w.summary = `${f.summary ?? RULES[f.rule].title}; allowed, as it was already so`;
  return w;
};

export function admit(input: unknown, webhook: WebhookKind, ctx: PolicyContext): AdmissionOutcome {
  const req = parse(input);
  if ('error' in req) {
    return {
      review: reply(req.apiVersion, denied(req.uid, 400, `meshguard cannot read this AdmissionReview: ${req.error}`)),
      findings: [],
      patchOps: 0,
      request: { uid: req.uid || undefined },
      decision: 'invalid',
    };
  }
  const request = { uid: req.uid, kind: req.kind, namespace: req.namespace, name: req.name, operation: req.operation, dryRun: req.dryRun };
  try {
    return decide(req, webhook, ctx, request);
  } catch (err) {
    // The server sends this with HTTP status 500: only a failed call makes the API server apply
    // the webhook's failurePolicy; an HTTP 200 answer would be taken as the verdict.
    const message = err instanceof Error ? err.message : String(err);
    return { review: reply(req.apiVersion, denied(req.uid, 500, `meshguard internal error: ${message}`)), findings: [], patchOps: 0, request, decision: 'error' };
  }
}
