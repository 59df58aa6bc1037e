// How cross-object rules build their findings. Rule modules import nothing of
// findings.ts at run time: findings.ts reads the registry, so that import would be a cycle.
import type { Path, RuleId, Severity } from '../findings.js';
import type { KubeObject } from '../k8s.js';
import { refOf } from '../index/object-index.js';
import type { IndexFinding } from './types.js';

export const indexFinding = (
  rule: RuleId,
  severity: Severity,
  subject: KubeObject,
  path: Path,
  message: string,
  summary: string,
  related: readonly KubeObject[] = [],
): IndexFinding => ({
  rule,
  severity,
  message,
  path,
  summary,
  subject: refOf(subject),
  related: related.map(refOf),
});

/** `Kind ns/name`, or `Kind name` for cluster-scoped objects. */
export const label = (o: KubeObject): string =>
  `${o.kind ?? 'object'} ${o.metadata?.namespace !== undefined ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`;

/** A short list for messages: the first few names and how many more. */
export const few = (names: readonly string[], max = 3): string =>
  names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;

/** A flow-style YAML map of strings, for manifests quoted in messages. */
export const flowMap = (m: Record<string, string>): string =>
  `{${Object.entries(m)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ')}}`;
