// Consul (consul-k8s connect-inject): one pod annotation read with Go's ParseBool, the
// installation's default where it is absent, and the system namespaces never injected.
import type { NamespaceInfo, PodFacts } from '../k8s.js';
import { goBoolError, parseGoBool } from '../values/go-bool.js';
import { portListError, type PortListRules } from '../values/port-list.js';
import { resourceQuantityError } from '../values/quantity.js';
import { findProxyContainer, hasPrefix, kv, no, yes } from './common.js';
import type { Decision, MeshOptions, MeshRules } from './types.js';

export const CONSUL_INJECT = 'consul.hashicorp.com/connect-inject';
export const CONSUL_INJECT_STATUS = 'consul.hashicorp.com/connect-inject-status';

const PREFIXES = ['consul.hashicorp.com'];
export const CONSUL_IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public'];

/** consul-dataplane (1.x, one per service in multi-port pods) or envoy-sidecar (0.x). */
const isConsulProxyName = (name: string): boolean => name.startsWith('consul-dataplane') || name === 'envoy-sidecar';

export const consulProxy = (pod: PodFacts): string | undefined => {
  const container = findProxyContainer(pod, isConsulProxyName);
  if (container) return container;
  if (pod.annotations[CONSUL_INJECT_STATUS] === 'injected') return `annotation ${kv(CONSUL_INJECT_STATUS, 'injected')}`;
  return undefined;
};

const wouldMesh = (pod: PodFacts, ns: NamespaceInfo, options: MeshOptions): Decision => {
  const proxy = consulProxy(pod);
  if (proxy) return yes(`the pod already carries Consul's proxy (${proxy})`);
  if (CONSUL_IGNORED_NAMESPACES.includes(ns.name)) return no(`Consul never injects pods in namespace ${ns.name}`);
  const raw = pod.annotations[CONSUL_INJECT];
  if (raw === undefined) {
    return options.consulDefaultInject
      ? yes(`the pod has no ${CONSUL_INJECT} annotation and Consul is installed with connectInject.default=true`)
      : no(`the pod has no ${CONSUL_INJECT} annotation and Consul is installed with connectInject.default=false; set ${kv(CONSUL_INJECT, 'true')}`);
  }
  const value = parseGoBool(raw);
  if (value === undefined) return no(`the annotation ${kv(CONSUL_INJECT, raw)} is not a Go boolean, so Consul's webhook refuses the pod instead of injecting it`);
  return value ? yes(`the pod annotation ${kv(CONSUL_INJECT, raw)} asks Consul to inject it`) : no(`the pod annotation ${kv(CONSUL_INJECT, raw)} opts the pod out of Consul`);
};

const isMeshed = (pod: PodFacts): Decision => {
  const proxy = consulProxy(pod);
  return proxy ? yes(`Consul's proxy is present (${proxy})`) : no(`no consul-dataplane or envoy-sidecar container and no ${kv(CONSUL_INJECT_STATUS, 'injected')} annotation: Consul's proxy was not injected`);
};

const PORTS: PortListRules = { ranges: false };
const PORT_LISTS = new Set(['consul.hashicorp.com/transparent-proxy-exclude-inbound-ports', 'consul.hashicorp.com/transparent-proxy-exclude-outbound-ports']);
const BOOLS = new Set([CONSUL_INJECT, 'consul.hashicorp.com/transparent-proxy']);
const QUANTITIES = new Set([
  'consul.hashicorp.com/sidecar-proxy-cpu-request',
  'consul.hashicorp.com/sidecar-proxy-cpu-limit',
  'consul.hashicorp.com/sidecar-proxy-memory-request',
  'consul.hashicorp.com/sidecar-proxy-memory-limit',
]);

const checkAnnotation = (key: string, value: string): string | undefined => {
  if (BOOLS.has(key)) {
    const error = goBoolError(value);
    return error && `Consul reads this with Go's ParseBool: ${error}`;
  }
  if (PORT_LISTS.has(key)) {
    const error = portListError(value, PORTS);
    return error && `Consul cannot use this port list: ${error}`;
  }
  if (QUANTITIES.has(key)) {
    const error = resourceQuantityError(value);
    return error && `Consul cannot use this as the proxy's resources: ${error}`;
  }
  return undefined;
};

export const consul: MeshRules = {
  name: 'consul',
  title: 'Consul',
  ownsAnnotationKey: (key) => hasPrefix(key, PREFIXES),
  // consul-k8s selects namespaces in its Helm values, not by a namespace label or annotation.
  selectedByNamespace: () => false,
  wouldMesh,
  isMeshed: (pod) => isMeshed(pod),
  checkAnnotation,
  portExclusion: {
    inbound: 'consul.hashicorp.com/transparent-proxy-exclude-inbound-ports',
    outbound: 'consul.hashicorp.com/transparent-proxy-exclude-outbound-ports',
    ranges: false,
  },
  optOut: { annotations: { [CONSUL_INJECT]: 'false' } },
};
