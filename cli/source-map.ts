// Line numbers for findings without a second parse: js-yaml's event stream keeps source
// offsets, so a field path is found by walking one document's events. The events are
// copied into a typed array right after parsing: keeping millions of event objects alive
// until the findings are known made garbage collection cost more than the copy.
import { EVENT_ID, getScalarValue, type Event, type ScalarEvent } from 'js-yaml';
import type { Path } from '../policies/findings.js';

// Per event: type and scalar style bits, start, end (scalars: value range), indent.
// Four 32-bit slots per event: the index for 10k documents is ~1M events, and its size
// is memory the garbage collector weighs too.
const F = { bits: 0, start: 1, end: 2, indent: 3 } as const;
const WIDTH = 4;
// bits: type (4 bits) | style (4) | chomping (4) | fast (1)
const TYPE_MASK = 0xf;
const pack = (type: number, style: number, chomping: number, fast: boolean): number =>
  (type & TYPE_MASK) | ((style & 0xf) << 4) | ((chomping & 0xf) << 8) | (fast ? 1 << 12 : 0);

const startOf = (e: Event): number => {
  switch (e.type) {
    case EVENT_ID.SCALAR:
      return e.valueStart >= 0 ? e.valueStart : e.tagStart >= 0 ? e.tagStart : e.anchorStart;
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      return e.start;
    case EVENT_ID.ALIAS:
      return e.anchorStart;
    default:
      return -1;
  }
};

export class EventIndex {
  private readonly data: Int32Array;
  readonly length: number;
  /** Index of the root node of each document. */
  readonly roots: number[] = [];
  /** Positions (in `roots`) of the documents that hold an alias: only those can share a node. */
  readonly aliased = new Set<number>();

  constructor(events: readonly Event[]) {
    const n = (this.length = events.length);
    const d = (this.data = new Int32Array(n * WIDTH));
    for (let i = 0, o = 0; i < n; i++, o += WIDTH) {
      const e = events[i]!;
      d[o + F.start] = startOf(e);
      if (e.type === EVENT_ID.SCALAR) {
        d[o + F.bits] = pack(e.type, e.style, e.chomping, e.fast);
        d[o + F.end] = e.valueEnd;
        d[o + F.indent] = e.indent;
      } else {
        d[o + F.bits] = e.type;
        if (e.type === EVENT_ID.DOCUMENT) this.roots.push(i + 1);
        else if (e.type === EVENT_ID.ALIAS) this.aliased.add(this.roots.length - 1);
      }
    }
  }

  private type(i: number): number {
    return this.data[i * WIDTH + F.bits]! & TYPE_MASK;
  }

  start(i: number): number {
    return this.data[i * WIDTH + F.start]!;
  }

  private scalarText(source: string, i: number): string {
    const o = i * WIDTH;
    const d = this.data;
    const bits = d[o + F.bits]!;
    if (bits & (1 << 12)) return source.slice(d[o + F.start], d[o + F.end]);
    const scalar = {
      type: EVENT_ID.SCALAR,
      valueStart: d[o + F.start]!,
      valueEnd: d[o + F.end]!,
      style: (bits >> 4) & 0xf,
      chomping: (bits >> 8) & 0xf,
      indent: d[o + F.indent]!,
      fast: false,
      anchorStart: -1,
      anchorEnd: -1,
      tagStart: -1,
      tagEnd: -1,
    } as unknown as ScalarEvent;
    return getScalarValue(source, scalar);
  }

  /** Index of the event after the node starting at `i` (skips a whole subtree). */
  private skipNode(i: number): number {
    const t = this.type(i);
    if (t !== EVENT_ID.MAPPING && t !== EVENT_ID.SEQUENCE) return i + 1;
    let depth = 0;
    for (let j = i; j < this.length; j++) {
      const tj = this.type(j);
      if (tj === EVENT_ID.MAPPING || tj === EVENT_ID.SEQUENCE) depth++;
      else if (tj === EVENT_ID.POP && --depth === 0) return j + 1;
    }
    return this.length;
  }

  /**
   * The nodes of the sequence under mapping key `key` of the mapping at `i`, in order, in
   * one pass: what offsetOfPath would find for [key, 0], [key, 1], ... one at a time, which
   * made the items of a `kind: List` quadratic to locate.
   */
  sequenceItems(source: string, i: number, key: string): number[] {
    if (i >= this.length || this.type(i) !== EVENT_ID.MAPPING) return [];
    let j = i + 1;
    while (j < this.length && this.type(j) !== EVENT_ID.POP) {
      const valueAt = this.skipNode(j);
      if (this.type(j) === EVENT_ID.SCALAR && this.scalarText(source, j) === key) {
        return this.items(valueAt);
      }
      j = this.skipNode(valueAt);
    }
    return [];
  }

  /** The nodes of the sequence at `i`, in order; none when `i` is not a sequence. */
  items(i: number): number[] {
    if (i >= this.length || this.type(i) !== EVENT_ID.SEQUENCE) return [];
    const items: number[] = [];
    for (let k = i + 1; k < this.length && this.type(k) !== EVENT_ID.POP; k = this.skipNode(k)) items.push(k);
    return items;
  }

  /**
   * Offset of the deepest node on `path` inside the document whose root node is at
   * `root`: the key of the last segment when it exists, else the closest ancestor.
   */
  offsetOfPath(source: string, root: number, path: Path): number {
    let i = root;
    if (i >= this.length) return -1;
    let best = this.start(i);
    for (const seg of path) {
      const t = this.type(i);
      let found = -1;
      if (t === EVENT_ID.MAPPING && typeof seg === 'string') {
        let j = i + 1;
        while (j < this.length && this.type(j) !== EVENT_ID.POP) {
          const valueAt = this.skipNode(j);
          if (this.type(j) === EVENT_ID.SCALAR && this.scalarText(source, j) === seg) {
            best = this.start(j);
            found = valueAt;
            break;
          }
          j = this.skipNode(valueAt);
        }
      } else if (t === EVENT_ID.SEQUENCE && typeof seg === 'number') {
        let j = i + 1;
        for (let n = 0; j < this.length && this.type(j) !== EVENT_ID.POP; n++) {
          if (n === seg) {
            found = j;
            best = this.start(j);
            break;
          }
          j = this.skipNode(j);
        }
      }
      if (found < 0 || found >= this.length) break;
      i = found;
    }
    return best;
  }
}

/** 1-based line of an offset; the newline index is built once per file, on first use. */
export class LineIndex {
  private starts: number[] | undefined;
  constructor(private readonly text: string) {}

  lineOf(offset: number): number {
    if (offset < 0) return 1;
    if (!this.starts) {
      this.starts = [0];
      for (let i = this.text.indexOf('\n'); i >= 0; i = this.text.indexOf('\n', i + 1)) this.starts.push(i + 1);
    }
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}
