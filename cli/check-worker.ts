// Worker-thread side of a parallel `check`: a Partition driven by messages.
import { parentPort, workerData } from 'node:worker_threads';
import type { PolicyConfig } from '../policies/config.js';
import type { KubeObject } from '../policies/k8s.js';
import { InputError, type Cutting } from './inputs.js';
import { Partition, type Compaction, type ContextObject, type FileRef } from './check-partition.js';

interface Start {
  files: FileRef[];
  config: PolicyConfig;
  crossObject: boolean;
  state: { object: KubeObject }[];
  namespace: string;
  compact: Compaction;
  cutting: Cutting;
}

const port = parentPort!;
const { files, config, crossObject, state, namespace, compact, cutting } = workerData as Start;
const partition = new Partition(files, config, crossObject, state, namespace, compact, cutting);

const fail = (err: unknown) =>
  port.postMessage(
    err instanceof InputError
      ? { type: 'error', input: { reason: err.reason, file: err.file, line: err.line, code: err.code } }
      : { type: 'error', message: String((err as Error)?.stack ?? err) },
  );

try {
  port.postMessage({ type: 'context', ...partition.parse() });
} catch (err) {
  fail(err);
}

port.on('message', (msg: { context: ContextObject[] }) => {
  try {
    port.postMessage({ type: 'result', result: partition.check(msg.context) });
  } catch (err) {
    fail(err);
  }
});
