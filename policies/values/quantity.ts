// Kubernetes resource quantities ("100m", "128Mi", "1e3"), for the proxy resource
// annotations every mesh turns into container resources. This follows apimachinery's own
// parser (k8s.io/apimachinery/pkg/api/resource: ParseQuantity, parseQuantityString and
// suffixHandler.interpret), quirks included, because that is what the meshes call:
//   - a sign, then leading zeros; a value that ends there is zero, so "-", "+", "+00"
//     are quantities (zero);
//   - digits, then "." and digits: an empty numerator or denominator is allowed (".", "5.");
//   - a suffix made of the letters eEinumkKMGTP, an optional sign and digits, that must be
//     one of "", n u m k M G T P E, Ki Mi Gi Ti Pi Ei, or e/E followed by a Go int64.
import { fail, ok, type Parsed } from './result.js';

export interface Quantity {
  negative: boolean;
  /** Integer digits without sign and leading zeros ("0" when there are none). */
  number: string;
  /** Fraction digits after ".", possibly empty. */
  fraction: string;
  suffix: string;
}

const DECIMAL_SUFFIXES: Record<string, number> = { '': 0, n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const SUFFIX_LETTERS = 'eEinumkKMGTP';
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const INT64 = /^[+-]?[0-9]+$/;
const INT64_MAX = 2n ** 63n - 1n;

// The mistakes people actually make, with the spelling Kubernetes wants.
const hint = (text: string): string => {
  if (/\s/.test(text)) return 'remove the spaces';
  if (/[0-9.](KB|K|kB|kb|Kb)$/.test(text)) return 'write k (1000) or Ki (1024), e.g. "512Ki"';
  if (/[0-9.]([MGTPE]B|[mgtpe]b|[MGTPE]b|[mgtpe]B)$/.test(text)) return 'write M/G (powers of 1000) or Mi/Gi (powers of 1024), e.g. "128Mi"';
  if (/[0-9.][mgtpe]i$/.test(text)) return 'binary suffixes are capitalised: Ki, Mi, Gi, Ti, Pi, Ei';
  return 'write a number with an optional suffix, e.g. "100m", "0.5", "128Mi", "1Gi"';
};

const suffixKnown = (suffix: string): boolean => {
  if (suffix in DECIMAL_SUFFIXES || suffix in BINARY_SUFFIXES) return true;
  // interpret(): e/E and a strconv.ParseInt(…, 10, 64) exponent.
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && INT64.test(suffix.slice(1))) {
    const exp = BigInt(suffix.slice(1));
    return exp <= INT64_MAX && exp >= -INT64_MAX - 1n;
  }
  return false;
};

/** apimachinery's ParseQuantity: the parts of `text`, or why Kubernetes refuses it. */
export const parseQuantity = (text: string): Parsed<Quantity> => {
  const refuse = (): Parsed<Quantity> => fail(`${JSON.stringify(text)} is not a Kubernetes quantity; ${hint(text)}`);
  if (text === '') return refuse();
  let pos = 0;
  const end = text.length;
  const negative = text[0] === '-';
  if (text[0] === '-' || text[0] === '+') pos++;
  while (pos < end && text[pos] === '0') pos++;
  if (pos >= end) return ok({ negative, number: '0', fraction: '', suffix: '' });
  let start = pos;
  while (pos < end && isDigit(text[pos])) pos++;
  const number = text.slice(start, pos) || '0';
  let fraction = '';
  if (pos < end && text[pos] === '.') {
    start = ++pos;
    while (pos < end && isDigit(text[pos])) pos++;
    fraction = text.slice(start, pos);
  }
  const suffixStart = pos;
  while (pos < end && SUFFIX_LETTERS.includes(text[pos]!)) pos++;
  if (pos < end && (text[pos] === '-' || text[pos] === '+')) pos++;
  while (pos < end && isDigit(text[pos])) pos++;
  if (pos < end) return refuse();
  const suffix = text.slice(suffixStart);
  if (!suffixKnown(suffix)) return refuse();
  return ok({ negative, number, fraction, suffix });
};

/** True when the quantity is below zero (a zero written "-0" or "-" is not). */
export const isNegative = (q: Quantity): boolean => q.negative && /[1-9]/.test(q.number + q.fraction);

/**
 * The amount in nano-units, rounded away from zero as apimachinery rounds (to 1n), for
 * comparing a request with a limit. Exponents too large to matter saturate.
 */
export const quantityNanos = (q: Quantity): bigint => {
  const digits = BigInt(q.number + q.fraction);
  let exp10 = -q.fraction.length + 9;
  let factor = 1n;
  if (q.suffix in BINARY_SUFFIXES) factor = 2n ** BigInt(BINARY_SUFFIXES[q.suffix]!);
  else if (q.suffix in DECIMAL_SUFFIXES) exp10 += DECIMAL_SUFFIXES[q.suffix]!;
  else exp10 += Math.max(-400, Math.min(400, Number(q.suffix.slice(1))));
  let value = digits * factor;
  if (exp10 >= 0) value *= 10n ** BigInt(exp10);
  else {
    const div = 10n ** BigInt(-exp10);
    value = value / div + (value % div === 0n ? 0n : 1n);
  }
  return q.negative ? -value : value;
};

/**
 * Error for a container resource amount. Istio's validateResourceQuantity
 * (pkg/kube/inject/validate.go) refuses control characters and whatever ParseQuantity
 * refuses; a negative amount passes the mesh, and then the API server refuses the pod the
 * mesh produced (ValidateNonnegativeQuantity), which this message says.
 */
export const resourceQuantityError = (text: string): string | undefined => {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(text)) return `${JSON.stringify(text)} contains control characters; write a quantity such as "100m" or "128Mi"`;
  const parsed = parseQuantity(text);
  if (!parsed.ok) return parsed.error;
  if (isNegative(parsed.value)) {
    return `${JSON.stringify(text)} is negative: the mesh copies it into the proxy container's resources, and the API server then refuses the pod (container resources must be zero or more)`;
  }
  return undefined;
};
