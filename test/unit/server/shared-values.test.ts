// The informer caches' memory savings change no answer: a pod stripped with a shared spec
// equals the plain strip, and the policies judge it as they judge the pod the API server
// sent; the in-place replacement keeps the cached object's contents (and V8's compact
// layout for it). The property's seed is printed; replay a failure with FC_SEED=<seed>.
import fc from 'fast-check';
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { namespaceInfo, type Namespace, type Pod } from '../../../policies/k8s.js';
import { podInjection } from '../../../policies/mesh-state.js';
import { replaceContents, stripPodSharing } from '../../../server/informer-view.js';
import { stripPod } from '../../../policies/index/strip.js';
import { SharedValues } from '../../../server/shared-values.js';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const NUM_RUNS = 300;

setFlagsFromString('--allow-natives-syntax');
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
const optionalMap = (entries: [string, fc.Arbitrary<string>][]) =>
  fc.record(Object.fromEntries(entries), { requiredKeys: [], noNullPrototype: true }) as fc.Arbitrary<Record<string, string>>;
const meshKeys = (): [string, fc.Arbitrary<string>][] => [
  ['sidecar.istio.io/inject', pick('true', 'false')],
  ['sidecar.istio.io/status', pick('{}', '{"containers":["istio-proxy"]}')],
  ['istio.io/rev', pick('canary', 'default')],
  ['istio.io/dataplane-mode', pick('ambient', 'none')],
  ['linkerd.io/inject', pick('enabled', 'disabled')],
  ['linkerd.io/proxy-version', pick('stable-2.14')],
  ['consul.hashicorp.com/connect-inject', pick('true', 'false')],
  ['consul.hashicorp.com/connect-inject-status', pick('injected')],
  ['kuma.io/sidecar-injection', pick('enabled', 'disabled')],
  ['kuma.io/sidecar-injected', pick('true', 'false')],
  ['ambient.istio.io/redirection', pick('enabled', 'disabled')],
  ['app.kubernetes.io/instance', pick('ac', 'obs')],
];
const port = fc.record(
  { containerPort: fc.integer({ min: 1, max: 65535 }), name: pick('http', 'grpc', 'raft'), protocol: pick('TCP', 'UDP'), hostPort: fc.constant(9) },
  { requiredKeys: ['containerPort'], noNullPrototype: true },
);
const container = fc.record(
  {
    name: pick('app', 'istio-proxy', 'linkerd-proxy', 'consul-dataplane', 'kuma-sidecar', 'istio-init', 'istio-validation'),
    image: pick('example/x:1', 'docker.io/istio/proxyv2:1.23.0'),
    restartPolicy: pick('Always'),
    ports: fc.array(port, { maxLength: 2 }),
    args: fc.constant(['--x']),
  },
  { requiredKeys: ['name'], noNullPrototype: true },
);
/** A pod as the API server sends it, with the fields no policy reads as well. */
const podArb = fc
  .record({
    name: pick('p0', 'p1', 'p2'),
    labels: optionalMap(meshKeys()),
    annotations: optionalMap(meshKeys()),
    containers: fc.array(container, { minLength: 1, maxLength: 3 }),
    initContainers: fc.option(fc.array(container, { maxLength: 2 }), { nil: undefined }),
    hostNetwork: fc.option(fc.boolean(), { nil: undefined }),
    phase: fc.option(pick('Pending', 'Running', 'Succeeded', 'Failed'), { nil: undefined }),
    terminating: fc.boolean(),
  })
  .map(({ name, labels, annotations, containers, initContainers, hostNetwork, phase, terminating }): Pod => ({
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: {
      name, namespace: 'db', uid: `uid-${name}`, resourceVersion: '7', labels, annotations, creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [{ manager: 'kubectl' }],
      ...(terminating ? { deletionTimestamp: '2026-01-02T00:00:00Z' } : {}),
    },
    spec: { containers, ...(initContainers ? { initContainers } : {}), ...(hostNetwork !== undefined ? { hostNetwork } : {}), nodeName: 'n1', restartPolicy: 'Always' },
    status: { ...(phase ? { phase } : {}), podIP: '10.0.0.1' },
  }));
const namespaceArb = optionalMap([
  ['istio-injection', pick('enabled', 'disabled')],
  ['istio.io/dataplane-mode', pick('ambient', 'none')],
  ['istio.io/rev', pick('canary')],
  ['kuma.io/sidecar-injection', pick('enabled', 'disabled')],
  ['linkerd.io/inject', pick('enabled', 'disabled')],
]).map((labels): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'db', labels, annotations: labels } }));

t.test('a pod with a shared spec is the plain strip, and is judged as the pod the API server sent', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  const shared = new SharedValues<NonNullable<Pod['spec']>>();
  const strip = stripPodSharing(shared);
  fc.assert(
    fc.property(podArb, namespaceArb, (pod, ns) => {
      const plain = stripPod(structuredClone(pod));
      const stripped = strip(structuredClone(pod));
      const info = namespaceInfo('db', ns);
      // As the cache holds a watched pod: the event's object, its contents replaced.
      const cached = structuredClone(pod) as unknown as Record<string, unknown>;
      replaceContents(cached, strip(structuredClone(pod)) as unknown as Record<string, unknown>);
      return (
        isDeepStrictEqual(stripped, plain) &&
        isDeepStrictEqual(cached, plain) &&
        isDeepStrictEqual(podInjection(stripped, info), podInjection(pod, info)) &&
        isDeepStrictEqual(podInjection(cached as Pod, info), podInjection(pod, info))
      );
    }),
    { numRuns: NUM_RUNS, seed: SEED },
  );
});

t.test('pods with equal stripped specs share one frozen spec; others keep their own', async (t) => {
  const strip = stripPodSharing(new SharedValues());
  const pod = (name: string, port: number): Pod => ({
    metadata: { name, namespace: 'db' },
    spec: { containers: [{ name: 'app', image: `example/${name}:1`, ports: [{ containerPort: port, name: 'http', protocol: 'TCP' }] }] },
  });
  const [a, b, c] = [strip(pod('a', 80)), strip(pod('b', 80)), strip(pod('c', 81))];
  t.equal(a.spec, b.spec, 'same containers and ports (the images are not kept): one spec');
  t.not(a.spec, c.spec, 'another port: its own spec');
  t.same(c.spec, { containers: [{ name: 'app', ports: [{ containerPort: 81, name: 'http', protocol: 'TCP' }] }] });
  t.ok(Object.isFrozen(a.spec) && Object.isFrozen(a.spec!.containers![0]!.ports![0]), 'frozen all the way down');
  t.throws(() => (a.spec!.containers as unknown[]).push({}), TypeError, 'a write throws instead of changing every pod');
});

t.test('the in-place replacement keeps the contents and the compact object layout', async (t) => {
  const watched = { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'p', uid: 'u' }, spec: { nodeName: 'n' }, status: { phase: 'Running', podIP: 'x' } };
  t.ok(hasFastProperties(watched), 'an object as JSON.parse makes it');
  const stripped = stripPod(structuredClone(watched) as Pod);
  replaceContents(watched, stripped as unknown as Record<string, unknown>);
  t.strictSame(watched, stripped);
  t.ok(hasFastProperties(watched), 'no key deleted: not turned into a hash table');
  const listed = stripPod(structuredClone(watched) as Pod);
  replaceContents(listed as unknown as Record<string, unknown>, stripPod(structuredClone(listed)) as unknown as Record<string, unknown>);
  t.ok(hasFastProperties(listed), 'a list item stripped a second time stays compact');
  const noPhase: Record<string, unknown> = { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'p' }, spec: {}, status: { podIP: 'x' } };
  const noPhaseStripped = stripPod(structuredClone(noPhase) as Pod);
  replaceContents(noPhase, noPhaseStripped as unknown as Record<string, unknown>);
  t.strictSame(noPhase, noPhaseStripped);
  t.notOk('status' in noPhase, 'a key the strip drops (a status without phase) is deleted');
});
