// Enforcement modes: which action a finding gets (override > namespace label > per-rule
// entry > default, capped by severity), and what admit() answers in each mode.
import fc from 'fast-check';
import t from 'tap';
import { admit, FINDINGS_AUDIT_KEY } from '../../../policies/admission.js';
import { DEFAULT_CONFIG, type PolicyConfig } from '../../../policies/config.js';
import { ACTIONS, actionOf, DEFAULT_ENFORCEMENT, ENFORCEMENT_LABEL, enforcementLabelProblem, modeOf, type Action, type EnforcementConfig } from '../../../policies/enforcement.js';
import { RULES, type RuleId, type Severity } from '../../../policies/findings.js';
import { antflyCluster, antflyLabels, CLUSTER, ctx, namespace, pod, review, statefulSet, view } from './fixtures/objects.js';

const withEnforcement = (enforcement: Partial<EnforcementConfig>): PolicyConfig => ({
  ...DEFAULT_CONFIG,
  enforcement: { ...DEFAULT_ENFORCEMENT, ...enforcement },
});

t.test('resolution order: override, namespace label, rule entry, default', async (t) => {
  const e: EnforcementConfig = { default: 'audit', rules: { MG201: 'warn' } };
  t.equal(modeOf('MG205', {}, e), 'audit', 'default');
  t.equal(modeOf('MG201', {}, e), 'warn', 'rule entry beats the default');
  t.equal(modeOf('MG201', { [ENFORCEMENT_LABEL]: 'deny' }, e), 'deny', 'namespace label beats the rule entry');
  t.equal(modeOf('MG205', { [ENFORCEMENT_LABEL]: 'warn' }, e), 'warn', 'namespace label beats the default');
  t.equal(modeOf('MG201', { [ENFORCEMENT_LABEL]: 'deny' }, { ...e, override: 'audit' }), 'audit', 'override beats all');
  t.equal(modeOf('MG201', { [ENFORCEMENT_LABEL]: 'Deny' }, e), 'warn', 'a label that is no action is ignored');
  t.equal(modeOf('MG201', undefined, DEFAULT_ENFORCEMENT), 'deny', 'deny by default');
});

t.test('severity caps the action: errors take the mode, warnings at most warn, infos audit', async (t) => {
  const cases: [Severity, Action, Action][] = [
    ['error', 'deny', 'deny'], ['error', 'warn', 'warn'], ['error', 'audit', 'audit'],
    ['warning', 'deny', 'warn'], ['warning', 'warn', 'warn'], ['warning', 'audit', 'audit'],
    ['info', 'deny', 'audit'], ['info', 'warn', 'audit'], ['info', 'audit', 'audit'],
  ];
  for (const [severity, mode, want] of cases) t.equal(actionOf({ rule: 'MG201', severity }, {}, { default: mode, rules: {} }), want, `${severity} in ${mode}`);
});

t.test('property: the most specific valid source decides, then the severity cap', async (t) => {
  const ids = Object.keys(RULES) as RuleId[];
  const action = fc.constantFrom(...ACTIONS);
  const label = fc.option(fc.oneof(action, fc.constantFrom('Deny', 'enforce', '', 'dryrun')), { nil: undefined });
  const STRENGTH = { audit: 0, warn: 1, deny: 2 } as const;
  const CEIL = { error: 'deny', warning: 'warn', info: 'audit' } as const;
  fc.assert(
    fc.property(
      fc.constantFrom(...ids), fc.constantFrom<Severity>('error', 'warning', 'info'), label, fc.option(action, { nil: undefined }),
      fc.option(action, { nil: undefined }), action,
      (rule, severity, nsLabel, ruleEntry, override, dflt) => {
        const labels: Record<string, string> = nsLabel === undefined ? {} : { [ENFORCEMENT_LABEL]: nsLabel };
        const e: EnforcementConfig = { default: dflt, rules: ruleEntry ? { [rule]: ruleEntry } : {}, ...(override ? { override } : {}) };
        const validLabel = (ACTIONS as readonly string[]).includes(nsLabel ?? '') ? (nsLabel as Action) : undefined;
        const mode = override ?? validLabel ?? ruleEntry ?? dflt;
        const want = STRENGTH[mode] <= STRENGTH[CEIL[severity]] ? mode : CEIL[severity];
        return actionOf({ rule, severity }, labels, e) === want && (validLabel !== undefined || nsLabel === undefined) === (enforcementLabelProblem('x', labels) === undefined);
      },
    ),
    { numRuns: 500 },
  );
});

// A meshed Istio cluster and a pod that opts out of injection: MG201 (error).
const meshed = (labels: Record<string, string> = {}) =>
  view(namespace({ 'istio-injection': 'enabled', ...labels }), antflyCluster({ serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } } }));
const unmeshedPod = () => pod(antflyLabels());
const auditOf = (out: ReturnType<typeof admit>) => JSON.parse(out.review.response.auditAnnotations?.[FINDINGS_AUDIT_KEY] ?? '[]');

t.test('deny: refused, the finding in the message and in the audit annotations', async (t) => {
  const out = admit(review('Pod', unmeshedPod()), 'validate', ctx(meshed()));
  const r = out.review.response;
  t.equal(r.allowed, false);
  t.equal(r.status?.code, 403);
  t.match(r.status?.message, /\[MG201\]/);
  t.equal(out.decision, 'denied');
  t.same(out.findings.map((f) => [f.rule, f.action]), [['MG201', 'deny']]);
  t.match(auditOf(out), [{ rule: 'MG201', severity: 'error', action: 'deny', message: /runs without the Istio proxy/ }]);
});

t.test('warn (namespace label): admitted, the finding comes back as a warning', async (t) => {
  const out = admit(review('Pod', unmeshedPod()), 'validate', ctx(meshed({ [ENFORCEMENT_LABEL]: 'warn' })));
  const r = out.review.response;
  t.equal(r.allowed, true);
  t.equal(r.status, undefined);
  t.equal(r.warnings?.length, 1);
  t.match(r.warnings?.[0], /^MG201: /);
  t.equal(out.decision, 'allowed');
  t.same(out.findings.map((f) => [f.rule, f.action]), [['MG201', 'warn']]);
  t.match(auditOf(out), [{ rule: 'MG201', action: 'warn' }]);
});

t.test('audit (config default): admitted silently, recorded only in the audit annotations and the outcome', async (t) => {
  const out = admit(review('Pod', unmeshedPod()), 'validate', ctx(meshed(), withEnforcement({ default: 'audit' })));
  const r = out.review.response;
  t.equal(r.allowed, true);
  t.equal(r.warnings, undefined, 'nothing said');
  t.equal(out.decision, 'allowed');
  t.same(out.findings.map((f) => [f.rule, f.action]), [['MG201', 'audit']]);
  t.match(auditOf(out), [{ rule: 'MG201', severity: 'error', action: 'audit' }]);
});

t.test('per-rule entry, and the namespace label above it', async (t) => {
  const cfg = withEnforcement({ rules: { MG201: 'warn' } });
  t.equal(admit(review('Pod', unmeshedPod()), 'validate', ctx(meshed(), cfg)).review.response.allowed, true, 'MG201 warns');
  t.equal(admit(review('Pod', unmeshedPod()), 'validate', ctx(meshed({ [ENFORCEMENT_LABEL]: 'deny' }), cfg)).review.response.allowed, false, 'namespace deny wins');
  const hostNet = pod(antflyLabels(CLUSTER, { 'sidecar.istio.io/inject': 'true' }), { 'sidecar.istio.io/status': '{}' }, { containers: [{ name: 'antfly' }, { name: 'istio-proxy' }], hostNetwork: true });
  const other = admit(review('Pod', hostNet), 'validate', ctx(meshed(), cfg));
  t.equal(other.review.response.allowed, false, 'other rules keep the default');
  t.same(other.findings.map((f) => [f.rule, f.action]), [['MG205', 'deny']]);
});

t.test('an invalid namespace label is ignored and said so', async (t) => {
  const out = admit(review('Pod', unmeshedPod()), 'validate', ctx(meshed({ [ENFORCEMENT_LABEL]: 'Audit' })));
  t.equal(out.review.response.allowed, false, 'falls back to the configuration (deny)');
  t.match(out.review.response.warnings, [/^namespace db: meshguard\.io\/enforcement="Audit" is not deny, warn or audit; ignored$/]);
});

t.test('mutation is the same in every mode; only its warnings follow the action', async (t) => {
  // The template gives the switch only as an annotation: MG105 (warning) and a patch.
  const sts = statefulSet(antflyLabels(), { 'sidecar.istio.io/inject': 'true' });
  const answers = Object.fromEntries(
    ACTIONS.map((a) => [a, admit(review('StatefulSet', sts), 'mutate', ctx(meshed(), withEnforcement({ default: a })))]),
  );
  t.ok(answers.deny!.review.response.patch, 'patched');
  for (const a of ACTIONS) {
    t.equal(answers[a]!.review.response.patch, answers.deny!.review.response.patch, `same patch in ${a}`);
    t.equal(answers[a]!.review.response.allowed, true);
    t.ok(answers[a]!.findings.some((f) => f.rule === 'MG105'));
    t.ok(answers[a]!.review.response.auditAnnotations?.[FINDINGS_AUDIT_KEY], `audit annotations in ${a}`);
  }
  t.match(answers.deny!.review.response.warnings, [/^MG105: /], 'a warning in deny mode stays a warning');
  t.match(answers.warn!.review.response.warnings, [/^MG105: /]);
  t.equal(answers.audit!.review.response.warnings, undefined, 'audit says nothing');
});

t.test('no findings: no audit annotations', async (t) => {
  const good = pod(antflyLabels(CLUSTER, { 'sidecar.istio.io/inject': 'true' }), { 'sidecar.istio.io/status': '{}' }, { containers: [{ name: 'antfly' }, { name: 'istio-proxy' }] });
  const out = admit(review('Pod', good), 'validate', ctx(meshed()));
  t.equal(out.review.response.allowed, true);
  t.equal(out.review.response.auditAnnotations, undefined);
});

t.test('an update that keeps an old error is allowed with a warning in deny mode, and silent in audit', async (t) => {
  const old = unmeshedPod();
  const changed = { ...old, metadata: { ...old.metadata, annotations: { touched: 'yes' } } };
  const opts = { operation: 'UPDATE', oldObject: old };
  const deny = admit(review('Pod', changed, opts), 'validate', ctx(meshed()));
  t.equal(deny.review.response.allowed, true);
  t.match(deny.review.response.warnings, [/^MG201: /]);
  const audit = admit(review('Pod', changed, opts), 'validate', ctx(meshed(), withEnforcement({ default: 'audit' })));
  t.equal(audit.review.response.warnings, undefined);
});
