// `meshguard check` in a CI step pays for the modules it loads on every run: it loads the
// yaml library (about 70 modules) only when an input needs it (a proxy.istio.io/config
// annotation), and gives the same answer either way.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');

// Writes, at exit, every module file the process loaded (import and require alike) to the
// file named by MG_TEST_LOADED: a file, because a pipe may not take the whole list (it
// reaches ~150 KB when help loads every command) before the process is gone.
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
process.on('exit', () => writeFileSync(process.env.MG_TEST_LOADED, JSON.stringify(loaded)));
`)}`;

/** Runs the CLI with `args`; its exit status, stdout and the module files it loaded. */
const traced = (args: string[]) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-loaded-'));
  try {
    const file = join(dir, 'loaded.json');
    const r = spawnSync(process.execPath, ['--import', HOOK, bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', MG_TEST_LOADED: file } });
    return { status: r.status, stdout: r.stdout, loaded: JSON.parse(readFileSync(file, 'utf8')) as string[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const check = (file: string) => traced(['check', '--format', 'json', file]);
const yamlModules = (loaded: string[]) => loaded.filter((u) => u.includes('/node_modules/yaml/'));

const cluster = (annotations: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels: { istio-injection: enabled }
---
apiVersion: antfly.io/v1
kind: AntflyCluster
metadata: { name: db, namespace: prod }
spec:
  serviceMesh:
    enabled: true
    annotations: { sidecar.istio.io/inject: "true"${annotations} }
`;

t.test('check loads the yaml library only for an input that needs it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-startup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const plain = join(dir, 'plain.yaml');
  writeFileSync(plain, cluster(''));
  const withConfig = join(dir, 'proxy-config.yaml');
  writeFileSync(withConfig, cluster(', proxy.istio.io/config: "concurrency: two"'));

  const a = check(plain);
  t.ok(a.loaded.some((u) => u.includes('/node_modules/js-yaml/')), 'the hook sees the modules check loads');
  t.same(yamlModules(a.loaded), [], 'no module of the yaml library was loaded');

  const b = check(withConfig);
  t.ok(yamlModules(b.loaded).length > 0, 'the annotation loads it');
  const findings = JSON.parse(b.stdout).findings as { rule: string; message: string }[];
  t.ok(
    findings.some((f) => f.rule === 'MG103' && /not a valid ProxyConfig: concurrency must be a whole number/.test(f.message)),
    'and the ProxyConfig is judged as before',
  );
});

// The CLI keeps V8's compiled code of its modules on disk (node's compile cache, cli/main.ts).
// It is an optimisation only: a run that cannot write it, or with it turned off, answers
// the same. The test's own coverage collection turns it off (NODE_V8_COVERAGE), so each
// run here goes without it.
t.test('check keeps compiled code on disk when it can, and answers the same when it cannot', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-compile-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const input = join(dir, 'in.yaml');
  writeFileSync(input, cluster(''));
  const { NODE_V8_COVERAGE: _coverage, NODE_COMPILE_CACHE: _dir, NODE_DISABLE_COMPILE_CACHE: _off, ...env } = process.env;
  const run = (extra: Record<string, string>) => spawnSync(process.execPath, [bin, 'check', '--format', 'json', input], { encoding: 'utf8', env: { ...env, NO_COLOR: '1', ...extra } });
  const cache = join(dir, 'cache');
  const off = run({ NODE_DISABLE_COMPILE_CACHE: '1' });
  t.equal(off.status, 0, off.stderr);
  const first = run({ NODE_COMPILE_CACHE: cache });
  const cached = readdirSync(cache, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  t.ok(cached.length > 10, `the command's modules were cached (${cached.length} files)`);
  const second = run({ NODE_COMPILE_CACHE: cache });
  // A path under a regular file can never be created.
  const unwritable = run({ NODE_COMPILE_CACHE: join(input, 'cache') });
  for (const [name, r] of Object.entries({ first, second, unwritable })) {
    t.equal(r.status, off.status, `${name}: same exit code`);
    t.equal(r.stdout, off.stdout, `${name}: same answer`);
    t.equal(r.stderr, '', `${name}: nothing on stderr`);
  }
});

t.test('--version loads none of the commands, and prints what it printed with all of them', async (t) => {
  const run = traced;
  const commandModules = (loaded: string[]) => loaded.filter((u) => /\/cli\/(serve|sync-status|check|analyze|inject|review|certs|rules)\.js$/.test(u));
  for (const flag of ['--version', '-V']) {
    const r = run([flag]);
    t.equal(r.status, 0, `${flag} exits 0`);
    t.match(r.stdout, /^\d+\.\d+\.\d+\n$/, `${flag} prints the version`);
    t.ok(r.loaded.some((u) => u.endsWith('/cli/main.js')), 'the hook sees the modules loaded');
    t.same(commandModules(r.loaded), [], `${flag} loads no command module`);
  }
  // With help asked for too, help needs every command; the answer is unchanged.
  const both = run(['--help', '--version']);
  t.equal(both.status, 0);
  t.equal(both.stdout, run(['--version']).stdout);
  t.equal(commandModules(both.loaded).length, 8, 'help loads all eight commands');
});
