// Annotation keys and values as Kubernetes and each mesh would parse them (MG102-MG105).
import { finding, type Finding, type Path } from '../findings.js';
import type { StringMap } from '../k8s.js';
import { MESHES, meshOfAnnotationKey, meshesOfAnnotations } from '../meshes/index.js';
import { qualifiedNameError } from '../values/qualified-name.js';

export const ISTIO_INJECT = 'sidecar.istio.io/inject';

/**
 * Findings for a set of annotations found at `at` (the annotations map itself).
 * `where` names the owner for messages, e.g. 'AntflyCluster prod/db'.
 */
export const checkAnnotations = (
  annotations: StringMap,
  at: Path,
  opts: { labels?: StringMap; where: string; /** false: leave MG105 out */ switchForm?: boolean },
): Finding[] => {
  const out: Finding[] = [];
  for (const [key, value] of Object.entries(annotations)) {
    const keyError = qualifiedNameError(key);
    if (keyError) {
      out.push(finding('MG102', `Annotation key ${JSON.stringify(key)} on ${opts.where} is not a valid Kubernetes qualified name: ${keyError}`, [...at, key]));
      continue;
    }
    const mesh = meshOfAnnotationKey(key);
    const valueError = mesh ? MESHES[mesh].checkAnnotation(key, value) : undefined;
    if (valueError) out.push(finding('MG103', `${key}: ${JSON.stringify(value)} on ${opts.where}: ${valueError}`, [...at, key]));
  }
  const meshes = meshesOfAnnotations(annotations);
  if (meshes.size > 1) {
    const parts = [...meshes].map(([m, keys]) => `${MESHES[m].title} (${keys.join(', ')})`);
    out.push(
      finding(
        'MG104',
        `${opts.where} carries annotations of more than one mesh: ${parts.join(' and ')}. A pod runs one mesh's proxy; keep the annotations of the mesh this namespace uses and remove the others.`,
        at,
      ),
    );
  }
  if (opts.switchForm !== false) out.push(...checkIstioSwitchForm(annotations, at, opts));
  return out;
};

/** MG105: Istio's inject switch given only as an annotation (the mutating webhook adds the label). */
export const checkIstioSwitchForm = (annotations: StringMap, at: Path, opts: { labels?: StringMap; where: string }): Finding[] =>
  annotations[ISTIO_INJECT] !== undefined && opts.labels?.[ISTIO_INJECT] === undefined
    ? [
        finding(
          'MG105',
          `${opts.where} gives Istio's inject switch only as the annotation ${ISTIO_INJECT}; Istio reads the label form. meshguard adds the label ${ISTIO_INJECT}=${JSON.stringify(annotations[ISTIO_INJECT])} to pods; set it as a label to be explicit.`,
          [...at, ISTIO_INJECT],
          'warning',
          `Istio reads the inject switch as a label; meshguard adds ${ISTIO_INJECT}=${annotations[ISTIO_INJECT]}`,
        ),
      ]
    : [];
