import t from 'tap';
import { consul } from '../../../policies/meshes/consul.js';
import { DEFAULT_MESH_OPTIONS } from '../../../policies/meshes/types.js';
import { container, nativeSidecar, ns, pod } from './fixtures/objects.js';

const INJECT = 'consul.hashicorp.com/connect-inject';
const podWith = (v: string) => pod({ annotations: { [INJECT]: v } });
const DEFAULT_ON = { consulDefaultInject: true };

t.test('the annotation is a Go bool', async (t) => {
  for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) {
    const d = consul.wouldMesh(podWith(v), ns('db'), DEFAULT_MESH_OPTIONS);
    t.equal(d.value, true, v);
    t.equal(d.reason, `the pod annotation ${INJECT}=${v} asks Consul to inject it`);
  }
  for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) {
    const d = consul.wouldMesh(podWith(v), ns('db'), DEFAULT_ON);
    t.equal(d.value, false, v);
    t.match(d.reason, /opts the pod out of Consul/);
  }
  for (const v of ['yes', 'enabled', 'tRUE', '']) {
    const d = consul.wouldMesh(podWith(v), ns('db'), DEFAULT_ON);
    t.equal(d.value, false, `invalid ${JSON.stringify(v)} is never injected`);
    t.match(d.reason, /is not a Go boolean, so Consul's webhook refuses the pod/);
  }
});

t.test('absent annotation follows connectInject.default', async (t) => {
  const off = consul.wouldMesh(pod(), ns('db'), DEFAULT_MESH_OPTIONS);
  t.equal(off.value, false);
  t.match(off.reason, /connectInject.default=false; set consul.hashicorp.com\/connect-inject=true/);
  const on = consul.wouldMesh(pod(), ns('db'), DEFAULT_ON);
  t.equal(on.value, true);
  t.match(on.reason, /connectInject.default=true/);
});

t.test('kube-system and kube-public are never injected', async (t) => {
  for (const name of ['kube-system', 'kube-public']) {
    const d = consul.wouldMesh(podWith('true'), ns(name), DEFAULT_ON);
    t.same(d, { value: false, reason: `Consul never injects pods in namespace ${name}` });
  }
  t.equal(consul.wouldMesh(podWith('true'), ns('kube-node-lease'), DEFAULT_MESH_OPTIONS).value, true, 'only those two');
});

t.test('isMeshed: dataplane, envoy-sidecar or the status annotation', async (t) => {
  const n = ns('db');
  t.equal(consul.isMeshed(pod({ containers: [container('app'), container('consul-dataplane')] }), n).value, true);
  t.equal(consul.isMeshed(pod({ containers: [container('app'), container('consul-dataplane-web')] }), n).value, true, 'multi-port name');
  t.equal(consul.isMeshed(pod({ containers: [container('envoy-sidecar')] }), n).value, true, 'consul-k8s 0.x');
  t.equal(consul.isMeshed(pod({ initContainers: [nativeSidecar('consul-dataplane')] }), n).value, true, 'native sidecar');
  t.equal(consul.isMeshed(pod({ initContainers: [container('consul-dataplane')] }), n).value, false, 'init container without Always');
  t.equal(consul.isMeshed(pod({ initContainers: [container('consul-connect-inject-init')] }), n).value, false);
  t.match(consul.isMeshed(pod({ annotations: { 'consul.hashicorp.com/connect-inject-status': 'injected' } }), n).reason, /annotation consul.hashicorp.com\/connect-inject-status=injected/);
  t.equal(consul.isMeshed(pod({ annotations: { 'consul.hashicorp.com/connect-inject-status': 'pending' } }), n).value, false);
  const logging = consul.isMeshed(pod({ containers: [container('app'), container('envoy')] }), n);
  t.equal(logging.value, false, 'an unrelated container named envoy is not Consul\'s proxy');
  t.match(logging.reason, /no consul-dataplane or envoy-sidecar container/);
  t.equal(consul.wouldMesh(pod({ containers: [container('consul-dataplane')] }), ns('kube-system'), DEFAULT_MESH_OPTIONS).value, true, 'already injected');
});

t.test('checkAnnotation', async (t) => {
  t.equal(consul.checkAnnotation(INJECT, 'True'), undefined);
  t.match(consul.checkAnnotation(INJECT, 'yes'), /Consul reads this with Go's ParseBool: "yes" is not a boolean/);
  t.match(consul.checkAnnotation('consul.hashicorp.com/transparent-proxy', 'on'), /ParseBool/);
  for (const k of ['consul.hashicorp.com/transparent-proxy-exclude-inbound-ports', 'consul.hashicorp.com/transparent-proxy-exclude-outbound-ports']) {
    t.equal(consul.checkAnnotation(k, '9017,9021'), undefined, k);
    t.match(consul.checkAnnotation(k, '9000-9100'), /Consul cannot use this port list: .* is a range/, k);
  }
  t.equal(consul.checkAnnotation('consul.hashicorp.com/sidecar-proxy-memory-limit', '128Mi'), undefined);
  t.match(consul.checkAnnotation('consul.hashicorp.com/sidecar-proxy-cpu-request', '100 m'), /Consul cannot use this as the proxy's resources: .*remove the spaces/);
  t.equal(consul.checkAnnotation('consul.hashicorp.com/connect-service', 'db'), undefined);
});

t.test('contract data', async (t) => {
  t.notOk(consul.selectedByNamespace(ns('db', { 'consul.hashicorp.com/connect-inject': 'true' })), 'consul has no namespace switch');
  t.ok(consul.ownsAnnotationKey(INJECT));
  t.notOk(consul.ownsAnnotationKey('hashicorp.com/x'));
  t.same(consul.portExclusion, {
    inbound: 'consul.hashicorp.com/transparent-proxy-exclude-inbound-ports',
    outbound: 'consul.hashicorp.com/transparent-proxy-exclude-outbound-ports',
    ranges: false,
  });
  t.same(consul.optOut, { annotations: { [INJECT]: 'false' } });
});
