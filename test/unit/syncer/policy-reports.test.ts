// PolicyReports: what the reports say (policies/policy-report.ts: the whole catalog over the
// object index), how they are written (syncer/report-writer.ts), and when the syncer writes
// them — only with their CRDs installed, coalesced, never when nothing changed, and deleted
// once their results are gone (also a predecessor's, found by meshguard's label).
import { pino } from 'pino';
import t from 'tap';
import { ObjectClusterView } from '../../../policies/cluster-view.js';
import { DEFAULT_CONFIG } from '../../../policies/config.js';
import { ENFORCEMENT_LABEL } from '../../../policies/enforcement.js';
import type { KubeObject, Pod } from '../../../policies/k8s.js';
import { policyReports, type ReportContent } from '../../../policies/policy-report.js';
import type { SyncerApis } from '../../../syncer/kube-calls.js';
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
/**
 * The NetworkPolicy MG305 asks for: the cluster's consensus ports only from its own pods.
 * With it a clean cluster has no finding at all.
 */
const consensusPolicy = (cluster: string): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: `${cluster}-consensus`, namespace: NS },
  spec: {
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': cluster } },
    policyTypes: ['Ingress'],
    ingress: [
      { from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': cluster } } }], ports: [{ port: 9017, protocol: 'TCP' }, { port: 9021, protocol: 'TCP' }] },
      { ports: [{ port: 1, endPort: 9016, protocol: 'TCP' }, { port: 9018, endPort: 9020, protocol: 'TCP' }, { port: 9022, endPort: 65535, protocol: 'TCP' }] },
    ],
  },
});
const nsReport = (v: ObjectClusterView, namespace = NS) => policyReports(v, DEFAULT_CONFIG).namespaces.get(namespace);
const brief = (r: ReportContent | undefined) => r?.results.map((x) => `${x.result} ${x.policy} ${x.resources[0]!.kind}/${x.resources[0]!.name}${x.properties ? ` ${x.properties.action}` : ''}`);

t.test('policyReports: a result per finding, pass per clean cluster, nothing where no cluster is', async (t) => {
  const v = new ObjectClusterView([ns(), antfly('a'), antfly('b'), consensusPolicy('a'), consensusPolicy('b'), pod('a-0', 'a', true), pod('a-1', 'a', false), pod('b-0', 'b', true), pod('a-job', 'a', false, 'Succeeded')]);
  const r = nsReport(v);
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
  t.same([...policyReports(v, DEFAULT_CONFIG).namespaces.keys()], [NS], 'no report where no cluster is');

  const audited = new ObjectClusterView([ns({ [ENFORCEMENT_LABEL]: 'audit' }), antfly('a'), consensusPolicy('a'), pod('a-1', 'a', false)]);
  t.same(brief(nsReport(audited)), ['fail MG201 Pod/a-1 audit'], 'audited errors are still failures, with their action');
  const orphan = new ObjectClusterView([ns(), antfly('a'), consensusPolicy('a'), pod('x-0', 'x', true)]);
  t.same(brief(nsReport(orphan)), ['pass meshguard AntflyCluster/a', 'warn MG204 Pod/x-0 warn'], 'a pod of a missing cluster warns');
});

/** wgpolicyk8s.io reports and antfly.io clusters in one store, as the API server holds them. */
class FakeCustom {
  objects = new Map<string, KubeObject>();
  writes: { verb: string; namespace: string; body?: KubeObject }[] = [];
  /** The PolicyReport and ClusterPolicyReport CRDs. */
  crd = true;
  clusterCrd = true;
  failNext = 0;
  discoveries = 0;
  lists: string[] = [];
  private rv = 1;
  private key = (group: string, plural: string, namespace: string, name: string) => `${group}/${plural}/${namespace}/${name}`;
  private served = (plural: string) => (plural === 'clusterpolicyreports' ? this.clusterCrd : plural === 'policyreports' ? this.crd : true);

  calls() {
    type At = { group: string; plural: string; namespace?: string; name: string };
    type Body = { group: string; plural: string; namespace?: string; body: KubeObject };
    const get = async ({ group, plural, namespace = '', name }: At) => {
      if (!this.served(plural)) throw apiError(404);
      const o = this.objects.get(this.key(group, plural, namespace, name));
      if (!o) throw apiError(404);
      return copy(o);
    };
    const store = (group: string, plural: string, namespace: string, body: KubeObject) => {
      const o = { ...copy(body), metadata: { ...copy(body.metadata), resourceVersion: String(++this.rv) } };
      this.objects.set(this.key(group, plural, namespace, body.metadata!.name!), o);
      return copy(o);
    };
    const guard = (plural: string) => {
      if (!this.served(plural)) throw apiError(404);
      if (this.failNext > 0) {
        this.failNext--;
        throw apiError(500);
      }
    };
    const create = async ({ group, plural, namespace = '', body }: Body) => {
      guard(plural);
      if (this.objects.has(this.key(group, plural, namespace, body.metadata!.name!))) throw apiError(409);
      this.writes.push({ verb: 'create', namespace, body: copy(body) });
      return store(group, plural, namespace, body);
    };
    const replace = async ({ group, plural, namespace = '', name, body }: At & { body: KubeObject }) => {
      guard(plural);
      const o = this.objects.get(this.key(group, plural, namespace, name));
      if (!o) throw apiError(404);
      if (body.metadata?.resourceVersion !== o.metadata?.resourceVersion) throw apiError(409);
      this.writes.push({ verb: 'replace', namespace, body: copy(body) });
      return store(group, plural, namespace, body);
    };
    const remove = async ({ group, plural, namespace = '', name }: At) => {
      guard(plural);
      if (!this.objects.delete(this.key(group, plural, namespace, name))) throw apiError(404);
      this.writes.push({ verb: 'delete', namespace });
      return {};
    };
    return {
      getNamespacedCustomObject: get,
      createNamespacedCustomObject: create,
      replaceNamespacedCustomObject: replace,
      deleteNamespacedCustomObject: remove,
      getClusterCustomObject: get,
      createClusterCustomObject: create,
      replaceClusterCustomObject: replace,
      deleteClusterCustomObject: remove,
      // Every namespace's objects of a plural, filtered by the label selector (k=v,...).
      listClusterCustomObject: async ({ group, plural, labelSelector = '' }: { group: string; plural: string; labelSelector?: string }) => {
        if (!this.served(plural)) throw apiError(404);
        this.lists.push(`${plural}?${labelSelector}`);
        const want = labelSelector.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]);
        const items = [...this.objects.entries()]
          .filter(([k]) => k.startsWith(`${group}/${plural}/`))
          .map(([, o]) => copy(o))
          .filter((o) => want.every(([k, v]) => o.metadata?.labels?.[k] === v));
        return { items };
      },
      getAPIResources: async ({ group }: { group: string; version: string }) => {
        this.discoveries++;
        if (group !== 'wgpolicyk8s.io' || (!this.crd && !this.clusterCrd)) throw apiError(404);
        return { resources: [...(this.crd ? [{ name: 'policyreports' }] : []), ...(this.clusterCrd ? [{ name: 'clusterpolicyreports' }] : [])] };
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
  clusterReport(): KubeObject | undefined {
    return this.objects.get(this.key('wgpolicyk8s.io', 'clusterpolicyreports', '', 'meshguard'));
  }
}

t.test('writeReport: create, unchanged, replace with the resourceVersion, delete', async (t) => {
  const api = new FakeCustom();
  const calls = api.calls() as unknown as ReportCalls;
  const v = new ObjectClusterView([ns(), antfly('a'), consensusPolicy('a'), pod('a-0', 'a', true)]);
  const passing = nsReport(v)!;
  t.equal(await writeReport(calls, NS, passing), 'created');
  t.match(api.report(), { apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: { name: 'meshguard', namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'meshguard' } }, summary: { pass: 1 } });
  t.equal(await writeReport(calls, NS, passing), 'unchanged');
  t.equal(api.writes.length, 1, 'no write when nothing changed');
  v.add(pod('a-1', 'a', false));
  t.equal(await writeReport(calls, NS, nsReport(v)), 'updated');
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

const setup = async (crdInstalled: boolean, objects: KubeObject[] = [ns()]) => {
  const clock = new FakeClock();
  const api = new FakeCustom();
  api.crd = crdInstalled;
  api.clusterCrd = crdInstalled;
  const custom = api.calls();
  const apis = { custom, core: { createNamespacedEvent: async () => ({}) } } as unknown as SyncerApis;
  const view = new FakeView(objects);
  const addCluster = (name: string) => {
    api.objects.set(`antfly.io/antflyclusters/${NS}/${name}`, { ...copy(antfly(name)), metadata: { ...antfly(name).metadata, resourceVersion: '1' } });
    view.emit('add', 'antflyclusters.antfly.io', antfly(name));
    view.emit('add', 'networkpolicies.networking.k8s.io', consensusPolicy(name));
  };
  const syncer = await startSyncer({
    apis, view, config: DEFAULT_CONFIG, logger, resyncMs: 300_000, quietMs: 500, maxDelayMs: 5000,
    metricsPort: null, defaultMetrics: false, clock, policyReports: { crdRetryMs: 30_000 },
  });
  const reportWrites = () => api.writes.filter((w) => w.body?.kind === 'PolicyReport' || w.body?.kind === 'ClusterPolicyReport' || w.verb === 'delete');
  const metric = async (name: string) => (await syncer.metrics.registry.getSingleMetric(name)!.get()).values;
  const crdGauge = async () => Object.fromEntries((await metric('meshguard_syncer_policy_report_crd_installed')).map((x) => [x.labels.kind, x.value]));
  /** Past the CRD retry (30 s) and the write that follows. */
  const afterCrdRetry = async () => {
    await clock.advance(31_000);
    await clock.advance(1_000);
  };
  return { clock, api, view, syncer, addCluster, reportWrites, metric, crdGauge, afterCrdRetry };
};

t.test('syncer: no report while the CRD is absent; written once it is found', async (t) => {
  const s = await setup(false);
  s.view.synced = true;
  s.addCluster('a');
  s.view.emit('add', 'pods/antfly', pod('a-0', 'a', false));
  await s.clock.advance(10_000);
  t.equal(s.api.report(), undefined, 'no report without the CRD');
  t.equal(s.reportWrites().length, 0);
  t.same(await s.crdGauge(), { PolicyReport: 0, ClusterPolicyReport: 0 });
  const looked = s.api.discoveries;
  s.api.crd = true;
  await s.clock.advance(20_000);
  t.ok(s.api.discoveries > looked, 'looked for again');
  await s.clock.advance(1_000);
  t.same(brief(s.api.report() as unknown as ReportContent), ['fail MG201 Pod/a-0 deny']);
  t.same(await s.crdGauge(), { PolicyReport: 1, ClusterPolicyReport: 0 }, 'each kind detected by itself');
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
  s.api.clusterCrd = true;
  s.addCluster('a');
  s.view.emit('add', 'pods/antfly', pod('a-0', 'a', false));
  await s.clock.advance(1_000);
  t.same((await s.metric('meshguard_syncer_policy_reports_total')).find((x) => x.labels.outcome === 'crd-missing')?.value, 1);
  t.same(await s.crdGauge(), { PolicyReport: 0, ClusterPolicyReport: 1 });
  s.api.crd = true;
  await s.afterCrdRetry();
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

// --- the whole catalog: workloads, cross-object rules, cluster-scoped findings ---

const template = (cluster: string, labels: Record<string, string> = {}) => ({
  metadata: {
    labels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': cluster, ...labels },
    annotations: { 'traffic.sidecar.istio.io/excludeInboundPorts': '9017,9021', 'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,9021' },
  },
  spec: { containers: [{ name: 'antfly' }] },
});
/** A workload of cluster `cluster` whose template opts out of the sidecar: MG201 on the template. */
const optedOut = (kind: string, name: string, owner?: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind,
  metadata: { name, namespace: NS, uid: `uid-${name}`, ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: owner, controller: true }] } : {}) },
  spec: { selector: { matchLabels: { 'app.kubernetes.io/instance': 'a' } }, template: template('a', { 'sidecar.istio.io/inject': 'false' }) },
});
const stray = (name: string): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: NS }, spec: { podSelector: { matchLabels: { app: 'antfly' } }, policyTypes: ['Ingress'] } });
/** A webhook whose meshed pods sit behind STRICT mTLS: MG301 on the (cluster-scoped) configuration. */
const strictWebhook = (): KubeObject[] => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hooks', labels: { 'istio-injection': 'enabled' } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'op-0', namespace: 'hooks', labels: { app: 'op' } }, spec: { containers: [{ name: 'op', ports: [{ name: 'webhook', containerPort: 9443 }] }, { name: 'istio-proxy' }] }, status: { phase: 'Running' } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'op', namespace: 'hooks' }, spec: { selector: { app: 'op' }, ports: [{ port: 443, targetPort: 'webhook' }] } },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'op', uid: 'uid-op' }, webhooks: [{ name: 'op.example.com', clientConfig: { service: { name: 'op', namespace: 'hooks' } } }] },
  { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'strict', namespace: 'hooks' }, spec: { mtls: { mode: 'STRICT' } } },
];

t.test('policyReports: workload templates, cross-object findings, and the cluster-scoped ones apart', async (t) => {
  const v = new ObjectClusterView([
    ns(), antfly('a'), consensusPolicy('a'), pod('a-0', 'a', true),
    optedOut('StatefulSet', 'a'), optedOut('Deployment', 'd'), optedOut('ReplicaSet', 'd-5f7', 'd'), stray('guide-copy'),
    ...strictWebhook(),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mixed', labels: { 'istio-injection': 'enabled', 'kuma.io/sidecar-injection': 'enabled' } } },
  ]);
  const all = policyReports(v, DEFAULT_CONFIG);
  t.same([...all.namespaces.keys()], [NS], 'a report only where a cluster is: hooks and mixed hold none');
  t.same(brief(all.namespaces.get(NS)), [
    'fail MG201 Deployment/d deny',
    'warn MG306 NetworkPolicy/guide-copy warn',
    'fail MG201 StatefulSet/a deny',
  ], "templates are judged, a Deployment's ReplicaSet through its Deployment; MG306 beside the cluster; no pass for a flagged cluster");
  t.match(all.namespaces.get(NS)!.results.find((r) => r.resources[0]!.kind === 'StatefulSet'), {
    resources: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: NS, name: 'a', uid: 'uid-a' }],
    properties: { path: 'spec.template.metadata' },
  });
  t.same(brief(all.cluster), ['fail MG304 Namespace/mixed deny', 'fail MG301 ValidatingWebhookConfiguration/op deny'], 'cluster-scoped subjects go to the ClusterPolicyReport');
  const hook = all.cluster!.results.find((r) => r.policy === 'MG301')!;
  t.same(hook.resources, [{ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', name: 'op', uid: 'uid-op' }], 'no namespace on a cluster-scoped resource');
  t.match(hook.message, /PeerAuthentication hooks\/strict/);
  t.same(all.cluster!.summary, { pass: 0, fail: 2, warn: 0, error: 0, skip: 0 });

  const clean = new ObjectClusterView([ns(), antfly('a'), consensusPolicy('a'), pod('a-0', 'a', true)]);
  t.same(brief(nsReport(clean)), ['pass meshguard AntflyCluster/a']);
  t.equal(policyReports(clean, DEFAULT_CONFIG).cluster, undefined, 'no cluster-scoped finding: no ClusterPolicyReport');
  const open = new ObjectClusterView([ns(), antfly('a'), pod('a-0', 'a', true)]);
  t.same(brief(nsReport(open)), ['warn MG305 AntflyCluster/a warn'], 'MG305 on the cluster CR: the consensus ports are open to any pod');
  t.same(brief(policyReports(open, DEFAULT_CONFIG, { complete: false }).namespaces.get(NS)), ['pass meshguard AntflyCluster/a'],
    'an incomplete index (a kind that may not be listed) does not conclude from absence');
});

t.test('policyReports: a finding elsewhere about a cluster\'s pods is reported in its own namespace', async (t) => {
  const strict = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'strict', namespace: NS }, spec: { mtls: { mode: 'STRICT' } } };
  const scraped = { ...pod('a-0', 'a', true), spec: { containers: [{ name: 'antfly', ports: [{ name: 'metrics', containerPort: 8080 }] }, { name: 'istio-proxy' }] } } as Pod;
  const monitor = {
    apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'antfly', namespace: 'monitoring' },
    spec: { namespaceSelector: { matchNames: [NS] }, selector: { matchLabels: { 'app.kubernetes.io/name': 'antfly-database' } }, podMetricsEndpoints: [{ port: 'metrics' }] },
  };
  const all = policyReports(new ObjectClusterView([ns(), antfly('a'), consensusPolicy('a'), scraped, strict, monitor]), DEFAULT_CONFIG);
  t.same([...all.namespaces.keys()], [NS, 'monitoring']);
  t.same(brief(all.namespaces.get('monitoring')), ['warn MG302 PodMonitor/antfly warn']);
  t.same(brief(all.namespaces.get(NS)), ['pass meshguard AntflyCluster/a'], "the cluster's own namespace shows no finding of it, so it passes there");
});

t.test('syncer: orphaned reports are deleted; the ClusterPolicyReport follows its findings', async (t) => {
  const s = await setup(true);
  // A predecessor's reports: one for a namespace whose cluster is gone, and other tools' reports left alone.
  const report = (namespace: string, name: string, labels: Record<string, string>) =>
    s.api.objects.set(`wgpolicyk8s.io/policyreports/${namespace}/${name}`, { apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: { name, namespace, labels, resourceVersion: '1' }, results: [] });
  report('old', 'meshguard', { 'app.kubernetes.io/managed-by': 'meshguard' });
  report('old', 'kyverno-pol', { 'app.kubernetes.io/managed-by': 'kyverno' });
  report('other', 'meshguard', { 'app.kubernetes.io/managed-by': 'someone-else' });
  s.view.synced = true;
  s.addCluster('a');
  s.view.emit('add', 'pods/antfly', pod('a-0', 'a', true));
  await s.clock.advance(1_000);
  t.same(s.api.lists, ['policyreports?app.kubernetes.io/managed-by=meshguard'], 'listed by meshguard\'s label');
  t.equal(s.api.report('old'), undefined, 'the orphan is deleted');
  t.ok(s.api.objects.get('wgpolicyk8s.io/policyreports/old/kyverno-pol'), "another tool's report stays");
  t.ok(s.api.report('other'), 'a report named meshguard without our label stays');
  t.same(brief(s.api.report() as unknown as ReportContent), ['pass meshguard AntflyCluster/a']);
  t.equal(s.api.clusterReport(), undefined, 'no cluster-scoped finding: no ClusterPolicyReport');

  for (const o of strictWebhook()) s.view.emit('add', 'x', o);
  await s.clock.advance(1_000);
  t.match(s.api.clusterReport(), { kind: 'ClusterPolicyReport', metadata: { name: 'meshguard', labels: { 'app.kubernetes.io/managed-by': 'meshguard' } }, summary: { fail: 1 } });
  t.same(brief(s.api.clusterReport() as unknown as ReportContent), ['fail MG301 ValidatingWebhookConfiguration/op deny']);
  t.notOk(Object.hasOwn(s.api.clusterReport()!.metadata!, 'namespace'));
  t.equal(s.api.report('hooks'), undefined, 'no PolicyReport where no cluster is');

  const before = s.reportWrites().length;
  s.view.emit('update', 'pods/antfly', { ...pod('a-0', 'a', true), metadata: { ...pod('a-0', 'a', true).metadata, resourceVersion: '9' } });
  await s.clock.advance(1_000);
  t.equal(s.reportWrites().length, before, 'a change that changes no report writes nothing');

  // The fix: a port-level exception for the webhook port.
  s.view.emit('add', 'x', { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'op-webhook', namespace: 'hooks' }, spec: { selector: { matchLabels: { app: 'op' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '9443': { mode: 'PERMISSIVE' } } } });
  await s.clock.advance(1_000);
  t.equal(s.api.clusterReport(), undefined, 'fixed: the ClusterPolicyReport is deleted');

  s.api.objects.delete(`antfly.io/antflyclusters/${NS}/a`);
  s.view.emit('delete', 'antflyclusters.antfly.io', antfly('a'));
  await s.clock.advance(1_000);
  t.equal(s.api.report(), undefined, 'the cluster CR removed: its report is deleted');
  await s.syncer.stop();
});

t.test('syncer: no ClusterPolicyReport while its CRD is absent, though PolicyReports are written', async (t) => {
  const s = await setup(true, [ns(), ...strictWebhook()]);
  s.api.clusterCrd = false;
  s.view.synced = true;
  s.addCluster('a');
  await s.clock.advance(1_000);
  t.ok(s.api.report(), 'the PolicyReport is written');
  t.equal(s.api.clusterReport(), undefined);
  t.same(await s.crdGauge(), { PolicyReport: 1, ClusterPolicyReport: 0 });
  s.api.clusterCrd = true;
  await s.afterCrdRetry();
  t.same(brief(s.api.clusterReport() as unknown as ReportContent), ['fail MG301 ValidatingWebhookConfiguration/op deny'], 'written once its CRD is found');
  await s.syncer.stop();
});

t.test('a report over the size the API server stores keeps what fails first and says how many results it leaves out', async (t) => {
  // Pods that never got the consensus ports excluded: an MG206 (info) each; one pod without
  // the proxy in a meshed cluster: an error. 10,000 such pods made a 6 MB report, which the
  // API server refuses (3 MiB) and etcd could not store (1.5 MiB).
  const bare = (name: string, meshed: boolean): Pod => {
    const p = pod(name, 'a', meshed);
    p.metadata!.annotations = meshed ? { 'sidecar.istio.io/status': '{}' } : {};
    return p;
  };
  const pods = Array.from({ length: 40 }, (_, i) => bare(`a-${String(i).padStart(2, '0')}`, true));
  const cr = antfly('a');
  (cr.spec as { serviceMesh: { annotations: object } }).serviceMesh.annotations = {};
  const v = new ObjectClusterView([ns(), cr, consensusPolicy('a'), ...pods, bare('a-odd', false)]);
  const whole = policyReports(v, DEFAULT_CONFIG).namespaces.get(NS)!;
  const failing = whole.results.filter((r) => r.result === 'fail');
  t.ok(failing.length > 0 && whole.results.length > 40, `the whole report: ${whole.results.length} results, ${failing.length} failing`);

  const max = 6000;
  const fitted = policyReports(v, DEFAULT_CONFIG, { maxResultChars: max }).namespaces.get(NS)!;
  const notice = fitted.results.at(-1)!;
  const listed = fitted.results.slice(0, -1);
  t.ok(JSON.stringify(fitted.results).length <= max, `results fit in ${max} characters: ${JSON.stringify(fitted.results).length}`);
  t.ok(listed.length > 0 && listed.length < whole.results.length, `${listed.length} of ${whole.results.length} listed`);
  t.same(failing.filter((f) => !listed.some((r) => JSON.stringify(r) === JSON.stringify(f))), [], 'every failing result is kept');
  t.equal(notice.rule, 'report-size');
  t.equal(notice.result, 'warn');
  t.match(notice.message, new RegExp(`^${whole.results.length - listed.length} more results \\(MG206\\) are not listed`));
  t.match(notice.message, /meshguard analyze/);
  t.same(fitted.summary, whole.summary, 'the summary counts every result, listed or not');
  const keys = new Set(listed.map((r) => JSON.stringify(r)));
  t.same(listed, whole.results.filter((r) => keys.has(JSON.stringify(r))), 'listed results keep the report order');
});
