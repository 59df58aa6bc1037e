// How any command ends on an error: exactly one line on stderr, `meshguard: <message>
// [CODE]`, and the catalog's exit code (policies/errors.ts). The message comes first and
// the code last so that a line a script matched before the catalog existed still starts
// the same way. A stack trace is only for meshguard's own bugs, and only on request: the
// person whose input was refused needs the file and line, not our call stack.
import { CommanderError } from 'commander';
import { MeshguardError, MG_ERR_INTERNAL, MG_ERR_USAGE, MG_ERR_USAGE_FLAG, type ExitCode } from '../policies/errors.js';

/** The catalog error an exception stands for; anything unforeseen is MG_ERR_INTERNAL. */
export const asCatalogError = (err: unknown, command?: string): MeshguardError => {
  if (err instanceof MeshguardError) return err;
  if (err instanceof CommanderError) {
    // commander's texts name the option and value already ("option '-j, --jobs <n>' argument '0' is invalid. ...")
    const text = err.message.replace(/^error: /, '').trim();
    const hint = command ? ` (see meshguard ${command} --help)` : ' (see meshguard --help)';
    return err.code === 'commander.invalidArgument' ? new MeshguardError(MG_ERR_USAGE_FLAG.code, MG_ERR_USAGE_FLAG.exitCode, text + hint) : MG_ERR_USAGE(text + hint);
  }
  return MG_ERR_INTERNAL(err instanceof Error ? err.message : String(err));
};

/** The one line to print for an error, newline included. */
export const errorLine = (err: MeshguardError): string => `meshguard: ${err.message.replace(/\s*\n\s*/g, '; ')} [${err.code}]\n`;

/** Prints the error's line (and, for a bug, its stack when MESHGUARD_DEBUG is set) and returns the exit code. */
export const reportError = (err: unknown, command?: string): ExitCode => {
  const e = asCatalogError(err, command);
  process.stderr.write(errorLine(e));
  if (e.code === MG_ERR_INTERNAL.code && process.env.MESHGUARD_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return e.exitCode;
};
