// Line numbers for findings without a second parse: js-yaml's event stream keeps source
// offsets, so a field path is found by walking one document's events.
import { EVENT_ID, getScalarValue, type Event } from 'js-yaml';
import type { Path } from '../policies/findings.js';

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

/** Index of the event after the node starting at `i` (skips a whole subtree). */
const skipNode = (events: readonly Event[], i: number): number => {
  const t = events[i]!.type;
  if (t !== EVENT_ID.MAPPING && t !== EVENT_ID.SEQUENCE) return i + 1;
  let depth = 0;
  for (let j = i; j < events.length; j++) {
    const tj = events[j]!.type;
    if (tj === EVENT_ID.MAPPING || tj === EVENT_ID.SEQUENCE) depth++;
    else if (tj === EVENT_ID.POP && --depth === 0) return j + 1;
  }
  return events.length;
};

/**
 * Offset of the deepest node on `path` inside the document whose root node is at
 * `root`: the key of the last segment when it exists, else the closest ancestor.
 */
export const offsetOfPath = (source: string, events: readonly Event[], root: number, path: Path): number => {
  let i = root;
  let best = startOf(events[i]!);
  for (const seg of path) {
    const node = events[i]!;
    let found = -1;
    if (node.type === EVENT_ID.MAPPING && typeof seg === 'string') {
      let j = i + 1;
      while (j < events.length && events[j]!.type !== EVENT_ID.POP) {
        const key = events[j]!;
        const valueAt = skipNode(events, j);
        if (key.type === EVENT_ID.SCALAR && getScalarValue(source, key) === seg) {
          best = startOf(key);
          found = valueAt;
          break;
        }
        j = skipNode(events, valueAt);
      }
    } else if (node.type === EVENT_ID.SEQUENCE && typeof seg === 'number') {
      let j = i + 1;
      for (let n = 0; j < events.length && events[j]!.type !== EVENT_ID.POP; n++) {
        if (n === seg) {
          found = j;
          best = startOf(events[j]!);
          break;
        }
        j = skipNode(events, j);
      }
    }
    if (found < 0 || found >= events.length) break;
    i = found;
  }
  return best;
};

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
