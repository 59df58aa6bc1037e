// The built `meshguard serve` and `sync-status` against a (fake) API server load
// @kubernetes/client-node's KubeConfig and informers but none of its ~750 generated models
// or API groups: they are ~30-40 MB of each process's RSS (server/client-node-loading.ts,
// docs/operations.md). A new import of the package root, of a generated API class or of
// the ObjectSerializer on their paths makes this fail.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { answerListOrWatch, answerStatus, get, ROOT, waitFor } from '../integration/fixtures/helpers.js';

const CLI = join(ROOT, 'dist/cli/main.js');
const dir = t.testdir();

// Prints every client-node module the process loads, one line each, on stderr.
const recorder = join(dir, 'record-client-node.mjs');
await writeFile(
  recorder,
  `import { registerHooks } from 'node:module';
registerHooks({ load(url, context, next) {
  if (url.includes('/@kubernetes/client-node/')) process.stderr.write('client-node module: ' + url + '\\n');
  return next(url, context);
} });
`,
);
const loadedBy = (stderr: string): string[] => [...stderr.matchAll(/^client-node module: .*\/@kubernetes\/client-node\/(.*)$/gm)].map((m) => m[1]!);
const HEAVY = /^dist\/(index\.js|api\.js|serializer\.js|object\.js|gen\/index\.js|gen\/models\/|gen\/types\/|gen\/apis\/(?!exception\.js))/;

// Empty lists, watches held open, the profiles' CRDs absent (404: held as empty, retried).
const watches = new Set<import('node:http').ServerResponse>();
const apiserver = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname.startsWith('/apis/') && !url.pathname.startsWith('/apis/networking.k8s.io') && !url.pathname.startsWith('/apis/admissionregistration.k8s.io'))
    return answerStatus(res, 404, 'NotFound');
  answerListOrWatch(url, res, () => ({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }), (w) => watches.add(w));
});
apiserver.listen(0, '127.0.0.1');
await once(apiserver, 'listening');
t.teardown(() => {
  for (const w of watches) w.destroy();
  apiserver.close();
});
const kubeconfig = join(dir, 'kubeconfig');
await writeFile(
  kubeconfig,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${(apiserver.address() as AddressInfo).port}`, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { token: 'token' } }],
    contexts: [{ name: 'c', context: { cluster: 'fake', user: 'u' } }],
    'current-context': 'c',
  }),
);

/** The client-node modules `args` (a command run with --kubeconfig) loaded by the time it is ready; `started` is its log line that carries metricsPort. */
const loadsUntilReady = async (t: Test, args: string[], started: string): Promise<string[]> => {
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(recorder).href, CLI, ...args, '--kubeconfig', kubeconfig, '--metrics-port', '0'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += String(c)));
  let metricsPort: number | undefined;
  createInterface(child.stdout!).on('line', (l) => {
    try {
      const log = JSON.parse(l) as { msg?: string; metricsPort?: number };
      if (log.msg === started) metricsPort = log.metricsPort;
    } catch {
      /* not a log line */
    }
  });
  await waitFor(() => metricsPort !== undefined || child.exitCode !== null, `${args[0]} to start`, 60_000);
  if (metricsPort === undefined) throw new Error(`meshguard ${args[0]} did not start:\n${stderr}`);
  // Ready: every informer has listed (and so loaded all it loads) and is watching.
  await waitFor(async () => (await get(metricsPort!, '/readyz')).status === 200, `${args[0]} to be ready`, 60_000);
  child.kill('SIGTERM');
  await once(child, 'exit');
  return loadedBy(stderr);
};

const SERVE = ['serve', '--dev-certs-dir', join(dir, 'certs'), '--port', '0'];
const LISTENING = 'meshguard webhook listening';

t.test('serve with the informers loads KubeConfig and the informers, no generated model or API group', async (t) => {
  const loaded = await loadsUntilReady(t, SERVE, LISTENING);
  t.ok(loaded.includes('dist/config.js') && loaded.includes('dist/informer.js') && loaded.includes('dist/watch.js'), 'KubeConfig and the informers are loaded');
  t.same(loaded.filter((m) => HEAVY.test(m)), [], 'none of the package root, generated models, API groups or ObjectSerializer');
});

t.test('with admission warnings (the analysed kinds watched too): still none', async (t) => {
  const config = join(dir, 'analysis.yaml');
  await writeFile(config, 'analysis:\n  admissionWarnings: true\n');
  const loaded = await loadsUntilReady(t, [...SERVE, '--config', config], LISTENING);
  t.ok(loaded.includes('dist/informer.js'));
  t.same(loaded.filter((m) => HEAVY.test(m)), []);
});

t.test('sync-status (its view, PolicyReports, statuses, events, leases): none either', async (t) => {
  const loaded = await loadsUntilReady(t, ['sync-status', '--leader-elect', '--lease-namespace', 'default'], 'status syncer started');
  t.ok(loaded.includes('dist/config.js') && loaded.includes('dist/informer.js'));
  t.same(loaded.filter((m) => HEAVY.test(m)), []);
});

// analyze lists through server/kube-request.ts too: before, its KubeConfig came from the
// package root and its lists from CoreV1Api/CustomObjectsApi, ~980 modules (1,319 files
// with --help alone) for a handful of GETs.
t.test('analyze (its KubeConfig and lists): none either, and --help loads no client-node module', async (t) => {
  // Not spawnSync: the fake API server answers from this process's event loop.
  const child = spawn(process.execPath, ['--import', pathToFileURL(recorder).href, CLI, 'analyze', '--kubeconfig', kubeconfig, '-f', 'json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const r = { stdout: '', stderr: '', status: null as number | null };
  child.stdout.on('data', (c) => (r.stdout += String(c)));
  child.stderr.on('data', (c) => (r.stderr += String(c)));
  [r.status] = (await once(child, 'close')) as [number | null];
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout).findings, [], 'an empty cluster, listed');
  const loaded = loadedBy(r.stderr);
  t.ok(loaded.includes('dist/config.js'), 'KubeConfig is loaded');
  t.same(loaded.filter((m) => HEAVY.test(m)), [], 'no package root, generated model, API group or ObjectSerializer');
  const help = spawnSync(process.execPath, ['--import', pathToFileURL(recorder).href, CLI, 'analyze', '--help'], { cwd: dir, encoding: 'utf8' });
  t.equal(help.status, 0);
  t.same(loadedBy(help.stderr), []);
});

t.test('with the hook registered, the package root still gets the real generated API', async (t) => {
  const script = `
import { loadOnlyUsedClientNode } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/server/client-node-loading.js')).href)};
loadOnlyUsedClientNode();
const k8s = await import('@kubernetes/client-node');
const kc = new k8s.KubeConfig();
kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'c', cluster: 'c', user: 'u' }], currentContext: 'c' });
const core = kc.makeApiClient(k8s.CoreV1Api);
console.log(typeof core.listNamespace, k8s.V1Pod.getAttributeTypeMap().map((a) => a.name).join());
`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  t.equal(r.stderr, '');
  t.equal(r.stdout.trim(), 'function apiVersion,kind,metadata,spec,status');
});

// cli/main.ts registers the resolve hook only for the commands that may load client-node:
// the others must load none of it, hook or not (and with one registered node resolves every
// import of theirs through it). Each runs on real input, with the state file and a config.
t.test('check, inject, review, certs and rules load no client-node module', async (t) => {
  const example = (f: string) => join(ROOT, 'examples', f);
  const runs: Record<string, string[]> = {
    check: ['check', '--state', example('state.yaml'), example('antfly-istio.yaml')],
    inject: ['inject', '--state', example('state.yaml'), example('antfly-istio.yaml')],
    review: ['review', '--webhook', 'validate', '--state', example('state.yaml'), example('admission-review-pod.json')],
    certs: ['certs', '--out', join(dir, 'dev-certs')],
    rules: ['rules'],
  };
  for (const [name, args] of Object.entries(runs)) {
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(recorder).href, CLI, ...args], { cwd: dir, encoding: 'utf8' });
    t.ok(r.status === 0 || r.status === 1, `${name} ran: ${r.stderr}`);
    t.ok(r.stdout.length > 0 || name === 'certs', `${name} printed its answer`);
    t.same(loadedBy(r.stderr), [], `${name} loaded no client-node module`);
  }
});
