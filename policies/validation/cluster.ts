// Validation of a cluster CR's `spec.serviceMesh` (MG101-MG107, MG206).
import { finding, type Finding, type Path } from '../findings.js';
import { UNMEMOIZED, type JudgementMemo } from '../judgement-memo.js';
import type { KubeObject, NamespaceInfo } from '../k8s.js';
import { isPlainObject } from '../k8s.js';
import { MESHES } from '../meshes/index.js';
import type { MeshOptions } from '../meshes/types.js';
import { mergePorts } from '../values/port-list.js';
import { desiredMeshOf, serviceMeshOf } from '../targets/desired.js';
import type { TargetProfile } from '../targets/profile.js';
import { getIn, podSelectorOf } from '../targets/resolve.js';
import { checkAnnotations, ISTIO_INJECT } from './annotations.js';
import { checkServiceMeshSchema } from './schema-check.js';

const SM: Path = ['spec', 'serviceMesh'];

export const clusterLabel = (cr: KubeObject): string =>
  `${cr.kind ?? 'cluster'} ${cr.metadata?.namespace ?? 'default'}/${cr.metadata?.name ?? '(unnamed)'}`;

export const validateCluster = (
  profile: TargetProfile,
  cr: KubeObject,
  ns: NamespaceInfo,
  options: MeshOptions,
  /** The view's, when it has one: the merge below is the one the cluster's pods make. */
  memo?: JudgementMemo,
): Finding[] => {
  const raw = getIn(cr, SM);
  if (raw === undefined || raw === null) return [];
  const where = clusterLabel(cr);
  const out = checkServiceMeshSchema(profile.dialect, raw, SM);
  if (!isPlainObject(raw)) return out;
  const sm = serviceMeshOf(cr);

  if (profile.dialect === 'observability-platform') out.push(...observabilityRules(sm));
  if (isPlainObject(sm.annotations)) out.push(...checkAnnotations(stringEntries(sm.annotations), [...SM, 'annotations'], { where, memo }));

  const desired = desiredMeshOf(profile, cr, ns);
  if (!desired.enabled || desired.source === 'conflict') return out;

  // MG106: simulate a pod of this cluster after meshguard's mutation and ask the mesh.
  if (ns.known) {
    const labels = podSelectorOf(profile, cr.metadata?.name ?? '');
    if (desired.mesh === 'istio' && desired.annotations[ISTIO_INJECT] !== undefined) labels[ISTIO_INJECT] = desired.annotations[ISTIO_INJECT];
    const facts = { labels, annotations: desired.annotations, hostNetwork: false, containers: [], initContainers: [] };
    const d = desired.mesh ? MESHES[desired.mesh].wouldMesh(facts, ns, options) : undefined;
    if (!d?.value) {
      const why = d
        ? `${MESHES[desired.mesh!].title} would not inject its pods: ${d.reason}`
        : `no mesh annotation is set and namespace ${ns.name} has no injection label`;
      out.push(
        finding(
          'MG106',
          `${where} has serviceMesh.enabled: true, but ${why}. Add the mesh's inject annotation to spec.serviceMesh.annotations or label the namespace for injection.`,
          [...SM, 'enabled'],
          'warning',
          `mesh enabled, but nothing would inject this cluster's pods in namespace ${ns.name}`,
        ),
      );
    }
  }

  // MG206: consensus ports the webhook will add to the pods' exclusion lists.
  const ex = desired.mesh ? MESHES[desired.mesh].portExclusion : undefined;
  if (ex && desired.consensusPorts.length > 0) {
    const missing: string[] = [];
    for (let i = 0; i < 2; i++) {
      const k = i === 0 ? ex.inbound : ex.outbound;
      const cur = desired.annotations[k] ?? ex.startValue?.(k, ns);
      if ((memo ?? UNMEMOIZED).mergePorts(cur, desired.consensusPorts, ex) !== cur) missing.push(k);
    }
    if (missing.length > 0)
      out.push(
        finding(
          'MG206',
          `${where}: consensus ports ${desired.consensusPorts.join(',')} are not excluded in ${missing.join(' and ')}; meshguard's webhook adds them to the pods. Add them to spec.serviceMesh.annotations to make it explicit.`,
          [...SM, 'annotations'],
        ),
      );
  }
  return out;
};

/**
 * The string-valued entries of a map, as Object.fromEntries of its filtered entries makes
 * them: a "__proto__" key stays an own key (a property test holds the two equal).
 */
export const stringEntries = (map: Record<string, unknown>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const k of Object.keys(map)) {
    const v = map[k];
    if (typeof v !== 'string') continue;
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
    else out[k] = v;
  }
  return out;
};

/** Cross-field rules of the Gunj ServiceMeshSpec that a schema cannot say. */
const observabilityRules = (sm: Record<string, unknown>): Finding[] => {
  const out: Finding[] = [];
  const mtls = sm.mtls as Record<string, unknown> | undefined;
  if (isPlainObject(mtls) && mtls.enabled === false && mtls.mode === 'STRICT')
    out.push(
      finding(
        'MG101',
        'spec.serviceMesh.mtls has enabled: false with mode: STRICT, which contradict each other. Set enabled: true to require mTLS, or mode: DISABLE (or PERMISSIVE) to turn it off.',
        [...SM, 'mtls', 'mode'],
      ),
    );
  const rate = getIn(sm, ['observability', 'tracing', 'samplingRate']);
  if (typeof rate === 'number' && rate > 1 && rate <= 100)
    out.push(
      finding(
        'MG101',
        `spec.serviceMesh.observability.tracing.samplingRate is ${rate}: the field is a percentage (0-100), so this samples ${rate}% of requests. If you meant a fraction (e.g. 0.01 = 1%), write it as a percentage.`,
        [...SM, 'observability', 'tracing', 'samplingRate'],
        'warning',
        `tracing.samplingRate ${rate} is a percentage: ${rate}% of requests are sampled`,
      ),
    );
  const mc = sm.multiCluster;
  if (isPlainObject(mc)) {
    // Only when absent: an empty or non-string clusterName is already a schema finding.
    if (mc.enabled === true && mc.clusterName === undefined)
      out.push(finding('MG101', 'spec.serviceMesh.multiCluster.enabled is true but clusterName is not set. Give this cluster a unique clusterName.', [...SM, 'multiCluster', 'clusterName']));
    if (Array.isArray(mc.remoteClusters)) {
      const seen = new Map<string, number>();
      mc.remoteClusters.forEach((r, i) => {
        const name = isPlainObject(r) ? r.name : undefined;
        if (typeof name !== 'string') return;
        if (seen.has(name))
          out.push(finding('MG101', `spec.serviceMesh.multiCluster.remoteClusters[${i}].name ${JSON.stringify(name)} repeats remoteClusters[${seen.get(name)}]; remote cluster names must be unique.`, [...SM, 'multiCluster', 'remoteClusters', i, 'name']));
        else seen.set(name, i);
        if (name === mc.clusterName)
          out.push(finding('MG101', `spec.serviceMesh.multiCluster.remoteClusters[${i}].name ${JSON.stringify(name)} is this cluster's own clusterName; use the remote cluster's name.`, [...SM, 'multiCluster', 'remoteClusters', i, 'name']));
      });
    }
  }
  return out;
};
