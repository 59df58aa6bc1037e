// What `check` keeps past a file is a structural copy (cli/compact-copy.ts), where it was a
// JSON round trip: the copy must answer exactly as the parsed value (every value, key order,
// nothing shared with the source), as the round trip did wherever JSON carries the value,
// and keep none of the file's text alive.
// The property's seed is printed; replay a failure with FC_SEED=<seed>.
import fc from 'fast-check';
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { compactCopy, jsonCopyAll } from '../../../cli/compact-copy.js';
import { parseManifests } from '../../../cli/inputs.js';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** Every leaf equal by Object.is (-0, NaN), every object's keys in the same order, no object of `a` in `b`. */
const sameAndUnshared = (a: unknown, b: unknown, inA: Set<unknown>, path = '$', zeroIsZero = false): string | undefined => {
  if (typeof a !== 'object' || a === null) return Object.is(a, b) || (zeroIsZero && a === 0 && b === 0) ? undefined : `${path}: ${String(a)} became ${String(b)}`;
  if (typeof b !== 'object' || b === null) return `${path}: an object became ${String(b)}`;
  if (inA.has(b)) return `${path}: shares an object with the source`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array-ness changed`;
  if (Object.getPrototypeOf(b) !== (Array.isArray(a) ? Array.prototype : Object.prototype)) return `${path}: prototype changed`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.join('\0') !== kb.join('\0')) return `${path}: keys ${JSON.stringify(ka)} became ${JSON.stringify(kb)}`;
  for (const k of ka) {
    const d = sameAndUnshared((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], inA, `${path}.${k}`, zeroIsZero);
    if (d) return d;
  }
  return undefined;
};

const objectsOf = (v: unknown, out = new Set<unknown>()): Set<unknown> => {
  if (typeof v === 'object' && v !== null && !out.has(v)) {
    out.add(v);
    for (const x of Object.values(v)) objectsOf(x, out);
  }
  return out;
};

/** Values as YAML's core schema and the findings hold them, with what JSON cannot carry. */
const leaf = fc.oneof(
  fc.string(),
  fc.string({ minLength: 13, maxLength: 80 }),
  fc.double(),
  fc.constantFrom(-0, NaN, Infinity, -Infinity, 0, 1, true, false, null, undefined),
  fc.integer(),
);
const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', '0', '10', 'metadata', 'spec'));
const valueOf = (leaf: fc.Arbitrary<unknown>) =>
  fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 5 }), tie('object')),
  object: fc.array(fc.tuple(key, tie('value')), { maxLength: 6 }).map((entries) => {
    // As js-yaml builds a mapping: `__proto__` an own key, not the prototype.
    const o: Record<string, unknown> = {};
    for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  }),
})).value;
const value = valueOf(leaf);
/** What YAML gives: no undefined. */
const yamlValue = valueOf(leaf.filter((v) => v !== undefined));

t.test('the copy equals the value exactly and shares no object with it', (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  fc.assert(
    fc.property(value, (v) => {
      const c = compactCopy(v);
      const diff = sameAndUnshared(v, c, objectsOf(v));
      if (diff) throw new Error(diff);
    }),
    { numRuns: 500, seed: SEED },
  );
  t.end();
});

t.test('where JSON carries the value, the copy reads as what the JSON round trip it replaces made', (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      // The round trip turned -0 into 0, which JSON, String() and every comparison but Object.is read alike.
      const json = JSON.stringify(v);
      if (JSON.stringify(compactCopy(v)) !== json) throw new Error(`${json} became ${JSON.stringify(compactCopy(v))}`);
      if (!isDeepStrictEqual(JSON.parse(JSON.stringify(compactCopy(v))), JSON.parse(json))) throw new Error(`${json}: not deep-equal`);
    }),
    { numRuns: 500, seed: SEED },
  );
  t.end();
});

t.test('the JSON copies (the largest inputs) read as the values, non-finite numbers included, and share nothing', (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  fc.assert(
    fc.property(fc.array(yamlValue, { maxLength: 4 }), (vs) => {
      const cs = jsonCopyAll(vs);
      if (cs.length !== vs.length) throw new Error('not one copy a value');
      // A batch holding .inf/.nan (null in JSON) is copied structurally; else -0 becomes 0.
      vs.forEach((v, i) => {
        const diff = sameAndUnshared(v, cs[i], objectsOf(v), '$', true);
        if (diff) throw new Error(diff);
      });
    }),
    { numRuns: 300, seed: SEED },
  );
  t.end();
});

t.test("copies of parsed manifests keep none of the file's text alive", (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // ~16 MB of YAML whose every string value is long enough to be a slice of it.
  const doc = (i: number) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-map-number-${i}\n  annotations:\n    note: "${'x'.repeat(200)}"\ndata:\n  ${'k'.repeat(20)}: value-long-enough-to-be-sliced-${i}\n`;
  const keep = (copy: boolean): number => {
    gc();
    const before = process.memoryUsage().heapUsed;
    let text: string | undefined = Array.from({ length: 60_000 }, (_, i) => doc(i)).join('---\n');
    const objects = parseManifests(text, 'big.yaml').map((d) => (copy ? compactCopy(d.object) : d.object)).slice(0, 100);
    text = undefined;
    // js-yaml holds on to its last input until the next parse (as check's next file does).
    parseManifests('a: 1\n', 'next.yaml');
    gc();
    const held = process.memoryUsage().heapUsed - before;
    t.equal(objects.length, 100);
    return held;
  };
  const asParsed = keep(false);
  const copied = keep(true);
  // The parsed objects hold the whole text through their slices; 100 copies hold ~50 KB.
  t.ok(asParsed > 12e6, `the parsed objects keep the text alive (${(asParsed / 1e6).toFixed(1)} MB)`);
  t.ok(copied < 4e6, `the copies do not (${(copied / 1e6).toFixed(1)} MB)`);
  t.end();
});
