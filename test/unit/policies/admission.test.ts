// The AdmissionReview contract of admit(): what the API server gets back for every input.
import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import t from 'tap';
import { admit, allowed, denied, MAX_WARNING_LENGTH, nestsDeeperThan, patched, toWarning } from '../../../policies/admission.js';
import type { ClusterView } from '../../../policies/cluster-view.js';
import { finding } from '../../../policies/findings.js';
import type { KubeObject } from '../../../policies/k8s.js';
import { antflyCluster, antflyLabels, ctx, decodePatch, namespace, pod, review, specWith, statefulSet, view } from './fixtures/objects.js';

const UID = 'c0ffee00-0000-4000-8000-000000000001';
const V = view(namespace({ 'istio-injection': 'enabled' }), antflyCluster({ serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } } }));

t.test('helpers', async (t) => {
  t.same(allowed('u'), { uid: 'u', allowed: true });
  t.same(allowed('u', ['w']), { uid: 'u', allowed: true, warnings: ['w'] });
  t.same(denied('u', 403, 'no'), { uid: 'u', allowed: false, status: { code: 403, message: 'no', reason: 'Forbidden' } });
  t.equal(denied('u', 400, 'x').status?.reason, 'BadRequest');
  t.equal(denied('u', 500, 'x').status?.reason, 'InternalError');
  t.same(patched('u', []), { uid: 'u', allowed: true }, 'no patchType for an empty patch');
  const p = patched('u', [{ op: 'add', path: '/a', value: 1 }]);
  t.equal(p.patchType, 'JSONPatch');
  t.same(JSON.parse(Buffer.from(p.patch!, 'base64').toString()), [{ op: 'add', path: '/a', value: 1 }]);
  const long = toWarning(finding('MG204', 'x'.repeat(300), []));
  t.equal(long.length, MAX_WARNING_LENGTH);
  t.ok(long.endsWith('…'));
  t.equal(toWarning(finding('MG204', 'short', [])), 'MG204: short');
});

t.test('uid echoed and apiVersion answered in kind', async (t) => {
  for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
    for (const webhook of ['mutate', 'validate'] as const) {
      const out = admit(review('StatefulSet', statefulSet(), { apiVersion, uid: UID }), webhook, ctx(V));
      t.equal(out.review.apiVersion, apiVersion);
      t.equal(out.review.kind, 'AdmissionReview');
      t.equal(out.review.response.uid, UID);
      t.same(out.request, { uid: UID, kind: 'StatefulSet', namespace: 'db', name: 'ac-metadata', operation: 'CREATE', dryRun: false });
    }
  }
});

t.test('the patch applied to the sent object gives the mutated object', async (t) => {
  const sent = statefulSet(antflyLabels(), { 'example.com/a~b': 'tilde', 'sidecar.istio.io/proxyCPU': '1' });
  const out = admit(review('StatefulSet', sent), 'mutate', ctx(view(namespace(), antflyCluster({ serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true', 'sidecar.istio.io/proxyCPU': '2' } } }))));
  const r = out.review.response;
  t.equal(r.patchType, 'JSONPatch');
  const ops = decodePatch(r);
  t.equal(out.patchOps, ops.length);
  t.equal(jsonpatch.validate(ops, structuredClone(sent)), undefined, 'valid RFC 6902 against the sent object');
  const after = jsonpatch.applyPatch(structuredClone(sent), ops, true, false).newDocument as KubeObject;
  const tm = after.spec.template.metadata;
  t.same(tm.annotations, {
    'example.com/a~b': 'tilde',
    'sidecar.istio.io/proxyCPU': '2',
    'sidecar.istio.io/inject': 'true',
    'traffic.sidecar.istio.io/excludeInboundPorts': '9017,9021',
    'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,9021',
  });
  t.equal(tm.labels['sidecar.istio.io/inject'], 'true');
  const { template: _t, ...restAfter } = after.spec;
  const { template: _s, ...restSent } = sent.spec;
  t.same(restAfter, restSent, 'nothing else changes');
  t.same(after.spec.template.spec, sent.spec.template.spec);
  t.ok(r.warnings && r.warnings.length > 0 && r.warnings.every((w) => w.length <= MAX_WARNING_LENGTH));
  t.ok(r.warnings!.every((w) => /^MG(105|207): /.test(w)), 'only warning findings become warnings');
  t.ok(out.findings.some((f) => f.severity === 'info'), 'info findings are kept for logs');
  t.same(sent.spec.template.metadata.annotations, { 'example.com/a~b': 'tilde', 'sidecar.istio.io/proxyCPU': '1' }, 'the input is not modified');
});

t.test('a pod without apiVersion/kind in the object is still judged by request.kind', async (t) => {
  const { apiVersion: _a, kind: _k, ...bare } = pod();
  const input = review('Pod', bare);
  const out = admit(input, 'mutate', ctx(V));
  const ops = decodePatch(out.review.response);
  t.ok(ops.length > 0);
  const after = jsonpatch.applyPatch(structuredClone(bare), ops, true, false).newDocument as KubeObject;
  t.equal(after.metadata!.labels!['sidecar.istio.io/inject'], 'true');
  t.equal(after.apiVersion, undefined, 'the patch does not add type meta');
});

t.test('DELETE, CONNECT and subresources are allowed without a patch', async (t) => {
  for (const webhook of ['mutate', 'validate'] as const) {
    for (const operation of ['DELETE', 'CONNECT']) {
      const out = admit(review('Pod', null, { operation, oldObject: pod() }), webhook, ctx(V));
      t.same(out.review.response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true }, `${webhook} ${operation}`);
      t.equal(out.decision, 'skipped');
    }
    const status = admit(review('Pod', pod({ app: 'x' }, undefined, specWith([], [], { hostNetwork: true })), { operation: 'UPDATE', subResource: 'status' }), webhook, ctx(V));
    t.same(status.review.response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
    const scale = admit(review('StatefulSet', { apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 5 } }, { operation: 'UPDATE', subResource: 'scale' }), webhook, ctx(V));
    t.equal(scale.review.response.allowed, true);
  }
});

t.test('unreadable reviews are 400, never an exception', async (t) => {
  const ok = review('Pod', pod());
  const req = ok.request as Record<string, unknown>;
  const cases: [string, unknown, RegExp, string?][] = [
    ['not an object', 'hello', /the body is not an AdmissionReview object/],
    ['null', null, /not an AdmissionReview object/],
    ['array', [ok], /not an AdmissionReview object/],
    ['wrong kind', { ...ok, kind: 'TokenReview' }, /expected kind AdmissionReview of admission\.k8s\.io\/v1 or v1beta1, got TokenReview admission\.k8s\.io\/v1/, req.uid as string],
    ['wrong apiVersion', { ...ok, apiVersion: 'admission.k8s.io/v2' }, /got AdmissionReview admission\.k8s\.io\/v2/, req.uid as string],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /has no request/],
    ['request not a map', { ...ok, request: 'x' }, /has no request/],
    ['no uid', { ...ok, request: { ...req, uid: undefined } }, /request\.uid is missing/],
    ['empty uid', { ...ok, request: { ...req, uid: '' } }, /request\.uid is missing/],
    ['no operation', { ...ok, request: { ...req, operation: 7 } }, /request\.operation is missing/, req.uid as string],
    ['object not a map', { ...ok, request: { ...req, object: ['a'] } }, /request\.object is not an object/, req.uid as string],
    ['oldObject not a map', { ...ok, request: { ...req, oldObject: 3 } }, /request\.oldObject is not an object/, req.uid as string],
    ['CREATE without object', { ...ok, request: { ...req, object: null } }, /cannot review CREATE without request\.object/, req.uid as string],
    ['template labels not a string map', review('StatefulSet', statefulSet({ ...antflyLabels(), replicas: 3 } as never)), /spec\.template\.metadata\.labels must map strings to strings/, req.uid as string],
    ['pod annotations a list', review('Pod', { ...pod(), metadata: { name: 'p', labels: antflyLabels(), annotations: ['a'] } }), /metadata\.annotations must map strings to strings/, req.uid as string],
    ['template not a map', review('StatefulSet', { ...statefulSet(), spec: { template: 'x' } }), /spec\.template is not an object/, req.uid as string],
    ['template spec not a map', review('StatefulSet', { ...statefulSet(), spec: { template: { spec: [] } } }), /spec\.template\.spec is not an object/, req.uid as string],
    ['pod metadata not a map', review('Pod', { ...pod(), metadata: 'm' }), /metadata is not an object/, req.uid as string],
    ['containers not a list', review('Pod', pod(antflyLabels(), undefined, { containers: { name: 'a' } })), /spec\.containers must be a list of containers/, req.uid as string],
  ];
  for (const [name, input, message, uid = ''] of cases) {
    for (const webhook of ['mutate', 'validate'] as const) {
      let out;
      t.doesNotThrow(() => {
        out = admit(input, webhook, ctx(V));
      }, name);
      const r = out!.review.response;
      t.equal(r.allowed, false, name);
      t.equal(r.status?.code, 400, name);
      t.equal(r.status?.reason, 'BadRequest', name);
      t.match(r.status?.message, message, `${webhook}: ${name}`);
      t.equal(r.uid, uid, `${name}: uid when readable`);
      t.equal(out!.decision, 'invalid');
      t.equal(out!.review.apiVersion, 'admission.k8s.io/v1');
    }
  }
  const beta = admit({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview' }, 'validate', ctx(V));
  t.equal(beta.review.apiVersion, 'admission.k8s.io/v1beta1', 'a v1beta1 error is answered in v1beta1');
  const nullProto = Object.assign(Object.create(null), { apiVersion: 'admission.k8s.io/v1', kind: Object.create(null) });
  t.equal(admit(nullProto, 'validate', ctx(V)).review.response.status?.code, 400, 'no String() of a prototype-less value throws');
  const cyclic: Record<string, unknown> = { apiVersion: 'admission.k8s.io/v1' };
  cyclic.kind = cyclic;
  const c = admit(cyclic, 'mutate', ctx(V)).review.response;
  t.equal(c.status?.code, 400, 'a cyclic value does not throw');
  t.match(c.status?.message, /nested deeper than 100 levels/, 'a cycle is as deep as it gets');
  t.match(admit({ apiVersion: 1n, kind: 'AdmissionReview' }, 'mutate', ctx(V)).review.response.status?.message, /got AdmissionReview bigint/);
});

t.test('namespace and name are taken only when they are strings', async (t) => {
  const odd = { ...pod(), metadata: { name: { n: 1 }, namespace: 42, labels: antflyLabels() } };
  const input = review('Pod', odd, { namespace: '' });
  (input.request as Record<string, unknown>).name = '';
  const out = admit(input, 'validate', ctx(V));
  t.equal(out.request.namespace, 'default');
  t.equal(out.request.name, undefined);
  t.equal(out.review.response.allowed, true, 'no cluster CR in namespace default: MG204 warning only');
  t.match(out.review.response.warnings?.[0], /^MG204: /);
  const fromObject = admit(review('Pod', pod(), { namespace: '' }), 'validate', ctx(V));
  t.equal(fromObject.request.namespace, 'db', 'metadata.namespace when request.namespace is empty');
});

t.test('denial: 403 with rule id, object, cluster and fix', async (t) => {
  const v = view(namespace(), antflyCluster({ serviceMesh: { enabled: true, annotations: { 'linkerd.io/inject': 'enabled' } } }));
  const out = admit(review('Pod', pod(antflyLabels(), { 'linkerd.io/inject': 'enabled' }, specWith([], [], { hostNetwork: true }))), 'validate', ctx(v));
  const r = out.review.response;
  t.equal(r.allowed, false);
  t.equal(r.status?.code, 403);
  t.equal(r.status?.reason, 'Forbidden');
  t.match(r.status?.message, /^meshguard: \[MG205\] Pod db\/ac-metadata-0 uses hostNetwork, but AntflyCluster db\/ac is meshed/);
  t.match(r.status?.message, /Remove hostNetwork: true/);
  t.equal(r.patch, undefined);
  t.equal(out.decision, 'denied');
});

t.test('internal errors are 500', async (t) => {
  const throwing: ClusterView = {
    getNamespace: () => {
      throw new Error('informer not synced');
    },
    getCluster: () => undefined,
    listClusters: () => [],
    listPods: () => [],
  };
  for (const webhook of ['mutate', 'validate'] as const) {
    const out = admit(review('Pod', pod(), { uid: UID }), webhook, ctx(throwing));
    t.equal(out.review.response.allowed, false);
    t.equal(out.review.response.status?.code, 500);
    t.equal(out.review.response.status?.reason, 'InternalError');
    t.match(out.review.response.status?.message, /meshguard internal error: informer not synced/);
    t.equal(out.review.response.uid, UID);
    t.equal(out.decision, 'error');
  }
  const pods: ClusterView = { getNamespace: () => undefined, getCluster: () => antflyCluster({ serviceMesh: { enabled: true } }), listClusters: () => [], listPods: () => { throw 'not an Error'; } };
  const out = admit(review('Pod', pod()), 'validate', ctx(pods));
  t.match(out.review.response.status?.message, /internal error: not an Error/);
});

t.test('not a target: allowed, nothing else', async (t) => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'db' }, data: { a: 'b' } };
  for (const webhook of ['mutate', 'validate'] as const) {
    const out = admit(review('ConfigMap', cm), webhook, ctx(V));
    t.same(out.review.response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
    t.equal(out.decision, 'skipped');
    t.equal(out.ignoredBy, undefined);
  }
});

t.test("a kind named like an Object.prototype property (constructor, toString) is not a target, not an internal error", async (t) => {
  for (const kind of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
    const obj = { apiVersion: 'v1', kind, metadata: { name: 'x', namespace: 'db' } };
    for (const webhook of ['mutate', 'validate'] as const) {
      const out = admit(review(kind, obj), webhook, ctx(V));
      t.equal(out.decision, 'skipped', `${kind} on /${webhook}`);
      t.same(out.review.response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
    }
  }
});

t.test('an empty annotations: in the template (null) is read as absent, not as a bad object', async (t) => {
  const sent = statefulSet(antflyLabels());
  (sent.spec.template.metadata as Record<string, unknown>).annotations = null;
  const out = admit(review('StatefulSet', sent), 'mutate', ctx(view(namespace(), antflyCluster({ serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true' } } }))));
  t.equal(out.decision, 'patched');
  const after = jsonpatch.applyPatch(structuredClone(sent), decodePatch(out.review.response), true, false).newDocument as KubeObject;
  t.equal(after.spec.template.metadata.annotations['sidecar.istio.io/inject'], 'true');
});

// The seed is printed; replay a failure with FC_SEED=<seed>.
const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

t.test('nestsDeeperThan says whether the depth of nested objects and arrays exceeds the bound, for any JSON value', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  // The depth as defined: an object or array is one level more than its deepest child.
  const depth = (v: unknown): number => (v === null || typeof v !== 'object' ? 0 : 1 + Math.max(0, ...Object.values(v).map(depth)));
  // JSON.parse's values, "__proto__" keys included (own data properties, as the server reads them).
  const json = fc.oneof(fc.jsonValue({ maxDepth: 8 }), fc.jsonValue({ maxDepth: 8 }).map((v) => JSON.parse(`{"__proto__":${JSON.stringify(v) ?? 'null'}}`)));
  fc.assert(
    fc.property(json, fc.integer({ min: 1, max: 10 }), (v, max) => nestsDeeperThan(v, max) === depth(v) > max),
    { numRuns: 500, seed: SEED },
  );
});

t.test('nesting depth: 100 levels are read, 101 are one 400 answer with the uid', async (t) => {
  const nest = (depth: number): unknown => {
    let v: unknown = 'x';
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
    return v;
  };
  t.equal(nestsDeeperThan(nest(100), 100), false);
  t.equal(nestsDeeperThan(nest(101), 100), true);
  t.equal(nestsDeeperThan('x', 0), false);
  t.equal(nestsDeeperThan({ wide: Array.from({ length: 1000 }, () => []) }, 3), false, 'width is not depth');
  const uid = '705ab4f5-6393-11e8-b7cc-42010a800002';
  const withName = (depth: number) => review('Pod', { ...pod(), metadata: { name: nest(depth) } });
  t.equal(admit(withName(95), 'validate', ctx(V)).decision === 'invalid' && /nested/.test(admit(withName(95), 'validate', ctx(V)).review.response.status?.message ?? ''), false, 'within the bound: read');
  const deep = admit(withName(200), 'validate', ctx(V)).review.response;
  t.match(deep, { uid, allowed: false, status: { code: 400, message: /nested deeper than 100 levels/ } });
});
