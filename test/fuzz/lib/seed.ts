// Every fuzz run prints its seed; a failing run is replayed with the same seed:
//   FUZZ_SEED=1234 npx tap test/fuzz/admission.test.ts      (FUZZ_PATH too, to start at the shrunk case)
// FUZZ_RUNS scales the number of cases (default: each property's own count).
import type { Parameters } from 'fast-check';

export interface FuzzParameters<T> extends Parameters<T> {
  seed: number;
}

const intFrom = (name: string): number | undefined => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, not ${JSON.stringify(raw)}`);
  return n;
};

/**
 * fast-check parameters for one property: the seed from FUZZ_SEED or a fresh one, printed
 * through `comment` (a TAP comment) before the run so that a crash still leaves it behind.
 */
export function fuzzParameters<T>(name: string, numRuns: number, comment: (line: string) => void): FuzzParameters<T> {
  const seed = intFrom('FUZZ_SEED') ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const runs = intFrom('FUZZ_RUNS') ?? numRuns;
  const path = process.env.FUZZ_PATH;
  comment(`${name}: seed ${seed}, ${runs} runs (replay: FUZZ_SEED=${seed}${path ? ` FUZZ_PATH=${path}` : ''})`);
  return { seed, numRuns: runs, ...(path ? { path, endOnFailure: true } : {}) };
}
