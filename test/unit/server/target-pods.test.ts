// The live view's target pod index keeps each cluster's injection count as pods and
// namespaces come, change and go: after any sequence of such events its counts and its
// cluster pod lists equal countMeshed over a plain list of the same objects.
// The property's seed is printed; replay a failure with FC_SEED=<seed>.
import fc from 'fast-check';
import t from 'tap';
import { PlainObjectIndex } from '../../../policies/index/object-index.js';
import type { KubeObject, Namespace, Pod } from '../../../policies/k8s.js';
import { countMeshed } from '../../../policies/mesh-state.js';
import { MESH_NAMES } from '../../../policies/meshes/types.js';
import { ANTFLY, OBSERVABILITY_PLATFORM, type TargetProfile } from '../../../policies/targets/profile.js';
import { podSelectorOf } from '../../../policies/targets/resolve.js';
import { TargetPodIndex } from '../../../server/target-pods.js';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const NUM_RUNS = 200;

const NAMESPACES = ['db', 'other'];
const CLUSTERS = ['ac', 'obs', 'x'];
// A profile whose pod labels name its own cluster-name label: podSelectorOf overrides it.
const ODD: TargetProfile = { ...ANTFLY, name: 'odd', podLabels: { tier: 'db', 'app.kubernetes.io/instance': 'ac' } };
const PROFILES = [ANTFLY, OBSERVABILITY_PLATFORM, ODD];

const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
const optionalMap = (entries: [string, fc.Arbitrary<string>][]) =>
  fc.record(Object.fromEntries(entries), { requiredKeys: [], noNullPrototype: true }) as fc.Arbitrary<Record<string, string>>;

const podLabels = optionalMap([
  ['app.kubernetes.io/name', pick('antfly-database', 'other')],
  ['app.kubernetes.io/instance', pick(...CLUSTERS)],
  ['observability.io/platform', pick(...CLUSTERS)],
  ['tier', pick('db', 'web')],
  ['sidecar.istio.io/inject', pick('true', 'false')],
  ['istio.io/dataplane-mode', pick('ambient', 'none')],
  ['istio.io/rev', pick('canary', 'default')],
]);
const podAnnotations = optionalMap([
  ['sidecar.istio.io/inject', pick('true', 'false')],
  ['sidecar.istio.io/status', pick('{}', '{"containers":["istio-proxy"]}')],
  ['linkerd.io/inject', pick('enabled', 'disabled')],
  ['linkerd.io/proxy-version', pick('stable-2.14')],
  ['consul.hashicorp.com/connect-inject-status', pick('injected')],
  ['kuma.io/sidecar-injected', pick('true', 'false')],
  ['ambient.istio.io/redirection', pick('enabled', 'disabled')],
]);
const container = fc.record({ name: pick('app', 'istio-proxy', 'linkerd-proxy', 'consul-dataplane', 'kuma-sidecar', 'istio-init') }, { noNullPrototype: true });
const podArb = fc
  .record({
    namespace: pick(...NAMESPACES),
    name: pick('p0', 'p1', 'p2', 'p3'),
    labels: podLabels,
    annotations: podAnnotations,
    containers: fc.array(container, { minLength: 1, maxLength: 3 }),
    initContainers: fc.array(container, { maxLength: 1 }),
    phase: fc.option(pick('Pending', 'Running', 'Succeeded', 'Failed'), { nil: undefined }),
    terminating: fc.boolean(),
  })
  .map(({ namespace, name, labels, annotations, containers, initContainers, phase, terminating }): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels, annotations, ...(terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { containers, initContainers },
    ...(phase ? { status: { phase } } : {}),
  }));
const namespaceArb = fc
  .record({
    name: pick(...NAMESPACES),
    labels: optionalMap([
      ['istio-injection', pick('enabled', 'disabled')],
      ['istio.io/dataplane-mode', pick('ambient', 'none')],
      ['istio.io/rev', pick('canary')],
      ['kuma.io/sidecar-injection', pick('enabled', 'disabled')],
    ]),
    annotations: optionalMap([['linkerd.io/inject', pick('enabled', 'disabled')]]),
  })
  .map(({ name, labels, annotations }): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, annotations } }));

type Event = { type: 'pod'; pod: Pod } | { type: 'pod-delete'; pod: Pod } | { type: 'ns'; ns: Namespace } | { type: 'ns-delete'; ns: Namespace };
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 5, arbitrary: podArb.map((pod) => ({ type: 'pod' as const, pod })) },
  { weight: 2, arbitrary: podArb.map((pod) => ({ type: 'pod-delete' as const, pod })) },
  { weight: 2, arbitrary: namespaceArb.map((ns) => ({ type: 'ns' as const, ns })) },
  { weight: 1, arbitrary: namespaceArb.map((ns) => ({ type: 'ns-delete' as const, ns })) },
);

const key = (o: KubeObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
const names = (pods: readonly Pod[]) => pods.map((p) => p.metadata?.name).sort().join(',');

t.test('counts and cluster pod lists equal countMeshed over a plain list after any pod/namespace events (property)', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  let compared = 0;
  let meshedSeen = 0;
  fc.assert(
    fc.property(fc.array(eventArb, { maxLength: 25 }), (events) => {
      const pods = new Map<string, Pod>();
      const namespaces = new Map<string, Namespace>();
      const indexes = PROFILES.map((p) => new TargetPodIndex(p, (name) => namespaces.get(name)));
      for (const e of events) {
        // As the informers do: the cache changes, then the index hears of it.
        if (e.type === 'pod') pods.set(key(e.pod), e.pod);
        if (e.type === 'pod-delete') pods.delete(key(e.pod));
        if (e.type === 'ns') namespaces.set(e.ns.metadata!.name!, e.ns);
        if (e.type === 'ns-delete') namespaces.delete(e.ns.metadata!.name!);
        for (const index of indexes) {
          if (e.type === 'pod') index.put(e.pod);
          else if (e.type === 'pod-delete') index.delete({ metadata: { name: e.pod.metadata!.name!, namespace: e.pod.metadata!.namespace! } });
          else index.namespaceChanged(e.ns.metadata!.name!);
        }
        const plain = new PlainObjectIndex([...namespaces.values(), ...pods.values()]);
        for (const index of indexes) {
          for (const namespace of NAMESPACES) {
            for (const cluster of CLUSTERS) {
              const selector = podSelectorOf(index.profile, cluster);
              const listed = plain.listPods(namespace, selector);
              const ns = { name: namespace, labels: namespaces.get(namespace)?.metadata?.labels ?? {}, annotations: namespaces.get(namespace)?.metadata?.annotations ?? {}, known: namespaces.has(namespace) };
              if (names(index.select(namespace, selector) ?? []) !== names(listed)) return false;
              for (const mesh of [undefined, ...MESH_NAMES]) {
                const want = countMeshed(listed, ns, mesh);
                const got = index.count(namespace, cluster, mesh);
                if (got.meshed !== want.meshed || got.total !== want.total) return false;
                compared++;
                if (want.meshed > 0) meshedSeen++;
              }
            }
            // A selector naming no cluster of the profile: the index cannot answer it.
            if (index.select(namespace, index.profile.podLabels) !== undefined && !(index.profile.clusterNameLabel in index.profile.podLabels)) return false;
          }
        }
      }
      return true;
    }),
    { numRuns: NUM_RUNS, seed: SEED },
  );
  // The generators make meshed pods often enough that the meshed side of the count is exercised.
  t.ok(meshedSeen >= 100, `meshed pods were counted (${meshedSeen} of ${compared} comparisons)`);
});

t.test('a namespace label decides ambient enrolment: the count follows the namespace, not only the pods', async (t) => {
  const namespaces = new Map<string, Namespace>();
  const index = new TargetPodIndex(ANTFLY, (name) => namespaces.get(name));
  const pod = (name: string): Pod => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'db', labels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'ac' } },
    spec: { containers: [{ name: 'app' }] }, status: { phase: 'Running' },
  });
  for (let i = 0; i < 3; i++) index.put(pod(`ac-${i}`));
  t.same(index.count('db', 'ac'), { meshed: 0, total: 3 });
  namespaces.set('db', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db', labels: { 'istio.io/dataplane-mode': 'ambient' } } });
  index.namespaceChanged('db');
  t.same(index.count('db', 'ac'), { meshed: 3, total: 3 });
  t.same(index.count('db', 'ac', 'istio-ambient'), { meshed: 3, total: 3 });
  t.same(index.count('db', 'ac', 'istio'), { meshed: 0, total: 3 });
  // A pod relabelled to another cluster moves; a deleted one goes.
  index.put({ ...pod('ac-0'), metadata: { ...pod('ac-0').metadata, labels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'bc' } } });
  index.delete({ metadata: { name: 'ac-1', namespace: 'db' } });
  t.same(index.count('db', 'ac'), { meshed: 1, total: 1 });
  t.same(index.count('db', 'bc'), { meshed: 1, total: 1 });
  namespaces.delete('db');
  index.namespaceChanged('db');
  t.same(index.count('db', 'ac'), { meshed: 0, total: 1 });
  t.same(index.count('elsewhere', 'ac'), { meshed: 0, total: 0 });
  t.same(index.select('db', { 'app.kubernetes.io/instance': 'ac' }), undefined, 'a selector without the profile labels is not answered');
});
