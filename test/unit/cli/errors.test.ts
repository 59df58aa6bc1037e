// The error catalog (policies/errors.ts) and how the CLI prints it (cli/report-error.ts).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { ERROR_CATALOG, EXIT, InputError, MeshguardError, MG_ERR_CONFIG, MG_ERR_INPUT_UTF8, MG_ERR_USAGE_FLAG } from '../../../policies/errors.js';
import { asCatalogError, errorLine, reportError } from '../../../cli/report-error.js';

t.test('codes are unique, MG_ERR_*, and the README table lists each with its exit code', async (t) => {
  const codes = ERROR_CATALOG.map((e) => e.code);
  t.equal(new Set(codes).size, codes.length, 'no code twice');
  for (const e of ERROR_CATALOG) t.match(e.code, /^MG_ERR_[A-Z0-9_]+$/);
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  for (const e of ERROR_CATALOG) t.match(readme, new RegExp(`^\\| \`${e.code}\` \\| ${e.exitCode} \\| `, 'm'), `${e.code} in README`);
});

t.test('constructors carry code, exit code, and file:line for input errors', async (t) => {
  const utf8 = MG_ERR_INPUT_UTF8('a.yaml', 3);
  t.type(utf8, InputError);
  t.match(utf8, { code: 'MG_ERR_INPUT_UTF8', exitCode: EXIT.unusable, file: 'a.yaml', line: 3 });
  t.match(utf8.message, /^a\.yaml:3: not valid UTF-8/);
  const flag = MG_ERR_USAGE_FLAG('--dns', '', 'expected a DNS name');
  t.equal(flag.message, '--dns "": expected a DNS name', 'an empty value is visible');
  t.equal(MG_ERR_USAGE_FLAG.code, 'MG_ERR_USAGE_FLAG');
});

t.test('every error prints as one line ending in its code', async (t) => {
  t.equal(errorLine(MG_ERR_CONFIG('c.yaml:1: a\nc.yaml:2: b')), 'meshguard: c.yaml:1: a; c.yaml:2: b [MG_ERR_CONFIG]\n');
  const invalid = new CommanderError(2, 'commander.invalidArgument', "error: option '--ip <address>' argument 'x' is invalid. expected an IP");
  t.match(asCatalogError(invalid, 'certs'), { code: 'MG_ERR_USAGE_FLAG', message: /^option '--ip <address>' argument 'x' is invalid\. expected an IP \(see meshguard certs --help\)$/ });
  t.match(asCatalogError(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'")), { code: 'MG_ERR_USAGE', exitCode: 2 });
  const bug = asCatalogError(new TypeError('x is undefined'));
  t.type(bug, MeshguardError);
  t.match(bug, { code: 'MG_ERR_INTERNAL', exitCode: 2 });
});

t.test('reportError writes the line and returns the exit code; a stack only for a bug and on request', async (t) => {
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => (written.push(s), true)) as typeof process.stderr.write;
  const debug = process.env.MESHGUARD_DEBUG;
  t.teardown(() => {
    process.stderr.write = write;
    if (debug === undefined) delete process.env.MESHGUARD_DEBUG;
    else process.env.MESHGUARD_DEBUG = debug;
  });
  delete process.env.MESHGUARD_DEBUG;
  t.equal(reportError(MG_ERR_INPUT_UTF8('a.yaml', 2)), 2);
  t.equal(reportError(new Error('boom')), 2);
  process.env.MESHGUARD_DEBUG = '1';
  reportError(new Error('boom'));
  process.stderr.write = write;
  t.equal(written[0], 'meshguard: a.yaml:2: not valid UTF-8 (kubectl refuses it too); save the file as UTF-8 [MG_ERR_INPUT_UTF8]\n');
  t.equal(written[1], 'meshguard: boom [MG_ERR_INTERNAL]\n');
  t.equal(written.length, 4, 'the stack follows the line only with MESHGUARD_DEBUG');
  t.match(written[3], /^Error: boom\n\s+at /);
});
