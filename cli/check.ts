// `meshguard check`: what the cluster would decide for every manifest, as findings.
import { Option, type Command } from 'commander';
import { loadManifests } from './inputs.js';
import { addEnforcementOption, addOfflineOptions, loadConfig, loadState, numberOption, type OfflineOptions } from './options.js';
import { buildView, checkDocuments, crossObjectFindings, summarize } from './run-checks.js';
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
    let result;
    if (paths.includes('-')) {
      // stdin is read once, in this thread
      const docs = await loadManifests(paths);
      result = checkDocuments(docs, buildView(state, docs, opts.namespace), config, opts.namespace);
      if (opts.crossObject) {
        const sources = [...state.map((d) => ({ d, input: false })), ...docs.map((d) => ({ d, input: true }))];
        const located = sources.map(({ d, input }) => ({ object: d.object, file: d.file, line: d.lineOf([]), input }));
        result.findings.push(...crossObjectFindings(located, config, { namespace: opts.namespace }));
      }
    } else result = await checkFiles(paths, state, config, opts.namespace, opts.jobs, opts.crossObject);
    process.stdout.write(render(format, result, VERSION, colourOnStdout()));
    process.exitCode = summarize(result).deny > 0 ? EXIT.findings : EXIT.ok;
  });
}
