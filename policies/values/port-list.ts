// Comma-separated port lists as the meshes read them from annotations
// (`traffic.sidecar.istio.io/excludeInboundPorts`, `config.linkerd.io/skip-inbound-ports`, ...),
// and the set-merge mutation rule 2 applies to them.
import { goTrimSpace } from './go-strings.js';
import { fail, ok, type Parsed } from './result.js';

export interface PortListRules {
  /** Whether `a-b` ranges are accepted (Linkerd) or not (Istio, Consul, Kuma). */
  ranges: boolean;
  /** Lowest accepted port; 0 by default (Istio and Linkerd parse with Go's ParseUint(s, 10, 16)). */
  min?: number;
  /** Highest accepted port; 65535 by default. */
  max?: number;
  /** Whether the whole value may be exactly `*` (Istio's includeInboundPorts: every port; Istio compares without trimming). */
  allowStar?: boolean;
  /** Whether blank elements are skipped instead of refused (Kuma's Ports.append drops them). */
  skipEmpty?: boolean;
}

/** One element of a list: a single port has `from === to`. */
export interface PortSpan {
  from: number;
  to: number;
  /** The element as written, surrounding spaces removed. */
  text: string;
}

export interface PortList {
  /** The value was `*`. */
  all: boolean;
  spans: PortSpan[];
}

const MAX_PORT = 65535;
const DIGITS = /^[0-9]+$/;
const RANGE = /^([0-9]+)-([0-9]+)$/;

const bounds = (rules: PortListRules): [number, number] => [rules.min ?? 0, rules.max ?? MAX_PORT];

/** "comma-separated port numbers 1–65535 (ranges a-b allowed)", the form a value must take. */
export const describePortList = (rules: PortListRules): string => {
  const [min, max] = bounds(rules);
  const extras = [rules.ranges ? 'ranges like 4000-4100 allowed' : 'no ranges', rules.allowStar ? 'or "*" for all ports' : undefined];
  return `comma-separated port numbers ${min}–${max} (${extras.filter((e) => e !== undefined).join(', ')}), e.g. "9017,9021"`;
};

// Elements are trimmed because Istio's parser trims each one (parsePort in
// pkg/kube/inject/validate.go: strings.TrimSpace, then strconv.ParseUint(s, 10, 16)); the
// value is otherwise taken literally.
const parseElement = (raw: string, position: number, rules: PortListRules): Parsed<PortSpan> => {
  const text = goTrimSpace(raw);
  const [min, max] = bounds(rules);
  const where = `element ${position} (${JSON.stringify(raw)})`;
  const outside = (n: number): boolean => n < min || n > max;
  if (text === '') {
    return fail(`${where} is empty; remove the extra comma so that every element is a port`);
  }
  if (text === '*') {
    return fail(
      rules.allowStar
        ? `"*" must be the whole value (meaning every port), not one element of a list`
        : `${where} is "*", which is not accepted here; list the ports`,
    );
  }
  if (DIGITS.test(text)) {
    const port = Number(text);
    if (outside(port)) return fail(`${where} is outside the port range ${min}–${max}`);
    return ok({ from: port, to: port, text });
  }
  const range = RANGE.exec(text);
  if (range) {
    if (!rules.ranges) {
      return fail(`${where} is a range, but ranges are not accepted here; list each port separately, e.g. "${range[1]},${range[2]}"`);
    }
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (outside(from) || outside(to)) return fail(`${where} reaches outside the port range ${min}–${max}`);
    if (from > to) return fail(`${where} runs backwards; write the lower port first: "${to}-${from}"`);
    return ok({ from, to, text });
  }
  return fail(`${where} is not a port number${rules.ranges ? ' or a range a-b' : ''}`);
};

/**
 * Parse a whole annotation value as Istio's parsePorts does: the value is trimmed, an empty
 * (or blank) value is an empty list, and the rest is split at commas. `*` counts only when
 * it is the whole, untrimmed value (ValidateIncludeInboundPorts compares `ports != "*"`).
 */
export const parsePortList = (value: string, rules: PortListRules): Parsed<PortList> => {
  const trimmed = goTrimSpace(value);
  if (trimmed === '') return ok({ all: false, spans: [] });
  if (rules.allowStar && value === '*') return ok({ all: true, spans: [] });
  const spans: PortSpan[] = [];
  const elements = trimmed.split(',');
  for (const [i, raw] of elements.entries()) {
    if (rules.skipEmpty && goTrimSpace(raw) === '') continue;
    const parsed = parseElement(raw, i + 1, rules);
    if (!parsed.ok) return fail(`${parsed.error}; expected ${describePortList(rules)}`);
    spans.push(parsed.value);
  }
  return ok({ all: false, spans });
};

/** The error message for a value, or undefined when the list is valid. */
export const portListError = (value: string, rules: PortListRules): string | undefined => {
  const parsed = parsePortList(value, rules);
  return parsed.ok ? undefined : parsed.error;
};

// Coverage is judged element by element, so that an unparsable neighbour (kept verbatim)
// does not stop the others from counting.
const covers = (element: string, port: number, opts: MergeOptions): boolean => {
  const text = opts.asWritten ? element : goTrimSpace(element);
  const ranges = opts.ranges;
  if (DIGITS.test(text)) return Number(text) === port;
  const range = ranges ? RANGE.exec(text) : null;
  return range !== null && Number(range[1]) <= port && port <= Number(range[2]);
};

export interface MergeOptions {
  ranges: boolean;
  /**
   * The mesh reads each element exactly as written (Linkerd's proxy-init: no trimming), so
   * an element with spaces around it covers no port.
   */
  asWritten?: boolean;
}

/** The elements of a list as written, blank ones dropped. */
const elementsOf = (list: string): string[] => {
  const out: string[] = [];
  for (const e of list.split(',')) if (goTrimSpace(e) !== '') out.push(e);
  return out;
};

/** Whether `elements` already list `text` (as the mesh reads each) or, a single port, cover it. */
const lists = (elements: readonly string[], text: string, opts: MergeOptions): boolean => {
  for (const e of elements) if ((opts.asWritten ? e : goTrimSpace(e)) === text) return true;
  if (!DIGITS.test(text)) return false;
  const port = Number(text);
  for (const e of elements) if (covers(e, port, opts)) return true;
  return false;
};

/**
 * Mutation rule 2: `add` merged as a set into an existing port list. The existing text and
 * order are kept as written; only what it does not already cover is appended: an element
 * of `addList` (another list, e.g. the cluster CR's value for the same key) unless the list
 * already has it or, for a single port, covers it; then each port of `add` not covered (a
 * port inside an `a-b` element is covered when the mesh reads ranges). Merging the result
 * again returns the identical string. Throws RangeError for an `add` entry that is not a
 * port: callers pass validated ports.
 */
export const mergePorts = (existing: string | undefined, add: readonly number[], opts: MergeOptions, addList?: string): string => {
  for (const port of add) {
    if (!Number.isInteger(port) || port < 0 || port > MAX_PORT) {
      throw new RangeError(`mergePorts: ${String(port)} is not a port number (an integer 0–65535)`);
    }
  }
  const base = existing ?? '';
  const fromList = addList !== undefined && addList !== '';
  // Nothing to add: the list as it is (mutation asks this for every CR without a list of its own).
  if (add.length === 0 && !fromList) return base;
  // Every mutation of a meshed template merges here four times: no closures, no arrays
  // beyond the elements; what is missing is appended to them, from `known` on.
  const elements = elementsOf(base);
  const known = elements.length;
  if (fromList) for (const e of elementsOf(addList)) appendMissing(elements, goTrimSpace(e), opts);
  for (const port of add) appendMissing(elements, String(port), opts);
  if (elements.length === known) return base;
  let missing = elements[known]!;
  for (let i = known + 1; i < elements.length; i++) missing += `,${elements[i]!}`;
  const trimmed = goTrimSpace(base);
  if (trimmed === '') return missing;
  // A list that already ends in a comma gets no second one: an empty element breaks it.
  return `${base}${trimmed.endsWith(',') ? '' : ','}${missing}`;
};

/**
 * Appends `text` (trimmed) unless the elements already list or cover it. The elements
 * appended before it are among them, so nothing is appended twice.
 */
const appendMissing = (elements: string[], text: string, opts: MergeOptions): void => {
  if (!lists(elements, text, opts)) elements.push(text);
};
