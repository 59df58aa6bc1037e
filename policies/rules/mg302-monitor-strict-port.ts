// MG302: a ServiceMonitor or PodMonitor scrapes meshed pods on a port that refuses clients
// without a mesh identity. Prometheus usually runs outside the mesh, so those scrapes fail
// and the targets show as down. Off when the configuration says Prometheus is meshed.
import { isPlainObject, type KubeObject } from '../k8s.js';
import type { ObjectIndex } from '../index/object-index.js';
import { containerPortOf, selectPodLikes, serviceTargets, servicePorts, type PortTarget } from '../index/relations.js';
import { few, indexFinding, label } from './emit.js';
import { plaintextException, refusedTargets } from './exceptions.js';
import type { AnalysisContext, IndexFinding, IndexRule } from './types.js';

/** The namespaces a monitor looks in: `namespaceSelector.any`, `matchNames`, else its own. */
const monitorNamespaces = (index: ObjectIndex, monitor: KubeObject): string[] => {
  const sel = monitor.spec?.namespaceSelector;
  if (isPlainObject(sel) && sel.any === true) return [...index.namespaceNames()];
  if (isPlainObject(sel) && Array.isArray(sel.matchNames) && sel.matchNames.length > 0) return sel.matchNames.filter((n): n is string => typeof n === 'string');
  return [monitor.metadata?.namespace ?? 'default'];
};

/** The pods and container ports one ServiceMonitor endpoint scrapes. */
const serviceMonitorTargets = (index: ObjectIndex, monitor: KubeObject, endpoint: Record<string, unknown>): PortTarget[] =>
  monitorNamespaces(index, monitor).flatMap((ns) =>
    index.select('Service', ns, monitor.spec?.selector).flatMap((svc) => {
      if (typeof endpoint.port === 'string') {
        const sp = servicePorts(svc).find((p) => p.name === endpoint.port);
        return sp ? serviceTargets(index, svc, sp) : [];
      }
      const target = endpoint.targetPort;
      if (typeof target !== 'number' && typeof target !== 'string') return [];
      return serviceTargets(index, svc, { port: 0, targetPort: target, protocol: 'TCP' });
    }),
  );

/** The pods and container ports one PodMonitor endpoint scrapes. */
const podMonitorTargets = (index: ObjectIndex, monitor: KubeObject, endpoint: Record<string, unknown>): PortTarget[] => {
  const target = typeof endpoint.port === 'string' ? endpoint.port : typeof endpoint.portNumber === 'number' ? endpoint.portNumber : endpoint.targetPort;
  if (typeof target !== 'number' && typeof target !== 'string') return [];
  return monitorNamespaces(index, monitor).flatMap((ns) =>
    selectPodLikes(index, ns, monitor.spec?.selector).map((pod) => ({ pod, containerPort: containerPortOf(pod.facts, target) })),
  );
};

const MONITORS = [
  { kind: 'ServiceMonitor', field: 'endpoints', targets: serviceMonitorTargets },
  { kind: 'PodMonitor', field: 'podMetricsEndpoints', targets: podMonitorTargets },
] as const;

const check = (index: ObjectIndex, ctx: AnalysisContext): IndexFinding[] => {
  if (ctx.config.analysis?.prometheusMeshed) return [];
  const out: IndexFinding[] = [];
  for (const { kind, field, targets } of MONITORS)
    for (const monitor of index.list(kind)) {
      const endpoints = Array.isArray(monitor.spec?.[field]) ? (monitor.spec[field] as unknown[]) : [];
      endpoints.forEach((endpoint, i) => {
        if (!isPlainObject(endpoint)) return;
        const [hit] = refusedTargets(index, targets(index, monitor, endpoint), ctx);
        if (!hit) return;
        const { refusal, port, pods } = hit;
        out.push(
          indexFinding(
            'MG302',
            'warning',
            monitor,
            ['spec', field, i],
            `${label(monitor)} scrapes ${few(pods.map((p) => label(p.object)))} on container port ${port}, but ${refusal.reason}. ` +
              `Prometheus outside the mesh has no mesh identity, so these scrapes fail and the targets show as down. ` +
              `Fix: ${plaintextException(refusal, pods, port, `${monitor.metadata?.name ?? 'metrics'}-metrics-permissive`)}; ` +
              `or, if Prometheus runs in the mesh, set analysis.prometheusMeshed: true in meshguard's configuration.`,
            `${kind} ${monitor.metadata?.name ?? ''}: port ${port} of meshed pods is closed to Prometheus outside the mesh`,
            [...pods.map((p) => p.object), ...(refusal.mtls?.decidedBy ? [refusal.mtls.decidedBy] : [])],
          ),
        );
      });
    }
  return out;
};

export const MG302: IndexRule = {
  id: 'MG302',
  severity: 'warning',
  title: 'a ServiceMonitor/PodMonitor scrapes a STRICT port of meshed pods from outside the mesh',
  appliesTo: 'ServiceMonitor, PodMonitor',
  reads: ['ServiceMonitor', 'PodMonitor', 'Service', 'Pod', 'StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Namespace', 'PeerAuthentication'],
  scope: 'index',
  check,
};
