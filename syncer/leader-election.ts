// Leader election on a coordination.k8s.io/v1 Lease, so that of several replicas exactly one
// writes status. The protocol is the one Kubernetes components share (so `kubectl get lease`
// reads as usual), with these properties:
//
// - Expiry is judged by the local clock from when this replica last *saw the lease record
//   change*, never by comparing the holder's renewTime with our clock: clocks of two pods
//   may disagree, their rates do not (much).
// - The leader renews every retryPeriod and stops acting as leader once it has gone
//   renewDeadline without a successful renewal. renewDeadline < leaseDuration, so it stops
//   before anyone else may take over.
// - Every write is a replace guarded by the resourceVersion just read: two candidates that
//   both see an expired lease cannot both win.
// - On a clean stop the leader releases the lease (empty holder), so a successor takes over
//   at its next retry instead of after a full lease duration.
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { REAL_CLOCK, type Clock } from './coalescer.js';
import { statusCodeOf } from '../server/kube-request.js';

/** The three calls used, so tests can hand in a fake. */
export type LeaseApi = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

export interface LeaderElectionOptions {
  api: LeaseApi;
  name: string;
  namespace: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  onStartedLeading?(): void;
  onStoppedLeading?(): void;
  clock?: Clock;
  /** Source of the retry jitter, in [0, 1); tests pass a fixed sequence. */
  random?: () => number;
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits (the API server insists). */
export const microTime = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

/** The lease's times back as strings: the client may hand them out as Date objects. */
const asMicro = (v: unknown): string | undefined =>
  v instanceof Date ? microTime(v.getTime()) : typeof v === 'string' ? v : undefined;

export class LeaderElector {
  private readonly clock: Clock;
  private readonly random: () => number;
  private leading = false;
  /** Local time of our last successful acquire or renew. */
  private lastRenewAt = 0;
  /** What we last saw in the lease, and when we first saw it so (local clock). */
  private observedRecord = '';
  private observedAt = 0;
  private timer: unknown;
  private stopped = true;
  private cycle: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LeaderElectionOptions) {
    this.clock = opts.clock ?? REAL_CLOCK;
    this.random = opts.random ?? Math.random;
    if (!(opts.leaseDurationMs > opts.renewDeadlineMs && opts.renewDeadlineMs > opts.retryPeriodMs && opts.retryPeriodMs > 0)) {
      throw new Error('leader election needs lease duration > renew deadline > retry period > 0');
    }
  }

  /** True only while a renewal is fresh enough: a leader cut off from the API server steps down in time. */
  isLeader(): boolean {
    return this.leading && this.clock.now() - this.lastRenewAt < this.opts.renewDeadlineMs;
  }

  get identity(): string {
    return this.opts.identity;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  /** Stops trying; a leader releases the lease so that a successor need not wait for expiry. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    await this.cycle;
    const wasLeader = this.isLeader();
    this.setLeading(false);
    if (wasLeader) await this.release();
  }

  private tick(): void {
    this.cycle = this.tryAcquireOrRenew()
      .then((ok) => {
        if (ok) {
          this.lastRenewAt = this.clock.now();
          this.setLeading(true);
        } else if (this.leading && !this.isLeader()) {
          this.opts.logger.warn({ lease: this.leaseName }, 'leader lease not renewed within the renew deadline; stepping down');
          this.setLeading(false);
        }
      })
      .catch((err: unknown) => this.opts.logger.error({ err }, 'leader election cycle failed'))
      .finally(() => {
        if (!this.stopped) this.timer = this.clock.setTimeout(() => this.tick(), this.jittered());
      });
  }

  /** Candidates retry with a little jitter so that they do not all hit the API server at once. */
  private jittered(): number {
    return this.leading ? this.opts.retryPeriodMs : this.opts.retryPeriodMs * (1 + this.random() * 0.2);
  }

  private get leaseName(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  private setLeading(v: boolean): void {
    if (v === this.leading) return;
    this.leading = v;
    this.opts.logger.info({ lease: this.leaseName, identity: this.opts.identity }, v ? 'became leader' : 'no longer leader');
    try {
      if (v) this.opts.onStartedLeading?.();
      else this.opts.onStoppedLeading?.();
    } catch (err) {
      this.opts.logger.error({ err }, 'leadership callback failed');
    }
  }

  private spec(now: number, acquireTime: string, transitions: number): V1Lease['spec'] {
    return {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      // Strings on purpose: the client would serialize a Date with milliseconds only.
      acquireTime: acquireTime as unknown as Date,
      renewTime: microTime(now) as unknown as Date,
      leaseTransitions: transitions,
    };
  }

  /** One round: true when we hold the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, name, namespace } = this.opts;
    const now = this.clock.now();
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusCodeOf(err) !== 404) {
        this.logFailure('read', err);
        return false;
      }
      try {
        await api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: this.spec(now, microTime(now), 0) } });
        return true;
      } catch (e) {
        // 409: another candidate created it first; it is theirs for now.
        if (statusCodeOf(e) !== 409) this.logFailure('create', e);
        return false;
      }
    }

    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = `${holder}\u0000${asMicro(spec.renewTime) ?? ''}\u0000${lease.metadata?.resourceVersion ?? ''}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now;
    }
    const mine = holder === this.opts.identity;
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.opts.leaseDurationMs / 1000)) * 1000;
    if (holder !== '' && !mine && now < this.observedAt + durationMs) return false;
    // Ours but already past the renew deadline: isLeader() said no meanwhile, so this is a
    // fresh acquisition, yet we need not bump the transition count.

    const acquireTime = mine ? (asMicro(spec.acquireTime) ?? microTime(now)) : microTime(now);
    const transitions = (spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
    try {
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, metadata: { ...lease.metadata, name, namespace }, spec: this.spec(now, acquireTime, transitions) },
      });
      if (!mine) this.opts.logger.info({ lease: this.leaseName, previousHolder: holder || undefined }, 'acquired lease');
      return true;
    } catch (err) {
      if (statusCodeOf(err) !== 409) this.logFailure('update', err);
      return false;
    }
  }

  private async release(): Promise<void> {
    const { api, name, namespace } = this.opts;
    try {
      const lease = await api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      const now = microTime(this.clock.now());
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now as unknown as Date, acquireTime: now as unknown as Date },
        },
      });
      this.opts.logger.info({ lease: this.leaseName }, 'released lease');
    } catch (err) {
      // The lease then simply expires.
      this.logFailure('release', err);
    }
  }

  private logFailure(step: string, err: unknown): void {
    this.opts.logger.warn({ lease: this.leaseName, step, code: statusCodeOf(err), err: (err as Error)?.message ?? String(err) }, 'lease request failed');
  }
}
