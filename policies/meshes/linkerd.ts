// Linkerd, as its proxy injector decides: the `linkerd.io/inject` annotation on the
// namespace and the pod, with the pod able to opt out of an injected namespace or opt in
// on its own. Reasons follow the injector's own report ("injection disabled by ...").
import type { NamespaceInfo, PodFacts } from '../k8s.js';
import { portListError, type PortListRules } from '../values/port-list.js';
import { resourceQuantityError } from '../values/quantity.js';
import { findProxyContainer, hasPrefix, kv, no, yes } from './common.js';
import type { Decision, MeshRules } from './types.js';

export const LINKERD_INJECT = 'linkerd.io/inject';
/** Linkerd's chart default for both skip-port lists. */
export const LINKERD_DEFAULT_SKIP_PORTS = '4567,4568';

const PREFIXES = ['linkerd.io', 'config.linkerd.io'];
const INJECT_VALUES = ['enabled', 'disabled', 'ingress'];
const injects = (v: string): boolean => v === 'enabled' || v === 'ingress';

export const linkerdProxy = (pod: PodFacts): string | undefined => findProxyContainer(pod, (n) => n === 'linkerd-proxy');

const invalid = (where: string, value: string): Decision =>
  no(`${where} annotation ${kv(LINKERD_INJECT, value)} is not one of ${INJECT_VALUES.join(', ')}, so Linkerd's injector skips the pod`);

const wouldMesh = (pod: PodFacts, ns: NamespaceInfo): Decision => {
  const proxy = linkerdProxy(pod);
  if (proxy) return yes(`the pod already carries Linkerd's proxy (${proxy})`);
  if (pod.hostNetwork) return no("Linkerd never injects hostNetwork pods: the proxy's iptables rules would apply to the node");
  const nsValue = ns.annotations[LINKERD_INJECT];
  const podValue = pod.annotations[LINKERD_INJECT];
  if (nsValue !== undefined && !INJECT_VALUES.includes(nsValue)) return invalid('the namespace', nsValue);
  if (podValue !== undefined && !INJECT_VALUES.includes(podValue)) return invalid('the pod', podValue);
  if (nsValue !== undefined && injects(nsValue)) {
    const byNs = `namespace annotation ${kv(LINKERD_INJECT, nsValue)} injects the namespace`;
    if (podValue === 'disabled') return no(`${byNs}, but the pod annotation ${kv(LINKERD_INJECT, 'disabled')} opts this pod out`);
    return yes(`${byNs}${podValue !== undefined ? ` and the pod annotation ${kv(LINKERD_INJECT, podValue)} agrees` : ''}`);
  }
  if (podValue !== undefined && injects(podValue)) return yes(`pod annotation ${kv(LINKERD_INJECT, podValue)} injects the pod`);
  if (podValue === 'disabled') return no(`injection disabled by the pod annotation ${kv(LINKERD_INJECT, 'disabled')}`);
  if (nsValue === 'disabled') return no(`injection disabled by the namespace annotation ${kv(LINKERD_INJECT, 'disabled')}`);
  return no(`neither the namespace nor the pod has the annotation ${kv(LINKERD_INJECT, 'enabled')}, so Linkerd's injector leaves the pod alone`);
};

const isMeshed = (pod: PodFacts): Decision => {
  const proxy = linkerdProxy(pod);
  return proxy ? yes(`Linkerd's proxy is present (${proxy})`) : no("no linkerd-proxy container: Linkerd's proxy was not injected");
};

const PORTS: PortListRules = { ranges: true };
const PORT_LISTS = new Set(['config.linkerd.io/skip-inbound-ports', 'config.linkerd.io/skip-outbound-ports']);
const QUANTITIES = new Set([
  'config.linkerd.io/proxy-cpu-request',
  'config.linkerd.io/proxy-cpu-limit',
  'config.linkerd.io/proxy-memory-request',
  'config.linkerd.io/proxy-memory-limit',
]);

const checkAnnotation = (key: string, value: string): string | undefined => {
  if (key === LINKERD_INJECT) {
    return INJECT_VALUES.includes(value) ? undefined : `Linkerd accepts only ${INJECT_VALUES.map((v) => JSON.stringify(v)).join(', ')} here (lowercase); "true" is not one of them, use "enabled"`;
  }
  if (PORT_LISTS.has(key)) {
    const error = portListError(value, PORTS);
    return error && `Linkerd cannot parse this port list: ${error}`;
  }
  if (QUANTITIES.has(key)) {
    const error = resourceQuantityError(value);
    return error && `Linkerd cannot use this as the proxy's resources: ${error}`;
  }
  return undefined;
};

export const linkerd: MeshRules = {
  name: 'linkerd',
  title: 'Linkerd',
  ownsAnnotationKey: (key) => hasPrefix(key, PREFIXES),
  selectedByNamespace: (ns) => ns.annotations[LINKERD_INJECT] !== undefined,
  wouldMesh: (pod, ns) => wouldMesh(pod, ns),
  isMeshed: (pod) => isMeshed(pod),
  checkAnnotation,
  portExclusion: {
    inbound: 'config.linkerd.io/skip-inbound-ports',
    outbound: 'config.linkerd.io/skip-outbound-ports',
    // The pod's own value, else the namespace's (Linkerd's injector copies the namespace's
    // config annotations onto pods that lack them), else the install's default (chart values
    // proxyInit.ignoreInboundPorts / ignoreOutboundPorts: Galera replication). The
    // annotation replaces that list, so the merge must start from it.
    startValue: (key, ns) => ns.annotations[key] ?? LINKERD_DEFAULT_SKIP_PORTS,
    ranges: true,
  },
  optOut: { annotations: { [LINKERD_INJECT]: 'disabled' } },
};
