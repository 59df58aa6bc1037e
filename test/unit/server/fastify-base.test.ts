// The Fastify options all meshguard listeners share: no JSON-schema compilers loaded.
import Fastify from 'fastify';
import { createRequire } from 'node:module';
import { pino } from 'pino';
import t from 'tap';
import { baseFastifyOptions } from '../../../server/fastify-base.js';

const silent = pino({ level: 'silent' });
const loaded = (pattern: RegExp) => Object.keys(createRequire(import.meta.url).cache).filter((p) => pattern.test(p));

t.test('routes without schemas serve, and no schema compiler is loaded', async (t) => {
  const app = Fastify(baseFastifyOptions(silent));
  app.post('/x', async (req) => ({ got: (req.body as { a: number }).a }));
  app.get('/y', async () => ({ ok: true }));
  await app.ready();
  t.same((await app.inject({ method: 'POST', url: '/x', payload: { a: 1 } })).json(), { got: 1 });
  t.same((await app.inject({ method: 'GET', url: '/y' })).json(), { ok: true });
  t.equal((await app.inject({ method: 'POST', url: '/x', headers: { 'content-type': 'application/json' }, payload: '{' })).statusCode, 400);
  // A plain Fastify instance would have loaded both compilers by now (about 3.5 MB
  // resident); Fastify's own error serializer is a small part of fast-json-stringify.
  t.same(loaded(/node_modules\/(ajv|@fastify\/ajv-compiler|@fastify\/fast-json-stringify-compiler)\/|fast-json-stringify\/index\.js$/), []);
  await app.close();
});

t.test('a route that declares a schema is refused at startup, with the reason', async (t) => {
  const app = Fastify(baseFastifyOptions(silent));
  app.post('/x', { schema: { body: { type: 'object' } } }, async () => 'ok');
  await t.rejects(async () => void (await app.ready()), /meshguard routes declare no JSON schemas/);
  const out = Fastify(baseFastifyOptions(silent));
  out.get('/z', { schema: { response: { 200: { type: 'object' } } } }, async () => ({}));
  await t.rejects(async () => void (await out.ready()), /meshguard routes declare no JSON schemas/);
});
