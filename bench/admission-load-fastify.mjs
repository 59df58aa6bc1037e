// Two reference points for bench/admission-load.ts, both bare Fastify 5: the same TLS
// settings and certificates as the baseline, Fastify's own JSON body parser, nothing of
// meshguard's server (no body gate, metrics, hooks or log line).
// - Without a fourth argument it answers a fixed "allowed": how much of the gap to the bare
//   node:https baseline the framework alone takes, before any policy work.
// - With `decide` it is the **floor**: its routes run meshguard's real decision, the built
//   policy core's admit() over the same state as the meshguard target (examples/state.yaml,
//   the default configuration), and send its answer. It is the least any server on the
//   decided stack can cost for meshguard's answers, so a target the floor misses cannot be
//   met by trimming meshguard's shell; what meshguard costs above it is the shell's. Needs
//   dist/ (npm run build).
// Usage: node bench/admission-load-fastify.mjs PORT CERT KEY [decide]
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';

const [port, cert, key, mode] = process.argv.slice(2);

/** The floor's route: meshguard's answer, as `meshguard serve --state examples/state.yaml` decides it. */
const deciding = async () => {
  const dist = (m) => import(new URL(`../dist/${m}`, import.meta.url).href);
  const [{ admit }, { StaticClusterView, loadStateFiles }, { DEFAULT_CONFIG }] = await Promise.all([
    dist('policies/admission.js'),
    dist('cli/state-view.js'),
    dist('policies/config.js'),
  ]);
  // What cli/serve.ts and server/webhook-server.ts decide with.
  const view = new StaticClusterView(await loadStateFiles([new URL('../examples/state.yaml', import.meta.url).pathname]));
  await view.start();
  const context = { view, config: DEFAULT_CONFIG };
  return (webhook) => (req, reply) => {
    const { review } = admit(req.body, webhook, context);
    reply.code(review.response.status?.code === 500 ? 500 : 200).send(review);
  };
};

/** The fixed "allowed" every reference server answers. */
const allowing = () => (req, reply) => {
  reply.send({ apiVersion: req.body.apiVersion, kind: 'AdmissionReview', response: { uid: req.body.request?.uid ?? '', allowed: true } });
};

const route = mode === 'decide' ? await deciding() : allowing;
const app = Fastify({
  https: { cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' },
  logger: false,
  bodyLimit: 7 * 1024 * 1024,
  keepAliveTimeout: 100_000,
});
app.post('/mutate', route('mutate'));
app.post('/validate', route('validate'));
app.get('/readyz', (_req, reply) => reply.send('ok\n'));
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
