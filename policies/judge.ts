// Everything meshguard finds about one object as the cluster would treat it — mutated
// first, then validated — with the action of each finding. `meshguard check` runs it on
// each input document and the status syncer on what each target namespace holds, so the
// PolicyReports say what `check` says.
import type { ClusterView } from './cluster-view.js';
import type { PolicyConfig } from './config.js';
import { judge, type JudgedFinding } from './enforcement.js';
import { formatPath, type Finding } from './findings.js';
import type { KubeObject } from './k8s.js';
import type { Mode } from './mesh-state.js';
import { findingsOf, reviewObject, type Skip } from './review.js';

export type ObjectJudgement =
  | { findings: JudgedFinding[]; skipped?: undefined; unreadable?: undefined }
  | { findings: []; skipped: Skip; unreadable?: undefined }
  | { findings: []; skipped?: undefined; unreadable: string };

const dedupeKey = (f: Finding): string => `${f.rule}|${formatPath(f.path)}|${f.message}`;

/** Findings of both halves, each once: a rule both halves check would otherwise show twice. */
const merged = (a: readonly Finding[], b: readonly Finding[]): readonly Finding[] => {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const seen = new Set<string>();
  return [...a, ...b].filter((f) => {
    const k = dedupeKey(f);
    return seen.has(k) ? false : (seen.add(k), true);
  });
};

export const judgeObject = (obj: KubeObject, namespace: string, view: ClusterView, config: PolicyConfig, podMode: Mode): ObjectJudgement => {
  // Only findings are reported: the patch is not written.
  const { mutate, validate } = reviewObject(obj, namespace, view, config, podMode, false);
  if (mutate.type === 'unreadable') return { findings: [], unreadable: mutate.why };
  if (mutate.type === 'skipped') return { findings: [], skipped: mutate };
  return { findings: judge(merged(mutate.findings, findingsOf(validate)), view.getNamespace(namespace)?.metadata?.labels, config.enforcement) };
};
