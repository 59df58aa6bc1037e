// `meshguard check` in a CI step pays for the modules it loads on every run: it loads the
// yaml library (about 70 modules) only when an input needs it (a proxy.istio.io/config
// annotation), and gives the same answer either way.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'dist', 'cli', 'main.js');

// Prints, at exit, every module file the process loaded (import and require alike).
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(loaded) + '\\n'));
`)}`;

const check = (file: string) => {
  const r = spawnSync(process.execPath, ['--import', HOOK, bin, 'check', '--format', 'json', file], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '));
  return { status: r.status, stdout: r.stdout, loaded: JSON.parse(line?.slice('LOADED '.length) ?? '[]') as string[] };
};
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
