// charts/meshguard rendered by a real helm (built from helm.sh/helm/v3 by
// test/helm/build.sh): `helm lint` is clean, the default values give exactly the objects of
// the kustomize overlay manifests/cert-manager (names, kinds, webhook rules, RBAC, pod
// spec: whole objects are compared, only the installers' own labels are left out), each
// optional component equals its kustomize counterpart, every value changes what it says,
// and values.schema.json refuses bad values at install time.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import t, { type Test } from 'tap';
import { parse as parseYaml } from 'yaml';

import { parseConfigText } from '../../cli/config-file.js';
import { CLI, one, prepareManifests, REPO_ROOT, render, schemaProblem, type Doc, type Overlay } from '../manifests/fixtures/manifests.js';
import { CHART, helm, key, template, valuesFile, withoutInstallerLabels, type Template } from './fixtures/helm.js';

t.setTimeout(10 * 60_000);

const prepared = await prepareManifests();
t.teardown(prepared.cleanup);
const kustomize = async (overlay: Overlay): Promise<Doc[]> => (await render(prepared.dir, overlay)).docs;
const caBundle = Buffer.from(prepared.caPem).toString('base64');

// kustomize's namespace transformer knows cluster-scoped kinds from its built-in schema,
// which predates ValidatingAdmissionPolicy: it stamps the namespace on the policy and its
// binding. The API server drops a namespace on a cluster-scoped object (BeforeCreate), and
// the chart renders none, so the comparison reads them without it.
const KUSTOMIZE_MISSCOPED = new Set(['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);
const asApplied = (d: Doc): Doc => {
  if (!KUSTOMIZE_MISSCOPED.has(d.kind) || !d.metadata?.namespace) return d;
  const { namespace: _dropped, ...metadata } = d.metadata;
  return { ...d, metadata };
};

/** Every kustomize object has its chart twin, equal but for installer labels; nothing else is rendered. */
async function sameObjects(t: Test, chart: Template, kustRendered: Doc[], notInChart: string[] = []): Promise<void> {
  const kust = kustRendered.map(asApplied);
  const byKey = new Map(chart.docs.map((d) => [key(d), d]));
  t.equal(byKey.size, chart.docs.length, 'chart objects are unique');
  for (const k of kust) {
    if (notInChart.includes(k.kind)) {
      t.notOk(byKey.has(key(k)), `${key(k)}: not rendered by the chart (see the test for why)`);
      continue;
    }
    const c = byKey.get(key(k));
    t.ok(c, `${key(k)}: rendered by the chart`);
    if (c) t.same(withoutInstallerLabels(c), withoutInstallerLabels(k), `${key(k)}: the same object`);
    byKey.delete(key(k));
  }
  t.same([...byKey.keys()], [], 'the chart renders nothing the overlay lacks');
}

t.test('helm lint: clean with the defaults and with every option on', async (t) => {
  const sets: [string, Doc][] = [
    ['defaults', {}],
    [
      'everything on',
      {
        namespace: { create: true },
        monitoring: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, dashboard: { enabled: true } },
        istioStrictMtls: { enabled: true },
        admissionWarnings: { enabled: true },
        config: { profiles: { 'observability-platform': { enabled: false } } },
        priorityClassName: 'system-cluster-critical',
      },
    ],
    ['existing Secret', { certificate: { source: 'secret', secret: { name: 'meshguard-tls', caBundle } } }],
  ];
  for (const [name, values] of sets) {
    const r = await helm(['lint', '--strict', CHART, '--namespace', 'meshguard-system', '--values', valuesFile(values)]);
    t.equal(r.code, 0, `${name}: helm lint --strict passes${r.code === 0 ? '' : `\n${r.stdout}${r.stderr}`}`);
    t.notMatch(r.stdout, /\[(WARNING|ERROR)\]/, `${name}: no warnings or errors`);
    t.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

t.test('default values: exactly the objects of manifests/cert-manager', async (t) => {
  // The Namespace: helm installs into a namespace that exists (kubectl create namespace, or
  // --create-namespace) and stores its release record there before any object, so the
  // chart renders it only with namespace.create=true (next test).
  await sameObjects(t, await template(), await kustomize('cert-manager'), ['Namespace']);
});

t.test('namespace.create=true adds the Namespace with its Pod Security labels', async (t) => {
  const chart = await template({ namespace: { create: true } });
  const ns = one(chart.docs, 'Namespace');
  t.same(withoutInstallerLabels(ns), withoutInstallerLabels(one(await kustomize('cert-manager'), 'Namespace')));
});

t.test('monitoring on: exactly manifests/monitoring (ServiceMonitor, PrometheusRule, dashboard)', async (t) => {
  const chart = await template({ monitoring: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, dashboard: { enabled: true } } });
  await sameObjects(t, chart, await kustomize('monitoring'), ['Namespace']);
  const labelled = await template({
    monitoring: {
      serviceMonitor: { enabled: true, labels: { release: 'prom' } },
      prometheusRule: { enabled: true, labels: { release: 'prom' } },
      dashboard: { enabled: true, namespace: 'grafana', labels: { team: 'x' } },
    },
  });
  t.equal(one(labelled.docs, 'ServiceMonitor').metadata.labels.release, 'prom', 'ServiceMonitor carries the label Prometheus selects on');
  t.equal(one(labelled.docs, 'PrometheusRule').metadata.labels.release, 'prom', 'PrometheusRule too');
  const dashboard = one(labelled.docs, 'ConfigMap', 'meshguard-grafana-dashboard');
  t.equal(dashboard.metadata.namespace, 'grafana', "dashboard in Grafana's namespace");
  t.equal(dashboard.metadata.labels.grafana_dashboard, '1', 'still picked up by the sidecar');
});

t.test('istioStrictMtls on: exactly manifests/mesh (PeerAuthentication, HBONE port)', async (t) => {
  await sameObjects(t, await template({ istioStrictMtls: { enabled: true } }), await kustomize('mesh'), ['Namespace']);
});

t.test('admissionWarnings on: exactly manifests/admission-warnings (option, webhook entry, RBAC)', async (t) => {
  // kustomize cannot hash the ConfigMap into a pod annotation: the chart's checksum/config
  // (a changed configuration rolls the pods) is the one difference.
  const chart = await template({ admissionWarnings: { enabled: true } });
  const dep = one(chart.docs, 'Deployment', 'meshguard');
  t.match(dep.spec.template.metadata.annotations?.['checksum/config'], /^[a-f0-9]{64}$/, 'the chart rolls the pods on a configuration change');
  delete dep.spec.template.metadata.annotations;
  await sameObjects(t, chart, await kustomize('admission-warnings'), ['Namespace']);

  const merged = await template({ admissionWarnings: { enabled: true }, config: { profiles: { 'observability-platform': { enabled: false } }, analysis: { istioRootNamespace: 'mesh-root' } } });
  const parsed = parseConfigText(one(merged.docs, 'ConfigMap', 'meshguard-config').data['config.yaml'], 'config.yaml');
  t.same(parsed.analysis, { istioRootNamespace: 'mesh-root', admissionWarnings: true }, 'merged into a configuration of your own');
  t.same(parsed.profiles.map((p) => p.name), ['antfly']);

  const alone = await helm(['template', 'meshguard', CHART, '--namespace', 'meshguard-system', '--values', valuesFile({ config: { analysis: { admissionWarnings: true } } })]);
  t.not(alone.code, 0, 'the option without the value (no webhook entry, no RBAC) is refused');
  t.match(alone.stderr, /set admissionWarnings\.enabled: true instead/);
});

t.test('certificate.source=secret: manifests/manual-tls without its generated Secret', async (t) => {
  // The chart mounts an existing Secret (made by `meshguard certs` + kubectl, or any PKI);
  // manual-tls generates it from files. caBundle is the same CA either way.
  const chart = await template({ certificate: { source: 'secret', secret: { name: 'meshguard-tls', caBundle } } });
  await sameObjects(t, chart, await kustomize('manual-tls'), ['Namespace', 'Secret']);
});

t.test('every rendered object is schema-valid and meshguard check accepts the chart', async (t) => {
  const chart = await template({
    namespace: { create: true },
    monitoring: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, dashboard: { enabled: true } },
    istioStrictMtls: { enabled: true },
    admissionWarnings: { enabled: true },
    config: { profiles: { 'observability-platform': { enabled: false } } },
  });
  for (const d of [...chart.docs, ...chart.hooks]) t.equal(await schemaProblem(d), undefined, `${key(d)} matches its schema`);
  const r = await helm(['template', 'meshguard', CHART, '-n', 'meshguard-system']);
  const child = execFile('node', [CLI, 'check', '-'], { cwd: REPO_ROOT, timeout: 120_000 });
  child.stdin!.end(r.stdout);
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 0, `meshguard check - exits 0${code === 0 ? '' : `\n${out}`}`);
});

t.test('uninstall order: pre-delete hooks remove both webhook configurations first', async (t) => {
  const { docs, hooks } = await template();
  for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
    const real = one(docs, kind, 'meshguard');
    const hook = one(hooks, kind, real.metadata.name);
    const a = hook.metadata.annotations;
    t.equal(a['helm.sh/hook'], 'pre-delete', `${kind}: a pre-delete hook of the same kind and name`);
    t.ok(String(a['helm.sh/hook-delete-policy']).split(',').includes('before-hook-creation'), `${kind}: helm deletes the real one before creating the hook`);
    t.ok(String(a['helm.sh/hook-delete-policy']).split(',').includes('hook-succeeded'), `${kind}: and deletes the hook itself afterwards`);
    t.same(hook.webhooks, [], `${kind}: the hook admits nothing while it exists`);
  }
  t.equal(hooks.length, 2, 'no other hooks (none needs a running pod)');
});

t.test('the chart version follows the app and the kustomize image tag', async (t) => {
  const chartYaml = parseYaml(fs.readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as Doc;
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Doc;
  const kust = parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'manifests', 'base', 'kustomization.yaml'), 'utf8')) as Doc;
  t.equal(chartYaml.appVersion, pkg.version, 'appVersion is the package version');
  t.equal(chartYaml.version, pkg.version, 'chart version too');
  t.equal((kust.images as Doc[]).find((i) => i.name === 'meshguard')?.newTag, pkg.version, 'kustomize pins the same image tag');
});

t.test('values change what they say', async (t) => {
  const values: Doc = {
    replicaCount: 3,
    image: { repository: 'registry.example/meshguard', digest: `sha256:${'a'.repeat(64)}` },
    imagePullSecrets: [{ name: 'pull' }],
    webhook: {
      servicePort: 8443,
      timeoutSeconds: 3,
      failurePolicy: { mutating: 'Fail', validating: 'Ignore' },
      namespaceSelector: { excludeNamespaces: ['kube-system', 'kube-node-lease', 'istio-system'], matchExpressions: [{ key: 'team', operator: 'In', values: ['data'] }] },
    },
    config: { profiles: { 'observability-platform': { enabled: false } }, mesh: { consulDefaultInject: true } },
    logLevel: 'debug',
    resources: { webhook: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } } },
    podSecurityContext: { runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, fsGroup: 1001, seccompProfile: { type: 'RuntimeDefault' } },
    priorityClassName: 'system-cluster-critical',
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }],
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'infra', operator: 'Exists' }] }] } } },
    topologySpreadConstraints: [{ maxSkew: 2, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }],
    podDisruptionBudget: { maxUnavailable: 2 },
    networkPolicy: { enabled: false },
    certificate: { certManager: { issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' } } },
  };
  const { docs } = await template(values, 'guard', 'platform');
  const dep = one(docs, 'Deployment', 'guard-meshguard');
  const pod = dep.spec.template.spec;
  const [webhook, syncer] = pod.containers as Doc[];
  t.equal(dep.spec.replicas, 3);
  t.equal(webhook!.image, `registry.example/meshguard@sha256:${'a'.repeat(64)}`, 'image by digest');
  t.same(pod.imagePullSecrets, [{ name: 'pull' }]);
  t.same(webhook!.resources, values.resources.webhook);
  t.same(pod.securityContext, values.podSecurityContext);
  t.equal(pod.priorityClassName, 'system-cluster-critical');
  t.same(pod.nodeSelector, values.nodeSelector);
  t.same(pod.tolerations, values.tolerations);
  t.same(pod.affinity, values.affinity);
  t.same(pod.topologySpreadConstraints, [{ ...values.topologySpreadConstraints[0], labelSelector: { matchLabels: dep.spec.selector.matchLabels } }], 'spread constraint gets the pod selector');
  t.ok(webhook!.args.includes('--log-level=debug'));

  // The configuration file: a ConfigMap meshguard itself accepts, mounted and passed to both containers.
  const cm = one(docs, 'ConfigMap', 'guard-meshguard-config');
  const parsed = parseConfigText(cm.data['config.yaml'], 'config.yaml');
  t.same(parsed.profiles.map((p) => p.name), ['antfly'], 'meshguard reads the rendered configuration');
  t.equal(parsed.mesh.consulDefaultInject, true);
  for (const c of [webhook!, syncer!]) {
    t.ok(c.args.includes('--config=/etc/meshguard/config/config.yaml'), `${c.name}: --config`);
    t.ok((c.volumeMounts as Doc[]).some((m) => m.name === 'config' && m.mountPath === '/etc/meshguard/config'), `${c.name}: mounted`);
  }
  t.match(dep.spec.template.metadata.annotations['checksum/config'], /^[a-f0-9]{64}$/, 'a config change rolls the pods');

  // Names follow the release; every reference between objects still holds.
  t.equal(pod.serviceAccountName, 'guard-meshguard');
  t.equal(one(docs, 'ClusterRoleBinding', 'guard-meshguard').subjects[0].namespace, 'platform');
  const role = one(docs, 'Role', 'guard-meshguard-leader-election');
  t.ok(syncer!.args.includes(`--lease-name=${role.rules[1].resourceNames[0]}`), 'the syncer uses the Lease its Role names');
  const svc = one(docs, 'Service', 'guard-meshguard');
  t.equal(svc.spec.ports[0].port, 8443, 'service port');
  const serving = one(docs, 'Certificate', 'guard-meshguard-serving');
  t.ok(serving.spec.dnsNames.includes('guard-meshguard.platform.svc'), 'certificate names the Service the API server dials');
  t.same(serving.spec.issuerRef, values.certificate.certManager.issuerRef, 'signed by the given issuer');
  t.equal(docs.filter((d) => d.kind === 'Issuer').length, 0, 'no private CA with an issuer of your own');
  t.equal((pod.volumes as Doc[]).find((v) => v.name === 'tls')?.secret.secretName, serving.spec.secretName);
  t.equal(one(docs, 'PodDisruptionBudget', 'guard-meshguard').spec.maxUnavailable, 2);
  t.equal(docs.filter((d) => d.kind === 'NetworkPolicy').length, 0, 'networkPolicy.enabled=false');

  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    const cfg = one(docs, kind, 'guard-meshguard');
    t.equal(cfg.metadata.annotations['cert-manager.io/inject-ca-from'], 'platform/guard-meshguard-serving', `${kind}: CA injected from the serving certificate`);
    for (const w of cfg.webhooks as Doc[]) {
      t.match(w.clientConfig.service, { name: 'guard-meshguard', namespace: 'platform', port: 8443 }, `${w.name}: calls the release's Service`);
      t.equal(w.timeoutSeconds, 3);
      t.equal(w.failurePolicy, kind.startsWith('Mutating') ? 'Fail' : 'Ignore', `${w.name}: failure policy from values`);
      const exprs = w.namespaceSelector.matchExpressions as Doc[];
      t.same(exprs[0].values, ['kube-system', 'kube-node-lease', 'istio-system', 'platform'], `${w.name}: excluded namespaces plus the release namespace`);
      t.same(exprs.at(-1), { key: 'team', operator: 'In', values: ['data'] }, `${w.name}: extra selector condition`);
    }
  }
});

t.test('values.schema.json: bad values fail before anything is rendered', async (t) => {
  const bad: [string, Doc, RegExp][] = [
    ['unknown top-level key', { replicas: 3 }, /additional properties 'replicas' not allowed/],
    ['replicaCount a string', { replicaCount: 'two' }, /replicaCount.*got string, want integer/],
    ['failure policy misspelt', { webhook: { failurePolicy: { validating: 'fail' } } }, /failurePolicy\/validating/],
    ['certificate source unknown', { certificate: { source: 'vault' } }, /certificate\/source/],
    ['Secret without caBundle', { certificate: { source: 'secret', secret: { name: 'x' } } }, /caBundle/],
    ['caBundle not base64', { certificate: { source: 'secret', secret: { name: 'x', caBundle: '-----BEGIN CERTIFICATE-----' } } }, /caBundle/],
    ['service port out of range', { webhook: { servicePort: 70000 } }, /servicePort/],
    ['memory not a quantity', { resources: { webhook: { limits: { memory: '512MB' } } } }, /resources\/webhook\/limits\/memory/],
    ['bad duration', { certificate: { certManager: { duration: '90 days' } } }, /certManager\/duration/],
    ['config not a map', { config: 'profiles: {}' }, /config.*got string, want object/],
    ['profiles not a map', { config: { profiles: [] } }, /config\/profiles/],
    ['spread without topologyKey', { topologySpreadConstraints: [{ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' }] }, /topologyKey/],
  ];
  for (const [name, values, message] of bad) {
    const r = await helm(['template', 'meshguard', CHART, '--namespace', 'meshguard-system', '--values', valuesFile(values)]);
    t.not(r.code, 0, `${name}: refused`);
    t.match(r.stderr, /values don't meet the specifications of the schema/, `${name}: by the schema`);
    t.match(r.stderr, message, `${name}: names the field`);
  }
  // Loose on purpose: configuration keys this chart does not know yet pass through to
  // meshguard, which validates the file itself at start.
  const r = await helm(['template', 'meshguard', CHART, '--namespace', 'meshguard-system', '--values', valuesFile({ config: { futureOption: { a: 1 } } })]);
  t.equal(r.code, 0, `unknown config keys pass the chart schema${r.code === 0 ? '' : `\n${r.stderr}`}`);
});
