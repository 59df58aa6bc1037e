// The rollout guide of docs/operations.md ("Rolling out enforcement"), followed on a real
// kube-apiserver with `meshguard serve` and `meshguard sync-status` as child processes:
// 1. install in audit (enforcement.default: audit): a pod and a StatefulSet that deny would
//    refuse are admitted silently; no PolicyReport while the CRDs are absent, written once
//    they are installed: the namespace's report has the pod and template findings (MG201)
//    and the cross-object ones (MG305 on the cluster, MG306 on a NetworkPolicy) with their
//    action, the ClusterPolicyReport the webhook configuration behind STRICT pods (MG301);
//    `meshguard check --enforcement deny` on what the namespace holds exits 1;
// 2. fix each: the report turns to pass (and is not rewritten while nothing changes), the
//    ClusterPolicyReport is deleted;
// 3. the namespace to warn: such a pod is admitted and kubectl prints the warning;
//    then to deny: it is refused;
// 4. the cluster CR removed while no syncer runs: the next syncer finds the orphaned report
//    by meshguard's label and deletes it.
// Needs the binaries from test/e2e/build.sh, `npm run build` and kubectl.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import t from 'tap';

import { startCluster } from './lib/cluster.js';
import { operatorWebhook, strictPeerAuthentication, webhookPortException } from './lib/operator-webhook.js';
import { SyncerProcess } from './lib/syncer-process.js';
import {
  eventually,
  Kubectl,
  makeServingCert,
  MESHGUARD_MAIN,
  MeshguardProcess,
  ROOT,
  shippedWebhookConfigurations,
  sleep,
  warningsOf,
  yamlOf,
  type Doc,
  type KubectlResult,
} from './lib/webhook-env.js';

t.setTimeout(12 * 60_000);

const NS = 'e2e-rollout';
const CRDS = path.join(ROOT, 'manifests', 'components', 'policy-reports', 'policyreport-crds.yaml');
const FIXTURES = path.join(ROOT, 'test', 'e2e', 'fixtures');
const EXCLUDED = '9017,9021';
const show = (r: KubectlResult) => `exit ${r.code}\nstderr: ${r.stderr.trim()}`;

const antflyLabels = { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'db' };
// The consensus ports are excluded in the CR itself: a clean cluster has no finding at all.
const cluster: Doc = {
  apiVersion: 'antfly.io/v1',
  kind: 'AntflyCluster',
  metadata: { name: 'db', namespace: NS },
  spec: { serviceMesh: { enabled: true, annotations: { 'traffic.sidecar.istio.io/excludeInboundPorts': EXCLUDED, 'traffic.sidecar.istio.io/excludeOutboundPorts': EXCLUDED } } },
};
/** A pod of the meshed cluster that opts out of injection (MG201), or one with the proxy an injector adds. */
const pod = (name: string, meshed: boolean): Doc => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: NS,
    labels: { ...antflyLabels, ...(meshed ? {} : { 'sidecar.istio.io/inject': 'false' }) },
    ...(meshed ? { annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' } } : {}),
  },
  spec: { containers: [{ name: 'antfly', image: 'example.invalid/antfly:1' }, ...(meshed ? [{ name: 'istio-proxy', image: 'example.invalid/proxyv2:1' }] : [])] },
});

/** The guide's NetworkPolicy for MG305: the consensus ports only from the cluster's own pods, every other port as before. */
const consensusPolicy: Doc = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'db-consensus', namespace: NS },
  spec: {
    podSelector: { matchLabels: antflyLabels },
    policyTypes: ['Ingress'],
    ingress: [
      { from: [{ podSelector: { matchLabels: antflyLabels } }], ports: [{ port: 9017, protocol: 'TCP' }, { port: 9021, protocol: 'TCP' }] },
      { ports: [{ port: 1, endPort: 9016, protocol: 'TCP' }, { port: 9018, endPort: 9020, protocol: 'TCP' }, { port: 9022, endPort: 65535, protocol: 'TCP' }] },
    ],
  },
};
/** A NetworkPolicy copied from a guide: its selector matches no pod of the cluster (MG306). */
const stray: Doc = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'guide-copy', namespace: NS }, spec: { podSelector: { matchLabels: { app: 'antfly' } }, policyTypes: ['Ingress'] } };
/** The cluster's StatefulSet, its template opting out of the sidecar (MG201 on the template). No controller runs here, so it makes no pods. */
const statefulSet: Doc = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db', namespace: NS },
  spec: {
    serviceName: 'db',
    replicas: 1,
    selector: { matchLabels: antflyLabels },
    template: { metadata: { labels: { ...antflyLabels, 'sidecar.istio.io/inject': 'false' } }, spec: { containers: [{ name: 'antfly', image: 'example.invalid/antfly:1' }] } },
  },
};
/** An operator's webhook served by ambient pods behind STRICT mTLS: the API server cannot reach it (MG301, cluster-scoped). */
const HOOKS = 'e2e-rollout-hooks';
const webhookSetup: Doc[] = [...operatorWebhook(HOOKS), strictPeerAuthentication('hooks-strict', HOOKS)];
/** The fix MG301's message gives: a port-level exception for the webhook port. */
const webhookException: Doc = webhookPortException(HOOKS);
const REPORTS = 'meshguard_syncer_policy_reports_total';
const CRD_GAUGE = 'meshguard_syncer_policy_report_crd_installed';

interface Report {
  metadata: { resourceVersion: string };
  summary: Record<string, number>;
  results: { policy: string; result: string; resources: { kind: string; name: string }[]; properties?: Record<string, string> }[];
}
const brief = (r: Report) => r.results.map((x) => `${x.result} ${x.policy} ${x.resources[0]!.kind}/${x.resources[0]!.name}${x.properties?.action ? ` ${x.properties.action}` : ''}`).sort();

t.test('rollout guide: audit, PolicyReports, fix, warn, deny', async (t) => {
  const c = await startCluster({ log: (m) => t.comment(m) });
  t.teardown(() => c.stop());
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meshguard-e2e-rollout-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const k = new Kubectl(c.kubeconfigPath, path.join(c.dir, 'kubectl-cache'));

  await k.must(['apply', '-f', path.join(FIXTURES, 'crd-antflycluster.yaml'), '-f', path.join(FIXTURES, 'crd-observabilityplatform.yaml'), '-f', path.join(FIXTURES, 'crd-peerauthentication.yaml')]);
  await k.must(['wait', '--for=condition=Established', '--timeout=60s', 'crd/antflyclusters.antfly.io', 'crd/observabilityplatforms.observability.io', 'crd/peerauthentications.security.istio.io']);
  await k.must(['apply', '-f', '-'], yamlOf(webhookSetup));
  t.teardown(() => k.run(['delete', '--ignore-not-found', 'validatingwebhookconfiguration/operator-validating']));
  await k.must(['apply', '-f', '-'], yamlOf([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'istio-injection': 'enabled' } } }]));
  if (!/--disable-admission-plugins=ServiceAccount/.test(fs.readFileSync(c.logs.apiServer, 'utf8'))) await k.must(['-n', NS, 'create', 'serviceaccount', 'default']);

  // Step 1 of the guide: one configuration file for both containers, default audit.
  const config = path.join(work, 'config.yaml');
  fs.writeFileSync(config, 'enforcement:\n  default: audit\n');
  const cert = await makeServingCert(path.join(work, 'certs'));
  const meshguard = await MeshguardProcess.start({ kubeconfig: c.kubeconfigPath, cert, args: ['--config', config] });
  t.teardown(() => meshguard.stop());
  const syncer = await SyncerProcess.start('syncer', c.kubeconfigPath, [`--config=${config}`, '--policy-report-crd-retry-seconds=2', '--quiet-period-ms=200', '--max-delay-ms=1000']);
  t.teardown(() => syncer.kill('SIGTERM'));
  t.teardown(() => {
    if (t.passing()) return;
    t.comment(`--- meshguard serve ---\n${meshguard.tail(40)}`);
    t.comment(`--- meshguard sync-status ---\n${syncer.tail(40)}`);
  });
  await k.must(['apply', '-f', '-'], yamlOf(shippedWebhookConfigurations(meshguard.port, cert.caPem)));
  t.teardown(() => k.run(['delete', '--ignore-not-found', 'mutatingwebhookconfiguration/meshguard', 'validatingwebhookconfiguration/meshguard']));

  const created = await k.create(cluster);
  t.equal(created.code, 0, `the cluster is created\n${show(created)}`);
  // In audit nothing in an answer tells whether the webhook knows the cluster yet; its
  // cluster-view gauge does, and the syncer's status write says the same of the syncer.
  await eventually('the webhook to hold the cluster', async () =>
    /meshguard_cluster_view_objects\{resource="antflyclusters\.antfly\.io"\} 1\b/.test(await meshguard.metrics()));
  await eventually('the syncer to write the cluster status', async () => {
    const cr = await k.get('antflyclusters.antfly.io', 'db', NS);
    return cr?.status?.serviceMeshStatus !== undefined;
  });

  await t.test('audit: a pod and a StatefulSet deny would refuse are admitted silently; no report without the CRDs', async (t) => {
    const r = await k.create(pod('bad-0', false));
    t.equal(r.code, 0, `admitted\n${show(r)}`);
    t.same(warningsOf(r.stderr), [], 'no warning in audit');
    const sts = await k.create(statefulSet);
    t.equal(sts.code, 0, `admitted\n${show(sts)}`);
    t.same(warningsOf(sts.stderr), [], 'no warning in audit');
    await k.must(['apply', '-f', '-'], yamlOf([stray]));
    await sleep(4000); // two CRD look-ups and several report triggers
    t.equal(await syncer.metric(`${CRD_GAUGE}{kind="PolicyReport"}`), 0);
    t.equal(await syncer.metric(`${CRD_GAUGE}{kind="ClusterPolicyReport"}`), 0);
    t.equal(await syncer.metric(`${REPORTS}{kind="PolicyReport",outcome="created"}`), 0, 'nothing written');
    const none = await k.run(['get', 'policyreports', '-A']);
    t.not(none.code, 0, 'the resource type does not exist');
    // The kinds whose CRDs are absent are skipped with one line each, and the rest still works.
    t.equal(syncer.lines.filter((l) => l.includes('"resource":"servicemonitors.monitoring.coreos.com"') && l.includes('not installed')).length, 1, 'one log line for the absent ServiceMonitor CRD');
  });

  let report: Report | undefined;
  await t.test('the CRDs installed: the reports appear with the audited findings', async (t) => {
    await k.must(['apply', '-f', CRDS]);
    await k.must(['wait', '--for=condition=Established', '--timeout=60s', 'crd/policyreports.wgpolicyk8s.io', 'crd/clusterpolicyreports.wgpolicyk8s.io']);
    report = await eventually('the PolicyReport', async () => (await k.get('policyreports.wgpolicyk8s.io', 'meshguard', NS)) as Report | undefined);
    t.same(brief(report), [
      'fail MG201 Pod/bad-0 audit',
      'fail MG201 StatefulSet/db audit',
      'warn MG305 AntflyCluster/db audit',
      'warn MG306 NetworkPolicy/guide-copy audit',
    ], 'the pod, the template, and the cross-object findings');
    t.match(report.summary, { pass: 0, fail: 2, warn: 2 });
    t.equal(await syncer.metric(`${CRD_GAUGE}{kind="PolicyReport"}`), 1);
    const clusterReport = await eventually('the ClusterPolicyReport', async () => (await k.get('clusterpolicyreports.wgpolicyk8s.io', 'meshguard')) as Report | undefined);
    t.same(brief(clusterReport), ['fail MG301 ValidatingWebhookConfiguration/operator-validating audit'], 'the webhook configuration is cluster-scoped');
    t.equal(await k.get('policyreports.wgpolicyk8s.io', 'meshguard', HOOKS), undefined, 'no PolicyReport where no cluster is');

    // The guide's other source: what the namespace holds, checked as the cluster will enforce it.
    const file = path.join(work, 'state.yaml');
    fs.writeFileSync(file, await k.must(['get', 'ns,antflyclusters,pods', '-n', NS, '-o', 'yaml']));
    const check = spawnSync(process.execPath, [MESHGUARD_MAIN, 'check', '--config', config, '--enforcement', 'deny', '-f', 'json', file], { encoding: 'utf8' });
    t.equal(check.status, 1, `check --enforcement deny exits 1\n${check.stderr}`);
    t.match(JSON.parse(check.stdout).findings, [{ rule: 'MG201', action: 'deny', kind: 'Pod', name: 'bad-0' }]);
    const asConfigured = spawnSync(process.execPath, [MESHGUARD_MAIN, 'check', '--config', config, file], { encoding: 'utf8' });
    t.equal(asConfigured.status, 0, 'as configured (audit) nothing would be denied');
  });

  await t.test('fixed: the results turn to pass, the ClusterPolicyReport goes, an unchanged report is not rewritten', async (t) => {
    await k.must(['-n', NS, 'delete', 'pod', 'bad-0', '--wait=false']);
    const r = await k.create(pod('good-0', true));
    t.equal(r.code, 0, show(r));
    await k.must(['-n', NS, 'patch', 'statefulset', 'db', '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/template/metadata/labels/sidecar.istio.io~1inject' }])]);
    await k.must(['-n', NS, 'delete', 'networkpolicy', 'guide-copy']);
    await k.must(['apply', '-f', '-'], yamlOf([consensusPolicy, webhookException]));
    await eventually('the ClusterPolicyReport to be deleted', async () => (await k.get('clusterpolicyreports.wgpolicyk8s.io', 'meshguard')) === undefined);
    t.ok((await syncer.metric(`${REPORTS}{kind="ClusterPolicyReport",outcome="deleted"}`)) >= 1, 'deleted by the syncer');
    // Never scheduled (no kubelet here), so the API server deletes it at once, without a grace period.
    const fixed = await eventually('the report to pass', async () => {
      const rep = (await k.get('policyreports.wgpolicyk8s.io', 'meshguard', NS)) as Report | undefined;
      return rep && brief(rep).join() === 'pass meshguard AntflyCluster/db' ? rep : undefined;
    });
    t.match(fixed.summary, { pass: 1, fail: 0 });
    const writes = await syncer.metric(`${REPORTS}{kind="PolicyReport",outcome="updated"}`);
    await sleep(7000); // two resyncs (--resync-seconds=3)
    const again = (await k.get('policyreports.wgpolicyk8s.io', 'meshguard', NS)) as Report;
    t.equal(again.metadata.resourceVersion, fixed.metadata.resourceVersion, 'not rewritten');
    t.equal(await syncer.metric(`${REPORTS}{kind="PolicyReport",outcome="updated"}`), writes);
    t.ok((await syncer.metric(`${REPORTS}{kind="PolicyReport",outcome="unchanged"}`)) > 0, 'looked at and found right');
  });

  await t.test('warn, then deny, by namespace label', async (t) => {
    await k.must(['label', 'namespace', NS, 'meshguard.io/enforcement=warn']);
    const warned = await eventually('the webhook to see the warn label', async () => {
      const r = await k.run(['create', '--dry-run=server', '-o', 'name', '-f', '-'], yamlOf([pod('bad-1', false)]));
      return r.code === 0 && warningsOf(r.stderr).some((w) => w.startsWith('MG201: ')) ? r : undefined;
    });
    t.ok(warned);
    const r = await k.create(pod('bad-1', false));
    t.equal(r.code, 0, `admitted in warn\n${show(r)}`);
    t.match(warningsOf(r.stderr), [/^MG201: /], 'kubectl prints the finding as a warning');
    const rep = await eventually('the report to show the warned pod', async () => {
      const x = (await k.get('policyreports.wgpolicyk8s.io', 'meshguard', NS)) as Report | undefined;
      return x && brief(x).includes('fail MG201 Pod/bad-1 warn') ? x : undefined;
    });
    t.ok(rep);

    await k.must(['label', 'namespace', NS, 'meshguard.io/enforcement=deny', '--overwrite']);
    const refused = await eventually('the webhook to see the deny label', async () => {
      const x = await k.create(pod('bad-2', false));
      if (x.code === 0) await k.run(['-n', NS, 'delete', 'pod', 'bad-2', '--wait=false']);
      return x.code !== 0 ? x : undefined;
    });
    t.match(refused.stderr, /admission webhook "pods\.validate\.meshguard\.io" denied the request/);
    t.match(refused.stderr, /\[MG201\]/);
    t.equal(await k.get('pod', 'bad-2', NS), undefined, 'not stored');
    const denyReport = await eventually('the report to say deny', async () => {
      const x = (await k.get('policyreports.wgpolicyk8s.io', 'meshguard', NS)) as Report | undefined;
      return x && brief(x).includes('fail MG201 Pod/bad-1 deny') ? x : undefined;
    });
    t.ok(denyReport, 'the pod admitted in warn is reported with the action it would now get');
    const metrics = await meshguard.metrics();
    t.match(metrics, /meshguard_admission_findings_total\{rule="MG201",severity="error",action="audit"\} [1-9]/);
    t.match(metrics, /meshguard_admission_findings_total\{rule="MG201",severity="error",action="warn"\} [1-9]/);
    t.match(metrics, /meshguard_admission_findings_total\{rule="MG201",severity="error",action="deny"\} [1-9]/);
  });

  await t.test('the cluster CR removed while no syncer runs: the next one deletes the orphaned report', async (t) => {
    await syncer.kill('SIGTERM');
    await k.must(['-n', NS, 'delete', 'antflycluster.antfly.io', 'db']);
    t.ok(await k.get('policyreports.wgpolicyk8s.io', 'meshguard', NS), 'the report outlived its cluster');
    const next = await SyncerProcess.start('syncer-2', c.kubeconfigPath, [`--config=${config}`, '--policy-report-crd-retry-seconds=2', '--quiet-period-ms=200', '--max-delay-ms=1000']);
    t.teardown(() => next.kill('SIGTERM'));
    await eventually('the orphaned report to be deleted', async () => (await k.get('policyreports.wgpolicyk8s.io', 'meshguard', NS)) === undefined);
    t.equal(await next.metric(`${REPORTS}{kind="PolicyReport",outcome="deleted"}`), 1, 'found by its label and deleted by the new syncer');
  });
});
