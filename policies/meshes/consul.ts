// Consul (hashicorp/consul-k8s control-plane/connect-inject): one pod annotation read with
// Go's ParseBool, the installation's default where it is absent, the system namespaces
// never injected, and the chart's webhook selectors. Each rule names the function it mirrors.
import type { NamespaceInfo, PodFacts } from '../k8s.js';
import { goBoolError, parseGoBool } from '../values/go-bool.js';
import { consulListElements, iptablesPortList, iptablesUidError } from '../values/iptables-port.js';
import { resourceQuantityError } from '../values/quantity.js';
import { findProxyContainer, hasPrefix, kv, no, yes } from './common.js';
import type { Decision, MeshOptions, MeshRules } from './types.js';

export const CONSUL_INJECT = 'consul.hashicorp.com/connect-inject';
export const CONSUL_INJECT_STATUS = 'consul.hashicorp.com/connect-inject-status';
export const CONSUL_TPROXY = 'consul.hashicorp.com/transparent-proxy';

const PREFIXES = ['consul.hashicorp.com'];
/** shouldInject (control-plane/connect-inject/webhook/mesh_webhook.go): kubeSystemNamespaces. */
export const CONSUL_IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public'];
/**
 * The chart's default connectInject.namespaceSelector (charts/consul/values.yaml): the
 * mutating webhook is never called for pods in these namespaces, nor in namespaces that
 * carry the label openshift.io/cluster-monitoring.
 */
export const CONSUL_UNSELECTED_NAMESPACES: readonly string[] = ['kube-system', 'local-path-storage', 'openebs', 'gmp-system', 'gke-managed-cim'];
const OPENSHIFT_MONITORING = 'openshift.io/cluster-monitoring';

/** consul-dataplane (1.x, one per service in multi-port pods) or envoy-sidecar (0.x). */
const isConsulProxyName = (name: string): boolean => name.startsWith('consul-dataplane') || name === 'envoy-sidecar';

export const consulProxy = (pod: PodFacts): string | undefined => {
  const container = findProxyContainer(pod, isConsulProxyName);
  if (container) return container;
  if (pod.annotations[CONSUL_INJECT_STATUS] === 'injected') return `annotation ${kv(CONSUL_INJECT_STATUS, 'injected')}`;
  return undefined;
};

// Handle in mesh_webhook.go returns admission.Errored (the pod is refused) when
// TransparentProxyEnabled (connect-inject/common/common.go) cannot read the switch: the
// pod's annotation first, else the namespace's label, each with strconv.ParseBool.
const tproxyRefusal = (pod: PodFacts, ns: NamespaceInfo): string | undefined => {
  const podValue = pod.annotations[CONSUL_TPROXY];
  if (podValue !== undefined) return parseGoBool(podValue) === undefined ? `the pod annotation ${kv(CONSUL_TPROXY, podValue)}` : undefined;
  const nsValue = ns.labels[CONSUL_TPROXY];
  return nsValue !== undefined && parseGoBool(nsValue) === undefined ? `the namespace label ${kv(CONSUL_TPROXY, nsValue)}` : undefined;
};

const wouldMesh = (pod: PodFacts, ns: NamespaceInfo, options: MeshOptions): Decision => {
  const proxy = consulProxy(pod);
  if (proxy) return yes(`the pod already carries Consul's proxy (${proxy})`);
  // The chart's webhook selectors: the API server does not call Consul's webhook at all.
  if (CONSUL_UNSELECTED_NAMESPACES.includes(ns.name)) return no(`Consul's webhook is not called for pods in namespace ${ns.name} (the chart's default connectInject.namespaceSelector leaves it out)`);
  if (ns.labels[OPENSHIFT_MONITORING] !== undefined) return no(`Consul's webhook is not called for pods in namespaces labelled ${OPENSHIFT_MONITORING} (the chart's default connectInject.namespaceSelector)`);
  if (pod.labels.app === 'consul') return no(`Consul's webhook is not called for pods labelled ${kv('app', 'consul')} (the chart's objectSelector keeps Consul's own pods out)`);
  if (CONSUL_IGNORED_NAMESPACES.includes(ns.name)) return no(`Consul never injects pods in namespace ${ns.name}`);
  const status = pod.annotations[CONSUL_INJECT_STATUS];
  if (status !== undefined && status !== '') return no(`the pod carries ${kv(CONSUL_INJECT_STATUS, status)}, and Consul skips every pod with a non-empty ${CONSUL_INJECT_STATUS} as already injected`);
  const raw = pod.annotations[CONSUL_INJECT];
  let decision: Decision;
  if (raw === undefined) {
    decision = options.consulDefaultInject
      ? yes(`the pod has no ${CONSUL_INJECT} annotation and Consul is installed with connectInject.default=true`)
      : no(`the pod has no ${CONSUL_INJECT} annotation and Consul is installed with connectInject.default=false; set ${kv(CONSUL_INJECT, 'true')}`);
  } else {
    const value = parseGoBool(raw);
    if (value === undefined) return no(`the annotation ${kv(CONSUL_INJECT, raw)} is not a Go boolean, so Consul's webhook refuses the pod instead of injecting it`);
    decision = value ? yes(`the pod annotation ${kv(CONSUL_INJECT, raw)} asks Consul to inject it`) : no(`the pod annotation ${kv(CONSUL_INJECT, raw)} opts the pod out of Consul`);
  }
  if (!decision.value) return decision;
  const refusal = tproxyRefusal(pod, ns);
  return refusal ? no(`${decision.reason}, but ${refusal} is not a Go boolean, so Consul's webhook refuses the pod instead of injecting it`) : decision;
};

const isMeshed = (pod: PodFacts): Decision => {
  const proxy = consulProxy(pod);
  return proxy ? yes(`Consul's proxy is present (${proxy})`) : no(`no consul-dataplane or envoy-sidecar container and no ${kv(CONSUL_INJECT_STATUS, 'injected')} annotation: Consul's proxy was not injected`);
};

const EXCLUDE_CIDRS = 'consul.hashicorp.com/transparent-proxy-exclude-outbound-cidrs';
const EXCLUDE_UIDS = 'consul.hashicorp.com/transparent-proxy-exclude-uids';
const PORT_LISTS = new Set(['consul.hashicorp.com/transparent-proxy-exclude-inbound-ports', 'consul.hashicorp.com/transparent-proxy-exclude-outbound-ports']);
const BOOLS = new Set([CONSUL_INJECT, CONSUL_TPROXY]);
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
    const { error } = iptablesPortList(value);
    return error && `Consul passes each comma-separated element unchanged to iptables: ${error}`;
  }
  // The same path as the ports (iptablesConfigJSON → sdk/iptables Setup): each element
  // becomes `iptables -d <cidr>` or `--uid-owner <uid>`, where an empty one is refused.
  // A CIDR element may also be a host name iptables resolves, so only the empty one is judged.
  if (key === EXCLUDE_CIDRS || key === EXCLUDE_UIDS) {
    const elements = consulListElements(value);
    for (const [i, element] of elements.entries()) {
      const reason = key === EXCLUDE_UIDS ? iptablesUidError(element) : element === '' ? 'is empty' : undefined;
      if (reason) {
        return `Consul passes each comma-separated element unchanged to iptables: element ${i + 1} (${JSON.stringify(element)}) ${reason}; iptables refuses it, so the pod's init container fails. Write ${key === EXCLUDE_UIDS ? 'user IDs' : 'CIDRs'} separated by commas, no spaces`;
      }
    }
    return undefined;
  }
  if (QUANTITIES.has(key)) {
    const error = resourceQuantityError(value);
    return error && `Consul's webhook reads this with Kubernetes' ParseQuantity for the proxy's resources (sidecarResources): ${error}`;
  }
  return undefined;
};

const annotationWarning = (key: string, value: string): string | undefined => {
  if (!PORT_LISTS.has(key)) return undefined;
  const { error, warning } = iptablesPortList(value);
  return error ? undefined : warning && `Consul passes each comma-separated element unchanged to iptables: ${warning}`;
};

export const consul: MeshRules = {
  name: 'consul',
  title: 'Consul',
  ownsAnnotationKey: (key) => hasPrefix(key, PREFIXES),
  // consul-k8s selects namespaces in its Helm values, not by a namespace label or annotation.
  selectedByNamespace: () => false,
  wouldMesh,
  // wouldMesh's yes: the inject annotation, connectInject.default without one, or the proxy.
  mayMesh: (pod, _ns, options) => pod.annotations[CONSUL_INJECT] !== undefined || options.consulDefaultInject || consulProxy(pod) !== undefined,
  isMeshed: (pod) => isMeshed(pod),
  meshedByProxyOnly: true,
  checkAnnotation,
  annotationWarning,
  portExclusion: {
    inbound: 'consul.hashicorp.com/transparent-proxy-exclude-inbound-ports',
    outbound: 'consul.hashicorp.com/transparent-proxy-exclude-outbound-ports',
    ranges: false,
  },
  optOut: { annotations: { [CONSUL_INJECT]: 'false' } },
};
