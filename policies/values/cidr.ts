// CIDR prefixes and lists, read the way Istio reads `traffic.sidecar.istio.io/*IPRanges`:
// Go's netip.ParsePrefix on each comma-separated element, taken literally (no trimming),
// with `*` as a whole value where the annotation allows it.
import { isIPv4, isIPv6 } from 'node:net';
import { fail, ok, type Parsed } from './result.js';

export interface Cidr {
  address: string;
  bits: number;
  family: 4 | 6;
}

export interface CidrList {
  /** The value was `*`. */
  all: boolean;
  cidrs: Cidr[];
}

// Go rejects leading zeros and signs in the prefix length.
const BITS = /^(0|[1-9][0-9]{0,2})$/;

/** One prefix such as "10.0.0.0/8" or "fd00::/8". */
export const parseCidr = (text: string): Parsed<Cidr> => {
  const slash = text.indexOf('/');
  if (slash < 0) {
    return fail(`${JSON.stringify(text)} has no prefix length; write address/bits, e.g. "${text === '' ? '10.0.0.0' : text}/32"`);
  }
  const address = text.slice(0, slash);
  const bitsText = text.slice(slash + 1);
  // Node's isIPv6 accepts a zone ("fe80::1%eth0"); a prefix cannot carry one.
  const family = isIPv4(address) ? 4 : isIPv6(address) && !address.includes('%') ? 6 : undefined;
  if (family === undefined) {
    return fail(`${JSON.stringify(address)} in ${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
  }
  const max = family === 4 ? 32 : 128;
  const bits = BITS.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits <= max)) {
    return fail(`prefix length ${JSON.stringify(bitsText)} in ${JSON.stringify(text)} must be a whole number 0–${max} without leading zeros`);
  }
  return ok({ address, bits, family });
};

/** A comma-separated list; empty means no prefixes. `*` is accepted as the whole value only with allowStar. */
export const parseCidrList = (value: string, opts: { allowStar?: boolean } = {}): Parsed<CidrList> => {
  if (value === '') return ok({ all: false, cidrs: [] });
  if (value === '*') {
    return opts.allowStar ? ok({ all: true, cidrs: [] }) : fail('"*" is not accepted here; list the CIDR prefixes');
  }
  const cidrs: Cidr[] = [];
  for (const [i, element] of value.split(',').entries()) {
    const parsed = parseCidr(element);
    if (!parsed.ok) {
      const hint = element !== element.trim() ? ' (spaces are not allowed around the commas)' : '';
      return fail(`element ${i + 1}: ${parsed.error}${hint}; expected comma-separated CIDR prefixes, e.g. "10.0.0.0/8,fd00::/8"`);
    }
    cidrs.push(parsed.value);
  }
  return ok({ all: false, cidrs });
};

/** The error message for a list, or undefined when it is valid. */
export const cidrListError = (value: string, opts: { allowStar?: boolean } = {}): string | undefined => {
  const parsed = parseCidrList(value, opts);
  return parsed.ok ? undefined : parsed.error;
};
