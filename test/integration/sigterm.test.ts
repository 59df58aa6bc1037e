// The real `meshguard serve` process: standalone start (dev certificates made on first
// run, curl hint printed), then SIGTERM with reviews in flight.
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EXAMPLES, get, ROOT, waitFor } from './fixtures/helpers.js';

const dir = t.testdir();
const certs = join(dir, 'dev-certs');
// The TypeScript loader tap itself uses, so the test runs the sources without a build.
const child = spawn(
  process.execPath,
  ['--import', '@tapjs/typescript/import', join(ROOT, 'cli/main.ts'), 'serve', '--state', join(EXAMPLES, 'state.yaml'),
    '--dev-certs-dir', certs, '--port', '0', '--metrics-port', '0', '--shutdown-delay-seconds', '1', '--shutdown-grace-seconds', '20'],
  { cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
);
t.teardown(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
});
const logs: Record<string, any>[] = [];
let stderr = '';
createInterface(child.stdout!).on('line', (l) => {
  try {
    logs.push(JSON.parse(l));
  } catch {
    /* not a log line */
  }
});
child.stderr!.on('data', (c) => (stderr += String(c)));
const exited = once(child, 'exit');

await waitFor(() => logs.some((l) => l.msg === 'meshguard webhook listening') || child.exitCode !== null, 'the server to listen', 120_000);
const listening = logs.find((l) => l.msg === 'meshguard webhook listening');
if (!listening) throw new Error(`meshguard serve did not start:\n${stderr}`);
const { port, metricsPort } = listening as { port: number; metricsPort: number };

t.test('standalone start: dev certificates created, a curl line printed', async (t) => {
  t.ok(logs.some((l) => l.msg === 'created dev certificates'));
  await waitFor(() => /curl -s --cacert \S+ca\.crt .*--data @\S+admission-review-pod\.json https:\/\/localhost:\d+\/validate/.test(stderr), 'the curl hint');
  t.pass('curl hint printed');
});

t.test('SIGTERM with reviews in flight: all answered, readiness false, clean exit', async (t) => {
  const ca = await readFile(join(certs, 'ca.crt'), 'utf8');
  const body = await readFile(join(EXAMPLES, 'admission-review-pod.json'));
  const inFlight = [0, 1, 2, 3].map(() => {
    const req = request({
      host: '127.0.0.1', servername: 'localhost', port, path: '/validate?timeout=10s', method: 'POST', ca, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
    });
    const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c) => (text += String(c)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
    });
    req.flushHeaders();
    req.write(body.subarray(0, 100));
    return { finish: () => (req.end(body.subarray(100)), reply) };
  });
  // All four in flight (their Content-Length reserved in the body budget) before the signal.
  await waitFor(async () => new RegExp(`meshguard_admission_body_bytes_in_flight ${4 * body.length}\\b`).test((await get(metricsPort, '/metrics')).body), 'the headers of all four reviews');
  t.equal((await get(metricsPort, '/readyz')).status, 200, 'ready before the signal');
  child.kill('SIGTERM');
  await waitFor(async () => (await get(metricsPort, '/readyz')).status === 503, 'readiness to turn false');
  const replies = await Promise.all(inFlight.map((r) => r.finish()));
  for (const r of replies) {
    t.equal(r.status, 200);
    t.equal(JSON.parse(r.text).response.allowed, false, 'the sample pod is denied (answered, not dropped)');
  }
  const [code] = await exited;
  t.equal(code, 0, 'exit code 0');
  t.ok(logs.some((l) => l.msg === 'shutdown complete'));
});
