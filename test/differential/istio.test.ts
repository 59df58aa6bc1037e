// The differential tier: meshguard's Istio decisions against Istio's own code. Cases are
// generated with fast-check (seed printed; replay with MG_DIFF_SEED=<seed>), answered by
// test/differential/.cache/bin/istio-oracle (built by test/differential/build.sh from the
// pinned istio.io/istio module), and compared: would Istio inject, refusals, istio-cni's
// capture, and the exclusions after meshguard's mutation. Where meshguard differs on purpose, the case
// must match a row of the table in docs/rules.md ("Deliberate differences from Istio").
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import t from 'tap';
import type { KubeObject, StringMap } from '../../policies/k8s.js';
import { podFacts } from '../../policies/k8s.js';
import { istio } from '../../policies/meshes/istio.js';
import { DEFAULT_MESH_OPTIONS } from '../../policies/meshes/types.js';
import { checkAnnotations } from '../../policies/validation/annotations.js';
import { antflyCluster, antflyLabels, namespace, runMutate, view } from '../unit/policies/fixtures/objects.js';
import { DELIBERATE, deliberateRows } from './deliberate.js';

const ORACLE = fileURLToPath(new URL('./.cache/bin/istio-oracle', import.meta.url));
const CASES = Number(process.env.MG_DIFF_CASES ?? 3000);
const seed = Number(process.env.MG_DIFF_SEED ?? Date.now() % 2 ** 31);
t.comment(`differential seed ${seed} (${CASES} cases); replay with MG_DIFF_SEED=${seed}`);

interface Install { revision: string; cni: boolean }
interface Case {
  install: Install;
  nsLabels: StringMap;
  podLabels: StringMap;
  podAnnotations: StringMap;
  crEnabled: boolean;
  crAnnotations: StringMap;
  raft: [number, number];
}
interface Answer {
  id: string;
  error?: string;
  reached: boolean;
  refusal?: string;
  injected: boolean;
  apiRefusal?: string;
  iptables?: { via: string; excludeInbound: string; excludeOutbound: string; includeOutbound: string; interceptionMode: string; error?: string };
}

// --- value generators: valid, edge and garbage values for each annotation meshguard reads or writes
const SWITCH = fc.constantFrom('true', 'false', 'True', 'False', 'yes', 'no', '1', '0', 'on', 'off', 'enabled', '', ' true', 'TRUE');
const port = fc.integer({ min: 0, max: 65535 }).map(String);
const spaced = (a: fc.Arbitrary<string>): fc.Arbitrary<string> => fc.tuple(a, fc.constantFrom('', ' ', '  ')).map(([v, s]) => `${s}${v}${s}`);
const portList = fc.oneof(
  fc.array(spaced(port), { maxLength: 4 }).map((a) => a.join(',')),
  fc.array(fc.constantFrom('9017', '9021', '5432', '5432', '15020'), { minLength: 1, maxLength: 4 }).map((a) => a.join(',')),
  fc.constantFrom('', ' ', '*', ' * ', '80,', ',80', '80,,81', '9000-9100', '70000', '-1', '+80', 'http', '0080', '80 81', '\u00a080', '\ufeff80'),
);
const cidrList = fc.constantFrom('', '*', ' * ', '10.0.0.0/8', '10.0.0.0/8,fd00::/8', '10.0.0.1', '10.0.0.0/33', '10.0.0.0/8, 192.168.0.0/16', 'fe80::1%eth0/64', '010.0.0.0/8');
const quantity = fc.constantFrom('100m', '1', '0', '-', '+', '.', '-.', '-100m', '-0', '128Mi', '1Gi', '1GB', '1K', 'Mi', '1e3', '1E+3', '1e', '', ' 1', '0.5', '2', '3', '1500m');
const interfaces = fc.constantFrom('', 'eth1', 'eth1,net1', 'eth1, net1', 'eth1,', '1eth', 'averyveryverylongname', 'eth 1', 'tap@0', 'a.b-c_d');
const uint32 = fc.constantFrom('0', '10', '4294967295', '4294967296', '2147483647', '2147483648', '-1', ' 10', '1.5', '', 'ten', '+1', '010');
const statusPort = fc.constantFrom('15020', '0', ' 15020 ', '65535', '65536', '-1', '', 'http', '1,2');
const mode = fc.constantFrom('REDIRECT', 'TPROXY', 'NONE', 'redirect', 'REDIRECT ', '', 'tproxy');
const goBool = fc.constantFrom('true', 'false', 'T', 'F', '1', '0', 'TRUE', 'yes', 'no', '', 'True ');
const proxyConfig = fc.constantFrom(
  '', 'concurrency: 2', '{"holdApplicationUntilProxyStarts": true}', 'holdApplicationUntilProxyStarts: yes', 'terminationDrainDuration: 30s',
  'proxyMetadata: {A: b}', 'someFutureField: 1', 'concurrency: two', '[1, 2]', 'statusPort: 0', 'drainDuration: 1.5s', 'a: [', 'just a string',
);
const ANNOTATIONS: Record<string, fc.Arbitrary<string>> = {
  'sidecar.istio.io/inject': SWITCH,
  'traffic.sidecar.istio.io/excludeInboundPorts': portList,
  'traffic.sidecar.istio.io/excludeOutboundPorts': portList,
  'traffic.sidecar.istio.io/includeInboundPorts': portList,
  'traffic.sidecar.istio.io/includeOutboundPorts': portList,
  'traffic.sidecar.istio.io/includeOutboundIPRanges': cidrList,
  'traffic.sidecar.istio.io/excludeOutboundIPRanges': cidrList,
  'sidecar.istio.io/proxyCPU': quantity,
  'sidecar.istio.io/proxyMemory': quantity,
  'sidecar.istio.io/proxyCPULimit': quantity,
  'sidecar.istio.io/proxyMemoryLimit': quantity,
  'traffic.sidecar.istio.io/excludeInterfaces': interfaces,
  'traffic.sidecar.istio.io/kubevirtInterfaces': interfaces,
  'istio.io/reroute-virtual-interfaces': interfaces,
  'readiness.status.sidecar.istio.io/initialDelaySeconds': uint32,
  'readiness.status.sidecar.istio.io/periodSeconds': uint32,
  'readiness.status.sidecar.istio.io/failureThreshold': uint32,
  'status.sidecar.istio.io/port': statusPort,
  'sidecar.istio.io/interceptionMode': mode,
  'prometheus.istio.io/merge-metrics': goBool,
  'proxy.istio.io/config': proxyConfig,
};
const KEYS = Object.keys(ANNOTATIONS);
// Mostly valid, so that the merge and selection paths are reached; sometimes garbage.
const annotations = (max: number): fc.Arbitrary<StringMap> =>
  fc.uniqueArray(fc.constantFrom(...KEYS), { maxLength: max }).chain((keys) =>
    keys.length === 0 ? fc.constant({}) : fc.tuple(...keys.map((k) => ANNOTATIONS[k]!)).map((vals) => Object.fromEntries(keys.map((k, i) => [k, vals[i]!]))),
  );
const optional = (key: string, a: fc.Arbitrary<string>): fc.Arbitrary<StringMap> => fc.option(a, { nil: undefined }).map((v) => (v === undefined ? {} : { [key]: v }));

const caseArb: fc.Arbitrary<Case> = fc.record({
  install: fc.record({ revision: fc.constantFrom('', '', 'canary'), cni: fc.boolean() }),
  // Weighted towards namespaces Istio serves, so that most cases reach the injector.
  nsLabels: fc.oneof(
    { weight: 4, arbitrary: fc.constant({ 'istio-injection': 'enabled' }) },
    { weight: 2, arbitrary: fc.constantFrom({ 'istio.io/rev': 'default' }, { 'istio.io/rev': 'canary' }) },
    { weight: 2, arbitrary: fc.tuple(optional('istio-injection', fc.constantFrom('enabled', 'disabled', 'Enabled')), optional('istio.io/rev', fc.constantFrom('default', 'canary'))).map(([a, b]) => ({ ...a, ...b })) },
  ),
  podLabels: fc.tuple(optional('sidecar.istio.io/inject', SWITCH), optional('istio.io/rev', fc.constantFrom('default', 'canary'))).map(([a, b]) => ({ ...a, ...b })),
  podAnnotations: annotations(4),
  crEnabled: fc.boolean(),
  crAnnotations: fc.tuple(optional('sidecar.istio.io/inject', fc.constantFrom('true', 'false')), optional('traffic.sidecar.istio.io/excludeOutboundPorts', fc.constantFrom('9017', '5432', '6379,5432')), optional('traffic.sidecar.istio.io/excludeInboundPorts', fc.constantFrom('9021', '8080'))).map((ms) => Object.assign({}, ...ms) as StringMap),
  raft: fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 })),
});

const podOf = (labels: StringMap, annotations: StringMap): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'ac-metadata-0', namespace: 'db', labels, annotations },
  spec: { containers: [{ name: 'antfly', image: 'example/antfly:1', ports: [{ containerPort: 8080 }] }] },
});

/** A revision other than the installed one (or "default" for a plain install) reaches no webhook of this install. */
const revisionOf = (i: Install): string => i.revision || 'default';

const ask = (cases: { id: string; install: Install; ns: StringMap; pod: KubeObject }[]): Answer[] => {
  const input = cases.map((c) => JSON.stringify({ id: c.id, install: c.install, namespace: { name: 'db', labels: c.ns }, pod: c.pod })).join('\n');
  const r = spawnSync(ORACLE, [], { input, maxBuffer: 1 << 28, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`istio-oracle exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Answer);
};

t.test('the oracle is built', async (t) => {
  t.ok(existsSync(ORACLE), `${ORACLE} exists (make differential builds it with test/differential/build.sh)`);
});

if (existsSync(ORACLE)) {
  const cases = fc.sample(caseArb, { seed, numRuns: CASES });
  const raw = cases.map((c, i) => ({ id: `raw-${i}`, install: c.install, ns: c.nsLabels, pod: podOf({ ...antflyLabels(), ...c.podLabels }, c.podAnnotations) }));
  const answers = ask(raw);
  const mismatches: string[] = [];
  const used = new Set<string>();
  const note = (i: number, what: string, detail: string): void => {
    const c = cases[i]!;
    const row = deliberateRows(c, what, answers[i]!);
    if (row) {
      used.add(row);
      return;
    }
    if (mismatches.length < 20) mismatches.push(`case ${i} (${what}): ${detail}\n  ${JSON.stringify(c)}\n  istio: ${JSON.stringify(answers[i])}`);
    else mismatches.push('');
  };

  t.test('the oracle answers every case', async (t) => {
    t.equal(answers.length, cases.length);
    const count = (f: (a: Answer) => boolean): number => answers.filter(f).length;
    t.comment(
      `Istio: ${count((a) => a.reached)} reached the injector, ${count((a) => a.injected)} injected, ${count((a) => a.refusal !== undefined)} refused by the injector, ` +
        `${count((a) => a.apiRefusal !== undefined)} refused by the API server, ${count((a) => a.iptables?.error !== undefined)} failed in istio-cni, ${count((a) => a.iptables?.via === 'none')} injected without capture`,
    );
    const errors = answers.filter((a) => a.error);
    t.same(errors.slice(0, 3), [], 'no oracle errors');
  });

  t.test('would Istio inject: meshguard predicts what Istio does', async (t) => {
    for (const [i, c] of cases.entries()) {
      const a = answers[i]!;
      if (a.error) continue;
      const facts = podFacts(raw[i]!.pod.metadata, raw[i]!.pod.spec);
      const predicted = istio.wouldMesh(facts, { name: 'db', labels: c.nsLabels, annotations: {}, known: true }, DEFAULT_MESH_OPTIONS).value;
      const istioDecides = a.injected || a.refusal !== undefined;
      if (predicted !== istioDecides) note(i, 'inject', `meshguard predicts ${predicted}, Istio ${istioDecides ? 'injects' : 'does not inject'}`);
    }
    t.same(mismatches.filter(Boolean), [], `no disagreement outside the deliberate table (seed ${seed})`);
    mismatches.length = 0;
  });

  t.test('refusals: meshguard errors exactly where Istio or the API server refuses the injected pod', async (t) => {
    for (const [i, c] of cases.entries()) {
      const a = answers[i]!;
      if (a.error || !(a.injected || a.refusal !== undefined)) continue;
      const errors = checkAnnotations(c.podAnnotations, ['metadata', 'annotations'], { where: 'Pod db/ac-metadata-0', switchForm: false }).filter((f) => f.rule === 'MG103' && f.severity === 'error');
      const refused = a.refusal !== undefined || a.apiRefusal !== undefined;
      if ((errors.length > 0) !== refused) note(i, 'refusal', `meshguard ${errors.length > 0 ? `refuses (${errors.map((e) => e.message).join(' | ')})` : 'accepts'}, Istio ${refused ? `refuses (${a.refusal ?? a.apiRefusal})` : 'accepts'}`);
    }
    t.same(mismatches.filter(Boolean), [], `no disagreement outside the deliberate table (seed ${seed})`);
    mismatches.length = 0;
  });

  // With istio-cni, the CNI plugin (doAddRun, NewRedirect) reads the injected pod again with
  // its own rules: it may set up no redirection for the proxy (a switch Go's ParseBool reads
  // as false) or fail the pod's network setup (a value its validators refuse). meshguard names
  // istio-cni in a finding exactly where that happens.
  t.test('istio-cni: meshguard names istio-cni exactly where the CNI plugin captures nothing or fails the pod', async (t) => {
    let checked = 0;
    for (const [i, c] of cases.entries()) {
      const a = answers[i]!;
      if (a.error || !c.install.cni || !a.injected || a.refusal !== undefined || a.apiRefusal !== undefined || !a.iptables) continue;
      checked++;
      const findings = checkAnnotations(c.podAnnotations, ['metadata', 'annotations'], { labels: c.podLabels, where: 'Pod db/ac-metadata-0', switchForm: false });
      const claims = findings.filter((f) => f.message.includes('istio-cni'));
      const cniTrouble = a.iptables.via === 'none' || a.iptables.error !== undefined;
      if ((claims.length > 0) !== cniTrouble)
        note(i, 'cni', `meshguard ${claims.length > 0 ? `names istio-cni (${claims.map((f) => f.message).join(' | ')})` : 'says nothing of istio-cni'}, istio-cni ${a.iptables.error ? `fails: ${a.iptables.error}` : a.iptables.via === 'none' ? 'captures nothing' : 'captures the pod'}`);
    }
    t.ok(checked > 0, `${checked} pods injected under istio-cni checked`);
    t.same(mismatches.filter(Boolean), [], `no disagreement outside the deliberate table (seed ${seed})`);
    mismatches.length = 0;
  });

  // After meshguard's mutation of an enabled cluster's pod, Istio's iptables exclusions hold
  // the consensus ports and every port the pod or the CR listed before.
  t.test('after meshguard inject, Istio excludes the consensus ports and every listed port', async (t) => {
    const mutated: { id: string; install: Install; ns: StringMap; pod: KubeObject }[] = [];
    const idx: number[] = [];
    for (const [i, c] of cases.entries()) {
      if (!c.crEnabled) continue;
      const cr = antflyCluster({ serviceMesh: { enabled: true, annotations: { 'sidecar.istio.io/inject': 'true', ...c.crAnnotations } }, metadataNodes: { metadataRaft: { port: c.raft[0] } }, dataNodes: { raft: { port: c.raft[1] } } });
      const run = runMutate(raw[i]!.pod, view(namespace(c.nsLabels), cr));
      mutated.push({ id: `mut-${i}`, install: c.install, ns: c.nsLabels, pod: run.result });
      idx.push(i);
    }
    const out = ask(mutated);
    let checked = 0;
    for (const [j, a] of out.entries()) {
      const i = idx[j]!;
      const c = cases[i]!;
      if (a.error || !a.injected || !a.iptables || a.iptables.via === 'none' || a.iptables.error) continue;
      checked++;
      const trim = (l: string): string[] => l.split(',').map((x) => x.trim()).filter((x) => x !== '');
      for (const [dir, key, got] of [
        ['inbound', 'traffic.sidecar.istio.io/excludeInboundPorts', a.iptables.excludeInbound],
        ['outbound', 'traffic.sidecar.istio.io/excludeOutboundPorts', a.iptables.excludeOutbound],
      ] as const) {
        const listed = [...trim(c.podAnnotations[key] ?? ''), ...trim(c.crAnnotations[key] ?? '')];
        const want = [...new Set([...listed, String(c.raft[0]), String(c.raft[1])])];
        const have = trim(got);
        const missing = want.filter((p) => !have.includes(p) && !have.some((h) => /^[0-9]+$/.test(h) && /^[0-9]+$/.test(p) && Number(h) === Number(p)));
        if (missing.length > 0) note(i, 'exclusion', `${dir}: ${missing.join(',')} missing from Istio's ${JSON.stringify(got)}`);
      }
    }
    t.ok(checked > 0, `${checked} injected pods checked`);
    t.same(mismatches.filter(Boolean), [], `no disagreement outside the deliberate table (seed ${seed})`);
  });

  t.test('the deliberate differences are the table in docs/rules.md', async (t) => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/rules.md', import.meta.url)), 'utf8');
    const table = doc.slice(doc.indexOf('### Deliberate differences from Istio'));
    for (const row of DELIBERATE) t.ok(table.includes(`| ${row.id} |`), `row ${row.id} is in docs/rules.md`);
    t.comment(`rows used this run: ${[...used].sort().join(', ') || 'none'}`);
  });
  void revisionOf;
}
