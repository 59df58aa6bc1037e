import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:tls';
import { connect } from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import {
  createCA,
  devCertProblem,
  ensureDevCerts,
  issueCertificate,
  sansFrom,
  serialOf,
  writeDevCerts,
} from '../../../certs/dev-ca.js';

t.test('a serving cert is signed by its CA, has the SANs and an ECDSA P-256 key', async (t) => {
  const ca = await createCA();
  const leaf = await issueCertificate(ca, { commonName: 'svc', dns: ['svc.ns.svc', 'localhost'], ip: ['127.0.0.1'] });
  const caCert = new X509Certificate(ca.cert);
  const cert = new X509Certificate(leaf.cert);
  t.ok(caCert.ca, 'CA cert is a CA');
  t.notOk(cert.ca, 'leaf is not a CA');
  t.ok(cert.checkIssued(caCert) && cert.verify(caCert.publicKey), 'leaf signed by the CA');
  t.equal(cert.checkHost('svc.ns.svc'), 'svc.ns.svc');
  t.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  t.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.match(cert.keyUsage ?? [], ['1.3.6.1.5.5.7.3.1']);
});

t.test('a TLS client trusting the CA completes a handshake with the serving cert', async (t) => {
  const ca = await createCA();
  const leaf = await issueCertificate(ca, { commonName: 'localhost', dns: ['localhost'] });
  const server = createServer({ ...leaf, minVersion: 'TLSv1.2' }, (s) => s.end('hi'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const sock = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername: 'localhost', ca: ca.cert });
  await once(sock, 'secureConnect');
  t.ok(sock.authorized);
  t.equal(sock.getPeerCertificate().serialNumber.toUpperCase(), serialOf(leaf.cert));
  sock.destroy();
});

t.test('writeDevCerts writes the four PEM files, keys owner-only', async (t) => {
  const dir = t.testdir();
  const paths = await writeDevCerts(dir);
  t.equal((await stat(paths.tlsKey)).mode & 0o777, 0o600);
  t.equal((await stat(paths.caKey)).mode & 0o777, 0o600);
  t.equal(await devCertProblem(dir), undefined);
});

t.test('ensureDevCerts reuses good certs and replaces unusable ones', async (t) => {
  const dir = t.testdir();
  const first = await ensureDevCerts(dir);
  t.ok(first.created);
  const again = await ensureDevCerts(dir);
  t.notOk(again.created, 'reused');
  const wider = await ensureDevCerts(dir, { dns: ['localhost', 'meshguard.local'], ip: ['127.0.0.1'] });
  t.ok(wider.created, 'a missing SAN means new certs');
  t.match(wider.reason, /no SAN for meshguard\.local/);
  await writeFile(wider.tlsCert, 'garbage');
  const fixed = await ensureDevCerts(dir);
  t.ok(fixed.created, 'an unreadable cert means new certs');
});

t.test('sansFrom splits IPs from DNS names', async (t) => {
  t.same(sansFrom(['a.example', '10.0.0.1', '::1']), { dns: ['a.example'], ip: ['10.0.0.1', '::1'] });
});
