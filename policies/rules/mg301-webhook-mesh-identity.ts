// MG301: an admission webhook served by meshed pods on a port that refuses clients without
// a mesh identity. The kube-apiserver runs outside the mesh, so every call fails; with
// failurePolicy Fail every request the webhook matches is refused.
import { serviceTargets, servicePorts, webhookServices } from '../index/relations.js';
import type { KubeObject } from '../k8s.js';
import { few, indexFinding, label } from './emit.js';
import { plaintextException, refusedTargets } from './exceptions.js';
import type { IndexFinding, IndexRule } from './types.js';

export const MG301: IndexRule = {
  id: 'MG301',
  severity: 'error',
  title: 'a webhook served by meshed pods on a port the API server cannot reach (STRICT mTLS; Linkerd authenticated/deny default policy)',
  appliesTo: 'webhook configuration',
  reads: ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'Service', 'Pod', 'StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Namespace', 'PeerAuthentication'],
  scope: 'index',
  check(index, ctx) {
    const out: IndexFinding[] = [];
    for (const ws of webhookServices(index)) {
      const svc = ws.service;
      if (!svc) continue;
      const sp = servicePorts(svc).find((p) => p.port === ws.port);
      if (!sp) continue;
      // One finding per webhook: the first group of refused pods is described, every policy involved is related.
      const refused = refusedTargets(index, serviceTargets(index, svc, sp), ctx);
      const first = refused[0];
      if (!first) continue;
      const { refusal, port, pods } = first;
      const policies = refused.flatMap((e) => (e.refusal.mtls?.decidedBy ? [e.refusal.mtls.decidedBy] : []));
      const svcName = `${ws.namespace}/${ws.serviceName}`;
      const consequence =
        ws.failurePolicy === 'Ignore'
          ? 'failurePolicy Ignore: every request it matches goes through unchecked'
          : 'failurePolicy Fail: every request it matches is refused';
      const message =
        `${label(ws.configuration)}: webhook ${ws.webhook} calls Service ${svcName} port ${ws.port}, served on container port ${port} by ` +
        `${few(pods.map((p) => label(p.object)))}, which ${refusal.mesh === 'linkerd' ? 'Linkerd meshes' : refusal.mesh === 'istio-ambient' ? 'Istio ambient meshes' : 'carry the Istio sidecar'}; ` +
        `${refusal.reason}. The kube-apiserver has no mesh identity, so every call to this webhook fails (${consequence}). ` +
        `Fix: ${plaintextException(refusal, pods, port, `${ws.serviceName}-webhook-permissive`)}.`;
      out.push(
        indexFinding(
          'MG301',
          'error',
          ws.configuration,
          ['webhooks', ws.position, 'clientConfig', 'service'],
          message,
          `webhook ${ws.webhook}: Service ${svcName} port ${port} refuses the API server (${refusal.mesh === 'linkerd' ? 'Linkerd policy' : 'STRICT mTLS'})`,
          [svc, ...pods.map((p) => p.object), ...policies] as KubeObject[],
        ),
      );
    }
    return out;
  },
};
