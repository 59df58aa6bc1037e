// A port list that reaches iptables element by element, as consul-k8s hands its
// transparent-proxy exclusion lists on: splitCommaSeparatedItemsFromAnnotation
// (control-plane/connect-inject/webhook/container_init.go) splits at commas and trims
// nothing, and hashicorp/consul sdk/iptables Setup writes each element as
// `iptables -p tcp --dport <element>`. iptables' tcp match reads that argument with
// parse_tcp_ports (extensions/libxt_tcp.c): `a:b` is a range, an empty side meaning 0 or
// 65535, a lower bound above the upper one refused; each side goes to xtables_parse_port
// (libxtables/xtables.c), which takes a number as strtoumax does with base 0 (leading
// white space and one "+" skipped, "-" refused, `0x` hexadecimal, a leading `0` octal,
// nothing after it) up to 65535, and otherwise looks the text up as a service name in
// /etc/services. An element iptables refuses makes the init container fail.

/** One element as iptables reads it. */
export type IptablesPort =
  | { kind: 'port'; from: number; to: number; /** the number written in decimal (no leading 0, no 0x) */ plain: boolean }
  | { kind: 'service'; name: string }
  | { kind: 'invalid'; reason: string };

/** C's isspace in the "C" locale, which strtoumax skips. */
const C_SPACE = /^[ \t\n\v\f\r]*/;
const ANY_SPACE = /[ \t\n\v\f\r]/;

/** xtables_strtoui(s, NULL, …, 0, 65535): the number, or undefined where the strict parse fails. */
const strictNumber = (s: string): number | undefined => {
  let rest = s.slice(C_SPACE.exec(s)![0].length);
  if (rest.startsWith('-')) return undefined;
  if (rest.startsWith('+')) rest = rest.slice(1);
  let digits: RegExp;
  let base: number;
  if (/^0[xX][0-9a-fA-F]/.test(rest)) {
    rest = rest.slice(2);
    digits = /^[0-9a-fA-F]+$/;
    base = 16;
  } else if (rest.startsWith('0')) {
    digits = /^[0-7]+$/;
    base = 8;
  } else {
    digits = /^[0-9]+$/;
    base = 10;
  }
  if (!digits.test(rest)) return undefined;
  const significant = rest.replace(/^0+(?=.)/, '');
  const value = significant.length > 12 ? Infinity : parseInt(significant, base);
  return value <= 65535 ? value : undefined;
};

const PLAIN = /^(0|[1-9][0-9]*)$/;

type Side = { kind: 'port'; port: number; plain: boolean } | { kind: 'service'; name: string } | { kind: 'invalid'; reason: string };

// A side that is not a number is a service name to iptables. Text that starts like a
// number, is empty or holds white space is in no /etc/services: it is refused.
const side = (s: string): Side => {
  const n = strictNumber(s);
  if (n !== undefined) return { kind: 'port', port: n, plain: PLAIN.test(s.slice(C_SPACE.exec(s)![0].length).replace(/^\+/, '')) };
  if (s === '') return { kind: 'invalid', reason: 'is empty' };
  // Leading white space before a number was skipped above; anywhere else it is refused.
  if (ANY_SPACE.test(s)) return { kind: 'invalid', reason: 'has white space, which iptables skips only before a number' };
  if (/^[-+0-9]/.test(s)) {
    if (/^[0-9]+-[0-9]+$/.test(s)) return { kind: 'invalid', reason: 'is a range written with "-"; iptables writes ranges as a:b' };
    if (/^0[0-7]*[89]/.test(s)) return { kind: 'invalid', reason: 'starts with 0, so iptables reads it as octal, and it has the digit 8 or 9' };
    return { kind: 'invalid', reason: 'is not a port number 0–65535' };
  }
  return { kind: 'service', name: s };
};

/** How iptables reads one `--dport` argument. */
export const parseIptablesPort = (element: string): IptablesPort => {
  const colon = element.indexOf(':');
  if (colon < 0) {
    const s = side(element);
    if (s.kind === 'port') return { kind: 'port', from: s.port, to: s.port, plain: s.plain };
    return s;
  }
  const [lo, hi] = [element.slice(0, colon), element.slice(colon + 1)];
  const a: Side = lo === '' ? { kind: 'port', port: 0, plain: true } : side(lo);
  const b: Side = hi === '' ? { kind: 'port', port: 65535, plain: true } : side(hi);
  for (const s of [a, b]) if (s.kind === 'invalid') return { kind: 'invalid', reason: `the range side ${JSON.stringify(s === a ? lo : hi)} ${s.reason}` };
  if (a.kind === 'service' || b.kind === 'service') return { kind: 'service', name: element };
  if (a.kind === 'port' && b.kind === 'port') {
    if (a.port > b.port) return { kind: 'invalid', reason: 'is a range whose first port is above its last' };
    return { kind: 'port', from: a.port, to: b.port, plain: a.plain && b.plain };
  }
  return { kind: 'invalid', reason: 'is not a port' };
};

/** The elements of a value as consul-k8s splits it: at every comma, nothing trimmed or dropped. */
export const consulListElements = (value: string): string[] => value.split(',');

export interface IptablesListVerdict {
  /** The first element iptables refuses, described; undefined when it takes them all. */
  error?: string;
  /** Elements iptables takes but not as the plain port they seem, or looks up by name. */
  warning?: string;
}

/** Every element of an exclusion list consul-k8s passes on to `iptables --dport`. */
export const iptablesPortList = (value: string): IptablesListVerdict => {
  const notes: string[] = [];
  for (const [i, element] of consulListElements(value).entries()) {
    const where = `element ${i + 1} (${JSON.stringify(element)})`;
    const p = parseIptablesPort(element);
    if (p.kind === 'invalid') {
      return { error: `${where} ${p.reason}; iptables refuses it, so the pod's init container fails. Write port numbers separated by commas, no spaces, e.g. "9017,9021" (a range is "9000:9100")` };
    }
    if (p.kind === 'service') notes.push(`${where} is looked up as a service name in the init container's /etc/services, which meshguard cannot see; a name missing there fails the init container`);
    else if (!p.plain) notes.push(`${where} is read by iptables as ${p.from === p.to ? `port ${p.from}` : `ports ${p.from}:${p.to}`} (a number with a leading 0 is octal, with 0x hexadecimal)`);
  }
  return notes.length > 0 ? { warning: `${notes.join('; ')}; write the port number in decimal` } : {};
};

// `--uid-owner <element>` (consul-k8s's transparent-proxy-exclude-uids, same path as the
// ports): owner_mt_parse (extensions/libxt_owner.c) looks the text up as a user name
// (getpwnam) first, else owner_parse_range reads a number as strtoumax with base 0 (white
// space and "+" before it skipped, "-" refused) up to 4294967294, optionally "-" or ":" and
// a second one, and nothing after.
const C_NUMBER = '[ \\t\\n\\v\\f\\r]*\\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)';
const UID_RANGE = new RegExp(`^${C_NUMBER}(?:[-:]${C_NUMBER})?$`);
const cValue = (digits: string): number => (/^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.startsWith('0') ? parseInt(digits, 8) : Number(digits));

/** Why iptables refuses this `--uid-owner` argument, or undefined (a name is taken as a user of the init container's image). */
export const iptablesUidError = (element: string): string | undefined => {
  const m = UID_RANGE.exec(element);
  if (m) {
    const [from, to] = [cValue(m[1]!), m[2] === undefined ? undefined : cValue(m[2])];
    if (from > 4294967294 || (to !== undefined && to > 4294967294)) return 'is above 4294967294';
    return undefined;
  }
  if (element === '') return 'is empty';
  if (ANY_SPACE.test(element)) return 'has white space';
  if (/^[-+0-9]/.test(element)) return 'is not a user ID (a number, or a range a-b) iptables reads';
  return undefined;
};
