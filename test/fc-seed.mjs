// Loaded into every test process of the fast tiers (.taprc node-arg): every fast-check
// property there runs under this file's seed unless it passes its own, and the seed is
// printed first, as a TAP comment, so that a failing run can be replayed:
//   FC_SEED=<seed> npx tap test/unit/x.test.ts
// (fast-check also prints the seed and the shrunk path of a failure; this gives it before a
// crash or a timeout, and for properties that never named one.)
import fc from 'fast-check';

const raw = process.env.FC_SEED;
const seed = raw !== undefined && raw !== '' ? Number(raw) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
if (!Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer, not ${JSON.stringify(raw)}`);
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
process.stdout.write(`# fast-check seed ${seed} (replay: FC_SEED=${seed})\n`);
