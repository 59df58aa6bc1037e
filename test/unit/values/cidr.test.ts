import fc from 'fast-check';
import t from 'tap';
import { cidrListError, parseCidr, parseCidrList } from '../../../policies/values/cidr.js';

t.test('parseCidr accepts IPv4 and IPv6 prefixes', async (t) => {
  t.same(parseCidr('10.0.0.0/8'), { ok: true, value: { address: '10.0.0.0', bits: 8, family: 4 } });
  t.same(parseCidr('10.1.2.3/32'), { ok: true, value: { address: '10.1.2.3', bits: 32, family: 4 } }, 'host bits may be set, as in Go');
  t.same(parseCidr('0.0.0.0/0'), { ok: true, value: { address: '0.0.0.0', bits: 0, family: 4 } });
  t.same(parseCidr('fd00::/8'), { ok: true, value: { address: 'fd00::', bits: 8, family: 6 } });
  t.same(parseCidr('::ffff:10.0.0.1/128'), { ok: true, value: { address: '::ffff:10.0.0.1', bits: 128, family: 6 } });
});

t.test('parseCidr rejects what Go netip.ParsePrefix rejects', async (t) => {
  const bad = (s: string, re: RegExp): void => {
    const r = parseCidr(s);
    t.equal(r.ok, false, s);
    if (!r.ok) t.match(r.error, re, s);
  };
  bad('10.0.0.0', /has no prefix length; write address\/bits, e.g. "10.0.0.0\/32"/);
  bad('', /has no prefix length/);
  bad('10.0.0.0/33', /prefix length "33" .* must be a whole number 0–32/);
  bad('fd00::/129', /0–128/);
  bad('10.0.0.0/08', /without leading zeros/);
  bad('10.0.0.0/+8', /prefix length/);
  bad('10.0.0.0/', /prefix length ""/);
  bad('010.0.0.0/8', /"010.0.0.0" .* is not an IPv4 or IPv6 address/);
  bad('256.0.0.0/8', /not an IPv4 or IPv6 address/);
  bad('fe80::1%eth0/64', /not an IPv4 or IPv6 address/);
  bad('example.com/8', /not an IPv4 or IPv6 address/);
});

t.test('parseCidrList', async (t) => {
  t.same(parseCidrList(''), { ok: true, value: { all: false, cidrs: [] } });
  const two = parseCidrList('10.0.0.0/8,fd00::/8');
  t.same(two.ok && two.value.cidrs.map((c) => c.family), [4, 6]);
  t.same(parseCidrList('*', { allowStar: true }), { ok: true, value: { all: true, cidrs: [] } });
  t.match(cidrListError('*'), /"\*" is not accepted here/);
  t.match(cidrListError('10.0.0.0/8,*', { allowStar: true }), /element 2: "\*" has no prefix length/);
  t.match(cidrListError('10.0.0.0/8, 192.168.0.0/16'), /element 2: .*\(spaces are not allowed around the commas\); expected comma-separated CIDR prefixes/);
  t.match(cidrListError('10.0.0.0/8,,'), /element 2: "" has no prefix length/);
  t.equal(cidrListError('10.0.0.0/8'), undefined);
});

t.test('parsers never throw on arbitrary strings', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string(), fc.boolean(), (s, allowStar) => {
        const r = parseCidrList(s, { allowStar });
        const one = parseCidr(s);
        return (r.ok || r.error.length > 0) && (one.ok || one.error.length > 0);
      }),
    ),
  );
});
