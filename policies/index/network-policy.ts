// NetworkPolicy ingress as Kubernetes defines it: a pod selected by any policy whose
// policyTypes include Ingress (policyTypes absent always does) is isolated for ingress, and
// then admits exactly what the union of those policies' ingress rules allows.
import { isPlainObject, type KubeObject, type PodFacts, type StringMap } from '../k8s.js';
import { containerPortOf } from './relations.js';
import { selectorMatches } from './selectors.js';

export interface NetworkPolicyPeer {
  podSelector?: unknown;
  namespaceSelector?: unknown;
  ipBlock?: unknown;
}

export interface IngressRule {
  from?: NetworkPolicyPeer[];
  ports?: { port?: number | string; endPort?: number; protocol?: string }[];
}

/** Whether the policy isolates the pods it selects for ingress. */
export const restrictsIngress = (np: KubeObject): boolean => {
  const types = np.spec?.policyTypes;
  return !Array.isArray(types) || types.includes('Ingress');
};

export const ingressRules = (np: KubeObject): IngressRule[] =>
  Array.isArray(np.spec?.ingress) ? (np.spec.ingress as unknown[]).filter(isPlainObject) as IngressRule[] : [];

/** Whether the policy's podSelector picks a pod with these labels (`{}` picks every pod of the namespace). */
export const policySelects = (np: KubeObject, labels: StringMap): boolean => selectorMatches(labels, np.spec?.podSelector ?? {});

/** Whether a rule lets TCP traffic to `port` of this pod through (from someone: its peers are not judged here). */
export const ruleAdmitsPort = (rule: IngressRule, port: number, pod?: PodFacts): boolean => {
  const ports = Array.isArray(rule.ports) ? rule.ports.filter(isPlainObject) : [];
  if (ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== 'TCP') return false;
    if (p.port === undefined || p.port === null) return true;
    if (typeof p.port === 'number') return typeof p.endPort === 'number' ? p.port <= port && port <= p.endPort : p.port === port;
    // A named port is the pod's container port of that name.
    return pod !== undefined && typeof p.port === 'string' && containerPortOf(pod, p.port) === port;
  });
};

/** Whether the policies that isolate a pod, together, admit TCP `port` to it. Not isolated: admitted. */
export const ingressAdmits = (policies: readonly KubeObject[], pod: PodFacts, port: number): boolean => {
  const isolating = policies.filter((np) => restrictsIngress(np) && policySelects(np, pod.labels));
  return isolating.length === 0 || isolating.some((np) => ingressRules(np).some((r) => ruleAdmitsPort(r, port, pod)));
};
