// Kubernetes resource quantities ("100m", "128Mi", "1e3"), for the proxy resource
// annotations every mesh turns into container resources. The grammar is apimachinery's:
//   quantity  ::= [+-] number [suffix]
//   number    ::= digits | digits "." [digits] | "." digits
//   suffix    ::= Ki|Mi|Gi|Ti|Pi|Ei | n|u|m|k|M|G|T|P|E | (e|E) [+-] digits
import { fail, ok, type Parsed } from './result.js';

export interface Quantity {
  negative: boolean;
  /** The number as written, without sign and suffix. */
  number: string;
  suffix: string;
}

const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

// The mistakes people actually make, with the spelling Kubernetes wants.
const hint = (text: string): string => {
  if (/\s/.test(text)) return 'remove the spaces';
  if (/[0-9.](KB|K|kB|kb|Kb)$/.test(text)) return 'write k (1000) or Ki (1024), e.g. "512Ki"';
  if (/[0-9.]([MGTPE]B|[mgtpe]b|[MGTPE]b|[mgtpe]B)$/.test(text)) return 'write M/G (powers of 1000) or Mi/Gi (powers of 1024), e.g. "128Mi"';
  if (/[0-9.][mgtpe]i$/.test(text)) return 'binary suffixes are capitalised: Ki, Mi, Gi, Ti, Pi, Ei';
  return 'write a number with an optional suffix, e.g. "100m", "0.5", "128Mi", "1Gi"';
};

export const parseQuantity = (text: string): Parsed<Quantity> => {
  const m = QUANTITY.exec(text);
  if (!m) return fail(`${JSON.stringify(text)} is not a Kubernetes quantity; ${hint(text)}`);
  return ok({ negative: m[1] === '-', number: m[2]!, suffix: m[3] ?? '' });
};

/** Error for a container resource amount: a quantity, and not negative (the API server rejects those). */
export const resourceQuantityError = (text: string): string | undefined => {
  const parsed = parseQuantity(text);
  if (!parsed.ok) return parsed.error;
  if (parsed.value.negative && /[1-9]/.test(parsed.value.number)) {
    return `${JSON.stringify(text)} is negative; container resources must be zero or more`;
  }
  return undefined;
};
