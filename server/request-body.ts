// How /mutate and /validate read a request body, whoever sends it: what the API server
// sends (uncompressed UTF-8 JSON with a Content-Length) is read; anything else gets a clear
// refusal before its bytes are buffered; and all bodies in flight together stay within a
// memory budget, so that many large or slow requests queue instead of growing the heap
// past the container's memory limit.
import type { FastifyReply, FastifyRequest, RequestPayload } from 'fastify';

/** An error Fastify answers with `statusCode`; the admission routes turn it into an AdmissionReview. */
export class BodyRefusal extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/**
 * 415 for what the API server never sends: it always sends UTF-8 JSON (JSON is UTF-8 by
 * RFC 8259) and never compresses a webhook request. Decoding another charset or inflating
 * a body would only let a small request grow into a large one in memory.
 */
export const unsupportedEncoding = (headers: FastifyRequest['headers']): BodyRefusal | undefined => {
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    return new BodyRefusal(415, `meshguard reads uncompressed request bodies only; Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported`);
  const charset = CHARSET.exec(headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8')
    return new BodyRefusal(415, `meshguard reads JSON in UTF-8 only; charset ${JSON.stringify(charset.slice(0, 40))} is not supported`);
  return undefined;
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as the API server's JSON, or a 400 saying why it is not. */
export const parseJsonBody = (body: Buffer): unknown => {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BodyRefusal(400, 'the request body is not valid UTF-8');
  }
  try {
    // Plain JSON.parse: keys such as __proto__ become ordinary own properties (data, as the
    // API server stored them), never prototypes.
    return JSON.parse(text);
  } catch (err) {
    throw new BodyRefusal(400, `the request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
};

export interface BodyBudgetStatus {
  inFlightBytes: number;
  waiting: number;
}

/** One request's claim on the budget: its bytes, and what to run once they fit. */
interface Reservation {
  readonly bytes: number;
  /** Dropped once run: see reserve. */
  go: (() => void) | undefined;
  state: 'waiting' | 'held' | 'released';
}

/**
 * Bytes of request bodies that may be in flight at once (buffered, parsed, decided). A
 * request reserves its Content-Length (the body limit when it has none) before its body is
 * read and frees it when its response is done or its connection closes. One request is
 * always let through, so a body up to the limit is never starved.
 */
export class BodyBudget {
  private inFlight = 0;
  private readonly queue: Reservation[] = [];

  constructor(readonly limitBytes: number) {}

  status(): BodyBudgetStatus {
    return { inFlightBytes: this.inFlight, waiting: this.queue.length };
  }

  /**
   * Calls `go` once `bytes` fit; returns the function that gives them back (call it once).
   * That function holds the reservation, not `go`: the gate hangs it on the response's
   * 'close', which comes only once the answer is flushed, and `go` holds Fastify's whole
   * request (its parsed body included). Kept until then, each review's request outlived the
   * young generation's collections and was copied by them (test/unit/server/request-body.test.ts).
   */
  reserve(bytes: number, go: () => void): () => void {
    const reservation: Reservation = { bytes, go, state: 'waiting' };
    if (this.queue.length === 0 && this.fits(bytes)) this.hold(reservation);
    else this.queue.push(reservation);
    return () => this.release(reservation);
  }

  private hold(reservation: Reservation): void {
    const go = reservation.go!;
    reservation.go = undefined;
    reservation.state = 'held';
    this.inFlight += reservation.bytes;
    go();
  }

  private release(reservation: Reservation): void {
    if (reservation.state === 'released') return;
    if (reservation.state === 'held') this.inFlight -= reservation.bytes;
    else this.queue.splice(this.queue.indexOf(reservation), 1);
    reservation.state = 'released';
    reservation.go = undefined;
    this.drain();
  }

  private fits(bytes: number): boolean {
    return this.inFlight === 0 || this.inFlight + bytes <= this.limitBytes;
  }

  private drain(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!.bytes)) this.hold(this.queue.shift()!);
  }
}

/**
 * The preParsing hook of the admission routes: refuse what cannot be read before reading
 * it, then wait for room in the budget. Callback style: an async hook costs a promise per review.
 */
export const admissionBodyGate = (budget: BodyBudget, bodyLimit: number) =>
  function gate(req: FastifyRequest, reply: FastifyReply, payload: RequestPayload, done: (err: Error | null, payload?: RequestPayload) => void): void {
    const refusal = unsupportedEncoding(req.headers);
    if (refusal) return done(refusal);
    const length = Number(req.headers['content-length']);
    const bytes = Number.isFinite(length) && length >= 0 ? Math.min(length, bodyLimit) : bodyLimit;
    // 'close' comes once the response is sent or the connection dropped, whichever is first.
    const release = budget.reserve(bytes, () => done(null, payload));
    reply.raw.once('close', release);
  };
