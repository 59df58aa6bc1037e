// Parsers return their verdict instead of throwing: a bad annotation value is an expected
// input (someone's `kubectl apply`), not an exceptional one, and the message is the product.

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = <T = never>(error: string): Parsed<T> => ({ ok: false, error });
