// What a review leaves alive once it is answered, over real HTTPS on a kept-alive connection
// (as the API server calls): nothing of its request, and its share of the body budget is
// given back. Under load the window that matters is shorter (between the answer and its
// flush, while the body gate's 'close' listener still waits), and
// test/unit/server/request-body.test.ts shows what that listener holds; this file pins
// that, the window over, the connection keeps nothing and still answers.
import t from 'tap';
import { Agent } from 'node:https';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { admit } from '../../policies/admission.js';
import { call, get, makePki, review, startTestServer } from './fixtures/helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const pki = await makePki(t.testdir());
let lastBody: WeakRef<object> | undefined;
const server = await startTestServer(pki, {
  admitFn: (body, webhook, context) => {
    lastBody = new WeakRef(body as object);
    return admit(body, webhook, context);
  },
});
t.teardown(() => server.shutdown('test done'));
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain', namespace: 'default' }, spec: { containers: [{ name: 'app' }] } };

/** Lets the current job end (a WeakRef's target is kept until then), then collects everything. */
const collect = async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
};

for (const webhook of ['mutate', 'validate']) {
  t.test(`an answered /${webhook} review keeps nothing of its request alive while its connection stays open`, async (t) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.teardown(() => agent.destroy());
    const first = await call(server.port, `/${webhook}`, { ca: pki.ca.cert, body: review('v1', `kept-${webhook}`, pod), agent });
    t.equal(first.status, 200);
    t.equal(first.json().response.uid, `kept-${webhook}`);
    t.ok(lastBody?.deref(), 'admit() saw the body');
    t.equal(Object.values(agent.freeSockets).flat().length, 1, 'the connection is kept alive, idle');
    await collect();
    t.equal(lastBody!.deref(), undefined, 'the parsed body is collected while the connection is idle');
    // Its share of the body budget was given back, and the connection still answers.
    t.match((await get(server.metricsPort!, '/metrics')).body, /\nmeshguard_admission_body_bytes_in_flight 0\n/);
    const second = await call(server.port, `/${webhook}`, { ca: pki.ca.cert, body: review('v1', `again-${webhook}`, pod), agent });
    t.equal(second.json().response.uid, `again-${webhook}`);
  });
}
