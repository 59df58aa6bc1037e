// Istio sidecar mode, as istiod's injection webhooks decide: the webhook configurations'
// namespace and object selectors pick which pods reach the injector at all, and the
// injector's policy then reads the pod's switch (label first, annotation second).
import type { NamespaceInfo, PodFacts, StringMap } from '../k8s.js';
import { cidrListError } from '../values/cidr.js';
import { goBoolError, parseGoBool } from '../values/go-bool.js';
import { goTrimSpace } from '../values/go-strings.js';
import { portListError, type PortListRules } from '../values/port-list.js';
import { parseQuantity, quantityNanos, resourceQuantityError } from '../values/quantity.js';
import { proxyConfigError } from './istio-proxy-config.js';
import { findProxyContainer, hasPrefix, kv, no, yes } from './common.js';
import type { Decision, MeshRules } from './types.js';

export const ISTIO_INJECT = 'sidecar.istio.io/inject';
export const ISTIO_INJECTION_NS_LABEL = 'istio-injection';
export const ISTIO_REV = 'istio.io/rev';
export const ISTIO_STATUS = 'sidecar.istio.io/status';

const PREFIXES = ['sidecar.istio.io', 'traffic.sidecar.istio.io', 'proxy.istio.io', 'status.sidecar.istio.io', 'readiness.status.sidecar.istio.io', 'prometheus.istio.io'];
// Istio annotation keys outside those prefixes (istio.io/* is mostly labels).
const KEYS = ['istio.io/reroute-virtual-interfaces'];

/** Istio's injector skips these namespaces whatever their labels say. */
export const ISTIO_IGNORED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'];

/** Where Istio's proxy is in a live pod, or undefined. */
export const istioProxy = (pod: PodFacts): string | undefined => {
  const container = findProxyContainer(pod, (n) => n === 'istio-proxy');
  if (container) return container;
  if (pod.annotations[ISTIO_STATUS] !== undefined) return `annotation ${ISTIO_STATUS} (written by Istio's injector)`;
  return undefined;
};

/**
 * The switch the injector reads: the pod label when present (whatever its value), else the
 * annotation (injectRequired in pkg/kube/inject/inject.go).
 */
const switchOf = (pod: PodFacts): { value: string; source: string } | undefined => {
  const label = pod.labels[ISTIO_INJECT];
  if (label !== undefined) return { value: label, source: `pod label ${kv(ISTIO_INJECT, label)}` };
  const annotation = pod.annotations[ISTIO_INJECT];
  return annotation !== undefined ? { value: annotation, source: `pod annotation ${kv(ISTIO_INJECT, annotation)}` } : undefined;
};

/** True for the only two values Istio's injector reads from the switch. */
export const isIstioSwitchValue = (value: string): boolean => value === 'true' || value === 'false';

/**
 * Once a webhook has selected the pod, the injector reads the switch (injectRequired,
 * pkg/kube/inject/inject.go): exactly "true" or "false" decide; anything else, empty
 * included, is ignored and the installation's policy (autoInject: enabled) injects.
 */
const injectorPolicy = (pod: PodFacts, selectedBy: string): Decision => {
  const sw = switchOf(pod);
  const annotation = pod.annotations[ISTIO_INJECT];
  const shadowed = sw && pod.labels[ISTIO_INJECT] !== undefined && annotation !== undefined && annotation !== sw.value ? ` (the label wins over the annotation ${kv(ISTIO_INJECT, annotation)})` : '';
  if (sw === undefined || sw.value === '') return yes(`${selectedBy}, and the pod does not opt out`);
  if (sw.value === 'true') return yes(`${selectedBy}, and the ${sw.source} agrees${shadowed}`);
  if (sw.value === 'false') return no(`${selectedBy}, but the ${sw.source} turns injection off for this pod${shadowed}`);
  return yes(`${selectedBy}; the ${sw.source} is neither "true" nor "false", so Istio ignores it and the namespace decides${shadowed}`);
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

// Annotation values, as Istio's injector checks them before it injects
// (AnnotationValidation in pkg/kube/inject/validate.go): a value it refuses makes the
// webhook refuse the pod.
const PORTS: PortListRules = { ranges: false };
const PORT_LISTS: Record<string, PortListRules> = {
  // ValidateIncludeInboundPorts: exactly "*", or parsePorts.
  'traffic.sidecar.istio.io/includeInboundPorts': { ...PORTS, allowStar: true },
  'traffic.sidecar.istio.io/excludeInboundPorts': PORTS,
  'traffic.sidecar.istio.io/excludeOutboundPorts': PORTS,
};
// ValidateIncludeIPRanges / ValidateExcludeIPRanges: netip.ParsePrefix per element.
const CIDR_LISTS: Record<string, { allowStar: boolean }> = {
  'traffic.sidecar.istio.io/includeOutboundIPRanges': { allowStar: true },
  'traffic.sidecar.istio.io/excludeOutboundIPRanges': { allowStar: false },
};
const QUANTITIES = new Set(['sidecar.istio.io/proxyCPU', 'sidecar.istio.io/proxyMemory', 'sidecar.istio.io/proxyCPULimit', 'sidecar.istio.io/proxyMemoryLimit']);
// netutil.ValidateInterfaceNames.
const INTERFACE_LISTS = new Set(['traffic.sidecar.istio.io/excludeInterfaces', 'traffic.sidecar.istio.io/kubevirtInterfaces', 'istio.io/reroute-virtual-interfaces']);
// validateUInt32: strconv.ParseUint(value, 10, 32), no trimming; the injection template
// then writes the value into the proxy's readinessProbe, whose fields are int32, so a value
// above 2147483647 fails the injection (found by the differential tier).
const UINT32S = new Set([
  'readiness.status.sidecar.istio.io/initialDelaySeconds',
  'readiness.status.sidecar.istio.io/periodSeconds',
  'readiness.status.sidecar.istio.io/failureThreshold',
]);
export const ISTIO_INTERCEPTION_MODE = 'sidecar.istio.io/interceptionMode';
export const ISTIO_INCLUDE_OUTBOUND_PORTS = 'traffic.sidecar.istio.io/includeOutboundPorts';
const STATUS_PORT = 'status.sidecar.istio.io/port';
const MERGE_METRICS = 'prometheus.istio.io/merge-metrics';
const PROXY_CONFIG = 'proxy.istio.io/config';
const INTERFACE_NAME = /^[a-zA-Z][a-zA-Z0-9_.-]*$/;
const PROBE_MAX = 2147483647;

/** netutil.ValidateInterfaceNames (pkg/util/net/ip.go): trimmed names, 1–15 characters. */
const interfaceListError = (value: string): string | undefined => {
  if (value === '') return undefined;
  for (const raw of value.split(',')) {
    const name = goTrimSpace(raw);
    if (name === '') return 'an interface name is empty; remove the extra comma';
    if (name.length > 15) return `interface name ${JSON.stringify(name)} is longer than 15 characters`;
    if (!INTERFACE_NAME.test(name)) return `interface name ${JSON.stringify(name)} must start with a letter and contain only letters, digits, "_", "." and "-"`;
  }
  return undefined;
};

const UINT32_MAX = 4294967295;

/** validateUInt32: strconv.ParseUint(value, 10, 32): digits only, at most 4294967295. */
const uint32Error = (value: string): string | undefined =>
  /^[0-9]+$/.test(value) && Number(value) <= UINT32_MAX ? undefined : `${JSON.stringify(value)} is not a whole number 0–${UINT32_MAX} (digits only, no sign or spaces)`;

/**
 * The readiness values reach the proxy only through the readinessProbe the injection
 * template renders, and it renders one only while the status port is not 0
 * (status.sidecar.istio.io/port: "0" turns the probe off). The probe's fields are int32:
 * a uint32 above 2147483647 fails the injection, but only when there is a probe to write it into.
 */
const probeOverflow = (annotations: StringMap): { key: string; message: string }[] => {
  const statusPort = annotations[STATUS_PORT];
  if (statusPort !== undefined && /^[0-9]+$/.test(goTrimSpace(statusPort)) && Number(goTrimSpace(statusPort)) === 0) return [];
  return [...UINT32S]
    .filter((key) => annotations[key] !== undefined && uint32Error(annotations[key]!) === undefined && Number(annotations[key]) > PROBE_MAX)
    .map((key) => ({
      key,
      message: `Istio's injector refuses the pod: ${JSON.stringify(annotations[key])} does not fit the proxy's readinessProbe, whose fields are at most ${PROBE_MAX} (or set ${STATUS_PORT}: "0" to run the proxy without a readiness probe)`,
    }));
};

const checkAnnotation = (key: string, value: string): string | undefined => {
  // The inject switch is never refused: a value other than true/false is ignored (a warning).
  if (key === ISTIO_INJECT) return undefined;
  const ports = PORT_LISTS[key];
  if (ports) {
    const error = portListError(value, ports);
    return error && `Istio's injector refuses the pod: ${error}`;
  }
  const cidrs = CIDR_LISTS[key];
  if (cidrs) {
    const error = cidrListError(value, cidrs);
    return error && `Istio's injector refuses the pod: ${error}`;
  }
  if (QUANTITIES.has(key)) {
    const error = resourceQuantityError(value);
    return error && `Istio cannot use this as the proxy's resources: ${error}`;
  }
  if (INTERFACE_LISTS.has(key)) {
    const error = interfaceListError(value);
    return error && `Istio's injector refuses the pod: ${error}`;
  }
  if (UINT32S.has(key)) {
    const error = uint32Error(value);
    return error && `Istio's injector refuses the pod: ${error}`;
  }
  if (key === ISTIO_INTERCEPTION_MODE) {
    // validateInterceptionMode: the exact names, case and spaces included.
    return ['REDIRECT', 'TPROXY', 'NONE'].includes(value) ? undefined : `Istio's injector refuses the pod: the interception mode must be exactly REDIRECT, TPROXY or NONE`;
  }
  if (key === STATUS_PORT) {
    // validateStatusPort → parsePort: trimmed, then strconv.ParseUint(s, 10, 16).
    const port = goTrimSpace(value);
    return /^[0-9]+$/.test(port) && Number(port) <= 65535 ? undefined : `Istio's injector refuses the pod: ${JSON.stringify(value)} is not a port number 0–65535`;
  }
  if (key === MERGE_METRICS) {
    const error = goBoolError(value);
    return error && `Istio's injector refuses the pod (it reads this with Go's ParseBool): ${error}`;
  }
  if (key === PROXY_CONFIG) {
    const error = proxyConfigError(value);
    return error && `Istio's injector refuses the pod: this is not a valid ProxyConfig: ${error}`;
  }
  return undefined;
};

// istio-cni's plugin reads the injected pod again before it sets up the pod's network
// (doAddRun and NewRedirect in cni/pkg/plugin), with rules of its own that differ from the
// injector's in three places (the differential tier runs the plugin on every case):
// - the inject switch, label first, then annotation, is read with Go's ParseBool, and a
//   false there means "set up no redirection": the injector ignored "False" or "0" and added
//   the proxy, the plugin then leaves the proxy out of the pod's traffic;
// - the interception mode must be REDIRECT or TPROXY (validateInterceptionMode): NONE, which
//   the injector takes, fails the pod's network setup;
// - includeOutboundPorts, which the injector does not check, must be "*" or a port list
//   (validatePortListWithWildcard), or the network setup fails.
// A failed network setup keeps the pod in ContainerCreating: the kubelet retries it forever.
const CNI_NO_CAPTURE =
  'where istio-cni is installed, its plugin reads this value with Go\'s ParseBool as false and sets up no traffic redirection for the proxy the injector adds: the pod runs a sidecar that none of its traffic passes through';
const CNI_SETUP_FAILS = "where istio-cni is installed, its plugin refuses this value and the pod's network setup fails, so the pod stays in ContainerCreating";

const ignoredSwitch = (value: string, cni: 'label' | 'annotation' | 'no'): string => {
  const base = `Istio reads only exactly "true" or "false" here and ignores ${JSON.stringify(value)} as if the switch were absent, so the namespace decides; write "true" or "false"`;
  if (cni === 'no' || parseGoBool(value) !== false) return base;
  return `${base}. And ${CNI_NO_CAPTURE}${cni === 'annotation' ? ` (the plugin reads the label ${ISTIO_INJECT} instead where the pod has one)` : ''}`;
};

const annotationWarning = (key: string, value: string, labels?: StringMap): string | undefined => {
  if (key === ISTIO_INJECT && !isIstioSwitchValue(value)) {
    // The plugin prefers the label, whatever its value; without the pod's labels (a cluster
    // CR's annotations) the message says so.
    return ignoredSwitch(value, labels?.[ISTIO_INJECT] !== undefined ? 'no' : 'annotation');
  }
  if (key === ISTIO_INCLUDE_OUTBOUND_PORTS) {
    // Not in AnnotationValidation: the injector copies it into istio-init's -q argument and
    // istio-iptables gives each comma-separated element to iptables as written.
    const error = portListError(value, PORTS);
    if (!error) return undefined;
    const cniRefuses = portListError(value, { ...PORTS, allowStar: true }) !== undefined;
    return `Istio's injector does not check this value; istio-iptables hands each element to iptables as written, which fails the pod's istio-init container${cniRefuses ? `, and ${CNI_SETUP_FAILS}` : ''}: ${error}`;
  }
  if (key === ISTIO_INTERCEPTION_MODE && value === 'NONE') {
    return `NONE turns traffic capture off: the proxy runs, but none of the pod's traffic passes through it unless the application sends it there. And ${CNI_SETUP_FAILS} (it takes only REDIRECT and TPROXY)`;
  }
  return undefined;
};

/**
 * The API server refuses the injected pod when the proxy's request is above its limit
 * (the mesh copies both annotations into the same container: ValidateResourceRequirements).
 */
const checkAnnotationSet = (annotations: StringMap): { key: string; message: string }[] => {
  const out: { key: string; message: string }[] = probeOverflow(annotations);
  for (const [resource, req, lim] of [
    ['cpu', 'sidecar.istio.io/proxyCPU', 'sidecar.istio.io/proxyCPULimit'],
    ['memory', 'sidecar.istio.io/proxyMemory', 'sidecar.istio.io/proxyMemoryLimit'],
  ] as const) {
    const r = annotations[req];
    const l = annotations[lim];
    if (r === undefined || l === undefined || resourceQuantityError(r) || resourceQuantityError(l)) continue;
    const rq = parseQuantity(r);
    const lq = parseQuantity(l);
    if (rq.ok && lq.ok && quantityNanos(rq.value) > quantityNanos(lq.value)) {
      out.push({
        key: req,
        message: `the proxy's ${resource} request ${JSON.stringify(r)} is above its limit ${JSON.stringify(l)} (${lim}): Istio injects it as written and the API server then refuses the pod (a request must not exceed its limit)`,
      });
    }
  }
  return out;
};

const labelWarnings = (labels: StringMap): { key: string; message: string }[] => {
  const value = labels[ISTIO_INJECT];
  if (value === undefined || isIstioSwitchValue(value)) return [];
  return [{ key: ISTIO_INJECT, message: ignoredSwitch(value, 'label') }];
};

export const istio: MeshRules = {
  name: 'istio',
  title: 'Istio',
  ownsAnnotationKey: (key) => hasPrefix(key, PREFIXES) || KEYS.includes(key),
  selectedByNamespace: (ns) => ns.labels[ISTIO_INJECTION_NS_LABEL] !== undefined || ns.labels[ISTIO_REV] !== undefined,
  wouldMesh: (pod, ns) => wouldMesh(pod, ns),
  // wouldMesh's yes: a namespace label, a pod label that selects the pod, or the proxy.
  mayMesh: (pod, ns) =>
    ns.labels[ISTIO_INJECTION_NS_LABEL] !== undefined ||
    ns.labels[ISTIO_REV] !== undefined ||
    pod.labels[ISTIO_REV] !== undefined ||
    pod.labels[ISTIO_INJECT] === 'true' ||
    istioProxy(pod) !== undefined,
  isMeshed: (pod) => isMeshed(pod),
  meshedByProxyOnly: true,
  checkAnnotation,
  annotationWarning,
  checkAnnotationSet,
  labelWarnings,
  portExclusion: {
    inbound: 'traffic.sidecar.istio.io/excludeInboundPorts',
    outbound: 'traffic.sidecar.istio.io/excludeOutboundPorts',
    ranges: false,
  },
  optOut: { labels: { [ISTIO_INJECT]: 'false' } },
};
