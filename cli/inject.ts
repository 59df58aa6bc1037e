// `meshguard inject`: the documents as the mutating webhook would leave them. Edits go
// into the parsed YAML document, so comments and key order of untouched parts survive.
import type { Command } from 'commander';
import jsonpatch from 'fast-json-patch';
import { parseAllDocuments, type Document } from 'yaml';
import type { Path } from '../policies/findings.js';
import type { KubeObject } from '../policies/k8s.js';
import { isPlainObject } from '../policies/k8s.js';
import { mutateObject } from '../policies/review.js';
import { InputError, parseManifests, readManifestFiles, type SourceDoc } from './inputs.js';
import { addOfflineOptions, loadConfig, loadState, type OfflineOptions } from './options.js';
import { buildView, namespaceOf } from './run-checks.js';
import { renderText } from './formats/text.js';
import { EXIT } from './exit.js';

const unescape = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~');
const pointer = (p: string): Path => p.split('/').slice(1).map(unescape).map((s) => (/^\d+$/.test(s) ? Number(s) : s));

/** Applies RFC 6902 add/replace/remove operations to a YAML document in place. */
const applyToDocument = (doc: Document, prefix: Path, ops: readonly jsonpatch.Operation[]): void => {
  for (const op of ops) {
    const path = [...prefix, ...pointer(op.path)];
    if (op.op === 'add' || op.op === 'replace') doc.setIn(path, doc.createNode(op.value));
    else if (op.op === 'remove') doc.deleteIn(path);
  }
};

export function register(program: Command): void {
  addOfflineOptions(
    program
      .command('inject')
      .description('print the documents as the mutating webhook would leave them (YAML, comments kept); findings on stderr')
      .argument('<paths...>', 'files or directories (recursive .yaml/.yml/.json), or - for stdin'),
  ).action(async (paths: string[], opts: OfflineOptions) => {
    const [config, state, files] = await Promise.all([loadConfig(opts.config), loadState(opts.state), readManifestFiles(paths)]);
    const parsed = files.map((f) => ({ f, docs: parseManifests(f.text, f.file) }));
    const all: SourceDoc[] = parsed.flatMap((p) => p.docs);
    const view = buildView(state, all);
    const out: string[] = [];
    const located = [];
    for (const { f, docs } of parsed) {
      const yamlDocs = parseAllDocuments(f.text);
      if (!Array.isArray(yamlDocs)) throw new InputError('cannot parse as YAML', f.file);
      for (const sd of docs) {
        const obj = sd.object;
        if (typeof obj.kind !== 'string') continue;
        const ns = namespaceOf(obj, opts.namespace);
        const m = mutateObject(obj, ns, view, config);
        if (m.unreadable) throw new InputError(`${obj.kind} ${obj.metadata?.name ?? ''}: ${m.unreadable}`, sd.file, sd.lineOf([]));
        for (const finding of m.findings)
          located.push({ ...finding, file: sd.file, line: sd.lineOf(finding.path), kind: obj.kind, namespace: ns, name: obj.metadata?.name ?? '' });
        if (m.mutated) applyToDocument(yamlDocs[sd.index]!, sd.prefix, jsonpatch.compare(obj as object, m.mutated as KubeObject));
      }
      for (const d of yamlDocs) {
        if (d.contents === null && !isPlainObject(d.toJS())) continue;
        const text = d.toString();
        out.push(out.length > 0 && !text.startsWith('---') ? `---\n${text}` : text);
      }
    }
    process.stdout.write(out.join(''));
    if (located.length > 0)
      process.stderr.write(renderText({ findings: located, documents: all.length, files: files.length, judged: all.length }, process.stderr.isTTY === true && !process.env.NO_COLOR));
    process.exitCode = EXIT.ok;
  });
}
