import t from 'tap';
import { parseManifests } from '../../../cli/inputs.js';

const text = `# leading comment
apiVersion: v1
kind: Pod
metadata:
  name: a
  annotations:
    "sidecar.istio.io/inject": "true"
    'traffic.sidecar.istio.io/excludeInboundPorts': "9017"
    ? plain.key/x
    : v
spec:
  containers:
    - name: app
      ports:
        - containerPort: 80
    - {name: proxy, image: x}
---
kind: List
apiVersion: v1
items:
  - kind: Namespace
    apiVersion: v1
    metadata: {name: ns1}
  - kind: Namespace
    apiVersion: v1
    metadata:
      name: ns2
`;

t.test('paths map to the line of their key, quoted keys included', async (t) => {
  const [pod, ns1, ns2] = parseManifests(text, 'f.yaml');
  t.equal(pod!.lineOf([]), 2, 'the document root');
  t.equal(pod!.lineOf(['kind']), 3);
  t.equal(pod!.lineOf(['metadata', 'annotations', 'sidecar.istio.io/inject']), 7, 'double-quoted key');
  t.equal(pod!.lineOf(['metadata', 'annotations', 'traffic.sidecar.istio.io/excludeInboundPorts']), 8, 'single-quoted key');
  t.equal(pod!.lineOf(['metadata', 'annotations', 'plain.key/x']), 9, 'explicit key');
  t.equal(pod!.lineOf(['spec', 'containers', 1, 'name']), 16, 'flow mapping inside a sequence');
  t.equal(pod!.lineOf(['spec', 'containers', 0, 'ports', 0, 'containerPort']), 15);
  t.equal(pod!.lineOf(['metadata', 'labels', 'x']), 4, 'a missing path falls back to its deepest ancestor');
  t.equal(pod!.lineOf(['spec', 'containers', 7]), 12, 'an index past the end falls back too');
  t.equal(ns1!.lineOf(['metadata', 'name']), 23, 'List items are located inside their document');
  t.equal(ns2!.lineOf(['metadata', 'name']), 27);
  t.same([ns1!.index, ns2!.index, ns1!.prefix], [1, 1, ['items', 0]]);
});

t.test('typed list items take the list kind; malformed input names the line', async (t) => {
  const [pod] = parseManifests('apiVersion: v1\nkind: PodList\nitems:\n  - metadata: {name: p}\n', 'g.yaml');
  t.match(pod!.object, { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'p' } });
  t.throws(() => parseManifests('a: [1,\n', 'bad.yaml'), { message: /^bad\.yaml:2: / });
  t.throws(() => parseManifests('- 1\n- 2\n', 'seq.yaml'), { message: /seq\.yaml:1: document 1 is not a mapping/ });
});

t.test('List items are located from their own node, whatever the shape of the list', async (t) => {
  // Items found in one pass over the sequence (not one walk per item): the lines must be
  // those of the item's own keys, past skipped scalars, flow items and aliases.
  const list = `kind: List
"items":
  - &first
    kind: Namespace
    apiVersion: v1
    metadata: {name: a}
  - just a string
  - {kind: Namespace, apiVersion: v1, metadata: {name: b}}
  - *first
  - kind: Namespace
    apiVersion: v1
    metadata:
      labels: {x: y}
      name: c
apiVersion: v1
`;
  const docs = parseManifests(list, 'l.yaml');
  t.same(docs.map((d) => d.prefix), [['items', 0], ['items', 2], ['items', 3], ['items', 4]]);
  t.same(docs.map((d) => d.lineOf(['metadata', 'name'])), [6, 8, 9, 14]);
  t.same(docs.map((d) => d.lineOf([])), [4, 8, 9, 10]);
});

// js-yaml hands every alias of an anchor the same object; parseManifests copies only the
// documents that hold an alias (anchors do not cross documents). Whichever document of a
// file holds the alias, no two places of an object are one object, and the documents
// without one are read as they are.
t.test('only a document with an alias is copied, and then nothing in it is shared', async (t) => {
  const plain = `apiVersion: v1
kind: Namespace
metadata: { name: prod, labels: { a: "1" } }
`;
  const aliased = `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db, namespace: prod, annotations: &notes { team: storage } }
spec:
  selector:
    matchLabels: &labels { app: db }
  template:
    metadata: { labels: *labels, annotations: *notes }
    spec: { containers: [ &c { name: app, image: x }, *c ] }
`;
  const unshared = (o: any) => {
    t.not(o.spec.selector.matchLabels, o.spec.template.metadata.labels, 'the selector and the template labels are two objects');
    t.same(o.spec.selector.matchLabels, o.spec.template.metadata.labels);
    t.not(o.metadata.annotations, o.spec.template.metadata.annotations, 'the annotations too');
    t.not(o.spec.template.spec.containers[0], o.spec.template.spec.containers[1], 'and items of a sequence');
  };
  for (const order of [[plain, aliased, plain], [aliased, plain], [plain, plain, aliased]]) {
    const docs = parseManifests(order.join('---\n'), 'f.yaml');
    t.equal(docs.length, order.length);
    order.forEach((d, i) => {
      if (d === aliased) unshared(docs[i]!.object);
      else t.same(docs[i]!.object, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { a: '1' } } });
    });
  }
  // A List's items are one document: an alias in any item copies all of them.
  const list = parseManifests(`apiVersion: v1\nkind: List\nitems:\n  - ${aliased.trimEnd().split('\n').join('\n    ')}\n`, 'l.yaml');
  unshared(list[0]!.object);
});
