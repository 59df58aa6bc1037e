// `meshguard inject`: the documents as the mutating webhook would leave them. Edits go
// into the parsed YAML document, so comments and key order of untouched parts survive.
import type { Command } from 'commander';
import jsonpatch from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { judge } from '../policies/enforcement.js';
import type { KubeObject } from '../policies/k8s.js';
import { isPlainObject } from '../policies/k8s.js';
import { mutateObject } from '../policies/review.js';
import { MG_ERR_INPUT_OBJECT, MG_ERR_INPUT_YAML } from '../policies/errors.js';
import type { PolicyConfig } from '../policies/config.js';
import { parseManifests, readManifestFiles, type LoadedFile, type SourceDoc } from './inputs.js';
import { addOfflineOptions, loadConfig, loadState, type OfflineOptions } from './options.js';
import { buildView, namespaceOf, type LocatedFinding } from './run-checks.js';
import { renderText } from './formats/text.js';
import { EXIT } from './exit.js';
import { applyToDocument } from './yaml-edit.js';

/** Every document of `files` as the mutating webhook would leave it, and the findings on the way. */
export const injectFiles = (
  files: readonly LoadedFile[],
  state: readonly SourceDoc[],
  config: PolicyConfig,
  namespace: string,
): { text: string; findings: LocatedFinding[]; documents: number } => {
  const parsed = files.map((f) => ({ f, docs: parseManifests(f.text, f.file) }));
  const all: SourceDoc[] = parsed.flatMap((p) => p.docs);
  const view = buildView(state, all, namespace);
  const out: string[] = [];
  const located: LocatedFinding[] = [];
  for (const { f, docs } of parsed) {
    // merge: true reads `<<` as kubectl does (see MANIFEST_SCHEMA in inputs.ts).
    const yamlDocs = parseAllDocuments(f.text, { merge: true });
    if (!Array.isArray(yamlDocs)) throw MG_ERR_INPUT_YAML(f.file, undefined, 'cannot parse as YAML');
    for (const sd of docs) {
      const obj = sd.object;
      if (typeof obj.kind !== 'string') continue;
      const ns = namespaceOf(obj, namespace);
      const m = mutateObject(obj, ns, view, config);
      if (m.type === 'unreadable') throw MG_ERR_INPUT_OBJECT(sd.file, sd.lineOf([]), `${obj.kind} ${obj.metadata?.name ?? ''}: ${m.why}`);
      if (m.type === 'skipped') continue;
      const nsLabels = view.getNamespace(ns)?.metadata?.labels;
      for (const finding of judge(m.findings, nsLabels, config.enforcement))
        located.push({ ...finding, file: sd.file, line: sd.lineOf(finding.path), kind: obj.kind, namespace: ns, name: obj.metadata?.name ?? '' });
      if (m.mutated) applyToDocument(yamlDocs[sd.index]!, sd.prefix, jsonpatch.compare(obj as object, m.mutated as KubeObject));
    }
    for (const d of yamlDocs) {
      if (d.contents === null && !isPlainObject(d.toJS())) continue;
      const text = d.toString();
      out.push(out.length > 0 && !text.startsWith('---') ? `---\n${text}` : text);
    }
  }
  return { text: out.join(''), findings: located, documents: all.length };
};

export function register(program: Command): void {
  addOfflineOptions(
    program
      .command('inject')
      .description('print the documents as the mutating webhook would leave them (YAML, comments kept); findings on stderr')
      .argument('<paths...>', 'files or directories (recursive .yaml/.yml/.json), or - for stdin'),
  ).action(async (paths: string[], opts: OfflineOptions) => {
    const [config, state, files] = await Promise.all([loadConfig(opts.config), loadState(opts.state), readManifestFiles(paths)]);
    const { text, findings, documents } = injectFiles(files, state, config, opts.namespace);
    process.stdout.write(text);
    if (findings.length > 0)
      process.stderr.write(renderText({ findings, documents, files: files.length, judged: documents }, process.stderr.isTTY === true && !process.env.NO_COLOR));
    process.exitCode = EXIT.ok;
  });
}
