// What the API server sees of meshguard: pod creation through a real kube-apiserver (the
// e2e tier's, test/e2e/.cache/bin) with meshguard's shipped webhook configurations, against
// the same pods with no webhook at all and with a "null" webhook (bench/admission-load-
// baseline.mjs: parse, answer a fixed "allowed") registered the same way, in interleaved
// turns, one creation at a time over one keep-alive connection.
//
//   make e2e-build && npm run build && node --import @tapjs/typescript/import bench/apiserver-admission.ts [--pods 200]
//
// Reports, per arm, the median and p99 of pod creation and the ratio to no webhooks (target:
// meshguard's median <= 1.15x), and per webhook the API server's own
// apiserver_admission_webhook_admission_duration_seconds (p50/p99, read from its /metrics
// before and after the run) next to meshguard's meshguard_admission_duration_seconds.
// The null webhook is the floor: what any webhook costs the API server, whatever it decides.
// Writes bench/results/apiserver-admission.json.
import * as k8s from '@kubernetes/client-node';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '../test/e2e/lib/cluster.js';
import { makeServingCert, MeshguardProcess, shippedWebhookConfigurations } from '../test/e2e/lib/webhook-env.js';
import { installCrds, stateObjects } from './cluster-setup.js';
import { freePort, ROOT, waitReady } from './servers.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const PODS = flag('pods', 200);
const WARMUP = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Arm = 'none' | 'null' | 'meshguard';
const ARMS: Arm[] = ['none', 'null', 'meshguard'];
/** Each arm creates its pods in its own namespace; the webhook configurations select by namespace. */
const NAMESPACE: Record<Arm, { name: string; labels: Record<string, string> }> = {
  // meshguard.io/ignore keeps the shipped configurations away (their namespaceSelector).
  none: { name: 'bench-none', labels: { 'meshguard.io/ignore': 'true' } },
  null: { name: 'bench-null', labels: { 'meshguard.io/ignore': 'true', 'bench.meshguard.io/null': 'true' } },
  meshguard: { name: 'bench-meshguard', labels: {} },
};

const median = (xs: number[]): number => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

// --- Prometheus text: histogram buckets of the series that match, summed ---

type Buckets = Map<number, number>;
function buckets(text: string, metric: string, match: Record<string, string>): Buckets {
  const out: Buckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}_bucket{`)) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!Object.entries(match).every(([k, v]) => labels[k] === v)) continue;
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    out.set(le, (out.get(le) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}
const minus = (a: Buckets, b: Buckets): Buckets => new Map([...a].map(([le, n]) => [le, n - (b.get(le) ?? 0)]));
/** As PromQL's histogram_quantile: linear within the bucket the rank falls in. */
function histogramQuantile(b: Buckets, q: number): number | undefined {
  const les = [...b.keys()].sort((x, y) => x - y);
  const total = b.get(Infinity) ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of les) {
    const c = b.get(le)!;
    if (c >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + (le - prevLe) * ((rank - prevCount) / Math.max(c - prevCount, 1e-9));
    }
    prevLe = le;
    prevCount = c;
  }
  return undefined;
}
const summarize = (b: Buckets) => {
  const ms = (x: number | undefined) => (x === undefined ? null : round(x * 1000, 3));
  return { calls: b.get(Infinity) ?? 0, p50Ms: ms(histogramQuantile(b, 0.5)), p99Ms: ms(histogramQuantile(b, 0.99)) };
};

// --- the run ---

const children: ChildProcess[] = [];
const dir = await mkdtemp(join(tmpdir(), 'meshguard-apiserver-admission-'));
const cluster = await startCluster({ log: (m) => process.stderr.write(`${m}\n`) });
let meshguard: MeshguardProcess | undefined;
try {
  const kc = cluster.kubeConfig;
  const objects = kc.makeApiClient(k8s.KubernetesObjectApi);
  await installCrds(kc);
  const state = stateObjects();
  const stateNs = state.find((o) => o.kind === 'Namespace')!;
  const cr = state.find((o) => o.kind === 'AntflyCluster')!;
  const pod = state.find((o) => o.kind === 'Pod')!;
  for (const arm of ARMS) {
    const ns = NAMESPACE[arm];
    await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: { ...stateNs.metadata.labels, ...ns.labels } } });
    // The same meshed cluster in every namespace, so every arm's pods are the same targets.
    await objects.create({ ...cr, metadata: { ...cr.metadata, namespace: ns.name } });
  }

  const cert = await makeServingCert(join(dir, 'webhook-tls'));
  meshguard = await MeshguardProcess.start({ kubeconfig: cluster.kubeconfigPath, cert });
  const nullPort = await freePort();
  const nullServer = spawn(process.execPath, [join(ROOT, 'bench/admission-load-baseline.mjs'), String(nullPort), cert.certFile, cert.keyFile], { stdio: 'ignore' });
  children.push(nullServer);
  await waitReady(nullServer, nullPort, { ca: cert.caPem, path: '/', what: 'null webhook' });

  // meshguard: the shipped configurations. null: the same pod webhooks, renamed, on the null
  // server, selecting only its namespace.
  const shipped = shippedWebhookConfigurations(meshguard.port, cert.caPem);
  const nulls = shippedWebhookConfigurations(nullPort, cert.caPem).map((doc) => ({
    ...doc,
    metadata: { ...doc.metadata, name: 'bench-null' },
    webhooks: (doc.webhooks as Record<string, any>[])
      .filter((h) => h.name.startsWith('pods.'))
      .map((h) => ({ ...h, name: h.name.replace('meshguard.io', 'null.bench.meshguard.io'), namespaceSelector: { matchLabels: { 'bench.meshguard.io/null': 'true' } }, objectSelector: {} })),
  }));
  for (const doc of [...shipped, ...nulls]) await objects.create(doc);

  // One keep-alive connection as the admin, as a controller's client would hold one.
  const user = kc.getCurrentUser()!;
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 1,
    ca: cluster.caPem,
    cert: Buffer.from(user.certData!, 'base64'),
    key: Buffer.from(user.keyData!, 'base64'),
  });
  const url = new URL(cluster.server);
  const call = (method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, method, path, agent, headers: body ? { 'content-type': 'application/json' } : {} },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  const podBody = (ns: string, name: string) => ({ ...pod, metadata: { ...pod.metadata, namespace: ns, name }, status: undefined });
  let n = 0;
  /** One pod creation in `arm`'s namespace: milliseconds from request to response. */
  const createPod = async (arm: Arm): Promise<number> => {
    const ns = NAMESPACE[arm].name;
    const body = podBody(ns, `p-${n++}`);
    const t0 = process.hrtime.bigint();
    const r = await call('POST', `/api/v1/namespaces/${ns}/pods`, body);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 201) throw new Error(`creating a pod in ${ns}: HTTP ${r.status} ${r.text.slice(0, 400)}`);
    return ms;
  };
  // The API server picks up new webhook configurations asynchronously: wait until a pod
  // of each webhook arm has been through its webhooks (the mutation shows in the pod).
  for (const arm of ['meshguard', 'null'] as Arm[]) {
    for (let i = 0; ; i++) {
      await createPod(arm);
      const m = (await call('GET', '/metrics')).text;
      const name = arm === 'meshguard' ? 'pods.validate.meshguard.io' : 'pods.validate.null.bench.meshguard.io';
      if ((buckets(m, 'apiserver_admission_webhook_admission_duration_seconds', { name }).get(Infinity) ?? 0) > 0) break;
      if (i > 200) throw new Error(`the API server never called ${name}`);
      await sleep(100);
    }
  }
  for (let i = 0; i < WARMUP; i++) for (const arm of ARMS) await createPod(arm);

  const before = (await call('GET', '/metrics')).text;
  const mgBefore = await meshguard.metrics();
  const times: Record<Arm, number[]> = { none: [], null: [], meshguard: [] };
  // Interleaved: each turn creates one pod per arm, the order rotating, so that a slow
  // stretch of the shared machine hits every arm alike.
  for (let i = 0; i < PODS; i++) for (let k = 0; k < ARMS.length; k++) {
    const arm = ARMS[(i + k) % ARMS.length]!;
    times[arm].push(await createPod(arm));
  }
  const after = (await call('GET', '/metrics')).text;
  const mgAfter = await meshguard.metrics();
  agent.destroy();

  const apiserverWebhook = (name: string) => {
    const metric = 'apiserver_admission_webhook_admission_duration_seconds';
    return summarize(minus(buckets(after, metric, { name }), buckets(before, metric, { name })));
  };
  const ownMetric = 'meshguard_admission_duration_seconds';
  const own = (webhook: string) => summarize(minus(buckets(mgAfter, ownMetric, { webhook }), buckets(mgBefore, ownMetric, { webhook })));
  const creation = Object.fromEntries(
    ARMS.map((arm) => [arm, { medianMs: round(median(times[arm])), p99Ms: round(quantile(times[arm], 0.99)), pods: times[arm].length }]),
  ) as Record<Arm, { medianMs: number; p99Ms: number; pods: number }>;
  const ratio = (arm: Arm) => round(creation[arm].medianMs / creation.none.medianMs, 3);
  const report = {
    when: new Date().toISOString(),
    node: process.version,
    settings: { podsPerArm: PODS, warmupPerArm: WARMUP, connection: 'one keep-alive HTTPS connection, one creation at a time' },
    podCreation: creation,
    medianRatio: { null: ratio('null'), meshguard: ratio('meshguard') },
    webhooks: {
      meshguard: {
        mutate: { apiserver: apiserverWebhook('pods.mutate.meshguard.io'), meshguard: own('mutate') },
        validate: { apiserver: apiserverWebhook('pods.validate.meshguard.io'), meshguard: own('validate') },
      },
      null: {
        mutate: { apiserver: apiserverWebhook('pods.mutate.null.bench.meshguard.io') },
        validate: { apiserver: apiserverWebhook('pods.validate.null.bench.meshguard.io') },
      },
    },
    target: { meshguardMedianRatioAtMost: 1.15, met: ratio('meshguard') <= 1.15 },
  };
  await mkdir(join(ROOT, 'bench/results'), { recursive: true });
  await writeFile(join(ROOT, 'bench/results/apiserver-admission.json'), `${JSON.stringify(report, null, 2)}\n`);

  const w = report.webhooks;
  const lines = [
    `pod creation (${PODS} per arm, interleaved): ` +
      ARMS.map((a) => `${a} median ${creation[a].medianMs} ms p99 ${creation[a].p99Ms} ms`).join('; '),
    `median ratio to no webhooks: null webhook ${report.medianRatio.null}x, meshguard ${report.medianRatio.meshguard}x (target <= 1.15x: ${report.target.met ? 'met' : 'MISSED'})`,
    ...(['mutate', 'validate'] as const).map(
      (k) =>
        `${k}: API server sees meshguard p50 ${w.meshguard[k].apiserver.p50Ms} ms p99 ${w.meshguard[k].apiserver.p99Ms} ms (${w.meshguard[k].apiserver.calls} calls); ` +
        `meshguard's own p50 ${w.meshguard[k].meshguard.p50Ms} ms p99 ${w.meshguard[k].meshguard.p99Ms} ms; ` +
        `null webhook p50 ${w.null[k].apiserver.p50Ms} ms p99 ${w.null[k].apiserver.p99Ms} ms`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\nwrote bench/results/apiserver-admission.json\n`);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await meshguard?.stop();
  await cluster.stop();
}
