// AdmissionReview in, AdmissionReview out: the one function both the server and
// `meshguard review` call. (Stub: the decision logic lands with issue #2.)
import type { ClusterView } from './cluster-view.js';
import type { PolicyConfig } from './config.js';
import type { Finding } from './findings.js';

export type WebhookKind = 'mutate' | 'validate';

export interface AdmissionResponseBody {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  patchType?: 'JSONPatch';
  /** base64 of the RFC 6902 patch */
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: 'admission.k8s.io/v1' | 'admission.k8s.io/v1beta1';
  kind: 'AdmissionReview';
  response: AdmissionResponseBody;
}

/** What the shell needs for logs and metrics, besides the review itself. */
export interface AdmissionOutcome {
  review: AdmissionReviewOut;
  findings: Finding[];
  /** Number of RFC 6902 operations in the patch (0 when none). */
  patchOps: number;
  /** Facts about the request for logs/metrics; absent fields were not readable. */
  request: { kind?: string; namespace?: string; name?: string; operation?: string };
  /** 'skipped' when the object is not a target or carries meshguard.io/ignore. */
  decision: 'allowed' | 'denied' | 'patched' | 'skipped' | 'invalid';
  ignored?: boolean;
}

export interface PolicyContext {
  view: ClusterView;
  config: PolicyConfig;
}

export function admit(input: unknown, webhook: WebhookKind, ctx: PolicyContext): AdmissionOutcome {
  void webhook;
  void ctx;
  const req = (input as any)?.request ?? {};
  const uid = typeof req.uid === 'string' ? req.uid : '';
  return {
    review: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } },
    findings: [],
    patchOps: 0,
    request: {},
    decision: 'allowed',
  };
}
