// The cross-object rules at apply time (configuration `analysis.admissionWarnings`): a
// write of a PeerAuthentication, NetworkPolicy, Service or webhook configuration is judged
// by the MG3xx findings it would cause, answered as admission warnings and never refused.
//
// "Would cause" is exact: the rules that read the written kind run over the index before
// the write (the stored object, `oldObject` for an UPDATE, none for a CREATE) and after it
// (the incoming object in its place), and a finding is reported when it involves the
// written object (as subject or as a related object) and was not there before. A finding
// the cluster already had is not repeated on every later apply of an unrelated change:
// the person applying did not cause it, `meshguard analyze` and the PolicyReports show it,
// and a warning on every apply teaches people to ignore warnings. Removing a cause is
// silent; making an existing finding worse (MG303 from warning to error) is new.
import { actionOf, type JudgedFinding } from './enforcement.js';
import { formatPath } from './findings.js';
import { indexKindOf, type IndexKind } from './index/kinds.js';
import { refKey, refOf, type ObjectIndex } from './index/object-index.js';
import { withWrite } from './index/overlay.js';
import type { KubeObject } from './k8s.js';
import { INDEX_RULES } from './rules/registry.js';
import type { AnalysisContext, IndexFinding } from './rules/types.js';

/** The kinds whose writes the validating webhook analyses when admission warnings are on. */
export const ANALYSED_WRITE_KINDS = [
  'PeerAuthentication',
  'NetworkPolicy',
  'Service',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
] as const satisfies readonly IndexKind[];

export type AnalysedWriteKind = (typeof ANALYSED_WRITE_KINDS)[number];

export const analysedKindOf = (o: KubeObject): AnalysedWriteKind | undefined => {
  const kind = indexKindOf(o);
  return (ANALYSED_WRITE_KINDS as readonly string[]).includes(kind ?? '') ? (kind as AnalysedWriteKind) : undefined;
};

const identity = (f: IndexFinding): string => `${f.rule}|${f.severity}|${refKey(f.subject)}|${formatPath(f.path)}`;

/**
 * The MG3xx findings a write of `object` (replacing `oldObject`, if any) would cause, each
 * with its action: the subject namespace's `meshguard.io/enforcement` label, then the
 * configuration, as in `check` and `analyze`, except that `deny` becomes `warn`: these
 * findings are about other objects too, so the write is never refused for them.
 * `object` and `oldObject` must carry their namespace.
 */
export const writeFindings = (object: KubeObject, oldObject: KubeObject | undefined, index: ObjectIndex, ctx: AnalysisContext): JudgedFinding[] => {
  const kind = analysedKindOf(object);
  if (!kind) return [];
  const rules = INDEX_RULES.filter((r) => (r.reads as readonly string[]).includes(kind));
  const before = withWrite(index, object, oldObject);
  const after = withWrite(index, object, object);
  const had = new Set(rules.flatMap((r) => r.check(before, ctx)).map(identity));
  const written = refKey(refOf(object));
  const involves = (f: IndexFinding): boolean => refKey(f.subject) === written || f.related.some((r) => refKey(r) === written);
  return rules
    .flatMap((r) => r.check(after, ctx))
    .filter((f) => involves(f) && !had.has(identity(f)))
    .map((f) => {
      const { subject, related: _related, ...finding } = f;
      const nsName = subject.kind === 'Namespace' ? subject.name : subject.namespace;
      const action = actionOf(f, nsName !== undefined ? after.getNamespace(nsName)?.metadata?.labels : undefined, ctx.config.enforcement);
      return { ...finding, action: action === 'deny' ? 'warn' : action };
    });
};
