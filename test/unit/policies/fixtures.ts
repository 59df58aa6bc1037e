// Builders for policy-core tests: objects as the API server sends them, a plain-object
// cluster view, and AdmissionReviews. Only what a case sets differs from the defaults.
import jsonpatch from 'fast-json-patch';
import { admit, type AdmissionOutcome, type AdmissionResponseBody, type WebhookKind } from '../../../policies/admission.js';
import { ObjectClusterView, type ClusterView } from '../../../policies/cluster-view.js';
import { DEFAULT_CONFIG, type PolicyConfig } from '../../../policies/config.js';
import type { KubeObject, StringMap } from '../../../policies/k8s.js';

export const NS = 'db';
export const CLUSTER = 'ac';

export const namespace = (labels: StringMap = {}, annotations: StringMap = {}, name = NS): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels, annotations },
});

export const antflyCluster = (spec: Record<string, unknown> = {}, name = CLUSTER, ns = NS): KubeObject => ({
  apiVersion: 'antfly.io/v1',
  kind: 'AntflyCluster',
  metadata: { name, namespace: ns },
  spec,
});

export const observabilityPlatform = (spec: Record<string, unknown> = {}, name = 'obs', ns = NS): KubeObject => ({
  apiVersion: 'observability.io/v1beta1',
  kind: 'ObservabilityPlatform',
  metadata: { name, namespace: ns },
  spec,
});

/** The labels every Antfly database pod carries. */
export const antflyLabels = (cluster = CLUSTER, extra: StringMap = {}): StringMap => ({
  'app.kubernetes.io/name': 'antfly-database',
  'app.kubernetes.io/instance': cluster,
  ...extra,
});

export const podSpec = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  containers: [{ name: 'antfly', image: 'antfly/antfly:1' }],
  ...extra,
});

export const statefulSet = (
  templateLabels: StringMap = antflyLabels(),
  templateAnnotations?: StringMap,
  spec: Record<string, unknown> = podSpec(),
  name = `${CLUSTER}-metadata`,
  ns = NS,
): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, namespace: ns },
  spec: {
    serviceName: name,
    replicas: 3,
    selector: { matchLabels: templateLabels },
    template: {
      metadata: { labels: templateLabels, ...(templateAnnotations ? { annotations: templateAnnotations } : {}) },
      spec,
    },
  },
});

export const cronJob = (templateLabels: StringMap = antflyLabels(), templateAnnotations?: StringMap, name = `${CLUSTER}-backup`): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name, namespace: NS },
  spec: {
    schedule: '0 3 * * *',
    jobTemplate: {
      spec: {
        template: {
          metadata: { labels: templateLabels, ...(templateAnnotations ? { annotations: templateAnnotations } : {}) },
          spec: podSpec({ restartPolicy: 'OnFailure' }),
        },
      },
    },
  },
});

export const pod = (
  labels: StringMap = antflyLabels(),
  annotations?: StringMap,
  spec: Record<string, unknown> = podSpec(),
  name = `${CLUSTER}-metadata-0`,
  extra: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS, labels, ...(annotations ? { annotations } : {}) },
  spec,
  status: { phase: 'Running' },
  ...extra,
});

export const container = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, image: `example/${name}:1`, ...extra });

/** A pod spec with the app container plus `sidecars` (containers) and `init` (init containers). */
export const specWith = (sidecars: Record<string, unknown>[] = [], init: Record<string, unknown>[] = [], extra: Record<string, unknown> = {}) =>
  podSpec({ containers: [container('antfly'), ...sidecars], ...(init.length > 0 ? { initContainers: init } : {}), ...extra });

const KIND_INFO: Record<string, { group: string; version: string; resource: string }> = {
  Pod: { group: '', version: 'v1', resource: 'pods' },
  StatefulSet: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  Deployment: { group: 'apps', version: 'v1', resource: 'deployments' },
  CronJob: { group: 'batch', version: 'v1', resource: 'cronjobs' },
  Job: { group: 'batch', version: 'v1', resource: 'jobs' },
  AntflyCluster: { group: 'antfly.io', version: 'v1', resource: 'antflyclusters' },
  ObservabilityPlatform: { group: 'observability.io', version: 'v1beta1', resource: 'observabilityplatforms' },
  ConfigMap: { group: '', version: 'v1', resource: 'configmaps' },
};

export interface ReviewOptions {
  operation?: string;
  apiVersion?: string;
  oldObject?: unknown;
  uid?: string;
  subResource?: string;
  namespace?: string;
}

export const review = (kind: string, object: unknown, opts: ReviewOptions = {}): Record<string, unknown> => {
  const info = KIND_INFO[kind] ?? { group: '', version: 'v1', resource: `${kind.toLowerCase()}s` };
  const meta = (object as KubeObject | undefined)?.metadata;
  return {
    apiVersion: opts.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: info.group, version: info.version, kind },
      resource: { group: info.group, version: info.version, resource: info.resource },
      ...(opts.subResource ? { subResource: opts.subResource } : {}),
      namespace: opts.namespace ?? meta?.namespace ?? NS,
      name: meta?.name ?? '',
      operation: opts.operation ?? 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:statefulset-controller' },
      object,
      ...(opts.oldObject !== undefined ? { oldObject: opts.oldObject } : {}),
      dryRun: false,
    },
  };
};

export const view = (...objects: KubeObject[]): ObjectClusterView => new ObjectClusterView(objects);

export const ctx = (v: ClusterView, config: PolicyConfig = DEFAULT_CONFIG) => ({ view: v, config });

export const decodePatch = (r: AdmissionResponseBody): jsonpatch.Operation[] =>
  r.patch === undefined ? [] : (JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as jsonpatch.Operation[]);

export interface MutateRun {
  outcome: AdmissionOutcome;
  response: AdmissionResponseBody;
  ops: jsonpatch.Operation[];
  /** The object with the response's patch applied (the object itself when there is none). */
  result: KubeObject;
}

/** Runs the webhook on `obj` (kind taken from the object) and applies the returned patch. */
export const runMutate = (obj: KubeObject, v: ClusterView, opts: ReviewOptions = {}, config: PolicyConfig = DEFAULT_CONFIG): MutateRun => {
  const outcome = admit(review(obj.kind!, obj, opts), 'mutate', ctx(v, config));
  const response = outcome.review.response;
  const ops = decodePatch(response);
  const result = jsonpatch.applyPatch(structuredClone(obj), ops, true, false).newDocument as KubeObject;
  return { outcome, response, ops, result };
};

export const runValidate = (obj: KubeObject, v: ClusterView, opts: ReviewOptions = {}, config: PolicyConfig = DEFAULT_CONFIG): AdmissionOutcome =>
  admit(review(obj.kind!, obj, opts), 'validate', ctx(v, config));

export const rules = (o: { findings: readonly { rule: string }[] }): string[] => o.findings.map((f) => f.rule);

/** Template (or pod) metadata after a run. */
export const templateMeta = (obj: KubeObject): { labels?: StringMap; annotations?: StringMap } => {
  if (obj.kind === 'Pod') return obj.metadata ?? {};
  if (obj.kind === 'CronJob') return obj.spec.jobTemplate.spec.template.metadata ?? {};
  return obj.spec.template.metadata ?? {};
};
