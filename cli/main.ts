#!/usr/bin/env node
// The meshguard command. Each subcommand lives in its own module and registers itself.
import { Command, CommanderError } from 'commander';
import { register as registerCerts } from './certs.js';
import { register as registerCheck } from './check.js';
import { register as registerInject } from './inject.js';
import { register as registerReview } from './review.js';
import { EXIT, VERSION } from './exit.js';
import { InputError } from './inputs.js';

const program = new Command();
program
  .name('meshguard')
  .description('Admission webhook and offline checker for service-mesh integration of stateful clusters')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

registerCheck(program);
registerInject(program);
registerReview(program);
registerCerts(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version are not failures; every usage error is exit 2 (DESIGN.md).
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.unusable;
  } else if (err instanceof InputError) {
    process.stderr.write(`meshguard: ${err.message}\n`);
    process.exitCode = EXIT.unusable;
  } else {
    process.stderr.write(`meshguard: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.unusable;
  }
}
