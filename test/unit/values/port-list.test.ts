import fc from 'fast-check';
import t from 'tap';
import { describePortList, mergePorts, parsePortList, portListError } from '../../../policies/values/port-list.js';
import { goTrimSpace } from '../../../policies/values/go-strings.js';

const ISTIO = { ranges: false };
const LINKERD = { ranges: true };
const KUMA = { ranges: false, min: 1 };

t.test('parsePortList reads valid lists', async (t) => {
  const r = parsePortList('9017, 9021 ,15020', ISTIO);
  t.ok(r.ok);
  if (r.ok) {
    t.same(r.value.spans.map((s) => [s.from, s.to, s.text]), [[9017, 9017, '9017'], [9021, 9021, '9021'], [15020, 15020, '15020']]);
    t.equal(r.value.all, false);
  }
  t.same(parsePortList('', ISTIO), { ok: true, value: { all: false, spans: [] } }, 'empty value is an empty list');
  t.same(parsePortList('   ', ISTIO), { ok: true, value: { all: false, spans: [] } }, 'blank value is an empty list');
  t.same(parsePortList('0,65535', ISTIO).ok, true, 'bounds 0 and 65535 accepted by default');
  t.same(parsePortList('0080', ISTIO), { ok: true, value: { all: false, spans: [{ from: 80, to: 80, text: '0080' }] } }, 'leading zeros as Go ParseUint');
  const ranged = parsePortList('4567,5000-5010,7-7', LINKERD);
  t.same(ranged.ok && ranged.value.spans.map((s) => [s.from, s.to]), [[4567, 4567], [5000, 5010], [7, 7]]);
});

t.test('star is a whole value only where allowed', async (t) => {
  t.same(parsePortList('*', { ranges: false, allowStar: true }), { ok: true, value: { all: true, spans: [] } });
  // Istio compares the untrimmed value with "*" (ValidateIncludeInboundPorts).
  t.match(portListError(' * ', { ranges: false, allowStar: true }), /"\*" must be the whole value/, 'spaces around * are refused');
  t.match(portListError('*', ISTIO), /element 1 \("\*"\) is "\*", which is not accepted here/);
  t.match(portListError('80,*', { ranges: false, allowStar: true }), /"\*" must be the whole value/);
});

t.test('errors name the bad element and the expected form', async (t) => {
  t.match(portListError('9017,,9021', ISTIO), /element 2 \(""\) is empty; remove the extra comma/);
  t.match(portListError('9017,', ISTIO), /element 2 \(""\) is empty/);
  t.match(portListError('9017,65536', ISTIO), /element 2 \("65536"\) is outside the port range 0–65535/);
  t.match(portListError('9000-9100', ISTIO), /element 1 \("9000-9100"\) is a range, but ranges are not accepted here; list each port separately/);
  t.match(portListError('80,http', ISTIO), /element 2 \("http"\) is not a port number;/);
  t.match(portListError('80,http', LINKERD), /element 2 \("http"\) is not a port number or a range a-b/);
  t.match(portListError('-5', LINKERD), /not a port number or a range/);
  t.match(portListError('+80', ISTIO), /not a port number/);
  t.match(portListError('9100-9000', LINKERD), /runs backwards; write the lower port first: "9000-9100"/);
  t.match(portListError('1-70000', LINKERD), /reaches outside the port range 0–65535/);
  t.match(portListError('0', KUMA), /outside the port range 1–65535/);
  t.match(portListError('80,http', ISTIO), /expected comma-separated port numbers 0–65535 \(no ranges\)/);
  t.equal(portListError('80,443', ISTIO), undefined);
});

t.test('describePortList states the form', async (t) => {
  t.equal(describePortList(LINKERD), 'comma-separated port numbers 0–65535 (ranges like 4000-4100 allowed), e.g. "9017,9021"');
  t.equal(describePortList({ ranges: false, min: 1, allowStar: true }), 'comma-separated port numbers 1–65535 (no ranges, or "*" for all ports), e.g. "9017,9021"');
});

t.test('mergePorts merges as a set, keeping the existing text', async (t) => {
  t.equal(mergePorts(undefined, [9017, 9021], { ranges: false }), '9017,9021', 'absent, no default');
  t.equal(mergePorts('', [9017], { ranges: false }), '9017', 'empty existing');
  t.equal(mergePorts('15020, 9017', [9017, 9021], { ranges: false }), '15020, 9017,9021', 'existing text and spacing kept, only new port appended');
  t.equal(mergePorts('9021,9017', [9017, 9021], { ranges: false }), '9021,9017', 'nothing to add returns the input unchanged');
  t.equal(mergePorts('80', [9017, 9017], { ranges: false }), '80,9017', 'duplicates in add are added once');
  t.equal(mergePorts('25', [9017], { ranges: true }), '25,9017');
  t.equal(mergePorts('5432,', [9017], { ranges: false }), '5432,9017', 'a trailing comma gets no second one');
  t.equal(mergePorts('9000-9100', [9017, 9021, 9200], { ranges: true }), '9000-9100,9200', 'a range covers the consensus ports when ranges are honoured');
  t.equal(mergePorts('9000-9100', [9017], { ranges: false }), '9000-9100,9017', 'a range covers nothing where the mesh reads no ranges');
  t.equal(mergePorts('abc', [9017], { ranges: false }), 'abc,9017', 'an unparsable element is kept verbatim');
  t.throws(() => mergePorts('', [70000], { ranges: false }), RangeError);
  t.throws(() => mergePorts('', [1.5], { ranges: false }), RangeError);
  t.throws(() => mergePorts('', [-1], { ranges: false }), RangeError);
});

const covered = (e: string, p: number, ranges: boolean): boolean => {
  if (/^[0-9]+$/.test(e)) return Number(e) === p;
  const m = ranges ? /^([0-9]+)-([0-9]+)$/.exec(e) : null;
  return m !== null && Number(m[1]) <= p && p <= Number(m[2]);
};
const port = fc.integer({ min: 0, max: 65535 });
const element = fc.oneof(
  port.map(String),
  fc.tuple(port, port).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
  fc.string({ maxLength: 6 }).filter((s) => !s.includes(',')),
);
const existing = fc.option(fc.array(element, { minLength: 1, maxLength: 6 }).map((els) => els.join(',')), { nil: undefined });
const opts = fc.record({ ranges: fc.boolean() });
const other = fc.option(fc.array(element, { maxLength: 4 }).map((els) => els.join(',')), { nil: undefined });
const adds = fc.array(port, { maxLength: 5 });

t.test('mergePorts merges another list as a set (the CR value into the template value)', async (t) => {
  t.equal(mergePorts('5432', [9017, 9021], { ranges: false }, '9017'), '5432,9017,9021', 'template 5432 + CR 9017: both kept');
  t.equal(mergePorts(undefined, [9017], { ranges: false }, '9017,9021'), '9017,9021', 'absent: the CR list');
  t.equal(mergePorts('9017, 9021', [], { ranges: false }, ' 9021 ,5432'), '9017, 9021,5432', 'CR elements already listed are not repeated');
  t.equal(mergePorts('9000-9100', [], { ranges: true }, '9050,9000-9100,9200-9300'), '9000-9100,9200-9300', 'ranges honoured');
  t.equal(mergePorts('80', [], { ranges: false }, ',,'), '80', 'blank elements of the other list are dropped');
});

t.test('mergePorts properties', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(existing, adds, opts, other, (ex, add, o, cr) => {
      const once = mergePorts(ex, add, o, cr);
      if (mergePorts(once, add, o, cr) !== once) return false; // idempotent
      // Every element of the other list is then listed (or, a single port, covered).
      for (const e of (cr ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '')) {
        if (!once.split(',').some((x) => x.trim() === e || (/^[0-9]+$/.test(e) && covered(x.trim(), Number(e), o.ranges)))) return false;
      }
      // Every added port is then covered: listed alone, or inside a range the mesh reads.
      const parsed = once.split(',').map((s) => s.trim());
      for (const p of add) if (!parsed.some((e) => covered(e, p, o.ranges))) return false;
      // The existing text is kept as a prefix: no element dropped or reordered.
      const base = ex ?? '';
      if (base.trim() !== '' && !once.startsWith(base)) return false;
      return true;
    }),
    ),
  );
});

t.test('parsePortList never throws', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string(), fc.boolean(), fc.boolean(), (s, ranges, allowStar) => {
        const r = parsePortList(s, { ranges, allowStar });
        return r.ok || (typeof r.error === 'string' && r.error.length > 0);
      }),
    ),
  );
});

t.test('mergePorts answers as its simple definition (closures and filters, as it was written first)', async (t) => {
  const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  const simple = (existing: string | undefined, add: readonly number[], o: { ranges: boolean; asWritten?: boolean }, addList?: string): string => {
    const coversIt = (element: string, p: number): boolean => {
      const text = o.asWritten ? element : goTrimSpace(element);
      if (/^[0-9]+$/.test(text)) return Number(text) === p;
      const range = o.ranges ? /^([0-9]+)-([0-9]+)$/.exec(text) : null;
      return range !== null && Number(range[1]) <= p && p <= Number(range[2]);
    };
    const elementsOf = (list: string): string[] => list.split(',').filter((e) => goTrimSpace(e) !== '');
    const base = existing ?? '';
    const elements = elementsOf(base);
    const as = (e: string): string => (o.asWritten ? e : goTrimSpace(e));
    const has = (text: string): boolean => elements.some((e) => as(e) === text) || (/^[0-9]+$/.test(text) && elements.some((e) => coversIt(e, Number(text))));
    const missing: string[] = [];
    const append = (text: string): void => {
      if (has(text) || missing.includes(text)) return;
      missing.push(text);
      elements.push(text);
    };
    for (const e of elementsOf(addList ?? '')) append(goTrimSpace(e));
    for (const p of add) append(String(p));
    if (missing.length === 0) return base;
    if (goTrimSpace(base) === '') return missing.join(',');
    return `${base}${goTrimSpace(base).endsWith(',') ? '' : ','}${missing.join(',')}`;
  };
  // Few distinct ports, so that lists and additions meet often.
  const few = fc.constantFrom(80, 9017, 9021, 9100);
  const el = fc.oneof(element, few.map(String), fc.tuple(few, few).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`));
  const spaced = fc.tuple(fc.constantFrom('', ' ', '\t', '\u00a0', '\u3000'), el, fc.constantFrom('', ' ', '\u0085')).map(([a, e, b]) => `${a}${e}${b}`);
  const list = fc.option(fc.array(fc.oneof(el, spaced, fc.constant('')), { maxLength: 6 }).map((els) => els.join(',')), { nil: undefined });
  const options = fc.record({ ranges: fc.boolean(), asWritten: fc.boolean() }, { requiredKeys: ['ranges'] });
  fc.assert(
    fc.property(list, fc.array(fc.oneof(few, port), { maxLength: 4 }), options, list, (ex, add, o, cr) => mergePorts(ex, add, o, cr) === simple(ex, add, o, cr)),
    { numRuns: 2000, seed: SEED },
  );
});
