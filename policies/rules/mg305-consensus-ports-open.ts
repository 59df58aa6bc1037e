// MG305: meshguard keeps a meshed cluster's consensus (Raft) ports out of the sidecar, so
// that traffic is plaintext and outside mesh authorization. Unless a NetworkPolicy limits
// ingress on those ports to the cluster's own pods, any pod in the cluster can speak Raft
// to it. The message carries a policy that does exactly that and leaves every other port open.
import { ingressRules, policySelects, restrictsIngress, ruleAdmitsPort, type IngressRule, type NetworkPolicyPeer } from '../index/network-policy.js';
import { isPlainObject, type KubeObject, type StringMap } from '../k8s.js';
import { MESHES } from '../meshes/index.js';
import { flowMap, indexFinding, label } from './emit.js';
import { memberLabelSets, targetClusters, type TargetCluster } from './targets.js';
import type { IndexFinding, IndexRule } from './types.js';

/** A peer that is only pods of this cluster: a podSelector requiring the cluster's name label, nothing else. */
const isOwnPeer = (peer: NetworkPolicyPeer, c: TargetCluster): boolean => {
  if (!isPlainObject(peer) || peer.namespaceSelector !== undefined || peer.ipBlock !== undefined || !isPlainObject(peer.podSelector)) return false;
  const required = isPlainObject(peer.podSelector.matchLabels) ? (peer.podSelector.matchLabels as StringMap) : {};
  const nameLabel = c.profile.clusterNameLabel;
  return required[nameLabel] === c.podLabels[nameLabel];
};

/** Whether a rule admits `port` from anything but the cluster's own pods. */
const admitsOthers = (rule: IngressRule, port: number, c: TargetCluster): boolean =>
  ruleAdmitsPort(rule, port) && (!Array.isArray(rule.from) || rule.from.length === 0 || rule.from.some((peer) => !isOwnPeer(peer, c)));

/** Port ranges covering every TCP port but `ports`: the second rule of the proposed policy. */
const otherPorts = (ports: readonly number[]): string => {
  const spans: string[] = [];
  let from = 1;
  for (const p of [...ports].sort((a, b) => a - b)) {
    if (p > from) spans.push(p - 1 === from ? `{port: ${from}, protocol: TCP}` : `{port: ${from}, endPort: ${p - 1}, protocol: TCP}`);
    from = p + 1;
  }
  if (from <= 65535) spans.push(`{port: ${from}, endPort: 65535, protocol: TCP}`);
  return spans.join(', ');
};

export const MG305: IndexRule = {
  id: 'MG305',
  severity: 'warning',
  title: "a meshed cluster's excluded consensus ports are reachable by any pod (no NetworkPolicy)",
  appliesTo: 'cluster CR',
  reads: ['cluster CR', 'Namespace', 'NetworkPolicy', 'Pod', 'StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob'],
  scope: 'index',
  check(index, ctx) {
    const out: IndexFinding[] = [];
    // Offline, no policy for the namespace in the inputs or --state says nothing of the cluster's.
    const considered = ctx.complete ? undefined : (ns: string) => index.list('NetworkPolicy', ns).length > 0;
    for (const c of targetClusters(index, ctx.config, considered)) {
      const { desired } = c;
      // Only sidecar meshes get the ports excluded; ambient keeps Raft in ztunnel.
      if (!desired.enabled || !desired.mesh || !MESHES[desired.mesh].portExclusion || desired.consensusPorts.length === 0) continue;
      const policies = index.list('NetworkPolicy', c.namespace);
      const labelSets = memberLabelSets(c);
      const isolating = policies
        .filter((np) => restrictsIngress(np) && labelSets.some((l) => policySelects(np, l)));
      const open = desired.consensusPorts.filter(
        (port) => isolating.length === 0 || isolating.some((np) => ingressRules(np).some((r) => admitsOthers(r, port, c))),
      );
      if (open.length === 0) continue;
      const name = c.cr.metadata?.name ?? '';
      const sel = flowMap(c.podLabels);
      const policy =
        `{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: ${name}-consensus, namespace: ${c.namespace}}, ` +
        `spec: {podSelector: {matchLabels: ${sel}}, policyTypes: [Ingress], ingress: [` +
        `{from: [{podSelector: {matchLabels: ${sel}}}], ports: [${desired.consensusPorts.map((p) => `{port: ${p}, protocol: TCP}`).join(', ')}]}, ` +
        `{ports: [${otherPorts(desired.consensusPorts)}]}]}}`;
      const why =
        isolating.length === 0
          ? 'no NetworkPolicy isolates its pods for ingress'
          : `${isolating.map((np) => label(np)).join(', ')} ${isolating.length === 1 ? 'admits' : 'admit'} them from pods outside the cluster`;
      out.push(
        indexFinding(
          'MG305',
          'warning',
          c.cr,
          ['spec', 'serviceMesh'],
          `${label(c.cr)} is meshed by ${MESHES[desired.mesh].title}, and its consensus ports ${open.join(', ')} are excluded from the proxy (meshguard's mutation keeps Raft out of it), ` +
            `so that traffic is plaintext and outside mesh authorization; ${why}, so any pod can reach them. ` +
            `Fix: limit those ports to the cluster's own pods with this NetworkPolicy (the second rule keeps every other port open as before): ${policy}.`,
          `${label(c.cr)}: consensus ports ${open.join(',')} are outside the mesh and open to any pod`,
          isolating as KubeObject[],
        ),
      );
    }
    return out;
  },
};
