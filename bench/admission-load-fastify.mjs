// Two reference points for bench/admission-load.ts, both bare Fastify 5: the same TLS
// settings and certificates as the baseline, Fastify's own JSON body parser, none of
// meshguard's server (no body gate, metrics or hooks).
// - Without a fourth argument it answers a fixed "allowed": how much of the gap to the bare
//   node:https baseline the framework alone takes, before any policy work.
// - With `decide` it is the **floor**: its routes run meshguard's real decision, the built
//   policy core's admit() over the same state as the meshguard target (examples/state.yaml,
//   the default configuration), write the one log line meshguard must write for it (the
//   admission line of a review that patches, warns or refuses, as `meshguard serve` writes
//   it: pino, JSON at info, synchronously to stdout), and send its answer. It is the least
//   any server on the decided stack can cost for meshguard's answers and log, so a target
//   the floor misses cannot be met by trimming meshguard's shell; what meshguard costs
//   above it is the shell's (body gate, metrics, hooks). Needs dist/ (npm run build).
// Usage: node bench/admission-load-fastify.mjs PORT CERT KEY [decide]
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';

const [port, cert, key, mode] = process.argv.slice(2);

/** The floor's route: meshguard's answer, as `meshguard serve --state examples/state.yaml` decides it. */
const deciding = async () => {
  const dist = (m) => import(new URL(`../dist/${m}`, import.meta.url).href);
  const [{ admit }, { StaticClusterView, loadStateFiles }, { DEFAULT_CONFIG }, { logReview, requestTimeoutSeconds }, { pino }] = await Promise.all([
    dist('policies/admission.js'),
    dist('cli/state-view.js'),
    dist('policies/config.js'),
    dist('server/admission-routes.js'),
    import('pino'),
  ]);
  // What cli/serve.ts and server/webhook-server.ts decide and log with.
  const view = new StaticClusterView(await loadStateFiles([new URL('../examples/state.yaml', import.meta.url).pathname]));
  await view.start();
  const context = { view, config: DEFAULT_CONFIG };
  const logger = pino({ level: 'info' }, pino.destination({ dest: 1, sync: true })).child({ component: 'admission' });
  return (webhook) => (req, reply) => {
    const started = process.hrtime.bigint();
    const outcome = admit(req.body, webhook, context);
    logReview(logger, webhook, outcome, Number(process.hrtime.bigint() - started) / 1e9, requestTimeoutSeconds(req.query), false);
    const { review } = outcome;
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
