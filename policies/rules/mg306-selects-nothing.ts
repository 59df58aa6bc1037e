// MG306: a PeerAuthentication (with a selector) or a NetworkPolicy in a namespace that
// holds a target cluster selects no pod or template there, typically a selector copied
// from a guide (`app: antfly`) that the operator's pods do not carry. The policy then
// protects nothing, silently.
import { isNamespaceWide } from '../index/mtls.js';
import { podLikesIn } from '../index/relations.js';
import { describeSelector, selectorMatches } from '../index/selectors.js';
import type { StringMap } from '../k8s.js';
import { flowMap, indexFinding, label } from './emit.js';
import { memberLabelSets, targetClusters, type TargetCluster } from './targets.js';
import type { IndexFinding, IndexRule } from './types.js';

export const MG306: IndexRule = {
  id: 'MG306',
  severity: 'warning',
  title: 'a PeerAuthentication or NetworkPolicy beside a target cluster selects nothing',
  appliesTo: 'PeerAuthentication, NetworkPolicy',
  reads: ['cluster CR', 'PeerAuthentication', 'NetworkPolicy', 'Pod', 'StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob'],
  scope: 'index',
  check(index, ctx) {
    const byNamespace = new Map<string, TargetCluster[]>();
    // Only namespaces holding a candidate policy can have a finding.
    const hasCandidates = (ns: string): boolean => index.list('PeerAuthentication', ns).length > 0 || index.list('NetworkPolicy', ns).length > 0;
    for (const c of targetClusters(index, ctx.config, hasCandidates)) byNamespace.set(c.namespace, [...(byNamespace.get(c.namespace) ?? []), c]);
    const out: IndexFinding[] = [];
    for (const [ns, clusters] of byNamespace) {
      // Every pod and template here, plus the labels the clusters' pods will carry when none exists yet.
      const labelSets: StringMap[] = [...podLikesIn(index, ns).map((p) => p.facts.labels), ...clusters.flatMap(memberLabelSets)];
      const carried = clusters.map((c) => `${label(c.cr)}: ${flowMap(memberLabelSets(c)[0] ?? {})}`).join('; ');
      const candidates = [
        ...index
          .list('PeerAuthentication', ns)
          .filter((pa) => !isNamespaceWide(pa))
          .map((o) => ({ o, selector: o.spec?.selector, field: 'selector' })),
        ...index.list('NetworkPolicy', ns).map((o) => ({ o, selector: o.spec?.podSelector ?? {}, field: 'podSelector' })),
      ];
      for (const { o, selector, field } of candidates) {
        if (labelSets.some((l) => selectorMatches(l, selector))) continue;
        out.push(
          indexFinding(
            'MG306',
            'warning',
            o,
            ['spec', field],
            `${label(o)} selects ${describeSelector(selector)}, which no pod or pod template in namespace ${ns} carries, so it applies to nothing. ` +
              `The cluster pods here carry ${carried}. Fix: select them by those labels (e.g. ${field}: {matchLabels: ${flowMap(clusters[0]!.podLabels)}}).`,
            `${o.kind} ${o.metadata?.name ?? ''} selects no pod in ${ns}`,
            clusters.map((c) => c.cr),
          ),
        );
      }
    }
    return out;
  },
};
