// The image runs meshguard the way the docs and the benchmark say: exec-form ENTRYPOINT,
// the young generation capped, the old generation sized from the container's limit (in
// NODE_OPTIONS, which a Deployment can replace), a numeric non-root user; `make run` uses
// the same flags.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { containerNodeOptions } from '../../bench/servers.js';

const root = new URL('../../', import.meta.url);
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
const makefile = readFileSync(new URL('Makefile', root), 'utf8');

/** The image's default NODE_OPTIONS (its ENV line), split into flags. */
const imageNodeOptions = (): string[] => /^ENV NODE_OPTIONS=(.*)$/m.exec(dockerfile)?.[1]?.split(' ') ?? [];
const entrypoint = (): string[] => JSON.parse(/^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)![1]!) as string[];

t.test('ENTRYPOINT: exec form, node with a capped young generation, the built CLI', async (t) => {
  const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  t.ok(m, 'an exec-form ENTRYPOINT (signals reach node, not a shell)');
  const argv = JSON.parse(m![1]!) as string[];
  t.equal(argv[0], 'node');
  t.equal(argv.at(-1), '/app/dist/cli/main.js');
  t.ok(argv.includes('--max-semi-space-size=4'), 'young generation capped (docs/operations.md, bench/admission-load.ts)');
  t.same(imageNodeOptions(), ['--max-old-space-size-percentage=50'], 'old generation half the container memory limit (test/fuzz/admission.test.ts), in NODE_OPTIONS');
  t.notOk(argv.some((a) => a.startsWith('--max-old-space-size')), 'no heap cap on the command line, where it would override the NODE_OPTIONS a Deployment sets');
  const flags = [...argv.filter((a) => a.startsWith('--')), ...imageNodeOptions()];
  const run = /^run:.*\n\tnode (.*) dist\/cli\/main\.js serve( .*)?$/m.exec(makefile);
  t.ok(run, 'make run starts node on dist/cli/main.js');
  t.same(run![1]!.split(' '), flags, 'make run uses the same node flags as the image');
});

// The manifests and the chart set NODE_OPTIONS, which replaces the image's: by default to
// the image's own value, so the heap follows the memory limit there too.
t.test('manifests and chart give each container the image\'s NODE_OPTIONS by default', async (t) => {
  t.same(containerNodeOptions('webhook'), imageNodeOptions(), 'manifests: webhook');
  t.same(containerNodeOptions('status-syncer'), imageNodeOptions(), 'manifests: status syncer');
  const values = parse(readFileSync(new URL('charts/meshguard/values.yaml', root), 'utf8')) as { nodeOptions: Record<string, string> };
  t.same(values.nodeOptions, { webhook: imageNodeOptions().join(' '), statusSyncer: imageNodeOptions().join(' ') }, 'chart values');
});

// What an operator who sets a fixed heap in NODE_OPTIONS gets: node with the image's
// command line must honour it (command-line flags are applied after NODE_OPTIONS, so a cap
// on the ENTRYPOINT used to win, silently, over any --max-old-space-size set here).
t.test('a --max-old-space-size in NODE_OPTIONS takes effect under the image\'s command line', async (t) => {
  const flags = entrypoint().filter((a) => a.startsWith('--'));
  const heapLimitMb = (nodeOptions: string) => {
    const r = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit / 2 ** 20))'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: nodeOptions },
    });
    t.equal(r.status, 0, r.stderr);
    return Number(r.stdout);
  };
  const fixed = heapLimitMb('--max-old-space-size=300');
  // The limit is the old generation plus the young generation's semi-spaces.
  t.ok(fixed >= 300 && fixed < 340, `heap limit ${fixed} MB follows --max-old-space-size=300`);
  const halfMachine = heapLimitMb(imageNodeOptions().join(' '));
  t.not(Math.round(halfMachine), Math.round(fixed), `the image's default (${halfMachine} MB here, half of this machine's memory) is another cap`);
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
// generation too. Its semi-spaces are 16 MB, not the webhook's 4: `check` keeps only the
// index's objects and findings, and with 4 MB each file's parse outlived the young
// generation (100k documents: 640-680 MB peak RSS against 485-520 MB, docs/operations.md),
// and from the start (fewer scavenges while the first files are parsed). It sets no heap
// cap: the one a CI job sets in NODE_OPTIONS must take effect.
const shebangFlags = (): string[] => {
  const shebang = readFileSync(new URL('cli/main.ts', root), 'utf8').split('\n')[0]!;
  const m = /^#!\/usr\/bin\/env -S node( .*)?$/.exec(shebang);
  if (!m) throw new Error(`env -S must split the node flags (${shebang})`);
  return (m[1] ?? '').trim().split(' ');
};

t.test('the CLI shebang runs node with the image\'s young-generation cap, sized for check', async (t) => {
  const semi = (f: string) => f.startsWith('--max-semi-space-size=') || f.startsWith('--min-semi-space-size=');
  const flags = shebangFlags();
  t.same(flags.filter(semi), ['--max-semi-space-size=16', '--min-semi-space-size=16'], 'a capped young generation, 16 MB semi-spaces from the start');
  const image = entrypoint().filter((a) => a.startsWith('--') && !semi(a));
  t.same(flags.filter((f) => !semi(f)), image, "the image's command-line flags, and no heap cap");
});

t.test('a heap cap set in NODE_OPTIONS takes effect under the shebang\'s flags', async (t) => {
  const limitMb = (nodeOptions: string) => {
    const r = spawnSync(process.execPath, [...shebangFlags(), '-p', "require('node:v8').getHeapStatistics().heap_size_limit / 1048576"], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: nodeOptions },
    });
    t.equal(r.status, 0, r.stderr);
    return Number(r.stdout.trim());
  };
  // The limit is the old generation plus the young one (3 x 16 MB semi-spaces).
  const capped = limitMb('--max-old-space-size=300');
  t.ok(capped >= 300 && capped < 400, `--max-old-space-size=300: heap limit ${capped} MB`);
  const half = limitMb('--max-old-space-size-percentage=50');
  const quarter = limitMb('');
  t.ok(half > quarter, `--max-old-space-size-percentage=50 (${half} MB) above node's default (${quarter} MB)`);
});
