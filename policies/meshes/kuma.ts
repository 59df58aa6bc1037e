// Kuma: the `kuma.io/sidecar-injection` label, the pod's value first, the namespace's
// otherwise; no label means no sidecar.
import type { NamespaceInfo, PodFacts } from '../k8s.js';
import { portListError, type PortListRules } from '../values/port-list.js';
import { findProxyContainer, hasPrefix, kv, no, yes } from './common.js';
import type { Decision, MeshRules } from './types.js';

export const KUMA_INJECTION = 'kuma.io/sidecar-injection';
export const KUMA_INJECTED = 'kuma.io/sidecar-injected';

const PREFIXES = ['kuma.io', 'traffic.kuma.io'];
const ON = ['enabled', 'true'];
const OFF = ['disabled', 'false'];

export const kumaProxy = (pod: PodFacts): string | undefined => {
  const container = findProxyContainer(pod, (n) => n === 'kuma-sidecar');
  if (container) return container;
  if (pod.annotations[KUMA_INJECTED] === 'true') return `annotation ${kv(KUMA_INJECTED, 'true')}`;
  return undefined;
};

const wouldMesh = (pod: PodFacts, ns: NamespaceInfo): Decision => {
  const proxy = kumaProxy(pod);
  if (proxy) return yes(`the pod already carries Kuma's sidecar (${proxy})`);
  const podValue = pod.labels[KUMA_INJECTION];
  const [where, value] = podValue !== undefined ? ['pod', podValue] : ['namespace', ns.labels[KUMA_INJECTION]];
  if (value === undefined) return no(`neither the pod nor the namespace carries the label ${KUMA_INJECTION}, and Kuma injects nothing by default`);
  const label = `${where} label ${kv(KUMA_INJECTION, value)}`;
  const overrides = where === 'pod' && ns.labels[KUMA_INJECTION] !== undefined ? ` (it overrides the namespace label ${kv(KUMA_INJECTION, ns.labels[KUMA_INJECTION]!)})` : '';
  if (ON.includes(value)) return yes(`${label} enables Kuma's sidecar${overrides}`);
  if (OFF.includes(value)) return no(`${label} disables Kuma's sidecar${overrides}`);
  return no(`${label} is not one of ${[...ON, ...OFF].join(', ')}, so Kuma does not inject the pod`);
};

const isMeshed = (pod: PodFacts): Decision => {
  const proxy = kumaProxy(pod);
  return proxy ? yes(`Kuma's sidecar is present (${proxy})`) : no(`no kuma-sidecar container and no ${kv(KUMA_INJECTED, 'true')} annotation: Kuma's sidecar was not injected`);
};

const PORTS: PortListRules = { ranges: false, min: 1 };
const PORT_LISTS = new Set(['traffic.kuma.io/exclude-inbound-ports', 'traffic.kuma.io/exclude-outbound-ports']);

const checkAnnotation = (key: string, value: string): string | undefined => {
  if (key === KUMA_INJECTION) {
    return [...ON, ...OFF].includes(value) ? undefined : `Kuma accepts only "enabled", "disabled", "true" or "false" here (and reads it from the label ${KUMA_INJECTION})`;
  }
  if (PORT_LISTS.has(key)) {
    const error = portListError(value, PORTS);
    return error && `Kuma cannot parse this port list: ${error}`;
  }
  return undefined;
};

export const kuma: MeshRules = {
  name: 'kuma',
  title: 'Kuma',
  ownsAnnotationKey: (key) => hasPrefix(key, PREFIXES),
  selectedByNamespace: (ns) => ns.labels[KUMA_INJECTION] !== undefined,
  wouldMesh: (pod, ns) => wouldMesh(pod, ns),
  isMeshed: (pod) => isMeshed(pod),
  checkAnnotation,
  portExclusion: {
    inbound: 'traffic.kuma.io/exclude-inbound-ports',
    outbound: 'traffic.kuma.io/exclude-outbound-ports',
    ranges: false,
  },
  optOut: { labels: { [KUMA_INJECTION]: 'disabled' } },
};
