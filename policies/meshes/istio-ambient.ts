// Istio ambient mode: no proxy runs in the pod; ztunnel on the node carries its traffic
// once istio-cni enrols the pod. Enrolment is decided by labels, so "meshed" means
// enrolled, the same rule for a manifest and for a live pod.
import type { NamespaceInfo, PodFacts } from '../k8s.js';
import { kv, no, yes } from './common.js';
import { istio, istioProxy } from './istio.js';
import type { Decision, MeshOptions, MeshRules } from './types.js';

export const DATAPLANE_MODE = 'istio.io/dataplane-mode';

const enrolment = (pod: PodFacts, ns: NamespaceInfo, sidecar: string | undefined): Decision => {
  const podMode = pod.labels[DATAPLANE_MODE];
  const nsMode = ns.labels[DATAPLANE_MODE];
  const enrolledBy =
    podMode === 'ambient' ? `pod label ${kv(DATAPLANE_MODE, 'ambient')}` : nsMode === 'ambient' ? `namespace label ${kv(DATAPLANE_MODE, 'ambient')}` : undefined;
  if (enrolledBy === undefined) {
    return no(`neither the namespace nor the pod carries the label ${kv(DATAPLANE_MODE, 'ambient')}, so ztunnel does not capture the pod`);
  }
  // A pod with a sidecar keeps the sidecar: ambient leaves it alone.
  if (sidecar !== undefined) return no(`${enrolledBy} would enrol the pod, but it is an Istio sidecar pod (${sidecar}) and ambient leaves sidecar pods alone`);
  if (podMode === 'none') return no(`${enrolledBy} enrols the namespace, but the pod label ${kv(DATAPLANE_MODE, 'none')} opts this pod out`);
  // istio-cni cannot redirect a pod that shares the node's network namespace.
  if (pod.hostNetwork) return no(`${enrolledBy} would enrol the pod, but hostNetwork pods cannot be captured by ztunnel`);
  return yes(`${enrolledBy} enrols the pod in ambient mode`);
};

export const istioAmbient: MeshRules = {
  name: 'istio-ambient',
  title: 'Istio ambient',
  // Ambient is configured by labels; every Istio annotation key belongs to sidecar mode.
  ownsAnnotationKey: () => false,
  selectedByNamespace: (ns) => ns.labels[DATAPLANE_MODE] === 'ambient',
  wouldMesh: (pod: PodFacts, ns: NamespaceInfo, options: MeshOptions) => {
    const sidecar = istioProxy(pod) ?? (istio.wouldMesh(pod, ns, options).value ? 'Istio would inject its sidecar' : undefined);
    return enrolment(pod, ns, sidecar);
  },
  // enrolment's only yes needs one of the two labels.
  mayMesh: (pod, ns) => pod.labels[DATAPLANE_MODE] === 'ambient' || ns.labels[DATAPLANE_MODE] === 'ambient',
  isMeshed: (pod, ns) => enrolment(pod, ns, istioProxy(pod)),
  checkAnnotation: () => undefined,
  optOut: { labels: { [DATAPLANE_MODE]: 'none' } },
};
