// analysis.admissionWarnings: the validating webhook judges PeerAuthentication,
// NetworkPolicy, Service and webhook-configuration writes by the MG3xx findings they would
// cause, answers with warnings and never refuses.
import t from 'tap';
import { admit, type PolicyContext } from '../../../policies/admission.js';
import { writeFindings } from '../../../policies/admission-analysis.js';
import { DEFAULT_CONFIG, type PolicyConfig } from '../../../policies/config.js';
import { PlainObjectIndex } from '../../../policies/index/object-index.js';
import { withWrite } from '../../../policies/index/overlay.js';
import type { KubeObject } from '../../../policies/k8s.js';
import { review } from './fixtures/objects.js';

const NS = 'hooks';
const ON: PolicyConfig = { ...DEFAULT_CONFIG, analysis: { admissionWarnings: true } };

const ns = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const operatorPod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'operator-0', namespace: NS, labels: { app: 'operator' } },
  spec: { containers: [{ name: 'manager', ports: [{ name: 'webhook', containerPort: 9443 }] }] },
};
const service = (selector: Record<string, string> = { app: 'operator' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'operator-webhook', namespace: NS },
  spec: { selector, ports: [{ port: 443, targetPort: 'webhook' }] },
});
const webhookConfig = (failurePolicy = 'Fail'): KubeObject => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingWebhookConfiguration',
  metadata: { name: 'operator-validating' },
  webhooks: [{ name: 'widgets.example.com', failurePolicy, clientConfig: { service: { name: 'operator-webhook', namespace: NS, path: '/validate' } } }],
});
const pa = (name: string, mode: string, namespace = NS, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name, namespace, ...extra },
  spec: { mtls: { mode } },
});

/** An ambient namespace whose operator pod serves a validating webhook on 9443; no PeerAuthentication yet. */
const cluster = (...more: KubeObject[]) =>
  new PlainObjectIndex([ns(NS, { 'istio.io/dataplane-mode': 'ambient' }), ns('other'), operatorPod, service(), webhookConfig(), ...more]);

const context = (index: PlainObjectIndex, config: PolicyConfig = ON): PolicyContext => ({ view: index, config, analysis: { index, complete: true } });

t.test('a STRICT PeerAuthentication over a webhook-serving meshed Service: allowed, with the MG301 warning', async (t) => {
  const index = cluster();
  const out = admit(review('PeerAuthentication', pa('hooks-strict', 'STRICT')), 'validate', context(index));
  const r = out.review.response;
  t.equal(r.allowed, true);
  t.equal(out.decision, 'allowed');
  t.same(out.findings.map((f) => [f.rule, f.severity, f.action]), [['MG301', 'error', 'warn']]);
  t.equal(r.warnings?.length, 1);
  t.match(r.warnings?.[0], /^MG301: webhook widgets\.example\.com: Service hooks\/operator-webhook port 9443 refuses the API server/);
  t.match(out.findings[0]?.message, /PeerAuthentication hooks\/hooks-strict makes port 9443 STRICT/, 'the full message names the policy');
  t.match(r.auditAnnotations?.findings, /MG301/, 'recorded for the audit log too');
});

t.test('an unrelated PeerAuthentication: no warning', async (t) => {
  const out = admit(review('PeerAuthentication', pa('other-strict', 'STRICT', 'other')), 'validate', context(cluster()));
  t.equal(out.review.response.allowed, true);
  t.same(out.review.response.warnings, undefined);
  t.same(out.findings, []);
  const permissive = admit(review('PeerAuthentication', pa('hooks-permissive', 'PERMISSIVE')), 'validate', context(cluster()));
  t.same(permissive.findings, [], 'a PERMISSIVE one beside the webhook neither');
});

t.test('never denied: deny enforcement from the configuration and the namespace label', async (t) => {
  const deny: PolicyConfig = { ...ON, enforcement: { default: 'deny', rules: { MG301: 'deny' } } };
  const index = new PlainObjectIndex([ns(NS, { 'istio.io/dataplane-mode': 'ambient', 'meshguard.io/enforcement': 'deny' }), operatorPod, service(), webhookConfig()]);
  const out = admit(review('PeerAuthentication', pa('hooks-strict', 'STRICT')), 'validate', context(index, deny));
  t.equal(out.review.response.allowed, true);
  t.equal(out.review.response.status, undefined);
  t.same(out.findings.map((f) => f.action), ['warn']);
  const overridden = admit(review('PeerAuthentication', pa('hooks-strict', 'STRICT')), 'validate', context(index, { ...deny, enforcement: { ...deny.enforcement, override: 'deny' } }));
  t.equal(overridden.review.response.allowed, true, 'even with an override (check --enforcement deny)');
});

t.test('audit mode: recorded, not warned', async (t) => {
  const audit: PolicyConfig = { ...ON, enforcement: { default: 'audit', rules: {} } };
  const out = admit(review('PeerAuthentication', pa('hooks-strict', 'STRICT')), 'validate', context(cluster(), audit));
  t.same(out.findings.map((f) => f.action), ['audit']);
  t.same(out.review.response.warnings, undefined);
  t.match(out.review.response.auditAnnotations?.findings, /MG301/);
});

t.test('only findings the write causes: an existing one is not repeated', async (t) => {
  const stored = pa('hooks-strict', 'STRICT', NS, { creationTimestamp: '2026-01-01T00:00:00Z' });
  const index = cluster(stored);
  const relabel = { ...stored, metadata: { ...stored.metadata, labels: { team: 'a' } } };
  const same = admit(review('PeerAuthentication', relabel, { operation: 'UPDATE', oldObject: stored }), 'validate', context(index));
  t.same(same.findings, [], 'an UPDATE that changes nothing the rules read');
  const second = admit(review('PeerAuthentication', pa('hooks-strict-2', 'STRICT')), 'validate', context(index));
  t.same(second.findings, [], 'a second STRICT policy: the webhook was already cut off');
  const wasPermissive = pa('hooks-strict', 'PERMISSIVE', NS, { creationTimestamp: '2026-01-01T00:00:00Z' });
  const tightened = admit(review('PeerAuthentication', stored, { operation: 'UPDATE', oldObject: wasPermissive }), 'validate', context(cluster(wasPermissive)));
  t.same(tightened.findings.map((f) => f.rule), ['MG301'], 'PERMISSIVE to STRICT is new');
});

t.test('Service and webhook-configuration writes', async (t) => {
  const strict = pa('hooks-strict', 'STRICT');
  const noSelector = new PlainObjectIndex([ns(NS, { 'istio.io/dataplane-mode': 'ambient' }), operatorPod, service({ app: 'nothing' }), webhookConfig(), strict]);
  const svc = admit(review('Service', service()), 'validate', context(noSelector));
  t.same(svc.findings.map((f) => f.rule), ['MG301'], 'the Service now leads the webhook to STRICT pods');
  t.match(svc.review.response.warnings?.[0], /^MG301/);

  const noWebhook = new PlainObjectIndex([ns(NS, { 'istio.io/dataplane-mode': 'ambient' }), operatorPod, service(), strict]);
  const cfg = admit(review('ValidatingWebhookConfiguration', webhookConfig(), { namespace: '' }), 'validate', context(noWebhook));
  t.same(cfg.findings.map((f) => f.rule), ['MG301'], 'a new webhook served by STRICT pods');
  t.equal(cfg.review.response.allowed, true);
});

t.test('NetworkPolicy writes: MG303 for ambient pods without HBONE', async (t) => {
  const np: KubeObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'operator-only-9443', namespace: NS },
    spec: { podSelector: { matchLabels: { app: 'operator' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 9443 }] }] },
  };
  const out = admit(review('NetworkPolicy', np), 'validate', context(cluster()));
  t.same(out.findings.map((f) => [f.rule, f.severity, f.action]), [['MG303', 'error', 'warn']]);
  t.equal(out.review.response.allowed, true);
});

t.test('off, not synced, or not a write: nothing is analysed', async (t) => {
  const index = cluster();
  const off = admit(review('PeerAuthentication', pa('hooks-strict', 'STRICT')), 'validate', context(index, DEFAULT_CONFIG));
  t.equal(off.decision, 'skipped', 'option off: a PeerAuthentication is not a target');
  const unsynced = admit(review('PeerAuthentication', pa('hooks-strict', 'STRICT')), 'validate', { view: index, config: ON });
  t.equal(unsynced.decision, 'skipped', 'no index yet: allowed, nothing said');
  t.equal(unsynced.review.response.allowed, true);
  const del = admit(review('PeerAuthentication', pa('hooks-strict', 'STRICT'), { operation: 'DELETE' }), 'validate', context(index));
  t.equal(del.decision, 'skipped');
  const mutate = admit(review('PeerAuthentication', pa('hooks-strict', 'STRICT')), 'mutate', context(index));
  t.equal(mutate.decision, 'skipped', 'the mutating webhook says nothing of it');
});

t.test('the object takes the request namespace when it names none', async (t) => {
  const { namespace: _ns, ...meta } = pa('hooks-strict', 'STRICT').metadata!;
  const out = admit(review('PeerAuthentication', { ...pa('hooks-strict', 'STRICT'), metadata: meta }, { namespace: NS }), 'validate', context(cluster()));
  t.same(out.findings.map((f) => f.rule), ['MG301']);
});

t.test('writeFindings and withWrite: the index before and after one write', async (t) => {
  const index = cluster();
  const strict = pa('hooks-strict', 'STRICT');
  const after = withWrite(index, strict, strict);
  t.same(after.list('PeerAuthentication', NS).map((o) => o.metadata?.name), ['hooks-strict'], 'added');
  t.equal(after.get('PeerAuthentication', NS, 'hooks-strict'), strict);
  t.same(after.list('PeerAuthentication', 'other'), [], 'other namespaces untouched');
  t.same(withWrite(withWrite(index, strict, strict), strict, undefined).list('PeerAuthentication'), [], 'taken out again');
  const relabelled = { ...service(), metadata: { ...service().metadata, labels: { a: 'b' } } };
  const svcAfter = withWrite(index, relabelled, relabelled);
  t.same(svcAfter.list('Service', NS), [relabelled], 'replaced, not added');
  t.same(svcAfter.select('Service', NS, { matchLabels: { a: 'b' } }), [relabelled], 'selected by its new labels');
  t.same(svcAfter.select('Service', NS, { matchLabels: { x: 'y' } }), []);
  t.equal(withWrite(index, operatorPod, operatorPod).list('Pod', NS).length, 1, 'a Pod replaced by itself');
  t.same(writeFindings(operatorPod, undefined, index, { config: ON, podMode: 'live', complete: true }), [], 'a kind that is not analysed');
});
