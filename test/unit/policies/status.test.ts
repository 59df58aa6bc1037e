import t from 'tap';
import { DEFAULT_CONFIG } from '../../../policies/config.js';
import type { KubeObject, NamespaceInfo, Pod } from '../../../policies/k8s.js';
import { computeServiceMeshStatus, SERVICE_MESH_READY, type StatusResult } from '../../../policies/status.js';

const T0 = '2025-10-04T10:00:00Z';
const T1 = '2025-10-04T11:00:00Z';
const T2 = '2025-10-04T12:00:00Z';

const ns = (labels: Record<string, string> = {}): NamespaceInfo => ({ name: 'db', labels, annotations: {}, known: true });

const cluster = (serviceMesh: Record<string, unknown> | undefined, status?: unknown, generation = 3): KubeObject => ({
  apiVersion: 'antfly.io/v1',
  kind: 'AntflyCluster',
  metadata: { name: 'c1', namespace: 'db', generation },
  spec: serviceMesh === undefined ? {} : { serviceMesh },
  ...(status === undefined ? {} : { status }),
});

const ISTIO = { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } };
const LINKERD = { enabled: true, annotations: { 'linkerd.io/inject': 'enabled' } };

let seq = 0;
const pod = (containers: string[], extra: { phase?: string; deleting?: boolean; labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `p${seq++}`,
    namespace: 'db',
    labels: extra.labels ?? {},
    annotations: extra.annotations ?? {},
    ...(extra.deleting ? { deletionTimestamp: T0 } : {}),
  },
  spec: { containers: containers.map((name) => ({ name })) },
  status: { phase: extra.phase ?? 'Running' },
});
const meshedPod = (extra = {}) => pod(['antfly', 'istio-proxy'], extra);
const plainPod = (extra = {}) => pod(['antfly'], extra);

const run = (cr: KubeObject, pods: Pod[], now = T0, namespace = ns()): StatusResult =>
  computeServiceMeshStatus(cr.status, cr, pods, namespace, DEFAULT_CONFIG, now);

/** The status a write of `r` would leave on the resource. */
const written = (r: StatusResult) => ({ serviceMeshStatus: r.serviceMeshStatus, conditions: r.conditions });

t.test('every state from scratch', async (t) => {
  t.test('Complete', async (t) => {
    const r = run(cluster(ISTIO), [meshedPod(), meshedPod(), meshedPod()]);
    t.same(r.serviceMeshStatus, { enabled: true, sidecarInjectionStatus: 'Complete', podsWithSidecars: 3, totalPods: 3, lastTransitionTime: T0 });
    t.same(r.condition, {
      type: SERVICE_MESH_READY,
      status: 'True',
      reason: 'SidecarInjectionComplete',
      message: 'All 3 pods have sidecars injected',
      lastTransitionTime: T0,
      observedGeneration: 3,
    });
    t.equal(r.changed, true);
    t.equal(r.enteredPartial, false);
    t.equal(r.countedMesh, 'istio');
  });

  t.test('Partial', async (t) => {
    const r = run(cluster(ISTIO), [meshedPod(), plainPod(), meshedPod()]);
    t.equal(r.serviceMeshStatus.sidecarInjectionStatus, 'Partial');
    t.equal(r.serviceMeshStatus.podsWithSidecars, 2);
    t.equal(r.serviceMeshStatus.totalPods, 3);
    t.match(r.condition, { status: 'False', reason: 'PartialInjection', message: '2/3 pods have sidecars injected' });
    t.equal(r.enteredPartial, true, 'a first computation that finds Partial enters it');
  });

  t.test('None while enabled', async (t) => {
    const r = run(cluster(ISTIO), [plainPod(), plainPod()]);
    t.equal(r.serviceMeshStatus.sidecarInjectionStatus, 'None');
    t.match(r.condition, { status: 'False', reason: 'NoSidecarInjection', message: 'No pods have sidecars injected (0/2)' });
  });

  t.test('None because disabled, even without pods', async (t) => {
    for (const sm of [undefined, { enabled: false }, { enabled: 'true' }, { annotations: { 'sidecar.istio.io/inject': 'true' } }]) {
      const r = run(cluster(sm), []);
      t.same(r.serviceMeshStatus, { enabled: false, sidecarInjectionStatus: 'None', podsWithSidecars: 0, totalPods: 0, lastTransitionTime: T0 }, JSON.stringify(sm));
      t.match(r.condition, { status: 'True', reason: 'Disabled', message: 'Service mesh is disabled' });
    }
  });

  t.test('disabled with proxies left over says so, counting any mesh', async (t) => {
    const r = run(cluster({ enabled: false }), [meshedPod(), pod(['antfly', 'linkerd-proxy']), plainPod()]);
    t.equal(r.serviceMeshStatus.sidecarInjectionStatus, 'None');
    t.equal(r.serviceMeshStatus.podsWithSidecars, 2);
    t.equal(r.countedMesh, undefined);
    t.match(r.condition, { status: 'True', reason: 'Disabled', message: 'Service mesh is disabled, but 2/3 pods still have a mesh proxy' });
  });

  t.test('Unknown without pods', async (t) => {
    const r = run(cluster(ISTIO), []);
    t.same(r.serviceMeshStatus, { enabled: true, sidecarInjectionStatus: 'Unknown', podsWithSidecars: 0, totalPods: 0, lastTransitionTime: T0 });
    t.match(r.condition, { status: 'Unknown', reason: 'Unknown', message: 'No pods found for this cluster' });
  });
});

t.test('which pods count, and as what', async (t) => {
  t.test('a logging sidecar is not a mesh proxy', async (t) => {
    const r = run(cluster(ISTIO), [pod(['antfly', 'fluent-bit']), pod(['antfly', 'fluent-bit'])]);
    t.equal(r.serviceMeshStatus.podsWithSidecars, 0);
    t.equal(r.serviceMeshStatus.sidecarInjectionStatus, 'None');
  });

  t.test('only Pending or Running pods that are not terminating count', async (t) => {
    const pods = [
      meshedPod({ phase: 'Running' }),
      plainPod({ phase: 'Pending' }),
      plainPod({ phase: 'Succeeded' }),
      plainPod({ phase: 'Failed' }),
      plainPod({ deleting: true }),
    ];
    const r = run(cluster(ISTIO), pods);
    t.equal(r.serviceMeshStatus.totalPods, 2);
    t.equal(r.serviceMeshStatus.podsWithSidecars, 1);
  });

  t.test('the proxy of another mesh is no sidecar for this cluster', async (t) => {
    const r = run(cluster(ISTIO), [meshedPod(), pod(['antfly', 'linkerd-proxy'])]);
    t.equal(r.serviceMeshStatus.sidecarInjectionStatus, 'Partial');
    t.equal(r.serviceMeshStatus.podsWithSidecars, 1);
    const l = run(cluster(LINKERD), [pod(['antfly', 'linkerd-proxy']), pod(['antfly', 'linkerd-proxy'])]);
    t.equal(l.serviceMeshStatus.sidecarInjectionStatus, 'Complete');
  });

  t.test('proxy shown by annotation or native sidecar counts', async (t) => {
    const annotated = pod(['antfly'], { annotations: { 'sidecar.istio.io/status': '{}' } });
    const native: Pod = { ...plainPod(), spec: { containers: [{ name: 'antfly' }], initContainers: [{ name: 'istio-proxy', restartPolicy: 'Always' }] } };
    const r = run(cluster(ISTIO), [annotated, native]);
    t.equal(r.serviceMeshStatus.sidecarInjectionStatus, 'Complete');
  });

  t.test('unknown mesh: any proxy counts', async (t) => {
    const r = run(cluster({ enabled: true }), [meshedPod(), pod(['antfly', 'linkerd-proxy'])]);
    t.equal(r.countedMesh, undefined);
    t.equal(r.serviceMeshStatus.sidecarInjectionStatus, 'Complete');
  });

  t.test('mesh from the namespace', async (t) => {
    const r = run(cluster({ enabled: true }), [meshedPod(), pod(['antfly', 'linkerd-proxy'])], T0, ns({ 'istio-injection': 'enabled' }));
    t.equal(r.countedMesh, 'istio');
    t.equal(r.serviceMeshStatus.sidecarInjectionStatus, 'Partial');
  });

  t.test('istio-ambient: enrolment, not a proxy, is what counts', async (t) => {
    const ambient = ns({ 'istio.io/dataplane-mode': 'ambient' });
    const enrolled = run(cluster({ enabled: true }), [plainPod(), plainPod()], T0, ambient);
    t.equal(enrolled.countedMesh, 'istio-ambient');
    t.equal(enrolled.serviceMeshStatus.sidecarInjectionStatus, 'Complete');
    t.equal(enrolled.condition.message, 'All 2 pods are enrolled in the ambient mesh');

    const optedOut = run(cluster({ enabled: true }), [plainPod(), plainPod({ labels: { 'istio.io/dataplane-mode': 'none' } })], T0, ambient);
    t.equal(optedOut.serviceMeshStatus.sidecarInjectionStatus, 'Partial');
    t.equal(optedOut.condition.message, '1/2 pods are enrolled in the ambient mesh');

    const none = run(cluster({ enabled: true }), [plainPod({ labels: { 'istio.io/dataplane-mode': 'none' } })], T0, ambient);
    t.equal(none.condition.message, 'No pods are enrolled in the ambient mesh (0/1)');
  });

  t.test('a CR of no configured profile still gets a status', async (t) => {
    const cr: KubeObject = { apiVersion: 'example.com/v1', kind: 'Other', metadata: { name: 'x', generation: 1 }, spec: { serviceMesh: { enabled: true } } };
    const r = computeServiceMeshStatus(undefined, cr, [meshedPod(), plainPod()], ns(), DEFAULT_CONFIG, T0);
    t.equal(r.serviceMeshStatus.sidecarInjectionStatus, 'Partial');
    t.equal(r.countedMesh, undefined);
  });
});

t.test('transitions', async (t) => {
  t.test('nothing new: no write, times kept', async (t) => {
    const first = run(cluster(ISTIO), [meshedPod(), meshedPod()], T0);
    const again = run(cluster(ISTIO, written(first)), [meshedPod(), meshedPod()], T1);
    t.equal(again.changed, false);
    t.equal(again.serviceMeshStatus.lastTransitionTime, T0);
    t.equal(again.condition.lastTransitionTime, T0);
    t.equal(again.enteredPartial, false);
  });

  t.test('Complete → Partial → Complete', async (t) => {
    const complete = run(cluster(ISTIO), [meshedPod(), meshedPod()], T0);
    const partial = run(cluster(ISTIO, written(complete)), [meshedPod(), meshedPod(), plainPod()], T1);
    t.equal(partial.changed, true);
    t.equal(partial.enteredPartial, true);
    t.equal(partial.serviceMeshStatus.lastTransitionTime, T1);
    t.equal(partial.condition.lastTransitionTime, T1, 'True → False moves the condition time');

    // Still Partial with different counts: a write, but no new transition and no second event.
    const stillPartial = run(cluster(ISTIO, written(partial)), [meshedPod(), plainPod(), plainPod()], T2);
    t.equal(stillPartial.changed, true);
    t.equal(stillPartial.enteredPartial, false);
    t.equal(stillPartial.serviceMeshStatus.lastTransitionTime, T1);
    t.equal(stillPartial.condition.lastTransitionTime, T1);
    t.equal(stillPartial.condition.message, '1/3 pods have sidecars injected');

    const back = run(cluster(ISTIO, written(stillPartial)), [meshedPod(), meshedPod(), meshedPod()], T2);
    t.equal(back.serviceMeshStatus.sidecarInjectionStatus, 'Complete');
    t.equal(back.serviceMeshStatus.lastTransitionTime, T2);
    t.equal(back.condition.lastTransitionTime, T2);
    t.equal(back.enteredPartial, false);
  });

  t.test('Partial → None keeps the condition time (both False) but moves the status time', async (t) => {
    const partial = run(cluster(ISTIO), [meshedPod(), plainPod()], T0);
    const none = run(cluster(ISTIO, written(partial)), [plainPod(), plainPod()], T1);
    t.equal(none.serviceMeshStatus.sidecarInjectionStatus, 'None');
    t.equal(none.serviceMeshStatus.lastTransitionTime, T1);
    t.equal(none.condition.lastTransitionTime, T0);
    t.equal(none.condition.reason, 'NoSidecarInjection');
    const partialAgain = run(cluster(ISTIO, written(none)), [meshedPod(), plainPod()], T2);
    t.equal(partialAgain.enteredPartial, true, 'None → Partial is a new entry');
  });

  t.test('enable and disable', async (t) => {
    const disabled = run(cluster({ enabled: false }), [plainPod()], T0);
    const enabled = run(cluster(ISTIO, written(disabled)), [plainPod()], T1);
    t.equal(enabled.serviceMeshStatus.enabled, true);
    t.equal(enabled.serviceMeshStatus.sidecarInjectionStatus, 'None');
    t.equal(enabled.serviceMeshStatus.lastTransitionTime, T0, 'None → None is no transition');
    t.equal(enabled.changed, true, 'enabled and the condition changed');
    t.equal(enabled.condition.lastTransitionTime, T1, 'True (Disabled) → False');
    const off = run(cluster({ enabled: false }, written(enabled)), [plainPod()], T2);
    t.equal(off.condition.reason, 'Disabled');
    t.equal(off.condition.lastTransitionTime, T2);
  });

  t.test('Unknown ↔ Complete as pods come and go', async (t) => {
    const unknown = run(cluster(ISTIO), [], T0);
    const complete = run(cluster(ISTIO, written(unknown)), [meshedPod()], T1);
    t.equal(complete.serviceMeshStatus.lastTransitionTime, T1);
    t.equal(complete.condition.lastTransitionTime, T1);
    const gone = run(cluster(ISTIO, written(complete)), [], T2);
    t.equal(gone.serviceMeshStatus.sidecarInjectionStatus, 'Unknown');
    t.equal(gone.serviceMeshStatus.lastTransitionTime, T2);
  });

  t.test('a new generation alone is a write, without a transition', async (t) => {
    const first = run(cluster(ISTIO, undefined, 3), [meshedPod()], T0);
    const next = run(cluster(ISTIO, written(first), 4), [meshedPod()], T1);
    t.equal(next.changed, true);
    t.equal(next.condition.observedGeneration, 4);
    t.equal(next.condition.lastTransitionTime, T0);
  });

  t.test('a status hand-edited away from the truth is put back', async (t) => {
    const first = run(cluster(ISTIO), [meshedPod()], T0);
    const edited = written(first);
    edited.serviceMeshStatus = { ...edited.serviceMeshStatus, totalPods: 9 };
    const r = run(cluster(ISTIO, edited), [meshedPod()], T1);
    t.equal(r.changed, true);
    t.equal(r.serviceMeshStatus.totalPods, 1);
    t.equal(r.serviceMeshStatus.lastTransitionTime, T0);
  });

  t.test('a previous status without a transition time gets one', async (t) => {
    const r = run(cluster(ISTIO, { serviceMeshStatus: { sidecarInjectionStatus: 'Complete' } }), [meshedPod()], T1);
    t.equal(r.serviceMeshStatus.lastTransitionTime, T1);
    t.equal(r.changed, true);
  });
});

t.test('conditions of others are left untouched', async (t) => {
  const ready = { type: 'Ready', status: 'True', reason: 'AllGood', message: 'fine', lastTransitionTime: T0, extra: { kept: true } };
  const progressing = { type: 'Progressing', status: 'False', reason: 'Done', message: '', lastTransitionTime: T0 };

  t.test('appended after them', async (t) => {
    const r = run(cluster(ISTIO, { conditions: [ready, progressing], phase: 'Running' }), [meshedPod()], T1);
    t.same(r.conditions.slice(0, 2), [ready, progressing]);
    t.equal(r.conditions.length, 3);
    t.equal((r.conditions[2] as { type: string }).type, SERVICE_MESH_READY);
  });

  t.test('replaced in place; duplicates of ours collapse', async (t) => {
    const ours = { type: SERVICE_MESH_READY, status: 'True', reason: 'SidecarInjectionComplete', message: 'All 1 pods have sidecars injected', lastTransitionTime: T0, observedGeneration: 3 };
    const prev = { serviceMeshStatus: { enabled: true, sidecarInjectionStatus: 'Complete', podsWithSidecars: 1, totalPods: 1, lastTransitionTime: T0 }, conditions: [ready, ours, progressing] };
    const same = run(cluster(ISTIO, prev), [meshedPod()], T1);
    t.equal(same.changed, false, 'identical: nothing to write');
    t.same(same.conditions, [ready, ours, progressing]);

    const dup = run(cluster(ISTIO, { ...prev, conditions: [ours, ready, { ...ours, status: 'False' }] }), [meshedPod()], T1);
    t.equal(dup.changed, true);
    t.same(dup.conditions, [ours, ready]);

    const partial = run(cluster(ISTIO, prev), [meshedPod(), plainPod()], T1);
    t.same(partial.conditions[0], ready);
    t.same(partial.conditions[2], progressing);
    t.match(partial.conditions[1], { type: SERVICE_MESH_READY, status: 'False', lastTransitionTime: T1 });
  });

  t.test('garbage status shapes are replaced, not crashed on', async (t) => {
    for (const status of ['text', 7, null, [], { serviceMeshStatus: 'x', conditions: 'y' }, { conditions: ['not-an-object', null] }]) {
      const r = run(cluster(ISTIO, status), [meshedPod()], T1);
      t.equal(r.changed, true, JSON.stringify(status));
      t.equal(r.serviceMeshStatus.sidecarInjectionStatus, 'Complete');
    }
    const kept = run(cluster(ISTIO, { conditions: ['not-an-object'] }), [meshedPod()], T1);
    t.same(kept.conditions[0], 'not-an-object', 'entries we do not understand are not ours to drop');
  });

  t.test('no generation, no observedGeneration', async (t) => {
    const cr = cluster(ISTIO);
    delete cr.metadata!.generation;
    const r = run(cr, [meshedPod()]);
    t.notOk('observedGeneration' in r.condition);
  });
});
