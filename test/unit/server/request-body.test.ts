// The body budget and gate of server/request-body.ts, without a network: what the gate's
// 'close' listener keeps alive, and the budget held to the simpler one it replaced.
import fc from 'fast-check';
import t from 'tap';
import { EventEmitter } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { admissionBodyGate, BodyBudget } from '../../../server/request-body.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Lets the current job end (a WeakRef's target is kept until then), then collects everything. */
const collect = async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
};

// The response's 'close' comes once the answer is flushed; until then whatever its listener
// holds lives on (under load, past young-generation collections, each of which copies it).
t.test("the gate's 'close' listener holds neither the payload nor the hook's continuation once the body may be read", async (t) => {
  const budget = new BodyBudget(1_000);
  const gate = admissionBodyGate(budget, 7 * 1024 * 1024);
  const raw = new EventEmitter();
  let payload: object | undefined = { stream: 'the request' };
  let done: ((err: Error | null, p?: unknown) => void) | undefined = (err, p) => t.equal(p, payload, 'the payload is passed on');
  const payloadRef = new WeakRef(payload);
  const doneRef = new WeakRef(done);
  gate({ headers: { 'content-length': '100' } } as never, { raw } as never, payload as never, done);
  payload = undefined;
  done = undefined;
  t.same(budget.status(), { inFlightBytes: 100, waiting: 0 });
  await collect();
  t.equal(payloadRef.deref(), undefined, 'the payload is collectable');
  t.equal(doneRef.deref(), undefined, 'the continuation is collectable');
  t.equal(raw.listenerCount('close'), 1, "the listener is still on 'close'");
  raw.emit('close');
  t.same(budget.status(), { inFlightBytes: 0, waiting: 0 }, 'and gives the bytes back');
});

t.test("a waiting request's continuation is kept until it runs, then dropped", async (t) => {
  const budget = new BodyBudget(100);
  const releaseA = budget.reserve(100, () => {});
  let ran = false;
  let go: (() => void) | undefined = () => void (ran = true);
  const goRef = new WeakRef(go);
  const releaseB = budget.reserve(50, go);
  go = undefined;
  await collect();
  t.ok(goRef.deref(), 'kept while waiting');
  t.same(budget.status(), { inFlightBytes: 100, waiting: 1 });
  releaseA();
  t.ok(ran, 'ran once room was made');
  await collect();
  t.equal(goRef.deref(), undefined, 'dropped once run');
  releaseB();
  t.same(budget.status(), { inFlightBytes: 0, waiting: 0 });
});

/** The budget as it was written before reservations dropped their continuation: the definition. */
class ReferenceBudget {
  private inFlight = 0;
  private readonly queue: { bytes: number; go: () => void }[] = [];
  constructor(readonly limitBytes: number) {}
  status() {
    return { inFlightBytes: this.inFlight, waiting: this.queue.length };
  }
  reserve(bytes: number, go: () => void): () => void {
    let state: 'waiting' | 'held' | 'released' = 'waiting';
    const entry = {
      bytes,
      go: () => {
        state = 'held';
        this.inFlight += bytes;
        go();
      },
    };
    if (this.queue.length === 0 && this.fits(bytes)) entry.go();
    else this.queue.push(entry);
    return () => {
      if (state === 'released') return;
      if (state === 'held') this.inFlight -= bytes;
      else this.queue.splice(this.queue.indexOf(entry), 1);
      state = 'released';
      this.drain();
    };
  }
  private fits(bytes: number): boolean {
    return this.inFlight === 0 || this.inFlight + bytes <= this.limitBytes;
  }
  private drain(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!.bytes)) this.queue.shift()!.go();
  }
}

const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
t.test('the budget lets the same requests through in the same order as its definition (property)', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  // A step reserves some bytes, or releases (once or again) the reservation at some index.
  const step = fc.oneof(fc.record({ reserve: fc.integer({ min: 0, max: 1_200 }) }), fc.record({ release: fc.nat(40) }));
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1_000 }), fc.array(step, { maxLength: 60 }), (limit, steps) => {
      const runs: { budget: BodyBudget | ReferenceBudget; ran: number[]; releases: (() => void)[] }[] = [new BodyBudget(limit), new ReferenceBudget(limit)].map((budget) => ({ budget, ran: [], releases: [] }));
      for (const [i, s] of steps.entries()) {
        for (const run of runs) {
          if ('reserve' in s) run.releases.push(run.budget.reserve(s.reserve, () => void run.ran.push(i)));
          else if (run.releases.length > 0) run.releases[s.release % run.releases.length]!();
        }
        const [got, want] = runs.map((r) => JSON.stringify({ status: r.budget.status(), ran: r.ran }));
        if (got !== want) throw new Error(`limit ${limit}, after step ${i} of ${JSON.stringify(steps)}: ${got}, by definition ${want}`);
      }
    }),
    { numRuns: 2000, seed: SEED },
  );
});
