// The relations the cross-object rules read, as functions over the object index: pods and
// pod templates selected by a selector, a Service's ports resolved to container ports,
// the Service behind each webhook, and whether (and by which mesh) a pod is meshed.
import type { Path } from '../findings.js';
import { isPlainObject, namespaceInfo, podFacts, type KubeObject, type NamespaceInfo, type PodFacts, type StringMap } from '../k8s.js';
import { meshedBy, type MeshedBy, type Mode } from '../mesh-state.js';
import type { MeshOptions } from '../meshes/types.js';
import { podShapeOf } from '../targets/resolve.js';
import { WEBHOOK_CONFIGURATION_KINDS, WORKLOAD_KINDS } from './kinds.js';
import { refOf, type ObjectIndex, type ObjectRef } from './object-index.js';
import { selectorMatches } from './selectors.js';

/** A Pod, or the pod template of a workload: what a selector can pick and a mesh can capture. */
export interface PodLike {
  /** The Pod or the workload. */
  object: KubeObject;
  ref: ObjectRef;
  namespace: string;
  facts: PodFacts;
  isPod: boolean;
  /** Where the pod part sits in `object` ([] for a Pod). */
  base: Path;
}

export const namespaceOfIndex = (index: ObjectIndex, name: string): NamespaceInfo => namespaceInfo(name, index.getNamespace(name));

const podLikeOf = (o: KubeObject, namespace: string): PodLike | undefined => {
  const shape = podShapeOf(o);
  if (!shape || typeof shape === 'string') return undefined;
  return { object: o, ref: refOf(o), namespace, facts: podFacts(shape.meta ?? undefined, shape.spec), isPod: shape.isPod, base: shape.base };
};

/** Every Pod and workload template in `namespace`. */
export const podLikesIn = (index: ObjectIndex, namespace: string): PodLike[] => {
  const out: PodLike[] = [];
  for (const kind of ['Pod', ...WORKLOAD_KINDS] as const)
    for (const o of index.list(kind, namespace)) {
      const p = podLikeOf(o, namespace);
      if (p) out.push(p);
    }
  return out;
};

/**
 * Pods and templates in `namespace` whose (pod) labels satisfy a LabelSelector. Pods come
 * from the label index; templates are matched on their template labels.
 */
export const selectPodLikes = (index: ObjectIndex, namespace: string, selector: unknown): PodLike[] => {
  const out: PodLike[] = [];
  for (const o of index.select('Pod', namespace, selector)) {
    const p = podLikeOf(o, namespace);
    if (p) out.push(p);
  }
  for (const kind of WORKLOAD_KINDS)
    for (const o of index.list(kind, namespace)) {
      const p = podLikeOf(o, namespace);
      if (p && selectorMatches(p.facts.labels, selector)) out.push(p);
    }
  return out;
};

/** A Service's `spec.selector` is a plain map; without one it selects no pod (endpoints are managed by hand). */
export const serviceSelector = (svc: KubeObject): { matchLabels: StringMap } | undefined => {
  const sel = svc.spec?.selector;
  return isPlainObject(sel) && Object.keys(sel).length > 0 ? { matchLabels: sel as StringMap } : undefined;
};

export interface ServicePort {
  name?: string;
  port: number;
  /** A container port number or name; absent means `port`. */
  targetPort: number | string;
  protocol: string;
}

export const servicePorts = (svc: KubeObject): ServicePort[] =>
  (Array.isArray(svc.spec?.ports) ? (svc.spec.ports as unknown[]) : []).filter(isPlainObject).flatMap((p) => {
    const port = typeof p.port === 'number' ? p.port : undefined;
    if (port === undefined) return [];
    const target = typeof p.targetPort === 'number' || (typeof p.targetPort === 'string' && p.targetPort !== '') ? p.targetPort : port;
    // A numeric string ("9443") is how some tools write an int-or-string.
    const targetPort = typeof target === 'string' && /^\d+$/.test(target) ? Number(target) : target;
    return [{ ...(typeof p.name === 'string' ? { name: p.name } : {}), port, targetPort, protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP' }];
  });

/** The container port a port number or name means in this pod; undefined when a name matches no container port. */
export const containerPortOf = (pod: PodFacts, target: number | string): number | undefined => {
  if (typeof target === 'number') return target;
  for (const c of pod.containers) for (const p of Array.isArray(c.ports) ? c.ports : []) if (p?.name === target && typeof p.containerPort === 'number') return p.containerPort;
  return undefined;
};

export interface PortTarget {
  pod: PodLike;
  /** The container port the traffic reaches, undefined when a named targetPort is not declared by the pod. */
  containerPort: number | undefined;
}

/** The pods and templates behind one port of a Service, each with the container port it reaches. */
export const serviceTargets = (index: ObjectIndex, svc: KubeObject, port: ServicePort): PortTarget[] => {
  const selector = serviceSelector(svc);
  if (!selector) return [];
  const ns = svc.metadata?.namespace ?? 'default';
  return selectPodLikes(index, ns, selector).map((pod) => ({ pod, containerPort: containerPortOf(pod.facts, port.targetPort) }));
};

export interface WebhookService {
  configuration: KubeObject;
  /** Position in `webhooks`, for the field path. */
  position: number;
  webhook: string;
  failurePolicy: string;
  namespace: string;
  serviceName: string;
  /** The Service port the API server calls (default 443). */
  port: number;
  /** The Service, when the index holds it. */
  service: KubeObject | undefined;
}

/** Every webhook of every Mutating/ValidatingWebhookConfiguration that calls a Service. */
export const webhookServices = (index: ObjectIndex): WebhookService[] => {
  const out: WebhookService[] = [];
  for (const kind of WEBHOOK_CONFIGURATION_KINDS)
    for (const configuration of index.list(kind)) {
      const webhooks = Array.isArray(configuration.webhooks) ? (configuration.webhooks as unknown[]) : [];
      webhooks.forEach((w, position) => {
        if (!isPlainObject(w) || !isPlainObject(w.clientConfig) || !isPlainObject(w.clientConfig.service)) return;
        const s = w.clientConfig.service;
        if (typeof s.name !== 'string' || typeof s.namespace !== 'string') return;
        out.push({
          configuration,
          position,
          webhook: typeof w.name === 'string' ? w.name : `webhooks[${position}]`,
          // admissionregistration.k8s.io/v1 defaults failurePolicy to Fail.
          failurePolicy: typeof w.failurePolicy === 'string' ? w.failurePolicy : 'Fail',
          namespace: s.namespace,
          serviceName: s.name,
          port: typeof s.port === 'number' ? s.port : 443,
          service: index.get('Service', s.namespace, s.name),
        });
      });
    }
  return out;
};

/** Which meshes capture this pod or template (templates and manifests are predicted; a live pod in 'live' mode is read). */
export const meshesOf = (index: ObjectIndex, pod: PodLike, podMode: Mode, options: MeshOptions): MeshedBy[] =>
  meshedBy(pod.facts, namespaceOfIndex(index, pod.namespace), pod.isPod ? podMode : 'predict', options);
