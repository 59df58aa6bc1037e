// The exception a finding's message proposes when meshed pods must accept a client that
// has no mesh identity (the kube-apiserver, a Prometheus outside the mesh), written as the
// manifest or the edit to make.
import type { StringMap } from '../k8s.js';
import { refusesPlaintext, type PlaintextRefusal } from '../index/mtls.js';
import type { ObjectIndex } from '../index/object-index.js';
import { meshesOf, type PodLike, type PortTarget } from '../index/relations.js';
import type { AnalysisContext } from './types.js';
import { flowMap, label } from './emit.js';

// Labels that differ from pod to pod of one workload: useless in a selector for all of them.
const PER_POD_LABELS = new Set(['pod-template-hash', 'controller-revision-hash', 'statefulset.kubernetes.io/pod-name', 'apps.kubernetes.io/pod-index']);

/** The labels every one of `pods` carries: a selector that picks at least them. */
export const commonLabels = (pods: readonly PodLike[]): StringMap => {
  const [first, ...rest] = pods;
  if (!first) return {};
  return Object.fromEntries(
    Object.entries(first.facts.labels).filter(([k, v]) => !PER_POD_LABELS.has(k) && rest.every((p) => p.facts.labels[k] === v)),
  );
};

/** How to let clients without a mesh identity reach `port` of `pods`, for the mesh that refuses them. */
export const plaintextException = (refusal: PlaintextRefusal, pods: readonly PodLike[], port: number, name: string): string => {
  const namespace = pods[0]?.namespace ?? 'default';
  if (refusal.mesh === 'linkerd') {
    return (
      `annotate the pod template with config.linkerd.io/skip-inbound-ports: "${port}" (the port is then served without the proxy), ` +
      `or give the pods config.linkerd.io/default-inbound-policy: all-unauthenticated and limit the other ports with a Server and AuthorizationPolicy`
    );
  }
  const workload = refusal.mtls?.workloadPolicy;
  if (workload) {
    // The oldest workload policy wins over any new one, so the exception must go into it.
    return `set portLevelMtls "${port}": {mode: PERMISSIVE} in ${label(workload)}, the workload policy that selects these pods (a new PeerAuthentication would lose to it, as the oldest wins)`;
  }
  const selector = commonLabels(pods);
  return (
    `add a port-level exception: {apiVersion: security.istio.io/v1, kind: PeerAuthentication, metadata: {name: ${name}, namespace: ${namespace}}, ` +
    `spec: {selector: {matchLabels: ${flowMap(selector)}}, portLevelMtls: {"${port}": {mode: PERMISSIVE}}}} ` +
    `(port-level settings apply only on a policy with a selector; the other ports stay STRICT)`
  );
};

export interface Refused {
  refusal: PlaintextRefusal;
  port: number;
  pods: PodLike[];
}

/** The targets whose port refuses clients without a mesh identity, grouped by reason and port (first seen first). */
export const refusedTargets = (index: ObjectIndex, targets: readonly PortTarget[], ctx: AnalysisContext): Refused[] => {
  const groups = new Map<string, Refused>();
  for (const t of targets) {
    if (t.containerPort === undefined) continue;
    for (const m of meshesOf(index, t.pod, ctx.podMode, ctx.config.mesh)) {
      const refusal = refusesPlaintext(index, t.pod, m.mesh, t.containerPort, ctx.config.analysis?.istioRootNamespace);
      if (!refusal) continue;
      const key = `${refusal.reason}|${t.containerPort}`;
      const group = groups.get(key) ?? { refusal, port: t.containerPort, pods: [] };
      group.pods.push(t.pod);
      groups.set(key, group);
    }
  }
  return [...groups.values()];
};
