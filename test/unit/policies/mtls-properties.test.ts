// Istio's PeerAuthentication precedence (policies/index/mtls.ts) against a straightforward
// reference model, over generated policy sets: root, own and foreign namespaces; no
// selector, empty matchLabels, matching and non-matching selectors; every mode incl. UNSET
// and absent; port-level settings; equal, distinct and missing creation timestamps.
// The seed is printed; replay a failure with FC_SEED=<seed>.
import fc from 'fast-check';
import t from 'tap';
import { composeMtls, effectiveMtls, type MtlsMode } from '../../../policies/index/mtls.js';
import { PlainObjectIndex } from '../../../policies/index/object-index.js';
import type { KubeObject, StringMap } from '../../../policies/k8s.js';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
const NUM_RUNS = 1000;
const ROOT = 'istio-system';
const PORTS = [80, 9443, 9443, 8080] as const;

const mode = fc.constantFrom(undefined, 'UNSET', 'STRICT', 'STRICT', 'PERMISSIVE', 'DISABLE', 'bogus');
const selector = fc.constantFrom(undefined, null, {}, { matchLabels: {} }, { matchLabels: { app: 'a' } }, { matchLabels: { app: 'a' } }, { matchLabels: { app: 'b' } }, { matchLabels: { app: 'a', tier: 'x' } });
const timestamp = fc.constantFrom(undefined, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', '2024-06-01T00:00:00Z', '2025-01-01T00:00:00Z');

const policy = fc.record({
  namespace: fc.constantFrom('app', 'app', ROOT, 'other'),
  name: fc.constantFrom('p1', 'p2', 'p3', 'p4', 'default'),
  selector,
  mtls: fc.option(fc.record({ mode }, { requiredKeys: [] }), { nil: undefined }),
  ports: fc.dictionary(fc.constantFrom('80', '9443', '9443', '1234'), fc.record({ mode }, { requiredKeys: [] }), { maxKeys: 2, noNullPrototype: true }),
  timestamp,
});

type GeneratedPolicy = typeof policy extends fc.Arbitrary<infer T> ? T : never;

const toObject = (p: GeneratedPolicy): KubeObject => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'PeerAuthentication',
  metadata: { name: p.name, namespace: p.namespace, ...(p.timestamp ? { creationTimestamp: p.timestamp } : {}) },
  spec: {
    ...(p.selector !== undefined ? { selector: p.selector } : {}),
    ...(p.mtls !== undefined ? { mtls: p.mtls } : {}),
    ...(Object.keys(p.ports).length > 0 ? { portLevelMtls: p.ports } : {}),
  },
});

// --- the reference model, written from the rules as stated in issue 15 ---

const VALID = ['STRICT', 'PERMISSIVE', 'DISABLE'];
const set = (m: unknown): MtlsMode | undefined => (typeof m === 'string' && VALID.includes(m) ? (m as MtlsMode) : undefined);
const age = (o: KubeObject): [number, string] => [o.metadata?.creationTimestamp ? Date.parse(o.metadata.creationTimestamp as string) : Infinity, o.metadata?.name ?? ''];
const byAge = (a: KubeObject, b: KubeObject): number => {
  const [ta, na] = age(a);
  const [tb, nb] = age(b);
  return ta !== tb ? (ta < tb ? -1 : 1) : na.localeCompare(nb);
};
const wide = (o: KubeObject): boolean => !o.spec.selector?.matchLabels || Object.keys(o.spec.selector.matchLabels).length === 0;
const selects = (o: KubeObject, labels: StringMap): boolean => Object.entries(o.spec.selector.matchLabels as StringMap).every(([k, v]) => labels[k] === v);

const reference = (all: KubeObject[], ns: string, labels: StringMap, port: number): MtlsMode => {
  const sorted = [...all].sort(byAge);
  const meshPolicy = sorted.find((o) => o.metadata?.namespace === ROOT && wide(o));
  const nsPolicy = ns === ROOT ? undefined : sorted.find((o) => o.metadata?.namespace === ns && wide(o));
  const workloadPolicy = ns === ROOT ? undefined : sorted.find((o) => o.metadata?.namespace === ns && !wide(o) && selects(o, labels));
  let result: MtlsMode = 'PERMISSIVE';
  for (const p of [meshPolicy, nsPolicy, workloadPolicy]) result = set(p?.spec.mtls?.mode) ?? result;
  return set(workloadPolicy?.spec.portLevelMtls?.[String(port)]?.mode) ?? result;
};

/** One object per identity, as the API server holds them. */
const unique = (objects: KubeObject[]): KubeObject[] => [...new Map(objects.map((o) => [`${o.metadata?.namespace}/${o.metadata?.name}`, o])).values()];

t.test('effective mTLS matches the reference model', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  let strict = 0;
  let portLevel = 0;
  fc.assert(
    fc.property(
      fc.array(policy, { maxLength: 7 }),
      fc.constantFrom('app', ROOT),
      fc.constantFrom<StringMap>({}, { app: 'a' }, { app: 'a' }, { app: 'b' }, { app: 'a', tier: 'x' }),
      fc.constantFrom(...PORTS),
      (raw, ns, labels, port) => {
        const objects = unique(raw.map(toObject));
        const want = reference(objects, ns, labels, port);
        const index = new PlainObjectIndex(objects);
        const got = effectiveMtls(index, ns, labels, port, ROOT);
        const pure = composeMtls(
          objects.filter((o) => o.metadata?.namespace === ns),
          objects.filter((o) => o.metadata?.namespace === ROOT),
          ns,
          labels,
          port,
          ROOT,
        );
        if (got.mode === 'STRICT') strict++;
        if (got.level === 'port') portLevel++;
        return got.mode === want && pure.mode === want;
      },
    ),
    { numRuns: NUM_RUNS, seed: SEED },
  );
  t.ok(strict >= NUM_RUNS / 40, `the generators reach STRICT (${strict})`);
  t.ok(portLevel >= NUM_RUNS / 200, `the generators reach port-level settings (${portLevel})`);
});

t.test('the write-up\'s databases namespace: 9443 PERMISSIVE for the CNPG pod only, everything else STRICT', async (t) => {
  const strictNs: KubeObject = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'databases-strict', namespace: 'databases' }, spec: { selector: { matchLabels: {} }, mtls: { mode: 'STRICT' } } };
  const cnpg: KubeObject = {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: { name: 'cnpg-webhook-permissive', namespace: 'databases' },
    spec: { selector: { matchLabels: { 'app.kubernetes.io/name': 'cloudnative-pg' } }, portLevelMtls: { '9443': { mode: 'PERMISSIVE' } } },
  };
  const index = new PlainObjectIndex([strictNs, cnpg]);
  const op = { 'app.kubernetes.io/name': 'cloudnative-pg' };
  t.match(effectiveMtls(index, 'databases', op, 9443), { mode: 'PERMISSIVE', level: 'port' });
  t.match(effectiveMtls(index, 'databases', op, 8080), { mode: 'STRICT', level: 'namespace' }, 'the workload policy leaves its mode UNSET: inherited');
  t.match(effectiveMtls(index, 'databases', { app: 'postgres' }, 9443), { mode: 'STRICT', level: 'namespace' });
  t.match(effectiveMtls(index, 'elsewhere', op, 9443), { mode: 'PERMISSIVE', level: 'default' });
  // A namespace-wide policy's portLevelMtls is ignored (Istio reads it only with a selector).
  const nsPorts = new PlainObjectIndex([{ ...strictNs, spec: { mtls: { mode: 'STRICT' }, portLevelMtls: { '9443': { mode: 'PERMISSIVE' } } } }]);
  t.match(effectiveMtls(nsPorts, 'databases', op, 9443), { mode: 'STRICT' });
  // The root namespace's policy is the mesh default; a v1beta1 object counts the same.
  const mesh = new PlainObjectIndex([{ apiVersion: 'security.istio.io/v1beta1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'istio-system' }, spec: { mtls: { mode: 'STRICT' } } }]);
  t.match(effectiveMtls(mesh, 'databases', op, 9443), { mode: 'STRICT', level: 'mesh' });
  t.match(effectiveMtls(mesh, 'databases', op, 9443, 'custom-root'), { mode: 'PERMISSIVE' }, 'the root namespace is configurable');
});
