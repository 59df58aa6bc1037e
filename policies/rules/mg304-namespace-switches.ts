// MG304: a namespace whose labels/annotations switch on injection for more than one mesh
// (error), or carry two of Istio's switches at once (warning: one of them silently loses).
import { namespaceInfo, podFacts, type KubeObject } from '../k8s.js';
import { MESHES } from '../meshes/index.js';
import { ISTIO_INJECTION_NS_LABEL, ISTIO_REV } from '../meshes/istio.js';
import { DATAPLANE_MODE } from '../meshes/istio-ambient.js';
import type { MeshName } from '../meshes/types.js';
import { indexFinding, label } from './emit.js';
import type { IndexFinding, IndexRule } from './types.js';

// Istio's sidecar and ambient modes are one mesh here: their conflict is the warning below.
const FAMILY: Partial<Record<MeshName, string>> = { istio: 'Istio', 'istio-ambient': 'Istio', linkerd: 'Linkerd', kuma: 'Kuma' };
const NO_POD = podFacts(undefined, undefined);

const switchesOn = (ns: KubeObject, options: Parameters<(typeof MESHES)['istio']['wouldMesh']>[2]): MeshName[] => {
  const info = namespaceInfo(ns.metadata?.name ?? '', ns);
  // A pod that says nothing itself: whatever meshes it, the namespace's switch did.
  return (['istio', 'istio-ambient', 'linkerd', 'kuma'] as const).filter((m) =>
    m === 'istio-ambient' ? MESHES[m].selectedByNamespace(info) : MESHES[m].wouldMesh(NO_POD, info, options).value,
  );
};

export const MG304: IndexRule = {
  id: 'MG304',
  severity: 'error',
  severities: ['error', 'warning'],
  title: 'conflicting injection switches on a namespace',
  appliesTo: 'Namespace',
  reads: ['Namespace'],
  scope: 'index',
  check(index, ctx) {
    const out: IndexFinding[] = [];
    for (const ns of index.list('Namespace')) {
      const labels = ns.metadata?.labels ?? {};
      const on = switchesOn(ns, ctx.config.mesh);
      const families = [...new Set(on.map((m) => FAMILY[m]!))];
      const name = ns.metadata?.name ?? '';
      if (families.length > 1) {
        out.push(
          indexFinding(
            'MG304',
            'error',
            ns,
            ['metadata'],
            `${label(ns)} switches on injection for ${families.join(' and ')} (${on.map((m) => MESHES[m].title).join(', ')}): each mesh's injector acts on its own, ` +
              `so pods get two proxies or whichever injector runs last wins. Fix: keep the switch of the mesh this namespace uses and remove the others ` +
              `(kubectl label namespace ${name} ${ISTIO_INJECTION_NS_LABEL}- ${DATAPLANE_MODE}-, kubectl annotate namespace ${name} linkerd.io/inject-, kubectl label namespace ${name} kuma.io/sidecar-injection-).`,
            `namespace ${name} switches on ${families.join(' and ')} injection`,
          ),
        );
        continue;
      }
      if (labels[ISTIO_INJECTION_NS_LABEL] !== undefined && labels[ISTIO_REV] !== undefined) {
        out.push(
          indexFinding(
            'MG304',
            'warning',
            ns,
            ['metadata', 'labels', ISTIO_REV],
            `${label(ns)} carries both ${ISTIO_INJECTION_NS_LABEL}=${labels[ISTIO_INJECTION_NS_LABEL]} and ${ISTIO_REV}=${labels[ISTIO_REV]}: ` +
              `Istio's revision webhooks skip namespaces labelled ${ISTIO_INJECTION_NS_LABEL}, so ${ISTIO_INJECTION_NS_LABEL} wins and the revision is ignored. ` +
              `Fix: keep one (to use revision ${labels[ISTIO_REV]}: kubectl label namespace ${name} ${ISTIO_INJECTION_NS_LABEL}-).`,
            `namespace ${name}: ${ISTIO_INJECTION_NS_LABEL} wins over ${ISTIO_REV}`,
          ),
        );
      }
      if (on.includes('istio') && on.includes('istio-ambient')) {
        out.push(
          indexFinding(
            'MG304',
            'warning',
            ns,
            ['metadata', 'labels', DATAPLANE_MODE],
            `${label(ns)} enrols its pods in Istio ambient (${DATAPLANE_MODE}=ambient) and also injects Istio's sidecar: pods get the sidecar, and ambient leaves sidecar pods alone. ` +
              `Fix: for ambient, remove the sidecar switch (kubectl label namespace ${name} ${ISTIO_INJECTION_NS_LABEL}- ${ISTIO_REV}-); for sidecars, remove ${DATAPLANE_MODE}.`,
            `namespace ${name}: the sidecar wins over ambient enrolment`,
          ),
        );
      }
    }
    return out;
  },
};
