// The escape hatch meshguard.io/ignore=true: honoured on namespaces always, on workloads,
// templates and pods only when the configuration says so; a skip says where its label sits.
import t from 'tap';
import { parseConfigText } from '../../../cli/config-file.js';
import { DEFAULT_CONFIG, type PolicyConfig } from '../../../policies/config.js';
import { mutateObject, validateObject } from '../../../policies/review.js';
import { createMetrics } from '../../../server/metrics.js';
import { antflyCluster, antflyLabels, namespace, NS, pod, runMutate, runValidate, statefulSet, view } from './fixtures/objects.js';

const IGNORE = { 'meshguard.io/ignore': 'true' };
const MESHED = antflyCluster({ serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } } });
const PLAIN_NS = namespace();
const OBJECTS_ALLOWED: PolicyConfig = { ...DEFAULT_CONFIG, ignoreLabel: { objects: true } };

// A pod of a meshed cluster without a proxy: exactly what the mixed-injection guard stops.
const unmeshedPod = (labels = antflyLabels(), extra: Record<string, unknown> = {}) => ({ ...pod(labels), ...extra });
const labelledWorkload = () => ({ ...statefulSet(), metadata: { name: 'ac-data', namespace: NS, labels: IGNORE } });

t.test('by default the label on a pod, workload or template changes nothing: the guard still denies', async (t) => {
  const cases = [
    ['pod', unmeshedPod(antflyLabels('ac', IGNORE))],
    ['workload', labelledWorkload()],
    ['template', statefulSet(antflyLabels('ac', IGNORE))],
  ] as const;
  for (const [what, obj] of cases) {
    const v = runValidate(obj, view(PLAIN_NS, MESHED));
    t.equal(v.decision, 'denied', `${what}: denied`);
    t.match(v.review.response.status?.message, /MG201/, what);
    t.equal(v.ignoredBy, undefined);
    t.equal(mutateObject(obj, NS, view(PLAIN_NS, MESHED), DEFAULT_CONFIG).type, 'judged', `${what}: mutated as usual`);
  }
});

t.test('on the namespace it is always honoured, and the skip says so', async (t) => {
  const ns = namespace(IGNORE);
  for (const config of [DEFAULT_CONFIG, OBJECTS_ALLOWED]) {
    const v = runValidate(unmeshedPod(), view(ns, MESHED), {}, config);
    t.equal(v.decision, 'skipped');
    t.equal(v.ignoredBy, 'namespace');
    t.same(validateObject(unmeshedPod(), NS, view(ns, MESHED), config, 'live'), { type: 'skipped', reason: 'ignored', by: 'namespace' });
  }
  t.same(validateObject(MESHED, NS, view(ns), DEFAULT_CONFIG, 'live'), { type: 'skipped', reason: 'ignored', by: 'namespace' }, 'cluster CRs too');
});

t.test('with ignoreLabel.objects the skip records whether the pod, workload or template carries it', async (t) => {
  const cases = [
    ['pod', unmeshedPod(antflyLabels('ac', IGNORE))],
    ['workload', labelledWorkload()],
    ['template', statefulSet(antflyLabels('ac', IGNORE))],
  ] as const;
  for (const [by, obj] of cases) {
    const v = runValidate(obj, view(PLAIN_NS, MESHED), {}, OBJECTS_ALLOWED);
    t.equal(v.decision, 'skipped', by);
    t.equal(v.ignoredBy, by);
    t.equal(runMutate(obj, view(PLAIN_NS, MESHED), {}, OBJECTS_ALLOWED).outcome.ignoredBy, by);
  }
  const cr = { ...MESHED, metadata: { ...MESHED.metadata, labels: IGNORE }, spec: { serviceMesh: { enabled: 'yes' } } };
  t.equal(runValidate(cr, view(PLAIN_NS), {}, OBJECTS_ALLOWED).decision, 'denied', 'never on a cluster CR: its spec is still validated');
  const notTrue = unmeshedPod(antflyLabels('ac', { 'meshguard.io/ignore': 'True' }));
  t.equal(runValidate(notTrue, view(PLAIN_NS, MESHED), {}, OBJECTS_ALLOWED).decision, 'denied', 'only exactly "true"');
});

t.test('the config file key ignoreLabel.objects', async (t) => {
  t.same(parseConfigText('', 'c.yaml').ignoreLabel, { objects: false }, 'off by default');
  t.same(parseConfigText('ignoreLabel:\n  objects: true\n', 'c.yaml').ignoreLabel, { objects: true });
  t.throws(() => parseConfigText('ignoreLabel:\n  pods: true\n', 'c.yaml'), /unknown field "pods"/);
  t.throws(() => parseConfigText('ignoreLabel:\n  objects: "yes"\n', 'c.yaml'), /boolean/);
});

t.test('metrics count skips by where the label sits', async (t) => {
  const m = createMetrics({ defaultMetrics: false });
  m.recordAdmission('validate', runValidate(unmeshedPod(), view(namespace(IGNORE), MESHED)), 0.001);
  m.recordAdmission('mutate', runMutate(statefulSet(antflyLabels('ac', IGNORE)), view(PLAIN_NS, MESHED), {}, OBJECTS_ALLOWED).outcome, 0.001);
  const text = await m.registry.metrics();
  t.match(text, /meshguard_ignored_objects_total\{webhook="validate",kind="Pod",by="namespace"\} 1/);
  t.match(text, /meshguard_ignored_objects_total\{webhook="mutate",kind="StatefulSet",by="template"\} 1/);
});
