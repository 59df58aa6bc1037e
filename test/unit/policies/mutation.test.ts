// Mutation rules 1-5 through the admission function: the patch the API server would apply.
import t, { type Test } from 'tap';
import type { KubeObject, StringMap } from '../../../policies/k8s.js';
import {
  antflyCluster, antflyLabels, cronJob, namespace, observabilityPlatform, pod, runMutate, statefulSet, templateMeta, view,
} from './fixtures/objects.js';

const cluster = (annotations?: StringMap, enabled = true, extra: Record<string, unknown> = {}) =>
  antflyCluster({ ...extra, serviceMesh: { enabled, ...(annotations ? { annotations } : {}) } });

/** Mutates, checks rule 5 on the result, and returns the run. */
const mutate = (t: Test, obj: KubeObject, objects: KubeObject[]) => {
  const v = view(...objects);
  const run = runMutate(obj, v);
  t.equal(run.response.allowed, true, 'mutation never denies');
  if (run.ops.length > 0) t.equal(run.response.patchType, 'JSONPatch');
  else t.equal(run.response.patchType, undefined, 'no patchType without a patch');
  const again = runMutate(run.result, v);
  t.same(again.ops, [], 'rule 5: mutating the mutated object yields no patch');
  return run;
};

const ISTIO_NS = namespace({ 'istio-injection': 'enabled' });
const PLAIN_NS = namespace();

t.test('istio: rules 1, 2 and 3 on a StatefulSet template', async (t) => {
  const run = mutate(t, statefulSet(), [PLAIN_NS, cluster({ 'sidecar.istio.io/inject': 'true', 'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts":true}' })]);
  const meta = templateMeta(run.result);
  t.same(meta.annotations, {
    'sidecar.istio.io/inject': 'true',
    'proxy.istio.io/config': '{"holdApplicationUntilProxyStarts":true}',
    'traffic.sidecar.istio.io/excludeInboundPorts': '9017,9021',
    'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,9021',
  });
  t.same(meta.labels, antflyLabels('ac', { 'sidecar.istio.io/inject': 'true' }), 'rule 3 adds the label form');
  t.equal(run.outcome.decision, 'patched');
  t.equal(run.outcome.patchOps, run.ops.length);
  t.ok(run.ops.every((o) => o.path.startsWith('/spec/template/metadata/')), 'only the template metadata changes');
  t.ok(run.ops.some((o) => o.path === '/spec/template/metadata/labels/sidecar.istio.io~1inject'), '"/" in keys is escaped as ~1');
  t.ok(run.ops.some((o) => o.path === '/spec/template/metadata/annotations'), 'an absent annotations map is added whole');
  t.same(run.response.warnings, undefined, 'MG206 is info, not a warning');
  t.same(run.outcome.findings.map((f) => f.rule), ['MG206'], 'one finding for both directions');
  t.match(run.outcome.findings[0]!.message, /excludeInboundPorts="9017,9021" and traffic\.sidecar\.istio\.io\/excludeOutboundPorts="9017,9021"/);
});

t.test('rule 1: the CR wins over a template value, with an MG207 warning', async (t) => {
  const sts = statefulSet(antflyLabels(), { 'sidecar.istio.io/proxyCPU': '100m', 'example.com/keep': 'me' });
  const run = mutate(t, sts, [ISTIO_NS, cluster({ 'sidecar.istio.io/proxyCPU': '500m' })]);
  const a = templateMeta(run.result).annotations!;
  t.equal(a['sidecar.istio.io/proxyCPU'], '500m');
  t.equal(a['example.com/keep'], 'me', 'other annotations are kept');
  t.equal(run.response.warnings?.length, 1);
  t.match(run.response.warnings![0]!, /^MG207: sidecar\.istio\.io\/proxyCPU="100m" replaced by "500m" from AntflyCluster db\/ac$/);
  t.ok(run.response.warnings!.every((w) => w.length <= 120));
  const full = run.outcome.findings.find((f) => f.rule === 'MG207')!;
  t.same(full.path, ['spec', 'template', 'metadata', 'annotations', 'sidecar.istio.io/proxyCPU']);
  t.match(full.message, /Set it in AntflyCluster db\/ac instead of the template/);
  const ops = run.ops.filter((o) => o.path.includes('proxyCPU'));
  t.same(ops, [{ op: 'replace', path: '/spec/template/metadata/annotations/sidecar.istio.io~1proxyCPU', value: '500m' }]);
});

t.test('rule 2: consensus ports from the CR spec, merged as a set', async (t) => {
  const custom = { metadataNodes: { metadataRaft: { port: 7000 } }, dataNodes: { raft: { port: 7001 } } };
  const run = mutate(t, statefulSet(), [ISTIO_NS, cluster({}, true, custom)]);
  t.equal(templateMeta(run.result).annotations!['traffic.sidecar.istio.io/excludeInboundPorts'], '7000,7001');
  const same = mutate(t, statefulSet(), [ISTIO_NS, cluster({}, true, { metadataNodes: { metadataRaft: { port: 9021 } } })]);
  t.equal(templateMeta(same.result).annotations!['traffic.sidecar.istio.io/excludeOutboundPorts'], '9021', 'one port twice is one entry');
  const badPort = mutate(t, statefulSet(), [ISTIO_NS, cluster({}, true, { metadataNodes: { metadataRaft: { port: 'x' } }, dataNodes: { raft: { port: 70000 } } })]);
  t.equal(templateMeta(badPort.result).annotations!['traffic.sidecar.istio.io/excludeInboundPorts'], '9017,9021', 'invalid ports fall back to the defaults');

  const existing = statefulSet(antflyLabels(), { 'traffic.sidecar.istio.io/excludeInboundPorts': '8080, 9021', 'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,9021' });
  const merged = mutate(t, existing, [ISTIO_NS, cluster()]);
  const a = templateMeta(merged.result).annotations!;
  t.equal(a['traffic.sidecar.istio.io/excludeInboundPorts'], '8080, 9021,9017', 'order and text kept, missing port appended');
  t.equal(a['traffic.sidecar.istio.io/excludeOutboundPorts'], '9017,9021');
  t.same(merged.response.warnings, undefined, 'merging into the template value is not a replacement');

  const crList = mutate(t, statefulSet(), [ISTIO_NS, cluster({ 'traffic.sidecar.istio.io/excludeOutboundPorts': '5432' })]);
  t.equal(templateMeta(crList.result).annotations!['traffic.sidecar.istio.io/excludeOutboundPorts'], '5432,9017,9021', 'the CR list is the start');
  const crListMG206 = crList.outcome.findings.filter((f) => f.rule === 'MG206');
  t.equal(crListMG206.length, 1, 'both directions in one finding');
  t.match(crListMG206[0]!.message, /excludeInboundPorts="9017,9021" and .*excludeOutboundPorts="5432,9017,9021"/);
});

// Issue 13: the CR naming the same key must not drop the template's ports.
t.test('rule 2: the template list and the CR list are merged as a set, whichever side gives the key', async (t) => {
  const sts = statefulSet(antflyLabels(), { 'traffic.sidecar.istio.io/excludeOutboundPorts': '5432' });
  const run = mutate(t, sts, [ISTIO_NS, cluster({ 'traffic.sidecar.istio.io/excludeOutboundPorts': '9017' })]);
  t.equal(templateMeta(run.result).annotations!['traffic.sidecar.istio.io/excludeOutboundPorts'], '5432,9017,9021', 'template 5432 kept');
  t.notOk(run.outcome.findings.some((f) => f.rule === 'MG207'), 'a merge replaces nothing');

  const spaced = statefulSet(antflyLabels(), { 'traffic.sidecar.istio.io/excludeInboundPorts': '8080, 8080 ,9021' });
  const r2 = mutate(t, spaced, [ISTIO_NS, cluster({ 'traffic.sidecar.istio.io/excludeInboundPorts': '9021,7000' })]);
  t.equal(templateMeta(r2.result).annotations!['traffic.sidecar.istio.io/excludeInboundPorts'], '8080, 8080 ,9021,7000,9017', 'existing text kept, CR then consensus ports appended');

  for (const [ann, keys] of [
    [{ 'linkerd.io/inject': 'enabled' }, ['config.linkerd.io/skip-inbound-ports', 'config.linkerd.io/skip-outbound-ports']],
    [{ 'consul.hashicorp.com/connect-inject': 'true' }, ['consul.hashicorp.com/transparent-proxy-exclude-inbound-ports', 'consul.hashicorp.com/transparent-proxy-exclude-outbound-ports']],
    [{ 'kuma.io/mesh': 'default' }, ['traffic.kuma.io/exclude-inbound-ports', 'traffic.kuma.io/exclude-outbound-ports']],
  ] as const) {
    const tmpl = statefulSet(antflyLabels(), { [keys[0]]: '5432', [keys[1]]: '25' });
    const r = mutate(t, tmpl, [PLAIN_NS, cluster({ ...ann, [keys[0]]: '9017', [keys[1]]: '6379' })]);
    const a = templateMeta(r.result).annotations!;
    t.equal(a[keys[0]], '5432,9017,9021', keys[0]);
    t.equal(a[keys[1]], '25,6379,9017,9021', keys[1]);
  }
});

t.test('rule 2, linkerd: the namespace config annotation is the start list', async (t) => {
  const ns = namespace({}, { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-inbound-ports': '25' });
  const run = mutate(t, statefulSet(), [ns, cluster({ 'linkerd.io/inject': 'enabled' })]);
  const a = templateMeta(run.result).annotations!;
  t.equal(a['config.linkerd.io/skip-inbound-ports'], '25,9017,9021', 'Linkerd would copy 25 onto the pod: it stays');
  t.equal(a['config.linkerd.io/skip-outbound-ports'], '4567,4568,9017,9021', 'no namespace value: the defaults');
});

t.test('rule 2, linkerd: defaults 4567,4568 when absent, ranges honoured', async (t) => {
  const ann = { 'linkerd.io/inject': 'enabled' };
  const run = mutate(t, statefulSet(), [PLAIN_NS, cluster(ann)]);
  const a = templateMeta(run.result).annotations!;
  t.equal(a['linkerd.io/inject'], 'enabled');
  t.equal(a['config.linkerd.io/skip-inbound-ports'], '4567,4568,9017,9021');
  t.equal(a['config.linkerd.io/skip-outbound-ports'], '4567,4568,9017,9021');
  t.equal(templateMeta(run.result).labels!['sidecar.istio.io/inject'], undefined, 'no istio label for linkerd');

  const ranged = statefulSet(antflyLabels(), { 'config.linkerd.io/skip-inbound-ports': '9000-9100', 'config.linkerd.io/skip-outbound-ports': '9017' });
  const r = mutate(t, ranged, [PLAIN_NS, cluster(ann)]);
  const ra = templateMeta(r.result).annotations!;
  t.equal(ra['config.linkerd.io/skip-inbound-ports'], '9000-9100', 'a range covering the ports adds nothing');
  t.equal(ra['config.linkerd.io/skip-outbound-ports'], '9017,9021', 'an existing list is not given the defaults');
  t.notOk(r.ops.some((o) => o.path.includes('skip-inbound-ports')));
  t.notOk(r.outcome.findings.some((f) => f.rule === 'MG206' && f.path.includes('config.linkerd.io/skip-inbound-ports')));
});

t.test('rule 2, consul and kuma', async (t) => {
  const consul = mutate(t, statefulSet(), [PLAIN_NS, cluster({ 'consul.hashicorp.com/connect-inject': 'true' })]);
  const c = templateMeta(consul.result).annotations!;
  t.equal(c['consul.hashicorp.com/transparent-proxy-exclude-inbound-ports'], '9017,9021');
  t.equal(c['consul.hashicorp.com/transparent-proxy-exclude-outbound-ports'], '9017,9021');
  t.equal(c['consul.hashicorp.com/connect-inject'], 'true');

  const kuma = mutate(t, statefulSet(), [namespace({ 'kuma.io/sidecar-injection': 'enabled' }), cluster()]);
  const k = templateMeta(kuma.result).annotations!;
  t.same(k, { 'traffic.kuma.io/exclude-inbound-ports': '9017,9021', 'traffic.kuma.io/exclude-outbound-ports': '9017,9021' }, 'mesh from the namespace');
});

t.test('rule 2, ambient: a warning instead of an exclusion', async (t) => {
  const run = mutate(t, statefulSet(), [namespace({ 'istio.io/dataplane-mode': 'ambient' }), cluster()]);
  t.same(run.ops, []);
  t.equal(run.outcome.decision, 'allowed');
  t.equal(run.response.warnings?.length, 1);
  t.match(run.response.warnings![0]!, /^MG206: Istio ambient cannot exclude ports: Raft on 9017,9021 goes through ztunnel$/);
  const f = run.outcome.findings.find((x) => x.rule === 'MG206')!;
  t.match(f.message, /Raft traffic on 9017,9021 goes through ztunnel/);
});

t.test('rule 3: istio label from the annotation; the CR value wins over a template label', async (t) => {
  const annOnly = statefulSet(antflyLabels(), { 'sidecar.istio.io/inject': 'true' });
  const r1 = mutate(t, annOnly, [ISTIO_NS, cluster()]);
  t.equal(templateMeta(r1.result).labels!['sidecar.istio.io/inject'], 'true');
  t.ok(r1.response.warnings?.some((w) => w.startsWith('MG105: ')), 'the annotation-only switch is a warning');

  const labelled = statefulSet(antflyLabels('ac', { 'sidecar.istio.io/inject': 'false' }), { 'sidecar.istio.io/inject': 'true' });
  const r2 = mutate(t, labelled, [ISTIO_NS, cluster()]);
  t.equal(templateMeta(r2.result).labels!['sidecar.istio.io/inject'], 'false', 'a template label is left alone when the CR says nothing');

  const crWins = mutate(t, statefulSet(antflyLabels('ac', { 'sidecar.istio.io/inject': 'false' })), [PLAIN_NS, cluster({ 'sidecar.istio.io/inject': 'true' })]);
  t.equal(templateMeta(crWins.result).labels!['sidecar.istio.io/inject'], 'true');
  t.ok(crWins.response.warnings?.some((w) => /^MG207: sidecar\.istio\.io\/inject="false" replaced by "true" from AntflyCluster db\/ac$/.test(w)));
});

t.test('rule 4: disabled cluster in an injecting namespace gets each mesh\'s opt-out', async (t) => {
  const cases: [string, KubeObject, 'labels' | 'annotations', string, string][] = [
    ['istio', ISTIO_NS, 'labels', 'sidecar.istio.io/inject', 'false'],
    ['istio rev', namespace({ 'istio.io/rev': '1-22' }), 'labels', 'sidecar.istio.io/inject', 'false'],
    ['linkerd', namespace({}, { 'linkerd.io/inject': 'enabled' }), 'annotations', 'linkerd.io/inject', 'disabled'],
    ['kuma', namespace({ 'kuma.io/sidecar-injection': 'enabled' }), 'labels', 'kuma.io/sidecar-injection', 'disabled'],
    ['ambient', namespace({ 'istio.io/dataplane-mode': 'ambient' }), 'labels', 'istio.io/dataplane-mode', 'none'],
  ];
  for (const [name, ns, field, key, value] of cases) {
    const run = mutate(t, statefulSet(), [ns, cluster({ 'example.com/x': 'y' }, false)]);
    t.equal(templateMeta(run.result)[field]?.[key], value, name);
    t.notOk(templateMeta(run.result).annotations?.['example.com/x'], `${name}: rule 1 is for enabled clusters only`);
    t.same(run.response.warnings, undefined, `${name}: adding an opt-out is not a replacement`);
  }
  // consul: by the pod's own annotation (consul has no namespace switch).
  const consul = mutate(t, statefulSet(antflyLabels(), { 'consul.hashicorp.com/connect-inject': 'true' }), [PLAIN_NS, cluster(undefined, false)]);
  t.equal(templateMeta(consul.result).annotations!['consul.hashicorp.com/connect-inject'], 'false');
  t.ok(consul.response.warnings?.some((w) => /^MG207: consul\.hashicorp\.com\/connect-inject="true" replaced by "false" from AntflyCluster/.test(w)));

  for (const ns of [PLAIN_NS, namespace({ 'istio-injection': 'disabled' }), namespace({}, { 'linkerd.io/inject': 'disabled' }), namespace({ 'kuma.io/sidecar-injection': 'disabled' })]) {
    const none = mutate(t, statefulSet(), [ns, cluster(undefined, false)]);
    t.same(none.ops, [], `no opt-out where the namespace would not inject: ${JSON.stringify(ns.metadata)}`);
  }
  const noNs = mutate(t, statefulSet(), [cluster(undefined, false)]);
  t.same(noNs.ops, [], 'unknown namespace injects nothing');
  const both = mutate(t, statefulSet(), [namespace({ 'istio-injection': 'enabled', 'istio.io/dataplane-mode': 'ambient' }), cluster(undefined, false)]);
  t.same(templateMeta(both.result).labels, antflyLabels('ac', { 'sidecar.istio.io/inject': 'false', 'istio.io/dataplane-mode': 'none' }));
});

// Issue 13: Istio ignores a switch value other than exactly true/false, so the namespace
// injects; the opt-out must then be exactly "false".
t.test('rule 4, istio: an ignored switch value is replaced by exactly "false"', async (t) => {
  for (const v of ['no', '0', 'False', 'off', 'yes']) {
    for (const [where, sts] of [
      ['label', statefulSet(antflyLabels('ac', { 'sidecar.istio.io/inject': v }))],
      ['annotation', statefulSet(antflyLabels(), { 'sidecar.istio.io/inject': v })],
    ] as const) {
      const run = mutate(t, sts, [ISTIO_NS, cluster(undefined, false)]);
      t.equal(templateMeta(run.result).labels!['sidecar.istio.io/inject'], 'false', `${where} ${v}`);
    }
  }
});

t.test('pods are mutated at the top level; CronJobs at the job template', async (t) => {
  const p = mutate(t, pod(), [ISTIO_NS, cluster({ 'sidecar.istio.io/inject': 'true' })]);
  t.ok(p.ops.every((o) => o.path.startsWith('/metadata/')));
  t.equal(p.result.metadata!.labels!['sidecar.istio.io/inject'], 'true');
  t.equal(p.result.metadata!.annotations!['traffic.sidecar.istio.io/excludeInboundPorts'], '9017,9021');

  const cj = mutate(t, cronJob(), [ISTIO_NS, cluster()]);
  t.ok(cj.ops.length > 0);
  t.ok(cj.ops.every((o) => o.path.startsWith('/spec/jobTemplate/spec/template/metadata/')));
  t.equal(templateMeta(cj.result).annotations!['traffic.sidecar.istio.io/excludeOutboundPorts'], '9017,9021');
  const bare = runMutate({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x', namespace: 'db' }, spec: {} }, view(ISTIO_NS, cluster()));
  t.same(bare.ops, []);
});

t.test('what is never touched', async (t) => {
  const objs = [ISTIO_NS, cluster({ 'sidecar.istio.io/inject': 'true' })];
  const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'db', labels: antflyLabels() }, data: {} };
  const untouched: [string, KubeObject, KubeObject[]][] = [
    ['ConfigMap', cm, objs],
    ['StatefulSet of another app', statefulSet({ app: 'web' }), objs],
    ['Deployment in a foreign API group', { ...statefulSet(), apiVersion: 'example.com/v1', kind: 'Deployment' }, objs],
    ['pod of a cluster that does not exist', pod(antflyLabels('other')), objs],
    ['ignored namespace', statefulSet(), [namespace({ 'istio-injection': 'enabled', 'meshguard.io/ignore': 'true' }), objs[1]!]],
    ['the cluster CR itself', cluster({ 'sidecar.istio.io/inject': 'true' }), objs],
  ];
  for (const [name, obj, objects] of untouched) {
    const run = runMutate(obj, view(...objects));
    t.same(run.ops, [], name);
    t.equal(run.response.allowed, true, name);
    t.equal(run.response.patch, undefined, name);
  }
  const ignoredNs = [namespace({ 'istio-injection': 'enabled', 'meshguard.io/ignore': 'true' }), objs[1]!];
  const ignored = runMutate(pod(antflyLabels('ac')), view(...ignoredNs));
  t.equal(ignored.outcome.ignoredBy, 'namespace');
  t.equal(ignored.outcome.decision, 'skipped');
  const notIgnored = runMutate(pod(antflyLabels('ac')), view(namespace({ 'istio-injection': 'enabled', 'meshguard.io/ignore': 'yes' }), objs[1]!));
  t.ok(notIgnored.ops.length > 0, 'only "true" ignores');
});

t.test('ObservabilityPlatform pods: targets by their platform label', async (t) => {
  const labels = { 'observability.io/platform': 'obs' };
  const enabled = mutate(t, statefulSet(labels), [ISTIO_NS, observabilityPlatform({ serviceMesh: { enabled: true, type: 'istio' } })]);
  t.same(enabled.ops, [], 'no consensus ports and no annotations to apply');
  const disabled = mutate(t, statefulSet(labels), [ISTIO_NS, observabilityPlatform({ serviceMesh: { enabled: false } })]);
  t.equal(templateMeta(disabled.result).labels!['sidecar.istio.io/inject'], 'false');
});

t.test('rule 3 never writes a label value Kubernetes would reject', async (t) => {
  // The copy must not make the API server refuse the whole object with an unrelated label error;
  // the bad switch itself is MG103 at the validating webhook.
  const bad = statefulSet(antflyLabels(), { 'sidecar.istio.io/inject': 'yes please' });
  const run = mutate(t, bad, [ISTIO_NS, cluster()]);
  t.equal(templateMeta(run.result).labels!['sidecar.istio.io/inject'], undefined);
  t.equal(templateMeta(run.result).annotations!['sidecar.istio.io/inject'], 'yes please', 'the annotation is left as written');
  const long = statefulSet(antflyLabels(), { 'sidecar.istio.io/inject': 'y'.repeat(64) });
  t.equal(templateMeta(mutate(t, long, [ISTIO_NS, cluster()]).result).labels!['sidecar.istio.io/inject'], undefined);
  const fine = statefulSet(antflyLabels(), { 'sidecar.istio.io/inject': 'false' });
  t.equal(templateMeta(mutate(t, fine, [ISTIO_NS, cluster()]).result).labels!['sidecar.istio.io/inject'], 'false');
});
