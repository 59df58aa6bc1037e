// `meshguard sync-status` against a real kube-apiserver: status and condition converge,
// transitions keep their times and raise one event, a burst of 100 pod changes becomes a
// handful of writes, deleted clusters are survived, two syncers elect one writer, the
// survivor takes over from a killed leader, and an API-server restart is recovered from.
// Needs the binaries from test/e2e/build.sh and `npm run build` (`make e2e` does both).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as k8s from '@kubernetes/client-node';
import t from 'tap';

import { startCluster, type TestCluster } from './lib/cluster.js';
import { LEASE_NS, SyncerProcess } from './lib/syncer-process.js';
import { eventually, sleep } from './lib/wait.js';

// Budgets, not assertions: the API server starts and restarts on 2 shared cores.
t.setTimeout(12 * 60_000);

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const NS = 'e2e-syncer';
const LEASE = 'meshguard-status-syncer';
const GROUP = { group: 'antfly.io', version: 'v1', plural: 'antflyclusters' };
const ANTFLY_LABELS = (cluster: string) => ({ 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': cluster });
// Short lease timings keep the takeover test quick; the defaults (15/10/2 s) are the same code.
const LEASE_FLAGS = ['--lease-duration-seconds=6', '--renew-deadline-seconds=4', '--retry-period-seconds=1'];

const waitUntil = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> => eventually(what, fn, timeoutMs);

interface MeshStatus {
  enabled: boolean;
  sidecarInjectionStatus: string;
  podsWithSidecars: number;
  totalPods: number;
  lastTransitionTime: string;
}
interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}
interface ClusterObj {
  metadata: { generation: number; resourceVersion: string };
  status?: { serviceMeshStatus?: MeshStatus; conditions?: Cond[] };
}

t.test('meshguard sync-status against a real API server', async (t) => {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} missing: run \`npm run build\` first (make e2e does)`);
  const cluster: TestCluster = await startCluster({ log: (m) => t.comment(m) });
  const syncers: SyncerProcess[] = [];
  t.teardown(async () => {
    for (const s of syncers) await s.kill('SIGKILL');
    await cluster.stop();
  });
  const kc = cluster.kubeConfig;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
  const onFailure = (s: SyncerProcess) => t.comment(`--- ${s.name} log ---\n${s.tail()}`);

  // --- fixtures ---
  // loadYaml gives the client's typed model: a plain object would lose the
  // x-kubernetes-* keys, which the typed model spells differently.
  const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(fs.readFileSync(path.join(HERE, 'fixtures', 'crd-antflycluster.yaml'), 'utf8'));
  await ext.createCustomResourceDefinition({ body: crd });
  await waitUntil('CRD established', async () => {
    const c = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
    return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True');
  });
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await core.createNamespace({ body: { metadata: { name: LEASE_NS } } });

  const createCluster = (name: string, serviceMesh: Record<string, unknown>) =>
    custom.createNamespacedCustomObject({
      ...GROUP,
      namespace: NS,
      body: { apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', metadata: { name, namespace: NS }, spec: { serviceMesh } },
    });
  const getCluster = async (name: string) => (await custom.getNamespacedCustomObject({ ...GROUP, namespace: NS, name })) as ClusterObj;
  const readyOf = (c: ClusterObj) => c.status?.conditions?.find((x) => x.type === 'ServiceMeshReady');
  const createPod = (name: string, cluster: string, meshed: boolean) =>
    core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name, labels: ANTFLY_LABELS(cluster) },
        spec: { containers: [{ name: 'antfly', image: 'antfly:1' }, ...(meshed ? [{ name: 'istio-proxy', image: 'proxyv2:1' }] : [])] },
      },
    });
  // No kubelet: a deleted pod would wait for one forever; grace 0 removes it at once.
  const deletePod = (name: string) => core.deleteNamespacedPod({ name, namespace: NS, gracePeriodSeconds: 0 });
  const waitForStatus = (name: string, want: Partial<MeshStatus>, what = JSON.stringify(want)) =>
    waitUntil(`${name}: ${what}`, async () => {
      const c = await getCluster(name);
      const s = c.status?.serviceMeshStatus;
      return s && Object.entries(want).every(([k, v]) => s[k as keyof MeshStatus] === v) ? c : undefined;
    });
  const partialEvents = async (name: string) =>
    (await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name},reason=PartialSidecarInjection` })).items;
  /** Seconds precision: make sure the next transition happens in a later second than the last. */
  const nextSecond = () => sleep(1100);

  const istio = { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } };

  // --- one syncer ---
  const a = await SyncerProcess.start('syncer-a', cluster.kubeconfigPath, ['--leader-elect', ...LEASE_FLAGS]);
  syncers.push(a);
  t.teardown(() => (t.passing() ? undefined : onFailure(a)));

  await t.test('probes and leadership of a lone syncer', async (t) => {
    t.equal((await a.get('/healthz')).status, 200);
    await waitUntil('readyz', async () => (await a.get('/readyz')).status === 200);
    await waitUntil('syncer-a leads', async () => (await a.metric('meshguard_syncer_leader')) === 1);
    const lease = await coordination.readNamespacedLease({ name: LEASE, namespace: LEASE_NS });
    t.equal(lease.spec?.holderIdentity, a.identity, 'the Lease names syncer-a');
    t.match(a.identity, /^syncer-a_/);
  });

  await t.test('status and condition converge', async (t) => {
    await createCluster('c1', istio);
    const empty = await waitForStatus('c1', { sidecarInjectionStatus: 'Unknown' });
    t.same(readyOf(empty), { ...readyOf(empty), status: 'Unknown', reason: 'Unknown' });

    for (const i of [0, 1, 2]) await createPod(`c1-meshed-${i}`, 'c1', true);
    // A logging sidecar is not a mesh proxy: this pod is not meshed.
    await core.createNamespacedPod({
      namespace: NS,
      body: { metadata: { name: 'c1-logger', labels: ANTFLY_LABELS('c1') }, spec: { containers: [{ name: 'antfly', image: 'a' }, { name: 'fluent-bit', image: 'f' }] } },
    });
    await waitForStatus('c1', { totalPods: 4, sidecarInjectionStatus: 'Partial' });
    await waitUntil('the PartialSidecarInjection event', async () => (await partialEvents('c1')).length === 1);
    await deletePod('c1-logger');
    const c = await waitForStatus('c1', { sidecarInjectionStatus: 'Complete', totalPods: 3 });
    const s = c.status!.serviceMeshStatus!;
    t.same({ ...s, lastTransitionTime: 'x' }, { enabled: true, sidecarInjectionStatus: 'Complete', podsWithSidecars: 3, totalPods: 3, lastTransitionTime: 'x' });
    t.match(s.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    t.match(readyOf(c), { status: 'True', reason: 'SidecarInjectionComplete', message: 'All 3 pods have sidecars injected', observedGeneration: c.metadata.generation });
  });

  await t.test('transitions: times, other conditions and one event', async (t) => {
    // Another controller's condition, which every write of ours must keep.
    const before = await getCluster('c1');
    const other: Cond = { type: 'Ready', status: 'True', reason: 'Operator', message: 'owned by someone else', lastTransitionTime: '2025-01-01T00:00:00Z' };
    await custom.patchNamespacedCustomObjectStatus(
      { ...GROUP, namespace: NS, name: 'c1', body: { status: { conditions: [other, ...(before.status?.conditions ?? [])] } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const completeTime = before.status!.serviceMeshStatus!.lastTransitionTime;
    const completeCondTime = readyOf(before)!.lastTransitionTime;
    const n0 = (await partialEvents('c1')).length;
    t.equal(n0, 1, 'the one event of the first Partial spell (the logging sidecar)');

    await nextSecond();
    await createPod('c1-plain-0', 'c1', false);
    const partial = await waitForStatus('c1', { sidecarInjectionStatus: 'Partial', podsWithSidecars: 3, totalPods: 4 });
    const partialTime = partial.status!.serviceMeshStatus!.lastTransitionTime;
    t.not(partialTime, completeTime, 'entering Partial moves lastTransitionTime');
    t.match(readyOf(partial), { status: 'False', reason: 'PartialInjection', message: '3/4 pods have sidecars injected' });
    t.not(readyOf(partial)!.lastTransitionTime, completeCondTime);
    t.same(partial.status!.conditions![0], other, 'the other condition is untouched, in its place');
    const events = await waitUntil('the PartialSidecarInjection event', async () => {
      const e = await partialEvents('c1');
      return e.length > n0 ? e : undefined;
    });
    t.equal(events.length, n0 + 1, 'one event for entering Partial');
    const latest = events.sort((x, y) => new Date(x.lastTimestamp!).getTime() - new Date(y.lastTimestamp!).getTime()).at(-1)!;
    t.match(latest, { type: 'Warning', reason: 'PartialSidecarInjection', involvedObject: { kind: 'AntflyCluster', name: 'c1', apiVersion: 'antfly.io/v1' } });
    t.match(latest.message, /^3\/4 pods have sidecars injected/);

    // Still Partial with other numbers: a write, no new transition, no second event.
    await nextSecond();
    await createPod('c1-plain-1', 'c1', false);
    const stillPartial = await waitForStatus('c1', { sidecarInjectionStatus: 'Partial', totalPods: 5 });
    t.equal(stillPartial.status!.serviceMeshStatus!.lastTransitionTime, partialTime, 'Partial → Partial keeps lastTransitionTime');
    t.equal(readyOf(stillPartial)!.lastTransitionTime, readyOf(partial)!.lastTransitionTime);
    // Several resyncs (every 3 s here) find nothing to do and raise nothing.
    const unchanged = await a.metric('meshguard_syncer_reconciles_total{outcome="unchanged"}');
    await waitUntil('two more resyncs', async () => (await a.metric('meshguard_syncer_reconciles_total{outcome="unchanged"}')) >= unchanged + 2);
    t.equal((await partialEvents('c1')).length, n0 + 1, 'one event per transition, not per resync');
    t.equal((await getCluster('c1')).metadata.resourceVersion, stillPartial.metadata.resourceVersion, 'resyncs wrote nothing');

    await nextSecond();
    await deletePod('c1-plain-0');
    await deletePod('c1-plain-1');
    const complete = await waitForStatus('c1', { sidecarInjectionStatus: 'Complete', totalPods: 3 });
    t.not(complete.status!.serviceMeshStatus!.lastTransitionTime, partialTime, 'back to Complete moves it again');
    t.match(readyOf(complete), { status: 'True', reason: 'SidecarInjectionComplete' });
    t.same(complete.status!.conditions![0], other);
    t.equal((await partialEvents('c1')).length, n0 + 1, 'leaving Partial raises nothing');

    // Disabling the mesh: None with True/Disabled, and observedGeneration follows the spec.
    await custom.patchNamespacedCustomObject(
      { ...GROUP, namespace: NS, name: 'c1', body: { spec: { serviceMesh: { enabled: false } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const disabled = await waitForStatus('c1', { enabled: false, sidecarInjectionStatus: 'None' });
    t.match(readyOf(disabled), { status: 'True', reason: 'Disabled', observedGeneration: disabled.metadata.generation });
    await custom.patchNamespacedCustomObject(
      { ...GROUP, namespace: NS, name: 'c1', body: { spec: { serviceMesh: istio } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitForStatus('c1', { enabled: true, sidecarInjectionStatus: 'Complete' });
  });

  await t.test('a burst of 100 pod changes is a handful of writes', async (t) => {
    await createCluster('burst', istio);
    const start = await waitForStatus('burst', { sidecarInjectionStatus: 'Unknown' });
    // Count every status change of this CR from here on (the syncer is its only writer).
    let modified = 0;
    const watch = await new k8s.Watch(kc).watch(
      `/apis/antfly.io/v1/namespaces/${NS}/antflyclusters`,
      { resourceVersion: start.metadata.resourceVersion, fieldSelector: 'metadata.name=burst' },
      (type) => {
        if (type === 'MODIFIED') modified++;
      },
      () => {},
    );
    const writesBefore = await a.metric('meshguard_syncer_status_writes_total');
    const names = Array.from({ length: 100 }, (_, i) => `burst-${i}`);
    for (let i = 0; i < names.length; i += 10) await Promise.all(names.slice(i, i + 10).map((n) => createPod(n, 'burst', true)));
    await waitForStatus('burst', { sidecarInjectionStatus: 'Complete', totalPods: 100, podsWithSidecars: 100 });
    // Let the metric catch up with the write the poll just saw.
    const writes = await waitUntil('writes counted', async () => {
      const w = (await a.metric('meshguard_syncer_status_writes_total')) - writesBefore;
      return w >= modified && modified > 0 ? w : undefined;
    });
    watch.abort();
    t.comment(`100 pod creations: ${modified} status writes seen by a watch, ${writes} counted by the syncer`);
    t.ok(modified >= 1 && modified <= 10, `a handful of writes, not 100 (got ${modified})`);
    t.equal(writes, modified, 'the metric counts exactly the writes');
    t.equal(await a.metric('meshguard_syncer_status_conflicts_total'), 0, 'a single writer meets no conflicts');
  });

  await t.test('deleted clusters are survived', async (t) => {
    const gone = await a.metric('meshguard_syncer_reconciles_total{outcome="gone"}');
    await custom.deleteNamespacedCustomObject({ ...GROUP, namespace: NS, name: 'burst' });
    // Pod events for a cluster that no longer exists.
    for (let i = 0; i < 100; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => deletePod(`burst-${i + j}`)));
    await createPod('orphan-0', 'burst', false);
    await waitUntil('the missing cluster noticed', async () => (await a.metric('meshguard_syncer_reconciles_total{outcome="gone"}')) > gone);
    t.ok(a.running, 'still running');
    await createPod('c1-plain-2', 'c1', false);
    await waitForStatus('c1', { sidecarInjectionStatus: 'Partial', totalPods: 4 });
    await deletePod('c1-plain-2');
    await waitForStatus('c1', { sidecarInjectionStatus: 'Complete', totalPods: 3 });
    t.equal(await a.metric('meshguard_syncer_reconciles_total{outcome="error"}'), 0, 'no failed reconciliations');
  });

  await t.test('recovers after an API server restart', async (t) => {
    await cluster.restartApiServer();
    // A change made after the restart must reach the status through the re-established watches.
    await createPod('c1-plain-3', 'c1', false);
    await waitForStatus('c1', { sidecarInjectionStatus: 'Partial', totalPods: 4 });
    await deletePod('c1-plain-3');
    await waitForStatus('c1', { sidecarInjectionStatus: 'Complete', totalPods: 3 });
    t.equal(await a.metric('meshguard_syncer_leader'), 1, 'still the leader');
    t.ok(a.running);
  });

  await t.test('two syncers: one writes; the other takes over when it dies', async (t) => {
    const b = await SyncerProcess.start('syncer-b', cluster.kubeconfigPath, ['--leader-elect', ...LEASE_FLAGS]);
    syncers.push(b);
    t.teardown(() => (t.passing() ? undefined : onFailure(b)));
    await waitUntil('syncer-b ready', async () => (await b.get('/readyz')).status === 200);
    // Let syncer-b see a few lease renewals by syncer-a.
    await sleep(3000);
    t.equal(await a.metric('meshguard_syncer_leader'), 1, 'a leads');
    t.equal(await b.metric('meshguard_syncer_leader'), 0, 'b follows');

    const aWrites = await a.metric('meshguard_syncer_status_writes_total');
    await createPod('c1-plain-4', 'c1', false);
    await waitForStatus('c1', { sidecarInjectionStatus: 'Partial', totalPods: 4 });
    await waitUntil('a counts its write', async () => (await a.metric('meshguard_syncer_status_writes_total')) > aWrites);
    t.equal(await b.metric('meshguard_syncer_status_writes_total'), 0, 'the follower never wrote');
    t.equal(await b.metric('meshguard_syncer_reconciles_total{outcome="written"}'), 0);

    // Kill the leader without a chance to release the lease.
    const killedAt = Date.now();
    await a.kill('SIGKILL');
    await waitUntil('b takes over', async () => (await b.metric('meshguard_syncer_leader')) === 1, 60_000);
    t.comment(`takeover after SIGKILL of the leader: ${((Date.now() - killedAt) / 1000).toFixed(1)} s (lease duration 6 s, retry period 1 s)`);
    const lease = await coordination.readNamespacedLease({ name: LEASE, namespace: LEASE_NS });
    t.equal(lease.spec?.holderIdentity, b.identity, 'the Lease names syncer-b');
    t.ok((lease.spec?.leaseTransitions ?? 0) >= 1, 'a leader transition is recorded');

    await deletePod('c1-plain-4');
    await waitForStatus('c1', { sidecarInjectionStatus: 'Complete', totalPods: 3 });
    await waitUntil('b counts its write', async () => (await b.metric('meshguard_syncer_status_writes_total')) >= 1);

    // A clean stop hands the lease back at once.
    await b.kill('SIGTERM');
    t.equal(b.child.exitCode, 0, 'clean exit on SIGTERM');
    const released = await coordination.readNamespacedLease({ name: LEASE, namespace: LEASE_NS });
    t.notOk(released.spec?.holderIdentity, 'the lease is released on SIGTERM');
  });
});
