// A reference point for bench/admission-load.ts: meshguard's own webhook server (Fastify,
// TLS reloader, the per-admission log line at info, the admission metrics) with the policy
// core replaced by a fixed "allowed" answer. Against bare Fastify it shows what the shell
// the server must have costs; against meshguard, what the decision itself costs.
// meshguard logs an allow that changes nothing at debug, but both sample reviews of the
// bench are logged at info (the mutate one is patched, the validate one refused), so the
// shell logs its allows at info too (logAdmissions 'all'): otherwise the line would be in
// the decision's share, not the shell's.
// Needs dist/ (npm run build). Usage: node bench/admission-load-shell.mjs PORT CERT KEY
import { pino } from 'pino';

const [port, cert, key] = process.argv.slice(2);
const dist = (m) => import(new URL(`../dist/${m}`, import.meta.url).href);
const [{ startWebhookServer }, { StaticClusterView }, { DEFAULT_CONFIG }] = await Promise.all([
  dist('server/webhook-server.js'),
  dist('cli/state-view.js'),
  dist('policies/config.js'),
]);

// What admit() returns for an allowed review, with the request facts the log line prints.
const allowAll = (body) => {
  const r = body.request;
  return {
    review: { apiVersion: body.apiVersion, kind: 'AdmissionReview', response: { uid: r.uid, allowed: true } },
    findings: [],
    patchOps: 0,
    request: { uid: r.uid, kind: r.kind?.kind, namespace: r.namespace, name: r.name, operation: r.operation },
    decision: 'allowed',
  };
};

// As `meshguard serve` logs: JSON lines at info, one synchronous write per line.
const logger = pino({ level: 'info' }, pino.destination({ dest: 1, sync: true }));
const server = await startWebhookServer({
  host: '127.0.0.1',
  port: Number(port),
  metricsPort: 0,
  tls: { cert, key },
  certPollMs: 10_000,
  view: new StaticClusterView([]),
  config: DEFAULT_CONFIG,
  logger,
  shutdownGraceMs: 1000,
  drainDelayMs: 0,
  admitFn: allowAll,
  logAdmissions: 'all',
});
process.on('SIGTERM', () => server.shutdown('SIGTERM').then(() => process.exit(0)));
