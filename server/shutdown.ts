// Graceful shutdown on SIGTERM, in the order Kubernetes needs it:
// 1. readiness turns false at once, so the endpoints controller takes the pod out;
// 2. for a short drain delay we keep accepting, because the API server may still pick
//    this pod until that removal reaches it;
// 3. we stop accepting, let in-flight reviews finish, stop the informers;
// 4. all of it inside the grace period, after which we give up waiting and exit non-zero.
import type { Logger } from 'pino';

export interface ShutdownStep {
  name: string;
  run(): Promise<void>;
}

export interface ShutdownOptions {
  /** Time from the signal to exit; keep it below the pod's terminationGracePeriodSeconds. */
  graceMs: number;
  /** Time we keep serving after readiness went false (capped at half the grace period). */
  drainDelayMs: number;
  logger: Logger;
  /** Called once, synchronously, when shutdown begins (before readiness is first read as false). */
  onDrain?: () => void;
  steps: ShutdownStep[];
}

export type ShutdownResult = 'clean' | 'timeout';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ShutdownController {
  private result?: Promise<ShutdownResult>;

  constructor(private readonly opts: ShutdownOptions) {}

  /** True from the moment shutdown begins. */
  get draining(): boolean {
    return this.result !== undefined;
  }

  /** Starts the shutdown once; later calls return the same result. */
  shutdown(reason: string): Promise<ShutdownResult> {
    if (this.result === undefined) this.opts.onDrain?.();
    this.result ??= this.run(reason);
    return this.result;
  }

  private async run(reason: string): Promise<ShutdownResult> {
    const { logger, graceMs } = this.opts;
    const drainMs = Math.max(0, Math.min(this.opts.drainDelayMs, graceMs / 2));
    logger.info({ reason, drainDelayMs: drainMs, graceMs }, 'shutting down: not ready any more');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<ShutdownResult>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const work = (async (): Promise<ShutdownResult> => {
      await sleep(drainMs);
      for (const step of this.opts.steps) {
        try {
          await step.run();
        } catch (err) {
          logger.warn({ step: step.name, err: (err as Error).message }, 'shutdown step failed');
        }
      }
      return 'clean';
    })();
    const result = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (result === 'timeout') logger.warn({ graceMs }, 'shutdown grace period over with work still pending');
    else logger.info('shutdown complete');
    return result;
  }
}

/** SIGTERM (the kubelet) and SIGINT (a terminal) shut down; a second signal exits at once. */
export function exitOnSignals(controller: Pick<ShutdownController, 'shutdown'>, logger: Logger, exit: (code: number) => void = process.exit): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      logger.flush(() => exit(1));
      return;
    }
    signalled = true;
    void controller.shutdown(signal).then((r) => {
      // An asynchronous log destination may still hold the last lines.
      logger.flush(() => exit(r === 'clean' ? 0 : 1));
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
