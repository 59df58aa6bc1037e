// `meshguard check`: what the cluster would decide for every manifest, as findings.
import { Option, type Command } from 'commander';
import { MG_ERR_USAGE_FLAG } from '../policies/errors.js';
import { loadManifests } from './inputs.js';
import { addEnforcementOption, addOfflineOptions, loadConfig, loadState, numberOption, type OfflineOptions } from './options.js';
import { buildView, checkDocuments, crossObjectFindings, summarize } from './run-checks.js';
import { checkFiles } from './check-files.js';
import { renderJson } from './formats/json.js';
import { renderJunit } from './formats/junit.js';
import { renderSarif } from './formats/sarif.js';
import { renderText } from './formats/text.js';
import { EXIT, VERSION } from './exit.js';

const FORMATS = ['text', 'json', 'junit', 'sarif'] as const;
type Format = (typeof FORMATS)[number];

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
    if (!(FORMATS as readonly string[]).includes(opts.format)) throw MG_ERR_USAGE_FLAG('--format', opts.format, `use ${FORMATS.join(', ')}`);
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
    const format = opts.format as Format;
    const text =
      format === 'json'
        ? renderJson(result)
        : format === 'junit'
          ? renderJunit(result)
          : format === 'sarif'
            ? renderSarif(result, VERSION)
            : renderText(result, process.stdout.isTTY === true && !process.env.NO_COLOR);
    process.stdout.write(text);
    process.exitCode = summarize(result).deny > 0 ? EXIT.findings : EXIT.ok;
  });
}
