// Kubernetes Events about a cluster CR (core/v1, which `kubectl describe` and
// `kubectl get events --field-selector involvedObject.name=...` show).
import type { CoreV1Api, CoreV1Event } from '@kubernetes/client-node';
import type { KubeObject } from '../policies/k8s.js';

export const EVENT_SOURCE = 'meshguard-syncer';

export type EventApi = Pick<CoreV1Api, 'createNamespacedEvent'>;

export interface ClusterEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** The Event for `cr`; `now` and `instance` come from the caller (the shell owns clocks). */
export function eventFor(cr: KubeObject, e: ClusterEvent, now: Date, instance: string): CoreV1Event {
  const meta = cr.metadata ?? {};
  const namespace = meta.namespace ?? 'default';
  // Unique per emission, like the names client-go's recorder gives (<object>.<hex time>).
  const suffix = (BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))).toString(16);
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${meta.name}.${suffix}`, namespace },
    involvedObject: {
      apiVersion: cr.apiVersion,
      kind: cr.kind,
      name: meta.name,
      namespace,
      ...(meta.uid ? { uid: meta.uid } : {}),
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
    },
    type: e.type,
    reason: e.reason,
    message: e.message,
    source: { component: EVENT_SOURCE },
    reportingComponent: EVENT_SOURCE,
    reportingInstance: instance.slice(0, 128),
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

export async function emitEvent(api: EventApi, cr: KubeObject, e: ClusterEvent, now: Date, instance: string): Promise<void> {
  const body = eventFor(cr, e, now, instance);
  await api.createNamespacedEvent({ namespace: body.metadata!.namespace!, body });
}
