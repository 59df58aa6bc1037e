// /readyz during startup (cluster view not synced) and during a graceful shutdown, with
// reviews in flight that must still be answered.
import t from 'tap';
import { Agent, request } from 'node:https';
import { ObjectClusterView } from '../../policies/cluster-view.js';
import type { ManagedClusterView, ViewStatus } from '../../server/managed-view.js';
import { call, get, makePki, review, startTestServer, waitFor } from './fixtures/helpers.js';

class SlowView extends ObjectClusterView implements ManagedClusterView {
  synced = false;
  sizes() {
    return { pods: 0 };
  }
  status(): ViewStatus {
    return { objects: this.sizes(), synced: { pods: this.synced }, missing: [] };
  }
  async start() {}
  async stop() {}
}

/** Sends the headers and half the body now; `finish()` sends the rest and resolves with the reply. */
function halfSent(port: number, ca: string, body: string) {
  const bytes = Buffer.from(body);
  let settle!: (v: { status: number; body: string }) => void;
  let fail!: (e: Error) => void;
  const reply = new Promise<{ status: number; body: string }>((res, rej) => {
    settle = res;
    fail = rej;
  });
  const req = request(
    { host: '127.0.0.1', servername: 'localhost', port, path: '/validate', method: 'POST', ca, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(bytes.length) } },
    (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => settle({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    },
  );
  req.on('error', fail);
  req.flushHeaders();
  req.write(bytes.subarray(0, bytes.length >> 1));
  return { finish: () => (req.end(bytes.subarray(bytes.length >> 1)), reply) };
}

t.test('readiness is false until the cluster view has synced', async (t) => {
  const pki = await makePki(t.testdir());
  const view = new SlowView();
  const server = await startTestServer(pki, { view });
  t.teardown(() => server.shutdown('test done'));
  const before = await call(server.port, '/readyz', { ca: pki.ca.cert });
  t.equal(before.status, 503);
  t.match(before.body, /cluster view not synced yet \(waiting for pods\)/);
  t.equal((await get(server.metricsPort!, '/readyz')).status, 503);
  t.equal((await call(server.port, '/healthz', { ca: pki.ca.cert })).status, 200, 'alive all the same');
  const answered = await call(server.port, '/validate', { ca: pki.ca.cert, body: review('v1', 'early', { kind: 'Pod', metadata: { name: 'p' } }) });
  t.equal(answered.status, 200, 'reviews are answered without waiting for the view');
  t.match((await get(server.metricsPort!, '/metrics')).body, /meshguard_cluster_view_synced\{resource="pods"\} 0/);
  view.synced = true;
  t.equal((await call(server.port, '/readyz', { ca: pki.ca.cert })).status, 200);
});

t.test('shutdown: not ready at once, reviews in flight are answered, then the listener closes', async (t) => {
  const pki = await makePki(t.testdir());
  const server = await startTestServer(pki, { drainDelayMs: 300 });
  const ca = pki.ca.cert;
  const bodies = [0, 1, 2].map((i) => review('v1', `in-flight-${i}`, { kind: 'Pod', metadata: { name: `p${i}` } }));
  const inFlight = bodies.map((b) => halfSent(server.port, ca, b));
  // The server has the headers of all three before shutdown begins: each has reserved its
  // Content-Length in the body budget (a fixed sleep here raced the TLS handshakes on a
  // loaded machine, and a request arriving after shutdown began is rightly refused).
  const total = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0);
  await waitFor(async () => new RegExp(`meshguard_admission_body_bytes_in_flight ${total}\\b`).test((await get(server.metricsPort!, '/metrics')).body), 'the headers of all three reviews');
  const done = server.shutdown('test');
  t.equal(server.readiness.notReadyReason(), 'shutting down');
  const probe = await get(server.metricsPort!, '/readyz');
  t.equal(probe.status, 503, 'not ready while draining');
  t.match(probe.body, /shutting down/);
  const replies = await Promise.all(inFlight.map((r) => r.finish()));
  for (const [i, r] of replies.entries()) {
    t.equal(r.status, 200, `in-flight review ${i} answered`);
    t.equal(JSON.parse(r.body).response.uid, `in-flight-${i}`);
  }
  t.equal(await done, 'clean');
  await t.rejects(call(server.port, '/healthz', { ca }), { code: 'ECONNREFUSED' }, 'no new connections after shutdown');
});

t.test('while draining, every answer on a keep-alive connection asks the client to close it', async (t) => {
  const pki = await makePki(t.testdir());
  const server = await startTestServer(pki, { drainDelayMs: 2000 });
  const ca = pki.ca.cert;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const body = review('v1', 'drain', { kind: 'Pod', metadata: { name: 'p' } });
  const before = await call(server.port, '/validate', { ca, body, agent });
  t.equal(before.status, 200);
  t.not(before.headers.connection, 'close', 'kept alive before the drain');
  const done = server.shutdown('test');
  for (const path of ['/validate', '/healthz', '/no-such-route']) {
    const r = await call(server.port, path, { ca, agent, ...(path === '/validate' ? { body } : {}) });
    t.equal(r.status, path === '/no-such-route' ? 404 : 200, path);
    t.equal(r.headers.connection, 'close', `${path} asks the client to close`);
  }
  t.equal(await done, 'clean');
});

t.test('shutdown gives up when the grace period is over', async (t) => {
  const pki = await makePki(t.testdir());
  const server = await startTestServer(pki, { shutdownGraceMs: 300 });
  const body = review('v1', 'never-finished', { kind: 'Pod' });
  const stuck = halfSent(server.port, pki.ca.cert, body);
  // In flight once its headers are in (its Content-Length reserved), not after a fixed sleep.
  await waitFor(async () => new RegExp(`meshguard_admission_body_bytes_in_flight ${Buffer.byteLength(body)}\\b`).test((await get(server.metricsPort!, '/metrics')).body), 'the stuck review in flight');
  t.equal(await server.shutdown('test'), 'timeout');
  stuck.finish().catch(() => {});
});
