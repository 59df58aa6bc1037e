import t from 'tap';
import { DEFAULT_CONFIG } from '../../../policies/config.js';
import type { KubeObject, Pod } from '../../../policies/k8s.js';
import { computeServiceMeshStatus } from '../../../policies/status.js';
import { eventFor, emitEvent } from '../../../syncer/events.js';
import { ConflictRetriesExhausted, coordinatesOf, writeStatus, type CustomObjectsCalls } from '../../../syncer/status-writer.js';

const apiError = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });
const AT = coordinatesOf('antfly.io/v1', 'antflyclusters', 'db', 'c1');
const ns = { name: 'db', labels: {}, annotations: {}, known: true };
const meshed: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'a' }, { name: 'istio-proxy' }] }, status: { phase: 'Running' } };

const cr = (rv: string, status?: unknown): KubeObject => ({
  apiVersion: 'antfly.io/v1',
  kind: 'AntflyCluster',
  metadata: { name: 'c1', namespace: 'db', resourceVersion: rv, generation: 1 },
  spec: { serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } } },
  ...(status === undefined ? {} : { status }),
});

const decide = (c: KubeObject) => computeServiceMeshStatus(c.status, c, [meshed], ns, DEFAULT_CONFIG, '2025-10-04T10:00:00Z');

/** Scripted answers: each get returns the next object (or throws), each patch the next outcome. */
const fakeApi = (gets: (KubeObject | number)[], patches: (number | 'ok')[]) => {
  const calls: { op: string; args: unknown; headers?: unknown }[] = [];
  const api = {
    getNamespacedCustomObject: async (args: unknown) => {
      calls.push({ op: 'get', args });
      const next = gets.shift();
      if (next === undefined) throw new Error('unexpected get');
      if (typeof next === 'number') throw apiError(next);
      return next;
    },
    patchNamespacedCustomObjectStatus: async (args: unknown, options: unknown) => {
      calls.push({ op: 'patch', args, headers: options });
      const next = patches.shift();
      if (next === undefined) throw new Error('unexpected patch');
      if (typeof next === 'number') throw apiError(next);
      return { ...cr('99'), status: (args as { body: { status: unknown } }).body.status };
    },
  } as unknown as CustomObjectsCalls;
  return { api, calls };
};

t.test('coordinatesOf splits the apiVersion', async (t) => {
  t.same(AT, { group: 'antfly.io', version: 'v1', plural: 'antflyclusters', namespace: 'db', name: 'c1' });
});

t.test('writes a merge patch of the status guarded by the resourceVersion read', async (t) => {
  const { api, calls } = fakeApi([cr('7')], ['ok']);
  const out = await writeStatus(api, AT, decide);
  t.equal(out.outcome, 'written');
  t.equal(calls.length, 2);
  const patch = calls[1]!.args as { body: { metadata: unknown; status: { serviceMeshStatus: unknown; conditions: unknown[] } }; name: string; plural: string };
  t.match(patch, { group: 'antfly.io', version: 'v1', plural: 'antflyclusters', namespace: 'db', name: 'c1' });
  t.same(patch.body.metadata, { resourceVersion: '7' });
  t.match(patch.body.status.serviceMeshStatus, { sidecarInjectionStatus: 'Complete', totalPods: 1 });
  t.equal(patch.body.status.conditions.length, 1);
  t.same(Object.keys(patch.body), ['metadata', 'status'], 'nothing but the status (and the guard) is sent');
  t.ok(calls[1]!.headers, 'a content type is set for the patch');
  if (out.outcome === 'written') t.match(out.cr.status, { serviceMeshStatus: { sidecarInjectionStatus: 'Complete' } });
});

t.test('nothing to write: no patch', async (t) => {
  const current = decide(cr('7'));
  const { api, calls } = fakeApi([cr('7', { serviceMeshStatus: current.serviceMeshStatus, conditions: current.conditions })], []);
  const out = await writeStatus(api, AT, decide);
  t.equal(out.outcome, 'unchanged');
  t.same(calls.map((c) => c.op), ['get']);
});

t.test('409: read again, decide again, write again', async (t) => {
  let conflicts = 0;
  const other = { type: 'Ready', status: 'True', reason: 'Op', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' };
  const { api, calls } = fakeApi([cr('7'), cr('8', { conditions: [other] })], [409, 'ok']);
  const out = await writeStatus(api, AT, decide, { onConflict: () => conflicts++ });
  t.equal(out.outcome, 'written');
  t.equal(out.conflicts, 1);
  t.equal(conflicts, 1);
  t.same(calls.map((c) => c.op), ['get', 'patch', 'get', 'patch']);
  const second = calls[3]!.args as { body: { metadata: { resourceVersion: string }; status: { conditions: unknown[] } } };
  t.equal(second.body.metadata.resourceVersion, '8', 'the retry is guarded by the new read');
  t.same(second.body.status.conditions[0], other, 'a condition added meanwhile survives the retry');
});

t.test('a conflict that resolves itself: the re-read finds the status already right', async (t) => {
  const current = decide(cr('8'));
  const { api } = fakeApi([cr('7'), cr('8', { serviceMeshStatus: current.serviceMeshStatus, conditions: current.conditions })], [409]);
  const out = await writeStatus(api, AT, decide);
  t.equal(out.outcome, 'unchanged');
  t.equal(out.conflicts, 1);
});

t.test('endless conflicts give up after maxAttempts', async (t) => {
  const { api } = fakeApi([cr('1'), cr('2'), cr('3')], [409, 409, 409]);
  await t.rejects(writeStatus(api, AT, decide, { maxAttempts: 3 }), ConflictRetriesExhausted);
});

t.test('deleted cluster: on read or on write', async (t) => {
  const onRead = fakeApi([404], []);
  t.same(await writeStatus(onRead.api, AT, decide), { outcome: 'gone', conflicts: 0 });
  const onWrite = fakeApi([cr('7')], [404]);
  t.same(await writeStatus(onWrite.api, AT, decide), { outcome: 'gone', conflicts: 0 });
});

t.test('other errors propagate (the coalescer retries)', async (t) => {
  await t.rejects(writeStatus(fakeApi([500], []).api, AT, decide), /HTTP 500/);
  await t.rejects(writeStatus(fakeApi([cr('7')], [403]).api, AT, decide), /HTTP 403/);
});

t.test('events', async (t) => {
  const now = new Date('2025-10-04T10:00:00Z');
  const e = eventFor({ ...cr('7'), metadata: { ...cr('7').metadata, uid: 'u-1' } }, { type: 'Warning', reason: 'PartialSidecarInjection', message: '1/2 pods' }, now, 'pod-a_x');
  t.match(e, {
    metadata: { namespace: 'db', name: /^c1\.[0-9a-f]+$/ },
    involvedObject: { apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', name: 'c1', namespace: 'db', uid: 'u-1', resourceVersion: '7' },
    type: 'Warning',
    reason: 'PartialSidecarInjection',
    message: '1/2 pods',
    source: { component: 'meshguard-syncer' },
    reportingComponent: 'meshguard-syncer',
    reportingInstance: 'pod-a_x',
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
  });
  const again = eventFor(cr('7'), { type: 'Warning', reason: 'R', message: 'm' }, now, 'i');
  t.not(again.metadata!.name, e.metadata!.name, 'names are unique even within one millisecond');
  t.notOk('uid' in again.involvedObject, 'no uid when the object has none');
  t.equal(eventFor({ metadata: { name: 'x' } }, { type: 'Normal', reason: 'R', message: 'm' }, now, 'i').metadata!.namespace, 'default');

  const created: unknown[] = [];
  await emitEvent({ createNamespacedEvent: async (a: unknown) => void created.push(a) } as never, cr('7'), { type: 'Warning', reason: 'R', message: 'm' }, now, 'i');
  t.match(created, [{ namespace: 'db', body: { reason: 'R' } }]);
});
