// The floor of bench/admission-load.ts: bare Fastify 5 (exactly as admission-load-fastify.mjs:
// same TLS settings and certificates, Fastify's own JSON body parser) whose routes run
// meshguard's real decision, the built policy core's admit() over the same state as the
// meshguard target (examples/state.yaml, the default configuration), and send its answer.
// Nothing else: no body gate, no metrics, no log line, no hooks. It is the least any server
// on the decided stack (Fastify) can cost for meshguard's answers, so a target this misses
// cannot be met by trimming meshguard's shell; what meshguard costs above it is the shell's.
// Needs dist/ (npm run build). Usage: node bench/admission-load-floor.mjs PORT CERT KEY
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';

const [port, cert, key] = process.argv.slice(2);
const dist = (m) => import(new URL(`../dist/${m}`, import.meta.url).href);
const [{ admit }, { StaticClusterView, loadStateFiles }, { DEFAULT_CONFIG }] = await Promise.all([
  dist('policies/admission.js'),
  dist('cli/state-view.js'),
  dist('policies/config.js'),
]);
// What `meshguard serve --state examples/state.yaml` decides with (cli/serve.ts, server/webhook-server.ts).
const view = new StaticClusterView(await loadStateFiles([new URL('../examples/state.yaml', import.meta.url).pathname]));
await view.start();
const context = { view, config: DEFAULT_CONFIG };

const app = Fastify({
  https: { cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' },
  logger: false,
  bodyLimit: 7 * 1024 * 1024,
  keepAliveTimeout: 100_000,
});
const route = (webhook) => (req, reply) => {
  const { review } = admit(req.body, webhook, context);
  reply.code(review.response.status?.code === 500 ? 500 : 200).send(review);
};
app.post('/mutate', route('mutate'));
app.post('/validate', route('validate'));
app.get('/readyz', (_req, reply) => reply.send('ok\n'));
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
