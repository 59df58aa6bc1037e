// meshguard's admission webhooks behind a real kube-apiserver:
// - `meshguard serve --kubeconfig` runs as a child process (informer caches of this API
//   server, a dev serving certificate for 127.0.0.1) and is registered with the SHIPPED
//   webhook configurations (manifests/base/webhooks.yaml), only clientConfig replaced;
// - cluster CRs: invalid spec.serviceMesh refused with the rule id, warnings reach kubectl;
// - StatefulSets: pod templates carry the mutation rules' annotations and labels per mesh;
// - Pods (proxy containers added by hand, as an injector would): mixed injection refused
//   with rule, cluster, N/M and a fix; consistent pods admitted; a missing CR warns (MG204);
// - server-side dry-run reaches the webhook and stores nothing;
// - a namespace labelled meshguard.io/ignore=true is untouched;
// - pod-creation latency with and without the webhooks (a report, not an assertion);
// - with meshguard stopped, the failure policies: mutating Ignore, validating Fail for
//   target objects only.
// Needs the binaries from test/e2e/build.sh, `npm run build` and kubectl.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import * as k8s from '@kubernetes/client-node';
import t, { type Test } from 'tap';

import { startCluster } from './lib/cluster.js';
import {
  eventually,
  Kubectl,
  makeServingCert,
  MeshguardProcess,
  ROOT,
  shippedWebhookConfigurations,
  warningsOf,
  yamlOf,
  type Doc,
  type KubectlResult,
} from './lib/webhook-env.js';

// Budgets, not assertions: the control plane starts on 2 shared cores.
t.setTimeout(14 * 60_000);

const FIXTURES = path.join(ROOT, 'test', 'e2e', 'fixtures');

const NS = {
  istio: 'e2e-istio',
  linkerd: 'e2e-linkerd',
  consul: 'e2e-consul',
  ambient: 'e2e-ambient',
  none: 'e2e-none',
  ignored: 'e2e-ignored',
} as const;

const HOOK = {
  clusters: 'clusters.validate.meshguard.io',
  pods: 'pods.validate.meshguard.io',
  workloads: 'workloads.validate.meshguard.io',
  podsMutate: 'pods.mutate.meshguard.io',
} as const;

const ISTIO_INJECT = 'sidecar.istio.io/inject';
const ISTIO_IN = 'traffic.sidecar.istio.io/excludeInboundPorts';
const ISTIO_OUT = 'traffic.sidecar.istio.io/excludeOutboundPorts';
const LINKERD_INJECT = 'linkerd.io/inject';
const LINKERD_IN = 'config.linkerd.io/skip-inbound-ports';
const LINKERD_OUT = 'config.linkerd.io/skip-outbound-ports';
const CONSUL_INJECT = 'consul.hashicorp.com/connect-inject';
const CONSUL_IN = 'consul.hashicorp.com/transparent-proxy-exclude-inbound-ports';
const CONSUL_OUT = 'consul.hashicorp.com/transparent-proxy-exclude-outbound-ports';
const DATAPLANE = 'istio.io/dataplane-mode';
const IMAGE = 'example.invalid/antfly:1';

// ---------------------------------------------------------------------------------------
// Object builders

type Labels = Record<string, string>;

const antflyLabels = (cluster: string): Labels => ({ 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': cluster });

const antflyCluster = (ns: string, name: string, serviceMesh: unknown, spec: Doc = {}): Doc => ({
  apiVersion: 'antfly.io/v1',
  kind: 'AntflyCluster',
  metadata: { name, namespace: ns },
  spec: { ...spec, serviceMesh },
});

const platform = (ns: string, name: string, serviceMesh: unknown): Doc => ({
  apiVersion: 'observability.io/v1beta1',
  kind: 'ObservabilityPlatform',
  metadata: { name, namespace: ns },
  spec: { serviceMesh },
});

type Proxy = 'istio' | 'linkerd' | 'consul';

interface PodOpts {
  /** Add the proxy the mesh's injector would have added. */
  proxy?: Proxy;
  labels?: Labels;
  annotations?: Labels;
  hostNetwork?: boolean;
}

const proxyParts = (proxy: Proxy | undefined): { containers: Doc[]; annotations: Labels } => {
  switch (proxy) {
    case 'istio':
      return { containers: [{ name: 'istio-proxy', image: 'example.invalid/proxyv2:1' }], annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' } };
    case 'linkerd':
      return { containers: [{ name: 'linkerd-proxy', image: 'example.invalid/linkerd-proxy:1' }], annotations: {} };
    case 'consul':
      return { containers: [{ name: 'consul-dataplane', image: 'example.invalid/consul-dataplane:1' }], annotations: { 'consul.hashicorp.com/connect-inject-status': 'injected' } };
    default:
      return { containers: [], annotations: {} };
  }
};

/** A Pod with the given target labels (Antfly cluster name by default). */
const podOf = (ns: string, name: string, targetLabels: Labels, o: PodOpts = {}): Doc => {
  const p = proxyParts(o.proxy);
  const annotations = { ...p.annotations, ...o.annotations };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { ...targetLabels, ...o.labels }, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: { ...(o.hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'antfly', image: IMAGE }, ...p.containers] },
  };
};
const pod = (ns: string, name: string, cluster: string, o: PodOpts = {}): Doc => podOf(ns, name, antflyLabels(cluster), o);

const statefulSet = (ns: string, name: string, templateLabels: Labels, tmpl: { labels?: Labels; annotations?: Labels } = {}): Doc => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, namespace: ns },
  spec: {
    serviceName: name,
    replicas: 3,
    selector: { matchLabels: { ...templateLabels, 'e2e/sts': name } },
    template: {
      metadata: { labels: { ...templateLabels, 'e2e/sts': name, ...tmpl.labels }, ...(tmpl.annotations ? { annotations: tmpl.annotations } : {}) },
      spec: { containers: [{ name: 'antfly', image: IMAGE }] },
    },
  },
});
const antflySts = (ns: string, name: string, cluster: string, tmpl: { labels?: Labels; annotations?: Labels } = {}): Doc =>
  statefulSet(ns, name, antflyLabels(cluster), tmpl);

const denialBy = (hook: string) => new RegExp(`admission webhook "${hook.replace(/\./g, '\\.')}" denied the request`);
const failedCalling = (hook: string) => new RegExp(`failed calling webhook "${hook.replace(/\./g, '\\.')}"`);
const clip = (s: string, n = 400) => (s.length > n ? `${s.slice(0, n)}…` : s);
const show = (r: KubectlResult) => `exit ${r.code}\nstdout: ${clip(r.stdout.trim())}\nstderr: ${r.stderr.trim()}`;

// ---------------------------------------------------------------------------------------

t.test('meshguard webhooks through a real kube-apiserver', async (t) => {
  const cluster = await startCluster({ log: (m) => t.comment(m) });
  t.teardown(() => cluster.stop());
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'meshguard-e2e-webhook-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const k = new Kubectl(cluster.kubeconfigPath, path.join(cluster.dir, 'kubectl-cache'));

  // The two cluster CRDs, before meshguard starts so its informers find them at once.
  await k.must(['apply', '-f', path.join(FIXTURES, 'crd-antflycluster.yaml'), '-f', path.join(FIXTURES, 'crd-observabilityplatform.yaml')]);
  await k.must(['wait', '--for=condition=Established', '--timeout=60s', 'crd/antflyclusters.antfly.io', 'crd/observabilityplatforms.observability.io']);

  await k.must(
    ['apply', '-f', '-'],
    yamlOf([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS.istio, labels: { 'istio-injection': 'enabled' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS.linkerd, annotations: { [LINKERD_INJECT]: 'enabled' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS.consul } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS.ambient, labels: { [DATAPLANE]: 'ambient' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS.none } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS.ignored, labels: { 'meshguard.io/ignore': 'true', 'istio-injection': 'enabled' } } },
    ]),
  );
  // The ServiceAccount admission plugin is off in the launcher; make sure, since pods
  // would otherwise wait for a `default` ServiceAccount no controller creates.
  const plugins = /--disable-admission-plugins=ServiceAccount/.test(fs.readFileSync(cluster.logs.apiServer, 'utf8'));
  if (plugins) t.comment('the ServiceAccount admission plugin is disabled: pods need no `default` ServiceAccount');
  else for (const ns of Object.values(NS)) await k.must(['-n', ns, 'create', 'serviceaccount', 'default']);

  const cert = await makeServingCert(path.join(work, 'certs'));
  let meshguard = await MeshguardProcess.start({ kubeconfig: cluster.kubeconfigPath, cert });
  t.teardown(() => meshguard.stop());
  t.comment(`meshguard serving on https://127.0.0.1:${meshguard.port} (metrics :${meshguard.metricsPort})`);

  const hooks = shippedWebhookConfigurations(meshguard.port, cert.caPem);
  const mutatingHooks = hooks.filter((d) => d.kind === 'MutatingWebhookConfiguration');
  const validatingHooks = hooks.filter((d) => d.kind === 'ValidatingWebhookConfiguration');
  t.equal(mutatingHooks.length, 1, 'the shipped file has one MutatingWebhookConfiguration');
  t.equal(validatingHooks.length, 1, 'the shipped file has one ValidatingWebhookConfiguration');
  const register = (docs: Doc[]) => k.must(['apply', '-f', '-'], yamlOf(docs));
  const unregister = (...what: string[]) => k.must(['delete', '--ignore-not-found', ...what]);
  t.teardown(() => k.run(['delete', '--ignore-not-found', 'mutatingwebhookconfiguration/meshguard', 'validatingwebhookconfiguration/meshguard']));
  await register(hooks);

  const dryCreate = (...docs: Doc[]) => k.run(['create', '--dry-run=server', '-o', 'json', '-f', '-'], yamlOf(docs));

  /** Until the API server calls meshguard: an invalid CR is refused by the validating webhook. */
  const untilValidating = () =>
    eventually(
      'the validating webhooks to take effect',
      async () => {
        const r = await dryCreate(antflyCluster(NS.none, 'probe', { enabled: 'yes' }));
        if (!denialBy(HOOK.clusters).test(r.stderr)) throw new Error(show(r));
        return true;
      },
      60_000,
    );
  await untilValidating();

  /** Until meshguard's cluster view holds the CR: a pod of it no longer gets MG204. */
  const untilInView = (ns: string, labels: Labels, what: string) =>
    eventually(`meshguard to see ${what}`, async () => {
      const r = await dryCreate(podOf(ns, 'view-probe', labels));
      return !/MG204/.test(r.stderr) && (r.code === 0 || /meshguard/.test(r.stderr));
    });

  const admittedPod = async (t: Test, doc: Doc, what: string): Promise<{ r: KubectlResult; stored: Doc | undefined }> => {
    const r = await k.create(doc);
    t.equal(r.code, 0, `${what}: admitted\n${show(r)}`);
    return { r, stored: await k.get('pod', doc.metadata.name, doc.metadata.namespace) };
  };
  /**
   * Refused by the validating pod webhook. `count` waits (bounded) until meshguard's
   * view holds the pods created just before, so the N/M in the message is settled.
   */
  const refusedPod = async (t: Test, doc: Doc, rule: string, also: RegExp[], what: string, count?: string) => {
    const r = await eventually(`${what}: refusal counting ${count}`, async () => {
      const r = await k.create(doc);
      return r.code === 0 || !count || r.stderr.includes(count) ? r : undefined;
    });
    t.not(r.code, 0, `${what}: refused`);
    t.match(r.stderr, denialBy(HOOK.pods), `${what}: by ${HOOK.pods}\n${show(r)}`);
    t.match(r.stderr, new RegExp(`\\[${rule}\\]`), `${what}: rule ${rule}`);
    for (const re of also) t.match(r.stderr, re, `${what}: message says ${re}`);
    t.equal(await k.get('pod', doc.metadata.name, doc.metadata.namespace), undefined, `${what}: not stored`);
  };

  // -------------------------------------------------------------------------------------
  await t.test('cluster CRs: invalid serviceMesh refused with its rule id, warnings reach the client', async (t) => {
    const refused = async (doc: Doc, rule: string, also: RegExp[], what: string) => {
      const r = await k.create(doc);
      t.not(r.code, 0, `${what}: refused`);
      t.match(r.stderr, denialBy(HOOK.clusters), `${what}: by ${HOOK.clusters}\n${show(r)}`);
      t.match(r.stderr, new RegExp(`\\[${rule}\\]`), `${what}: rule ${rule} in the message`);
      for (const re of also) t.match(r.stderr, re, `${what}: message says ${re}`);
      const kind = doc.kind === 'AntflyCluster' ? 'antflyclusters.antfly.io' : 'observabilityplatforms.observability.io';
      t.equal(await k.get(kind, doc.metadata.name, doc.metadata.namespace), undefined, `${what}: not stored`);
    };

    const db = antflyCluster(
      NS.istio,
      'db',
      { enabled: true, annotations: { [ISTIO_INJECT]: 'true', 'sidecar.istio.io/proxyCPU': '100m' } },
      { metadataNodes: { metadataRaft: { port: 7017 } } },
    );
    const ok = await k.create(db);
    t.equal(ok.code, 0, `a valid istio cluster is created\n${show(ok)}`);
    t.match(warningsOf(ok.stderr), [/^MG105: .*sidecar\.istio\.io\/inject/], 'MG105 (inject switch only as an annotation) arrives as a Warning');

    await refused(
      antflyCluster(NS.istio, 'bad-ports', { enabled: true, annotations: { [ISTIO_INJECT]: 'true', [ISTIO_IN]: '9017,,abc' } }),
      'MG103',
      [/excludeInboundPorts/, /field spec\.serviceMesh\.annotations/],
      'a port list Istio would reject',
    );
    await refused(
      antflyCluster(NS.istio, 'two-meshes', { enabled: true, annotations: { [ISTIO_INJECT]: 'true', [LINKERD_INJECT]: 'enabled' } }),
      'MG104',
      [/Istio/, /Linkerd/],
      'annotations of two meshes',
    );
    await refused(antflyCluster(NS.istio, 'wrong-type', { enabled: 'yes' }), 'MG101', [/enabled/], 'enabled: "yes" (wrong type)');
    await refused(antflyCluster(NS.istio, 'bad-key', { enabled: true, annotations: { 'sidecar.istio.io/in ject': 'true' } }), 'MG102', [/qualified name/], 'an invalid annotation key');

    const nothing = await k.create(antflyCluster(NS.none, 'no-trigger', { enabled: true }));
    t.equal(nothing.code, 0, `a meshed cluster with nothing to trigger injection is admitted\n${show(nothing)}`);
    t.match(warningsOf(nothing.stderr), [/^MG106: /], 'MG106 arrives as a Warning');

    const unknown = await k.create(antflyCluster(NS.none, 'unknown-field', { enabled: false, mtls: { mode: 'STRICT' } }));
    t.equal(unknown.code, 0, `an unknown serviceMesh field is admitted\n${show(unknown)}`);
    t.match(warningsOf(unknown.stderr), [/^MG107: .*mtls/], 'MG107 (unknown field) arrives as a Warning');

    // ObservabilityPlatform (Gunj dialect).
    const plat = await k.create(
      platform(NS.istio, 'platform-a', {
        enabled: true,
        type: 'istio',
        mtls: { enabled: true, mode: 'STRICT' },
        trafficManagement: { retry: { attempts: 3, perTryTimeout: '2s', retryOn: '5xx,reset' } },
      }),
    );
    t.equal(plat.code, 0, `a valid ObservabilityPlatform is created\n${show(plat)}`);
    await refused(platform(NS.istio, 'retries', { enabled: true, type: 'istio', trafficManagement: { retry: { attempts: 20 } } }), 'MG101', [/attempts/], 'retry.attempts 20');
    await refused(platform(NS.istio, 'mtls', { enabled: true, type: 'istio', mtls: { enabled: false, mode: 'STRICT' } }), 'MG101', [/contradict/], 'mtls disabled with STRICT');
    await refused(platform(NS.istio, 'mesh-type', { enabled: true, type: 'consul' }), 'MG101', [/type/], 'type: consul');
    const sampling = await k.create(platform(NS.none, 'sampling', { enabled: false, observability: { tracing: { enabled: true, samplingRate: 50 } } }));
    t.equal(sampling.code, 0, `samplingRate 50 is admitted\n${show(sampling)}`);
    t.match(warningsOf(sampling.stderr), [/^MG101: .*samplingRate/], 'samplingRate above 1 warns (percent or fraction?)');

    // Updates: a spec change is judged, a label-only change is not even sent.
    const patch = await k.run(['-n', NS.istio, 'patch', 'antflycluster/db', '--type=merge', '-p', JSON.stringify({ spec: { serviceMesh: { annotations: { [ISTIO_OUT]: '70000' } } } })]);
    t.not(patch.code, 0, 'an update to an invalid spec is refused');
    t.match(patch.stderr, /\[MG103\]/, `rule id in the refusal\n${show(patch)}`);
    const stored = await k.get('antflyclusters.antfly.io', 'db', NS.istio);
    t.same(stored?.spec?.serviceMesh, db.spec.serviceMesh, 'the stored spec is unchanged');
    const label = await k.run(['-n', NS.istio, 'label', 'antflycluster/db', 'team=storage']);
    t.equal(label.code, 0, `a label-only update is admitted\n${show(label)}`);
  });

  // -------------------------------------------------------------------------------------
  // The clusters the workload and pod tests use (db and platform-a exist already).
  const fixtures: Doc[] = [
    antflyCluster(NS.istio, 'cold', { enabled: false }),
    antflyCluster(NS.linkerd, 'ldb', { enabled: true, annotations: { [LINKERD_INJECT]: 'enabled' } }),
    antflyCluster(NS.linkerd, 'lcold', { enabled: false }),
    antflyCluster(NS.consul, 'cdb', { enabled: true, annotations: { [CONSUL_INJECT]: 'true' } }),
    antflyCluster(NS.ambient, 'adb', { enabled: true }),
  ];

  await t.test('cluster fixtures are admitted and reach meshguard\'s view', async (t) => {
    for (const doc of fixtures) {
      const r = await k.create(doc);
      t.equal(r.code, 0, `${doc.metadata.namespace}/${doc.metadata.name} created\n${show(r)}`);
    }
    for (const doc of [antflyCluster(NS.istio, 'db', {}), ...fixtures]) {
      await untilInView(doc.metadata.namespace, antflyLabels(doc.metadata.name), `AntflyCluster ${doc.metadata.namespace}/${doc.metadata.name}`);
    }
    await untilInView(NS.istio, { 'observability.io/platform': 'platform-a' }, `ObservabilityPlatform ${NS.istio}/platform-a`);
    t.pass('every cluster CR is in the view');
  });

  // -------------------------------------------------------------------------------------
  await t.test('StatefulSet pod templates carry what the mutation rules require', async (t) => {
    const created = async (t: Test, doc: Doc, what: string): Promise<{ r: KubectlResult; template: Doc }> => {
      const r = await k.create(doc);
      t.equal(r.code, 0, `${what}: created\n${show(r)}`);
      const sts = await k.get('statefulset', doc.metadata.name, doc.metadata.namespace);
      return { r, template: sts?.spec?.template ?? {} };
    };

    await t.test('istio: CR annotations (the CR wins), consensus ports merged, inject label', async (t) => {
      const { r, template } = await created(t, 
        antflySts(NS.istio, 'db', 'db', { annotations: { [ISTIO_IN]: '8080', 'sidecar.istio.io/proxyCPU': '500m', 'example.com/keep': 'me' } }),
        'StatefulSet db',
      );
      t.match(template.metadata.annotations, {
        [ISTIO_INJECT]: 'true',
        'sidecar.istio.io/proxyCPU': '100m',
        [ISTIO_IN]: '8080,7017,9021',
        [ISTIO_OUT]: '7017,9021',
        'example.com/keep': 'me',
      });
      t.equal(template.metadata.labels[ISTIO_INJECT], 'true', 'the inject switch is also a label');
      t.equal(template.metadata.labels['app.kubernetes.io/instance'], 'db', 'existing labels kept');
      t.match(warningsOf(r.stderr), [/^MG207: .*proxyCPU/], 'replacing the template value is reported (MG207)');

      // Rule 5 through the API server: updating the template does not append the ports again.
      const patch = await k.run(['-n', NS.istio, 'patch', 'statefulset/db', '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { labels: { rev: '2' } } } } })]);
      t.equal(patch.code, 0, `a template update is admitted\n${show(patch)}`);
      const after = await k.get('statefulset', 'db', NS.istio);
      t.equal(after?.spec.template.metadata.annotations[ISTIO_IN], '8080,7017,9021', 'inbound exclusions unchanged by the update');
      t.equal(after?.spec.template.metadata.annotations[ISTIO_OUT], '7017,9021', 'outbound exclusions unchanged by the update');
      t.equal(after?.spec.template.metadata.labels.rev, '2', 'the update itself landed');
    });

    await t.test('re-applying the same manifest changes nothing (no rollout), client-side and server-side', async (t) => {
      for (const mode of [[], ['--server-side', '--field-manager=e2e-gitops']]) {
        const name = mode.length === 0 ? 'db-csa' : 'db-ssa';
        const doc = antflySts(NS.istio, name, 'db', { annotations: { [ISTIO_IN]: '8080' } });
        const apply = () => k.run(['apply', ...mode, '-o', 'json', '-f', '-'], yamlOf([doc]));
        const first = await apply();
        t.equal(first.code, 0, `${name}: first apply\n${show(first)}`);
        const before = await k.get('statefulset', name, NS.istio);
        t.equal(before?.spec.template.metadata.annotations[ISTIO_IN], '8080,7017,9021', `${name}: mutated on the first apply`);
        for (let i = 0; i < 2; i++) {
          const again = await apply();
          t.equal(again.code, 0, `${name}: apply number ${i + 2}\n${show(again)}`);
        }
        const after = await k.get('statefulset', name, NS.istio);
        t.equal(after?.metadata.generation, before?.metadata.generation, `${name}: generation unchanged (no rollout)`);
        t.same(after?.spec.template, before?.spec.template, `${name}: template unchanged`);
      }
    });

    await t.test("pods made from a mutated template are not mutated again", async (t) => {
      const sts = await k.get('statefulset', 'db', NS.istio);
      const tmpl = sts?.spec.template;
      const p: Doc = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'db-from-template', namespace: NS.istio, labels: tmpl.metadata.labels, annotations: { ...tmpl.metadata.annotations, 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' } },
        spec: { containers: [...tmpl.spec.containers, { name: 'istio-proxy', image: 'example.invalid/proxyv2:1' }] },
      };
      const r = await k.create(p);
      t.equal(r.code, 0, `admitted\n${show(r)}`);
      t.same(warningsOf(r.stderr), [], 'no warnings');
      const stored = await k.get('pod', 'db-from-template', NS.istio);
      t.same(stored?.metadata.annotations, p.metadata.annotations, 'annotations exactly as the template gave them');
      t.same(stored?.metadata.labels, p.metadata.labels, 'labels exactly as the template gave them');
      // Out of the way of the pod counts (N/M) below; an unscheduled pod goes at once.
      await k.must(['-n', NS.istio, 'delete', 'pod/db-from-template', '--wait=true']);
    });

    await t.test('istio: a disabled cluster in an injecting namespace opts out', async (t) => {
      const { template } = await created(t, antflySts(NS.istio, 'cold', 'cold'), 'StatefulSet cold');
      t.equal(template.metadata.labels[ISTIO_INJECT], 'false', 'label sidecar.istio.io/inject=false');
      t.notOk(template.metadata.annotations?.[ISTIO_IN], 'no port exclusions for an unmeshed cluster');
    });

    await t.test('linkerd: default skip ports kept, consensus ports added; disabled cluster opts out', async (t) => {
      const { template } = await created(t, antflySts(NS.linkerd, 'ldb', 'ldb'), 'StatefulSet ldb');
      t.match(template.metadata.annotations, { [LINKERD_INJECT]: 'enabled', [LINKERD_IN]: '4567,4568,9017,9021', [LINKERD_OUT]: '4567,4568,9017,9021' });
      const cold = await created(t, antflySts(NS.linkerd, 'lcold', 'lcold'), 'StatefulSet lcold');
      t.equal(cold.template.metadata.annotations?.[LINKERD_INJECT], 'disabled', 'annotation linkerd.io/inject=disabled');
    });

    await t.test('linkerd: a skip list with a range covering the consensus ports is kept', async (t) => {
      const { template } = await created(t, antflySts(NS.linkerd, 'ldb-ranges', 'ldb', { annotations: { [LINKERD_IN]: '9000-9100' } }), 'StatefulSet ldb-ranges');
      t.equal(template.metadata.annotations[LINKERD_IN], '9000-9100', 'inbound: 9017 and 9021 already inside 9000-9100');
      t.equal(template.metadata.annotations[LINKERD_OUT], '4567,4568,9017,9021', "outbound: Linkerd's defaults plus the consensus ports");
    });

    await t.test('Deployment and CronJob templates are mutated too', async (t) => {
      const labels = { ...antflyLabels('db'), 'e2e/w': 'dep' };
      const dep: Doc = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'db-tools', namespace: NS.istio },
        spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'antfly', image: IMAGE }] } } },
      };
      const d = await k.create(dep);
      t.equal(d.code, 0, `Deployment created\n${show(d)}`);
      const storedDep = await k.get('deployment', 'db-tools', NS.istio);
      t.match(storedDep?.spec.template.metadata, { labels: { [ISTIO_INJECT]: 'true' }, annotations: { [ISTIO_IN]: '7017,9021', [ISTIO_OUT]: '7017,9021' } }, 'Deployment template mutated');

      const cron: Doc = {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'db-backup', namespace: NS.istio },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: { spec: { template: { metadata: { labels: antflyLabels('db') }, spec: { restartPolicy: 'Never', containers: [{ name: 'backup', image: IMAGE }] } } } },
        },
      };
      const c = await k.create(cron);
      t.equal(c.code, 0, `CronJob created\n${show(c)}`);
      const storedCron = await k.get('cronjob', 'db-backup', NS.istio);
      t.match(storedCron?.spec.jobTemplate.spec.template.metadata, { labels: { [ISTIO_INJECT]: 'true' }, annotations: { [ISTIO_IN]: '7017,9021' } }, 'CronJob job template mutated');
    });

    await t.test('consul: transparent-proxy exclusions', async (t) => {
      const { template } = await created(t, antflySts(NS.consul, 'cdb', 'cdb'), 'StatefulSet cdb');
      t.match(template.metadata.annotations, { [CONSUL_INJECT]: 'true', [CONSUL_IN]: '9017,9021', [CONSUL_OUT]: '9017,9021' });
    });

    await t.test('istio ambient: no exclusion possible, MG206 warns', async (t) => {
      const { r, template } = await created(t, antflySts(NS.ambient, 'adb', 'adb'), 'StatefulSet adb');
      t.match(warningsOf(r.stderr), [/^MG206: .*Istio ambient cannot exclude ports/], 'MG206 (Raft goes through ztunnel) arrives as a Warning');
      t.notOk(template.metadata.labels[DATAPLANE], 'no dataplane-mode label written');
      t.notOk(template.metadata.annotations, 'no annotations written');
    });

    await t.test('a template that would mesh with a second mesh is refused', async (t) => {
      const r = await k.create(antflySts(NS.istio, 'mixed', 'db', { annotations: { [LINKERD_INJECT]: 'enabled' } }));
      t.not(r.code, 0, 'refused');
      t.match(r.stderr, denialBy(HOOK.workloads), `by ${HOOK.workloads}\n${show(r)}`);
      t.match(r.stderr, /\[MG203\].*AntflyCluster e2e-istio\/db/, 'MG203 names the cluster');
      t.equal(await k.get('statefulset', 'mixed', NS.istio), undefined, 'not stored');
    });
  });

  // -------------------------------------------------------------------------------------
  await t.test('Pods: mixed injection refused with a helpful message, consistent pods admitted', async (t) => {

    await t.test('istio', async (t) => {
      for (const name of ['db-0', 'db-1']) {
        const { stored } = await admittedPod(t, pod(NS.istio, name, 'db', { proxy: 'istio' }), `${name} with istio-proxy`);
        t.match(stored?.metadata.annotations, { [ISTIO_INJECT]: 'true', [ISTIO_IN]: '7017,9021', [ISTIO_OUT]: '7017,9021', 'sidecar.istio.io/proxyCPU': '100m' }, `${name}: mutated`);
        t.equal(stored?.metadata.labels[ISTIO_INJECT], 'true', `${name}: inject label`);
      }
      await refusedPod(
        t,
        pod(NS.istio, 'db-2', 'db'),
        'MG201',
        [/AntflyCluster e2e-istio\/db/, /without the Istio proxy/, /2\/2 of its pods are meshed now/, /injector did not run/, /recreate the pod/],
        'db-2 without a proxy',
        '2/2',
      );
      await refusedPod(t, pod(NS.istio, 'db-3', 'db', { proxy: 'linkerd' }), 'MG203', [/Linkerd proxy/, /meshed by Istio/, /AntflyCluster e2e-istio\/db/], 'db-3 with linkerd-proxy');
      await refusedPod(t, pod(NS.istio, 'db-host', 'db', { proxy: 'istio', hostNetwork: true }), 'MG205', [/hostNetwork/, /Remove hostNetwork/], 'hostNetwork pod');
      // A logging sidecar is not a proxy.
      const logging = pod(NS.istio, 'db-logs', 'db');
      logging.spec.containers.push({ name: 'fluent-bit', image: 'example.invalid/fluent-bit:1' });
      await refusedPod(t, logging, 'MG201', [/2\/2/], 'two containers, none a proxy');
    });

    await t.test('pods named by generateName (as ReplicaSets create them)', async (t) => {
      const gen = (o: PodOpts) => {
        const p = pod(NS.istio, '', 'db', o);
        delete p.metadata.name;
        p.metadata.generateName = 'db-tools-';
        return p;
      };
      const ok = await k.create(gen({ proxy: 'istio' }));
      t.equal(ok.code, 0, `a meshed pod is admitted\n${show(ok)}`);
      const name = ok.stdout.trim().replace(/^pod\//, '');
      t.match(name, /^db-tools-\w+$/, 'named by the API server');
      const stored = await k.get('pod', name, NS.istio);
      t.equal(stored?.metadata.annotations?.[ISTIO_IN], '7017,9021', 'mutated');
      const bad = await k.create(gen({}));
      t.not(bad.code, 0, 'an unmeshed one is refused');
      // The API server generates the name before admission, so the message has it.
      t.match(bad.stderr, /\[MG201\] Pod e2e-istio\/db-tools-\w+ runs without the Istio proxy/, `the message names the pod\n${show(bad)}`);
    });

    await t.test('istio, cluster with the mesh disabled', async (t) => {
      const { stored } = await admittedPod(t, pod(NS.istio, 'cold-0', 'cold'), 'cold-0 without a proxy');
      t.equal(stored?.metadata.labels[ISTIO_INJECT], 'false', 'cold-0: opted out of injection');
      await refusedPod(t, pod(NS.istio, 'cold-1', 'cold', { proxy: 'istio' }), 'MG202', [/serviceMesh\.enabled: false/, /0\/1 of its pods are meshed now/, /opt the pod out/], 'cold-1 with istio-proxy', '0/1');
    });

    await t.test('linkerd and consul', async (t) => {
      await admittedPod(t, pod(NS.linkerd, 'ldb-0', 'ldb', { proxy: 'linkerd' }), 'ldb-0 with linkerd-proxy');
      await refusedPod(t, pod(NS.linkerd, 'ldb-1', 'ldb'), 'MG201', [/without the Linkerd proxy/, /AntflyCluster e2e-linkerd\/ldb/, /1\/1/], 'ldb-1 without a proxy', '1/1');
      const { stored } = await admittedPod(t, pod(NS.consul, 'cdb-0', 'cdb', { proxy: 'consul' }), 'cdb-0 with consul-dataplane');
      t.match(stored?.metadata.annotations, { [CONSUL_IN]: '9017,9021', [CONSUL_OUT]: '9017,9021' }, 'cdb-0: consensus ports excluded');
      await refusedPod(t, pod(NS.consul, 'cdb-1', 'cdb'), 'MG201', [/Consul/, /AntflyCluster e2e-consul\/cdb/, /1\/1/], 'cdb-1 without a proxy', '1/1');
    });

    await t.test('istio ambient: enrolment by labels, also on UPDATE', async (t) => {
      const { r } = await admittedPod(t, pod(NS.ambient, 'adb-0', 'adb'), 'adb-0 (enrolled by the namespace)');
      t.match(warningsOf(r.stderr), [/^MG206: .*Istio ambient cannot exclude ports/], 'MG206 warning on the pod too');
      await refusedPod(t, pod(NS.ambient, 'adb-1', 'adb', { labels: { [DATAPLANE]: 'none' } }), 'MG201', [/Istio ambient/, /1\/1/], 'adb-1 opted out of ambient', '1/1');
      const relabel = await k.run(['-n', NS.ambient, 'label', 'pod/adb-0', `${DATAPLANE}=none`]);
      t.not(relabel.code, 0, 'labelling a running ambient pod out of the mesh is refused');
      t.match(relabel.stderr, /\[MG201\]/, `rule id in the refusal\n${show(relabel)}`);
    });

    await t.test('ObservabilityPlatform pods', async (t) => {
      const labels = { 'observability.io/platform': 'platform-a' };
      await admittedPod(t, podOf(NS.istio, 'obs-0', labels, { proxy: 'istio' }), 'obs-0 with istio-proxy');
      await refusedPod(t, podOf(NS.istio, 'obs-1', labels), 'MG201', [/ObservabilityPlatform e2e-istio\/platform-a/, /1\/1/], 'obs-1 without a proxy', '1/1');
    });

    await t.test('a pod whose cluster CR does not exist is admitted with MG204', async (t) => {
      const { r, stored } = await admittedPod(t, pod(NS.istio, 'ghost-0', 'ghost'), 'ghost-0');
      t.match(warningsOf(r.stderr), [/^MG204: .*ghost/], 'MG204 arrives as a Warning');
      t.notOk(stored?.metadata.annotations?.[ISTIO_IN], 'nothing to mutate without the CR');
    });

    await t.test('a rollout that enables the mesh: pods of the new state pass, the view follows the CR', async (t) => {
      const create = await k.create(antflyCluster(NS.istio, 'roll', { enabled: false }));
      t.equal(create.code, 0, `cluster roll created\n${show(create)}`);
      await untilInView(NS.istio, antflyLabels('roll'), `AntflyCluster ${NS.istio}/roll`);
      const { stored } = await admittedPod(t, pod(NS.istio, 'roll-0', 'roll'), 'roll-0 while the mesh is off');
      t.equal(stored?.metadata.labels[ISTIO_INJECT], 'false', 'roll-0 opted out');

      const enable = await k.run(['-n', NS.istio, 'patch', 'antflycluster/roll', '--type=merge', '-p', JSON.stringify({ spec: { serviceMesh: { enabled: true, annotations: { [ISTIO_INJECT]: 'true' } } } })]);
      t.equal(enable.code, 0, `the mesh is enabled\n${show(enable)}`);
      // Until the view has the update, a meshed pod is refused (MG202) and not stored: retrying is safe.
      const meshed = await eventually('a meshed pod of roll to be admitted', async () => {
        const r = await k.create(pod(NS.istio, 'roll-1', 'roll', { proxy: 'istio' }));
        return r.code === 0 || !/\[MG202\]/.test(r.stderr) ? r : undefined;
      });
      t.equal(meshed.code, 0, `a pod of the new (meshed) state is admitted though 0/1 are meshed\n${show(meshed)}`);
      await refusedPod(t, pod(NS.istio, 'roll-2', 'roll'), 'MG201', [/AntflyCluster e2e-istio\/roll/], 'an unmeshed pod after the switch', '1/2');
    });

    await t.test('a deleted cluster CR: its pods get MG204 again', async (t) => {
      await k.must(['-n', NS.linkerd, 'delete', 'antflycluster/lcold']);
      const r = await eventually('MG204 for a pod of the deleted cluster', async () => {
        const r = await k.run(['create', '--dry-run=server', '-o', 'name', '-f', '-'], yamlOf([pod(NS.linkerd, 'lcold-0', 'lcold', { proxy: 'linkerd' })]));
        return /MG204/.test(r.stderr) ? r : undefined;
      });
      t.equal(r.code, 0, `admitted\n${show(r)}`);
      t.match(warningsOf(r.stderr), [/^MG204: .*lcold/], 'with MG204');
    });

    await t.test('non-target pods are left alone', async (t) => {
      const { r, stored } = await admittedPod(t, podOf(NS.istio, 'plain', { app: 'web' }), 'an unrelated pod');
      t.same(warningsOf(r.stderr), [], 'no warnings');
      t.notOk(stored?.metadata.annotations, 'no annotations');
    });
  });

  // -------------------------------------------------------------------------------------
  await t.test('kubectl apply --dry-run=server reaches the webhook and changes nothing', async (t) => {
    const dryApply = (doc: Doc) => k.run(['apply', '--dry-run=server', '-o', 'json', '-f', '-'], yamlOf([doc]));

    const denied = await dryApply(pod(NS.istio, 'dry-0', 'db'));
    t.not(denied.code, 0, 'a pod that would split the cluster is refused in dry-run too');
    t.match(denied.stderr, /\[MG201\]/, `rule id\n${show(denied)}`);
    t.equal(await k.get('pod', 'dry-0', NS.istio), undefined, 'not created');

    const sts = await dryApply(antflySts(NS.istio, 'dry-db', 'db'));
    t.equal(sts.code, 0, `an admitted StatefulSet\n${show(sts)}`);
    const out = JSON.parse(sts.stdout || '{}') as Doc;
    t.match(out.spec?.template?.metadata, { annotations: { [ISTIO_IN]: '7017,9021', [ISTIO_OUT]: '7017,9021' }, labels: { [ISTIO_INJECT]: 'true' } }, 'the output shows the mutation');
    t.equal(await k.get('statefulset', 'dry-db', NS.istio), undefined, 'not created');

    const crDenied = await dryApply(antflyCluster(NS.istio, 'dry-cr', { enabled: true, annotations: { [ISTIO_OUT]: '1-2' } }));
    t.not(crDenied.code, 0, 'an invalid CR is refused in dry-run');
    t.match(crDenied.stderr, /\[MG103\]/, `rule id\n${show(crDenied)}`);
    const crOk = await dryApply(antflyCluster(NS.istio, 'dry-cr', { enabled: true, annotations: { [ISTIO_INJECT]: 'true' } }));
    t.equal(crOk.code, 0, `a valid CR passes dry-run\n${show(crOk)}`);
    t.match(warningsOf(crOk.stderr), [/^MG105/], 'with its warning');
    t.equal(await k.get('antflyclusters.antfly.io', 'dry-cr', NS.istio), undefined, 'not created');

    // Updates in dry-run: the stored object stays as it was.
    const before = await k.get('statefulset', 'db', NS.istio);
    const update = await k.run(['-n', NS.istio, 'patch', '--dry-run=server', 'statefulset/db', '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { annotations: { [LINKERD_INJECT]: 'enabled' } } } } })]);
    t.not(update.code, 0, 'an update to a mixed template is refused in dry-run');
    t.match(update.stderr, denialBy(HOOK.workloads), show(update));
    const after = await k.get('statefulset', 'db', NS.istio);
    t.equal(after?.metadata.resourceVersion, before?.metadata.resourceVersion, 'the StatefulSet is unchanged');
  });

  // -------------------------------------------------------------------------------------
  await t.test('a namespace labelled meshguard.io/ignore=true is untouched', async (t) => {
    const cr = await k.create(antflyCluster(NS.ignored, 'db', { enabled: true, annotations: { [ISTIO_INJECT]: 'true', [ISTIO_IN]: 'not-a-port' } }));
    t.equal(cr.code, 0, `an invalid CR is admitted\n${show(cr)}`);
    t.same(warningsOf(cr.stderr), [], 'without warnings');
    const p = await k.create(pod(NS.ignored, 'db-0', 'db'));
    t.equal(p.code, 0, `a pod without its cluster's proxy is admitted\n${show(p)}`);
    t.same(warningsOf(p.stderr), [], 'without warnings');
    const stored = await k.get('pod', 'db-0', NS.ignored);
    t.same(stored?.metadata.labels, antflyLabels('db'), 'labels unchanged');
    t.notOk(stored?.metadata.annotations, 'no annotations added');
    const sts = await k.create(antflySts(NS.ignored, 'db', 'db'));
    t.equal(sts.code, 0, `a StatefulSet is admitted\n${show(sts)}`);
    const storedSts = await k.get('statefulset', 'db', NS.ignored);
    t.same(storedSts?.spec.template.metadata.labels, { ...antflyLabels('db'), 'e2e/sts': 'db' }, 'template labels unchanged');
    t.notOk(storedSts?.spec.template.metadata.annotations, 'template annotations unchanged');
  });

  // -------------------------------------------------------------------------------------
  await t.test('pod-creation latency with and without the webhooks (report)', async (t) => {
    // Target pods (both webhooks called: mutate patches, validate admits), created one by
    // one with the client library. The two cores are shared with other work, so the
    // phases alternate in rounds (registering and unregistering between them) and each
    // phase starts with a warm-up create that is not counted.
    const core = cluster.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const ROUNDS = 5;
    const PER_ROUND = 10;
    const samples = { with: [] as number[], without: [] as number[] };
    let seq = 0;
    const measure = async (phase: 'with' | 'without') => {
      for (let i = 0; i <= PER_ROUND; i++) {
        const body = pod(NS.istio, `lat-${phase}-${seq++}`, 'db', { proxy: 'istio' }) as k8s.V1Pod;
        const t0 = performance.now();
        await core.createNamespacedPod({ namespace: NS.istio, body });
        if (i > 0) samples[phase].push(performance.now() - t0);
      }
      return `lat-${phase}-${seq - 1}`;
    };
    const mutated = async (name: string) => (await k.get('pod', name, NS.istio))?.metadata.labels?.[ISTIO_INJECT] === 'true';
    // A pod meshguard refuses passes a dry-run exactly when the webhooks are not called.
    const webhooksCalled = async () => (await dryCreate(pod(NS.istio, 'probe', 'db'))).code !== 0;

    for (let round = 0; round < ROUNDS; round++) {
      const lastWith = await measure('with');
      t.ok(await mutated(lastWith), `round ${round + 1}: pods created with the webhooks are mutated`);
      await unregister('mutatingwebhookconfiguration/meshguard', 'validatingwebhookconfiguration/meshguard');
      await eventually('the webhooks to be gone', async () => !(await webhooksCalled()));
      const lastWithout = await measure('without');
      t.notOk(await mutated(lastWithout), `round ${round + 1}: pods created without the webhooks are not mutated`);
      await register(hooks);
      await untilValidating();
      await eventually('the pod webhooks to be back', webhooksCalled);
    }

    const stats = (ms: number[]) => {
      const s = [...ms].sort((a, b) => a - b);
      const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
      return { median: q(0.5), p95: q(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length };
    };
    const a = stats(samples.with);
    const b = stats(samples.without);
    const f = (x: number) => x.toFixed(1).padStart(7);
    const n = ROUNDS * PER_ROUND;
    t.comment(`pod creation through the API server: ${n} sequential creates each, in ${ROUNDS} alternating rounds of ${PER_ROUND}, target pods (mutate + validate):`);
    t.comment(`                    median      p95     mean   (ms)`);
    t.comment(`  with webhooks    ${f(a.median)}  ${f(a.p95)}  ${f(a.mean)}`);
    t.comment(`  without          ${f(b.median)}  ${f(b.p95)}  ${f(b.mean)}`);
    t.comment(`  ratio (with/without): median ${(a.median / b.median).toFixed(2)}x, p95 ${(a.p95 / b.p95).toFixed(2)}x`);
    t.equal(samples.with.length, n, `${n} creates measured with the webhooks`);
    t.equal(samples.without.length, n, `${n} creates measured without the webhooks`);
  });

  // -------------------------------------------------------------------------------------
  await t.test('the API server keeps its HTTP/1.1 connection to meshguard: no handshake per review', async (t) => {
    // What makes a webhook call cheap for the API server (docs/operations.md, "How the API
    // server calls the webhook"): a keep-alive connection held across reviews. A server
    // that closed connections after each answer, or timed them out between two pod
    // creations, would show here as new handshakes.
    const connections = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for (const m of (await meshguard.metrics()).matchAll(/^meshguard_tls_connections_total\{protocol="([^"]+)",resumed="[^"]+"\} (\S+)$/gm))
        out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
      return out;
    };
    const create = async (i: number) => {
      const r = await k.create(pod(NS.istio, `conn-${i}`, 'db', { proxy: 'istio' }));
      t.equal(r.code, 0, `pod conn-${i} admitted\n${show(r)}`);
    };
    await create(0); // whatever connection the API server needs, it has now
    const before = await connections();
    for (let i = 1; i <= 10; i++) await create(i);
    const after = await connections();
    t.ok((before['http/1.1'] ?? 0) >= 1, `the API server talks HTTP/1.1 to meshguard (connections by protocol: ${JSON.stringify(after)})`);
    t.notOk(after.h2, 'meshguard offers no h2');
    t.equal((after['http/1.1'] ?? 0) - (before['http/1.1'] ?? 0), 0, '20 reviews of 10 pods without a new connection');
  });

  // -------------------------------------------------------------------------------------
  await t.test('with meshguard down, the failure policies behave as documented', async (t) => {
    await meshguard.stop();
    t.notOk(meshguard.running, 'meshguard stopped');

    await t.test('validating webhooks (Fail): target objects refused, others admitted', async (t) => {
      // A pod meshguard would admit: the refusal names the validating webhook, so the
      // mutating one (called first, failurePolicy Ignore) let the request through.
      const target = await k.create(pod(NS.istio, 'down-0', 'db', { proxy: 'istio' }));
      t.not(target.code, 0, 'a target pod is refused');
      t.match(target.stderr, failedCalling(HOOK.pods), `"failed calling webhook" names ${HOOK.pods}\n${show(target)}`);
      t.notMatch(target.stderr, failedCalling(HOOK.podsMutate), 'not the mutating webhook (Ignore)');

      const plain = await k.create(podOf(NS.istio, 'down-plain', { app: 'web' }));
      t.equal(plain.code, 0, `a non-target pod is admitted\n${show(plain)}`);
      const other = await k.create(podOf(NS.istio, 'down-postgres', { 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/instance': 'db' }));
      t.equal(other.code, 0, `another app's pod is admitted\n${show(other)}`);

      const cr = await k.create(antflyCluster(NS.istio, 'down-cr', { enabled: true, annotations: { [ISTIO_INJECT]: 'true' } }));
      t.not(cr.code, 0, 'a cluster CR is refused');
      t.match(cr.stderr, failedCalling(HOOK.clusters), show(cr));
      const label = await k.run(['-n', NS.istio, 'label', 'antflycluster/db', 'team=db-ops', '--overwrite']);
      t.equal(label.code, 0, `a CR update that leaves spec alone is admitted (matchCondition spec-changed)\n${show(label)}`);

      const sts = await k.create(antflySts(NS.istio, 'down-sts', 'db'));
      t.not(sts.code, 0, 'a StatefulSet of a cluster is refused');
      t.match(sts.stderr, failedCalling(HOOK.workloads), show(sts));
      const plainSts = await k.create(statefulSet(NS.istio, 'down-web', { app: 'web' }));
      t.equal(plainSts.code, 0, `a StatefulSet of another app is admitted\n${show(plainSts)}`);

      const ignored = await k.create(pod(NS.ignored, 'down-0', 'db'));
      t.equal(ignored.code, 0, `a pod in the ignored namespace is admitted\n${show(ignored)}`);
    });

    await t.test('mutating webhooks (Ignore): the pod is admitted unmutated', async (t) => {
      // Only the mutating configuration registered, as shipped: its failure alone is visible.
      await unregister('validatingwebhookconfiguration/meshguard');
      const r = await eventually('the validating webhooks to be gone', async () => {
        const r = await k.create(pod(NS.istio, 'down-1', 'db'));
        return r.code === 0 || !failedCalling(HOOK.pods).test(r.stderr) ? r : undefined;
      });
      t.equal(r.code, 0, `a target pod is admitted\n${show(r)}`);
      const stored = await k.get('pod', 'down-1', NS.istio);
      t.same(stored?.metadata.labels, antflyLabels('db'), 'labels unmutated');
      t.notOk(stored?.metadata.annotations, 'annotations unmutated');

      const sts = await k.create(antflySts(NS.istio, 'down-sts', 'db'));
      t.equal(sts.code, 0, `a StatefulSet of a cluster is admitted\n${show(sts)}`);
      const storedSts = await k.get('statefulset', 'down-sts', NS.istio);
      t.notOk(storedSts?.spec.template.metadata.annotations, 'its template unmutated');

      // The API server did call the mutating webhooks and failed open.
      const metrics = await k.must(['get', '--raw', '/metrics']);
      const failOpen = (name: string) =>
        metrics
          .split('\n')
          .filter((l) => l.startsWith('apiserver_admission_webhook_fail_open_count{') && l.includes(`name="${name}"`))
          .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      t.ok(failOpen(HOOK.podsMutate) >= 1, `apiserver_admission_webhook_fail_open_count for ${HOOK.podsMutate}: ${failOpen(HOOK.podsMutate)}`);
      t.ok(failOpen('workloads.mutate.meshguard.io') >= 1, `apiserver_admission_webhook_fail_open_count for workloads.mutate.meshguard.io: ${failOpen('workloads.mutate.meshguard.io')}`);
    });

    await t.test('back up: objects admitted during the outage can still be updated', async (t) => {
      meshguard = await MeshguardProcess.start({ kubeconfig: cluster.kubeconfigPath, cert });
      await register(shippedWebhookConfigurations(meshguard.port, cert.caPem));
      await untilValidating();
      // down-1 (no proxy in a meshed cluster) slipped in while meshguard was down. A new pod
      // like it is refused, but updating down-1 (labels, finalizers) must stay possible.
      await refusedPod(t, pod(NS.istio, 'down-2', 'db'), 'MG201', [/AntflyCluster e2e-istio\/db/], 'a new unmeshed pod');
      const label = await k.run(['-n', NS.istio, 'label', 'pod/down-1', 'e2e/touched=yes']);
      t.equal(label.code, 0, `a label update of the unmeshed pod is admitted\n${show(label)}`);
      t.match(warningsOf(label.stderr), [/^MG201: /], 'with MG201 as a warning');
      const fin = await k.run(['-n', NS.istio, 'patch', 'pod/down-1', '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: ['e2e.meshguard.dev/hold'] } })]);
      t.equal(fin.code, 0, `adding a finalizer is admitted\n${show(fin)}`);
      const del = await k.run(['-n', NS.istio, 'delete', 'pod/down-1', '--wait=false']);
      t.equal(del.code, 0, `deleting it is admitted\n${show(del)}`);
      const unfin = await k.run(['-n', NS.istio, 'patch', 'pod/down-1', '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: null } })]);
      t.equal(unfin.code, 0, `removing the finalizer of the terminating pod is admitted\n${show(unfin)}`);
      await eventually('down-1 to be gone', async () => (await k.get('pod', 'down-1', NS.istio)) === undefined);
      t.pass('the pod is gone');
    });
  });
});
