// `make run` is a newcomer's first minute: it must start on the example cluster view and
// print requests whose answers show what meshguard is for. This runs the Makefile's own
// `run` command (with free ports and a temporary dev-certificate directory appended),
// then pastes the printed commands into bash exactly as printed.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, waitFor } from './fixtures/helpers.js';

const run = promisify(execFile);

const makefile = readFileSync(join(ROOT, 'Makefile'), 'utf8');
const recipe = /^run:.*\n\t(node .*)$/m.exec(makefile)?.[1];
if (!recipe) throw new Error('Makefile has no `run:` target whose recipe starts node');
const [, ...args] = recipe.split(' ');

const dir = t.testdir();
const child = spawn(process.execPath, [...args, '--port', '0', '--metrics-port', '0', '--dev-certs-dir', join(dir, 'certs')], {
  cwd: ROOT,
  stdio: ['ignore', 'ignore', 'pipe'],
});
t.teardown(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
});
let stderr = '';
child.stderr!.on('data', (c) => (stderr += String(c)));
await waitFor(() => /Try:[\s\S]*\/validate\n/.test(stderr) || child.exitCode !== null, 'the demo requests', 120_000);
if (child.exitCode !== null) throw new Error(`make run's command exited ${child.exitCode}:\n${stderr}`);

const commands = stderr.split('\n').filter((l) => l.startsWith('  curl ')).map((l) => l.trim());
const comments = stderr.split('\n').filter((l) => l.startsWith('  # '));
const paste = async (line: string) => JSON.parse((await run('bash', ['-c', line], { cwd: dir, timeout: 60_000 })).stdout) as Record<string, any>;

t.test('make run serves the example state and prints two requests, each explained', async (t) => {
  t.match(recipe, /serve --state examples\/state\.yaml/, 'the demo starts on examples/state.yaml');
  t.equal(commands.length, 2, `two curl commands:\n${stderr}`);
  t.equal(comments.length, 2, 'each with a comment line');
  t.match(commands[0], /\/mutate /, 'first: the mutating webhook');
  t.match(commands[1], /\/validate$/, 'second: the validating webhook');
});

t.test('the first answer is a patched StatefulSet: Raft ports excluded, inject label added', async (t) => {
  const r = await paste(commands[0]!);
  t.equal(r.allowed, true);
  const ops = r.patch as { op: string; path: string; value: unknown }[];
  const value = (path: string) => ops.find((o) => o.path === path)?.value;
  t.equal(value('/spec/template/metadata/annotations/traffic.sidecar.istio.io~1excludeInboundPorts'), '9017,9021', 'inbound Raft ports excluded');
  t.equal(value('/spec/template/metadata/annotations/traffic.sidecar.istio.io~1excludeOutboundPorts'), '9017,9021', 'outbound Raft ports excluded');
  t.equal(value('/spec/template/metadata/labels/sidecar.istio.io~1inject'), 'true', 'label form of the inject switch added');
});

t.test('the second answer refuses a pod: mixed injection, N/M pods meshed', async (t) => {
  const r = await paste(commands[1]!);
  t.equal(r.response.allowed, false);
  t.equal(r.response.status.code, 403);
  t.match(r.response.status.message, /MG201/);
  t.match(r.response.status.message, /\b\d+\/\d+ of its pods are meshed/);
  t.match(r.response.status.message, /Mixed injection/);
});
