// analysis.admissionWarnings over real HTTPS: the webhook server with an informer view of a
// small fake API server that also serves Services, NetworkPolicies, PeerAuthentications and
// webhook configurations. A STRICT PeerAuthentication over a webhook's meshed Service is
// allowed with the MG301 warning; the extra kinds are watched (stripped) only with the
// option on, every pod is watched, and an analysed kind that cannot be listed (RBAC
// missing) never holds readiness back: the writes are then allowed without warnings.
import t from 'tap';
import { createServer, type ServerResponse } from 'node:http';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type PolicyConfig } from '../../policies/config.js';
import { InformerClusterView, LIST_PAGE_SIZE } from '../../server/informer-view.js';
import { answerListOrWatch, listenUntilTeardown, answerStatus, call, kubeConfigOf, makePki, review, startTestServer, waitFor } from './fixtures/helpers.js';

const NS = 'hooks';
const ON: PolicyConfig = { ...DEFAULT_CONFIG, analysis: { admissionWarnings: true } };
const LAST_APPLIED = { 'kubectl.kubernetes.io/last-applied-configuration': '{"a":"' + 'x'.repeat(500) + '"}' };

const list = (items: unknown[]) => ({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '10' }, items });
const lists: Record<string, () => unknown> = {
  '/api/v1/namespaces': () => list([{ metadata: { name: NS, labels: { 'istio.io/dataplane-mode': 'ambient' }, resourceVersion: '3' } }]),
  '/api/v1/pods': () =>
    list([
      {
        metadata: { name: 'operator-0', namespace: NS, resourceVersion: '4', labels: { app: 'operator' } },
        spec: { containers: [{ name: 'manager', image: 'op:1', ports: [{ name: 'webhook', containerPort: 9443 }] }] },
        status: { phase: 'Running' },
      },
    ]),
  '/api/v1/services': () =>
    list([
      {
        metadata: { name: 'operator-webhook', namespace: NS, resourceVersion: '5', annotations: LAST_APPLIED },
        spec: { selector: { app: 'operator' }, ports: [{ port: 443, targetPort: 'webhook', protocol: 'TCP' }], clusterIP: '10.0.0.9', sessionAffinity: 'None' },
        status: { loadBalancer: {} },
      },
    ]),
  '/apis/networking.k8s.io/v1/networkpolicies': () => list([]),
  '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations': () => list([]),
  '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations': () =>
    list([
      {
        metadata: { name: 'operator-validating', resourceVersion: '6' },
        webhooks: [
          {
            name: 'widgets.example.com',
            failurePolicy: 'Fail',
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            clientConfig: { service: { name: 'operator-webhook', namespace: NS, path: '/validate', port: 443 }, caBundle: 'Q'.repeat(1500) },
            rules: [{ apiGroups: ['example.com'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['widgets'] }],
          },
        ],
      },
    ]),
  '/apis/security.istio.io/v1/peerauthentications': () => list([]),
};

const requests: string[] = [];
const watchers: ServerResponse[] = [];
/** Paths answered 403, as an API server does for a ClusterRole without the rule. */
const forbidden = new Set<string>();

const apiserver = createServer((req, res) => {
  const url = new URL(req.url!, 'http://x');
  requests.push(`${url.pathname}?${url.searchParams.toString()}`);
  if (forbidden.has(url.pathname)) {
    answerStatus(res, 403, 'Forbidden');
    return;
  }
  const make = lists[url.pathname];
  if (!make) {
    answerStatus(res, 404, 'NotFound');
    return;
  }
  answerListOrWatch(url, res, make, (w) => watchers.push(w));
});
await listenUntilTeardown(t, apiserver, () => watchers);

const kubeConfig = kubeConfigOf(apiserver);
const viewOf = (analysis: boolean) =>
  new InformerClusterView({ kubeConfig, profiles: DEFAULT_CONFIG.profiles, logger: pino({ level: 'silent' }), retryMs: 50, missingCrdRetryMs: 200, analysis });

const pki = await makePki(t.testdir());
const strict = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'hooks-strict', namespace: NS }, spec: { mtls: { mode: 'STRICT' } } };
const paReview = (uid: string) =>
  review('v1', uid, strict, { kind: { group: 'security.istio.io', version: 'v1', kind: 'PeerAuthentication' }, resource: { group: 'security.istio.io', version: 'v1', resource: 'peerauthentications' }, namespace: NS, name: 'hooks-strict' });

t.test('on: a STRICT PeerAuthentication over the webhook Service is allowed with the MG301 warning', async (t) => {
  const view = viewOf(true);
  const server = await startTestServer(pki, { view, config: ON });
  t.teardown(() => server.shutdown('test done'));
  await waitFor(() => view.analysis() !== undefined, 'the analysed kinds to sync');

  t.ok(requests.includes(`/api/v1/pods?limit=${LIST_PAGE_SIZE}`), 'every pod is watched (no label selector)');
  for (const path of Object.keys(lists)) t.ok(requests.some((r) => r.startsWith(`${path}?`)), `lists ${path}`);
  const svc = view.get('Service', NS, 'operator-webhook');
  t.same(svc, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'operator-webhook', namespace: NS, resourceVersion: '5' },
    spec: { selector: { app: 'operator' }, ports: [{ port: 443, targetPort: 'webhook', protocol: 'TCP' }] },
  }, 'Services are stripped to selector and ports (no annotations)');
  t.same(view.list('ValidatingWebhookConfiguration')[0]?.webhooks, [
    { name: 'widgets.example.com', failurePolicy: 'Fail', clientConfig: { service: { name: 'operator-webhook', namespace: NS, path: '/validate', port: 443 } } },
  ], 'webhook configurations keep name, failurePolicy and the Service reference (no caBundle)');

  const r = await call(server.port, '/validate?timeout=5s', { ca: pki.ca.cert, body: paReview('uid-pa') });
  t.equal(r.status, 200);
  const res = r.json().response;
  t.equal(res.allowed, true);
  t.equal(res.uid, 'uid-pa');
  t.equal(res.warnings?.length, 1);
  t.match(res.warnings?.[0], /^MG301: webhook widgets\.example\.com: Service hooks\/operator-webhook port 9443 refuses the API server/);
  const metrics = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  t.match(metrics, /meshguard_admission_findings_total\{[^}]*rule="MG301"[^}]*\} 1/, 'counted as a finding');
});

t.test('off: no extra kinds, target pods only, and a PeerAuthentication is not judged', async (t) => {
  requests.length = 0;
  const view = viewOf(false);
  const server = await startTestServer(pki, { view, config: DEFAULT_CONFIG });
  t.teardown(() => server.shutdown('test done'));
  await waitFor(() => view.synced, 'the view to sync');
  t.notOk(requests.some((r) => /services|networkpolicies|webhookconfigurations|peerauthentications/.test(r)), 'the analysed kinds are not listed');
  t.notOk(requests.includes('/api/v1/pods?'), 'never all pods');
  t.equal(view.analysis(), undefined);
  const r = await call(server.port, '/validate', { ca: pki.ca.cert, body: paReview('uid-off') });
  t.equal(r.json().response.allowed, true);
  t.equal(r.json().response.warnings, undefined);
});

t.test('an analysed kind that cannot be listed: ready anyway, writes allowed without warnings', async (t) => {
  forbidden.add('/api/v1/services');
  t.teardown(() => forbidden.delete('/api/v1/services'));
  const view = viewOf(true);
  const server = await startTestServer(pki, { view, config: ON });
  t.teardown(() => server.shutdown('test done'));
  await waitFor(() => view.synced, 'the cluster view to sync');
  const ready = await call(server.port, '/readyz', { ca: pki.ca.cert });
  t.equal(ready.status, 200, 'readiness does not wait for the analysed kinds');
  t.equal(view.analysis(), undefined, 'no index while Services are unknown');
  const r = await call(server.port, '/validate', { ca: pki.ca.cert, body: paReview('uid-403') });
  t.equal(r.json().response.allowed, true);
  t.equal(r.json().response.warnings, undefined, 'nothing said from a partial index');
});
