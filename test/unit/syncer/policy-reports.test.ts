// PolicyReports: what a namespace's report says (policies/policy-report.ts), how it is
// written (syncer/report-writer.ts), and when the syncer writes it — only with the CRD
// installed, coalesced, never when nothing changed.
import { ApisApi, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import t from 'tap';
import { ObjectClusterView } from '../../../policies/cluster-view.js';
import { DEFAULT_CONFIG } from '../../../policies/config.js';
import { ENFORCEMENT_LABEL } from '../../../policies/enforcement.js';
import type { KubeObject, Pod } from '../../../policies/k8s.js';
import { namespaceReport, type ReportContent } from '../../../policies/policy-report.js';
import { writeReport, type ReportCalls } from '../../../syncer/report-writer.js';
import { startSyncer } from '../../../syncer/syncer.js';
import { FakeClock } from './fixtures/fake-clock.js';
import { FakeView } from './fixtures/fake-view.js';

const logger = pino({ level: 'silent' });
const apiError = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

const NS = 'db';
const ns = (labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'istio-injection': 'enabled', ...labels } } });
// Consensus ports already excluded in the CR: no MG206, so a clean cluster has no finding at all.
const antfly = (name: string): KubeObject => ({
  apiVersion: 'antfly.io/v1',
  kind: 'AntflyCluster',
  metadata: { name, namespace: NS, uid: `uid-${name}` },
  spec: {
    serviceMesh: {
      enabled: true,
      annotations: { 'traffic.sidecar.istio.io/excludeInboundPorts': '9017,9021', 'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,9021' },
    },
  },
});
const pod = (name: string, cluster: string, meshed: boolean, phase = 'Running'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: NS,
    uid: `uid-${name}`,
    labels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': cluster },
    annotations: { 'traffic.sidecar.istio.io/excludeInboundPorts': '9017,9021', 'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,9021', ...(meshed ? { 'sidecar.istio.io/status': '{}' } : {}) },
  },
  spec: { containers: [{ name: 'antfly' }, ...(meshed ? [{ name: 'istio-proxy' }] : [])] },
  status: { phase },
});
const brief = (r: ReportContent | undefined) => r?.results.map((x) => `${x.result} ${x.policy} ${x.resources[0]!.kind}/${x.resources[0]!.name}${x.properties ? ` ${x.properties.action}` : ''}`);

t.test('namespaceReport: a result per finding, pass per clean cluster, nothing where no cluster is', async (t) => {
  const v = new ObjectClusterView([ns(), antfly('a'), antfly('b'), pod('a-0', 'a', true), pod('a-1', 'a', false), pod('b-0', 'b', true), pod('a-job', 'a', false, 'Succeeded')]);
  const r = namespaceReport(NS, v, DEFAULT_CONFIG);
  t.same(brief(r), ['pass meshguard AntflyCluster/b', 'fail MG201 Pod/a-1 deny'], 'completed pods are not judged; a flagged cluster has no pass');
  t.same(r!.summary, { pass: 1, fail: 1, warn: 0, error: 0, skip: 0 });
  const fail = r!.results[1]!;
  t.match(fail, {
    source: 'meshguard', rule: 'MG201', severity: 'high', scored: true,
    message: /Pod db\/a-1 runs without the Istio proxy/,
    resources: [{ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: 'a-1', uid: 'uid-a-1' }],
    properties: { action: 'deny', title: String },
  });
  t.same(r!.results[0]!.resources, [{ apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', namespace: NS, name: 'b', uid: 'uid-b' }]);
  t.equal(namespaceReport('elsewhere', v, DEFAULT_CONFIG), undefined);

  const audited = new ObjectClusterView([ns({ [ENFORCEMENT_LABEL]: 'audit' }), antfly('a'), pod('a-1', 'a', false)]);
  t.same(brief(namespaceReport(NS, audited, DEFAULT_CONFIG)), ['fail MG201 Pod/a-1 audit'], 'audited errors are still failures, with their action');
  const orphan = new ObjectClusterView([ns(), antfly('a'), pod('x-0', 'x', true)]);
  t.same(brief(namespaceReport(NS, orphan, DEFAULT_CONFIG)), ['pass meshguard AntflyCluster/a', 'warn MG204 Pod/x-0 warn'], 'a pod of a missing cluster warns');
});

/** wgpolicyk8s.io reports and antfly.io clusters in one store, as the API server holds them. */
class FakeCustom {
  objects = new Map<string, KubeObject>();
  writes: { verb: string; namespace: string; body?: KubeObject }[] = [];
  crd = true;
  failNext = 0;
  private rv = 1;
  private key = (group: string, plural: string, namespace: string, name: string) => `${group}/${plural}/${namespace}/${name}`;

  calls() {
    const get = async ({ group, plural, namespace, name }: { group: string; plural: string; namespace: string; name: string }) => {
      if (group === 'wgpolicyk8s.io' && !this.crd) throw apiError(404);
      const o = this.objects.get(this.key(group, plural, namespace, name));
      if (!o) throw apiError(404);
      return copy(o);
    };
    const store = (group: string, plural: string, namespace: string, body: KubeObject) => {
      const o = { ...copy(body), metadata: { ...copy(body.metadata), resourceVersion: String(++this.rv) } };
      this.objects.set(this.key(group, plural, namespace, body.metadata!.name!), o);
      return copy(o);
    };
    const guard = () => {
      if (!this.crd) throw apiError(404);
      if (this.failNext > 0) {
        this.failNext--;
        throw apiError(500);
      }
    };
    return {
      getNamespacedCustomObject: get,
      createNamespacedCustomObject: async ({ group, plural, namespace, body }: { group: string; plural: string; namespace: string; body: KubeObject }) => {
        guard();
        if (this.objects.has(this.key(group, plural, namespace, body.metadata!.name!))) throw apiError(409);
        this.writes.push({ verb: 'create', namespace, body: copy(body) });
        return store(group, plural, namespace, body);
      },
      replaceNamespacedCustomObject: async ({ group, plural, namespace, name, body }: { group: string; plural: string; namespace: string; name: string; body: KubeObject }) => {
        guard();
        const o = this.objects.get(this.key(group, plural, namespace, name));
        if (!o) throw apiError(404);
        if (body.metadata?.resourceVersion !== o.metadata?.resourceVersion) throw apiError(409);
        this.writes.push({ verb: 'replace', namespace, body: copy(body) });
        return store(group, plural, namespace, body);
      },
      deleteNamespacedCustomObject: async ({ group, plural, namespace, name }: { group: string; plural: string; namespace: string; name: string }) => {
        guard();
        if (!this.objects.delete(this.key(group, plural, namespace, name))) throw apiError(404);
        this.writes.push({ verb: 'delete', namespace });
        return {};
      },
      patchNamespacedCustomObjectStatus: async ({ group, plural, namespace, name, body }: { group: string; plural: string; namespace: string; name: string; body: { status: unknown } }) => {
        const o = this.objects.get(this.key(group, plural, namespace, name));
        if (!o) throw apiError(404);
        return store(group, plural, namespace, { ...o, status: body.status });
      },
    };
  }

  report(namespace = NS): KubeObject | undefined {
    return this.objects.get(this.key('wgpolicyk8s.io', 'policyreports', namespace, 'meshguard'));
  }
}

t.test('writeReport: create, unchanged, replace with the resourceVersion, delete', async (t) => {
  const api = new FakeCustom();
  const calls = api.calls() as unknown as ReportCalls;
  const v = new ObjectClusterView([ns(), antfly('a'), pod('a-0', 'a', true)]);
  const passing = namespaceReport(NS, v, DEFAULT_CONFIG)!;
  t.equal(await writeReport(calls, NS, passing), 'created');
  t.match(api.report(), { apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: { name: 'meshguard', namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'meshguard' } }, summary: { pass: 1 } });
  t.equal(await writeReport(calls, NS, passing), 'unchanged');
  t.equal(api.writes.length, 1, 'no write when nothing changed');
  v.add(pod('a-1', 'a', false));
  t.equal(await writeReport(calls, NS, namespaceReport(NS, v, DEFAULT_CONFIG)), 'updated');
  t.match(api.writes[1], { verb: 'replace', body: { metadata: { resourceVersion: '2' } } });
  t.same(api.report()!.summary, { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 });
  t.equal(await writeReport(calls, NS, undefined), 'deleted');
  t.equal(await writeReport(calls, NS, undefined), 'absent');
  api.crd = false;
  t.equal(await writeReport(calls, NS, passing), 'crd-missing');
  api.crd = true;
  api.failNext = 1;
  await t.rejects(writeReport(calls, NS, passing), { code: 500 }, 'other errors go to the caller (the coalescer retries)');
});

const setup = async (crdInstalled: boolean) => {
  const clock = new FakeClock();
  const api = new FakeCustom();
  api.crd = crdInstalled;
  const discovery = { calls: 0 };
  const apis = {
    getAPIVersions: async () => {
      discovery.calls++;
      return { groups: api.crd ? [{ name: 'wgpolicyk8s.io', versions: [{ groupVersion: 'wgpolicyk8s.io/v1alpha2', version: 'v1alpha2' }] }] : [{ name: 'apps', versions: [] }] };
    },
  };
  const custom = api.calls();
  const kubeConfig = {
    makeApiClient: (cls: unknown) => (cls === CustomObjectsApi ? custom : cls === ApisApi ? apis : cls === CoreV1Api ? { createNamespacedEvent: async () => ({}) } : undefined),
  } as unknown as KubeConfig;
  const view = new FakeView([ns()]);
  const addCluster = (name: string) => {
    api.objects.set(`antfly.io/antflyclusters/${NS}/${name}`, { ...copy(antfly(name)), metadata: { ...antfly(name).metadata, resourceVersion: '1' } });
    view.emit('add', 'antflyclusters.antfly.io', antfly(name));
  };
  const syncer = await startSyncer({
    kubeConfig, view, config: DEFAULT_CONFIG, logger, resyncMs: 300_000, quietMs: 500, maxDelayMs: 5000,
    metricsPort: null, defaultMetrics: false, clock, policyReports: { crdRetryMs: 30_000 },
  });
  const reportWrites = () => api.writes.filter((w) => w.body?.kind === 'PolicyReport' || w.verb === 'delete');
  const metric = async (name: string) => (await syncer.metrics.registry.getSingleMetric(name)!.get()).values;
  return { clock, api, view, syncer, addCluster, discovery, reportWrites, metric };
};

t.test('syncer: no report while the CRD is absent; written once it is found', async (t) => {
  const s = await setup(false);
  s.view.synced = true;
  s.addCluster('a');
  s.view.emit('add', 'pods/antfly', pod('a-0', 'a', false));
  await s.clock.advance(10_000);
  t.equal(s.api.report(), undefined, 'no report without the CRD');
  t.equal(s.reportWrites().length, 0);
  t.same((await s.metric('meshguard_syncer_policy_report_crd_installed')).map((x) => x.value), [0]);
  const looked = s.discovery.calls;
  s.api.crd = true;
  await s.clock.advance(20_000);
  t.ok(s.discovery.calls > looked, 'looked for again');
  await s.clock.advance(1_000);
  t.same(brief(s.api.report() as unknown as ReportContent), ['fail MG201 Pod/a-0 deny']);
  t.same((await s.metric('meshguard_syncer_policy_report_crd_installed')).map((x) => x.value), [1]);
  await s.syncer.stop();
});

t.test('syncer: a burst of changes is one write; fixed pods turn to pass; unchanged resyncs write nothing', async (t) => {
  const s = await setup(true);
  s.view.synced = true;
  s.addCluster('a');
  await s.clock.advance(1_000);
  t.same(brief(s.api.report() as unknown as ReportContent), ['pass meshguard AntflyCluster/a']);
  const before = s.reportWrites().length;
  for (let i = 0; i < 20; i++) {
    s.view.emit('add', 'pods/antfly', pod(`a-${i}`, 'a', i !== 7));
    await s.clock.advance(20);
  }
  await s.clock.advance(1_000);
  t.equal(s.reportWrites().length - before, 1, '20 pod events, one report write');
  t.same(brief(s.api.report() as unknown as ReportContent), ['fail MG201 Pod/a-7 deny']);

  s.view.emit('update', 'namespaces', ns({ [ENFORCEMENT_LABEL]: 'warn' }));
  await s.clock.advance(1_000);
  t.same(brief(s.api.report() as unknown as ReportContent), ['fail MG201 Pod/a-7 warn'], 'the namespace label changes the action');

  s.view.emit('update', 'pods/antfly', pod('a-7', 'a', true));
  await s.clock.advance(1_000);
  t.same(brief(s.api.report() as unknown as ReportContent), ['pass meshguard AntflyCluster/a'], 'fixed: pass');

  const settled = s.reportWrites().length;
  await s.clock.advance(300_000);
  await s.clock.advance(1_000);
  t.equal(s.reportWrites().length, settled, 'a resync with nothing changed writes nothing');

  s.api.objects.delete(`antfly.io/antflyclusters/${NS}/a`);
  s.view.emit('delete', 'antflyclusters.antfly.io', antfly('a'));
  for (let i = 0; i < 20; i++) s.view.emit('delete', 'pods/antfly', pod(`a-${i}`, 'a', true));
  await s.clock.advance(1_000);
  t.equal(s.api.report(), undefined, 'the last cluster gone: the report is deleted');
  await s.syncer.stop();
});

t.test('syncer: the CRD removed later is noticed on the next write and looked for again', async (t) => {
  const s = await setup(true);
  s.view.synced = true;
  s.addCluster('a');
  await s.clock.advance(1_000);
  t.ok(s.api.report());
  s.api.objects.clear();
  s.api.crd = false;
  s.addCluster('a');
  s.view.emit('add', 'pods/antfly', pod('a-0', 'a', false));
  await s.clock.advance(1_000);
  t.same((await s.metric('meshguard_syncer_policy_reports_total')).find((x) => x.labels.outcome === 'crd-missing')?.value, 1);
  t.same((await s.metric('meshguard_syncer_policy_report_crd_installed')).map((x) => x.value), [0]);
  s.api.crd = true;
  await s.clock.advance(31_000);
  await s.clock.advance(1_000);
  t.same(brief(s.api.report() as unknown as ReportContent), ['fail MG201 Pod/a-0 deny'], 'written again once the CRD is back');
  await s.syncer.stop();
});

t.test('syncer: a follower writes no report', async (t) => {
  const s = await setup(true);
  // Not synced: the same gate as leadership (both checked before any write).
  s.addCluster('a');
  await s.clock.advance(10_000);
  t.equal(s.api.report(), undefined);
  await s.syncer.stop();
});
