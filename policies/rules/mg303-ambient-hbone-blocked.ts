// MG303: a NetworkPolicy isolates ambient-enrolled pods for ingress and nothing admits the
// ports ambient needs: 15008 (HBONE, every mesh connection to the pod arrives on it),
// 15006, 15020 and 15021 (the ports the production reference lists for waypoints, health
// and metrics). Without 15008 all mesh traffic to the pods is dropped.
import { ingressAdmits, restrictsIngress } from '../index/network-policy.js';
import { meshesOf, selectPodLikes, type PodLike } from '../index/relations.js';
import { describeSelector } from '../index/selectors.js';
import { few, indexFinding, label } from './emit.js';
import type { IndexFinding, IndexRule } from './types.js';

export const HBONE_PORT = 15008;
export const AMBIENT_SUPPORT_PORTS: readonly number[] = [15006, 15020, 15021];

export const MG303: IndexRule = {
  id: 'MG303',
  severity: 'error',
  severities: ['error', 'warning'],
  title: 'a NetworkPolicy on ambient pods blocks HBONE 15008 (error) or 15006/15020/15021 (warning)',
  appliesTo: 'NetworkPolicy',
  reads: ['NetworkPolicy', 'Namespace', 'Pod', 'StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob'],
  scope: 'index',
  check(index, ctx) {
    const out: IndexFinding[] = [];
    for (const np of index.list('NetworkPolicy')) {
      if (!restrictsIngress(np)) continue;
      const ns = np.metadata?.namespace ?? 'default';
      const ambient = selectPodLikes(index, ns, np.spec?.podSelector ?? {}).filter((p) =>
        meshesOf(index, p, ctx.podMode, ctx.config.mesh).some((m) => m.mesh === 'istio-ambient'),
      );
      if (ambient.length === 0) continue;
      const policies = index.list('NetworkPolicy', ns);
      const missing = new Set<number>();
      const affected: PodLike[] = [];
      for (const pod of ambient) {
        const lacks = [HBONE_PORT, ...AMBIENT_SUPPORT_PORTS].filter((port) => !ingressAdmits(policies, pod.facts, port));
        for (const p of lacks) missing.add(p);
        if (lacks.length > 0) affected.push(pod);
      }
      if (missing.size === 0) continue;
      const ports = [...missing].sort((a, b) => a - b);
      const blocksHbone = missing.has(HBONE_PORT);
      const fix =
        `{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: ${np.metadata?.name ?? 'policy'}-istio-mesh, namespace: ${ns}}, ` +
        `spec: {podSelector: ${JSON.stringify(np.spec?.podSelector ?? {})}, policyTypes: [Ingress], ingress: [{ports: [${ports.map((p) => `{port: ${p}, protocol: TCP}`).join(', ')}]}]}}`;
      const consequence = blocksHbone
        ? `port ${HBONE_PORT} (HBONE) is not admitted, so every mesh connection to these pods is dropped`
        : `ports ${ports.join(', ')} (waypoint ${15006}, health and metrics ${15020}/${15021}) are not admitted, so waypoints, health checks and metrics of the mesh fail`;
      out.push(
        indexFinding(
          'MG303',
          blocksHbone ? 'error' : 'warning',
          np,
          ['spec', 'ingress'],
          `${label(np)} (podSelector ${describeSelector(np.spec?.podSelector ?? {})}) isolates the Istio ambient pods ${few(affected.map((p) => label(p.object)))} for ingress, ` +
            `and no NetworkPolicy selecting them admits TCP ${ports.join(', ')}: ${consequence}. ` +
            `Fix: add this policy (NetworkPolicies add up): ${fix}.`,
          blocksHbone ? `ambient pods: HBONE port ${HBONE_PORT} not admitted; mesh traffic is dropped` : `ambient pods: ports ${ports.join(',')} not admitted`,
          affected.map((p) => p.object),
        ),
      );
    }
    return out;
  },
};
