// The install manifests against a real kube-apiserver:
// 1. every rendered document whose kind the API server knows passes a server-side
//    dry-run apply with strict field validation (cert-manager, Prometheus Operator and
//    Istio kinds are left out: their CRDs are not installed here), and meshguard's pod
//    template is admitted by Pod Security "restricted" in its own namespace;
// 2. the webhook configurations, registered for real with no meshguard behind them,
//    make the API server call meshguard for exactly the target objects: the validating
//    webhooks fail closed, so "called" shows up as a rejection naming the webhook;
// 3. the ServiceAccount, impersonated, can do what the webhook and the syncer need and
//    is refused everything else.
// Needs the binaries from test/e2e/build.sh (`make e2e`) and kubectl.
import { spawn } from 'node:child_process';
import * as https from 'node:https';
import * as path from 'node:path';

import t from 'tap';
import { stringify } from 'yaml';

import {
  FOREIGN_API_GROUPS,
  NAMESPACE,
  OVERLAYS,
  apiGroup,
  one,
  prepareManifests,
  ref,
  render,
  type Doc,
  type Overlay,
} from '../manifests/fixtures/manifests.js';
import { INDEX_KINDS, type IndexKind } from '../../policies/index/kinds.js';
import { startCluster } from './lib/cluster.js';

t.setTimeout(10 * 60_000);

const SA_USER = `system:serviceaccount:${NAMESPACE}:meshguard`;
const AS_SA = [`--as=${SA_USER}`, '--as-group=system:serviceaccounts', `--as-group=system:serviceaccounts:${NAMESPACE}`];
const TARGETS_NS = 'e2e-targets';
const IGNORED_NS = 'e2e-ignored';

const cluster = await startCluster({ log: (m) => t.comment(m) });
t.teardown(() => cluster.stop());
const prepared = await prepareManifests();
t.teardown(prepared.cleanup);

const rendered = new Map<Overlay, Doc[]>();
for (const overlay of ['base', ...OVERLAYS] as Overlay[]) rendered.set(overlay, (await render(prepared.dir, overlay)).docs);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kubectl(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'kubectl',
      ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', path.join(cluster.dir, 'kubectl-cache'), ...args],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

async function mustKubectl(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/**
 * One API request as the ServiceAccount (impersonated by the admin), exactly as a client
 * library sends it — unlike `kubectl patch`, which reads the object first.
 */
function requestAsServiceAccount(method: string, urlPath: string, body: unknown, contentType: string): Promise<{ status: number; body: string }> {
  const user = cluster.kubeConfig.getCurrentUser();
  if (!user?.certData || !user.keyData) throw new Error('the e2e kubeconfig has no client certificate');
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(urlPath, cluster.server),
      {
        method,
        ca: cluster.caPem,
        cert: Buffer.from(user.certData!, 'base64'),
        key: Buffer.from(user.keyData!, 'base64'),
        headers: {
          'content-type': contentType,
          'Impersonate-User': SA_USER,
          'Impersonate-Group': ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`],
        },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const yamlOf = (docs: Doc[]): string => docs.map((d) => stringify(d)).join('---\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// Fixtures: namespaces and the two cluster CRDs (schemaless, with a status subresource).

const crd = (group: string, version: string, kind: string, plural: string): Doc => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
    versions: [
      {
        name: version,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
});

await mustKubectl(
  ['apply', '-f', '-'],
  yamlOf([
    crd('antfly.io', 'v1', 'AntflyCluster', 'antflyclusters'),
    crd('observability.io', 'v1beta1', 'ObservabilityPlatform', 'observabilityplatforms'),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TARGETS_NS } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: IGNORED_NS, labels: { 'meshguard.io/ignore': 'true' } } },
    one(rendered.get('base')!, 'Namespace', NAMESPACE),
  ]),
);
await mustKubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/antflyclusters.antfly.io', 'crd/observabilityplatforms.observability.io']);

const antflyCluster = (name: string, spec: Doc = { serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } } }): Doc => ({
  apiVersion: 'antfly.io/v1',
  kind: 'AntflyCluster',
  metadata: { name, namespace: TARGETS_NS },
  spec,
});

// The CR endpoint can lag the Established condition by a moment.
for (let i = 0; ; i++) {
  const r = await kubectl(['apply', '-f', '-'], yamlOf([antflyCluster('existing')]));
  if (r.code === 0) break;
  if (i > 50) throw new Error(`cannot create the AntflyCluster fixture: ${r.stderr}`);
  await sleep(200);
}

// ---------------------------------------------------------------------------------------

t.test('server-side dry-run apply of every rendered overlay', async (t) => {
  for (const [overlay, docs] of rendered) {
    const known = docs.filter((d) => !FOREIGN_API_GROUPS.has(apiGroup(d)));
    const skipped = docs.filter((d) => FOREIGN_API_GROUPS.has(apiGroup(d)));
    if (skipped.length > 0) t.comment(`${overlay}: not sent (CRDs not installed here): ${skipped.map(ref).join(', ')}`);
    const r = await kubectl(
      ['apply', '--server-side', '--dry-run=server', '--field-manager=meshguard-e2e', '--validate=strict', '-o', 'name', '-f', '-'],
      yamlOf(known),
    );
    t.equal(r.code, 0, `${overlay}: ${known.length} documents accepted${r.code === 0 ? '' : `\n${r.stderr}`}`);
    t.equal(r.stdout.trim().split('\n').filter(Boolean).length, known.length, `${overlay}: every document answered`);
    t.notMatch(r.stderr, /Warning/i, `${overlay}: no warnings (unknown fields, PodSecurity, deprecations)`);
  }
});

t.test('the Deployment pod template meets Pod Security "restricted" in meshguard-system', async (t) => {
  const dep = one(rendered.get('cert-manager')!, 'Deployment', 'meshguard');
  const pod: Doc = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'meshguard-pss-probe', namespace: NAMESPACE, labels: dep.spec.template.metadata.labels },
    spec: dep.spec.template.spec,
  };
  const r = await kubectl(['create', '--dry-run=server', '-o', 'name', '-f', '-'], yamlOf([pod]));
  t.equal(r.code, 0, `admitted under enforce=restricted${r.code === 0 ? '' : `\n${r.stderr}`}`);
  t.notMatch(r.stderr, /PodSecurity|violate/i, 'no Pod Security warnings');
});

// ---------------------------------------------------------------------------------------

const pod = (name: string, ns: string, labels: Record<string, string>): Doc => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels },
  spec: { containers: [{ name: 'c', image: 'example.invalid/none:1' }] },
});

const podTemplate = (labels: Record<string, string>): Doc => ({
  metadata: { labels },
  spec: { containers: [{ name: 'c', image: 'example.invalid/none:1' }], restartPolicy: 'Never' },
});

const workload = (kind: string, name: string, templateLabels: Record<string, string>, ownLabels: Record<string, string> = {}): Doc => {
  const selector = { matchLabels: { 'e2e/name': name } };
  const template = podTemplate({ ...templateLabels, 'e2e/name': name });
  const always = { ...template, spec: { ...template.spec, restartPolicy: 'Always' } };
  const base = { metadata: { name, namespace: TARGETS_NS, labels: ownLabels } };
  switch (kind) {
    case 'Deployment':
      return { apiVersion: 'apps/v1', kind, ...base, spec: { selector, template: always } };
    case 'StatefulSet':
      return { apiVersion: 'apps/v1', kind, ...base, spec: { selector, serviceName: name, template: always } };
    case 'DaemonSet':
      return { apiVersion: 'apps/v1', kind, ...base, spec: { selector, template: always } };
    case 'ReplicaSet':
      return { apiVersion: 'apps/v1', kind, ...base, spec: { selector, template: always } };
    case 'Job':
      return { apiVersion: 'batch/v1', kind, ...base, spec: { template } };
    case 'CronJob':
      return { apiVersion: 'batch/v1', kind, ...base, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template } } } };
    default:
      throw new Error(kind);
  }
};

const ANTFLY = { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'existing' };
const OBS = { 'observability.io/platform': 'platform-a' };
const IGNORE = { 'meshguard.io/ignore': 'true' };

t.test('the API server calls meshguard for target objects only', async (t) => {
  // Objects that exist before meshguard is registered, for the UPDATE cases.
  await mustKubectl(['apply', '-f', '-'], yamlOf([pod('plain-existing', TARGETS_NS, {}), pod('target-existing', TARGETS_NS, ANTFLY)]));

  // Register the webhooks for real. Nothing serves them (no Service, no pods), so a call
  // fails: ignored by the mutating webhooks (Ignore), a rejection by the validating ones (Fail).
  const hooks = rendered.get('cert-manager')!.filter((d) => d.kind.endsWith('WebhookConfiguration'));
  await mustKubectl(['apply', '--server-side', '--field-manager=meshguard-e2e', '-f', '-'], yamlOf(hooks));
  t.teardown(() => kubectl(['delete', 'mutatingwebhookconfiguration/meshguard', 'validatingwebhookconfiguration/meshguard', '--ignore-not-found']));

  /** undefined when admitted, else the name of the webhook the rejection names. */
  const attempt = async (args: string[], docs: Doc[]): Promise<string | undefined> => {
    const r = await kubectl(args, yamlOf(docs));
    if (r.code === 0) return undefined;
    const m = /failed calling webhook "([^"]+)"/.exec(r.stderr);
    if (!m) throw new Error(`kubectl ${args.join(' ')} failed for another reason: ${r.stderr}`);
    return m[1];
  };
  const create = (...docs: Doc[]) => attempt(['create', '--dry-run=server', '-o', 'name', '-f', '-'], docs);

  // The API server picks up new webhook configurations asynchronously.
  const deadline = Date.now() + 30_000;
  while ((await create(pod('probe', TARGETS_NS, ANTFLY))) === undefined) {
    if (Date.now() > deadline) throw new Error('webhook configuration never took effect');
    await sleep(250);
  }

  const POD_HOOK = 'pods.validate.meshguard.io';
  const WORKLOAD_HOOK = 'workloads.validate.meshguard.io';
  const CLUSTER_HOOK = 'clusters.validate.meshguard.io';

  await t.test('pods', async (t) => {
    t.equal(await create(pod('a', TARGETS_NS, ANTFLY)), POD_HOOK, 'Antfly pod: called');
    t.equal(await create(pod('b', TARGETS_NS, OBS)), POD_HOOK, 'ObservabilityPlatform pod: called');
    t.equal(await create(pod('c', TARGETS_NS, {})), undefined, 'unlabelled pod: not called');
    t.equal(await create(pod('d', TARGETS_NS, { 'app.kubernetes.io/name': 'postgres' })), undefined, 'other app: not called');
    t.equal(await create(pod('e', TARGETS_NS, { ...ANTFLY, ...IGNORE })), POD_HOOK, 'pod with meshguard.io/ignore: called all the same (the server decides)');
    t.equal(await create(pod('f', TARGETS_NS, { ...ANTFLY, 'meshguard.io/ignore': 'false' })), POD_HOOK, 'meshguard.io/ignore=false: called');
    t.equal(await create(pod('g', IGNORED_NS, ANTFLY)), undefined, 'namespace with meshguard.io/ignore: not called');
    t.equal(await create(pod('h', 'kube-system', ANTFLY)), undefined, 'kube-system: not called');
    // meshguard-system enforces Pod Security "restricted": a compliant pod, so only the webhook could refuse it.
    const compliant = pod('i', NAMESPACE, ANTFLY);
    compliant.spec = {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'c', image: 'example.invalid/none:1', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    };
    t.equal(await create(compliant), undefined, 'meshguard-system: not called');
  });

  await t.test('pod updates: the new or the old object being a target is enough', async (t) => {
    const patch = (name: string, labels: Record<string, string | null>) =>
      attempt(['patch', '--dry-run=server', '-n', TARGETS_NS, `pod/${name}`, '--type=merge', '-p', JSON.stringify({ metadata: { labels } })], []);
    t.equal(await patch('plain-existing', { 'app.kubernetes.io/name': 'antfly-database' }), POD_HOOK, 'becoming a target: called');
    t.equal(await patch('target-existing', { 'app.kubernetes.io/name': null }), POD_HOOK, 'ceasing to be a target: called');
    t.equal(await patch('plain-existing', { unrelated: 'x' }), undefined, 'non-target stays non-target: not called');
  });

  await t.test('workloads are judged by their pod template', async (t) => {
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']) {
      const k = kind.toLowerCase();
      t.equal(await create(workload(kind, `${k}-antfly`, ANTFLY)), WORKLOAD_HOOK, `${kind} with an Antfly template: called`);
      t.equal(await create(workload(kind, `${k}-obs`, OBS)), WORKLOAD_HOOK, `${kind} with an ObservabilityPlatform template: called`);
      t.equal(await create(workload(kind, `${k}-plain`, {})), undefined, `${kind} with a plain template: not called`);
    }
    t.equal(await create(workload('Deployment', 'own-labels-only', {}, ANTFLY)), undefined, "target labels on the workload but not its template: not called");
    t.equal(await create(workload('Deployment', 'template-ignored', { ...ANTFLY, ...IGNORE })), WORKLOAD_HOOK, 'template with meshguard.io/ignore: called all the same');
    t.equal(await create(workload('CronJob', 'cron-template-ignored', { ...ANTFLY, ...IGNORE })), WORKLOAD_HOOK, 'CronJob template with meshguard.io/ignore: called all the same');
    t.equal(await create(workload('StatefulSet', 'workload-ignored', ANTFLY, IGNORE)), WORKLOAD_HOOK, 'workload with meshguard.io/ignore: called all the same');
  });

  await t.test('cluster CRs: creates and spec changes, not metadata-only updates', async (t) => {
    t.equal(await create(antflyCluster('new')), CLUSTER_HOOK, 'AntflyCluster create: called');
    t.equal(
      await create({ apiVersion: 'observability.io/v1beta1', kind: 'ObservabilityPlatform', metadata: { name: 'p', namespace: TARGETS_NS }, spec: { serviceMesh: { type: 'istio' } } }),
      CLUSTER_HOOK,
      'ObservabilityPlatform create: called',
    );
    const patch = (body: Doc, extra: string[] = []) =>
      attempt(['patch', '--dry-run=server', '-n', TARGETS_NS, 'antflycluster.antfly.io/existing', '--type=merge', '-p', JSON.stringify(body), ...extra], []);
    t.equal(await patch({ spec: { serviceMesh: { enabled: false } } }), CLUSTER_HOOK, 'spec change: called');
    t.equal(await patch({ metadata: { labels: { team: 'db' }, finalizers: ['example.com/keep'] } }), undefined, 'labels/finalizers only: not called');
    t.equal(await patch({ status: { serviceMeshStatus: { enabled: true } } }, ['--subresource=status']), undefined, 'status subresource: not called');
  });
});

// ---------------------------------------------------------------------------------------

t.test('RBAC: the ServiceAccount can do exactly what meshguard needs', async (t) => {
  const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  await mustKubectl(['apply', '-f', '-'], yamlOf(rendered.get('cert-manager')!.filter((d) => rbacKinds.has(d.kind))));

  const canI = async (verb: string, resource: string, scope: string[], extra: string[] = []): Promise<boolean> => {
    const r = await kubectl(['auth', 'can-i', verb, resource, ...scope, ...extra, ...AS_SA]);
    if (r.code !== 0 && r.code !== 1) throw new Error(`kubectl auth can-i failed: ${r.stderr}`);
    return r.code === 0;
  };
  const ALL = ['--all-namespaces'];
  const IN = (ns: string) => ['-n', ns];
  /**
   * The same question as a SubjectAccessReview: kubectl auth can-i resolves a resource through
   * discovery and answers "no" for a custom resource whose CRD is not installed here
   * (PeerAuthentication, the monitors, the PolicyReports). `resource` is plural.group[/name].
   */
  const reviewAccess = async (verb: string, resource: string, scope: string[]): Promise<boolean> => {
    const [type, name] = resource.split('/') as [string, string | undefined];
    const dot = type.indexOf('.');
    const namespace = scope[0] === '-n' ? scope[1] : undefined;
    const review = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: SA_USER,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`, 'system:authenticated'],
        resourceAttributes: { verb, group: type.slice(dot + 1), resource: type.slice(0, dot), ...(name ? { name } : {}), ...(namespace ? { namespace } : {}) },
      },
    };
    return (JSON.parse(await mustKubectl(['create', '-o', 'json', '-f', '-'], JSON.stringify(review))) as Doc).status?.allowed === true;
  };
  const CUSTOM_GROUPS = /\.(security\.istio\.io|monitoring\.coreos\.com|wgpolicyk8s\.io)(\/|$)/;
  const access = (verb: string, resource: string, scope: string[], extra: string[] = []) =>
    CUSTOM_GROUPS.test(resource) ? reviewAccess(verb, resource, scope) : canI(verb, resource, scope, extra);

  const allowed: [string, string, string[], string[]?][] = [
    ['get', 'namespaces', []],
    ['list', 'namespaces', []],
    ['watch', 'namespaces', []],
    ['get', 'pods', IN(TARGETS_NS)],
    ['list', 'pods', ALL],
    ['watch', 'pods', ALL],
    ['get', 'antflyclusters.antfly.io', IN(TARGETS_NS)],
    ['list', 'antflyclusters.antfly.io', ALL],
    ['watch', 'antflyclusters.antfly.io', ALL],
    ['list', 'observabilityplatforms.observability.io', ALL],
    ['watch', 'observabilityplatforms.observability.io', ALL],
    ['patch', 'antflyclusters.antfly.io', IN(TARGETS_NS), ['--subresource=status']],
    ['patch', 'observabilityplatforms.observability.io', IN(TARGETS_NS), ['--subresource=status']],
    ['create', 'events', IN(TARGETS_NS)],
    ['create', 'events.events.k8s.io', IN(TARGETS_NS)],
    ['create', 'leases.coordination.k8s.io', IN(NAMESPACE)],
    ['get', 'leases.coordination.k8s.io/meshguard-status-syncer', IN(NAMESPACE)],
    ['update', 'leases.coordination.k8s.io/meshguard-status-syncer', IN(NAMESPACE)],
    // The syncer's PolicyReports run the whole catalog: its informers list and watch every kind of the object index.
    ...(Object.keys(INDEX_KINDS) as IndexKind[])
      .filter((kind) => kind !== 'Namespace' && kind !== 'Pod')
      .flatMap((kind): [string, string, string[]][] => {
        const { group, plural, namespaced } = INDEX_KINDS[kind];
        const resource = group ? `${plural}.${group}` : plural;
        return [['list', resource, namespaced ? ALL : []], ['watch', resource, namespaced ? ALL : []]];
      }),
    ['create', 'policyreports.wgpolicyk8s.io', IN(TARGETS_NS)],
    ['get', 'policyreports.wgpolicyk8s.io/meshguard', IN(TARGETS_NS)],
    ['update', 'policyreports.wgpolicyk8s.io/meshguard', IN(TARGETS_NS)],
    ['delete', 'policyreports.wgpolicyk8s.io/meshguard', IN(TARGETS_NS)],
    ['list', 'policyreports.wgpolicyk8s.io', ALL],
    ['create', 'clusterpolicyreports.wgpolicyk8s.io', []],
    ['get', 'clusterpolicyreports.wgpolicyk8s.io/meshguard', []],
    ['update', 'clusterpolicyreports.wgpolicyk8s.io/meshguard', []],
    ['delete', 'clusterpolicyreports.wgpolicyk8s.io/meshguard', []],
  ];
  const refused: [string, string, string[], string[]?][] = [
    // cluster CRs: no spec writes, no create/delete, status only through patch
    ['patch', 'antflyclusters.antfly.io', IN(TARGETS_NS)],
    ['update', 'antflyclusters.antfly.io', IN(TARGETS_NS)],
    ['create', 'antflyclusters.antfly.io', IN(TARGETS_NS)],
    ['delete', 'antflyclusters.antfly.io', IN(TARGETS_NS)],
    ['update', 'antflyclusters.antfly.io', IN(TARGETS_NS), ['--subresource=status']],
    ['patch', 'observabilityplatforms.observability.io', IN(TARGETS_NS)],
    // pods and namespaces: read only
    ['create', 'pods', IN(TARGETS_NS)],
    ['delete', 'pods', IN(TARGETS_NS)],
    ['patch', 'pods', IN(TARGETS_NS)],
    ['create', 'pods', IN(TARGETS_NS), ['--subresource=exec']],
    ['patch', 'namespaces', []],
    ['delete', 'namespaces', []],
    // nothing else to read
    ['get', 'secrets', IN(NAMESPACE)],
    ['list', 'secrets', ALL],
    ['get', 'configmaps', IN(NAMESPACE)],
    ['list', 'events', ALL],
    // the index kinds: list and watch only, never one object, never a write
    ['get', 'deployments.apps', IN(TARGETS_NS)],
    ['create', 'statefulsets.apps', IN(TARGETS_NS)],
    ['patch', 'networkpolicies.networking.k8s.io', IN(TARGETS_NS)],
    ['get', 'services', IN(TARGETS_NS)],
    ['delete', 'peerauthentications.security.istio.io', IN(TARGETS_NS)],
    // other tools' reports: out of reach
    ['get', 'policyreports.wgpolicyk8s.io/kyverno', IN(TARGETS_NS)],
    ['delete', 'policyreports.wgpolicyk8s.io/kyverno', IN(TARGETS_NS)],
    ['update', 'clusterpolicyreports.wgpolicyk8s.io/kyverno', []],
    ['list', 'clusterpolicyreports.wgpolicyk8s.io', []],
    ['watch', 'policyreports.wgpolicyk8s.io', ALL],
    // leases: only its own, only in its namespace, no delete/patch
    ['create', 'leases.coordination.k8s.io', IN('default')],
    ['get', 'leases.coordination.k8s.io/other', IN(NAMESPACE)],
    ['update', 'leases.coordination.k8s.io/other', IN(NAMESPACE)],
    ['list', 'leases.coordination.k8s.io', IN(NAMESPACE)],
    ['delete', 'leases.coordination.k8s.io/meshguard-status-syncer', IN(NAMESPACE)],
    ['get', 'leases.coordination.k8s.io/meshguard-status-syncer', IN('kube-system')],
    // no way to widen its own access
    ['patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/meshguard', []],
    ['delete', 'validatingwebhookconfigurations.admissionregistration.k8s.io/meshguard', []],
    ['create', 'clusterrolebindings.rbac.authorization.k8s.io', []],
    ['escalate', 'clusterroles.rbac.authorization.k8s.io', []],
    ['bind', 'clusterroles.rbac.authorization.k8s.io', []],
    ['impersonate', 'users', []],
    ['create', 'serviceaccounts', IN(NAMESPACE), ['--subresource=token']],
    ['create', 'certificatesigningrequests.certificates.k8s.io', []],
  ];
  for (const [verb, resource, scope, extra] of allowed) {
    t.ok(await access(verb, resource, scope, extra), `allowed: ${verb} ${resource} ${[...scope, ...(extra ?? [])].join(' ')}`);
  }
  for (const [verb, resource, scope, extra] of refused) {
    t.notOk(await access(verb, resource, scope, extra), `refused: ${verb} ${resource} ${[...scope, ...(extra ?? [])].join(' ')}`);
  }

  // The same, as real requests under impersonation.
  const as = (args: string[], input?: string) => kubectl([...args, ...AS_SA], input);
  t.equal((await as(['get', 'namespaces', '-o', 'name'])).code, 0, 'reads namespaces');
  t.equal((await as(['get', 'pods', '-A', '-o', 'name'])).code, 0, 'reads pods in all namespaces');
  t.equal((await as(['get', 'antflyclusters.antfly.io', '-A', '-o', 'name'])).code, 0, 'reads AntflyClusters');

  // The syncer writes status with PATCH on the status subresource (merge or apply patch).
  const statusPath = `/apis/antfly.io/v1/namespaces/${TARGETS_NS}/antflyclusters/existing/status`;
  const statusBody = { status: { serviceMeshStatus: { enabled: true, sidecarInjectionStatus: 'None', podsWithSidecars: 0, totalPods: 1 } } };
  const merge = await requestAsServiceAccount('PATCH', statusPath, statusBody, 'application/merge-patch+json');
  t.equal(merge.status, 200, `patches status (merge patch)${merge.status === 200 ? '' : `: ${merge.body}`}`);
  const applied = await requestAsServiceAccount(
    'PATCH',
    `${statusPath}?fieldManager=meshguard-status-syncer&force=true`,
    { apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', metadata: { name: 'existing', namespace: TARGETS_NS }, ...statusBody },
    'application/apply-patch+yaml',
  );
  t.equal(applied.status, 200, `patches status (server-side apply)${applied.status === 200 ? '' : `: ${applied.body}`}`);
  const put = await requestAsServiceAccount('PUT', statusPath, { apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', metadata: { name: 'existing', namespace: TARGETS_NS }, ...statusBody }, 'application/json');
  t.equal(put.status, 403, 'status update (PUT) refused: patch only');
  const stored = JSON.parse(await mustKubectl(['get', '-n', TARGETS_NS, 'antflycluster.antfly.io/existing', '-o', 'json'])) as Doc;
  t.equal(stored.status?.serviceMeshStatus?.sidecarInjectionStatus, 'None', 'the status write landed');
  const spec = await as(['patch', '-n', TARGETS_NS, 'antflycluster.antfly.io/existing', '--type=merge', '-p', '{"spec":{"serviceMesh":{"enabled":false}}}']);
  t.not(spec.code, 0, 'spec patch refused');
  t.match(spec.stderr, /forbidden/i);

  const event: Doc = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'existing.e2e', namespace: TARGETS_NS },
    involvedObject: { apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', name: 'existing', namespace: TARGETS_NS },
    reason: 'PartialSidecarInjection',
    message: 'e2e',
    type: 'Warning',
    source: { component: 'meshguard' },
  };
  const ev = await as(['create', '-f', '-'], yamlOf([event]));
  t.equal(ev.code, 0, `creates an Event${ev.code === 0 ? '' : `: ${ev.stderr}`}`);

  const lease = (holder: string): Doc => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'meshguard-status-syncer', namespace: NAMESPACE },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15 },
  });
  const created = await as(['create', '-f', '-'], yamlOf([lease('pod-a')]));
  t.equal(created.code, 0, `creates its Lease${created.code === 0 ? '' : `: ${created.stderr}`}`);
  const current = JSON.parse((await as(['get', '-n', NAMESPACE, 'lease/meshguard-status-syncer', '-o', 'json'])).stdout) as Doc;
  current.spec.holderIdentity = 'pod-b';
  const updated = await as(['replace', '-f', '-'], JSON.stringify(current));
  t.equal(updated.code, 0, `renews/takes over the Lease (update)${updated.code === 0 ? '' : `: ${updated.stderr}`}`);
  const other = await as(['create', '-f', '-'], yamlOf([{ ...lease('x'), metadata: { name: 'meshguard-status-syncer', namespace: 'default' } }]));
  t.not(other.code, 0, 'no Lease outside its namespace');

  const secrets = await as(['get', 'secrets', '-n', NAMESPACE]);
  t.not(secrets.code, 0, 'cannot read Secrets, not even its own namespace');
  t.match(secrets.stderr, /forbidden/i);
});
