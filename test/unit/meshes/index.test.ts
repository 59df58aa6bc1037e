import t from 'tap';
import { MESHES, detectProxies, meshFromNamespace, meshOfAnnotationKey, meshesOfAnnotations } from '../../../policies/meshes/index.js';
import { MESH_NAMES } from '../../../policies/meshes/types.js';
import { container, nativeSidecar, ns, pod } from './fixtures/objects.js';

t.test('registry holds every mesh under its own name', async (t) => {
  t.same(Object.keys(MESHES).sort(), [...MESH_NAMES].sort());
  for (const name of MESH_NAMES) t.equal(MESHES[name].name, name);
  t.same(MESH_NAMES.map((m) => MESHES[m].title), ['Istio', 'Istio ambient', 'Linkerd', 'Consul', 'Kuma']);
});

t.test('meshOfAnnotationKey by prefix', async (t) => {
  const cases: [string, string | undefined][] = [
    ['sidecar.istio.io/inject', 'istio'],
    ['traffic.sidecar.istio.io/excludeInboundPorts', 'istio'],
    ['proxy.istio.io/config', 'istio'],
    ['linkerd.io/inject', 'linkerd'],
    ['config.linkerd.io/skip-inbound-ports', 'linkerd'],
    ['consul.hashicorp.com/connect-inject', 'consul'],
    ['kuma.io/mesh', 'kuma'],
    ['traffic.kuma.io/exclude-inbound-ports', 'kuma'],
    ['istio.io/rev', undefined],
    ['example.com/linkerd.io', undefined],
    ['prometheus.io/scrape', undefined],
    ['inject', undefined],
  ];
  for (const [key, mesh] of cases) t.equal(meshOfAnnotationKey(key), mesh, key);
});

t.test('meshesOfAnnotations groups keys by mesh', async (t) => {
  const one = meshesOfAnnotations({ 'sidecar.istio.io/inject': 'true', 'traffic.sidecar.istio.io/excludeOutboundPorts': '9017', 'prometheus.io/scrape': 'true' });
  t.same([...one], [['istio', ['sidecar.istio.io/inject', 'traffic.sidecar.istio.io/excludeOutboundPorts']]]);
  const two = meshesOfAnnotations({ 'linkerd.io/inject': 'enabled', 'sidecar.istio.io/inject': 'true' });
  t.same([...two.keys()], ['istio', 'linkerd'], 'in MESH_NAMES order, for stable messages');
  t.equal(meshesOfAnnotations({}).size, 0);
  t.same(
    [...meshesOfAnnotations({ 'linkerd.io/inject': 'disabled', 'consul.hashicorp.com/connect-inject': 'false', 'sidecar.istio.io/inject': 'true' })],
    [['istio', ['sidecar.istio.io/inject']]],
    "a mesh's own opt-out value configures nothing (rule 4's output is not a second mesh)",
  );
});

t.test('meshFromNamespace in the DESIGN order', async (t) => {
  t.equal(meshFromNamespace(ns('db', { 'istio-injection': 'enabled' })), 'istio');
  t.equal(meshFromNamespace(ns('db', { 'istio.io/rev': 'canary' })), 'istio');
  t.equal(meshFromNamespace(ns('db', { 'istio-injection': 'enabled', 'istio.io/dataplane-mode': 'ambient' })), 'istio', 'sidecar label first');
  t.equal(meshFromNamespace(ns('db', { 'istio.io/dataplane-mode': 'ambient' })), 'istio-ambient');
  t.equal(meshFromNamespace(ns('db', { 'istio.io/dataplane-mode': 'none' })), undefined);
  t.equal(meshFromNamespace(ns('db', {}, { 'linkerd.io/inject': 'enabled' })), 'linkerd');
  t.equal(meshFromNamespace(ns('db', { 'kuma.io/sidecar-injection': 'enabled' }, { 'linkerd.io/inject': 'enabled' })), 'linkerd', 'linkerd before kuma');
  t.equal(meshFromNamespace(ns('db', { 'kuma.io/sidecar-injection': 'enabled' })), 'kuma');
  t.equal(meshFromNamespace(ns('db', { 'kubernetes.io/metadata.name': 'db' })), undefined);
});

t.test('detectProxies lists every proxy with its evidence', async (t) => {
  t.same(detectProxies(pod()), []);
  t.same(detectProxies(pod({ containers: [container('app'), container('fluent-bit'), container('otel-collector')] })), [], 'sidecars that are not mesh proxies');
  t.same(detectProxies(pod({ containers: [container('app'), container('istio-proxy')] })), [{ mesh: 'istio', reason: 'container "istio-proxy"' }]);
  const mixed = detectProxies(
    pod({
      containers: [container('linkerd-proxy'), container('app')],
      initContainers: [nativeSidecar('kuma-sidecar'), container('istio-proxy')],
      annotations: { 'consul.hashicorp.com/connect-inject-status': 'injected' },
    }),
  );
  t.same(
    mixed.map((p) => p.mesh),
    ['linkerd', 'consul', 'kuma'],
    'istio-proxy as a plain init container is not a proxy',
  );
  t.match(mixed[2]!.reason, /native sidecar "kuma-sidecar"/);
  t.same(detectProxies(pod({ annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' } })).map((p) => p.mesh), ['istio']);
});
