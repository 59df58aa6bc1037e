// Fuzzes the real HTTPS server (the built `meshguard serve`, started as the image starts
// it) with generated and mutated AdmissionReviews and with mangled bytes, and asserts:
// - no 5xx and no dropped connection for a client's fault;
// - every answer that can be an AdmissionReview is one, echoing the request's uid when readable;
// - every patch applies to the sent object, and re-reviewing the patched object gives no patch;
// - `meshguard review` answers the same bytes exactly as the server (a sample of the cases);
// - many concurrent maximum-size bodies are answered or time out waiting, the server survives
//   them, and its peak RSS stays under its container's memory limit.
// Seeds are printed; FUZZ_SEED (and FUZZ_PATH) replay a failing run, FUZZ_RUNS scales it.
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { fuzzParameters } from './lib/seed.js';
import { cliReview, post, ROOT, startFuzzServer, webhookMemoryLimit, type Answer } from './lib/server.js';

const server = await startFuzzServer();
t.teardown(() => server.stop());
const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: server.ca });
t.teardown(() => agent.destroy());

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const example = (name: string) => JSON.parse(readFileSync(join(ROOT, 'examples', name), 'utf8')) as Record<string, Json>;
const BASES = [example('admission-review-pod.json'), example('admission-review-statefulset.json')];

/** Every path to a value inside `v`, the root included. */
const pathsOf = (v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] => {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((c, i) => pathsOf(c, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) pathsOf(c, [...prefix, k], out);
  return out;
};
const BASE_PATHS = BASES.map((b) => pathsOf(b));

/** Sets an own property, even one named __proto__ (as JSON.parse would). */
const setOwn = (o: Record<string, Json>, k: string, v: Json) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

const parentOf = (root: Json, path: (string | number)[]): { holder: Json; key: string | number } | undefined => {
  if (path.length === 0) return undefined;
  let cur: Json = root;
  for (const seg of path.slice(0, -1)) cur = (cur as Record<string, Json>)[seg as string]!;
  return { holder: cur, key: path[path.length - 1]! };
};

const nested = (depth: number, leaf: Json, asArray: boolean): Json => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
};

// Values a mesh policy reads, mixed with junk of every JSON type.
const meshy = fc.constantFrom<Json>('true', 'false', 'enabled', 'disabled', '9017,9021', '', 'antfly-database', 'ac', 'istio-proxy', 'Always', 0, -1, 70000);
const value: fc.Arbitrary<Json> = fc.oneof({ weight: 3, arbitrary: meshy }, { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> });
const key = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'meshguard.io/ignore', 'sidecar.istio.io/inject', 'linkerd.io/inject', 'hostNetwork', 'uid', 'kind', ''),
  fc.string({ maxLength: 12 }),
);

type Mutation =
  | { op: 'set'; at: number; value: Json }
  | { op: 'delete'; at: number }
  | { op: 'add-key'; at: number; key: string; value: Json }
  | { op: 'nest'; at: number; depth: number; asArray: boolean };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('add-key' as const), at: fc.nat(), key, value }),
  fc.record({ op: fc.constant('nest' as const), at: fc.nat(), depth: fc.integer({ min: 1, max: 150 }), asArray: fc.boolean() }),
);

const mutate = (baseIndex: number, mutations: Mutation[]): Json => {
  let root = structuredClone(BASES[baseIndex]!) as Json;
  for (const m of mutations) {
    const paths = pathsOf(root);
    const path = paths[m.at % paths.length]!;
    const p = parentOf(root, path);
    const current = p ? (p.holder as Record<string, Json>)[p.key as string]! : root;
    const replace = (v: Json) => {
      if (!p) root = v;
      else if (Array.isArray(p.holder)) p.holder[p.key as number] = v;
      else setOwn(p.holder as Record<string, Json>, p.key as string, v);
    };
    if (m.op === 'set') replace(m.value);
    else if (m.op === 'nest') replace(nested(m.depth, current, m.asArray));
    else if (m.op === 'delete' && p) {
      if (Array.isArray(p.holder)) p.holder.splice(p.key as number, 1);
      else delete (p.holder as Record<string, Json>)[p.key as string];
    } else if (m.op === 'add-key' && current !== null && typeof current === 'object' && !Array.isArray(current)) setOwn(current, m.key, m.value);
  }
  return root;
};

/** The uid an answer must echo: the request's, when it is a non-empty string. */
const readableUid = (review: Json): string => {
  const req = review !== null && typeof review === 'object' && !Array.isArray(review) ? review.request : undefined;
  const uid = req !== null && typeof req === 'object' && !Array.isArray(req) ? req!.uid : undefined;
  return typeof uid === 'string' ? uid : '';
};

let cases = 0;
let requests = 0;
const failures: string[] = [];

/** Checks one answer; returns the parsed review, or undefined after recording why it is wrong. */
const checkAnswer = (what: string, a: Answer, uid: string): any => {
  requests++;
  const fail = (why: string) => void failures.push(`${what}: ${why} (HTTP ${a.status}: ${a.body.slice(0, 300)})`);
  if (a.status === 0) return fail('the connection was dropped');
  if (a.status >= 500) return fail('a server error for a client fault');
  if (!/application\/json/.test(a.contentType)) return fail('not JSON');
  let r: any;
  try {
    r = JSON.parse(a.body);
  } catch {
    return fail('unparsable body');
  }
  if (r?.kind !== 'AdmissionReview' || typeof r.response !== 'object') return fail('not an AdmissionReview');
  if (r.response.uid !== uid) return fail(`uid ${JSON.stringify(r.response.uid)} instead of ${JSON.stringify(uid)}`);
  return r;
};

const CLI_SAMPLES = Number(process.env.FUZZ_CLI_SAMPLES ?? 6);
let cliCompared = 0;

t.test('generated and mutated AdmissionReviews', async (t) => {
  let patches = 0;
  await fc.assert(
    fc.asyncProperty(fc.nat(BASES.length - 1), fc.array(mutation, { minLength: 0, maxLength: 4 }), async (b, ms) => {
      cases++;
      const review = mutate(b, ms);
      const text = JSON.stringify(review);
      const uid = readableUid(review);
      const before = failures.length;
      for (const webhook of ['mutate', 'validate'] as const) {
        const r = checkAnswer(`${webhook} ${text.slice(0, 200)}`, await post(server, `/${webhook}`, text, {}, agent), uid);
        if (!r) continue;
        if (webhook === 'mutate' && r.response.patch !== undefined) {
          patches++;
          const object = (review as any).request.object;
          let patched: unknown;
          try {
            const ops = JSON.parse(Buffer.from(r.response.patch, 'base64').toString('utf8'));
            patched = jsonpatch.applyPatch(structuredClone(object), ops, true, false).newDocument;
          } catch (err) {
            failures.push(`the patch does not apply: ${(err as Error).message} (${text.slice(0, 200)})`);
            continue;
          }
          const again = { ...(review as object), request: { ...(review as any).request, object: patched } };
          const r2 = checkAnswer('re-review of the patched object', await post(server, '/mutate', JSON.stringify(again), {}, agent), uid);
          if (r2 && r2.response.patch !== undefined) failures.push(`re-reviewing the patched object gives a patch again (${text.slice(0, 200)})`);
        }
        if (cliCompared < CLI_SAMPLES * 2 && cases % 7 === 1) {
          cliCompared++;
          const served = await post(server, `/${webhook}`, text, {}, agent);
          const cli = cliReview(webhook, text);
          let same = false;
          try {
            same = JSON.stringify(JSON.parse(cli.stdout)) === served.body;
          } catch {}
          if (!same) failures.push(`review --webhook ${webhook} differs from the server (exit ${cli.code}): ${cli.stdout.slice(0, 200)} vs ${served.body.slice(0, 200)}`);
        }
      }
      return failures.length === before;
    }),
    fuzzParameters('reviews', 250, (l) => t.comment(l)),
  );
  t.same(failures, [], 'every answer as required');
  t.ok(patches > 0, `some patches were applied and re-reviewed (${patches})`);
  t.ok(cliCompared > 0, `meshguard review compared with the server on ${cliCompared} cases`);
});

t.test('mangled bytes and headers', async (t) => {
  const texts = BASES.map((b) => JSON.stringify(b));
  const headerSets = fc.constantFrom<Record<string, string>>(
    {},
    { 'content-type': 'application/json; charset=utf-16' },
    { 'content-type': 'application/json; charset=utf-8' },
    { 'content-type': 'text/plain' },
    { 'content-type': 'application/yaml' },
    { 'content-encoding': 'gzip' },
    { 'content-encoding': 'br' },
    { 'content-encoding': 'deflate, x-custom' },
  );
  const edit = fc.oneof(
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('byte' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom('{', '[', '"', '\\', ',', '"__proto__":{},', '\u0000', '\ud800') }),
  );
  await fc.assert(
    fc.asyncProperty(fc.nat(texts.length - 1), fc.array(edit, { maxLength: 3 }), headerSets, fc.constantFrom('mutate', 'validate'), async (b, edits, headers, webhook) => {
      cases++;
      let bytes = Buffer.from(texts[b]!, 'utf8');
      for (const e of edits) {
        const at = e.at % (bytes.length + 1);
        if (e.op === 'truncate') bytes = bytes.subarray(0, at);
        else if (e.op === 'byte' && bytes.length > 0) (bytes = Buffer.from(bytes))[at % bytes.length] = e.byte;
        else if (e.op === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(e.text, 'utf8'), bytes.subarray(at)]);
      }
      // The uid is echoed only from a body that is read as JSON at all.
      let uid = '';
      const readable = headers['content-encoding'] === undefined && !/charset=utf-16|text\/plain|yaml/.test(headers['content-type'] ?? '');
      if (readable) {
        try {
          uid = readableUid(JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)));
        } catch {}
      }
      const before = failures.length;
      checkAnswer(`${webhook} ${JSON.stringify(headers)} ${bytes.toString('utf8').slice(0, 120)}`, await post(server, `/${webhook}`, bytes, headers, agent), uid);
      return failures.length === before;
    }),
    fuzzParameters('bytes', 250, (l) => t.comment(l)),
  );
  t.same(failures, [], 'every answer as required');
});

t.test('worst case for memory: many concurrent maximum-size bodies of tiny JSON values', async (t) => {
  // 7 MiB of empty arrays: the body that costs the most heap per byte when parsed.
  const body = `{"a":[${'[],'.repeat((7 * 1024 * 1024 - 16) / 3 - 1)}[]]}`;
  const CLIENTS = Number(process.env.FUZZ_MEMORY_CLIENTS ?? 16);
  const answers = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => post(server, i % 2 ? '/mutate' : '/validate', body)));
  cases += CLIENTS;
  // Bodies are read one large body at a time: one still waiting when its 30 s are up gets
  // Node's 408 (the API server would have given up on it by then anyway).
  const timedOut = answers.filter((a) => a.status === 408).length;
  for (const a of answers) if (a.status !== 408) checkAnswer('maximum-size body', a, '');
  t.same(failures, [], 'each answered as an AdmissionReview, or 408 after waiting its 30 s');
  t.ok(timedOut < CLIENTS, `${CLIENTS - timedOut} of ${CLIENTS} answered, ${timedOut} timed out waiting`);
  // The server runs with the heap its container gets (lib/server.ts): in the container the
  // kernel kills the pod past the memory limit, so the peak must stay under it, and the
  // heap cap must not have cost the process its life (a heap out of memory is a crash too).
  const peak = server.peakRss();
  const limit = webhookMemoryLimit();
  t.comment(`peak RSS of the server after ${cases} cases and ${CLIENTS} concurrent 7 MiB bodies: ${(peak / 1e6).toFixed(1)} MB (container limit ${limit / 1024 / 1024} MiB)`);
  t.ok(peak > 0 && peak < limit, `peak RSS ${(peak / 1e6).toFixed(1)} MB under the webhook container's memory limit (${limit / 1024 / 1024} MiB, manifests/base/deployment.yaml)`);
  const after = await post(server, '/validate', JSON.stringify(BASES[0]), {}, agent);
  t.equal(after.status, 200, 'the server still answers an ordinary review afterwards');
});

t.test('summary', async (t) => {
  t.comment(`fuzz cases: ${cases}, requests checked: ${requests}, CLI comparisons: ${cliCompared}`);
  t.ok(cases > 0);
});
