// Mixed-injection rules MG201-MG205 at the validating webhook: live pods by their proxy,
// workload templates by prediction.
import t from 'tap';
import type { KubeObject, StringMap } from '../../../policies/k8s.js';
import { DEFAULT_CONFIG } from '../../../policies/config.js';
import { validateObject } from '../../../policies/review.js';
import {
  antflyCluster, antflyLabels, container, namespace, NS, pod, rules, runMutate, runValidate, specWith, statefulSet, view,
} from './fixtures/objects.js';

const cluster = (enabled: boolean, annotations?: StringMap) => antflyCluster({ serviceMesh: { enabled, ...(annotations ? { annotations } : {}) } });
const ISTIO_NS = namespace({ 'istio-injection': 'enabled' });
const PLAIN_NS = namespace();
const AMBIENT_NS = namespace({ 'istio.io/dataplane-mode': 'ambient' });

const istioPod = (name = 'ac-metadata-0') => pod(antflyLabels(), { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' }, specWith([container('istio-proxy')], [container('istio-init')]), name);
const plainPod = (name = 'ac-metadata-0') => pod(antflyLabels(), undefined, specWith(), name);

const validate = (obj: KubeObject, objects: KubeObject[], opts = {}) => {
  const res = runValidate(obj, view(...objects), opts);
  const r = res.review.response;
  return { res, r, rules: rules(res).filter((x) => x.startsWith('MG2')) };
};

// Issue 13: Istio ignores any switch value but exactly true/false; the namespace decides.
t.test('templates: an inject switch Istio ignores is a warning, and the namespace decides', async (t) => {
  const labelled = (v: string) => statefulSet(antflyLabels('ac', { 'sidecar.istio.io/inject': v }));
  const enabled = validate(labelled('False'), [ISTIO_NS, cluster(true)]);
  t.same(enabled.rules, [], 'enabled cluster, label "False": Istio injects, no MG201');
  t.equal(enabled.r.allowed, true);
  const w = rules(enabled.res).filter((x) => x === 'MG103');
  t.same(w, ['MG103'], 'the ignored value is reported');
  t.ok(enabled.r.warnings?.some((x) => /^MG103: label sidecar\.istio\.io\/inject="False" is ignored by the mesh/.test(x)), 'as a warning');
  for (const v of ['no', '0']) {
    const disabled = validate(labelled(v), [ISTIO_NS, cluster(false)]);
    t.same(disabled.rules, ['MG202'], `disabled cluster, label ${v}: Istio injects, so meshguard refuses it unmutated`);
    const mutated = runMutate(labelled(v), view(ISTIO_NS, cluster(false))).result;
    t.same(validate(mutated, [ISTIO_NS, cluster(false)]).rules, [], `after meshguard's opt-out (${v} → false) it passes`);
  }
});

t.test('live pods: the proxy decides, a logging sidecar is not a proxy', async (t) => {
  const meshed = [ISTIO_NS, cluster(true, { 'sidecar.istio.io/inject': 'true' })];
  t.equal(validate(istioPod(), meshed).r.allowed, true, 'istio-proxy container');
  const native = pod(antflyLabels(), undefined, specWith([], [container('istio-proxy', { restartPolicy: 'Always' })]));
  t.equal(validate(native, meshed).r.allowed, true, 'native sidecar counts');
  const plainInit = pod(antflyLabels(), undefined, specWith([], [container('istio-proxy')]));
  t.same(validate(plainInit, meshed).rules, ['MG201'], 'an init container without restartPolicy: Always is not a proxy');
  const logging = pod(antflyLabels(), undefined, specWith([container('fluent-bit')]));
  const d = validate(logging, [...meshed, istioPod('ac-metadata-1'), plainPod('ac-metadata-2')]);
  t.same(d.rules, ['MG201']);
  t.equal(d.r.allowed, false);
  t.equal(d.r.status?.code, 403);
  const msg = d.r.status!.message;
  t.match(msg, /\[MG201\] Pod db\/ac-metadata-0 runs without the Istio proxy, but AntflyCluster db\/ac has serviceMesh\.enabled: true \(1\/2 of its pods are meshed now\)/);
  t.match(msg, /Istio's rules say it should be injected \(namespace label istio-injection=enabled injects the namespace, and the pod does not opt out\), so its injector did not run: check the mesh's mutating webhook .* and recreate the pod\./, 'says how to fix it');
  t.equal(d.res.decision, 'denied');

  const linkerd = [PLAIN_NS, cluster(true, { 'linkerd.io/inject': 'enabled' })];
  t.equal(validate(pod(antflyLabels(), undefined, specWith([container('linkerd-proxy')])), linkerd).r.allowed, true);
  t.equal(validate(pod(antflyLabels(), undefined, specWith([], [container('linkerd-proxy', { restartPolicy: 'Always' })])), linkerd).r.allowed, true);
  t.same(validate(plainPod(), linkerd).rules, ['MG201'], 'live: the annotation alone is not a proxy');
  const consul = [PLAIN_NS, cluster(true, { 'consul.hashicorp.com/connect-inject': 'true' })];
  t.equal(validate(pod(antflyLabels(), undefined, specWith([container('consul-dataplane')])), consul).r.allowed, true);
  t.equal(validate(pod(antflyLabels(), { 'consul.hashicorp.com/connect-inject-status': 'injected' }, specWith()), consul).r.allowed, true);
  const kuma = [namespace({ 'kuma.io/sidecar-injection': 'enabled' }), cluster(true)];
  t.equal(validate(pod(antflyLabels(), undefined, specWith([container('kuma-sidecar')])), kuma).r.allowed, true);
  t.same(validate(plainPod(), kuma).rules, ['MG201']);
});

t.test('MG202: a meshed pod of an unmeshed cluster', async (t) => {
  const d = validate(istioPod(), [ISTIO_NS, cluster(false), plainPod('ac-metadata-1'), plainPod('ac-metadata-2')]);
  t.same(d.rules, ['MG202']);
  t.match(d.r.status?.message, /\[MG202\] Pod db\/ac-metadata-0 runs with the Istio proxy \(container "istio-proxy"\), but AntflyCluster db\/ac has serviceMesh\.enabled: false \(0\/2 of its pods are meshed now\)/);
  t.match(d.r.status?.message, /opt the pod out of the mesh .* or enable the mesh in AntflyCluster db\/ac/);
  t.equal(validate(plainPod(), [ISTIO_NS, cluster(false)]).r.allowed, true, 'live: an unmeshed pod is fine even in an injecting namespace');
  t.equal(validate(pod(antflyLabels(), { 'kuma.io/sidecar-injected': 'true' }), [PLAIN_NS, cluster(false)]).r.allowed, false);
});

t.test('MG203: another mesh than the cluster\'s', async (t) => {
  const d = validate(pod(antflyLabels(), undefined, specWith([container('linkerd-proxy')])), [ISTIO_NS, cluster(true, { 'sidecar.istio.io/inject': 'true' })]);
  t.same(d.rules, ['MG203']);
  t.match(d.r.status?.message, /runs with the Linkerd proxy .*but AntflyCluster db\/ac is meshed by Istio\. .*remove the Linkerd injection settings/);
  const both = validate(pod(antflyLabels(), undefined, specWith([container('istio-proxy'), container('linkerd-proxy')])), [ISTIO_NS, cluster(true, { 'sidecar.istio.io/inject': 'true' })]);
  t.same(both.rules, ['MG203'], 'its own proxy does not excuse a second one');
});

t.test('MG204: the cluster CR does not exist', async (t) => {
  const d = validate(istioPod(), [ISTIO_NS]);
  t.equal(d.r.allowed, true);
  t.same(d.rules, ['MG204']);
  t.equal(d.r.warnings?.length, 1);
  t.match(d.r.warnings![0]!, /^MG204: AntflyCluster db\/ac not found; mesh state not checked$/);
  t.ok(d.r.warnings![0]!.length <= 120);
  const f = d.res.findings.find((x) => x.rule === 'MG204')!;
  t.match(f.message, /Create the AntflyCluster first or fix the label/);
  t.same(f.path, ['metadata', 'labels', 'app.kubernetes.io/instance']);
  const tmpl = validate(statefulSet(), [ISTIO_NS]);
  t.same(tmpl.res.findings.find((x) => x.rule === 'MG204')!.path, ['spec', 'template', 'metadata', 'labels', 'app.kubernetes.io/instance']);
});

t.test('MG205: hostNetwork in a meshed cluster', async (t) => {
  const host = pod(antflyLabels(), undefined, specWith([], [], { hostNetwork: true }));
  const d = validate(host, [ISTIO_NS, cluster(true)]);
  t.same(d.rules, ['MG205'], 'no extra MG201 for the same pod');
  t.match(d.r.status?.message, /\[MG205\] Pod db\/ac-metadata-0 uses hostNetwork, but AntflyCluster db\/ac is meshed.*Remove hostNetwork: true\. \(field spec\.hostNetwork\)/);
  t.equal(validate(host, [ISTIO_NS, cluster(false)]).r.allowed, true, 'fine when the cluster is not meshed');
  const tmpl = validate(statefulSet(antflyLabels(), undefined, specWith([], [], { hostNetwork: true })), [ISTIO_NS, cluster(true)]);
  t.same(tmpl.rules, ['MG205']);
  t.same(tmpl.res.findings.find((x) => x.rule === 'MG205')!.path, ['spec', 'template', 'spec', 'hostNetwork']);
});

t.test('templates are predicted', async (t) => {
  t.equal(validate(statefulSet(), [ISTIO_NS, cluster(true)]).r.allowed, true, 'namespace injects');
  const noInject = validate(statefulSet(), [PLAIN_NS, cluster(true)]);
  t.same(noInject.rules, ['MG201']);
  t.match(noInject.r.status?.message, /StatefulSet db\/ac-metadata would run without the mesh proxy, but AntflyCluster db\/ac has serviceMesh\.enabled: true \(0\/0 of its pods are meshed now\).*Add the mesh's annotations to AntflyCluster db\/ac's spec\.serviceMesh\.annotations or label the namespace/);
  t.match(noInject.r.status?.message, /\(field spec\.template\.metadata\)/);
  const optOut = validate(statefulSet(antflyLabels('ac', { 'sidecar.istio.io/inject': 'false' })), [ISTIO_NS, cluster(true)]);
  t.same(optOut.rules, ['MG201']);
  t.match(optOut.r.status?.message, /would run without the Istio proxy.*Istio would not inject it: namespace label istio-injection=enabled injects the namespace, but the pod label sidecar\.istio\.io\/inject=false opts this pod out\. Fix that, then recreate the pod\./);
  t.same(validate(statefulSet(), [ISTIO_NS, cluster(false)]).rules, ['MG202'], 'a template an injecting namespace would mesh');
  t.same(validate(statefulSet(antflyLabels('ac', { 'sidecar.istio.io/inject': 'false' })), [ISTIO_NS, cluster(false)]).rules, []);
  t.same(validate(statefulSet(antflyLabels(), { 'linkerd.io/inject': 'enabled' }), [ISTIO_NS, cluster(true)]).rules, ['MG203'], 'a template that asks for linkerd in an istio cluster');
  const pred = validateObject(plainPod(), NS, view(PLAIN_NS, cluster(true, { 'linkerd.io/inject': 'enabled' })), DEFAULT_CONFIG, 'predict');
  t.same(rules(pred), ['MG201'], 'offline pods are predicted like templates');
  const pred2 = validateObject(pod(antflyLabels(), { 'linkerd.io/inject': 'enabled' }), NS, view(PLAIN_NS, cluster(true, { 'linkerd.io/inject': 'enabled' })), DEFAULT_CONFIG, 'predict');
  t.same(rules(pred2), []);
});

t.test('the mutating webhook\'s output passes the validating webhook', async (t) => {
  const setups: [string, KubeObject[]][] = [
    ['istio via CR', [PLAIN_NS, cluster(true, { 'sidecar.istio.io/inject': 'true' })]],
    ['linkerd via CR', [PLAIN_NS, cluster(true, { 'linkerd.io/inject': 'enabled' })]],
    ['consul via CR', [PLAIN_NS, cluster(true, { 'consul.hashicorp.com/connect-inject': 'true' })]],
    ['kuma ns', [namespace({ 'kuma.io/sidecar-injection': 'enabled' }), cluster(true)]],
    ['disabled in istio ns', [ISTIO_NS, cluster(false)]],
    ['disabled in linkerd ns', [namespace({}, { 'linkerd.io/inject': 'enabled' }), cluster(false)]],
    ['disabled in ambient ns', [AMBIENT_NS, cluster(false)]],
    ['disabled in istio+ambient ns', [namespace({ 'istio-injection': 'enabled', 'istio.io/dataplane-mode': 'ambient' }), cluster(false)]],
  ];
  for (const [name, objects] of setups) {
    const m = runMutate(statefulSet(), view(...objects));
    const v = validate(m.result, objects);
    t.equal(v.r.allowed, true, name);
    t.same(v.r.warnings, undefined, name);
  }
  const consulDefault = { ...DEFAULT_CONFIG, mesh: { consulDefaultInject: true } };
  const objects = [namespace({}, { 'linkerd.io/inject': 'enabled' }), cluster(false)];
  const m = runMutate(statefulSet(), view(...objects), {}, consulDefault);
  t.equal(m.result.spec.template.metadata.annotations['linkerd.io/inject'], 'disabled');
  t.equal(m.result.spec.template.metadata.annotations['consul.hashicorp.com/connect-inject'], 'false');
  const v = runValidate(m.result, view(...objects), {}, consulDefault);
  t.equal(v.review.response.allowed, true, 'opting out of two meshes is not "annotations of two meshes"');
});

t.test('ambient: enrolment by labels', async (t) => {
  const meshed = [AMBIENT_NS, cluster(true)];
  t.equal(validate(plainPod(), meshed).r.allowed, true, 'the namespace label enrols the pod');
  const out = validate(pod(antflyLabels('ac', { 'istio.io/dataplane-mode': 'none' })), meshed);
  t.same(out.rules, ['MG201']);
  t.match(out.r.status?.message, /without the Istio ambient proxy.*pod label istio\.io\/dataplane-mode=none opts this pod out/);
  const sidecar = validate(istioPod(), meshed);
  t.same(sidecar.rules, ['MG203'], 'a sidecar in an ambient cluster is another mesh');
  t.match(sidecar.r.status?.message, /with the Istio proxy .*is meshed by Istio ambient/);
  t.equal(validate(pod(antflyLabels('ac', { 'istio.io/dataplane-mode': 'ambient' })), [PLAIN_NS, cluster(true)]).r.allowed, true, 'pod label enrols the pod');
  t.same(validate(plainPod(), [AMBIENT_NS, cluster(false)]).rules, ['MG202'], 'enrolled pod of a disabled cluster');
  t.equal(validate(pod(antflyLabels('ac', { 'istio.io/dataplane-mode': 'none' })), [AMBIENT_NS, cluster(false)]).r.allowed, true);
  t.same(validate(statefulSet(), [AMBIENT_NS, cluster(false)]).rules, ['MG202'], 'template prediction');
});

t.test('rollouts: the new desired state is always allowed', async (t) => {
  const oldPods = [plainPod('ac-metadata-1'), plainPod('ac-metadata-2'), plainPod('ac-data-0')];
  const enabling = validate(istioPod(), [ISTIO_NS, cluster(true, { 'sidecar.istio.io/inject': 'true' }), ...oldPods]);
  t.equal(enabling.r.allowed, true, 'cluster enabled, old pods unmeshed, new meshed pod allowed');
  t.same(enabling.r.warnings, undefined);
  const meshedPods = [istioPod('ac-metadata-1'), istioPod('ac-metadata-2')];
  const disabling = validate(plainPod(), [ISTIO_NS, cluster(false), ...meshedPods]);
  t.equal(disabling.r.allowed, true, 'cluster disabled, old pods meshed, new unmeshed pod allowed');
  const stale = validate(plainPod('ac-metadata-9'), [ISTIO_NS, cluster(true), ...oldPods]);
  t.same(stale.rules, ['MG201'], 'the old state is not');
  t.match(stale.r.status?.message, /0\/3 of its pods are meshed now/);
  const leaving = { ...istioPod('ac-metadata-3'), metadata: { ...istioPod('ac-metadata-3').metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } };
  const succeeded = { ...istioPod('ac-metadata-4'), status: { phase: 'Succeeded' } };
  const counted = validate(plainPod('ac-metadata-9'), [ISTIO_NS, cluster(true), ...oldPods, istioPod('ac-metadata-5'), leaving, succeeded]);
  t.match(counted.r.status?.message, /1\/4 of its pods are meshed now/, 'terminating and finished pods do not count');
});

t.test('UPDATE that does not make things worse is allowed with a warning', async (t) => {
  const objects = [ISTIO_NS, cluster(true)];
  const bad = pod(antflyLabels('ac', { tier: 'x' }), undefined, specWith());
  const same = validate(bad, objects, { operation: 'UPDATE', oldObject: plainPod() });
  t.equal(same.r.allowed, true);
  t.match(same.r.warnings?.[0], /^MG201: /);
  t.match(same.res.findings[0]!.message, /\(allowed: the object was already in this state\)$/);
  t.equal(same.res.findings[0]!.severity, 'warning');
  const deleting = { ...bad, metadata: { ...bad.metadata, deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: [] } };
  t.equal(validate(deleting, objects, { operation: 'UPDATE', oldObject: istioPod() }).r.allowed, true, 'an object being deleted');
  const worse = validate(statefulSet(antflyLabels('ac', { 'sidecar.istio.io/inject': 'false' })), objects, { operation: 'UPDATE', oldObject: statefulSet() });
  t.equal(worse.r.allowed, false, 'an UPDATE that introduces the error is denied');
  t.same(worse.rules, ['MG201']);
  const noOld = validate(bad, objects, { operation: 'UPDATE' });
  t.equal(noOld.r.allowed, false, 'without oldObject nothing is forgiven');
});

// kumahq/kuma precheck.go needToInject reads the pod label with GetEnabled; any other value
// is an error, which the webhook returns as a refusal (pod_mutator.go).
t.test('Kuma: a pod label value Kuma refuses is an MG103 error on the label', async (t) => {
  const KUMA_NS = namespace({ 'kuma.io/sidecar-injection': 'enabled' });
  const kumaCluster = cluster(true, { 'kuma.io/mesh': 'default' });
  const labelled = (v: string) => statefulSet(antflyLabels('ac', { 'kuma.io/sidecar-injection': v }));
  const bad = validate(labelled('on'), [KUMA_NS, kumaCluster]);
  t.equal(bad.r.allowed, false);
  t.ok(rules(bad.res).includes('MG103'), 'MG103');
  t.match(bad.r.status?.message, /label kuma\.io\/sidecar-injection: "on" on .*its injector refuses a pod whose label has any other value/);
  const good = validate(labelled('yes'), [KUMA_NS, kumaCluster]);
  t.notOk(rules(good.res).includes('MG103'), '"yes" is one of GetEnabled\'s spellings');
});
