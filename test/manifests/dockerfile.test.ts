// The image runs meshguard the way the docs and the benchmark say: exec-form ENTRYPOINT,
// the young generation capped, the old generation sized from the container's limit, a numeric non-root user; `make run` uses the same flags.
import t from 'tap';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
const makefile = readFileSync(new URL('Makefile', root), 'utf8');

t.test('ENTRYPOINT: exec form, node with a capped young generation, the built CLI', async (t) => {
  const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  t.ok(m, 'an exec-form ENTRYPOINT (signals reach node, not a shell)');
  const argv = JSON.parse(m![1]!) as string[];
  t.equal(argv[0], 'node');
  t.equal(argv.at(-1), '/app/dist/cli/main.js');
  t.ok(argv.includes('--max-semi-space-size=4'), 'young generation capped (docs/operations.md, bench/admission-load.ts)');
  t.ok(argv.includes('--max-old-space-size-percentage=50'), 'old generation half the container memory limit (test/fuzz/admission.test.ts)');
  const flags = argv.filter((a) => a.startsWith('--'));
  const run = /^run:.*\n\tnode (.*) dist\/cli\/main\.js serve( .*)?$/m.exec(makefile);
  t.ok(run, 'make run starts node on dist/cli/main.js');
  t.same(run![1]!.split(' '), flags, 'make run uses the same node flags as the image');
});

t.test('the image runs as a numeric non-root user', async (t) => {
  t.match(dockerfile, /^USER 65532:65532$/m);
});

// One runtime everywhere: the image's base, the Node.js `make` pins in tools/node and the
// engines field name the same major (Node 24 LTS; Node 20 is end of life).
t.test('the image, make and package.json run the same Node.js major', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
  const tools = JSON.parse(readFileSync(new URL('tools/node/package.json', root), 'utf8')) as { optionalDependencies: Record<string, string> };
  const base = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(dockerfile);
  t.ok(base, 'the Dockerfile names its Node.js base image by major version');
  const pinned = new Set(Object.values(tools.optionalDependencies));
  t.equal(pinned.size, 1, 'every platform package of tools/node pins the same version');
  const [version] = [...pinned] as [string];
  const major = version.split('.')[0];
  t.equal(base![1], major, `image base node:${base![1]} is the pinned Node.js ${version}`);
  t.equal(pkg.engines.node, `>=${major}`, 'engines asks for the pinned major');
  t.equal(major, '24', 'Node 24 LTS (supported until April 2028)');
  t.equal(process.versions.node.split('.')[0], major, 'the tests themselves run on the pinned Node.js');
});

// `npx meshguard check` starts from the shebang, not the image: it must cap the young
// generation too, and bound the old generation as the image does. Its semi-spaces are
// 16 MB, not the webhook's 4: `check` keeps only the index's objects and findings, and with
// 4 MB each file's parse outlived the young generation (100k documents: 640-680 MB peak RSS
// against 485-520 MB, docs/operations.md).
t.test('the CLI shebang runs node with the image flags, with the young generation sized for check', async (t) => {
  const shebang = readFileSync(new URL('cli/main.ts', root), 'utf8').split('\n')[0]!;
  const m = /^#!\/usr\/bin\/env -S node( .*)?$/.exec(shebang);
  t.ok(m, `env -S splits the node flags (${shebang})`);
  const argv = JSON.parse(/^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)![1]!) as string[];
  const semi = (f: string) => f.startsWith('--max-semi-space-size=');
  const flags = (m?.[1] ?? '').trim().split(' ');
  t.same(flags.filter((f) => !semi(f)), argv.filter((a) => a.startsWith('--') && !semi(a)), 'the ENTRYPOINT\'s other flags');
  t.same(flags.filter(semi), ['--max-semi-space-size=16'], 'a capped young generation, 16 MB semi-spaces');
});
