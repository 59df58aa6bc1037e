// The ways meshguard reaches CI and developers' machines, each run the way its host runs it:
// - the pre-commit hook (.pre-commit-hooks.yaml): its entry on a fixture git repository,
//   with the files pre-commit would pass (its `files`/`exclude` patterns on `git ls-files`);
// - the GitHub action (action.yml): its `run:` steps as scripts under Actions' own shell
//   flags (bash -e), inputs through `${{ inputs.* }}` as Actions substitutes them;
// - the GitLab CI job in docs/ci.md: its `script` lines under bash -e;
// - `kubectl meshguard`: the package's bin linked as npm links it, found by a real kubectl.
// npx would fetch the package from the registry; a stand-in npx on PATH runs the built CLI
// instead and checks it was asked for the package the action names.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import t from 'tap';
import { parse as parseYaml } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const FIXTURES = path.join(ROOT, 'test', 'cli', 'fixtures');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

if (!fs.existsSync(CLI)) throw new Error(`${CLI} is not built: run \`npm run build\` before the tests`);

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Doc;
const work = t.testdir();

/** A bin directory as `npm install` makes it: one symlink per package.json `bin` entry. */
const binDir = path.join(work, 'bin');
fs.mkdirSync(binDir);
for (const [name, target] of Object.entries(pkg.bin as Record<string, string>)) fs.symlinkSync(path.join(ROOT, target), path.join(binDir, name));

/** Stand-in npx: `npx --yes --package=<spec> -- meshguard ARGS` runs the built CLI; it logs the package asked for. */
const npxLog = path.join(work, 'npx.log');
fs.writeFileSync(
  path.join(binDir, 'npx'),
  `#!/usr/bin/env bash
set -euo pipefail
[[ "$1" == --yes && "$2" == --package=* && "$3" == -- && "$4" == meshguard ]] || { echo "unexpected npx call: $*" >&2; exit 99; }
echo "\${2#--package=}" >> ${JSON.stringify(npxLog)}
shift 4
exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"
`,
  { mode: 0o755 },
);
const PATH = `${binDir}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}`;

t.test('package.json: both commands, built when packed', async (t) => {
  t.equal(pkg.bin.meshguard, 'dist/cli/main.js');
  t.equal(pkg.bin['kubectl-meshguard'], pkg.bin.meshguard, 'kubectl-meshguard is the same program');
  t.match(pkg.scripts.prepack, /npm run build/, 'npm pack (what pre-commit and npx install from) builds dist/ first');
  t.ok((pkg.files as string[]).includes('dist'));
});

t.test('pre-commit: the hook entry on a fixture repository', async (t) => {
  const hooks = parseYaml(fs.readFileSync(path.join(ROOT, '.pre-commit-hooks.yaml'), 'utf8')) as Doc[];
  const hook = hooks.find((h) => h.id === 'meshguard-check');
  t.ok(hook, 'a meshguard-check hook');
  t.equal(hook!.language, 'node', 'installed as the npm package');
  t.equal(hook!.require_serial, true, 'one run: the files are also the cluster view');
  // pre-commit matches with Python's re.search; these patterns mean the same in JavaScript.
  const files = new RegExp(hook!.files as string);
  const exclude = new RegExp(hook!.exclude as string);

  const repo = path.join(work, 'repo');
  fs.mkdirSync(path.join(repo, 'deploy'), { recursive: true });
  fs.mkdirSync(path.join(repo, 'charts', 'db', 'templates'), { recursive: true });
  fs.copyFileSync(path.join(FIXTURES, 'good.yaml'), path.join(repo, 'deploy', 'good.yaml'));
  fs.writeFileSync(path.join(repo, 'charts', 'db', 'templates', 'sts.yaml'), 'apiVersion: apps/v1\nkind: StatefulSet\n{{- include "db.meta" . | nindent 0 }}\n');
  fs.writeFileSync(path.join(repo, 'README.md'), '# fixture\n');
  fs.writeFileSync(path.join(repo, 'renovate.json'), '{"extends": ["config:base"]}\n');
  const git = (...args: string[]) => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: repo });
  t.equal((await git('init', '-q')).code, 0);
  await git('add', '-A');
  t.equal((await git('commit', '-qm', 'fixture')).code, 0, 'fixture repository committed');

  const hookRun = async () => {
    const tracked = (await git('ls-files')).stdout.split('\n').filter(Boolean);
    const selected = tracked.filter((f) => files.test(f) && !exclude.test(f));
    const [cmd, ...args] = (hook!.entry as string).split(/\s+/);
    return { selected, result: await run(cmd!, [...args, ...selected], { cwd: repo, env: { PATH } }) };
  };

  const clean = await hookRun();
  t.same(clean.selected.sort(), ['deploy/good.yaml', 'renovate.json'], 'YAML and JSON files, Helm templates excluded');
  t.equal(clean.result.code, 0, `clean repository: the commit goes through${clean.result.code === 0 ? '' : `\n${clean.result.stdout}${clean.result.stderr}`}`);

  fs.copyFileSync(path.join(FIXTURES, 'bad-cluster.yaml'), path.join(repo, 'deploy', 'bad-cluster.yaml'));
  await git('add', '-A');
  const bad = await hookRun();
  t.equal(bad.result.code, 1, 'a manifest the cluster would deny: the commit is stopped');
  t.match(bad.result.stdout, /deploy\/bad-cluster\.yaml/, 'the output names the file');
  t.match(bad.result.stdout, /MG103/, 'and the rule');
});

/** The `run:` steps of action.yml as Actions runs them: inputs substituted into `env:`, bash -e. */
async function runAction(withInputs: Record<string, string>, cwd: string): Promise<Run & { outputs: Record<string, string> }> {
  const action = parseYaml(fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as Doc;
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs as Record<string, Doc>)) inputs[name] = String(spec.default ?? '');
  for (const [name, value] of Object.entries(withInputs)) {
    if (!(name in inputs)) throw new Error(`action.yml has no input ${name}`);
    inputs[name] = value;
  }
  const expr = (s: string) =>
    s.replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (_, n: string) => {
      if (!(n in inputs)) throw new Error(`action.yml uses an undeclared input ${n}`);
      return inputs[n]!;
    });
  const outputFile = path.join(cwd, `github-output-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(outputFile, '');
  let last: Run = { code: 0, stdout: '', stderr: '' };
  for (const step of (action.runs as Doc).steps as Doc[]) {
    if (step.run === undefined) continue;
    if (step.shell !== 'bash') throw new Error('run steps use shell: bash');
    const env: Record<string, string> = { PATH, GITHUB_OUTPUT: outputFile };
    for (const [k, v] of Object.entries((step.env ?? {}) as Record<string, string>)) env[k] = expr(String(v));
    const script = path.join(cwd, `step-${step.id ?? 'run'}.sh`);
    fs.writeFileSync(script, step.run as string);
    // What `shell: bash` means on a runner.
    last = await run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], { cwd, env });
    if (last.code !== 0) break;
  }
  const outputs = Object.fromEntries(
    fs.readFileSync(outputFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split('=', 2) as [string, string]),
  );
  return { ...last, outputs };
}

t.test('GitHub action: the run steps as a script', async (t) => {
  const action = parseYaml(fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as Doc;
  t.equal(action.runs.using, 'composite');
  const steps = action.runs.steps as Doc[];
  t.match(steps[0], { uses: /^actions\/setup-node@/, with: { 'node-version': '${{ inputs.node-version }}' } }, 'sets up Node.js first');
  const upload = steps.find((s) => String(s.uses ?? '').startsWith('github/codeql-action/upload-sarif@'));
  t.ok(upload, 'uploads SARIF with the code-scanning action');
  t.match(upload?.if, /inputs\.upload-sarif == 'true'/, 'only when asked');
  t.match(upload?.if, /!cancelled\(\)/, 'also after the check step failed');
  t.equal(upload?.with?.sarif_file, '${{ inputs.sarif-file }}', 'the file the check step writes');
  t.equal(action.outputs['exit-code'].value, '${{ steps.check.outputs.exit-code }}');

  const ws = path.join(work, 'workspace');
  fs.mkdirSync(path.join(ws, 'manifests'), { recursive: true });
  fs.copyFileSync(path.join(FIXTURES, 'good.yaml'), path.join(ws, 'manifests', 'good.yaml'));

  const clean = await runAction({ paths: 'manifests/' }, ws);
  t.equal(clean.code, 0, `clean manifests: the step passes${clean.code === 0 ? '' : `\n${clean.stdout}${clean.stderr}`}`);
  t.equal(clean.outputs['exit-code'], '0');
  t.same(fs.readFileSync(npxLog, 'utf8').trim().split('\n'), ['meshguard'], 'npx runs the package input');

  fs.copyFileSync(path.join(FIXTURES, 'bad-cluster.yaml'), path.join(ws, 'manifests', 'bad-cluster.yaml'));
  const bad = await runAction({ paths: 'manifests/good.yaml\nmanifests/bad-cluster.yaml', format: 'junit', package: 'meshguard@0.1.0' }, ws);
  t.equal(bad.code, 1, 'findings the cluster would deny: the step fails');
  t.equal(bad.outputs['exit-code'], '1', 'and says why in its output');
  t.match(bad.stdout, /^<\?xml[\s\S]*<testsuites[\s\S]*MG103/, 'the log in the format asked for');
  t.match(fs.readFileSync(npxLog, 'utf8'), /meshguard@0\.1\.0\n$/, 'a pinned package is what npx runs');

  const unwritable = await runAction({ paths: 'manifests/', 'upload-sarif': 'true', 'sarif-file': 'manifests' }, ws);
  t.equal(unwritable.code, 2, 'a SARIF file that cannot be written fails the step as unusable');
  t.match(unwritable.stdout, /::error::meshguard could not write manifests/, 'with an annotation that says so');
  const withSarif = await runAction({ paths: 'manifests/', 'upload-sarif': 'true', 'sarif-file': 'out/mg.sarif' }, ws);
  t.equal(withSarif.code, 1, 'still fails on the findings');
  const report = JSON.parse(fs.readFileSync(path.join(ws, 'out', 'mg.sarif'), 'utf8')) as Doc;
  t.equal(report.version, '2.1.0', 'a SARIF 2.1.0 report is written for the upload step');
  t.ok((report.runs[0].results as Doc[]).some((r) => r.ruleId === 'MG103'), 'with the findings');
  t.match(withSarif.stdout, /MG103/, 'the log stays text');

  // --state: the cluster view for a workload whose cluster resource is not among the paths.
  const ws2 = path.join(work, 'workspace-state');
  fs.mkdirSync(ws2);
  fs.copyFileSync(path.join(FIXTURES, 'review-state.yaml'), path.join(ws2, 'state.yaml'));
  fs.copyFileSync(path.join(FIXTURES, 'state-pods.yaml'), path.join(ws2, 'pods.yaml'));
  const direct = await run(process.execPath, [CLI, 'check', '--format', 'json', '--state', 'state.yaml', 'pods.yaml'], { cwd: ws2 });
  const viaAction = await runAction({ paths: 'pods.yaml', state: 'state.yaml', format: 'json' }, ws2);
  t.equal(viaAction.code, direct.code, 'the same exit code as meshguard check --state');
  t.same(JSON.parse(viaAction.stdout).findings, JSON.parse(direct.stdout).findings, 'the same findings: --state reached the check');
});

t.test('GitLab CI: the documented job script produces a JUnit report', async (t) => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'ci.md'), 'utf8');
  const block = [...doc.matchAll(/```yaml\n(# \.gitlab-ci\.yml\n[\s\S]*?)```/g)].map((m) => m[1]!);
  t.equal(block.length, 1, 'docs/ci.md has one .gitlab-ci.yml example');
  const ci = parseYaml(block[0]!) as Doc;
  const job = ci.meshguard as Doc;
  t.match(job.image, /^node:24/, 'runs on Node.js 24');
  const report = job.artifacts.reports.junit as string;
  t.equal(job.artifacts.when, 'always', 'the report is kept when the job fails');

  const ws = path.join(work, 'gitlab');
  fs.mkdirSync(path.join(ws, 'manifests'), { recursive: true });
  fs.copyFileSync(path.join(FIXTURES, 'bad-cluster.yaml'), path.join(ws, 'manifests', 'bad.yaml'));
  const script = path.join(ws, 'script.sh');
  fs.writeFileSync(script, (job.script as string[]).join('\n') + '\n');
  // GitLab runs the script lines in one shell that stops at the first failing line.
  const r = await run('bash', ['-eo', 'pipefail', script], { cwd: ws, env: { PATH } });
  t.equal(r.code, 1, 'findings the cluster would deny fail the job');
  const xml = fs.readFileSync(path.join(ws, report), 'utf8');
  t.match(xml, /^<\?xml[\s\S]*<testsuites name="meshguard"[\s\S]*<failure type="MG103"/, 'the JUnit report GitLab reads');
});

t.test('kubectl meshguard: found and run by kubectl', async (t) => {
  const env = { PATH, KUBECONFIG: path.join(work, 'no-kubeconfig') };
  const list = await run('kubectl', ['plugin', 'list'], { env });
  t.match(list.stdout, new RegExp(`${binDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/kubectl-meshguard`), 'kubectl plugin list shows it');
  const help = await run('kubectl', ['meshguard', '--help'], { env });
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: kubectl meshguard /, 'help shows the command as typed');
  const check = await run('kubectl', ['meshguard', 'check', path.join(FIXTURES, 'bad-cluster.yaml')], { env });
  t.equal(check.code, 1, 'exit codes pass through kubectl');
  t.match(check.stdout, /MG103/);
  const plain = await run('meshguard', ['--help'], { env });
  t.match(plain.stdout, /Usage: meshguard /, 'and as meshguard it is still meshguard');
});
