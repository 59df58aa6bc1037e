// The e2e harness itself: a real etcd + kube-apiserver come up, serve the core API,
// CRDs and kubectl, survive an apiserver restart with their data, and go away on stop().
// Needs the binaries from test/e2e/build.sh (`make e2e`).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import * as k8s from '@kubernetes/client-node';
import t from 'tap';

import { startCluster, type TestCluster } from './lib/cluster.js';

const run = promisify(execFile);

// Starting a control plane takes a while on 2 cores; this is a budget, not an assertion.
t.setTimeout(5 * 60_000);

const NS = 'e2e-harness';
const CRD_GROUP = 'e2e.meshguard.dev';
const CRD_PLURAL = 'widgets';

const widgetCrd: k8s.V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${CRD_PLURAL}.${CRD_GROUP}` },
  spec: {
    group: CRD_GROUP,
    scope: 'Namespaced',
    names: { plural: CRD_PLURAL, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } },
            },
          },
        },
      },
    ],
  },
};

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test('a real kube-apiserver + etcd', async (t) => {
  const cluster: TestCluster = await startCluster({ log: (m) => t.comment(m) });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await cluster.stop();
  });

  t.match(cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/, 'apiserver listens on loopback');
  t.match(cluster.caPem, /-----BEGIN CERTIFICATE-----/, 'CA PEM exposed');
  t.equal(cluster.kubeConfig.getCurrentCluster()?.server, cluster.server, 'KubeConfig points at the apiserver');

  const core = () => cluster.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const ext = () => cluster.kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  const custom = () => cluster.kubeConfig.makeApiClient(k8s.CustomObjectsApi);

  await t.test('namespace and ConfigMap', async (t) => {
    const ns = await core().createNamespace({ body: { metadata: { name: NS, labels: { 'meshguard.dev/e2e': 'true' } } } });
    t.equal(ns.metadata?.name, NS);
    const cm = await core().createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'settings' }, data: { mesh: 'istio', raftPort: '9017' } },
    });
    t.ok(cm.metadata?.uid, 'ConfigMap stored with a uid');
    // No ServiceAccount controller runs, and the ServiceAccount admission plugin is off,
    // so a Pod without a `default` ServiceAccount is admitted (it just stays Pending).
    const pod = await core().createNamespacedPod({
      namespace: NS,
      body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'example.invalid/none:1' }] } },
    });
    t.equal(pod.status?.phase, 'Pending', 'pod admitted without a ServiceAccount');
  });

  await t.test('CRD becomes Established and serves objects', async (t) => {
    await ext().createCustomResourceDefinition({ body: widgetCrd });
    const established = await waitUntil('CRD Established', async () => {
      const crd = await ext().readCustomResourceDefinition({ name: `${CRD_PLURAL}.${CRD_GROUP}` });
      return crd.status?.conditions?.find((c) => c.type === 'Established' && c.status === 'True');
    });
    t.equal(established.status, 'True', 'Established condition is True');
    // The Established condition can precede the REST endpoint by a moment: retry the create.
    const created = await waitUntil('custom resource endpoint', async () =>
      custom().createNamespacedCustomObject({
        group: CRD_GROUP,
        version: 'v1',
        namespace: NS,
        plural: CRD_PLURAL,
        body: { apiVersion: `${CRD_GROUP}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
      }),
    );
    t.match(created, { metadata: { name: 'w1' }, spec: { size: 3 } });
    await t.rejects(
      custom().createNamespacedCustomObject({
        group: CRD_GROUP,
        version: 'v1',
        namespace: NS,
        plural: CRD_PLURAL,
        body: { apiVersion: `${CRD_GROUP}/v1`, kind: 'Widget', metadata: { name: 'w0' }, spec: { size: 0 } },
      }),
      { code: 422 },
      'the CRD schema is enforced',
    );
  });

  await t.test('kubectl works with the kubeconfig', async (t) => {
    const { stdout } = await run(
      'kubectl',
      ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', path.join(cluster.dir, 'kubectl-cache'), 'get', 'ns', '-o', 'name'],
      { timeout: 60_000 },
    );
    const names = stdout.trim().split('\n');
    t.ok(names.includes(`namespace/${NS}`), 'our namespace is listed');
    t.ok(names.includes('namespace/kube-system'), 'system namespaces are bootstrapped');
    const widgets = await run('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', path.join(cluster.dir, 'kubectl-cache'), '-n', NS, 'get', 'widgets', '-o', 'name'], {
      timeout: 60_000,
    });
    t.equal(widgets.stdout.trim(), `widget.${CRD_GROUP}/w1`, 'kubectl sees the custom resource');
  });

  await t.test('data persists across an apiserver restart', async (t) => {
    await cluster.restartApiServer();
    const cm = await waitUntil('ConfigMap after restart', () => core().readNamespacedConfigMap({ name: 'settings', namespace: NS }));
    t.same(cm.data, { mesh: 'istio', raftPort: '9017' }, 'ConfigMap data survived');
    const w = await waitUntil('Widget after restart', () =>
      custom().getNamespacedCustomObject({ group: CRD_GROUP, version: 'v1', namespace: NS, plural: CRD_PLURAL, name: 'w1' }),
    );
    t.match(w, { spec: { size: 3 } }, 'custom resource survived');
    const ns = await core().readNamespace({ name: NS });
    t.equal(ns.metadata?.labels?.['meshguard.dev/e2e'], 'true', 'namespace survived');
  });

  await t.test('stop() tears everything down', async (t) => {
    const dir = cluster.dir;
    await cluster.stop();
    stopped = true;
    if (process.env.MESHGUARD_E2E_KEEP_TMP === '1') t.ok(fs.existsSync(dir), 'temporary directory kept (MESHGUARD_E2E_KEEP_TMP=1)');
    else t.notOk(fs.existsSync(dir), 'temporary directory removed');
    await t.rejects(core().readNamespace({ name: NS }), 'apiserver no longer answers');
    await cluster.stop();
    t.pass('stop() is idempotent');
  });
});
