// An operator's admission webhook served by ambient-enrolled pods, the situation MG301 is
// about. The e2e tests that show MG301 (analyze, the rollout guide, admission warnings)
// build it from here.
import type { Doc } from './webhook-env.js';

/**
 * The namespace (ambient), the operator's pod and Service, and a ValidatingWebhookConfiguration
 * calling it. The webhook's rule names a resource nothing in the tests writes, so the API
 * server never actually calls it.
 */
export const operatorWebhook = (namespace: string): Doc[] => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'istio.io/dataplane-mode': 'ambient' } } },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'operator-0', namespace, labels: { app: 'operator' } },
    spec: { containers: [{ name: 'manager', image: 'example.invalid/operator:1', ports: [{ name: 'webhook', containerPort: 9443 }] }] },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'operator-webhook', namespace }, spec: { selector: { app: 'operator' }, ports: [{ port: 443, targetPort: 'webhook' }] } },
  {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'operator-validating' },
    webhooks: [
      {
        name: 'widgets.example.com',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        clientConfig: { service: { name: 'operator-webhook', namespace, path: '/validate' } },
        rules: [{ apiGroups: ['example.com'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['widgets'] }],
      },
    ],
  },
];

/** A namespace-wide STRICT PeerAuthentication: the API server, outside the mesh, can no longer reach the webhook. */
export const strictPeerAuthentication = (name: string, namespace: string): Doc => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name, namespace },
  spec: { mtls: { mode: 'STRICT' } },
});

/** The fix MG301's message gives: a port-level PERMISSIVE exception for the webhook port. */
export const webhookPortException = (namespace: string): Doc => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name: 'operator-webhook-permissive', namespace },
  spec: { selector: { matchLabels: { app: 'operator' } }, portLevelMtls: { '9443': { mode: 'PERMISSIVE' } } },
});
