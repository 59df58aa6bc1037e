// The policy core's faster pieces (issue #17) against the simple definitions they replace:
// each property would fail if the fast piece answered differently for any input.
import fc from 'fast-check';
import t from 'tap';
import { auditJson, base64Utf8 } from '../../../policies/admission.js';
import { judge, withAction, type JudgedFinding } from '../../../policies/enforcement.js';
import { finding, formatPath, type Finding, type RuleId } from '../../../policies/findings.js';
import { labelsMatch } from '../../../policies/index/selectors.js';
import { copyForWriting, type NamespaceInfo, type PodFacts, type StringMap } from '../../../policies/k8s.js';
import { hasPrefix } from '../../../policies/meshes/common.js';
import { detectProxies, MESHES, meshesOfAnnotations, meshOfAnnotationKey } from '../../../policies/meshes/index.js';
import { MESH_NAMES, type MeshName, type MeshOptions } from '../../../policies/meshes/types.js';
import { meshedBy, type MeshedBy, type Mode } from '../../../policies/mesh-state.js';
import { checkAnnotations, checkIstioSwitchForm } from '../../../policies/validation/annotations.js';
import { stringEntries } from '../../../policies/validation/cluster.js';
import { judgePodPart, type JudgeInput } from '../../../policies/rejection.js';
import type { InjectionCount } from '../../../policies/mesh-state.js';
import type { Path } from '../../../policies/findings.js';
import { nameError, prefixError, qualifiedNameError } from '../../../policies/values/qualified-name.js';
import { GO_SPACE, goTrimSpace, isGoSpace } from '../../../policies/values/go-strings.js';

// The seed is printed; replay a failure with FC_SEED=<seed>.
const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
const RUNS = { numRuns: 1000, seed: SEED };

// Strings that mix Go's spaces, JavaScript's other spaces, ASCII, Latin-1, astral characters and lone surrogates.
const SPECIAL = [...GO_SPACE, '\ufeff', '\u180e', '\u200b', '\u0000', '\u00ff', '~', '/', ',', '😀', '\ud800', '\udc00', 'é'];
const tricky = fc
  .array(fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ maxLength: 3, unit: 'binary' }), fc.string({ maxLength: 4 })), { maxLength: 8 })
  .map((parts) => parts.join(''));

t.test('goTrimSpace and isGoSpace answer as the GO_SPACE set does', async (t) => {
  const simpleTrim = (s: string): string => {
    let start = 0;
    let end = s.length;
    while (start < end && GO_SPACE.has(s[start]!)) start++;
    while (end > start && GO_SPACE.has(s[end - 1]!)) end--;
    return s.slice(start, end);
  };
  fc.assert(fc.property(tricky, (s) => goTrimSpace(s) === simpleTrim(s)), RUNS);
  for (let c = 0; c <= 0xffff; c++) {
    const ch = String.fromCharCode(c);
    if (isGoSpace(ch) !== GO_SPACE.has(ch)) t.fail(`isGoSpace(U+${c.toString(16)})`);
  }
  fc.assert(fc.property(tricky, (s) => isGoSpace(s) === GO_SPACE.has(s)), RUNS);
});

t.test('base64Utf8 is the base64 of the UTF-8 bytes, ASCII or not', async (t) => {
  fc.assert(fc.property(fc.oneof(tricky, fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme-ascii' })), (s) => base64Utf8(s) === Buffer.from(s).toString('base64')), RUNS);
  t.equal(base64Utf8(''), '');
});

t.test('hasPrefix answers as the prefix before the first "/" being in the list', async (t) => {
  const prefixes = fc.array(fc.oneof(fc.constantFrom('sidecar.istio.io', 'linkerd.io', 'a', ''), fc.string({ maxLength: 4 })), { maxLength: 4 });
  const key = fc.oneof(tricky, fc.constantFrom('sidecar.istio.io/inject', 'linkerd.io/inject', 'a/b/c', '/x', 'a/', 'sidecar.istio.iox/y'));
  fc.assert(
    fc.property(key, prefixes, (k, ps) => {
      const slash = k.indexOf('/');
      return hasPrefix(k, ps) === (slash > 0 && ps.includes(k.slice(0, slash)));
    }),
    RUNS,
  );
});

// Own data properties of every kind JSON.parse makes, "__proto__" and index-like keys included.
const jsonObject = fc
  .tuple(fc.dictionary(fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom('__proto__', '0', '12', 'constructor', 'toString')), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 6 }), fc.boolean())
  .map(([d, proto]) => JSON.parse(proto ? `{"__proto__":{"x":1},${JSON.stringify(d).slice(1)}`.replace(',}', '}') : JSON.stringify(d)) as Record<string, unknown>);

t.test('copyForWriting copies as the spread does, and keys added to it land as in { ...o, key }', async (t) => {
  const same = (a: object, b: object): boolean =>
    Object.getPrototypeOf(a) === Object.getPrototypeOf(b) &&
    JSON.stringify(Reflect.ownKeys(a)) === JSON.stringify(Reflect.ownKeys(b)) &&
    Reflect.ownKeys(a).every((k) => Object.is((a as any)[k], (b as any)[k]) && JSON.stringify(Object.getOwnPropertyDescriptor(a, k)) === JSON.stringify(Object.getOwnPropertyDescriptor(b, k)));
  fc.assert(
    fc.property(jsonObject, fc.constantFrom('apiVersion', 'kind', 'action', '0', 'x'), fc.string(), (o, k, v) => {
      const copy = copyForWriting(o);
      if (copy === o || !same(copy, { ...o })) return false;
      copy[k] = v;
      return same(copy, { ...o, [k]: v });
    }),
    RUNS,
  );
});

t.test('stringEntries keeps the string entries as Object.fromEntries of the filtered entries does', async (t) => {
  const same = (a: object, b: object): boolean =>
    Object.getPrototypeOf(a) === Object.getPrototypeOf(b) &&
    JSON.stringify(Reflect.ownKeys(a)) === JSON.stringify(Reflect.ownKeys(b)) &&
    Reflect.ownKeys(a).every((k) => JSON.stringify(Object.getOwnPropertyDescriptor(a, k)) === JSON.stringify(Object.getOwnPropertyDescriptor(b, k)));
  const withStrings = fc.tuple(jsonObject, fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('__proto__', '7', 'constructor')), tricky, { maxKeys: 4 })).map(([o, strings]) => {
    for (const [k, v] of Object.entries(strings)) Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
    return o;
  });
  fc.assert(
    fc.property(withStrings, (o) => same(stringEntries(o), Object.fromEntries(Object.entries(o).filter(([, v]) => typeof v === 'string')))),
    RUNS,
  );
});

const RULE_IDS: RuleId[] = ['MG101', 'MG103', 'MG201', 'MG204', 'MG206', 'MG301'];
const findingArb: fc.Arbitrary<Finding> = fc
  .record({
    rule: fc.constantFrom(...RULE_IDS),
    severity: fc.constantFrom('error', 'warning', 'info') as fc.Arbitrary<Finding['severity']>,
    message: tricky,
    path: fc.array(fc.oneof(tricky, fc.nat(12)), { maxLength: 5 }),
    summary: fc.option(tricky, { nil: undefined }),
  })
  .map((f) => finding(f.rule, f.message, f.path, f.severity, f.summary));

t.test('judge and withAction give { ...f, action }; auditJson is the JSON of the mapped findings', async (t) => {
  const action = fc.constantFrom('deny', 'warn', 'audit') as fc.Arbitrary<JudgedFinding['action']>;
  fc.assert(
    fc.property(findingArb, action, (f, a) => {
      const w = withAction(f, a);
      return JSON.stringify(Object.entries(w)) === JSON.stringify(Object.entries({ ...f, action: a }));
    }),
    RUNS,
  );
  fc.assert(
    fc.property(fc.array(findingArb, { maxLength: 4 }), fc.dictionary(fc.constantFrom('meshguard.io/enforcement', 'x'), fc.constantFrom('warn', 'audit', 'deny', 'junk')), (fs, labels) => {
      const judged = judge(fs, labels, { default: 'deny', rules: { MG201: 'warn' } });
      const simple = judged.map((f) => ({ rule: f.rule, severity: f.severity, action: f.action, message: f.message, path: formatPath(f.path) }));
      return auditJson(judged) === JSON.stringify(simple) && judged.every((j, i) => JSON.stringify({ ...fs[i], action: j.action }) === JSON.stringify(j));
    }),
    RUNS,
  );
});

const KEYS = [
  'sidecar.istio.io/inject', 'sidecar.istio.io/status', 'traffic.sidecar.istio.io/excludeInboundPorts', 'istio.io/reroute-virtual-interfaces', 'istio.io/rev',
  'istio-injection', 'istio.io/dataplane-mode', 'linkerd.io/inject', 'config.linkerd.io/skip-inbound-ports', 'consul.hashicorp.com/connect-inject',
  'consul.hashicorp.com/connect-inject-status', 'kuma.io/sidecar-injection', 'kuma.io/sidecar-injected', 'traffic.kuma.io/exclude-inbound-ports', 'a/b/c',
];
const VALUES = ['true', 'false', 'enabled', 'disabled', 'ambient', 'none', 'injected', '9017', ''];
const stringMap = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }), fc.constantFrom(...VALUES), { maxKeys: 6 });

t.test('meshesOfAnnotations answers as the definition: every owned key not an opt-out, by mesh in MESH_NAMES order', async (t) => {
  const simple = (annotations: StringMap): [MeshName, string[]][] => {
    const keysOf = new Map<MeshName, string[]>();
    for (const [k, v] of Object.entries(annotations)) {
      const mesh = MESH_NAMES.find((m) => MESHES[m].ownsAnnotationKey(k));
      if (!mesh || MESHES[mesh].optOut.annotations?.[k] === v) continue;
      keysOf.set(mesh, [...(keysOf.get(mesh) ?? []), k]);
    }
    return MESH_NAMES.filter((m) => keysOf.has(m)).map((m) => [m, keysOf.get(m)!]);
  };
  fc.assert(fc.property(stringMap, (a) => JSON.stringify([...meshesOfAnnotations(a)]) === JSON.stringify(simple(a))), RUNS);
  fc.assert(fc.property(fc.oneof(tricky, fc.constantFrom(...KEYS)), (k) => meshOfAnnotationKey(k) === MESH_NAMES.find((m) => MESHES[m].ownsAnnotationKey(k))), RUNS);
});

t.test('labelsMatch: every matchLabels entry is among the labels', async (t) => {
  fc.assert(
    fc.property(fc.option(stringMap, { nil: undefined }), stringMap, (labels, match) => labelsMatch(labels, match) === Object.entries(match).every(([k, v]) => labels?.[k] === v)),
    RUNS,
  );
});

t.test('a mesh marked meshedByProxyOnly is meshing a live pod exactly when detectProxies finds its proxy', async (t) => {
  const container = fc.record(
    { name: fc.constantFrom('app', 'istio-proxy', 'linkerd-proxy', 'consul-dataplane', 'consul-dataplane-web', 'envoy-sidecar', 'kuma-sidecar', 'istio-init', 'x'), restartPolicy: fc.constantFrom('Always', 'Never') },
    { requiredKeys: ['name'] },
  );
  const pod: fc.Arbitrary<PodFacts> = fc.record({
    labels: stringMap,
    annotations: stringMap,
    hostNetwork: fc.boolean(),
    containers: fc.array(fc.oneof(container, fc.constant(null as never)), { maxLength: 3 }),
    initContainers: fc.array(container, { maxLength: 2 }),
  });
  const ns: fc.Arbitrary<NamespaceInfo> = fc.record({ name: fc.constantFrom('db', 'kube-system'), labels: stringMap, annotations: stringMap, known: fc.boolean() });
  const marked = MESH_NAMES.filter((m) => MESHES[m].meshedByProxyOnly);
  t.ok(marked.length > 0, `marked: ${marked.join(', ')}`);
  fc.assert(
    fc.property(pod, ns, (p, n) => {
      const found = detectProxies(p).map((d) => d.mesh);
      return marked.every((m) => MESHES[m].isMeshed(p, n).value === found.includes(m));
    }),
    RUNS,
  );
});

// Keys and values that reach every branch of checkAnnotations: each mesh's value rules, Istio's
// rules across keys (a request above its limit, a readiness value that overflows the probe),
// opt-outs, more than one mesh, keys that are not qualified names but carry a mesh's prefix.
const ANNOTATION_KEYS = [
  ...KEYS, 'sidecar.istio.io/proxyCPU', 'sidecar.istio.io/proxyCPULimit', 'sidecar.istio.io/proxyMemory', 'sidecar.istio.io/proxyMemoryLimit',
  'readiness.status.sidecar.istio.io/periodSeconds', 'readiness.status.sidecar.istio.io/failureThreshold', 'status.sidecar.istio.io/port',
  'traffic.sidecar.istio.io/includeOutboundPorts', 'sidecar.istio.io/interceptionMode', 'linkerd.io/inject', 'config.linkerd.io/opaque-ports',
  'kuma.io/mesh', 'sidecar.istio.io/bad key', 'linkerd.io/a/b', 'Sidecar.istio.io/inject', 'example.com/x',
];
const ANNOTATION_VALUES = [...VALUES, '100m', '2', '500Mi', '1Gi', '3000000000', '0', ' 0', 'NONE', 'REDIRECT', '1,x', '-1', 'TRUE'];
const annotationMap = fc.dictionary(
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ANNOTATION_KEYS) }, { weight: 1, arbitrary: tricky }),
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ANNOTATION_VALUES) }, { weight: 1, arbitrary: tricky }),
  { maxKeys: 7 },
);

t.test('checkAnnotations answers as its definition: every mesh asked of every key and of the whole map', async (t) => {
  // checkAnnotations before it asked only the meshes owning a key for their rules across keys
  // and for MG104: each key's mesh found for valid keys only, every mesh's checkAnnotationSet,
  // meshesOfAnnotations always.
  const simple = (annotations: StringMap, at: readonly (string | number)[], opts: { labels?: StringMap; where: string; switchForm?: boolean }): Finding[] => {
    const out: Finding[] = [];
    const perKey = (key: string, value: string): Finding | undefined => {
      const keyError = simpleQualifiedNameError(key);
      const mesh = keyError ? undefined : MESH_NAMES.find((m) => MESHES[m].ownsAnnotationKey(key));
      const valueError = mesh && MESHES[mesh].checkAnnotation(key, value);
      const warning = mesh && !valueError ? MESHES[mesh].annotationWarning?.(key, value, opts.labels) : undefined;
      const said = `${key}: ${JSON.stringify(value)} on ${opts.where}: `;
      if (keyError) return finding('MG102', `Annotation key ${JSON.stringify(key)} on ${opts.where} is not a valid Kubernetes qualified name: ${keyError}`, [...at, key]);
      if (valueError) return finding('MG103', said + valueError, [...at, key]);
      return warning ? finding('MG103', said + warning, [...at, key], 'warning', `${key}=${JSON.stringify(value)}: ${warning}`.slice(0, 100)) : undefined;
    };
    out.push(...Object.entries(annotations).flatMap(([k, v]) => perKey(k, v) ?? []));
    for (const mesh of MESH_NAMES)
      for (const { key, message } of MESHES[mesh].checkAnnotationSet?.(annotations) ?? [])
        out.push(finding('MG103', `${key}: ${JSON.stringify(annotations[key])} on ${opts.where}: ${message}`, [...at, key]));
    if (opts.labels && at[at.length - 1] === 'annotations') {
      const labelsAt = [...at.slice(0, -1), 'labels'];
      for (const mesh of MESH_NAMES) {
        for (const { key, message } of MESHES[mesh].labelErrors?.(opts.labels) ?? [])
          out.push(finding('MG103', `label ${key}: ${JSON.stringify(opts.labels[key])} on ${opts.where}: ${message}`, [...labelsAt, key]));
        for (const { key, message } of MESHES[mesh].labelWarnings?.(opts.labels) ?? [])
          out.push(finding('MG103', `label ${key}: ${JSON.stringify(opts.labels[key])} on ${opts.where}: ${message}`, [...labelsAt, key], 'warning', `label ${key}=${JSON.stringify(opts.labels[key])} is ignored by the mesh`));
      }
    }
    const meshes = meshesOfAnnotations(annotations);
    if (meshes.size > 1) {
      const parts = [...meshes].map(([m, keys]) => `${MESHES[m].title} (${keys.join(', ')})`);
      out.push(finding('MG104', `${opts.where} carries annotations of more than one mesh: ${parts.join(' and ')}. A pod runs one mesh's proxy; keep the annotations of the mesh this namespace uses and remove the others.`, at));
    }
    if (opts.switchForm !== false) out.push(...checkIstioSwitchForm(annotations, at, opts));
    return out;
  };
  const at = fc.constantFrom(['metadata', 'annotations'], ['spec', 'template', 'metadata', 'annotations'], ['spec', 'serviceMesh', 'annotations']);
  const opts = fc.record({ labels: fc.option(annotationMap, { nil: undefined }), where: fc.constantFrom('Pod db/x', 'AntflyCluster db/ac'), switchForm: fc.option(fc.boolean(), { nil: undefined }) });
  fc.assert(
    fc.property(annotationMap, at, opts, (a, path, o) => JSON.stringify(checkAnnotations(a, [...path], o)) === JSON.stringify(simple(a, path, o))),
    RUNS,
  );
});

t.test("a mesh's checkAnnotationSet finds nothing in annotations that hold none of its keys", async (t) => {
  const withSets = MESH_NAMES.filter((m) => MESHES[m].checkAnnotationSet);
  t.ok(withSets.length > 0, `meshes with rules across keys: ${withSets.join(', ')}`);
  fc.assert(
    fc.property(annotationMap, (a) =>
      withSets.every((m) => {
        const foreign = Object.fromEntries(Object.entries(a).filter(([k]) => !MESHES[m].ownsAnnotationKey(k)));
        return MESHES[m].checkAnnotationSet!(foreign).length === 0;
      }),
    ),
    RUNS,
  );
});

/** qualifiedNameError as it was written first: split at every "/". */
const simpleQualifiedNameError = (key: string): string | undefined => {
  const parts = key.split('/');
  if (parts.length > 2) return `${JSON.stringify(key)} contains more than one "/"; a key is "prefix/name" or just "name"`;
  if (parts.length === 1) return nameError(key);
  return prefixError(parts[0]!) ?? nameError(parts[1]!);
};

t.test('qualifiedNameError answers as splitting the key at "/"', async (t) => {
  const keyArb = fc.oneof(tricky, fc.constantFrom(...ANNOTATION_KEYS), fc.constantFrom('/', 'a/', '/a', 'a//b', 'A.b/c', 'a/B_c', `${'a'.repeat(254)}/x`, `x/${'b'.repeat(64)}`));
  fc.assert(fc.property(keyArb, (k) => qualifiedNameError(k) === simpleQualifiedNameError(k)), RUNS);
});

t.test('meshedBy answers as its definition: proxies found, then each other mesh asked, ambient dropped beside Istio', async (t) => {
  const simple = (pod: PodFacts, ns: NamespaceInfo, mode: Mode, options: MeshOptions): MeshedBy[] => {
    const out: MeshedBy[] = detectProxies(pod).map((p) => ({ mesh: p.mesh, reason: p.reason }));
    const has = (m: MeshName): boolean => out.some((x) => x.mesh === m);
    for (const name of MESH_NAMES) {
      if (has(name) || (mode === 'live' && MESHES[name].meshedByProxyOnly)) continue;
      const d = mode === 'live' ? MESHES[name].isMeshed(pod, ns) : MESHES[name].wouldMesh(pod, ns, options);
      if (d.value) out.push({ mesh: name, reason: d.reason });
    }
    return has('istio') ? out.filter((x) => x.mesh !== 'istio-ambient') : out;
  };
  const container = fc.record(
    { name: fc.constantFrom('app', 'istio-proxy', 'linkerd-proxy', 'consul-dataplane', 'envoy-sidecar', 'kuma-sidecar', 'istio-init'), restartPolicy: fc.constantFrom('Always', 'Never') },
    { requiredKeys: ['name'] },
  );
  const meshMap = fc.dictionary(
    fc.constantFrom(
      'istio-injection', 'istio.io/rev', 'istio.io/dataplane-mode', 'sidecar.istio.io/inject', 'linkerd.io/inject', 'kuma.io/sidecar-injection', 'kuma.io/sidecar-injected',
      'consul.hashicorp.com/connect-inject', 'consul.hashicorp.com/connect-inject-status', 'consul.hashicorp.com/transparent-proxy', 'sidecar.istio.io/status', 'app',
    ),
    fc.constantFrom(...VALUES, 'ingress', 'consul', 'injected'),
    { maxKeys: 5 },
  );
  const pod: fc.Arbitrary<PodFacts> = fc.record({
    labels: meshMap,
    annotations: meshMap,
    hostNetwork: fc.boolean(),
    containers: fc.array(container, { maxLength: 3 }),
    initContainers: fc.array(container, { maxLength: 2 }),
  });
  const ns: fc.Arbitrary<NamespaceInfo> = fc.record({ name: fc.constantFrom('db', 'kube-system', 'kuma-system'), labels: meshMap, annotations: meshMap, known: fc.boolean() });
  const options: fc.Arbitrary<MeshOptions> = fc.record({ consulDefaultInject: fc.boolean() });
  fc.assert(
    fc.property(pod, ns, fc.constantFrom('live', 'predict') as fc.Arbitrary<Mode>, options, (p, n, mode, o) => JSON.stringify(meshedBy(p, n, mode, o)) === JSON.stringify(simple(p, n, mode, o))),
    RUNS,
  );
  // Each mesh's mayMesh is false only where its wouldMesh says no; every mesh says yes somewhere.
  const yesSeen = new Set<MeshName>();
  fc.assert(
    fc.property(pod, ns, options, (p, n, o) =>
      MESH_NAMES.every((m) => {
        const d = MESHES[m].wouldMesh(p, n, o);
        if (d.value) yesSeen.add(m);
        return MESHES[m].mayMesh(p, n, o) || !d.value;
      }),
    ),
    { ...RUNS, numRuns: 3000 },
  );
  t.same([...yesSeen].sort(), [...MESH_NAMES].sort(), 'the generated pods reach every mesh\'s yes');
});

// judgePodPart as it was first written: closures for the count, paths and filters made for every pod part.
const title = (m: string): string => MESHES[m as MeshName]?.title ?? m;
const simpleHowToMesh = (want: MeshName, facts: PodFacts, ns: NamespaceInfo, mode: Mode, options: MeshOptions): string => {
  const mesh = MESHES[want];
  const predicted = mesh.wouldMesh(facts, ns, options);
  if (mode === 'live' && predicted.value)
    return `${mesh.title}'s rules say it should be injected (${predicted.reason}), so its injector did not run: check the mesh's mutating webhook (kubectl get mutatingwebhookconfigurations) and recreate the pod.`;
  return `${mesh.title} would not inject it: ${predicted.reason}. Fix that, then recreate the pod.`;
};
const simpleJudgePodPart = (input: JudgeInput): Finding[] => {
  const { facts, desired, ns, mode, where, cluster, count } = input;
  let counted: InjectionCount | undefined;
  const tally = (): InjectionCount => (counted ??= count());
  const now = (): string => `${tally().meshed}/${tally().total} of its pods are meshed now`;
  const nowShort = (): string => `${tally().meshed}/${tally().total} pods meshed`;
  const by = meshedBy(facts, ns, mode, input.options);
  const verb = mode === 'live' ? 'runs' : 'would run';
  const specPath: Path = [...input.base, 'spec'];
  const metaPath: Path = [...input.base, 'metadata'];

  if (!desired.enabled) {
    if (by.length === 0) return [];
    const first = by[0]!;
    return [
      finding(
        'MG202',
        `${where} ${verb} with the ${title(first.mesh)} proxy (${first.reason}), but ${cluster} has serviceMesh.enabled: false (${now()}). Mixed injection splits the cluster; opt the pod out of the mesh (meshguard's mutating webhook does this when it is registered) or enable the mesh in ${cluster}.`,
        metaPath,
        'error',
        `${title(first.mesh)} proxy, but ${cluster} has the mesh disabled (${nowShort()})`,
      ),
    ];
  }

  const out: Finding[] = [];
  if (facts.hostNetwork) {
    out.push(
      finding(
        'MG205',
        `${where} uses hostNetwork, but ${cluster} is meshed: no mesh intercepts host-network traffic, so this pod would talk to its peers unmeshed. Remove hostNetwork: true.`,
        [...specPath, 'hostNetwork'],
        'error',
        `hostNetwork pod in meshed ${cluster}: remove hostNetwork`,
      ),
    );
  }
  const want = desired.mesh;
  const others = want ? by.filter((b) => b.mesh !== want) : [];
  const mine = want ? by.filter((b) => b.mesh === want) : by;
  if (others.length > 0) {
    const o = others[0]!;
    out.push(
      finding(
        'MG203',
        `${where} ${verb} with the ${title(o.mesh)} proxy (${o.reason}), but ${cluster} is meshed by ${title(want!)}. Pods of one cluster must share one mesh; remove the ${title(o.mesh)} injection settings from the pod and its namespace.`,
        metaPath,
        'error',
        `${title(o.mesh)} proxy, but ${cluster} uses ${title(want!)}`,
      ),
    );
  } else if (mine.length === 0 && !facts.hostNetwork) {
    const fix = want ? simpleHowToMesh(want, facts, ns, mode, input.options) : `Add the mesh's annotations to ${cluster}'s spec.serviceMesh.annotations or label the namespace for injection.`;
    out.push(
      finding(
        'MG201',
        `${where} ${verb} without the ${want ? title(want) : 'mesh'} proxy, but ${cluster} has serviceMesh.enabled: true (${now()}). Mixed injection splits the Raft cluster. ${fix}`,
        metaPath,
        'error',
        `no ${want ? title(want) : 'mesh'} proxy, but ${cluster} is meshed (${nowShort()})`,
      ),
    );
  }
  return out;
};

t.test('judgePodPart answers as its first definition, and asks for the count only for a message, once', async (t) => {
  const container = fc.record(
    { name: fc.constantFrom('app', 'istio-proxy', 'linkerd-proxy', 'consul-dataplane', 'envoy-sidecar', 'kuma-sidecar'), restartPolicy: fc.constantFrom('Always', 'Never') },
    { requiredKeys: ['name'] },
  );
  const meshMap = fc.dictionary(
    fc.constantFrom('istio-injection', 'istio.io/rev', 'istio.io/dataplane-mode', 'sidecar.istio.io/inject', 'linkerd.io/inject', 'kuma.io/sidecar-injection', 'consul.hashicorp.com/connect-inject', 'app'),
    fc.constantFrom(...VALUES),
    { maxKeys: 4 },
  );
  const input = fc.record({
    facts: fc.record({ labels: meshMap, annotations: meshMap, hostNetwork: fc.boolean(), containers: fc.array(container, { maxLength: 2 }), initContainers: fc.array(container, { maxLength: 1 }) }),
    base: fc.constantFrom<Path[]>([], ['spec', 'template'], ['spec', 'jobTemplate', 'spec', 'template']),
    desired: fc.record({
      enabled: fc.boolean(),
      mesh: fc.option(fc.constantFrom(...MESH_NAMES), { nil: undefined }),
      source: fc.constantFrom('annotations', 'type', 'namespace', 'none', 'conflict') as fc.Arbitrary<'none'>,
      annotations: fc.constant({}),
      consensusPorts: fc.constant<number[]>([9017, 9021]),
    }),
    ns: fc.record({ name: fc.constantFrom('db', 'kube-system'), labels: meshMap, annotations: meshMap, known: fc.boolean() }),
    mode: fc.constantFrom('live', 'predict') as fc.Arbitrary<Mode>,
    options: fc.record({ consulDefaultInject: fc.boolean() }),
    where: fc.constantFrom('Pod db/p', 'StatefulSet db/s'),
    cluster: fc.constantFrom('AntflyCluster db/ac'),
    meshed: fc.nat(5),
  });
  const rules = new Set<string>();
  fc.assert(
    fc.property(input, (i) => {
      const counts: number[] = [0, 0];
      const with_ = (k: 0 | 1): JudgeInput => ({ ...i, count: (): InjectionCount => (counts[k]!++, { meshed: i.meshed, total: 5 }) });
      const fast = judgePodPart(with_(0));
      const slow = simpleJudgePodPart(with_(1));
      for (const f of fast) rules.add(f.rule);
      const reported = fast.some((f) => f.rule === 'MG201' || f.rule === 'MG202');
      return JSON.stringify(fast) === JSON.stringify(slow) && counts[0] === (reported ? 1 : 0) && counts[1] === counts[0];
    }),
    { ...RUNS, numRuns: 3000 },
  );
  t.same([...rules].sort(), ['MG201', 'MG202', 'MG203', 'MG205'], 'every rule is reached');
});
