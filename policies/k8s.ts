// Minimal shapes of the Kubernetes objects the policies read. Only the fields meshguard
// looks at are typed; everything else passes through untouched as `unknown`.

export type StringMap = Record<string, string>;

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: StringMap;
  annotations?: StringMap;
  deletionTimestamp?: string;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid?: string; controller?: boolean }[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: any;
  status?: any;
  [key: string]: unknown;
}

export interface ContainerPort {
  containerPort?: number;
  name?: string;
  protocol?: string;
}

export interface Container {
  name?: string;
  image?: string;
  restartPolicy?: string;
  ports?: ContainerPort[];
  [key: string]: unknown;
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  hostNetwork?: boolean;
  [key: string]: unknown;
}

export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec?: PodSpec;
}

export interface Pod extends KubeObject {
  spec?: PodSpec;
  status?: { phase?: string; [key: string]: unknown };
}

export interface Namespace extends KubeObject {}

/** The namespace facts every mesh rule reads. An unknown namespace is `labels: {}`. */
export interface NamespaceInfo {
  name: string;
  labels: StringMap;
  annotations: StringMap;
  /** false when the namespace object was not in the cluster view (offline runs). */
  known: boolean;
}

export const namespaceInfo = (name: string, ns: Namespace | undefined): NamespaceInfo => ({
  name,
  labels: ns?.metadata?.labels ?? {},
  annotations: ns?.metadata?.annotations ?? {},
  known: ns !== undefined,
});

/** What the mesh rules need to know of a pod or a pod template. */
export interface PodFacts {
  labels: StringMap;
  annotations: StringMap;
  hostNetwork: boolean;
  containers: Container[];
  initContainers: Container[];
}

export const podFacts = (meta: ObjectMeta | undefined, spec: PodSpec | undefined): PodFacts => ({
  labels: meta?.labels ?? {},
  annotations: meta?.annotations ?? {},
  hostNetwork: spec?.hostNetwork === true,
  containers: Array.isArray(spec?.containers) ? spec!.containers! : [],
  initContainers: Array.isArray(spec?.initContainers) ? spec!.initContainers! : [],
});

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A copy of `o`'s own enumerable string-keyed properties, as `{ ...o }` makes, for a copy
 * that is then given more keys. V8 (Node 24) makes a spread copy with the source's shape,
 * and adding a key to it, whether `{ ...o, key }` or a later store, costs about a
 * microsecond each, twenty times the copy; a copy built key by key takes new keys at the
 * usual price. A `__proto__` key (JSON.parse makes it an own property) is defined as one,
 * as the spread does, not set (which would change the copy's prototype).
 */
export const copyForWriting = <T extends object>(o: T): T => {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    const v = (o as Record<string, unknown>)[k];
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
    else out[k] = v;
  }
  return out as T;
};
