// One share of a `check` run: parse some files, hand back the objects the cluster view
// needs, then judge the share's documents against the view built from every share.
// The same code runs in the main thread and in worker threads (cli/check-worker.ts).
import { readFile } from 'node:fs/promises';
import type { PolicyConfig } from '../policies/config.js';
import type { KubeObject } from '../policies/k8s.js';
import { isClusterViewObject } from '../policies/cluster-view.js';
import { InputError, parseManifests, type SourceDoc } from './inputs.js';
import { buildView, checkDocuments, type CheckResult } from './run-checks.js';

export interface FileRef {
  file: string;
  /** Position of the file in the whole run; keeps results in input order. */
  order: number;
}

/** An object the cluster view needs, with where it came from (later wins, as sequentially). */
export interface ContextObject {
  order: number;
  index: number;
  object: KubeObject;
}

export class Partition {
  private docs: SourceDoc[] = [];
  private readonly orderOf = new Map<string, number>();

  constructor(
    private readonly files: readonly FileRef[],
    private readonly config: PolicyConfig,
  ) {}

  async parse(): Promise<{ context: ContextObject[]; documents: number; files: number }> {
    const context: ContextObject[] = [];
    for (const { file, order } of this.files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        throw new InputError(`cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, file);
      }
      const docs = parseManifests(text, file);
      this.orderOf.set(file, order);
      docs.forEach((d, i) => {
        if (isClusterViewObject(d.object, this.config.profiles)) context.push({ order, index: i, object: d.object });
      });
      this.docs.push(...docs);
    }
    return { context, documents: this.docs.length, files: new Set(this.docs.map((d) => d.file)).size };
  }

  check(state: readonly { object: KubeObject }[], context: readonly ContextObject[], namespace: string): CheckResult & { orders: number[] } {
    const view = buildView(state, context);
    const result = checkDocuments(this.docs, view, this.config, namespace);
    return { ...result, orders: result.findings.map((f) => this.orderOf.get(f.file) ?? 0) };
  }
}

/** Context objects of every share in input order, as a sequential run would add them. */
export const mergeContext = (shares: readonly ContextObject[][]): ContextObject[] =>
  shares.flat().sort((a, b) => a.order - b.order || a.index - b.index);
