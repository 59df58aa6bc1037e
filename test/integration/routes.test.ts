// Every route over real HTTPS against an in-process server.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadStateFiles, StaticClusterView } from '../../cli/state-view.js';
import type { AdmissionOutcome } from '../../policies/admission.js';
import { DEFAULT_CONFIG } from '../../policies/config.js';
import { BODY_LIMIT_BYTES } from '../../server/app.js';
import { call, captureLogger, EXAMPLES, get, makePki, review, startTestServer } from './fixtures/helpers.js';

const pki = await makePki(t.testdir());
// At debug, so that the level each admission line is written at can be checked.
const { logger, lines } = captureLogger('debug');
const server = await startTestServer(pki, {
  view: new StaticClusterView(await loadStateFiles([join(EXAMPLES, 'state.yaml')])),
  logger,
});
t.teardown(() => server.shutdown('test done'));
const ca = pki.ca.cert;
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain', namespace: 'default' }, spec: { containers: [{ name: 'app' }] } };

t.test('GET /healthz and /readyz answer ok over HTTPS and on the metrics port', async (t) => {
  for (const path of ['/healthz', '/readyz']) {
    const r = await call(server.port, path, { ca });
    t.equal(r.status, 200, `https ${path}`);
    t.equal(r.body, 'ok\n');
    const m = await get(server.metricsPort!, path);
    t.equal(m.status, 200, `metrics port ${path}`);
  }
});

t.test('TLS 1.1 is refused; TLS 1.2 is accepted', async (t) => {
  await t.rejects(call(server.port, '/healthz', { ca, agent: new (await import('node:https')).Agent({ maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }) }));
  const ok = await call(server.port, '/healthz', { ca, agent: new (await import('node:https')).Agent({ maxVersion: 'TLSv1.2' }) });
  t.equal(ok.status, 200);
});

for (const version of ['v1', 'v1beta1'] as const) {
  for (const webhook of ['mutate', 'validate']) {
    t.test(`POST /${webhook} answers an admission.k8s.io/${version} review in kind, uid echoed`, async (t) => {
      const uid = `uid-${webhook}-${version}`;
      const r = await call(server.port, `/${webhook}?timeout=10s`, { ca, body: review(version, uid, pod) });
      t.equal(r.status, 200);
      const body = r.json();
      t.equal(body.apiVersion, `admission.k8s.io/${version}`);
      t.equal(body.kind, 'AdmissionReview');
      t.equal(body.response.uid, uid);
      t.equal(body.response.allowed, true, 'a pod of no cluster is allowed');
    });
  }
}

t.test('the sample StatefulSet of a meshed cluster is patched', async (t) => {
  const body = await readFile(join(EXAMPLES, 'admission-review-statefulset.json'), 'utf8');
  const r = await call(server.port, '/mutate', { ca, body });
  t.equal(r.status, 200);
  const res = r.json().response;
  t.equal(res.allowed, true);
  t.equal(res.patchType, 'JSONPatch');
  const patch = JSON.parse(Buffer.from(res.patch, 'base64').toString('utf8'));
  t.ok(
    patch.some((op: { path: string }) => op.path === '/spec/template/metadata/annotations/traffic.sidecar.istio.io~1excludeInboundPorts'),
    'consensus ports excluded from the proxy',
  );
});

t.test('the sample Pod without a proxy in a meshed cluster is denied with the rule id', async (t) => {
  const body = await readFile(join(EXAMPLES, 'admission-review-pod.json'), 'utf8');
  const r = await call(server.port, '/validate', { ca, body });
  t.equal(r.status, 200);
  const res = r.json().response;
  t.equal(res.allowed, false);
  t.equal(res.status.code, 403);
  t.match(res.status.message, /MG201/);
});

t.test('a review meshguard cannot understand is answered allowed:false with code 400', async (t) => {
  const r = await call(server.port, '/validate', { ca, body: JSON.stringify({ hello: 'world' }) });
  t.equal(r.status, 200);
  t.equal(r.json().response.allowed, false);
  t.equal(r.json().response.status.code, 400);
});

t.test('content types other than application/json get 415', async (t) => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/yaml']) {
    const r = await call(server.port, '/validate', { ca, body: '{}', headers: { 'content-type': type } });
    t.equal(r.status, 415, type);
  }
  const withCharset = await call(server.port, '/validate', { ca, body: '{}', headers: { 'content-type': 'application/json; charset=utf-8' } });
  t.equal(withCharset.status, 200, 'application/json with a charset is fine');
});

t.test('invalid JSON gets 400 with a message', async (t) => {
  const r = await call(server.port, '/mutate', { ca, body: '{"apiVersion": ' });
  t.equal(r.status, 400);
  t.match(r.json().response.status.message, /not valid JSON/);
});

t.test('a body over 7 MiB gets 413; one just under is read', async (t) => {
  const over = Buffer.alloc(BODY_LIMIT_BYTES + 1, 0x20);
  const r = await call(server.port, '/validate', { ca, body: over });
  t.equal(r.status, 413);
  const doc = review('v1', 'big', pod);
  const under = await call(server.port, '/validate', { ca, body: doc + ' '.repeat(BODY_LIMIT_BYTES - Buffer.byteLength(doc)) });
  t.equal(under.status, 200);
  t.equal(under.json().response.uid, 'big');
});

t.test('unknown paths and methods are not admission calls', async (t) => {
  t.equal((await call(server.port, '/nope', { ca, body: '{}' })).status, 404);
  t.equal((await call(server.port, '/mutate', { ca, method: 'GET' })).status, 404);
});

t.test('one log line per admission with the facts, and no object bodies', async (t) => {
  const before = lines.length;
  await call(server.port, '/validate', { ca, body: review('v1', 'log-me', { ...pod, metadata: { ...pod.metadata, annotations: { secret: 'do-not-log' } } }) });
  const mine = lines.slice(before).filter((l) => l.uid === 'log-me');
  t.equal(mine.length, 1);
  t.match(mine[0], { msg: 'admission', webhook: 'validate', kind: 'Pod', namespace: 'default', name: 'plain', operation: 'CREATE', decision: String, patchOps: 0, rules: Array, durationMs: Number });
  t.notMatch(JSON.stringify(lines), /do-not-log/);
});

t.test('the admission line holds exactly its facts: rules once each in order, ignoredBy only when set, the message of an error', async (t) => {
  // The line is built by hand for speed (server/admission-routes.ts); this pins every field
  // of it against outcomes the policy core gives, duplicate rules and the optional fields included.
  const judged = (rule: string) => ({ rule, severity: 'error', action: 'deny', message: `${rule} says no` });
  const outcomes: Record<string, (uid: string) => AdmissionOutcome> = {
    denied: (uid) => ({
      review: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: false, status: { code: 403, message: 'no' } } },
      findings: [judged('MG202'), judged('MG201'), judged('MG202')] as never,
      patchOps: 0,
      request: { uid, kind: 'Pod', namespace: 'default', name: 'plain', operation: 'CREATE' },
      decision: 'denied',
    }),
    ignored: (uid) => ({
      review: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } },
      findings: [],
      patchOps: 0,
      request: { uid, kind: 'Pod', namespace: 'default', name: 'plain', operation: 'CREATE' },
      decision: 'skipped',
      ignoredBy: 'pod',
    }),
    failed: (uid) => ({
      review: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: false, status: { code: 500, message: 'meshguard internal error: kaput' } } },
      findings: [],
      patchOps: 0,
      request: { uid },
      decision: 'error',
    }),
  };
  const captured = captureLogger('info');
  const s = await startTestServer(pki, {
    logger: captured.logger,
    admitFn: (body) => {
      const uid = (body as { request: { uid: string } }).request.uid;
      return outcomes[uid]!(uid);
    },
  });
  t.teardown(() => s.shutdown('test done'));
  for (const uid of Object.keys(outcomes)) await call(s.port, '/validate', { ca, body: review('v1', uid, pod) });
  const line = (uid: string) => {
    const found = captured.lines.filter((l) => l.uid === uid);
    t.equal(found.length, 1, `one line for ${uid}`);
    const { level, time, pid, hostname, durationMs, ...rest } = found[0]!;
    t.type(level, 'number');
    t.type(time, 'number');
    t.type(pid, 'number');
    t.type(hostname, 'string');
    t.type(durationMs, 'number');
    return rest;
  };
  const facts = { kind: 'Pod', namespace: 'default', name: 'plain', operation: 'CREATE', webhook: 'validate' };
  t.same(line('denied'), { component: 'admission', uid: 'denied', ...facts, decision: 'denied', rules: ['MG202', 'MG201'], patchOps: 0, msg: 'admission' });
  t.same(line('ignored'), { component: 'admission', uid: 'ignored', ...facts, decision: 'skipped', ignoredBy: 'pod', rules: [], patchOps: 0, msg: 'admission' });
  t.same(line('failed'), {
    component: 'admission',
    uid: 'failed',
    webhook: 'validate',
    decision: 'error',
    rules: [],
    patchOps: 0,
    message: 'meshguard internal error: kaput',
    msg: 'admission failed',
  });
});

t.test('GET /metrics (plain HTTP) exposes admission, rule, patch, TLS and cluster-view metrics', async (t) => {
  const m = await get(server.metricsPort!, '/metrics');
  t.equal(m.status, 200);
  t.match(m.body, /meshguard_admission_requests_total\{webhook="validate",kind="Pod",operation="CREATE",decision="denied"\} \d+/);
  t.match(m.body, /meshguard_admission_requests_total\{webhook="mutate",kind="StatefulSet",operation="CREATE",decision="patched"\} 1/);
  t.match(m.body, /meshguard_admission_duration_seconds_bucket\{le="[^"]+",webhook="mutate"\}/);
  t.match(m.body, /meshguard_rule_hits_total\{webhook="validate",rule="MG201",severity="error"\} \d+/);
  t.match(m.body, /meshguard_admission_findings_total\{rule="MG201",severity="error",action="deny"\} [1-9]/);
  t.match(m.body, /meshguard_patch_operations_total [1-9]/);
  t.match(m.body, /meshguard_tls_reloads_total\{result="success"\} 1/);
  t.match(m.body, /meshguard_tls_certificate_expiry_timestamp_seconds \d+/);
  t.match(m.body, /meshguard_cluster_view_objects\{resource="namespaces"\} 1/);
  t.match(m.body, /meshguard_cluster_view_synced\{resource="pods"\} 1/);
});

t.test('an internal error is an AdmissionReview with code 500 sent as HTTP 500 (failurePolicy applies)', async (t) => {
  const pki2 = await makePki(t.testdir());
  const broken = await startTestServer(pki2, {
    admitFn: () => {
      throw new Error('boom');
    },
  });
  t.teardown(() => broken.shutdown('test done'));
  const r = await call(broken.port, '/mutate', { ca: pki2.ca.cert, body: review('v1beta1', 'err-1', pod) });
  t.equal(r.status, 500);
  const body = r.json();
  t.equal(body.apiVersion, 'admission.k8s.io/v1beta1');
  t.equal(body.response.uid, 'err-1');
  t.equal(body.response.allowed, false);
  t.equal(body.response.status.code, 500);
  t.match(body.response.status.message, /boom/);
  const again = await call(broken.port, '/healthz', { ca: pki2.ca.cert });
  t.equal(again.status, 200, 'the server is still up');
  t.match((await get(broken.metricsPort!, '/metrics')).body, /decision="error"\} 1/);
});

// Last: these add admissions the metrics test above counts.
const levelOf = (uid: string, from: number): unknown[] => lines.slice(from).filter((l) => l.uid === uid && l.msg === 'admission').map((l) => l.level);

t.test('by default an allow that changes nothing is logged at debug; patches, warnings and refusals at info', async (t) => {
  const before = lines.length;
  await call(server.port, '/validate', { ca, body: review('v1', 'noop', pod) });
  t.same(levelOf('noop', before), [20], 'no-op allow at debug');
  const denied = JSON.parse(await readFile(join(EXAMPLES, 'admission-review-pod.json'), 'utf8'));
  denied.request.uid = 'refused';
  await call(server.port, '/validate', { ca, body: JSON.stringify(denied) });
  t.same(levelOf('refused', before), [30], 'refusal at info');
  const sts = JSON.parse(await readFile(join(EXAMPLES, 'admission-review-statefulset.json'), 'utf8'));
  sts.request.uid = 'patched';
  await call(server.port, '/mutate', { ca, body: JSON.stringify(sts) });
  t.same(levelOf('patched', before), [30], 'patch at info');
  await call(server.port, '/validate', { ca, body: JSON.stringify({ hello: 'world' }) });
  t.ok(lines.slice(before).some((l) => l.msg === 'admission' && l.decision === 'invalid' && l.level === 30), 'unreadable review at info');
});

t.test('with logAdmissions "all" every admission is logged at info', async (t) => {
  const all = captureLogger('info');
  const s = await startTestServer(pki, { view: new StaticClusterView(await loadStateFiles([join(EXAMPLES, 'state.yaml')])), logger: all.logger, logAdmissions: 'all' });
  t.teardown(() => s.shutdown('test done'));
  await call(s.port, '/validate', { ca, body: review('v1', 'noop-all', pod) });
  t.same(all.lines.filter((l) => l.uid === 'noop-all' && l.msg === 'admission').map((l) => l.level), [30]);
});

// The counters of each review are tallied and added to prom-client when read (server/metrics.ts
// CounterTally): every scrape must show exactly the reviews answered before it, scrape after scrape.
t.test('every scrape counts exactly the reviews answered before it (requests, rule hits, findings)', async (t) => {
  const body = await readFile(join(EXAMPLES, 'admission-review-pod.json'), 'utf8');
  const series = [
    /meshguard_admission_requests_total\{webhook="validate",kind="Pod",operation="CREATE",decision="denied"\} (\d+)/,
    /meshguard_rule_hits_total\{webhook="validate",rule="MG201",severity="error"\} (\d+)/,
    /meshguard_admission_findings_total\{rule="MG201",severity="error",action="deny"\} (\d+)/,
    /meshguard_admission_duration_seconds_count\{webhook="validate"\} (\d+)/,
    /meshguard_admission_requests_total\{webhook="validate",kind="unknown",operation="unknown",decision="invalid"\} (\d+)/,
  ];
  const scrape = async () => {
    const m = await get(server.metricsPort!, '/metrics');
    return series.map((re) => Number(re.exec(m.body)?.[1] ?? 0));
  };
  const before = await scrape();
  t.same(await scrape(), before, 'a scrape alone changes nothing');
  for (const round of [3, 1, 5]) {
    const start = await scrape();
    for (let i = 0; i < round; i++) t.equal((await call(server.port, '/validate', { ca, body })).status, 200);
    t.equal((await call(server.port, '/validate', { ca, body: '{' })).status, 400);
    t.same(await scrape(), [start[0]! + round, start[1]! + round, start[2]! + round, start[3]! + round, start[4]! + 1], `${round} denied reviews and one unreadable body`);
  }
  // The registry read in process (what tests and embedders call) shows the same values.
  const counted = await server.metrics.registry.getSingleMetric('meshguard_admission_requests_total')!.get();
  const denied = counted.values.find((v) => v.labels.webhook === 'validate' && v.labels.kind === 'Pod' && v.labels.decision === 'denied');
  t.equal(denied?.value, before[0]! + 9);
});

// The same for what a patched /mutate review and an ignored object count: patch operations
// (a counter without labels), the mutate histogram's count, an audit finding, ignored objects.
t.test('every scrape counts exactly the patched and ignored reviews answered before it', async (t) => {
  // The label is honoured on pods only with ignoreLabel.objects on.
  const server = await startTestServer(pki, {
    view: new StaticClusterView(await loadStateFiles([join(EXAMPLES, 'state.yaml')])),
    config: { ...DEFAULT_CONFIG, ignoreLabel: { objects: true } },
  });
  t.teardown(() => server.shutdown('test done'));
  const sts = await readFile(join(EXAMPLES, 'admission-review-statefulset.json'), 'utf8');
  const pod = JSON.parse(await readFile(join(EXAMPLES, 'admission-review-pod.json'), 'utf8'));
  pod.request.object.metadata.labels = { ...pod.request.object.metadata.labels, 'meshguard.io/ignore': 'true' };
  const ignoredPod = JSON.stringify(pod);
  const series = [
    /meshguard_admission_requests_total\{webhook="mutate",kind="StatefulSet",operation="CREATE",decision="patched"\} (\d+)/,
    /meshguard_rule_hits_total\{webhook="mutate",rule="MG206",severity="info"\} (\d+)/,
    /meshguard_admission_findings_total\{rule="MG206",severity="info",action="audit"\} (\d+)/,
    /meshguard_admission_duration_seconds_count\{webhook="mutate"\} (\d+)/,
    /meshguard_patch_operations_total (\d+)/,
    /meshguard_ignored_objects_total\{webhook="validate",kind="Pod",by="pod"\} (\d+)/,
    /meshguard_admission_duration_seconds_count\{webhook="validate"\} (\d+)/,
  ];
  const scrape = async () => {
    const m = await get(server.metricsPort!, '/metrics');
    return series.map((re) => Number(re.exec(m.body)?.[1] ?? 0));
  };
  for (const round of [2, 1, 4]) {
    const start = await scrape();
    for (let i = 0; i < round; i++) {
      const patched = await call(server.port, '/mutate', { ca, body: sts });
      t.equal(patched.json().response.patchType, 'JSONPatch');
    }
    const skipped = await call(server.port, '/validate', { ca, body: ignoredPod });
    t.equal(skipped.json().response.allowed, true);
    t.same(
      await scrape(),
      [start[0]! + round, start[1]! + round, start[2]! + round, start[3]! + round, start[4]! + 4 * round, start[5]! + 1, start[6]! + 1],
      `${round} patched reviews (4 operations each) and one ignored pod`,
    );
    t.same(await scrape(), [start[0]! + round, start[1]! + round, start[2]! + round, start[3]! + round, start[4]! + 4 * round, start[5]! + 1, start[6]! + 1], 'and a second scrape the same');
  }
  // In process: a counter's get() (what registry.getSingleMetric callers read) includes them too.
  await call(server.port, '/mutate', { ca, body: sts });
  const ops = await server.metrics.registry.getSingleMetric('meshguard_patch_operations_total')!.get();
  const last = await scrape();
  t.equal(ops.values[0]?.value, last[4], 'get() and the scrape agree');
});

// The admission app gives Fastify no logger instance (server/fastify-base.ts
// requestPathFastifyOptions); the lines Fastify writes for a request still reach meshguard's logger.
t.test("Fastify's own request lines (an unknown route, a client's mistake) still reach the logger, without a request child", async (t) => {
  const from = lines.length;
  t.equal((await call(server.port, '/no-such-route', { ca })).status, 404);
  t.equal((await call(server.port, '/healthz', { ca, method: 'POST', body: '{}' })).status, 404);
  const written = lines.slice(from);
  t.ok(written.some((l) => /not found/i.test(String(l.msg)) && l.component === 'admission'), 'the 404 is logged through the admission logger');
  t.notOk(written.some((l) => 'reqId' in l), 'no per-request child logger (the admission line carries the uid)');
});
