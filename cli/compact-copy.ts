// What `check` keeps past a file (the index's objects, the findings), copied so that it
// holds nothing of the file: js-yaml's arrays keep growth slack (an array of one item holds
// 17 slots), and its longer strings, and the findings' messages built from them, are
// slices of the file's text (or concatenations of slices) that keep all of that text alive.
//
// A structural copy: arrays of their exact length, objects with the same own keys in the
// same order, and every string long enough to be a slice or a concatenation copied into a
// string of its own. Unlike the JSON round trip (10k bench documents: 155-230 ms against
// 55-90 ms for this copy), it needs no text in between and carries every value as it is
// (.inf, .nan, -0, undefined), so the copy answers exactly as the parsed value. The round
// trip's copies take less memory (16 MB of heap against 22 MB there: JSON.parse sizes each
// object to its keys), which the largest inputs need (cli/check-files.ts JSON_COPY_MIN_BYTES).

/**
 * V8 makes a slice or a concatenation only of 13 characters or more
 * (SlicedString::kMinLength, ConsString::kMinLength): shorter strings are their own.
 */
const SHARED_MIN_LENGTH = 13;

/**
 * A string that holds its own characters. Prepending one character makes a concatenation
 * that slice() flattens into a new string of length + 1, of which the result is a slice:
 * at most one character more than the string, never the file's text.
 */
const ownString = (s: string): string => (s.length < SHARED_MIN_LENGTH ? s : ` ${s}`.slice(1));

/** A deep copy of a value made of plain objects, arrays and primitives (what YAML's core schema and the findings hold). */
export const compactCopy = <T>(value: T): T => copy(value) as T;

const copy = (v: unknown): unknown => {
  if (typeof v === 'string') return ownString(v);
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    const n = v.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = copy(v[i]);
    return out;
  }
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // for-in: the values' prototype is Object.prototype, which has no enumerable keys, and it
  // makes no array of keys per object as Object.keys does.
  for (const k in src) {
    // A YAML key `__proto__` is an own property (js-yaml defines it so); assigning it would set the prototype.
    if (k === '__proto__') Object.defineProperty(out, k, { value: copy(src[k]), enumerable: true, writable: true, configurable: true });
    else out[k] = copy(src[k]);
  }
  return out;
};

/**
 * The JSON round trip: smaller copies, for about three times the time. JSON carries every
 * value YAML's core schema produces but the non-finite floats (.inf, .nan, 1e400), which it
 * writes as null: a value whose JSON holds a null is copied structurally instead. (-0
 * becomes 0, which no comparison or message tells apart.) A batch's values at once (a
 * third of the time of one at a time), each alone when the batch holds a null.
 */
export const jsonCopyAll = <T>(vs: T[]): T[] => {
  if (vs.length === 0) return vs;
  const json = JSON.stringify(vs);
  return NULL_VALUE.test(json) ? vs.map(jsonCopy) : (JSON.parse(json) as T[]);
};

const NULL_VALUE = /(?:^|[:,[])null/;
const jsonCopy = <T>(v: T): T => {
  const json = JSON.stringify(v);
  return NULL_VALUE.test(json) ? compactCopy(v) : (JSON.parse(json) as T);
};
