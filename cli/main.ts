#!/usr/bin/env node
// The meshguard command. Each subcommand lives in its own module and registers itself.
import { Command } from 'commander';

const program = new Command();
program
  .name('meshguard')
  .description('Admission webhook and offline checker for service-mesh integration of stateful clusters')
  .version('0.1.0')
  .showHelpAfterError();

await program.parseAsync(process.argv);
