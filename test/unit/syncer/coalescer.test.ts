import t from 'tap';
import { Coalescer, REAL_CLOCK } from '../../../syncer/coalescer.js';
import { FakeClock, flush } from './fixtures/fake-clock.js';

const setup = (over: { fail?: (key: string, n: number) => boolean; slow?: boolean } = {}) => {
  const clock = new FakeClock();
  const runs: { key: string; at: number }[] = [];
  const errors: { key: string; retryInMs: number }[] = [];
  let release: (() => void) | undefined;
  const c = new Coalescer({
    quietMs: 500,
    maxDelayMs: 5000,
    retryBaseMs: 1000,
    retryMaxMs: 4000,
    clock,
    run: async (key) => {
      runs.push({ key, at: clock.now() });
      if (over.slow) await new Promise<void>((r) => (release = r));
      if (over.fail?.(key, runs.filter((r) => r.key === key).length)) throw new Error('boom');
    },
    onError: (key, _err, retryInMs) => errors.push({ key, retryInMs }),
  });
  return { clock, runs, errors, c, release: () => release?.() };
};

t.test('a burst becomes one run after the quiet period', async (t) => {
  const { clock, runs, c } = setup();
  for (let i = 0; i < 100; i++) {
    c.trigger('a');
    await clock.advance(10);
  }
  t.same(runs, [], 'nothing while events keep coming');
  await clock.advance(500);
  t.same(runs, [{ key: 'a', at: 990 + 500 }]);
  await clock.advance(10_000);
  t.equal(runs.length, 1, 'no more runs without events');
});

t.test('a steady stream still runs every max delay', async (t) => {
  const { clock, runs, c } = setup();
  for (let i = 0; i < 120; i++) {
    c.trigger('a');
    await clock.advance(100); // never quiet for 500 ms
  }
  t.same(
    runs.map((r) => r.at),
    [5000, 10_000],
    'at most max delay after the first unhandled event',
  );
});

t.test('keys are independent', async (t) => {
  const { clock, runs, c } = setup();
  c.trigger('a');
  await clock.advance(300);
  c.trigger('b');
  await clock.advance(1000);
  t.same(runs, [
    { key: 'a', at: 500 },
    { key: 'b', at: 800 },
  ]);
});

t.test('events during a run schedule exactly one more', async (t) => {
  const s = setup({ slow: true });
  s.c.trigger('a');
  await s.clock.advance(500);
  t.equal(s.runs.length, 1);
  for (let i = 0; i < 5; i++) s.c.trigger('a');
  await s.clock.advance(2000);
  t.equal(s.runs.length, 1, 'never two runs of one key at once');
  t.equal(s.c.size, 1);
  s.release();
  await s.clock.advance(0);
  await s.clock.advance(500);
  t.equal(s.runs.length, 2, 'the events seen during the run are handled after it');
  s.release();
  await s.clock.advance(10_000);
  t.equal(s.runs.length, 2);
  t.equal(s.c.size, 0);
});

t.test('events during a long run keep the max-delay bound', async (t) => {
  const s = setup({ slow: true });
  s.c.trigger('a');
  await s.clock.advance(500); // run 1 starts at 500
  s.c.trigger('a'); // dirty since 500
  await s.clock.advance(6000);
  s.release(); // run 1 ends at 6500, more than max delay after the dirty event
  await s.clock.advance(0);
  t.equal(s.runs.length, 2, 'the follow-up runs at once');
  t.equal(s.runs[1]!.at, 6500);
});

t.test('failures retry with backoff; events do not shorten it', async (t) => {
  const s = setup({ fail: (_k, n) => n <= 3 });
  s.c.trigger('a');
  await s.clock.advance(500);
  t.same(s.errors, [{ key: 'a', retryInMs: 1000 }]);
  s.c.trigger('a');
  await s.clock.advance(600);
  t.equal(s.runs.length, 1, 'a new event waits for the backoff');
  await s.clock.advance(400);
  t.equal(s.runs.length, 2);
  await s.clock.advance(2000);
  t.equal(s.runs.length, 3);
  await s.clock.advance(4000);
  t.equal(s.runs.length, 4, 'backoff capped at retryMaxMs');
  t.same(
    s.errors.map((e) => e.retryInMs),
    [1000, 2000, 4000],
  );
  await s.clock.advance(60_000);
  t.equal(s.runs.length, 4, 'success ends the retries');
  // After success, the next failure starts from the base again.
});

t.test('cancel and stop', async (t) => {
  const s = setup();
  s.c.trigger('a');
  s.c.trigger('b');
  s.c.cancel('a');
  await s.clock.advance(1000);
  t.same(s.runs.map((r) => r.key), ['b']);
  s.c.trigger('c');
  await s.c.stop();
  s.c.trigger('d');
  await s.clock.advance(10_000);
  t.same(s.runs.map((r) => r.key), ['b'], 'nothing runs after stop');
  t.equal(s.clock.pending, 0, 'no timers left');
});

t.test('stop waits for a run in progress', async (t) => {
  const s = setup({ slow: true });
  s.c.trigger('a');
  await s.clock.advance(500);
  let stopped = false;
  const p = s.c.stop().then(() => (stopped = true));
  await flush();
  t.equal(stopped, false);
  s.release();
  await p;
  t.equal(stopped, true);
});

t.test('the real clock does not keep the process alive', async (t) => {
  const h = REAL_CLOCK.setTimeout(() => {}, 60_000) as NodeJS.Timeout;
  t.equal(h.hasRef(), false);
  REAL_CLOCK.clearTimeout(h);
});
