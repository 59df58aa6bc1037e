// The error catalog: every way a meshguard command refuses its flags or its input, each
// with a stable code (in the manner of Fastify's FST_ERR_*), the exit code it ends the
// process with, and the one line of text the person at the terminal reads. Pure data and
// constructors: the CLI decides when to throw and prints `meshguard: <message> [CODE]`
// (cli/main.ts). Codes are a contract like rule ids: scripts may grep for them, so an
// entry is never renamed or reused, only added. README.md lists them all (a unit test
// keeps the table complete).

/**
 * Process exit codes of the CLI (DESIGN.md): CI pipelines branch on them. `failed` is a
 * long-running command (serve, sync-status) that could not start with usable flags.
 */
export const EXIT = { ok: 0, findings: 1, unusable: 2, failed: 1 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class MeshguardError extends Error {
  override name = 'MeshguardError';
  constructor(
    readonly code: string,
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A problem in an input file: `reason` alone, plus file and line, so that a worker thread
 * can send it across (cli/check-worker.ts) and an editor can jump to it.
 */
export class InputError extends MeshguardError {
  override name = 'InputError';
  constructor(
    readonly reason: string,
    readonly file: string,
    readonly line?: number,
    code = 'MG_ERR_INPUT_YAML',
  ) {
    super(code, EXIT.unusable, line ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
  }
}

export interface CatalogEntry {
  readonly code: string;
  readonly exitCode: ExitCode;
  /** What the code means, for the README table. */
  readonly title: string;
}

export type ErrorFactory<A extends unknown[]> = CatalogEntry & ((...args: A) => MeshguardError);

const entries: CatalogEntry[] = [];

/** A catalog entry: a function building the error from its arguments, carrying code, exit code and title. */
const define = <A extends unknown[]>(entry: CatalogEntry, build: (entry: CatalogEntry, ...args: A) => MeshguardError): ErrorFactory<A> => {
  entries.push(entry);
  return Object.assign((...args: A) => build(entry, ...args), entry);
};

/** A value as the user typed it, quoted so that an empty or blank value is visible. */
export const quote = (value: string): string => JSON.stringify(value);

const message = (entry: CatalogEntry, text: string): MeshguardError => new MeshguardError(entry.code, entry.exitCode, text);

export const MG_ERR_USAGE = define(
  { code: 'MG_ERR_USAGE', exitCode: EXIT.unusable, title: 'the command line cannot be parsed: unknown command or option, missing argument' },
  (e, detail: string) => message(e, detail),
);

export const MG_ERR_USAGE_FLAG = define(
  { code: 'MG_ERR_USAGE_FLAG', exitCode: EXIT.unusable, title: 'a flag or argument has a value it cannot take' },
  (e, flag: string, value: string, expected: string) => message(e, `${flag} ${quote(value)}: ${expected}`),
);

export const MG_ERR_INPUT_MISSING = define(
  { code: 'MG_ERR_INPUT_MISSING', exitCode: EXIT.unusable, title: 'an input path does not exist' },
  (e, file: string) => new InputError('no such file or directory', file, undefined, e.code),
);

export const MG_ERR_INPUT_READ = define(
  { code: 'MG_ERR_INPUT_READ', exitCode: EXIT.unusable, title: 'an input file exists but cannot be read (permissions, I/O)' },
  (e, file: string, cause: string) => new InputError(`cannot read: ${cause}`, file, undefined, e.code),
);

export const MG_ERR_INPUT_LOOP = define(
  { code: 'MG_ERR_INPUT_LOOP', exitCode: EXIT.unusable, title: 'an input path is a symbolic link loop' },
  (e, file: string) =>
    new InputError('symbolic link loop: following it leads back to where it started; point the link at a file or at a directory outside it', file, undefined, e.code),
);

export const MG_ERR_INPUT_EMPTY = define(
  { code: 'MG_ERR_INPUT_EMPTY', exitCode: EXIT.unusable, title: 'an input that must hold exactly one document (review) holds none or several' },
  (e, file: string, expected: string) => new InputError(expected, file, undefined, e.code),
);

export const MG_ERR_INPUT_UTF8 = define(
  { code: 'MG_ERR_INPUT_UTF8', exitCode: EXIT.unusable, title: 'an input file is not valid UTF-8 (kubectl refuses it too)' },
  (e, file: string, line: number) =>
    new InputError('not valid UTF-8 (kubectl refuses it too); save the file as UTF-8', file, line, e.code),
);

export const MG_ERR_INPUT_YAML = define(
  { code: 'MG_ERR_INPUT_YAML', exitCode: EXIT.unusable, title: 'an input file is not valid YAML or JSON' },
  (e, file: string, line: number | undefined, reason: string) => new InputError(reason, file, line, e.code),
);

export const MG_ERR_INPUT_DOCUMENT = define(
  { code: 'MG_ERR_INPUT_DOCUMENT', exitCode: EXIT.unusable, title: 'a document is valid YAML but not a Kubernetes object (a mapping)' },
  (e, file: string, line: number, reason: string) => new InputError(reason, file, line, e.code),
);

export const MG_ERR_INPUT_OBJECT = define(
  { code: 'MG_ERR_INPUT_OBJECT', exitCode: EXIT.unusable, title: 'an object is of a shape meshguard cannot judge (e.g. labels that are not a map)' },
  (e, file: string, line: number, reason: string) => new InputError(reason, file, line, e.code),
);

export const MG_ERR_OUTPUT = define(
  { code: 'MG_ERR_OUTPUT', exitCode: EXIT.unusable, title: 'the report cannot be written to standard output (disk full, I/O error); a reader that stops reading early, as `head` does, is not one' },
  (e, cause: string) => message(e, `cannot write the output to standard output: ${cause}; the report is incomplete`),
);

export const MG_ERR_CONFIG = define(
  { code: 'MG_ERR_CONFIG', exitCode: EXIT.unusable, title: 'the `--config` file cannot be read or is not a valid configuration' },
  (e, detail: string) => message(e, detail),
);

export const MG_ERR_STATE = define(
  { code: 'MG_ERR_STATE', exitCode: EXIT.unusable, title: 'a `serve --state` file cannot be read or parsed (the offline commands report MG_ERR_INPUT_* for theirs)' },
  (e, detail: string) => message(e, detail),
);

export const MG_ERR_KUBECONFIG = define(
  { code: 'MG_ERR_KUBECONFIG', exitCode: EXIT.unusable, title: 'the kubeconfig cannot be loaded' },
  (e, file: string, cause: string) => message(e, `cannot load kubeconfig ${file}: ${cause}`),
);

export const MG_ERR_KUBECONFIG_MISSING = define(
  { code: 'MG_ERR_KUBECONFIG_MISSING', exitCode: EXIT.unusable, title: 'no kubeconfig and no in-cluster service account: no cluster to talk to' },
  (e) =>
    message(e,
      'no cluster to talk to: no --kubeconfig, no $KUBECONFIG, no ~/.kube/config and no in-cluster service account; give --kubeconfig FILE or run in a pod',
    ),
);

export const MG_ERR_START = define(
  { code: 'MG_ERR_START', exitCode: EXIT.failed, title: 'a long-running command (serve, sync-status) could not start: cluster unreachable, port in use' },
  (e, detail: string) => message(e, detail),
);

export const MG_ERR_INTERNAL = define(
  { code: 'MG_ERR_INTERNAL', exitCode: EXIT.unusable, title: 'a bug in meshguard: please report it with the command and its input' },
  (e, detail: string) => message(e, detail),
);

/** Every entry, in catalog order. */
export const ERROR_CATALOG: readonly CatalogEntry[] = entries;
