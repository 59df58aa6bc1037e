// What a command does when its report cannot be written. node ignores SIGPIPE and reports a
// failed write as an 'error' event on process.stdout; unhandled, that ended the process
// with node's stack trace and exit 1, which a CI step reads as "a finding the cluster would
// deny".
// - A reader that stops early (`meshguard check . | head`, `| grep -q MG201`) closes the
//   pipe (EPIPE). That is the reader's choice, not a failure: nothing more is written and
//   the exit code stays the verdict, which a pipeline under `set -o pipefail` still sees.
// - Any other failure (a full disk: ENOSPC; EIO) leaves the report incomplete: one catalog
//   line on stderr and exit 2, whatever the verdict was, so that a job never trusts a
//   truncated report.
import { MG_ERR_OUTPUT } from '../policies/errors.js';
import { errorLine } from './report-error.js';

export const watchOutput = (): void => {
  let failed: number | undefined;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || failed !== undefined) return;
    const e = MG_ERR_OUTPUT(err.message.replace(/, write$/, '')); // "ENOSPC: no space left on device"
    failed = e.exitCode;
    process.stderr.write(errorLine(e));
  });
  // stderr's reader may be gone too (`2>&1 | head`): its lines are dropped, nothing more.
  process.stderr.on('error', () => {});
  // The command sets its verdict after its last write, and the error arrives on a later
  // tick: the failure decides the exit code at exit.
  process.once('exit', () => {
    if (failed !== undefined) process.exitCode = failed;
  });
};
