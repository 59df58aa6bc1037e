// Annotation keys and values as Kubernetes and each mesh would parse them (MG102-MG105).
import { finding, type Finding, type Path } from '../findings.js';
import { UNMEMOIZED, type JudgementMemo } from '../judgement-memo.js';
import type { StringMap } from '../k8s.js';
import { MESHES, meshOfAnnotationKey, meshesOfAnnotations } from '../meshes/index.js';
import { MESH_NAMES, type MeshName } from '../meshes/types.js';

export const ISTIO_INJECT = 'sidecar.istio.io/inject';

/** One bit per mesh, for the set of meshes whose keys an annotation map holds. */
const MESH_BIT = Object.fromEntries(MESH_NAMES.map((m, i) => [m, 1 << i])) as Record<MeshName, number>;

/**
 * Findings for a set of annotations found at `at` (the annotations map itself).
 * `where` names the owner for messages, e.g. 'AntflyCluster prod/db'.
 */
export const checkAnnotations = (
  annotations: StringMap,
  at: Path,
  opts: {
    labels?: StringMap;
    where: string;
    /** false: leave MG105 out */
    switchForm?: boolean;
    /** The view's, when it has one: the same keys and values recur on every pod part of a cluster. */
    memo?: JudgementMemo;
  },
): Finding[] => {
  const judgements = opts.memo ?? UNMEMOIZED;
  const out: Finding[] = [];
  // The meshes that own at least one key, valid or not, in MESH_NAMES order: only their
  // set rules can find anything (MeshRules.checkAnnotationSet), and only two of them can
  // make MG104. Most objects name one mesh's keys or none.
  let owners = 0;
  for (const key of Object.keys(annotations)) {
    const value = annotations[key]!;
    const mesh = meshOfAnnotationKey(key);
    if (mesh) owners |= MESH_BIT[mesh];
    const keyError = judgements.keyError(key);
    if (keyError) {
      out.push(finding('MG102', `Annotation key ${JSON.stringify(key)} on ${opts.where} is not a valid Kubernetes qualified name: ${keyError}`, [...at, key]));
      continue;
    }
    if (!mesh) continue;
    const valueError = judgements.valueError(mesh, key, value);
    if (valueError) {
      out.push(finding('MG103', `${key}: ${JSON.stringify(value)} on ${opts.where}: ${valueError}`, [...at, key]));
      continue;
    }
    // A value the mesh accepts but ignores or passes on unchecked: the user's setting is lost.
    const warning = MESHES[mesh].annotationWarning?.(key, value, opts.labels);
    if (warning) out.push(finding('MG103', `${key}: ${JSON.stringify(value)} on ${opts.where}: ${warning}`, [...at, key], 'warning', `${key}=${JSON.stringify(value)}: ${warning}`.slice(0, 100)));
  }
  if (owners !== 0) {
    for (const mesh of MESH_NAMES) {
      if ((owners & MESH_BIT[mesh]) === 0) continue;
      for (const { key, message } of MESHES[mesh].checkAnnotationSet?.(annotations) ?? []) {
        out.push(finding('MG103', `${key}: ${JSON.stringify(annotations[key])} on ${opts.where}: ${message}`, [...at, key]));
      }
    }
  }
  // Labels of a mesh are read beside its annotations (Istio's inject switch): the label path
  // is the annotations path's sibling.
  if (opts.labels && at[at.length - 1] === 'annotations') {
    const labelsAt = [...at.slice(0, -1), 'labels'];
    for (const mesh of MESH_NAMES) {
      for (const { key, message } of MESHES[mesh].labelErrors?.(opts.labels) ?? []) {
        out.push(finding('MG103', `label ${key}: ${JSON.stringify(opts.labels[key])} on ${opts.where}: ${message}`, [...labelsAt, key]));
      }
      for (const { key, message } of MESHES[mesh].labelWarnings?.(opts.labels) ?? []) {
        out.push(finding('MG103', `label ${key}: ${JSON.stringify(opts.labels[key])} on ${opts.where}: ${message}`, [...labelsAt, key], 'warning', `label ${key}=${JSON.stringify(opts.labels[key])} is ignored by the mesh`));
      }
    }
  }
  // Two meshes or more own keys (one bit is not a power of two): MG104 unless opt-outs leave one.
  const meshes = (owners & (owners - 1)) !== 0 ? meshesOfAnnotations(annotations) : undefined;
  if (meshes && meshes.size > 1) {
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
