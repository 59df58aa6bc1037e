// Linkerd, as its proxy injector decides: the `linkerd.io/inject` annotation on the
// namespace and the pod, with the pod able to opt out of an injected namespace or opt in
// on its own. Reasons follow the injector's own report ("injection disabled by ...").
import type { NamespaceInfo, PodFacts } from '../k8s.js';
import { goTrimSpace } from '../values/go-strings.js';
import { isNegative, parseQuantity, resourceQuantityError } from '../values/quantity.js';
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
  // Report.disabledByAnnotation (pkg/inject/report.go) reads a missing annotation as "", and
  // isInjectAnnotationValid takes "": an empty value is the same as none.
  const nsValue = ns.annotations[LINKERD_INJECT] || undefined;
  const podValue = pod.annotations[LINKERD_INJECT] || undefined;
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

const PORT_LISTS = new Set(['config.linkerd.io/skip-inbound-ports', 'config.linkerd.io/skip-outbound-ports']);
export const LINKERD_OPAQUE_PORTS = 'config.linkerd.io/opaque-ports';
export const LINKERD_PROXY_AWAIT = 'config.linkerd.io/proxy-await';
export const LINKERD_DEFAULT_INBOUND_POLICY = 'config.linkerd.io/default-inbound-policy';
export const LINKERD_WAIT_BEFORE_EXIT = 'config.alpha.linkerd.io/proxy-wait-before-exit-seconds';
/** pkg/k8s/labels.go AllUnauthenticated … Audit: the values ApplyAnnotationOverrides takes. */
export const LINKERD_INBOUND_POLICIES: readonly string[] = ['all-unauthenticated', 'all-authenticated', 'cluster-unauthenticated', 'cluster-authenticated', 'deny', 'audit'];

/**
 * util.ParsePortRange (linkerd2 pkg/util/portrange.go; the same in linkerd2-proxy-init):
 * split at "-", at most two bounds, each read by strconv.Atoi and 0–65535, lower ≤ upper.
 * The element as given: no trimming. Undefined where it refuses the element.
 */
export const linkerdPortRange = (element: string): { from: number; to: number } | undefined => {
  const bounds = element.split('-');
  if (bounds.length > 2) return undefined;
  const [lo, hi = lo] = bounds as [string, string?];
  const atoiPort = (b: string): number | undefined => (/^\+?[0-9]+$/.test(b) && Number(b) <= 65535 ? Number(b) : undefined);
  const from = atoiPort(lo);
  const to = atoiPort(hi);
  return from === undefined || to === undefined || to < from ? undefined : { from, to };
};

/** Whether linkerd-init skips `port` for this skip list: only elements ParsePortRange takes count. */
export const linkerdSkipsPort = (value: string, port: number): boolean =>
  value.split(',').some((e) => {
    const range = linkerdPortRange(e);
    return range !== undefined && range.from <= port && port <= range.to;
  });

const listOrNone = (kept: string[]): string => (kept.length > 0 ? kept.join(',') : 'none');

// The skip lists reach linkerd-init unchanged (ApplyAnnotationOverrides sets
// values.ProxyInit.IgnoreInboundPorts / IgnoreOutboundPorts to the annotation), and with
// linkerd-cni the plugin reads the annotation (cni-plugin/main.go, strings.Split at commas).
// makeMultiportDestinations (linkerd2-proxy-init pkg/iptables/iptables.go) runs each element
// through ParsePortRange and drops one it refuses with only a log line: that port keeps
// going through the proxy. A blank element drops nothing anyone asked for.
const skipListWarning = (value: string): string | undefined => {
  const elements = value.split(',');
  const dropped = elements.filter((e) => goTrimSpace(e) !== '' && linkerdPortRange(e) === undefined);
  if (dropped.length === 0) return undefined;
  const kept = elements.filter((e) => linkerdPortRange(e) !== undefined);
  return `Linkerd's proxy-init cannot parse ${dropped.map((e) => JSON.stringify(e)).join(', ')} (each element must be a port 0–65535 or a range a-b, written without spaces) and ignores ${dropped.length === 1 ? 'it' : 'them'} with only a log line, so it skips only: ${listOrNone(kept)}`;
};

// IANA_SVC_NAME, the shape the API server requires of a container port's name: such an
// element may name one of the pod's ports, which ParseContainerOpaquePorts resolves.
const mayBePortName = (s: string): boolean => s.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');

// ParseContainerOpaquePorts (pkg/util/parsing.go): GetPortRanges drops one trailing comma and
// trims each element; a name of one of the pod's ports becomes its number; anything else goes
// through ParsePortRange and is dropped with a log line when it fails. The annotation replaces
// the installation's list as a whole.
const opaquePortsWarning = (value: string): string | undefined => {
  const elements = (value.endsWith(',') ? value.slice(0, -1) : value).split(',').map(goTrimSpace);
  const dropped = elements.filter((e) => linkerdPortRange(e) === undefined && !mayBePortName(e));
  if (dropped.length === 0) return undefined;
  const kept = elements.filter((e) => !dropped.includes(e));
  return `Linkerd ignores ${dropped.map((e) => JSON.stringify(e)).join(', ')} (not a port, a range a-b or a port name) with only a log line, and the annotation replaces the installation's opaque ports (chart default 25,587,3306,4444,5432,6379,9300,11211), so the pod's opaque ports are: ${listOrNone(kept)}`;
};

// ApplyAnnotationOverrides (pkg/inject/inject.go): a value it does not take is logged and
// the installation's value stays; the defaults named are charts/linkerd-control-plane/values.yaml.
const annotationWarning = (key: string, value: string): string | undefined => {
  if (key === LINKERD_INJECT && value === '') return `Linkerd reads an empty ${LINKERD_INJECT} as if it were absent, so the namespace decides; write "enabled" or "disabled"`;
  if (PORT_LISTS.has(key)) return skipListWarning(value);
  if (QUANTITIES.has(key)) {
    const parsed = parseQuantity(value);
    return parsed.ok ? undefined : `Linkerd cannot parse this quantity (${parsed.error}); it ignores the value with only a log line and the installation's proxy.resources apply`;
  }
  if (key === LINKERD_OPAQUE_PORTS) return opaquePortsWarning(value);
  if (key === LINKERD_PROXY_AWAIT && value !== 'enabled' && value !== 'disabled') {
    return `Linkerd accepts only "enabled" or "disabled" here; it ignores this value and uses the installation's proxy.await (chart default true: the application waits for the proxy)`;
  }
  if (key === LINKERD_DEFAULT_INBOUND_POLICY && !LINKERD_INBOUND_POLICIES.includes(value)) {
    return `Linkerd accepts only ${LINKERD_INBOUND_POLICIES.join(', ')} here; it ignores this value and uses the installation's proxy.defaultInboundPolicy (chart default all-unauthenticated)`;
  }
  if (key === LINKERD_WAIT_BEFORE_EXIT && !(/^[0-9]+$/.test(value) && BigInt(value) <= 18446744073709551615n)) {
    return `Linkerd reads this with strconv.ParseUint (a whole number of seconds, digits only); it ignores this value and uses the installation's proxy.waitBeforeExitSeconds (chart default 0: no wait)`;
  }
  return undefined;
};
const QUANTITIES = new Set([
  'config.linkerd.io/proxy-cpu-request',
  'config.linkerd.io/proxy-cpu-limit',
  'config.linkerd.io/proxy-memory-request',
  'config.linkerd.io/proxy-memory-limit',
]);

const checkAnnotation = (key: string, value: string): string | undefined => {
  if (key === LINKERD_INJECT) {
    return value === '' || INJECT_VALUES.includes(value) ? undefined : `Linkerd accepts only ${INJECT_VALUES.map((v) => JSON.stringify(v)).join(', ')} here (lowercase); "true" is not one of them, use "enabled"`;
  }
  if (PORT_LISTS.has(key) && value.includes('"')) {
    // pflag's StringSlice reads linkerd-init's --inbound/outbound-ports-to-ignore as CSV.
    return `linkerd-init reads this list as CSV, where a double quote either fails its argument parsing or changes the elements; remove the quotes`;
  }
  if (QUANTITIES.has(key)) {
    // ApplyAnnotationOverrides drops a value ParseQuantity refuses (a warning, above), and
    // copies any other into the proxy's resources, where the API server refuses a negative one.
    const parsed = parseQuantity(value);
    return parsed.ok && isNegative(parsed.value) ? `Linkerd copies it into the proxy's resources: ${resourceQuantityError(value)}` : undefined;
  }
  return undefined;
};

export const linkerd: MeshRules = {
  name: 'linkerd',
  title: 'Linkerd',
  ownsAnnotationKey: (key) => hasPrefix(key, PREFIXES),
  selectedByNamespace: (ns) => ns.annotations[LINKERD_INJECT] !== undefined,
  wouldMesh: (pod, ns) => wouldMesh(pod, ns),
  // wouldMesh's yes: an inject annotation that injects, on the namespace or the pod, or the proxy.
  mayMesh: (pod, ns) => injects(ns.annotations[LINKERD_INJECT] ?? '') || injects(pod.annotations[LINKERD_INJECT] ?? '') || linkerdProxy(pod) !== undefined,
  isMeshed: (pod) => isMeshed(pod),
  meshedByProxyOnly: true,
  checkAnnotation,
  annotationWarning,
  portExclusion: {
    inbound: 'config.linkerd.io/skip-inbound-ports',
    outbound: 'config.linkerd.io/skip-outbound-ports',
    // The pod's own value, else the namespace's (Linkerd's injector copies the namespace's
    // config annotations onto pods that lack them), else the install's default (chart values
    // proxyInit.ignoreInboundPorts / ignoreOutboundPorts: Galera replication). The
    // annotation replaces that list, so the merge must start from it.
    startValue: (key, ns) => ns.annotations[key] ?? LINKERD_DEFAULT_SKIP_PORTS,
    ranges: true,
    asWritten: true,
  },
  optOut: { annotations: { [LINKERD_INJECT]: 'disabled' } },
};
