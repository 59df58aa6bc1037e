// The wiring of startSyncer on a fake cluster view and fake API clients: which changes
// reach which cluster, coalescing, leader gating, events once per transition, metrics.
import type { V1Lease } from '@kubernetes/client-node';
import { pino } from 'pino';
import t from 'tap';
import { DEFAULT_CONFIG } from '../../../policies/config.js';
import type { KubeObject, Pod } from '../../../policies/k8s.js';
import type { SyncerApis } from '../../../syncer/kube-calls.js';
import { startSyncer, type SyncerOptions } from '../../../syncer/syncer.js';
import { FakeClock } from './fixtures/fake-clock.js';
import { FakeView } from './fixtures/fake-view.js';

const logger = pino({ level: 'silent' });
const apiError = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The API server side: cluster CRs with status, events, one lease. */
class FakeApi {
  crs = new Map<string, KubeObject>();
  patches: { name: string; body: { status: { serviceMeshStatus: { sidecarInjectionStatus: string } } } }[] = [];
  events: { reason: string; involvedObject: { name: string } }[] = [];
  failEvents = false;
  lease: V1Lease | undefined;
  leaseHeldBy: string | undefined;
  private rv = 100;

  putCr(o: KubeObject): KubeObject {
    const stored = { ...copy(o), metadata: { ...o.metadata, resourceVersion: String(++this.rv) } };
    this.crs.set(o.metadata!.name!, stored);
    return stored;
  }

  apis(): SyncerApis {
    const custom = {
      getNamespacedCustomObject: async ({ name }: { name: string }) => {
        const o = this.crs.get(name);
        if (!o) throw apiError(404);
        return copy(o);
      },
      patchNamespacedCustomObjectStatus: async ({ name, body }: { name: string; body: { metadata: { resourceVersion: string }; status: Record<string, unknown> } }) => {
        const o = this.crs.get(name);
        if (!o) throw apiError(404);
        if (body.metadata.resourceVersion !== o.metadata?.resourceVersion) throw apiError(409);
        this.patches.push(copy({ name, body }) as never);
        return this.putCr({ ...o, status: { ...(o.status as object), ...body.status } });
      },
    };
    const core = {
      createNamespacedEvent: async ({ body }: { body: never }) => {
        if (this.failEvents) throw apiError(500);
        this.events.push(body);
        return body;
      },
    };
    const coordination = {
      readNamespacedLease: async () => {
        if (this.leaseHeldBy) return { metadata: { resourceVersion: '1' }, spec: { holderIdentity: this.leaseHeldBy, leaseDurationSeconds: 15, renewTime: `${++this.rv}` } };
        if (!this.lease) throw apiError(404);
        return copy(this.lease);
      },
      createNamespacedLease: async ({ body }: { body: V1Lease }) => {
        this.lease = { ...copy(body), metadata: { ...body.metadata, resourceVersion: '1' } };
        return this.lease;
      },
      replaceNamespacedLease: async ({ body }: { body: V1Lease }) => {
        this.lease = { ...copy(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
        return this.lease;
      },
    };
    return { custom, core, coordination } as unknown as SyncerApis;
  }
}

const NS = 'db';
const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } };
const antfly = (name: string, enabled = true): KubeObject => ({
  apiVersion: 'antfly.io/v1',
  kind: 'AntflyCluster',
  metadata: { name, namespace: NS, generation: 1 },
  spec: { serviceMesh: { enabled, annotations: { 'sidecar.istio.io/inject': 'true' } } },
});
const pod = (name: string, cluster: string, meshed: boolean): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': cluster } },
  spec: { containers: [{ name: 'antfly' }, ...(meshed ? [{ name: 'istio-proxy' }] : [])] },
  status: { phase: 'Running' },
});

const setup = async (over: Partial<SyncerOptions> = {}, prepare: (api: FakeApi) => void = () => {}) => {
  const clock = new FakeClock();
  const api = new FakeApi();
  prepare(api);
  const view = new FakeView([namespace]);
  const syncer = await startSyncer({
    apis: api.apis(),
    view,
    config: DEFAULT_CONFIG,
    logger,
    resyncMs: 300_000,
    quietMs: 500,
    maxDelayMs: 5000,
    metricsPort: null,
    defaultMetrics: false,
    clock,
    ...over,
  });
  const addCluster = (name: string, enabled = true) => {
    api.putCr(antfly(name, enabled));
    view.emit('add', 'antflyclusters.antfly.io', antfly(name, enabled));
  };
  const stateOf = (name: string) => (api.crs.get(name)?.status as { serviceMeshStatus?: { sidecarInjectionStatus: string; totalPods: number } } | undefined)?.serviceMeshStatus;
  const metric = async (name: string) => (await syncer.metrics.registry.getSingleMetric(name)!.get()).values;
  return { clock, api, view, syncer, addCluster, stateOf, metric };
};

t.test('nothing is written before the view has synced; everything right after', async (t) => {
  const s = await setup();
  t.equal(s.view.started, 1);
  t.equal(s.syncer.isLeader(), true, 'without leader election this replica writes');
  s.addCluster('a');
  s.view.emit('add', 'pods/antfly', pod('a-0', 'a', true));
  await s.clock.advance(10_000);
  t.same(s.api.patches, [], 'a partial cache would count too few pods');
  s.view.synced = true;
  await s.clock.advance(200);
  await s.clock.advance(500);
  t.match(s.stateOf('a'), { sidecarInjectionStatus: 'Complete', totalPods: 1 });
  t.equal(s.api.patches.length, 1);
  await s.syncer.stop();
  await s.syncer.stop();
  t.equal(s.view.stopped, 1, 'stop is idempotent');
});

t.test('a burst of pod events is one write; the Partial event is raised once', async (t) => {
  const s = await setup();
  s.view.synced = true;
  s.addCluster('a');
  await s.clock.advance(1000);
  t.match(s.stateOf('a'), { sidecarInjectionStatus: 'Unknown' });
  const before = s.api.patches.length;
  for (let i = 0; i < 100; i++) {
    s.view.emit('add', 'pods/antfly', pod(`a-${i}`, 'a', i !== 50));
    await s.clock.advance(20);
  }
  await s.clock.advance(1000);
  t.equal(s.api.patches.length - before, 1, '100 pod events, one write');
  t.match(s.stateOf('a'), { sidecarInjectionStatus: 'Partial', totalPods: 100 });
  t.equal(s.api.events.length, 1);
  t.match(s.api.events[0], { reason: 'PartialSidecarInjection', involvedObject: { name: 'a' } });

  // Resyncs and a CR update event (our own write) find nothing to do.
  s.view.emit('update', 'antflyclusters.antfly.io', antfly('a'));
  await s.syncer.stop();
  const s2 = s; // metrics survive stop
  const writes = await s2.metric('meshguard_syncer_status_writes_total');
  t.equal(writes[0]!.value, 2);
  const events = await s2.metric('meshguard_syncer_events_total');
  t.same(events.map((v) => [v.labels.reason, v.value]), [['PartialSidecarInjection', 1]]);
});

t.test('resync re-checks every cluster without writing what is right', async (t) => {
  const s = await setup({ resyncMs: 10_000 });
  s.view.synced = true;
  s.addCluster('a');
  s.view.emit('add', 'pods/antfly', pod('a-0', 'a', true));
  s.view.emit('add', 'pods/antfly', pod('a-1', 'a', false));
  await s.clock.advance(1000);
  t.equal(s.api.patches.length, 1);
  await s.clock.advance(60_000);
  t.equal(s.api.patches.length, 1, 'no writes from resyncs');
  t.equal(s.api.events.length, 1, 'no events from resyncs');
  const reconciles = await s.metric('meshguard_syncer_reconciles_total');
  t.ok((reconciles.find((v) => v.labels.outcome === 'unchanged')?.value ?? 0) >= 5, 'resyncs ran');
  const last = await s.metric('meshguard_syncer_last_sync_timestamp_seconds');
  t.ok(last[0]!.value > 50, 'last sync time follows the clock');
  await s.syncer.stop();
});

t.test('which events reach which cluster', async (t) => {
  const s = await setup();
  s.view.synced = true;
  s.addCluster('a');
  s.addCluster('b');
  await s.clock.advance(1000);
  const writesOf = (name: string) => s.api.patches.filter((p) => p.name === name).length;
  t.equal(writesOf('a'), 1);
  t.equal(writesOf('b'), 1);

  s.view.emit('add', 'pods/antfly', pod('x', 'a', true));
  await s.clock.advance(1000);
  t.equal(writesOf('a'), 2);
  t.equal(writesOf('b'), 1, 'a pod of a touches only a');

  // Relabelled from a to b: both change.
  s.view.emit('update', 'pods/antfly', pod('x', 'b', true));
  await s.clock.advance(1000);
  t.equal(writesOf('a'), 3);
  t.equal(writesOf('b'), 2);
  t.match(s.stateOf('a'), { sidecarInjectionStatus: 'Unknown', totalPods: 0 });

  // A namespace change re-checks the clusters in it (its labels can choose the mesh).
  s.view.emit('update', 'namespaces', { ...namespace, metadata: { name: NS, labels: { 'istio-injection': 'enabled' } } });
  s.view.emit('update', 'namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'elsewhere' } });
  await s.clock.advance(1000);
  t.equal(s.api.patches.length, 5, 'no change of status: nothing written, and no error');

  // Pods of no profile and objects of no profile are ignored.
  s.view.emit('add', 'pods/antfly', { ...pod('y', 'a', true), metadata: { name: 'y', namespace: NS, labels: {} } });
  s.view.emit('add', 'other', { apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 't', namespace: NS } });
  await s.clock.advance(1000);
  t.equal(s.api.patches.length, 5);

  // The cluster is deleted: pending work is dropped, and pods that point at it do not fail.
  s.view.emit('add', 'pods/antfly', pod('z', 'b', false));
  s.view.emit('delete', 'antflyclusters.antfly.io', antfly('b'));
  s.api.crs.delete('b');
  await s.clock.advance(1000);
  s.view.emit('delete', 'pods/antfly', pod('z', 'b', false));
  await s.clock.advance(1000);
  const reconciles = await s.metric('meshguard_syncer_reconciles_total');
  t.ok((reconciles.find((v) => v.labels.outcome === 'gone')?.value ?? 0) >= 1);
  t.notOk(reconciles.some((v) => v.labels.outcome === 'error'));
  await s.syncer.stop();
});

t.test('a cluster deleted between the cache and the read', async (t) => {
  const s = await setup();
  s.view.synced = true;
  s.addCluster('a');
  s.api.crs.delete('a');
  await s.clock.advance(1000);
  const reconciles = await s.metric('meshguard_syncer_reconciles_total');
  t.same(reconciles.map((v) => [v.labels.outcome, v.value]), [['gone', 1]]);
  await s.syncer.stop();
});

t.test('API errors are retried; a failed event is logged, not retried', async (t) => {
  const s = await setup();
  s.view.synced = true;
  s.addCluster('a');
  s.view.emit('add', 'pods/antfly', pod('a-0', 'a', true));
  s.view.emit('add', 'pods/antfly', pod('a-1', 'a', false));
  s.api.failEvents = true;
  const get = s.api.crs.get.bind(s.api.crs);
  let failures = 2;
  s.api.crs.get = (k: string) => {
    if (failures-- > 0) throw apiError(503);
    return get(k);
  };
  await s.clock.advance(1000);
  t.equal(s.api.patches.length, 0);
  await s.clock.advance(5000);
  t.equal(s.api.patches.length, 1, 'written after the retries');
  t.match(s.stateOf('a'), { sidecarInjectionStatus: 'Partial' });
  t.equal(s.api.events.length, 0);
  const reconciles = await s.metric('meshguard_syncer_reconciles_total');
  t.equal(reconciles.find((v) => v.labels.outcome === 'error')?.value, 2);
  await s.syncer.stop();
});

t.test('with leader election only the leader writes', async (t) => {
  const election = { leaseName: 'l', leaseNamespace: 'ns', identity: 'me', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 };
  const s = await setup({ leaderElection: election }, (api) => (api.leaseHeldBy = 'someone-else'));
  s.view.synced = true;
  s.addCluster('a');
  await s.clock.advance(10_000);
  t.equal(s.syncer.isLeader(), false);
  t.same(s.api.patches, [], 'a follower writes nothing');
  t.equal((await s.metric('meshguard_syncer_leader'))[0]!.value, 0);

  // The other holder stops renewing: after the lease duration this one leads and catches up.
  s.api.leaseHeldBy = undefined;
  s.api.lease = { metadata: { resourceVersion: '1' }, spec: { holderIdentity: 'someone-else', leaseDurationSeconds: 15, renewTime: 'x' as never } };
  await s.clock.advance(20_000);
  t.equal(s.syncer.isLeader(), true);
  t.equal((await s.metric('meshguard_syncer_leader'))[0]!.value, 1);
  t.match(s.stateOf('a'), { sidecarInjectionStatus: 'Unknown' }, 'the new leader reconciles everything');
  await s.syncer.stop();
  t.equal(s.api.lease?.spec?.holderIdentity, '', 'released on stop');
  t.equal((await s.metric('meshguard_syncer_leader'))[0]!.value, 0);
});

t.test('the ops listener serves metrics and probes', async (t) => {
  const s = await setup({ metricsPort: 0, metricsHost: '127.0.0.1' });
  const base = `http://127.0.0.1:${s.syncer.metricsPort}`;
  t.equal((await fetch(`${base}/healthz`)).status, 200);
  const notReady = await fetch(`${base}/readyz`);
  t.equal(notReady.status, 503);
  t.match(await notReady.text(), /cluster view not synced/);
  s.view.synced = true;
  t.equal((await fetch(`${base}/readyz`)).status, 200);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  for (const name of [
    'meshguard_syncer_status_writes_total',
    'meshguard_syncer_status_conflicts_total',
    'meshguard_syncer_leader',
    'meshguard_syncer_last_sync_timestamp_seconds',
    'meshguard_syncer_events_total',
    'meshguard_syncer_reconciles_total',
  ]) {
    t.match(metrics, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  await s.syncer.stop();
});
