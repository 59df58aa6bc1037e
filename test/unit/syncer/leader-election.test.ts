import type { V1Lease } from '@kubernetes/client-node';
import { pino } from 'pino';
import t from 'tap';
import { LeaderElector, microTime, type LeaseApi } from '../../../syncer/leader-election.js';
import { FakeClock } from './fixtures/fake-clock.js';

const logger = pino({ level: 'silent' });
const apiError = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });

/** An API server's Lease storage: resourceVersion-checked replace, 409 on create of an existing one. */
class FakeLeases {
  lease: V1Lease | undefined;
  private rv = 0;
  writes = 0;
  /** Per-identity outage: calls from these candidates fail. */
  cutOff = new Set<string>();

  api(who: string): LeaseApi {
    const check = () => {
      if (this.cutOff.has(who)) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    };
    const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
    return {
      readNamespacedLease: async () => {
        check();
        if (!this.lease) throw apiError(404);
        return copy(this.lease);
      },
      createNamespacedLease: async ({ body }: { body: V1Lease }) => {
        check();
        if (this.lease) throw apiError(409);
        this.lease = { ...copy(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
        this.writes++;
        return copy(this.lease);
      },
      replaceNamespacedLease: async ({ body }: { body: V1Lease }) => {
        check();
        if (!this.lease) throw apiError(404);
        if (body.metadata?.resourceVersion !== this.lease.metadata?.resourceVersion) throw apiError(409);
        this.lease = { ...copy(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
        this.writes++;
        return copy(this.lease);
      },
    } as unknown as LeaseApi;
  }
}

const OPTS = { name: 'meshguard-status-syncer', namespace: 'meshguard-system', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000, logger };

// A fixed jitter sequence covering the whole range, so every run asserts the same steps.
const jitter = () => {
  let i = 0;
  const seq = [0, 0.5, 0.99, 0.25, 0.75];
  return () => seq[i++ % seq.length]!;
};

const candidate = (store: FakeLeases, clock: FakeClock, identity: string, log: string[] = []) =>
  new LeaderElector({
    ...OPTS,
    random: jitter(),
    api: store.api(identity),
    identity,
    clock,
    onStartedLeading: () => log.push(`${identity} started`),
    onStoppedLeading: () => log.push(`${identity} stopped`),
  });

t.test('microTime has the six fractional digits the API server wants', async (t) => {
  t.equal(microTime(Date.UTC(2025, 9, 4, 10, 0, 0, 123)), '2025-10-04T10:00:00.123000Z');
});

t.test('timings must nest', async (t) => {
  const store = new FakeLeases();
  const clock = new FakeClock();
  t.throws(() => new LeaderElector({ ...OPTS, renewDeadlineMs: 15_000, api: store.api('a'), identity: 'a', clock }), /lease duration > renew deadline/);
  t.throws(() => new LeaderElector({ ...OPTS, retryPeriodMs: 10_000, api: store.api('a'), identity: 'a', clock }));
  t.throws(() => new LeaderElector({ ...OPTS, retryPeriodMs: 0, api: store.api('a'), identity: 'a', clock }));
});

t.test('a lone candidate creates the lease and keeps renewing it', async (t) => {
  const store = new FakeLeases();
  const clock = new FakeClock();
  const log: string[] = [];
  const a = candidate(store, clock, 'a', log);
  t.equal(a.identity, 'a');
  a.start();
  a.start(); // idempotent
  await clock.advance(0);
  t.equal(a.isLeader(), true);
  t.same(log, ['a started']);
  t.match(store.lease?.spec, { holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
  t.match(String(store.lease?.spec?.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  const acquired = store.lease?.spec?.acquireTime;
  await clock.advance(60_000);
  t.equal(a.isLeader(), true);
  t.equal(store.writes, 1 + 30, 'one renewal per retry period');
  t.equal(store.lease?.spec?.acquireTime, acquired, 'renewals keep acquireTime');
  t.equal(store.lease?.spec?.leaseTransitions, 0);
  await a.stop();
  t.same(log, ['a started', 'a stopped']);
});

t.test('a follower waits while the leader renews, and takes over only after the lease expires', async (t) => {
  const store = new FakeLeases();
  const clock = new FakeClock();
  const log: string[] = [];
  const a = candidate(store, clock, 'a', log);
  const b = candidate(store, clock, 'b', log);
  a.start();
  await clock.advance(0);
  b.start();
  for (let i = 0; i < 60; i++) {
    await clock.advance(1000);
    t.equal(b.isLeader(), false, `b follows at ${clock.now()} ms`);
  }
  t.equal(a.isLeader(), true);

  // a loses the API server (or dies without releasing): it stops renewing.
  store.cutOff.add('a');
  const cut = clock.now();
  let aSteppedDown: number | undefined;
  let bLeads: number | undefined;
  while (bLeads === undefined && clock.now() - cut < 60_000) {
    await clock.advance(100);
    if (aSteppedDown === undefined && !a.isLeader()) aSteppedDown = clock.now();
    if (b.isLeader()) bLeads = clock.now();
    t.notOk(a.isLeader() && b.isLeader(), 'never two leaders');
  }
  t.ok(aSteppedDown !== undefined && bLeads !== undefined);
  t.ok(aSteppedDown! - cut <= OPTS.renewDeadlineMs, 'a stops acting within the renew deadline');
  t.ok(bLeads! > aSteppedDown!, 'b leads only after a stopped');
  t.ok(bLeads! - cut >= OPTS.leaseDurationMs - OPTS.retryPeriodMs, 'b waited for the lease to expire');
  t.ok(bLeads! - cut <= OPTS.leaseDurationMs + 2 * OPTS.retryPeriodMs * 1.2, 'and took it within a lease duration and a retry');
  t.match(store.lease?.spec, { holderIdentity: 'b', leaseTransitions: 1 });
  t.ok(log.includes('a stopped') && log.includes('b started'));

  // a comes back: it follows now.
  store.cutOff.delete('a');
  await clock.advance(30_000);
  t.equal(a.isLeader(), false);
  t.equal(b.isLeader(), true);
  await a.stop();
  await b.stop();
});

t.test('expiry is judged by when the record was seen to change, not by the holder clock', async (t) => {
  const store = new FakeLeases();
  const clock = new FakeClock();
  // A lease renewed by a holder whose clock is an hour behind ours.
  store.lease = {
    metadata: { name: OPTS.name, namespace: OPTS.namespace, resourceVersion: '1' },
    spec: { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: '1970-01-01T00:00:00.000000Z' as unknown as Date },
  };
  const b = candidate(store, clock, 'b');
  b.start();
  await clock.advance(10_000);
  t.equal(b.isLeader(), false, 'an old-looking renewTime alone does not make the lease free');
  // The holder keeps renewing (the record changes), so it never expires.
  for (let i = 0; i < 10; i++) {
    store.lease = { ...store.lease!, metadata: { ...store.lease!.metadata, resourceVersion: String(100 + i) } };
    await clock.advance(5000);
    t.equal(b.isLeader(), false);
  }
  // It stops renewing: b takes over one lease duration after the last change.
  await clock.advance(20_000);
  t.equal(b.isLeader(), true);
  await b.stop();
});

t.test('a stopping leader releases the lease and a follower takes it at its next retry', async (t) => {
  const store = new FakeLeases();
  const clock = new FakeClock();
  const a = candidate(store, clock, 'a');
  const b = candidate(store, clock, 'b');
  a.start();
  await clock.advance(0);
  b.start();
  await clock.advance(5000);
  await a.stop();
  t.equal(store.lease?.spec?.holderIdentity, '');
  t.equal(a.isLeader(), false);
  await clock.advance(OPTS.retryPeriodMs * 1.2 + 1);
  t.equal(b.isLeader(), true, 'no wait for expiry after a release');
  t.match(store.lease?.spec, { holderIdentity: 'b', leaseTransitions: 1 });
  await b.stop();
});

t.test('two candidates racing for a free lease: one wins', async (t) => {
  const store = new FakeLeases();
  const clock = new FakeClock();
  const a = candidate(store, clock, 'a');
  const b = candidate(store, clock, 'b');
  a.start();
  b.start();
  for (let i = 0; i < 20; i++) {
    await clock.advance(500);
    t.notOk(a.isLeader() && b.isLeader());
  }
  t.ok(a.isLeader() !== b.isLeader(), 'exactly one leads');
  await a.stop();
  await b.stop();
});

t.test('API errors are survived', async (t) => {
  const store = new FakeLeases();
  const clock = new FakeClock();
  store.cutOff.add('a');
  const a = candidate(store, clock, 'a');
  a.start();
  await clock.advance(10_000);
  t.equal(a.isLeader(), false);
  store.cutOff.delete('a');
  await clock.advance(3000);
  t.equal(a.isLeader(), true, 'acquires once the API answers');
  // Release fails quietly when the API is gone; the lease then just expires.
  store.cutOff.add('a');
  await a.stop();
  t.equal(store.lease?.spec?.holderIdentity, 'a');
});
