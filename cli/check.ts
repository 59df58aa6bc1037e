// `meshguard check`: what the cluster would decide for every manifest, as findings.
import { Option, type Command } from 'commander';
import { addEnforcementOption, addOfflineOptions, loadConfig, loadState, numberOption, type OfflineOptions } from './options.js';
import { summarize } from './run-checks.js';
import { checkFiles } from './check-files.js';
import { colourOnStdout, FORMATS, parseFormat, render } from './formats/render.js';
import { EXIT, VERSION } from './exit.js';

export function register(program: Command): void {
  addEnforcementOption(addOfflineOptions(
    program
      .command('check')
      .description('check manifests the way the webhook would judge them (exit 0 nothing denied, 1 a finding the cluster would deny, 2 unreadable input or usage)')
      .argument('<paths...>', 'files or directories (recursive .yaml/.yml/.json), or - for stdin')
      .option('-f, --format <format>', `output format: ${FORMATS.join('|')}`, 'text')
      .option('-j, --jobs <n>', 'threads for large inputs (default: half the CPUs available)', numberOption(1, 1024))
      // Per-object rules only: what the benchmark compares the cross-object rules' cost against.
      .addOption(new Option('--no-cross-object', 'skip the cross-object rules (MG3xx)').hideHelp()),
  )).action(async (paths: string[], opts: OfflineOptions & { format: string; jobs?: number; enforcement?: string; crossObject: boolean }) => {
    const format = parseFormat(opts.format);
    const [config, state] = await Promise.all([loadConfig(opts.config, opts.enforcement), loadState(opts.state)]);
    // Standard input is read like a file (in pieces when large), held for the run.
    const result = await checkFiles(paths, state, config, opts.namespace, { jobs: opts.jobs, crossObject: opts.crossObject });
    process.stdout.write(render(format, result, VERSION, colourOnStdout()));
    process.exitCode = summarize(result).deny > 0 ? EXIT.findings : EXIT.ok;
  });
}
