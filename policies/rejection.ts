// Mixed-injection rules (MG201-MG205): a pod or template must match its cluster's
// desired mesh state. Pods matching the *new* desired state are always allowed, so a
// rollout that enables or disables the mesh can always make progress.
import { finding, type Finding, type Path } from './findings.js';
import type { NamespaceInfo, PodFacts } from './k8s.js';
import { MESHES } from './meshes/index.js';
import type { MeshName, MeshOptions } from './meshes/types.js';
import { meshedBy, type InjectionCount, type Mode } from './mesh-state.js';
import type { DesiredMesh } from './targets/desired.js';

export interface JudgeInput {
  facts: PodFacts;
  /** Where the pod part sits in the reviewed object ([] for a Pod). */
  base: Path;
  desired: DesiredMesh;
  ns: NamespaceInfo;
  mode: Mode;
  options: MeshOptions;
  where: string;
  cluster: string;
  /** The cluster's live pods now, for the message; asked only when there is something to report. */
  count: () => InjectionCount;
}

const titleOf = (m: string): string => MESHES[m as keyof typeof MESHES]?.title ?? m;

/**
 * How to get the proxy in. When the mesh's own rules say the pod should have been injected
 * but it was not, the injector did not run; otherwise the rules say what is missing.
 */
const howToMesh = (want: MeshName, facts: PodFacts, ns: NamespaceInfo, mode: Mode, options: MeshOptions): string => {
  const mesh = MESHES[want];
  const predicted = mesh.wouldMesh(facts, ns, options);
  if (mode === 'live' && predicted.value)
    return `${mesh.title}'s rules say it should be injected (${predicted.reason}), so its injector did not run: check the mesh's mutating webhook (kubectl get mutatingwebhookconfigurations) and recreate the pod.`;
  return `${mesh.title} would not inject it: ${predicted.reason}. Fix that, then recreate the pod.`;
};

export const judgePodPart = (input: JudgeInput): Finding[] => {
  const { facts, desired, ns, mode, where, cluster } = input;
  const by = meshedBy(facts, ns, mode, input.options);
  const verb = mode === 'live' ? 'runs' : 'would run';
  // Every judged pod part comes here, and most are fine: the count of the cluster's live pods
  // (asked once, only for a message), the paths and the texts are made only for a finding.

  if (!desired.enabled) {
    if (by.length === 0) return [];
    const first = by[0]!;
    const c = input.count();
    return [
      finding(
        'MG202',
        `${where} ${verb} with the ${titleOf(first.mesh)} proxy (${first.reason}), but ${cluster} has serviceMesh.enabled: false (${now(c)}). Mixed injection splits the cluster; opt the pod out of the mesh (meshguard's mutating webhook does this when it is registered) or enable the mesh in ${cluster}.`,
        [...input.base, 'metadata'],
        'error',
        `${titleOf(first.mesh)} proxy, but ${cluster} has the mesh disabled (${nowShort(c)})`,
      ),
    ];
  }

  const out: Finding[] = [];
  if (facts.hostNetwork) {
    out.push(
      finding(
        'MG205',
        `${where} uses hostNetwork, but ${cluster} is meshed: no mesh intercepts host-network traffic, so this pod would talk to its peers unmeshed. Remove hostNetwork: true.`,
        [...input.base, 'spec', 'hostNetwork'],
        'error',
        `hostNetwork pod in meshed ${cluster}: remove hostNetwork`,
      ),
    );
  }
  const want = desired.mesh;
  // The first mesh meshing the pod that is not the cluster's, and whether the cluster's (any
  // mesh, when the cluster names none) is among them.
  let other: (typeof by)[number] | undefined;
  let mine = false;
  for (const b of by) {
    if (want === undefined || b.mesh === want) mine = true;
    else other ??= b;
  }
  if (other !== undefined) {
    out.push(
      finding(
        'MG203',
        `${where} ${verb} with the ${titleOf(other.mesh)} proxy (${other.reason}), but ${cluster} is meshed by ${titleOf(want!)}. Pods of one cluster must share one mesh; remove the ${titleOf(other.mesh)} injection settings from the pod and its namespace.`,
        [...input.base, 'metadata'],
        'error',
        `${titleOf(other.mesh)} proxy, but ${cluster} uses ${titleOf(want!)}`,
      ),
    );
  } else if (!mine && !facts.hostNetwork) {
    const fix = want ? howToMesh(want, facts, ns, mode, input.options) : `Add the mesh's annotations to ${cluster}'s spec.serviceMesh.annotations or label the namespace for injection.`;
    const c = input.count();
    out.push(
      finding(
        'MG201',
        `${where} ${verb} without the ${want ? titleOf(want) : 'mesh'} proxy, but ${cluster} has serviceMesh.enabled: true (${now(c)}). Mixed injection splits the Raft cluster. ${fix}`,
        [...input.base, 'metadata'],
        'error',
        `no ${want ? titleOf(want) : 'mesh'} proxy, but ${cluster} is meshed (${nowShort(c)})`,
      ),
    );
  }
  return out;
};

const now = (c: InjectionCount): string => `${c.meshed}/${c.total} of its pods are meshed now`;
const nowShort = (c: InjectionCount): string => `${c.meshed}/${c.total} pods meshed`;
