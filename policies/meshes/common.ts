// Small helpers every mesh module shares: decisions with reasons, and finding a mesh
// proxy among a pod's containers.
import type { Container, PodFacts } from '../k8s.js';
import type { Decision } from './types.js';

export const yes = (reason: string): Decision => ({ value: true, reason });
export const no = (reason: string): Decision => ({ value: false, reason });

/** `key=value` for reasons, quoting only values that would read ambiguously. */
export const kv = (key: string, value: string): string => `${key}=${/^[-A-Za-z0-9_.]+$/.test(value) ? value : JSON.stringify(value)}`;

/** Manifests are not validated yet when they reach us: tolerate junk entries. */
const nameOf = (c: Container): string | undefined =>
  typeof c === 'object' && c !== null && typeof c.name === 'string' ? c.name : undefined;

/**
 * Where the proxy container is, described for a reason string, or undefined. Since
 * Kubernetes 1.28 a mesh may run its proxy as a native sidecar: an init container with
 * `restartPolicy: Always`. A plain init container (istio-init, linkerd-init) runs to
 * completion before the app starts and is not a proxy.
 */
export const findProxyContainer = (pod: PodFacts, isProxyName: (name: string) => boolean): string | undefined => {
  for (const c of pod.containers) {
    const name = nameOf(c);
    if (name !== undefined && isProxyName(name)) return `container ${JSON.stringify(name)}`;
  }
  for (const c of pod.initContainers) {
    const name = nameOf(c);
    if (name !== undefined && isProxyName(name) && c.restartPolicy === 'Always') {
      return `native sidecar ${JSON.stringify(name)} (init container with restartPolicy: Always)`;
    }
  }
  return undefined;
};

/** True for keys whose prefix (the part before "/") is one of `prefixes`. */
export const hasPrefix = (key: string, prefixes: readonly string[]): boolean => {
  const slash = key.indexOf('/');
  if (slash <= 0) return false;
  // Compared in place: every annotation key of every review is asked of every mesh.
  for (const p of prefixes) if (p.length === slash && key.startsWith(p)) return true;
  return false;
};
