// A reference point for bench/admission-load.ts: Fastify 5 with nothing of meshguard in it.
// Same TLS settings and certificates as the baseline, Fastify's own JSON body parser, a
// fixed "allowed" answer. It shows how much of the gap to the bare node:https baseline the
// framework alone takes, before any policy work.
// Usage: node bench/admission-load-fastify.mjs PORT CERT KEY
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';

const [port, cert, key] = process.argv.slice(2);
const app = Fastify({
  https: { cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' },
  logger: false,
  bodyLimit: 7 * 1024 * 1024,
  keepAliveTimeout: 100_000,
});
const answer = (req, reply) => {
  reply.send({ apiVersion: req.body.apiVersion, kind: 'AdmissionReview', response: { uid: req.body.request?.uid ?? '', allowed: true } });
};
app.post('/mutate', answer);
app.post('/validate', answer);
app.get('/readyz', (_req, reply) => reply.send('ok\n'));
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
