// --client-ca: peers without a certificate of that CA are refused during the handshake.
import t from 'tap';
import { createCA, issueCertificate } from '../../certs/dev-ca.js';
import { call, get, makePki, review, startTestServer } from './fixtures/helpers.js';

const pki = await makePki(t.testdir());
const clientCa = await createCA('client CA');
const otherCa = await createCA('someone else');
const { writeFile } = await import('node:fs/promises');
const clientCaFile = `${pki.dir}/client-ca.crt`;
await writeFile(clientCaFile, clientCa.cert);
const server = await startTestServer(pki, { tls: { cert: pki.certFile, key: pki.keyFile, clientCa: clientCaFile } });
t.teardown(() => server.shutdown('test done'));
const ca = pki.ca.cert;
const body = review('v1', 'client-auth', { kind: 'Pod', metadata: { name: 'p' } });

t.test('no client certificate: refused at the handshake', async (t) => {
  await t.rejects(call(server.port, '/validate', { ca, body }), { message: /certificate|alert|socket hang up|ECONNRESET/ });
});

t.test('a client certificate of another CA: refused', async (t) => {
  const stranger = await issueCertificate(otherCa, { commonName: 'kube-apiserver', usage: 'client' });
  await t.rejects(call(server.port, '/validate', { ca, body, cert: stranger.cert, key: stranger.key }), { message: /certificate|alert|socket hang up|ECONNRESET/ });
});

t.test('a client certificate of the configured CA: accepted', async (t) => {
  const apiserver = await issueCertificate(clientCa, { commonName: 'kube-apiserver', usage: 'client' });
  const r = await call(server.port, '/validate', { ca, body, cert: apiserver.cert, key: apiserver.key });
  t.equal(r.status, 200);
  t.equal(r.json().response.uid, 'client-auth');
});

t.test('probes stay reachable for the kubelet on the plain-HTTP port', async (t) => {
  t.equal((await get(server.metricsPort!, '/readyz')).status, 200);
});
