// Reads the manifests a CLI run is given: files, directories (recursive), `-` for stdin;
// multi-document YAML and JSON; `kind: List` expanded into its items.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { constructFromEvents, parseEvents, YAMLException } from 'js-yaml';
import type { Path } from '../policies/findings.js';
import type { KubeObject } from '../policies/k8s.js';
import { isPlainObject } from '../policies/k8s.js';
import { EventIndex, LineIndex } from './source-map.js';

/** Unreadable input: exit code 2, with where it went wrong. */
export class InputError extends Error {
  constructor(
    readonly reason: string,
    readonly file: string,
    readonly line?: number,
  ) {
    super(line ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
  }
}

export interface SourceDoc {
  file: string;
  /** 0-based position of the document in its file. */
  index: number;
  /** Path of this object inside the document ([] or ['items', n] for a List item). */
  prefix: Path;
  object: KubeObject;
  /** 1-based line of a field path inside `object`. */
  lineOf(path: Path): number;
}

const MANIFEST = /\.(ya?ml|json)$/i;

export const expandPaths = async (paths: readonly string[]): Promise<string[]> => {
  const out: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(p);
      continue;
    }
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new InputError('no such file or directory', p);
    }
    if (st.isDirectory()) {
      const entries = (await readdir(p, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
      const nested = entries.filter((e) => e.isDirectory() || MANIFEST.test(e.name)).map((e) => join(p, e.name));
      out.push(...(await expandPaths(nested)));
    } else out.push(p);
  }
  return out;
};

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/**
 * An item of a `List` as an object. Items of a typed list (`PodList` from
 * `kubectl get --raw`) carry no apiVersion/kind of their own: they get the list's.
 */
export const listItem = (list: Record<string, unknown>, item: Record<string, unknown>): KubeObject => {
  const kind = String(list.kind);
  if (kind === 'List' || (typeof item.kind === 'string' && typeof item.apiVersion === 'string')) return item as KubeObject;
  return { ...item, kind: item.kind ?? kind.slice(0, -'List'.length), apiVersion: item.apiVersion ?? list.apiVersion } as KubeObject;
};

/** Parses one file's text into source documents. */
export const parseManifests = (text: string, file: string): SourceDoc[] => {
  let index: EventIndex;
  let values: unknown[];
  try {
    const events = parseEvents(text, { filename: file });
    values = constructFromEvents(events, { source: text, filename: file });
    index = new EventIndex(events);
  } catch (err) {
    if (err instanceof YAMLException) throw new InputError(err.reason || err.message, file, (err.mark?.line ?? 0) + 1);
    throw new InputError((err as Error).message, file);
  }
  const lines = new LineIndex(text);
  const out: SourceDoc[] = [];
  /** Lines of paths under the node at `node`, from a copy of that node's events only. */
  const locator = (node: number) => {
    const own = index.subtree(node);
    return (path: Path) => lines.lineOf(own.offsetOfPath(text, 0, path));
  };
  values.forEach((value, n) => {
    const root = index.roots[n]!;
    if (value === null || value === undefined) return;
    if (!isPlainObject(value)) throw new InputError(`document ${n + 1} is not a mapping (a Kubernetes object)`, file, lines.lineOf(index.start(root)));
    if (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
      // Each item is located from its own node, found in one pass over the sequence.
      const nodes = index.sequenceItems(text, root, 'items');
      const whole = nodes.length === value.items.length ? undefined : index.subtree(root);
      value.items.forEach((item, i) => {
        if (!isPlainObject(item)) return;
        const lineOf = whole ? (path: Path) => lines.lineOf(whole.offsetOfPath(text, 0, ['items', i, ...path])) : locator(nodes[i]!);
        out.push({ file, index: n, prefix: ['items', i], object: listItem(value, item), lineOf });
      });
      return;
    }
    out.push({ file, index: n, prefix: [], object: value as KubeObject, lineOf: locator(root) });
  });
  return out;
};

export interface LoadedFile {
  file: string;
  text: string;
}

/** Reads every manifest file under `paths` (stdin once for `-`). */
export const readManifestFiles = async (paths: readonly string[]): Promise<LoadedFile[]> => {
  const files = await expandPaths(paths);
  const out: LoadedFile[] = [];
  for (const file of files) {
    if (file === '-') out.push({ file: '<stdin>', text: await readStdin() });
    else {
      try {
        out.push({ file, text: await readFile(file, 'utf8') });
      } catch (err) {
        throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
      }
    }
  }
  return out;
};

export const loadManifests = async (paths: readonly string[]): Promise<SourceDoc[]> =>
  (await readManifestFiles(paths)).flatMap((f) => parseManifests(f.text, f.file));
