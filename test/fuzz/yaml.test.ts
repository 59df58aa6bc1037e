// Generated YAML for `check` and `inject`: the ways people write manifests (anchors and
// aliases, merge keys, flow and block style, comments, several documents, `kind: List`).
// For every generated file:
//   - it reads as the objects it was generated from (aliases and merges resolved as kubectl does);
//   - `check` and `inject` finish without an error (no crash, no refusal of valid input);
//   - each document `inject` prints reads back as exactly the object the webhook's patch
//     (`review --webhook mutate`) makes of the same document;
//   - no node an alias or merge of the template shares (the selector, the metadata) changed.
// Bounded: a fixed number of runs of small files. The seed is printed; replay a failure with
// FUZZ_SEED=<seed> (and fast-check's path from the failure message, FUZZ_PATH).
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isSeq, visit, type Node, type YAMLMap } from 'yaml';
import { admit } from '../../policies/admission.js';
import { DEFAULT_CONFIG } from '../../policies/config.js';
import type { KubeObject } from '../../policies/k8s.js';
import { injectFiles } from '../../cli/inject.js';
import { parseManifests, type SourceDoc } from '../../cli/inputs.js';
import { buildView, checkDocuments } from '../../cli/run-checks.js';
import { decodePatch, review } from '../unit/policies/fixtures/objects.js';

const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const path = process.env.FUZZ_PATH;
const NS = 'db';

// ---- the objects --------------------------------------------------------------------

const meshAnnotations = fc.constantFrom<Record<string, string>>(
  {},
  { 'sidecar.istio.io/inject': 'true' },
  { 'sidecar.istio.io/inject': 'true' },
  { 'traffic.sidecar.istio.io/excludeInboundPorts': '9017,9021', 'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,9021' },
  { 'linkerd.io/inject': 'enabled' },
  { 'linkerd.io/inject': 'enabled', 'config.linkerd.io/skip-inbound-ports': '9017' },
  { 'sidecar.istio.io/proxyCPU': '100m' },
);
const clusterArb = fc.record({ enabled: fc.boolean(), annotations: meshAnnotations, name: fc.constantFrom('ac', 'ac', 'other') });
const namespaceLabels = fc.constantFrom<Record<string, string>>({}, { 'istio-injection': 'enabled' }, { 'istio-injection': 'disabled' });
const extraLabels = fc.dictionary(fc.constantFrom('tier', 'team', 'app', 'x.example.com/y'), fc.constantFrom('data', 'storage', 'a', 'yes', '1', ''), {
  maxKeys: 2,
  noNullPrototype: true,
});
const templateAnnotations = fc.oneof(fc.constant(undefined), meshAnnotations, fc.constant({ team: 'storage' }));

/** How a workload's labels and annotations are written: plainly, or shared through YAML. */
const SHARING = ['plain', 'selector-anchor', 'template-anchor', 'merge', 'merge-seq', 'annotations-alias', 'metadata-merge'] as const;
type Sharing = (typeof SHARING)[number];

const workloadArb = fc
  .record({
    kind: fc.constantFrom('StatefulSet', 'StatefulSet', 'Deployment', 'Pod'),
    cluster: fc.constantFrom('ac', 'ac', 'other'),
    extra: extraLabels,
    annotations: templateAnnotations,
    hostNetwork: fc.boolean(),
    sharing: fc.constantFrom(...SHARING, 'annotations-alias', 'selector-anchor'),
    namespaced: fc.boolean(),
  })
  // Aliased annotations need some to alias: the edit then has to go through the alias.
  .map((w) => (w.sharing === 'annotations-alias' && !(w.annotations && Object.keys(w.annotations).length > 0) ? { ...w, annotations: { team: 'storage' } } : w));
type Workload = typeof workloadArb extends fc.Arbitrary<infer W> ? W : never;

const styleArb = fc.record({
  flowRatio: fc.constantFrom(0, 0, 0.3, 1),
  comments: fc.boolean(),
  list: fc.constantFrom('none', 'none', 'List'),
  explicitStart: fc.boolean(),
  emptyDocs: fc.boolean(),
  styleSeed: fc.integer({ min: 0, max: 2 ** 30 }),
});

const fileArb = fc.record({
  namespace: fc.option(namespaceLabels, { nil: undefined }),
  clusters: fc.array(clusterArb, { maxLength: 2 }),
  workloads: fc.array(workloadArb, { minLength: 1, maxLength: 3 }),
  style: styleArb,
});
type FileSpec = typeof fileArb extends fc.Arbitrary<infer F> ? F : never;

const targetLabels = (cluster: string) => ({ 'app.kubernetes.io/name': 'antfly-database', 'app.kubernetes.io/instance': cluster });
const podSpec = (hostNetwork: boolean) => ({ ...(hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'antfly', image: 'ghcr.io/antflydb/antfly:1' }] });

/** The object a workload stands for: what kubectl would send, nothing shared. */
const objectOf = (w: Workload, i: number): KubeObject => {
  const labels = { ...targetLabels(w.cluster), ...w.extra };
  const metadata = { name: `w${i}`, ...(w.namespaced ? { namespace: NS } : {}) };
  const template = { metadata: { labels: { ...labels }, ...(w.annotations ? { annotations: { ...w.annotations } } : {}) }, spec: podSpec(w.hostNetwork) };
  if (w.kind === 'Pod') return { apiVersion: 'v1', kind: 'Pod', metadata: { ...metadata, ...template.metadata }, spec: template.spec } as KubeObject;
  return {
    apiVersion: 'apps/v1',
    kind: w.kind,
    metadata: w.sharing === 'metadata-merge' ? { ...metadata, labels: { ...labels } } : metadata,
    spec: { selector: { matchLabels: { ...labels } }, ...(w.kind === 'StatefulSet' ? { serviceName: `w${i}` } : {}), template },
  } as KubeObject;
};

const objectsOf = (f: FileSpec): KubeObject[] => [
  ...(f.namespace ? [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: f.namespace } } as KubeObject] : []),
  ...f.clusters.map(
    (c) =>
      ({
        apiVersion: 'antfly.io/v1',
        kind: 'AntflyCluster',
        metadata: { name: c.name, namespace: NS },
        spec: { serviceMesh: { enabled: c.enabled, ...(Object.keys(c.annotations).length > 0 ? { annotations: c.annotations } : {}) } },
      }) as KubeObject,
  ),
  ...f.workloads.map(objectOf),
];

// ---- the YAML -----------------------------------------------------------------------

/** A small deterministic generator for style choices, so a seed replays the same text. */
const prng = (s: number) => () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

/** Writes a workload's sharing into its YAML node (the object it reads as stays the same). */
const share = (doc: Document, node: Node, w: Workload, i: number): void => {
  if (w.kind === 'Pod' || !isMap(node)) return;
  const spec = node.get('spec', true);
  if (!isMap(spec)) return;
  const selector = spec.get('selector', true);
  const template = spec.get('template', true);
  if (!isMap(selector) || !isMap(template)) return;
  const tmeta = template.get('metadata', true);
  if (!isMap(tmeta)) return;
  const anchorName = `l${i}`;
  const mergeMap = (sources: Node[]): YAMLMap => {
    const m = doc.createNode({}) as YAMLMap;
    m.add(doc.createPair('<<', sources.length === 1 ? sources[0] : doc.createNode(sources)));
    return m;
  };
  switch (w.sharing as Sharing) {
    case 'selector-anchor': {
      const m = selector.get('matchLabels', true) as Node;
      m.anchor = anchorName;
      tmeta.set('labels', doc.createAlias(m as never, anchorName));
      break;
    }
    case 'template-anchor': {
      // The template comes first in this document so that its anchor precedes the alias.
      const tl = tmeta.get('labels', true) as Node;
      tl.anchor = anchorName;
      spec.delete('selector');
      spec.set('selector', doc.createNode({ matchLabels: doc.createAlias(tl as never, anchorName) }));
      break;
    }
    case 'merge':
    case 'merge-seq': {
      const m = selector.get('matchLabels', true) as Node;
      m.anchor = anchorName;
      // A second source repeats a key the first has: the earlier source wins, as in go-yaml.
      const sources: Node[] = [doc.createAlias(m as never, anchorName)];
      if (w.sharing === 'merge-seq') sources.push(doc.createNode({ 'app.kubernetes.io/instance': 'not-this-one' }) as Node);
      tmeta.set('labels', mergeMap(sources));
      break;
    }
    case 'annotations-alias': {
      const m = selector.get('matchLabels', true) as Node;
      m.anchor = anchorName;
      tmeta.set('labels', doc.createAlias(m as never, anchorName));
      if (w.annotations && Object.keys(w.annotations).length > 0) {
        const meta = node.get('metadata', true);
        if (isMap(meta)) {
          const a = doc.createNode({ ...w.annotations }) as Node;
          a.anchor = `a${i}`;
          meta.set('annotations', a);
          tmeta.set('annotations', doc.createAlias(a as never, `a${i}`));
        }
      }
      break;
    }
    case 'metadata-merge': {
      const meta = node.get('metadata', true);
      if (!isMap(meta)) return;
      const ml = meta.get('labels', true) as Node;
      ml.anchor = anchorName;
      selector.set('matchLabels', mergeMap([doc.createAlias(ml as never, anchorName)]));
      tmeta.set('labels', mergeMap([doc.createAlias(ml as never, anchorName)]));
      break;
    }
    default:
  }
};

/** The object a workload reads as, after `share` (annotations-alias also sets the workload's own annotations). */
const expectedObject = (w: Workload, i: number): KubeObject => {
  const o = objectOf(w, i);
  if (w.kind !== 'Pod' && w.sharing === 'annotations-alias' && w.annotations && Object.keys(w.annotations).length > 0)
    (o.metadata as Record<string, unknown>).annotations = { ...w.annotations };
  return o;
};

const render = (f: FileSpec): { text: string; objects: KubeObject[] } => {
  const r = prng(f.style.styleSeed);
  const head = objectsOf(f).slice(0, objectsOf(f).length - f.workloads.length);
  const docs: Document[] = [];
  const objects: KubeObject[] = [...head];
  for (const o of head) docs.push(new Document(o));
  f.workloads.forEach((w, i) => {
    const o = objectOf(w, i);
    const order = w.sharing === 'template-anchor' && o.spec ? { ...o, spec: { template: (o.spec as Record<string, unknown>).template, ...(o.spec as Record<string, unknown>) } } : o;
    const d = new Document(order);
    share(d, d.contents as Node, w, i);
    docs.push(d);
    objects.push(expectedObject(w, i));
  });
  for (const d of docs) {
    visit(d, {
      Map(_, n) {
        if (r() < f.style.flowRatio) n.flow = true;
        if (f.style.comments && r() < 0.2) n.commentBefore = ' generated comment';
      },
      Seq(_, n) {
        if (r() < f.style.flowRatio) n.flow = true;
      },
    });
  }
  if (f.style.list === 'List') {
    // One List document: its items are the objects. Aliases stay inside their own item.
    const list = new Document({ apiVersion: 'v1', kind: 'List', items: [] });
    const items = list.get('items', true);
    for (const d of docs) if (isSeq(items)) items.items.push(d.contents as never);
    return { text: list.toString(), objects };
  }
  const parts = docs.map((d, i) => (i > 0 || f.style.explicitStart ? '---\n' : '') + d.toString());
  if (f.style.emptyDocs) parts.push('---\n# nothing but a comment\n');
  return { text: parts.join(''), objects };
};

// ---- the property -------------------------------------------------------------------

const strip = (o: unknown) => JSON.parse(JSON.stringify(o)) as unknown;

/** The object `review --webhook mutate` makes of a document, in namespace `ns`. */
const reviewed = (obj: KubeObject, ns: string, docs: readonly SourceDoc[]): unknown => {
  const view = buildView([], docs, NS);
  const out = admit(review(obj.kind!, strip(obj), { namespace: ns }), 'mutate', { view, config: DEFAULT_CONFIG });
  const ops = out.review.response.patch ? decodePatch(out.review.response) : [];
  return jsonpatch.applyPatch(strip(obj), ops, true, false).newDocument;
};

t.test('generated YAML: check and inject never fail; inject prints what review would make', async (t) => {
  t.comment(`fast-check seed ${seed}${path ? ` path ${path}` : ''} (replay: FUZZ_SEED=${seed} npx tap test/fuzz/yaml.test.ts)`);
  let mutatedDocs = 0;
  let shared = 0;
  let sharedMutated = 0;
  fc.assert(
    fc.property(fileArb, (f) => {
      const { text, objects } = render(f);
      const docs = parseManifests(text, 'gen.yaml');
      // 1. reads as the objects it was written from
      if (!isDeepStrictEqual(strip(docs.map((d) => d.object)), strip(objects))) throw new Error(`read differently:\n${text}`);
      // 2. check finishes
      checkDocuments(docs, buildView([], docs, NS), DEFAULT_CONFIG, NS);
      // 3. inject == review, document by document
      const injected = injectFiles([{ file: 'gen.yaml', text }], [], DEFAULT_CONFIG, NS);
      const back = parseManifests(injected.text, 'out.yaml');
      if (back.length !== docs.length) throw new Error(`inject printed ${back.length} objects for ${docs.length}:\n${injected.text}`);
      docs.forEach((d, i) => {
        const want = reviewed(d.object, d.object.metadata?.namespace ?? NS, docs);
        if (!isDeepStrictEqual(strip(back[i]!.object), want))
          throw new Error(`document ${i} differs from review's patch:\n--- in\n${text}\n--- inject\n${injected.text}\n--- review\n${JSON.stringify(want, null, 1)}`);
        if (!isDeepStrictEqual(want, strip(d.object))) {
          mutatedDocs++;
          const w = f.workloads[i - (docs.length - f.workloads.length)];
          if (w && w.sharing !== 'plain') sharedMutated++;
        }
      });
      if (f.workloads.some((w) => w.sharing !== 'plain')) shared++;
      // 4. inject of inject changes nothing
      const again = injectFiles([{ file: 'out.yaml', text: injected.text }], [], DEFAULT_CONFIG, NS);
      if (!isDeepStrictEqual(strip(parseManifests(again.text, 'again.yaml').map((d) => d.object)), strip(back.map((d) => d.object))))
        throw new Error(`not idempotent:\n${injected.text}`);
      return true;
    }),
    { numRuns: NUM_RUNS, seed, ...(path ? { path } : {}) },
  );
  t.ok(mutatedDocs > 0, `the generator reaches the mutation (${mutatedDocs} documents changed)`);
  t.ok(shared > NUM_RUNS / 4, `and writes shared nodes (${shared} files with anchors or merges)`);
  t.ok(sharedMutated > NUM_RUNS / 10, `and mutates workloads written with shared nodes (${sharedMutated})`);
});
