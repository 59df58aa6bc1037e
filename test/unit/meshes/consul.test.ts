import t from 'tap';
import { consul } from '../../../policies/meshes/consul.js';
import { DEFAULT_MESH_OPTIONS } from '../../../policies/meshes/types.js';
import { mergePorts } from '../../../policies/values/port-list.js';
import { container, nativeSidecar, ns, pod } from './fixtures/objects.js';

// Each table mirrors hashicorp/consul-k8s at a507b1d1e3061996dbed00cde73bba2bf068379f
// (and hashicorp/consul sdk/iptables/iptables.go at 5123e1ea74dfd7034cde0bf24acd9a13bfb3fea0);
// the test names say which file and function.
const CONSUL_K8S = 'consul-k8s@a507b1d';
const INJECT = 'consul.hashicorp.com/connect-inject';
const STATUS = 'consul.hashicorp.com/connect-inject-status';
const TPROXY = 'consul.hashicorp.com/transparent-proxy';
const IN = 'consul.hashicorp.com/transparent-proxy-exclude-inbound-ports';
const OUT = 'consul.hashicorp.com/transparent-proxy-exclude-outbound-ports';
const podWith = (v: string) => pod({ annotations: { [INJECT]: v } });
const DEFAULT_ON = { consulDefaultInject: true };

t.test(`${CONSUL_K8S} control-plane/connect-inject/webhook/mesh_webhook.go shouldInject: the annotation is read with strconv.ParseBool`, async (t) => {
  const table: [string, boolean | 'refused'][] = [
    ...['1', 't', 'T', 'TRUE', 'true', 'True'].map((v): [string, true] => [v, true]),
    ...['0', 'f', 'F', 'FALSE', 'false', 'False'].map((v): [string, false] => [v, false]),
    ...['yes', 'no', 'enabled', 'tRUE', '', ' true', 'true '].map((v): [string, 'refused'] => [v, 'refused']),
  ];
  for (const [v, want] of table) {
    const d = consul.wouldMesh(podWith(v), ns('db'), want === false ? DEFAULT_ON : DEFAULT_MESH_OPTIONS);
    t.equal(d.value, want === true, JSON.stringify(v));
    if (want === true) t.equal(d.reason, `the pod annotation ${INJECT}=${v} asks Consul to inject it`);
    if (want === false) t.match(d.reason, /opts the pod out of Consul/);
    if (want === 'refused') t.match(d.reason, /is not a Go boolean, so Consul's webhook refuses the pod/);
  }
});

t.test(`${CONSUL_K8S} mesh_webhook.go shouldInject: no annotation → !RequireAnnotation (chart connectInject.default)`, async (t) => {
  const off = consul.wouldMesh(pod(), ns('db'), DEFAULT_MESH_OPTIONS);
  t.equal(off.value, false);
  t.match(off.reason, /connectInject.default=false; set consul.hashicorp.com\/connect-inject=true/);
  const on = consul.wouldMesh(pod(), ns('db'), DEFAULT_ON);
  t.equal(on.value, true);
  t.match(on.reason, /connectInject.default=true/);
});

t.test(`${CONSUL_K8S} mesh_webhook.go shouldInject kubeSystemNamespaces, and charts/consul/values.yaml connectInject.namespaceSelector: namespaces never injected`, async (t) => {
  const table: [string, RegExp][] = [
    ['kube-system', /not called for pods in namespace kube-system/],
    ['kube-public', /^Consul never injects pods in namespace kube-public$/],
    ['local-path-storage', /namespaceSelector leaves it out/],
    ['openebs', /namespaceSelector leaves it out/],
    ['gmp-system', /namespaceSelector leaves it out/],
    ['gke-managed-cim', /namespaceSelector leaves it out/],
  ];
  for (const [name, reason] of table) {
    const d = consul.wouldMesh(podWith('true'), ns(name), DEFAULT_ON);
    t.equal(d.value, false, name);
    t.match(d.reason, reason, name);
  }
  t.equal(consul.wouldMesh(podWith('true'), ns('kube-node-lease'), DEFAULT_MESH_OPTIONS).value, true, 'kube-node-lease is selected');
  const monitoring = consul.wouldMesh(podWith('true'), ns('mon', { 'openshift.io/cluster-monitoring': 'true' }), DEFAULT_MESH_OPTIONS);
  t.equal(monitoring.value, false, 'openshift.io/cluster-monitoring DoesNotExist');
  t.match(monitoring.reason, /labelled openshift.io\/cluster-monitoring/);
});

t.test(`${CONSUL_K8S} charts/consul/templates/connect-inject-mutatingwebhookconfiguration.yaml objectSelector: app NotIn [consul]`, async (t) => {
  const d = consul.wouldMesh(pod({ labels: { app: 'consul' }, annotations: { [INJECT]: 'true' } }), ns('db'), DEFAULT_MESH_OPTIONS);
  t.equal(d.value, false);
  t.match(d.reason, /objectSelector/);
  t.equal(consul.wouldMesh(pod({ labels: { app: 'db' }, annotations: { [INJECT]: 'true' } }), ns('db'), DEFAULT_MESH_OPTIONS).value, true);
});

t.test(`${CONSUL_K8S} mesh_webhook.go shouldInject: any non-empty connect-inject-status skips the pod`, async (t) => {
  const table: [string, boolean][] = [['injected', true], ['pending', false], ['x', false], ['', true]];
  for (const [status, want] of table) {
    const d = consul.wouldMesh(pod({ annotations: { [INJECT]: 'true', [STATUS]: status } }), ns('db'), DEFAULT_MESH_OPTIONS);
    t.equal(d.value, want, JSON.stringify(status));
  }
  t.match(consul.wouldMesh(pod({ annotations: { [INJECT]: 'true', [STATUS]: 'pending' } }), ns('db'), DEFAULT_MESH_OPTIONS).reason, /skips every pod with a non-empty consul.hashicorp.com\/connect-inject-status/);
});

t.test(`${CONSUL_K8S} connect-inject/common/common.go TransparentProxyEnabled: pod annotation, else namespace label, each ParseBool; an error refuses the pod (Handle)`, async (t) => {
  const table: [Record<string, string>, Record<string, string>, boolean, RegExp?][] = [
    [{}, {}, true],
    [{ [TPROXY]: 'false' }, {}, true],
    [{ [TPROXY]: 'on' }, {}, false, /the pod annotation consul.hashicorp.com\/transparent-proxy=on is not a Go boolean, so Consul's webhook refuses the pod/],
    [{}, { [TPROXY]: 'enabled' }, false, /the namespace label consul.hashicorp.com\/transparent-proxy=enabled is not a Go boolean/],
    [{ [TPROXY]: 'true' }, { [TPROXY]: 'enabled' }, true],
    [{}, { [TPROXY]: 'False' }, true],
  ];
  for (const [podAnn, nsLabels, want, reason] of table) {
    const d = consul.wouldMesh(pod({ annotations: { [INJECT]: 'true', ...podAnn } }), ns('db', nsLabels), DEFAULT_MESH_OPTIONS);
    t.equal(d.value, want, `${JSON.stringify(podAnn)} ${JSON.stringify(nsLabels)}`);
    if (reason) t.match(d.reason, reason);
  }
  t.equal(consul.wouldMesh(pod({ annotations: { [INJECT]: 'false', [TPROXY]: 'on' } }), ns('db'), DEFAULT_MESH_OPTIONS).reason, `the pod annotation ${INJECT}=false opts the pod out of Consul`, 'read only when injecting');
  t.match(consul.checkAnnotation(TPROXY, 'on'), /Consul reads this with Go's ParseBool/);
});

// splitCommaSeparatedItemsFromAnnotation (webhook/container_init.go) splits at commas and trims
// nothing; iptablesConfigJSON (webhook/redirect_traffic.go) copies the elements; consul's
// sdk/iptables Setup writes `iptables -p tcp --dport <element>`; iptables' parse_tcp_ports /
// xtables_parse_port read it (a:b ranges, strtoumax base 0, else a service name).
t.test(`${CONSUL_K8S} webhook/container_init.go splitCommaSeparatedItemsFromAnnotation + consul sdk/iptables Setup --dport: what iptables takes`, async (t) => {
  const table: [string, 'ok' | 'warn' | 'error', RegExp?][] = [
    ['9017,9021', 'ok'],
    ['0', 'ok'],
    ['65535', 'ok'],
    ['9000:9100', 'ok'],
    [':1024', 'ok'],
    ['1024:', 'ok'],
    [' 9017', 'ok'],
    ['+9017', 'ok'],
    ['011', 'warn', /element 1 \("011"\) is read by iptables as port 9/],
    ['0x2339', 'warn', /is read by iptables as port 9017/],
    ['mysql', 'warn', /looked up as a service name in the init container's \/etc\/services/],
    ['', 'error', /element 1 \(""\) is empty; iptables refuses it/],
    ['9017,', 'error', /element 2 \(""\) is empty/],
    ['9017,,9021', 'error', /element 2 \(""\) is empty/],
    ['9017 ', 'error', /has white space/],
    ['9017, 9021 ', 'error', /element 2 \(" 9021 "\) has white space/],
    ['9000-9100', 'error', /is a range written with "-"; iptables writes ranges as a:b/],
    ['9100:9000', 'error', /first port is above its last/],
    ['65536', 'error', /is not a port number 0–65535/],
    ['-1', 'error', /is not a port number/],
    ['09017', 'error', /starts with 0, so iptables reads it as octal/],
    ['a b', 'error', /has white space/],
  ];
  for (const key of [IN, OUT]) {
    for (const [value, want, message] of table) {
      const error = consul.checkAnnotation(key, value);
      const warning = consul.annotationWarning!(key, value);
      t.equal(error === undefined, want !== 'error', `${key} ${JSON.stringify(value)} error`);
      t.equal(warning === undefined, want !== 'warn', `${key} ${JSON.stringify(value)} warning`);
      if (message) t.match(error ?? warning, message, JSON.stringify(value));
    }
  }
  t.match(consul.checkAnnotation(IN, '9017 '), /^Consul passes each comma-separated element unchanged to iptables: /);
});

t.test(`${CONSUL_K8S} webhook/consul_dataplane_sidecar.go sidecarResources: resource.ParseQuantity, an error refuses the pod`, async (t) => {
  for (const k of ['cpu-request', 'cpu-limit', 'memory-request', 'memory-limit']) {
    t.equal(consul.checkAnnotation(`consul.hashicorp.com/sidecar-proxy-${k}`, '128Mi'), undefined, k);
    t.match(consul.checkAnnotation(`consul.hashicorp.com/sidecar-proxy-${k}`, '100 m'), /Consul's webhook reads this with Kubernetes' ParseQuantity .*remove the spaces/, k);
  }
  t.equal(consul.checkAnnotation('consul.hashicorp.com/connect-service', 'db'), undefined, 'other keys are not judged');
});

t.test('mutation rule 2 on a Consul list: the element text is kept, the consensus ports appended', async (t) => {
  const ex = consul.portExclusion!;
  t.equal(mergePorts(' 9017', [9017, 9021], ex), ' 9017,9021', 'a leading space is a port to iptables');
  t.equal(mergePorts('', [9017, 9021], ex), '9017,9021', 'an empty value (refused by iptables) becomes the ports');
});

t.test('isMeshed: dataplane, envoy-sidecar or the status annotation', async (t) => {
  const n = ns('db');
  t.equal(consul.isMeshed(pod({ containers: [container('app'), container('consul-dataplane')] }), n).value, true);
  t.equal(consul.isMeshed(pod({ containers: [container('app'), container('consul-dataplane-web')] }), n).value, true, 'multi-port name');
  t.equal(consul.isMeshed(pod({ containers: [container('envoy-sidecar')] }), n).value, true, 'consul-k8s 0.x');
  t.equal(consul.isMeshed(pod({ initContainers: [nativeSidecar('consul-dataplane')] }), n).value, true, 'native sidecar');
  t.equal(consul.isMeshed(pod({ initContainers: [container('consul-dataplane')] }), n).value, false, 'init container without Always');
  t.equal(consul.isMeshed(pod({ initContainers: [container('consul-connect-inject-init')] }), n).value, false);
  t.match(consul.isMeshed(pod({ annotations: { [STATUS]: 'injected' } }), n).reason, /annotation consul.hashicorp.com\/connect-inject-status=injected/);
  t.equal(consul.isMeshed(pod({ annotations: { [STATUS]: 'pending' } }), n).value, false);
  const logging = consul.isMeshed(pod({ containers: [container('app'), container('envoy')] }), n);
  t.equal(logging.value, false, 'an unrelated container named envoy is not Consul\'s proxy');
  t.match(logging.reason, /no consul-dataplane or envoy-sidecar container/);
  t.equal(consul.wouldMesh(pod({ containers: [container('consul-dataplane')] }), ns('kube-system'), DEFAULT_MESH_OPTIONS).value, true, 'already injected');
});

t.test('contract data', async (t) => {
  t.notOk(consul.selectedByNamespace(ns('db', { [INJECT]: 'true' })), 'consul has no namespace switch');
  t.ok(consul.ownsAnnotationKey(INJECT));
  t.notOk(consul.ownsAnnotationKey('hashicorp.com/x'));
  t.same(consul.portExclusion, { inbound: IN, outbound: OUT, ranges: false });
  t.same(consul.optOut, { annotations: { [INJECT]: 'false' } });
});

t.test(`${CONSUL_K8S} webhook/redirect_traffic.go iptablesConfigJSON + consul sdk/iptables Setup: exclude-outbound-cidrs (-d) and exclude-uids (--uid-owner)`, async (t) => {
  const CIDRS = 'consul.hashicorp.com/transparent-proxy-exclude-outbound-cidrs';
  const UIDS = 'consul.hashicorp.com/transparent-proxy-exclude-uids';
  const table: [string, string, RegExp | undefined][] = [
    [CIDRS, '10.0.0.0/8,192.168.0.0/16', undefined],
    [CIDRS, 'db.example.com', undefined],
    [CIDRS, '', /element 1 \(""\) is empty; iptables refuses it/],
    [CIDRS, '10.0.0.0/8,', /element 2 \(""\) is empty/],
    [UIDS, '5996', undefined],
    [UIDS, '1000-2000', undefined],
    [UIDS, '1000:2000', undefined],
    [UIDS, ' +1000', undefined],
    [UIDS, '0x10', undefined],
    [UIDS, 'postgres', undefined],
    [UIDS, '4294967294', undefined],
    [UIDS, '4294967295', /is above 4294967294/],
    [UIDS, '1000-4294967295', /is above 4294967294/],
    [UIDS, '', /element 1 \(""\) is empty/],
    [UIDS, '1000,', /element 2 \(""\) is empty/],
    [UIDS, '1000 ', /has white space/],
    [UIDS, '-1', /is not a user ID/],
    [UIDS, '08', /is not a user ID/],
    [UIDS, '5--6', /is not a user ID/],
  ];
  for (const [key, value, error] of table) {
    const got = consul.checkAnnotation(key, value);
    if (error === undefined) t.equal(got, undefined, `${key} ${JSON.stringify(value)}`);
    else t.match(got, error, `${key} ${JSON.stringify(value)}`);
  }
  t.match(consul.checkAnnotation(UIDS, 'x y'), /^Consul passes each comma-separated element unchanged to iptables: .*Write user IDs separated by commas/);
  t.match(consul.checkAnnotation(CIDRS, ''), /Write CIDRs separated by commas/);
});
