// Istio sidecar mode, as istiod's injection webhooks decide: the webhook configurations'
// namespace and object selectors pick which pods reach the injector at all, and the
// injector's policy then reads the pod's switch (label first, annotation second).
import type { NamespaceInfo, PodFacts } from '../k8s.js';
import { cidrListError } from '../values/cidr.js';
import { portListError, type PortListRules } from '../values/port-list.js';
import { resourceQuantityError } from '../values/quantity.js';
import { findProxyContainer, hasPrefix, kv, no, yes } from './common.js';
import type { Decision, MeshRules } from './types.js';

export const ISTIO_INJECT = 'sidecar.istio.io/inject';
export const ISTIO_INJECTION_NS_LABEL = 'istio-injection';
export const ISTIO_REV = 'istio.io/rev';
export const ISTIO_STATUS = 'sidecar.istio.io/status';

const PREFIXES = ['sidecar.istio.io', 'traffic.sidecar.istio.io', 'proxy.istio.io'];

/** Istio's injector skips these namespaces whatever their labels say. */
export const ISTIO_IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'];

// The injector's switch parsing (YAML 1.1 truthy words, case-insensitive): anything else
// that is not empty means "do not inject".
const TRUTHY = new Set(['y', 'yes', 'true', 'on']);

/** Where Istio's proxy is in a live pod, or undefined. */
export const istioProxy = (pod: PodFacts): string | undefined => {
  const container = findProxyContainer(pod, (n) => n === 'istio-proxy');
  if (container) return container;
  if (pod.annotations[ISTIO_STATUS] !== undefined) return `annotation ${ISTIO_STATUS} (written by Istio's injector)`;
  return undefined;
};

/** Once a webhook has selected the pod, the injector reads the switch: the label wins over the annotation. */
const injectorPolicy = (pod: PodFacts, selectedBy: string): Decision => {
  const label = pod.labels[ISTIO_INJECT];
  const annotation = pod.annotations[ISTIO_INJECT];
  const value = label ?? annotation;
  if (value === undefined || value === '') return yes(`${selectedBy}, and the pod does not opt out`);
  const source = label !== undefined ? `pod label ${kv(ISTIO_INJECT, value)}` : `pod annotation ${kv(ISTIO_INJECT, value)}`;
  const shadowed = label !== undefined && annotation !== undefined && annotation !== label ? ` (the label wins over the annotation ${kv(ISTIO_INJECT, annotation)})` : '';
  if (TRUTHY.has(value.toLowerCase())) return yes(`${selectedBy}, and the ${source} agrees${shadowed}`);
  return no(`${selectedBy}, but the ${source} turns injection off for this pod${shadowed}`);
};

const wouldMesh = (pod: PodFacts, ns: NamespaceInfo): Decision => {
  const proxy = istioProxy(pod);
  if (proxy) return yes(`the pod already carries Istio's proxy (${proxy})`);
  if (pod.hostNetwork) return no('Istio never injects hostNetwork pods: the sidecar would capture the node\'s traffic');
  if (ISTIO_IGNORED_NAMESPACES.includes(ns.name)) return no(`Istio never injects pods in namespace ${ns.name}`);

  const nsInjection = ns.labels[ISTIO_INJECTION_NS_LABEL];
  const nsRev = ns.labels[ISTIO_REV];
  const podLabel = pod.labels[ISTIO_INJECT];
  if (nsInjection !== undefined || nsRev !== undefined) {
    const selector = nsInjection !== undefined ? kv(ISTIO_INJECTION_NS_LABEL, nsInjection) : kv(ISTIO_REV, nsRev!);
    if (nsInjection !== undefined && nsInjection !== 'enabled') {
      return no(`namespace label ${selector} turns injection off whatever the pod says`);
    }
    // The namespace webhooks' object selector: sidecar.istio.io/inject NotIn [false].
    if (podLabel === 'false') return no(`namespace label ${selector} injects the namespace, but the pod label ${kv(ISTIO_INJECT, 'false')} opts this pod out`);
    return injectorPolicy(pod, `namespace label ${selector} injects the namespace`);
  }

  // No namespace label: only the object-selector webhooks can reach the pod, and they match labels only.
  if (pod.labels[ISTIO_REV] !== undefined && podLabel !== 'false') {
    return injectorPolicy(pod, `pod label ${kv(ISTIO_REV, pod.labels[ISTIO_REV]!)} selects the pod for revision injection`);
  }
  if (podLabel === 'true') return injectorPolicy(pod, `pod label ${kv(ISTIO_INJECT, 'true')} selects the pod`);
  const annotation = pod.annotations[ISTIO_INJECT];
  if (annotation !== undefined && podLabel === undefined) {
    return no(
      `the namespace has no ${ISTIO_INJECTION_NS_LABEL} or ${ISTIO_REV} label, and the annotation ${kv(ISTIO_INJECT, annotation)} alone does nothing: ` +
        `Istio's webhook selects pods by the label; set the pod label ${kv(ISTIO_INJECT, 'true')} (or label the namespace ${kv(ISTIO_INJECTION_NS_LABEL, 'enabled')})`,
    );
  }
  const labelNote = podLabel !== undefined ? `; the pod label ${kv(ISTIO_INJECT, podLabel)} is not "true"` : '';
  return no(
    `nothing selects the pod for Istio injection: the namespace has no ${ISTIO_INJECTION_NS_LABEL} or ${ISTIO_REV} label and the pod has neither label ${kv(ISTIO_INJECT, 'true')} nor ${ISTIO_REV}${labelNote}`,
  );
};

const isMeshed = (pod: PodFacts): Decision => {
  const proxy = istioProxy(pod);
  return proxy ? yes(`Istio's proxy is present (${proxy})`) : no(`no istio-proxy container and no ${ISTIO_STATUS} annotation: Istio's sidecar was not injected`);
};

const PORTS: PortListRules = { ranges: false };
const PORT_LISTS: Record<string, PortListRules> = {
  'traffic.sidecar.istio.io/includeInboundPorts': { ...PORTS, allowStar: true },
  'traffic.sidecar.istio.io/excludeInboundPorts': PORTS,
  'traffic.sidecar.istio.io/includeOutboundPorts': PORTS,
  'traffic.sidecar.istio.io/excludeOutboundPorts': PORTS,
};
const CIDR_LISTS: Record<string, { allowStar: boolean }> = {
  'traffic.sidecar.istio.io/includeOutboundIPRanges': { allowStar: true },
  'traffic.sidecar.istio.io/excludeOutboundIPRanges': { allowStar: false },
  'traffic.sidecar.istio.io/excludeInboundIPRanges': { allowStar: false },
};
const QUANTITIES = new Set(['sidecar.istio.io/proxyCPU', 'sidecar.istio.io/proxyMemory', 'sidecar.istio.io/proxyCPULimit', 'sidecar.istio.io/proxyMemoryLimit']);

const checkAnnotation = (key: string, value: string): string | undefined => {
  if (key === ISTIO_INJECT) {
    return value === 'true' || value === 'false' ? undefined : 'the inject switch must be exactly "true" or "false" (quoted in YAML, lowercase)';
  }
  const ports = PORT_LISTS[key];
  if (ports) {
    const error = portListError(value, ports);
    return error && `Istio cannot parse this port list: ${error}`;
  }
  const cidrs = CIDR_LISTS[key];
  if (cidrs) {
    const error = cidrListError(value, cidrs);
    return error && `Istio cannot parse this CIDR list: ${error}`;
  }
  if (QUANTITIES.has(key)) {
    const error = resourceQuantityError(value);
    return error && `Istio cannot use this as the proxy's resources: ${error}`;
  }
  return undefined;
};

export const istio: MeshRules = {
  name: 'istio',
  title: 'Istio',
  ownsAnnotationKey: (key) => hasPrefix(key, PREFIXES),
  selectedByNamespace: (ns) => ns.labels[ISTIO_INJECTION_NS_LABEL] !== undefined || ns.labels[ISTIO_REV] !== undefined,
  wouldMesh: (pod, ns) => wouldMesh(pod, ns),
  isMeshed: (pod) => isMeshed(pod),
  checkAnnotation,
  portExclusion: {
    inbound: 'traffic.sidecar.istio.io/excludeInboundPorts',
    outbound: 'traffic.sidecar.istio.io/excludeOutboundPorts',
    ranges: false,
  },
  optOut: { labels: { [ISTIO_INJECT]: 'false' } },
};
