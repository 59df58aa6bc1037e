// `meshguard review`: one AdmissionReview in, exactly the server's answer out.
import type { Command } from 'commander';
import { admit, type WebhookKind } from '../policies/admission.js';
import { MG_ERR_INPUT_EMPTY, MG_ERR_USAGE_FLAG } from '../policies/errors.js';
import { readManifestFiles, parseManifests } from './inputs.js';
import { addEnforcementOption, addOfflineOptions, loadConfig, loadState, type OfflineOptions } from './options.js';
import { buildView } from './run-checks.js';
import { EXIT } from './exit.js';

/**
 * The review as the server reads it: JSON is parsed as the server parses a body (so the
 * same bytes get the same answer at any nesting depth, duplicate keys included); anything
 * else is read as one YAML document.
 */
const readReview = (text: string, file: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    const docs = parseManifests(text, file);
    if (docs.length !== 1) throw MG_ERR_INPUT_EMPTY(file, `expected exactly one AdmissionReview, found ${docs.length} documents`);
    return docs[0]!.object;
  }
};

export function register(program: Command): void {
  addEnforcementOption(addOfflineOptions(
    program
      .command('review')
      .description('answer one AdmissionReview as the webhook would (exit 0 when a response was produced, 2 on unusable input)')
      .requiredOption('--webhook <kind>', 'which webhook answers: mutate|validate')
      .argument('<file>', 'the AdmissionReview (JSON or YAML), or - for stdin'),
  )).action(async (file: string, opts: OfflineOptions & { webhook: string; enforcement?: string }) => {
    if (opts.webhook !== 'mutate' && opts.webhook !== 'validate') throw MG_ERR_USAGE_FLAG('--webhook', opts.webhook, 'use mutate or validate');
    const [config, state, files] = await Promise.all([loadConfig(opts.config, opts.enforcement), loadState(opts.state), readManifestFiles([file])]);
    // A directory is expanded like check's inputs: it must come down to exactly one file.
    if (files.length !== 1) throw MG_ERR_INPUT_EMPTY(file, `expected one AdmissionReview file, found ${files.length} manifest files`);
    const f = files[0]!;
    const view = buildView(state, []);
    // With analysis.admissionWarnings, the cross-object rules read --state as the webhook reads its informers
    // (only what was given: a rule never concludes from an absence there).
    const outcome = admit(readReview(f.text, f.file), opts.webhook as WebhookKind, { view, config, analysis: { index: view, complete: false } });
    process.stdout.write(JSON.stringify(outcome.review, null, 2) + '\n');
    if (outcome.decision === 'invalid' && !outcome.request.uid) {
      process.stderr.write(`meshguard: ${f.file}: ${outcome.review.response.status?.message ?? 'not an AdmissionReview'}\n`);
      process.exitCode = EXIT.unusable;
    }
  });
}
