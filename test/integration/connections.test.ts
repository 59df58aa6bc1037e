// meshguard_tls_connections_total over real HTTPS: it is how an operator tells whether the
// API server reuses its connections to the webhook (one handshake for many reviews) or opens
// one per review, and in which protocol it talks.
import t from 'tap';
import { Agent } from 'node:https';
import { call, makePki, review, startTestServer } from './fixtures/helpers.js';

const pki = await makePki(t.testdir());
const server = await startTestServer(pki);
t.teardown(() => server.shutdown('test done'));
const ca = pki.ca.cert;

/** The counter's samples as `protocol/resumed` -> value. */
const connections = async (): Promise<Record<string, number>> => {
  const metric = await server.metrics.registry.getSingleMetric('meshguard_tls_connections_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [`${v.labels.protocol}/${v.labels.resumed}`, v.value]));
};
const validate = (agent: Agent, uid: string) => call(server.port, '/validate', { ca, agent, body: review('v1', uid, { kind: 'Pod', metadata: { name: 'p' } }) });

t.test('reviews over one keep-alive connection count one connection, by its ALPN protocol', async (t) => {
  const before = await connections();
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ALPNProtocols: ['http/1.1'] });
  t.teardown(() => agent.destroy());
  for (let i = 0; i < 3; i++) t.equal((await validate(agent, `keep-${i}`)).status, 200);
  const after = await connections();
  t.equal((after['http/1.1/false'] ?? 0) - (before['http/1.1/false'] ?? 0), 1, 'one new http/1.1 connection for three reviews');
});

t.test('a client that offers no ALPN protocol is counted as "none"; a resumed session as resumed', async (t) => {
  const before = await connections();
  // No keep-alive: each request its own connection. Node's agent keeps the TLS session it
  // was given and offers it on the next connection, which the server resumes.
  const agent = new Agent({ keepAlive: false, maxCachedSessions: 10 });
  t.teardown(() => agent.destroy());
  for (let i = 0; i < 3; i++) t.equal((await validate(agent, `fresh-${i}`)).status, 200);
  const after = await connections();
  const added = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
  t.equal(added('none/false') + added('none/true'), 3, 'three connections without ALPN');
  t.ok(added('none/true') >= 1, 'later connections resumed the first one\'s session');
});
