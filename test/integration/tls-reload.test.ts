// Certificate rotation the way cert-manager and the kubelet do it: the mounted Secret is a
// directory whose tls.crt/tls.key are symlinks into `..data`, itself a symlink to a
// timestamped directory; an update writes a new timestamped directory and renames a new
// `..data` symlink over the old one.
import t from 'tap';
import { Agent } from 'node:https';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { issueCertificate, serialOf } from '../../certs/dev-ca.js';
import { call, get, makePki, review, startTestServer, waitFor } from './fixtures/helpers.js';

const pki = await makePki(t.testdir());
const mount = join(pki.dir, 'secret');

async function writeVersion(name: string, cert: string, key: string): Promise<void> {
  await mkdir(join(mount, name), { recursive: true });
  await writeFile(join(mount, name, 'tls.crt'), cert);
  await writeFile(join(mount, name, 'tls.key'), key);
  await symlink(name, join(mount, '..data_tmp'));
  await rename(join(mount, '..data_tmp'), join(mount, '..data')); // the atomic swap
}

await writeVersion('..2025_01_01_00_00_00.000000001', pki.serving.cert, pki.serving.key);
await symlink('..data/tls.crt', join(mount, 'tls.crt'));
await symlink('..data/tls.key', join(mount, 'tls.key'));

const server = await startTestServer(
  { ...pki, certFile: join(mount, 'tls.crt'), keyFile: join(mount, 'tls.key') },
  { tls: { cert: join(mount, 'tls.crt'), key: join(mount, 'tls.key') }, certPollMs: 200 },
);
t.teardown(() => server.shutdown('test done'));

t.test('a certificate swap reaches new connections; no request fails, in flight or after', async (t) => {
  const ca = pki.ca.cert;
  const oldSerial = serialOf(pki.serving.cert);
  const first = await call(server.port, '/healthz', { ca });
  t.equal(first.serial, oldSerial, 'serves the first certificate');

  // Load while the swap happens: keep-alive connections and fresh ones, concurrently.
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 4 });
  t.teardown(() => keepAlive.destroy());
  let running = true;
  const failures: string[] = [];
  let done = 0;
  const worker = async (agent: Agent | false) => {
    while (running) {
      try {
        const r = await call(server.port, '/validate', { ca, agent, body: review('v1', `w-${done}`, { kind: 'Pod', metadata: { name: 'p' } }) });
        if (r.status !== 200) failures.push(`status ${r.status}`);
        done++;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const workers = [worker(keepAlive), worker(keepAlive), worker(false), worker(false)];
  await waitFor(() => done >= 20, 'requests flowing before the swap');

  const renewed = await issueCertificate(pki.ca, { commonName: 'localhost', dns: ['localhost'], ip: ['127.0.0.1'] });
  const newSerial = serialOf(renewed.cert);
  await writeVersion('..2025_02_01_00_00_00.000000002', renewed.cert, renewed.key);

  await waitFor(async () => (await call(server.port, '/healthz', { ca })).serial === newSerial, 'new connections to see the new certificate');
  const seenAfter = done;
  await waitFor(() => done >= seenAfter + 20, 'requests flowing after the swap');
  running = false;
  await Promise.all(workers);

  t.same(failures, [], 'no request failed');
  t.equal(server.reloader.material.serial, newSerial);
  const metrics = await get(server.metricsPort!, '/metrics');
  t.match(metrics.body, /meshguard_tls_reloads_total\{result="success"\} 2/);
});

t.test('a key that does not match the certificate is not served; the previous pair stays', async (t) => {
  const ca = pki.ca.cert;
  const current = server.reloader.material.serial;
  const a = await issueCertificate(pki.ca, { commonName: 'localhost', dns: ['localhost'] });
  const b = await issueCertificate(pki.ca, { commonName: 'localhost', dns: ['localhost'] });
  await writeVersion('..2025_03_01_00_00_00.000000003', a.cert, b.key);
  await waitFor(async () => /meshguard_tls_reloads_total\{result="failure"\} 1/.test((await get(server.metricsPort!, '/metrics')).body), 'the failed reload to be counted');
  const r = await call(server.port, '/healthz', { ca });
  t.equal(r.status, 200);
  t.equal(r.serial, current, 'still the previous certificate');
  // The fixed pair is picked up on the next event or poll.
  await writeVersion('..2025_03_01_00_00_01.000000004', a.cert, a.key);
  await waitFor(async () => (await call(server.port, '/healthz', { ca })).serial === serialOf(a.cert), 'the repaired pair to be served');
});
