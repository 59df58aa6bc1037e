// Per-key debounce. A rollout of 100 pods fires hundreds of watch events for one cluster;
// the status only needs to be right once things settle, and in between at a bounded age.
// So a key runs once its events pause for `quietMs`, and at the latest `maxDelayMs` after
// the first unhandled event. One run per key at a time; events during a run schedule one
// more. A failed run is retried with backoff until it succeeds or a newer event comes.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // Timers never keep the process alive: the listeners and watches do.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface CoalescerOptions {
  quietMs: number;
  maxDelayMs: number;
  run(key: string): Promise<void>;
  /** Called with every failed run before its retry is scheduled. */
  onError?(key: string, err: unknown, retryInMs: number): void;
  retryBaseMs?: number;
  retryMaxMs?: number;
  clock?: Clock;
}

interface Pending {
  /** When the first event not yet handled arrived: the max-delay deadline counts from here. */
  since: number;
  /** After a failure: not before this time, whatever events arrive. */
  notBefore?: number;
  timer?: unknown;
}

export class Coalescer {
  private readonly pending = new Map<string, Pending>();
  private readonly running = new Map<string, Promise<void>>();
  /** Keys that got an event while running: first-event time of that event. */
  private readonly dirty = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly clock: Clock;
  private stopped = false;

  constructor(private readonly opts: CoalescerOptions) {
    this.clock = opts.clock ?? REAL_CLOCK;
  }

  /** Something about `key` changed. */
  trigger(key: string): void {
    if (this.stopped) return;
    const now = this.clock.now();
    if (this.running.has(key)) {
      if (!this.dirty.has(key)) this.dirty.set(key, now);
      return;
    }
    this.schedule(key, now, this.opts.quietMs);
  }

  /** Forget `key` (its object is gone). A run in progress finishes. */
  cancel(key: string): void {
    const p = this.pending.get(key);
    if (p) this.clock.clearTimeout(p.timer);
    this.pending.delete(key);
    this.dirty.delete(key);
    this.failures.delete(key);
  }

  /** Keys waiting or running. */
  get size(): number {
    return new Set([...this.pending.keys(), ...this.running.keys()]).size;
  }

  /** Stops scheduling and waits for runs in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) this.clock.clearTimeout(p.timer);
    this.pending.clear();
    this.dirty.clear();
    await Promise.allSettled([...this.running.values()]);
  }

  private schedule(key: string, since: number, delayMs: number): void {
    const p = this.pending.get(key) ?? { since };
    this.clock.clearTimeout(p.timer);
    const now = this.clock.now();
    let wait = Math.min(delayMs, p.since + this.opts.maxDelayMs - now);
    if (p.notBefore !== undefined) wait = Math.max(wait, p.notBefore - now);
    wait = Math.max(0, wait);
    p.timer = this.clock.setTimeout(() => this.fire(key), wait);
    this.pending.set(key, p);
  }

  private fire(key: string): void {
    this.pending.delete(key);
    if (this.stopped) return;
    const done = this.opts
      .run(key)
      .then(
        () => {
          this.failures.delete(key);
          return undefined;
        },
        (err: unknown) => err ?? new Error('run failed'),
      )
      .then((err) => {
        this.running.delete(key);
        if (this.stopped) return;
        const dirtySince = this.dirty.get(key);
        this.dirty.delete(key);
        if (err !== undefined) {
          const n = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, n);
          const base = this.opts.retryBaseMs ?? 1000;
          const retry = Math.min(base * 2 ** (n - 1), this.opts.retryMaxMs ?? 30_000);
          this.opts.onError?.(key, err, retry);
          // A newer event does not shorten the backoff: the failure was most likely the API
          // server, and hammering it helps nobody. Max delay must not override it either.
          const now = this.clock.now();
          this.pending.set(key, { since: now, notBefore: now + retry });
          this.schedule(key, now, retry);
          return;
        }
        if (dirtySince !== undefined) this.schedule(key, dirtySince, this.opts.quietMs);
      });
    this.running.set(key, done);
  }
}
