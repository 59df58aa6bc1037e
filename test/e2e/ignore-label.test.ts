// The escape hatch is not a bypass, on a real kube-apiserver: with the shipped webhook
// registrations and the shipped ValidatingAdmissionPolicy, an ordinary user (impersonated,
// allowed to create pods and workloads in their namespace) cannot get a pod past the
// mixed-injection guard by labelling it, its workload's template or its namespace
// meshguard.io/ignore=true. A cluster admin still can, on the namespace.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import t from 'tap';

import { startCluster } from './lib/cluster.js';
import { eventually, Kubectl, makeServingCert, MeshguardProcess, ROOT, shippedWebhookConfigurations, yamlOf, type Doc } from './lib/webhook-env.js';

t.setTimeout(10 * 60_000);

const NS = 'e2e-hatch';
const POLICY = path.join(ROOT, 'manifests', 'base', 'ignore-label-policy.yaml');
const IGNORE = { 'meshguard.io/ignore': 'true' };
const ANTFLY = { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'db' };
const ALICE = ['--as=alice', '--as-group=system:authenticated'];
const SETTER = ['--as=bob', '--as-group=system:authenticated', '--as-group=meshguard:ignore-label-setters'];

// A pod of a meshed cluster without a mesh proxy: the mixed-injection guard refuses it (MG201).
const pod = (name: string, labels: Record<string, string>): Doc => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS, labels },
  spec: { containers: [{ name: 'antfly', image: 'example.invalid/antfly:1' }] },
});
const deployment = (name: string, templateLabels: Record<string, string>): Doc => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS },
  spec: {
    selector: { matchLabels: { app: name } },
    // A template is judged by prediction, and meshguard's own mutation makes Istio inject it:
    // hostNetwork is what the guard refuses in a template of a meshed cluster (MG205).
    template: { metadata: { labels: { app: name, ...templateLabels } }, spec: { hostNetwork: true, containers: [{ name: 'antfly', image: 'example.invalid/antfly:1' }] } },
  },
});

const BY_POLICY = /meshguard-ignore-label|meshguard\.io\/ignore=true would make meshguard skip/;
// The guard: MG201 for a pod without the proxy, MG205 for a hostNetwork template.
const BY_GUARD = /MG201|MG205/;

t.test('a plain user cannot bypass the mixed-injection guard with meshguard.io/ignore', async (t) => {
  const cluster = await startCluster({ log: (m) => t.comment(m) });
  t.teardown(() => cluster.stop());
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meshguard-e2e-hatch-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const k = new Kubectl(cluster.kubeconfigPath, path.join(cluster.dir, 'kubectl-cache'));

  await k.must(['apply', '-f', path.join(ROOT, 'test', 'e2e', 'fixtures', 'crd-antflycluster.yaml')]);
  await k.must(['wait', '--for=condition=Established', '--timeout=60s', 'crd/antflyclusters.antfly.io']);
  await k.must(
    ['apply', '-f', '-'],
    yamlOf([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      {
        apiVersion: 'antfly.io/v1',
        kind: 'AntflyCluster',
        metadata: { name: 'db', namespace: NS },
        spec: { serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } } },
      },
      // alice and bob may create pods and workloads in the namespace, as with the built-in
      // `edit` role — which is aggregated by kube-controller-manager, absent from this
      // harness, so it has no rules here: the same verbs are granted by a Role of its own.
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'workload-editor', namespace: NS }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] }, { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alice-edit', namespace: NS }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'workload-editor' }, subjects: [{ kind: 'User', name: 'alice' }, { kind: 'User', name: 'bob' }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'e2e-namespace-labeller' }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'patch', 'update'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'e2e-namespace-labeller' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'e2e-namespace-labeller' }, subjects: [{ kind: 'User', name: 'alice' }] },
    ]),
  );

  const cert = await makeServingCert(path.join(work, 'certs'));
  const meshguard = await MeshguardProcess.start({ kubeconfig: cluster.kubeconfigPath, cert });
  t.teardown(() => meshguard.stop());
  t.teardown(() => k.run(['delete', '--ignore-not-found', 'mutatingwebhookconfiguration/meshguard', 'validatingwebhookconfiguration/meshguard']));
  await k.must(['apply', '-f', '-'], yamlOf(shippedWebhookConfigurations(meshguard.port, cert.caPem)));

  const dryCreate = (doc: Doc, as: string[] = []) => k.run([...as, 'create', '--dry-run=server', '-o', 'name', '-f', '-'], yamlOf([doc]));

  // The guard is on once meshguard sees the cluster: an unlabelled unmeshed pod is refused.
  await eventually('the mixed-injection guard to refuse an unmeshed pod', async () => BY_GUARD.test((await dryCreate(pod('probe', ANTFLY), ALICE)).stderr), 120_000);

  await t.test('without the policy, the label alone changes nothing: meshguard still refuses', async (t) => {
    const r = await dryCreate(pod('labelled', { ...ANTFLY, ...IGNORE }), ALICE);
    t.not(r.code, 0, 'refused');
    t.match(r.stderr, BY_GUARD, `by the guard: ${r.stderr}`);
    const d = await dryCreate(deployment('labelled-template', { ...ANTFLY, ...IGNORE }), ALICE);
    t.match(d.stderr, BY_GUARD, `a labelled template too: ${d.stderr}`);
  });

  await k.must(['apply', '-f', POLICY]);
  await eventually('the ValidatingAdmissionPolicy to take effect', async () => BY_POLICY.test((await dryCreate(pod('labelled', { ...ANTFLY, ...IGNORE }), ALICE)).stderr), 120_000);

  await t.test('with the policy, a plain user cannot set the label anywhere', async (t) => {
    const p = await dryCreate(pod('labelled', { ...ANTFLY, ...IGNORE }), ALICE);
    t.not(p.code, 0);
    t.match(p.stderr, BY_POLICY, `pod: ${p.stderr}`);
    const d = await dryCreate(deployment('labelled-template', { ...ANTFLY, ...IGNORE }), ALICE);
    t.match(d.stderr, BY_POLICY, `pod template: ${d.stderr}`);
    const ns = await k.run([...ALICE, 'label', '--dry-run=server', `namespace/${NS}`, 'meshguard.io/ignore=true']);
    t.not(ns.code, 0);
    t.match(ns.stderr, BY_POLICY, `namespace: ${ns.stderr}`);
    const other = await dryCreate(pod('other-label', { ...ANTFLY, team: 'db' }), ALICE);
    t.match(other.stderr, BY_GUARD, 'other labels are not the policy\'s business');
    t.notMatch(other.stderr, BY_POLICY);
  });

  await t.test('a member of a named group passes the policy, and meshguard still judges the pod', async (t) => {
    const p = await dryCreate(pod('setter', { ...ANTFLY, ...IGNORE }), SETTER);
    t.notMatch(p.stderr, BY_POLICY, 'not refused by the policy');
    t.match(p.stderr, BY_GUARD, `by default the label on a pod is not honoured: ${p.stderr}`);
  });

  await t.test('a cluster admin labels the namespace: its pods are skipped (the deliberate escape hatch)', async (t) => {
    await k.must(['label', `namespace/${NS}`, 'meshguard.io/ignore=true']);
    const p = await dryCreate(pod('in-ignored-namespace', ANTFLY), ALICE);
    t.equal(p.code, 0, `admitted: ${p.stderr}`);
  });
});
