// The server pieces that need no network.
import fc from 'fast-check';
import t from 'tap';
import { pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { internalErrorReview, requestTimeoutSeconds } from '../../../server/admission-routes.js';
import { podSelector } from '../../../server/informer-view.js';
import { stripCluster, stripMeta, stripMonitor, stripNamespace, stripPod, stripWorkload } from '../../../policies/index/strip.js';
import { createMetrics } from '../../../server/metrics.js';
import { exitOnSignals, ShutdownController } from '../../../server/shutdown.js';
import { ANTFLY, OBSERVABILITY_PLATFORM } from '../../../policies/targets/profile.js';

const silent = pino({ level: 'silent' });

t.test('?timeout= as the API server sends it', async (t) => {
  t.equal(requestTimeoutSeconds({ timeout: '5s' }), 5);
  t.equal(requestTimeoutSeconds({ timeout: '30s' }), 30);
  t.equal(requestTimeoutSeconds({ timeout: 'soon' }), 10);
  t.equal(requestTimeoutSeconds({}), 10);
  t.equal(requestTimeoutSeconds(undefined), 10);
});

// requestTimeoutSeconds reads the digits itself (a regular expression cost ~1k instructions
// per review); it must answer exactly as its definition, `^(\d+)s$` then Number().
const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const byDefinition = (query: unknown): number => {
  const raw = (query as { timeout?: unknown } | undefined)?.timeout;
  const m = typeof raw === 'string' ? /^(\d+)s$/.exec(raw) : null;
  const n = m ? Number(m[1]) : NaN;
  return Number.isFinite(n) && n > 0 ? n : 10;
};
t.test('?timeout= is read as /^(\\d+)s$/ reads it (property)', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 330 });
  const near = fc.string({ unit: fc.constantFrom(...'0123456789s sS-+.e\n\u0660x'), maxLength: 8 });
  const raw = fc.oneof(digits.map((d) => `${d}s`), near, fc.string(), fc.constantFrom('10s', '0s', '30s', '007s', 's', '', '1.5s', '+5s', '5s\n', '9007199254740993s'));
  const query = fc.oneof({ weight: 6, arbitrary: raw.map((timeout) => ({ timeout })) }, fc.constant(undefined), fc.constant({}), fc.anything().map((timeout) => ({ timeout })));
  fc.assert(
    fc.property(query, (q) => {
      const got = requestTimeoutSeconds(q);
      if (!Object.is(got, byDefinition(q))) throw new Error(`${JSON.stringify(q)}: ${got}, by definition ${byDefinition(q)}`);
    }),
    { numRuns: 3000, seed: SEED },
  );
  for (const timeout of ['10s', '1s', '30s', '007s', '99999999999999999999s', '1'.repeat(310) + 's', 's', '5', 's5', '1.5s', '-1s', '0s', '\u0661s'])
    t.equal(requestTimeoutSeconds({ timeout }), byDefinition({ timeout }), timeout.slice(0, 24));
});

t.test('internal error reviews echo what they can read', async (t) => {
  t.match(internalErrorReview({ apiVersion: 'admission.k8s.io/v1beta1', request: { uid: 'u' } }, 'x'), {
    apiVersion: 'admission.k8s.io/v1beta1',
    response: { uid: 'u', allowed: false, status: { code: 500, message: /x/ } },
  });
  t.match(internalErrorReview(null, 'x'), { apiVersion: 'admission.k8s.io/v1', response: { uid: '' } });
});

t.test('stripping keeps what the policies read', async (t) => {
  t.same(stripMeta(undefined), {});
  t.same(stripMeta({ name: 'a', generation: 3, deletionTimestamp: new Date(0) as unknown as string, managedFields: [] }), {
    name: 'a',
    generation: 3,
    deletionTimestamp: '1970-01-01T00:00:00.000Z',
  });
  t.same(stripPod({ metadata: { name: 'p' }, spec: { hostNetwork: true, nodeName: 'n' } }), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: [], hostNetwork: true },
  });
  t.same(stripNamespace({ metadata: { name: 'n' }, spec: { finalizers: ['kubernetes'] } }), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } });
  t.same(stripCluster(ANTFLY.cluster)({ metadata: { name: 'c' }, status: { x: 1 } }), { apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', metadata: { name: 'c' } });
  t.same(
    stripCluster(ANTFLY.cluster)({ metadata: { name: 'c' }, status: { x: 1, serviceMeshStatus: { totalPods: 3 }, conditions: [{ type: 'Ready' }] } }).status,
    { serviceMeshStatus: { totalPods: 3 }, conditions: [{ type: 'Ready' }] },
    'the status fields the syncer owns are kept, so it can skip a read',
  );
});

t.test('workloads and monitors are stripped to what the rules read', async (t) => {
  const meta = {
    name: 'w', namespace: 'db', uid: 'u', creationTimestamp: '2025-01-01T00:00:00Z', managedFields: [{}], annotations: { big: 'x' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: 'x', controller: true }, { apiVersion: 'v1', kind: 'Other', name: 'o' }],
  };
  const template = {
    metadata: { labels: { app: 'a' }, annotations: { k: 'v' }, name: 'ignored' },
    spec: { containers: [{ name: 'c', image: 'i', env: [{ name: 'E' }], ports: [{ containerPort: 80, name: 'http', protocol: 'TCP', hostPort: 1 }] }], volumes: [{}], hostNetwork: true },
  };
  const strippedTemplate = {
    metadata: { labels: { app: 'a' }, annotations: { k: 'v' } },
    spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }] }], hostNetwork: true },
  };
  const strippedMeta = { name: 'w', namespace: 'db', uid: 'u', creationTimestamp: '2025-01-01T00:00:00Z', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', controller: true }] };
  t.same(stripWorkload('ReplicaSet')({ metadata: meta, spec: { replicas: 3, selector: { matchLabels: { app: 'a' } }, template }, status: { replicas: 3 } }), {
    apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: strippedMeta, spec: { selector: { matchLabels: { app: 'a' } }, template: strippedTemplate },
  }, 'a workload: selector and template facts, the controller owner');
  t.same(stripWorkload('CronJob')({ metadata: { name: 'c' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template, backoffLimit: 1 } } } }), {
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: strippedTemplate } } },
  }, "a CronJob's template sits under jobTemplate");
  t.same(stripWorkload('Deployment')({ metadata: { name: 'd' } }), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } });
  t.same(stripMonitor('PodMonitor')({ metadata: { name: 'm', namespace: 'mon' }, spec: { selector: { matchLabels: { a: 'b' } }, podMetricsEndpoints: [{ port: 'metrics' }], jobLabel: 'x' } }), {
    apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'm', namespace: 'mon' }, spec: { selector: { matchLabels: { a: 'b' } }, podMetricsEndpoints: [{ port: 'metrics' }] },
  });
});

t.test('pod selectors: the profile labels plus existence of the cluster-name label', async (t) => {
  t.equal(podSelector(ANTFLY), 'app.kubernetes.io/name=antfly-database,app.kubernetes.io/instance');
  t.equal(podSelector(OBSERVABILITY_PLATFORM), 'observability.io/platform');
});

// server/metrics.ts registers prom-client's default metrics one module at a time to leave
// out the GC observer: the same set but nodejs_gc_duration_seconds, whatever prom-client's
// release adds or renames (its module layout is not its API).
t.test("the webhook's runtime metrics: prom-client's defaults but nodejs_gc_duration_seconds", async (t) => {
  const names = async (r: Registry) => (await r.getMetricsAsJSON()).map((m) => m.name).sort();
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  const all = await names(defaults);
  t.ok(all.includes('nodejs_gc_duration_seconds') && all.includes('nodejs_eventloop_lag_p99_seconds') && all.includes('process_cpu_seconds_total'));
  const runtime = (await names(createMetrics().registry)).filter((n) => !n.startsWith('meshguard_'));
  t.same(runtime, all.filter((n) => n !== 'nodejs_gc_duration_seconds'));
});

t.test('metric labels stay bounded', async (t) => {
  const m = createMetrics({ defaultMetrics: false });
  const outcome = (kind: string, operation: string) => ({
    review: { apiVersion: 'admission.k8s.io/v1' as const, kind: 'AdmissionReview' as const, response: { uid: '', allowed: true } },
    findings: [],
    patchOps: 0,
    request: { kind, operation },
    decision: 'allowed' as const,
    ignoredBy: 'pod' as const,
  });
  m.recordAdmission('validate', outcome('Pod', 'CREATE'), 0.001);
  m.recordAdmission('validate', outcome('x'.repeat(100), 'WHATEVER'), 0.001);
  m.recordTlsReload(false);
  const text = await m.registry.metrics();
  t.match(text, /kind="Pod",operation="CREATE"/);
  t.match(text, /kind="other",operation="other"/);
  t.notMatch(text, /xxxx/);
  t.match(text, /meshguard_ignored_objects_total\{webhook="validate",kind="Pod",by="pod"\} 1/);
  t.match(text, /meshguard_tls_reloads_total\{result="failure"\} 1/);
  t.match(text, /meshguard_cluster_view_objects/);
});

t.test('shutdown: steps in order, once; a failing step does not stop the others', async (t) => {
  const order: string[] = [];
  const c = new ShutdownController({
    graceMs: 5000,
    drainDelayMs: 0,
    logger: silent,
    steps: [
      { name: 'a', run: async () => void order.push('a') },
      { name: 'b', run: async () => { throw new Error('b failed'); } },
      { name: 'c', run: async () => void order.push('c') },
    ],
  });
  t.equal(c.draining, false);
  const first = c.shutdown('test');
  t.equal(c.draining, true);
  t.equal(c.shutdown('again'), first, 'one shutdown');
  t.equal(await first, 'clean');
  t.same(order, ['a', 'c']);
});

t.test('shutdown: onDrain runs once, when shutdown begins, before any step', async (t) => {
  const order: string[] = [];
  const c = new ShutdownController({
    graceMs: 5000,
    drainDelayMs: 0,
    logger: silent,
    onDrain: () => void order.push(`drain (draining ${c.draining})`),
    steps: [{ name: 'a', run: async () => void order.push('a') }],
  });
  t.same(order, [], 'not before shutdown');
  const first = c.shutdown('test');
  t.same(order, ['drain (draining false)'], 'at once, synchronously');
  await c.shutdown('again');
  await first;
  t.same(order, ['drain (draining false)', 'a'], 'once, before the steps');
});

t.test('shutdown reports a timeout when a step outlives the grace period', async (t) => {
  const c = new ShutdownController({ graceMs: 50, drainDelayMs: 1000, logger: silent, steps: [{ name: 'hang', run: () => new Promise(() => {}) }] });
  t.equal(await c.shutdown('test'), 'timeout');
});

t.test('signals: first one shuts down and exits with its result, a second exits at once', async (t) => {
  const codes: number[] = [];
  let resolve!: (r: 'clean') => void;
  const before = process.listeners('SIGTERM').length;
  exitOnSignals({ shutdown: () => new Promise((r) => (resolve = r)) }, silent, (code) => codes.push(code));
  t.teardown(() => {
    for (const s of ['SIGTERM', 'SIGINT'] as const) for (const l of process.listeners(s).slice(before)) process.off(s, l);
  });
  process.emit('SIGTERM', 'SIGTERM');
  process.emit('SIGINT', 'SIGINT');
  t.same(codes, [1]);
  resolve('clean');
  await new Promise((r) => setImmediate(r));
  t.same(codes, [1, 0]);
});
