// What a hostile or broken client can send to /mutate and /validate, over real HTTPS:
// every answer that can be an AdmissionReview is one (with the request's uid wherever it
// is readable), a client fault is never a 5xx, and slow or silent clients are cut off.
import t, { type Test } from 'tap';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Agent } from 'node:https';
import { call, get, makePki, review, startTestServer, waitFor } from './fixtures/helpers.js';

const pki = await makePki(t.testdir());
const server = await startTestServer(pki);
t.teardown(() => server.shutdown('test done'));
const ca = pki.ca.cert;
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain', namespace: 'default' }, spec: { containers: [{ name: 'app' }] } };

/** An AdmissionReview answer: kind, apiVersion and the uid it must echo. */
const isReview = (t: Test, body: string, uid: string) => {
  const r = JSON.parse(body);
  t.equal(r.kind, 'AdmissionReview', 'an AdmissionReview');
  t.equal(r.apiVersion, 'admission.k8s.io/v1');
  t.equal(r.response?.uid, uid, `uid ${JSON.stringify(uid)}`);
  t.equal(r.response?.allowed, false);
  return r.response;
};

t.test('a value nested 10,000 levels deep is one AdmissionReview error (code 400), not HTTP 500', async (t) => {
  const deep = '['.repeat(10_000) + '"x"' + ']'.repeat(10_000);
  const body = review('v1', 'deep', { ...pod, metadata: { name: 'PLACEHOLDER', namespace: 'default' } }).replace('"PLACEHOLDER"', deep);
  for (const webhook of ['mutate', 'validate']) {
    const r = await call(server.port, `/${webhook}`, { ca, body });
    t.equal(r.status, 200, webhook);
    const res = isReview(t, r.body, 'deep');
    t.equal(res.status.code, 400);
    t.match(res.status.message, /nested deeper than 100/);
  }
});

t.test('__proto__ and constructor.prototype keys are data, answered as AdmissionReviews', async (t) => {
  const bodies = [
    review('v1', 'proto-1', pod).replace('"metadata":{', '"metadata":{"__proto__":{"polluted":"yes"},'),
    review('v1', 'proto-2', pod).replace('"metadata":{', '"metadata":{"labels":{"__proto__":"x","a":"b"},'),
    review('v1', 'proto-3', pod).replace('"request":{', '"request":{"constructor":{"prototype":{"polluted":"yes"}},'),
    JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'proto-4' } }).replace('{', '{"__proto__":{"kind":"x"},'),
  ];
  for (const [i, body] of bodies.entries()) {
    for (const webhook of ['mutate', 'validate']) {
      const r = await call(server.port, `/${webhook}`, { ca, body });
      t.equal(r.status, 200, `${webhook} body ${i + 1}`);
      const a = JSON.parse(r.body);
      t.equal(a.kind, 'AdmissionReview');
      t.equal(a.response.uid, `proto-${i + 1}`);
    }
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
});

t.test('an invalid envelope echoes the uid it can read', async (t) => {
  const bodies: [string, string][] = [
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'Nope', request: { uid: 'u-kind' } }), 'u-kind'],
    [JSON.stringify({ kind: 'AdmissionReview', request: { uid: 'u-version' } }), 'u-version'],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-op' } }), 'u-op'],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: { big: 'x'.repeat(1_000_000) }, request: { uid: 'u-big' } }), 'u-big'],
  ];
  for (const [body, uid] of bodies) {
    const r = await call(server.port, '/validate', { ca, body });
    t.equal(r.status, 200);
    const res = isReview(t, r.body, uid);
    t.equal(res.status.code, 400);
    t.ok(r.body.length < 2_000, 'the message quotes the request, not all of it');
  }
});

t.test('transport-level refusals are AdmissionReviews too (no uid is readable there)', async (t) => {
  const cases: [string, Record<string, string>, string | Buffer, number][] = [
    ['invalid JSON', {}, '{"apiVersion": ', 400],
    ['empty body', {}, '', 400],
    ['text/plain', { 'content-type': 'text/plain' }, '{}', 415],
    ['too large', {}, Buffer.alloc(7 * 1024 * 1024 + 1, 0x20), 413],
    ['invalid UTF-8', {}, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 400],
  ];
  for (const [what, headers, body, status] of cases) {
    const r = await call(server.port, '/mutate', { ca, body, headers });
    t.equal(r.status, status, what);
    t.match(r.headers['content-type'], /application\/json/, what);
    isReview(t, r.body, '');
  }
});

t.test('charsets other than UTF-8 and every Content-Encoding get 415', async (t) => {
  const body = review('v1', 'cs', pod);
  for (const type of ['application/json; charset=utf-16', 'application/json; charset=iso-8859-1', 'application/json;charset="utf-32"']) {
    const r = await call(server.port, '/validate', { ca, body, headers: { 'content-type': type } });
    t.equal(r.status, 415, type);
    t.match(JSON.parse(r.body).response.status.message, /charset/);
  }
  for (const type of ['application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset="utf-8"']) {
    const r = await call(server.port, '/validate', { ca, body, headers: { 'content-type': type } });
    t.equal(r.status, 200, type);
  }
  for (const encoding of ['gzip', 'deflate', 'br', 'x-unknown', 'gzip, identity']) {
    const r = await call(server.port, '/validate', { ca, body, headers: { 'content-encoding': encoding } });
    t.equal(r.status, 415, encoding);
    t.match(JSON.parse(r.body).response.status.message, /Content-Encoding/);
  }
  t.equal((await call(server.port, '/validate', { ca, body, headers: { 'content-encoding': 'identity' } })).status, 200, 'identity is no encoding');
});

t.test('TLS: 1.2 only with ECDHE and AEAD ciphers; 1.3 accepted', async (t) => {
  for (const ciphers of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'AES128-GCM-SHA256', 'AES256-SHA']) {
    const agent = new Agent({ maxVersion: 'TLSv1.2', ciphers });
    await t.rejects(call(server.port, '/healthz', { ca, agent }), `${ciphers} refused`);
  }
  for (const ciphers of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    const agent = new Agent({ maxVersion: 'TLSv1.2', ciphers });
    t.equal((await call(server.port, '/healthz', { ca, agent })).status, 200, `${ciphers} accepted`);
  }
  t.equal((await call(server.port, '/healthz', { ca, agent: new Agent({ minVersion: 'TLSv1.3' }) })).status, 200, 'TLS 1.3');
});

t.test('tlsMinVersion 1.3 refuses TLS 1.2 clients', async (t) => {
  const pki13 = await makePki(t.testdir());
  const s = await startTestServer(pki13, { tls: { cert: pki13.certFile, key: pki13.keyFile, minVersion: '1.3' } });
  t.teardown(() => s.shutdown('test done'));
  await t.rejects(call(s.port, '/healthz', { ca: pki13.ca.cert, agent: new Agent({ maxVersion: 'TLSv1.2' }) }));
  t.equal((await call(s.port, '/healthz', { ca: pki13.ca.cert })).status, 200);
  // A reload keeps the profile: the reloaded context must still refuse TLS 1.2.
  await s.reloader.check();
  await t.rejects(call(s.port, '/healthz', { ca: pki13.ca.cert, agent: new Agent({ maxVersion: 'TLSv1.2' }) }));
});

/** Resolves when the server closes the socket (the test's own timeout bounds the wait). */
const closed = (socket: import('node:net').Socket): Promise<void> => new Promise((resolve) => socket.once('close', () => resolve()));

t.test('a TCP connection that never starts TLS is closed by the handshake timeout', async (t) => {
  const pkiT = await makePki(t.testdir());
  const s = await startTestServer(pkiT, { handshakeTimeoutMs: 300 });
  t.teardown(() => s.shutdown('test done'));
  const socket = netConnect({ host: '127.0.0.1', port: s.port });
  socket.on('error', () => {});
  await closed(socket);
  t.pass('closed by the server');
});

t.test('a never-ending chunked body is cut off by the request timeout', async (t) => {
  const pkiT = await makePki(t.testdir());
  const s = await startTestServer(pkiT, { requestTimeoutMs: 500 });
  t.teardown(() => s.shutdown('test done'));
  const socket = tlsConnect({ host: '127.0.0.1', port: s.port, servername: 'localhost', ca: pkiT.ca.cert });
  socket.on('error', () => {});
  await new Promise((r) => socket.once('secureConnect', r));
  socket.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
  const drip = setInterval(() => socket.write('1\r\n \r\n'), 50);
  let answer = '';
  socket.on('data', (d) => (answer += String(d)));
  await closed(socket);
  clearInterval(drip);
  t.match(answer, /^(HTTP\/1\.1 408|$)/, 'a 408 or a closed connection, never an answer to a body that did not end');
});

t.test('request bodies wait for a memory budget instead of piling up', async (t) => {
  const pkiB = await makePki(t.testdir());
  const s = await startTestServer(pkiB, { bodyBudgetBytes: 1_000 });
  t.teardown(() => s.shutdown('test done'));
  const body = review('v1', 'budget', pod);
  const padded = body + ' '.repeat(900 - body.length);
  // A holds 900 bytes of the budget: its body never completes until we say so.
  const a = tlsConnect({ host: '127.0.0.1', port: s.port, servername: 'localhost', ca: pkiB.ca.cert });
  a.on('error', () => {});
  await new Promise((r) => a.once('secureConnect', r));
  a.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${padded.length}\r\n\r\n`);
  a.write(padded.slice(0, 100));
  await waitFor(async () => /meshguard_admission_body_bytes_in_flight 900/.test((await get(s.metricsPort!, '/metrics')).body), 'A to hold its share');
  // B needs 900 more: it waits until A is done.
  const b = call(s.port, '/validate', { ca: pkiB.ca.cert, body: padded });
  await waitFor(async () => /meshguard_admission_requests_waiting 1/.test((await get(s.metricsPort!, '/metrics')).body), 'B to wait');
  let aAnswer = '';
  a.on('data', (d) => (aAnswer += String(d)));
  a.end(padded.slice(100));
  const rb = await b;
  t.equal(rb.status, 200, 'B answered once A was done');
  t.equal(JSON.parse(rb.body).response.uid, 'budget');
  await waitFor(() => /"uid":"budget"/.test(aAnswer), 'A answered');
  await waitFor(async () => /meshguard_admission_body_bytes_in_flight 0/.test((await get(s.metricsPort!, '/metrics')).body), 'the budget to be free again');
});
