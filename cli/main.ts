#!/usr/bin/env -S node --max-semi-space-size=16 --min-semi-space-size=16
// The shebang's node flags: 16 MB semi-spaces (the image's webhook runs with 4) because
// `check` keeps only the index's objects and findings, and with 4 MB each file's parse
// outlived the young generation and its garbage was promoted (100k documents: 640-680 MB
// peak RSS with 4 MB, 485-520 MB with 16, docs/operations.md); 16 MB from the start, as V8
// otherwise starts them at 1 MB and grows them while the first files are parsed, promoting
// what a larger young generation would have let die (10k documents: 30 scavenges instead
// of 41). No old-generation cap: node's default follows the machine's or container's
// memory, and a cap here would override the one a CI job sets in NODE_OPTIONS (node applies
// its command line last, and a --max-old-space-size-percentage wins over any
// --max-old-space-size). `env -S` splits the flags (GNU coreutils, BSD and macOS env).
// The meshguard command. Each subcommand lives in its own module and registers itself;
// only the module of the command being run is loaded, so `check` in a CI step does not
// pay for the server's fastify, Kubernetes client and certificate libraries.
import { Command, CommanderError } from 'commander';
import { enableCompileCache } from 'node:module';
import { basename } from 'node:path';
import { EXIT, VERSION } from './exit.js';
import { loadOnlyUsedClientNode } from '../server/client-node-loading.js';
import { reportError } from './report-error.js';
import { watchOutput } from './output-errors.js';

type Registrar = { register(program: Command): void };

const COMMANDS: Record<string, () => Promise<Registrar>> = {
  serve: () => import('./serve.js'),
  'sync-status': () => import('./sync-status.js'),
  check: () => import('./check.js'),
  analyze: () => import('./analyze.js'),
  inject: () => import('./inject.js'),
  review: () => import('./review.js'),
  certs: () => import('./certs.js'),
  rules: () => import('./rules.js'),
};

// Installed twice (package.json bin): as `meshguard`, and as `kubectl-meshguard`, which
// kubectl runs for `kubectl meshguard ...`; help then shows the command as typed.
const invokedAs = basename(process.argv[1] ?? '') === 'kubectl-meshguard' ? 'kubectl meshguard' : 'meshguard';

const program = new Command();
program
  .name(invokedAs)
  .description('Admission webhook and offline checker for service-mesh integration of stateful clusters')
  .version(VERSION)
  // Usage errors are printed once, in the catalog's one-line form, by reportError below.
  .configureOutput({ outputError: () => {} })
  .exitOverride();

const named = process.argv.slice(2).find((a) => !a.startsWith('-'));
/**
 * The commands that never load @kubernetes/client-node (test/cli/client-node-loading.test.ts
 * runs each and records none): with a resolve hook registered, node resolves every import
 * of the process through it, ~47M instructions of `check` on one file (7% of its start-up).
 */
const WITHOUT_CLIENT_NODE: ReadonlySet<string> = new Set(['check', 'inject', 'review', 'certs', 'rules']);
// Before any command imports @kubernetes/client-node: `serve` then loads KubeConfig and the
// informers without the ~750 generated models (server/client-node-loading.ts). Help and
// unknown commands load every command's module, so they register it too.
if (named === undefined || !WITHOUT_CLIENT_NODE.has(named)) loadOnlyUsedClientNode();
// V8's code for the command's modules (~90 for `check`), kept on disk by node (in
// os.tmpdir()/node-compile-cache, or NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns
// it off) and reused while they are unchanged: ~17 ms of the ~150 ms `check` spends before
// its first file. Where the directory cannot be written node goes on without it. Not for
// `serve`, a long-running pod with no start-up to save, and not when V8 collects coverage,
// which code from the cache makes less precise (node's module docs).
if (named !== 'serve' && !process.env.NODE_V8_COVERAGE) enableCompileCache();
// A report's reader may close early or the disk fill up (cli/output-errors.ts); the servers
// log through pino, whose destination has its own error handling.
if (named !== 'serve' && named !== 'sync-status') watchOutput();
try {
  // Help and unknown commands need the full list; a known command needs itself; --version
  // alone needs none (loading all eight took ~1.4 s and ~150 MB, for one line).
  const flags = process.argv.slice(2);
  const versionOnly = !named && flags.some((a) => a === '--version' || a === '-V') && !flags.some((a) => a === '--help' || a === '-h');
  const wanted = named && named in COMMANDS ? [named] : versionOnly ? [] : Object.keys(COMMANDS);
  for (const name of wanted) (await COMMANDS[name]!()).register(program);
  await program.parseAsync(process.argv);
} catch (err) {
  // Help and --version are not failures; help shown because no command was given is a
  // usage error whose explanation is the help itself; every other error is one line.
  if (err instanceof CommanderError && err.exitCode === 0) process.exitCode = EXIT.ok;
  else if (err instanceof CommanderError && err.code === 'commander.help') process.exitCode = EXIT.unusable;
  else process.exitCode = reportError(err, named && named in COMMANDS ? named : undefined);
}
