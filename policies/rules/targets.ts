// The target clusters in the index, with the pods and templates that belong to them: what
// the cluster-centred cross-object rules (MG305, MG306) start from.
import type { PolicyConfig } from '../config.js';
import type { KubeObject, StringMap } from '../k8s.js';
import type { ObjectIndex } from '../index/object-index.js';
import { namespaceOfIndex, selectPodLikes, type PodLike } from '../index/relations.js';
import { desiredMeshOf, type DesiredMesh } from '../targets/desired.js';
import type { TargetProfile } from '../targets/profile.js';
import { clusterRefOf, podSelectorOf } from '../targets/resolve.js';

export interface TargetCluster {
  cr: KubeObject;
  profile: TargetProfile;
  namespace: string;
  desired: DesiredMesh;
  /** The labels every pod of the cluster carries (the profile's selector). */
  podLabels: StringMap;
  members: PodLike[];
}

/**
 * The target clusters, each with its members. `where` limits them to namespaces a rule can
 * say something about: finding a cluster's members reads every pod and template of its
 * namespace, and a rule that needs, say, a NetworkPolicy there skips that work where none is.
 */
export const targetClusters = (index: ObjectIndex, config: PolicyConfig, where: (namespace: string) => boolean = () => true): TargetCluster[] =>
  config.profiles.flatMap((profile) =>
    index.listClusters(clusterRefOf(profile)).flatMap((cr) => {
      const namespace = cr.metadata?.namespace ?? 'default';
      if (!where(namespace)) return [];
      const podLabels = podSelectorOf(profile, cr.metadata?.name ?? '');
      return {
        cr,
        profile,
        namespace,
        desired: desiredMeshOf(profile, cr, namespaceOfIndex(index, namespace)),
        podLabels,
        members: selectPodLikes(index, namespace, { matchLabels: podLabels }),
      };
    }),
  );

/** Label sets the cluster's pods carry: its members', or the profile's selector when none is known yet. */
export const memberLabelSets = (c: TargetCluster): StringMap[] => (c.members.length > 0 ? c.members.map((m) => m.facts.labels) : [c.podLabels]);
