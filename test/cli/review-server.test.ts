// `meshguard review` and the server give the same answer for the same bytes, at any nesting
// depth (a property over depth and where the deep value sits). Needs `npm run build` first.
import fc from 'fast-check';
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, makePki, startTestServer } from '../integration/fixtures/helpers.js';
import { fuzzParameters } from '../fuzz/lib/seed.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');

const pki = await makePki(t.testdir());
const server = await startTestServer(pki);
t.teardown(() => server.shutdown('test done'));

/** A review of an Antfly pod with `nested` (JSON text) at one of a few places. */
const reviewWith = (where: number, nested: string): string => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-0', namespace: 'db', labels: { 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': 'ac' } },
    spec: { containers: [{ name: 'antfly', env: [{ name: 'X', value: 'PLACEHOLDER' }] }] },
  };
  const text = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'deep-uid', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'db', operation: 'CREATE', object: pod, extra: 'PLACEHOLDER' },
  });
  const places = ['"PLACEHOLDER"}]', '"extra":"PLACEHOLDER"', '"name":"db-0"'];
  const place = places[where % places.length]!;
  return text.replace(place, place.replace(/"PLACEHOLDER"|"db-0"/, nested));
};

t.test('review answers a review of any depth exactly as the server does', async (t) => {
  let deeper = 0;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 400 }), fc.nat(2), fc.constantFrom('[', '{"a":'), async (depth, where, open) => {
      const close = open === '[' ? ']' : '}';
      const body = reviewWith(where, `${open.repeat(depth)}"x"${close.repeat(depth)}`);
      const served = await call(server.port, '/mutate', { ca: pki.ca.cert, body });
      const cli = spawnSync(process.execPath, [bin, 'review', '--webhook', 'mutate', '-'], { input: body, encoding: 'utf8' });
      if (JSON.parse(served.body).response.status?.code === 400) deeper++;
      // The CLI indents its output for people; the bytes of the answer are the same.
      return served.status === 200 && cli.status === 0 && JSON.stringify(JSON.parse(cli.stdout)) === served.body;
    }),
    { ...fuzzParameters('review = server', 8, (l) => t.comment(l)), examples: [[400, 0, '['], [96, 1, '{"a":']] },
  );
  t.ok(deeper > 0, 'some cases were past the depth bound');
});
