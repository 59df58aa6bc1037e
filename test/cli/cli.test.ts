// The built `meshguard` binary as CI runs it: exit codes, every output format, stdin,
// directories, --state, inject and review. Needs `npm run build` first (make does it).
import t from 'tap';
import { join } from 'node:path';
import jsonpatch from 'fast-json-patch';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { bin, fx, requireBuild, root, run } from './fixtures/run.js';

t.before(requireBuild);

t.test('check text: grouped by file, rule ids, actions, lines, summary, exit 1 on denied findings', async (t) => {
  const r = run(['check', fx('bad-cluster.yaml')]);
  t.equal(r.code, 1);
  const lines = r.out.split('\n');
  t.equal(lines[0], fx('bad-cluster.yaml'), 'file heading first');
  t.match(r.out, /^\s+19\s+error\s+deny\s+MG103\s+traffic\.sidecar\.istio\.io\/excludeOutboundPorts: "9017,abc"/m, 'MG103 at the line of the bad value');
  t.match(r.out, /^\s+33\s+error\s+deny\s+MG205\s+StatefulSet prod\/db-data uses hostNetwork/m, 'MG205 at the hostNetwork line');
  t.match(r.out, /^\s+18\s+warning warn\s+MG105/m);
  t.match(lines.filter(Boolean).at(-1), /^✖ 3 errors, 1 warning, 2 info in 3 documents \(1 file\); 3 denied, 1 warned, 2 audited$/);
  t.notMatch(r.out, /\x1b\[/, 'no colour when NO_COLOR is set / not a TTY');
});

t.test('check on a clean manifest exits 0', async (t) => {
  const r = run(['check', fx('good.yaml')]);
  t.equal(r.code, 0, r.out + r.err);
  t.match(r.out, /✔ 0 errors, 0 warnings, 0 info in 3 documents/);
});

t.test('check json follows the contract', async (t) => {
  const r = run(['check', '--format', 'json', fx('bad-cluster.yaml')]);
  t.equal(r.code, 1);
  const j = JSON.parse(r.out);
  t.same(Object.keys(j).sort(), ['findings', 'summary']);
  for (const f of j.findings) t.same(Object.keys(f).sort(), ['action', 'file', 'kind', 'line', 'message', 'name', 'namespace', 'path', 'rule', 'severity'].sort());
  const hostNet = j.findings.find((f: any) => f.rule === 'MG205');
  t.match(hostNet, { severity: 'error', action: 'deny', file: fx('bad-cluster.yaml'), line: 33, kind: 'StatefulSet', namespace: 'prod', name: 'db-data', path: 'spec.template.spec.hostNetwork' });
  t.match(j.summary, { errors: 3, warnings: 1, infos: 2, deny: 3, warn: 1, audit: 2, documents: 3, files: 1 });
});

t.test('check junit: a failure per denied finding', async (t) => {
  const r = run(['check', '-f', 'junit', fx('bad-cluster.yaml')]);
  t.equal(r.code, 1);
  t.match(r.out, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="meshguard" tests="2" failures="3">/);
  t.equal((r.out.match(/<failure type="MG\d+"/g) ?? []).length, 3);
  t.match(r.out, /<testcase classname="[^"]+" name="StatefulSet prod\/db-data">/);
  t.match(r.out, /&quot;9017,abc&quot;/, 'messages are XML-escaped');
});

t.test('check sarif: 2.1.0 with rules and located results', async (t) => {
  const r = run(['check', '-f', 'sarif', fx('bad-cluster.yaml')]);
  t.equal(r.code, 1);
  const s = JSON.parse(r.out);
  t.equal(s.version, '2.1.0');
  const run0 = s.runs[0];
  t.ok(run0.tool.driver.rules.some((x: any) => x.id === 'MG201'));
  const res = run0.results.find((x: any) => x.ruleId === 'MG205');
  t.equal(res.level, 'error');
  t.equal(res.locations[0].physicalLocation.region.startLine, 33);
  t.ok(run0.results.some((x: any) => x.ruleId === 'MG206' && x.level === 'note'));
});

t.test('check reads stdin with -', async (t) => {
  const { readFileSync } = await import('node:fs');
  const r = run(['check', '-f', 'json', '-'], readFileSync(join(root, fx('bad-cluster.yaml')), 'utf8'));
  t.equal(r.code, 1);
  t.ok(JSON.parse(r.out).findings.every((f: any) => f.file === '<stdin>'));
});

t.test('check walks directories, JSON Lists and skips other files', async (t) => {
  const r = run(['check', '-f', 'json', fx('tree')]);
  t.equal(r.code, 1, r.err);
  const j = JSON.parse(r.out);
  t.equal(j.summary.documents, 3, 'List items count as documents; ignored.txt is not read');
  const f = j.findings.find((x: any) => x.rule === 'MG202');
  t.match(f, { kind: 'Pod', namespace: 'mesh-off', name: 'c1-0', file: fx('tree/pods.yml'), line: 3 });
  t.match(f.message, /AntflyCluster mesh-off\/c1 has serviceMesh\.enabled: false/);
});

t.test('unusable input and usage errors exit 2 with a clear message', async (t) => {
  const malformed = run(['check', fx('malformed.yaml')]);
  t.equal(malformed.code, 2);
  t.match(malformed.err, new RegExp(`${fx('malformed.yaml').replace(/\./g, '\\.')}:\\d+: `), 'file and line');
  const missing = run(['check', 'no/such/file.yaml']);
  t.equal(missing.code, 2);
  t.match(missing.err, /no\/such\/file\.yaml: no such file or directory/);
  t.equal(run(['check', '-f', 'xml', fx('good.yaml')]).code, 2);
  t.equal(run(['check']).code, 2, 'missing argument');
  t.equal(run(['frobnicate']).code, 2, 'unknown command');
  t.equal(run(['check', '--bogus', fx('good.yaml')]).code, 2, 'unknown option');
  t.equal(run(['--help']).code, 0);
  t.match(run(['--version']).out, /^\d+\.\d+\.\d+/);
});

t.test('--state supplies pods for the N/M count', async (t) => {
  const r = run(['check', '-f', 'json', '--state', fx('state-pods.yaml'), fx('bad-cluster.yaml')]);
  const j = JSON.parse(r.out);
  t.equal(j.summary.documents, 3, 'state documents are context, not checked');
  const pod = run(['review', '--webhook', 'validate', '--state', fx('review-state.yaml'), '--state', fx('state-pods.yaml'), fx('review-pod.json')]);
  t.equal(pod.code, 0);
  const resp = JSON.parse(pod.out).response;
  t.equal(resp.allowed, false);
  t.equal(resp.status.code, 403);
  t.match(resp.status.message, /\[MG201\] Pod prod\/db-data-2 runs without the Istio proxy, but AntflyCluster prod\/db has serviceMesh\.enabled: true \(1\/2 of its pods are meshed now\)/);
  t.match(resp.status.message, /injector did not run/);
});

t.test('review mutate answers with a patch that applies to the sent object', async (t) => {
  const { readFileSync } = await import('node:fs');
  const review = JSON.parse(readFileSync(join(root, fx('review-pod.json')), 'utf8'));
  const r = run(['review', '--webhook', 'mutate', '--state', fx('review-state.yaml'), fx('review-pod.json')]);
  t.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out);
  t.match(out, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch' } });
  const ops = JSON.parse(Buffer.from(out.response.patch, 'base64').toString('utf8'));
  const patched = jsonpatch.applyPatch(structuredClone(review.request.object), ops, true).newDocument;
  t.equal(patched.metadata.labels['sidecar.istio.io/inject'], 'true', 'rule 3: label form of the switch');
  t.equal(patched.metadata.annotations['traffic.sidecar.istio.io/excludeInboundPorts'], '9017,9021', 'rule 2: consensus ports');
  t.ok(ops.some((o: any) => o.path.includes('~1')), '/ in keys escaped as ~1');
});

t.test('review: unusable input exits 2, stdin works', async (t) => {
  const notReview = run(['review', '--webhook', 'mutate', fx('good.yaml')]);
  t.equal(notReview.code, 2, 'three documents are not one AdmissionReview');
  const wrongKind = run(['review', '--webhook', 'mutate', '-'], '{"kind":"Pod","apiVersion":"v1"}');
  t.equal(wrongKind.code, 2);
  t.match(JSON.parse(wrongKind.out).response, { allowed: false, status: { code: 400 } });
  t.equal(run(['review', '--webhook', 'mutate', '-'], '{ nope').code, 2);
  t.equal(run(['review', '--webhook', 'sideways', fx('review-pod.json')]).code, 2);
  const { readFileSync } = await import('node:fs');
  const ok = run(['review', '--webhook', 'validate', '-'], readFileSync(join(root, fx('review-pod.json')), 'utf8'));
  t.equal(ok.code, 0);
  t.match(JSON.parse(ok.out).response, { allowed: true, warnings: [/^MG204: /] }, 'no cluster CR known: allowed with a warning');
});

t.test('inject keeps comments and order, adds what the webhook adds, and is idempotent', async (t) => {
  const r = run(['inject', fx('good.yaml')]);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /# metadata nodes of the orders cluster/);
  t.match(r.out, /name: orders-metadata # keep this name/);
  const docs = parseAllDocuments(r.out).map((d) => d.toJS());
  t.equal(docs.length, 3);
  const sts = docs[2];
  t.same(Object.keys(sts), ['apiVersion', 'kind', 'metadata', 'spec'], 'key order kept');
  t.same(sts.spec.template.metadata.annotations, {
    'traffic.sidecar.istio.io/excludeInboundPorts': '9017,9021',
    'traffic.sidecar.istio.io/excludeOutboundPorts': '9017,9021',
  });
  const again = run(['inject', '-'], r.out);
  t.equal(again.code, 0);
  t.same(parseAllDocuments(again.out).map((d) => d.toJS()), docs, 'injecting the output changes nothing');
  const bad = run(['inject', fx('bad-cluster.yaml')]);
  t.equal(bad.code, 0, 'inject reports findings but succeeds');
  t.match(bad.err, /MG206/);
  t.equal(parseYaml(bad.out.split('---\n')[2]!).spec.template.metadata.labels['sidecar.istio.io/inject'], 'true');
});

t.test('a large input checked on several threads gives exactly the single-thread answer', async (t) => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { writeCorpus } = await import('../../bench/corpus.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-corpus-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { bytes } = writeCorpus(dir, 4000);
  t.ok(bytes > 2 * 1024 * 1024, 'big enough to be split across threads');
  const one = run(['check', '-f', 'json', '--jobs', '1', dir]);
  const two = run(['check', '-f', 'json', '--jobs', '2', dir]);
  t.equal(one.code, 1, one.err);
  t.equal(two.code, one.code);
  const a = JSON.parse(one.out);
  t.ok(a.findings.length > 100, 'the corpus has findings to compare');
  t.same(JSON.parse(two.out), a, 'same findings, same order, same summary');
  t.equal(run(['check', '--jobs', '0', dir]).code, 2, '--jobs must be >= 1');
});

t.test('a large standard input is checked as the same text in a file would be, on one thread or on two', async (t) => {
  const { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { writeCorpus } = await import('../../bench/corpus.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-stdin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeCorpus(join(dir, 'corpus'), 3200);
  const parts = readdirSync(join(dir, 'corpus')).sort().map((f) => readFileSync(join(dir, 'corpus', f), 'utf8'));
  // The larger file stays on the main thread, so on two threads standard input's text goes
  // to the worker; both are read in pieces (1 MiB or more).
  const big = parts.slice(0, 17).join('---\n');
  const piped = parts.slice(17).join('---\n');
  t.ok(piped.length >= 1024 * 1024 && big.length > piped.length, 'large enough to be read in pieces, smaller than the file');
  writeFileSync(join(dir, 'big.yaml'), big);
  writeFileSync(join(dir, 'piped.yaml'), piped);
  const asFile = run(['check', '-f', 'json', '--jobs', '1', join(dir, 'big.yaml'), join(dir, 'piped.yaml')]);
  t.equal(asFile.code, 1, asFile.err);
  const want = JSON.parse(asFile.out.replaceAll(JSON.stringify(join(dir, 'piped.yaml')), JSON.stringify('<stdin>')));
  t.ok(want.findings.filter((f: any) => f.file === '<stdin>').length > 50, 'standard input has findings to compare');
  for (const jobs of ['1', '2']) {
    const r = run(['check', '-f', 'json', '--jobs', jobs, join(dir, 'big.yaml'), '-'], piped);
    t.equal(r.code, 1, r.err);
    t.same(JSON.parse(r.out), want, `--jobs ${jobs}: same findings, lines, order and summary`);
  }
});

t.test('serve --metrics-port off starts without the metrics listener', async (t) => {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-serve-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--metrics-port', 'off', '--dev-certs-dir', join(dir, 'certs')], { cwd: dir });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const listening = await new Promise<Record<string, unknown> | undefined>((resolve) => {
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"meshguard webhook listening"'));
      if (line) resolve(JSON.parse(line));
    });
    child.on('exit', () => resolve(undefined));
  });
  t.ok(listening, `serve came up\n${err}`);
  t.equal(listening?.metricsPort, null, 'no metrics port');
  t.ok(Number(listening?.port) > 0);
});
