// Kuma (kumahq/kuma): the `kuma.io/sidecar-injection` label, the pod's value first, the
// namespace's otherwise, read by needToInject (pkg/plugins/runtime/k8s/webhooks/injector/
// precheck.go) with GetEnabled (pkg/plugins/runtime/k8s/metadata/annotations.go); and before
// that the two webhooks of Kuma's chart (deployments/charts/kuma/templates/
// cp-webhooks-and-secrets.yaml), which decide whether the injector sees the pod at all.
import type { NamespaceInfo, PodFacts, StringMap } from '../k8s.js';
import { portListError, type PortListRules } from '../values/port-list.js';
import { findProxyContainer, hasPrefix, kv, no, yes } from './common.js';
import type { Decision, MeshRules } from './types.js';

export const KUMA_INJECTION = 'kuma.io/sidecar-injection';
export const KUMA_INJECTED = 'kuma.io/sidecar-injected';

const PREFIXES = ['kuma.io', 'traffic.kuma.io'];
// GetEnabled → GetBooleanWithDefault(false, supportEnabled=true): exactly these spellings;
// any other value is an error, and the injector's error refuses the pod
// (podMutatingHandler.Handle in pkg/plugins/runtime/k8s/webhooks/pod_mutator.go returns
// admission.Errored).
const ON = ['enabled', 'true', 'yes'];
const OFF = ['disabled', 'false', 'no'];
const SPELLINGS = [...ON, ...OFF].map((v) => JSON.stringify(v)).join(', ');
export const kumaEnabled = (value: string): boolean | undefined => (ON.includes(value) ? true : OFF.includes(value) ? false : undefined);

/** Namespaces the chart's webhooks leave out: kube-system and the release namespace (kuma-system by default). */
export const KUMA_UNSELECTED_NAMESPACES: readonly string[] = ['kube-system', 'kuma-system'];
/** kuma-cp's default runtime.kubernetes.injector.exceptions.labels (kuma-cp.defaults.yaml): any value. */
export const KUMA_EXCEPTION_LABELS: readonly string[] = ['openshift.io/build.name', 'openshift.io/deployer-pod-for.name'];

export const kumaProxy = (pod: PodFacts): string | undefined => {
  const container = findProxyContainer(pod, (n) => n === 'kuma-sidecar');
  if (container) return container;
  if (pod.annotations[KUMA_INJECTED] === 'true') return `annotation ${kv(KUMA_INJECTED, 'true')}`;
  return undefined;
};

/**
 * Whether the API server calls Kuma's injector for the pod: the chart's
 * namespace-kuma-injector webhook selects namespaces labelled `enabled` or `"true"`;
 * pods-kuma-injector selects pods labelled exactly `enabled` in namespaces that carry the
 * label with any value. A namespace without the label is never seen.
 */
const webhookMiss = (pod: PodFacts, ns: NamespaceInfo): string | undefined => {
  if (KUMA_UNSELECTED_NAMESPACES.includes(ns.name)) return `Kuma's webhooks are not called for pods in namespace ${ns.name} (Kuma's chart leaves out kube-system and its own namespace)`;
  const nsValue = ns.labels[KUMA_INJECTION];
  const podValue = pod.labels[KUMA_INJECTION];
  if (nsValue === undefined) {
    return `the namespace has no label ${KUMA_INJECTION}, so Kuma's webhooks are not called for its pods${podValue !== undefined ? ` (the pod label ${kv(KUMA_INJECTION, podValue)} counts only in a namespace that carries the label)` : ''}; label the namespace ${kv(KUMA_INJECTION, 'enabled')}`;
  }
  if (nsValue === 'enabled' || nsValue === 'true' || podValue === 'enabled') return undefined;
  return `the namespace label ${kv(KUMA_INJECTION, nsValue)} is not "enabled" or "true", and in such a namespace Kuma's webhook is called only for pods labelled exactly ${kv(KUMA_INJECTION, 'enabled')}${podValue !== undefined ? ` (this pod has ${kv(KUMA_INJECTION, podValue)})` : ''}`;
};

const wouldMesh = (pod: PodFacts, ns: NamespaceInfo): Decision => {
  const proxy = kumaProxy(pod);
  if (proxy) return yes(`the pod already carries Kuma's sidecar (${proxy})`);
  const miss = webhookMiss(pod, ns);
  if (miss) return no(miss);
  const exception = KUMA_EXCEPTION_LABELS.find((k) => pod.labels[k] !== undefined);
  if (exception) return no(`the pod carries the label ${exception}, one of kuma-cp's default injector exceptions`);
  const podValue = pod.labels[KUMA_INJECTION];
  const [where, value] = podValue !== undefined ? ['pod', podValue] : ['namespace', ns.labels[KUMA_INJECTION]!];
  const label = `${where} label ${kv(KUMA_INJECTION, value)}`;
  const overrides = where === 'pod' ? ` (it overrides the namespace label ${kv(KUMA_INJECTION, ns.labels[KUMA_INJECTION]!)})` : '';
  const enabled = kumaEnabled(value);
  if (enabled === undefined) return no(`${label} is not one of ${SPELLINGS}, so Kuma's injector refuses the pod`);
  return enabled ? yes(`${label} enables Kuma's sidecar${overrides}`) : no(`${label} disables Kuma's sidecar${overrides}`);
};

const isMeshed = (pod: PodFacts): Decision => {
  const proxy = kumaProxy(pod);
  return proxy ? yes(`Kuma's sidecar is present (${proxy})`) : no(`no kuma-sidecar container and no ${kv(KUMA_INJECTED, 'true')} annotation: Kuma's sidecar was not injected`);
};

// Ports.Set (pkg/transparentproxy/config/config.go): the value trimmed, split at commas,
// each element trimmed, blank ones skipped, each parsed by parsePort (config/utils.go:
// strconv.ParseUint(s, 10, 16), 0 refused). An error fails the injection.
const PORTS: PortListRules = { ranges: false, min: 1, skipEmpty: true };
const PORT_LISTS = new Set(['traffic.kuma.io/exclude-inbound-ports', 'traffic.kuma.io/exclude-outbound-ports']);

const checkAnnotation = (key: string, value: string): string | undefined => {
  if (PORT_LISTS.has(key)) {
    const error = portListError(value, PORTS);
    return error && `Kuma's injector refuses the pod, it cannot parse this port list: ${error}`;
  }
  return undefined;
};

const annotationWarning = (key: string): string | undefined =>
  // preCheck logs PodAnnotationDeprecations: the annotation form is not read.
  key === KUMA_INJECTION ? `Kuma reads ${KUMA_INJECTION} only as a label; as an annotation it is ignored (Kuma logs a deprecation warning). Set it as a label on the pod template or the namespace` : undefined;

const labelErrors = (labels: StringMap): { key: string; message: string }[] => {
  const value = labels[KUMA_INJECTION];
  if (value === undefined || kumaEnabled(value) !== undefined) return [];
  return [{ key: KUMA_INJECTION, message: `Kuma accepts only ${SPELLINGS} here; its injector refuses a pod whose label has any other value` }];
};

export const kuma: MeshRules = {
  name: 'kuma',
  title: 'Kuma',
  ownsAnnotationKey: (key) => hasPrefix(key, PREFIXES),
  selectedByNamespace: (ns) => ns.labels[KUMA_INJECTION] !== undefined,
  wouldMesh: (pod, ns) => wouldMesh(pod, ns),
  // wouldMesh's yes: the namespace label its webhooks select on, or the proxy.
  mayMesh: (pod, ns) => ns.labels[KUMA_INJECTION] !== undefined || kumaProxy(pod) !== undefined,
  isMeshed: (pod) => isMeshed(pod),
  meshedByProxyOnly: true,
  checkAnnotation,
  annotationWarning,
  labelErrors,
  portExclusion: {
    inbound: 'traffic.kuma.io/exclude-inbound-ports',
    outbound: 'traffic.kuma.io/exclude-outbound-ports',
    ranges: false,
  },
  optOut: { labels: { [KUMA_INJECTION]: 'disabled' } },
};
