import fc from 'fast-check';
import t from 'tap';
import { parseQuantity, quantityNanos, resourceQuantityError } from '../../../policies/values/quantity.js';

t.test('parseQuantity accepts the Kubernetes grammar', async (t) => {
  for (const q of ['1', '0', '100m', '0.5', '.5', '5.', '128Mi', '1Gi', '2Ki', '1Ei', '10n', '10u', '1k', '1M', '1G', '1T', '1P', '1E', '1e3', '1E-3', '1.5e+2', '+1', '-1']) {
    t.ok(parseQuantity(q).ok, q);
  }
  t.same(parseQuantity('-1.5Gi'), { ok: true, value: { negative: true, number: '1', fraction: '5', suffix: 'Gi' } });
  t.same(parseQuantity('1E'), { ok: true, value: { negative: false, number: '1', fraction: '', suffix: 'E' } }, 'E alone is exa');
  t.same(parseQuantity('1E3'), { ok: true, value: { negative: false, number: '1', fraction: '', suffix: 'E3' } }, 'E with digits is an exponent');
});

// apimachinery's parseQuantityString ends at the leading zeros and lets the numerator and
// the fraction be empty, so these are quantities (zero), as the API server reads them.
t.test('parseQuantity takes sign-only and digit-less values as apimachinery does', async (t) => {
  for (const q of ['-', '+', '.', '-.', '+00', '0.', 'Mi', 'm', '1E+3', '00100m']) t.ok(parseQuantity(q).ok, q);
  t.same(parseQuantity('-'), { ok: true, value: { negative: true, number: '0', fraction: '', suffix: '' } });
  t.equal(resourceQuantityError('-'), undefined, 'minus alone is zero');
  t.equal(resourceQuantityError('.'), undefined);
  t.match(resourceQuantityError('1\u0007'), /control characters/);
  t.match(resourceQuantityError('1\n'), /control characters/);
});

t.test('quantityNanos compares as Kubernetes does', async (t) => {
  const n = (s: string): bigint => {
    const q = parseQuantity(s);
    if (!q.ok) throw new Error(s);
    return quantityNanos(q.value);
  };
  t.equal(n('1'), 1000000000n);
  t.equal(n('100m'), 100000000n);
  t.equal(n('1Ki'), 1024000000000n);
  t.equal(n('1e3'), 1000000000000n);
  t.equal(n('0.1n'), 1n, 'rounded up to 1n');
  t.equal(n('-1.5'), -1500000000n);
  t.ok(n('2') > n('1500m'));
});

t.test('parseQuantity rejects the rest with a hint', async (t) => {
  const bad = (s: string, re: RegExp): void => {
    const r = parseQuantity(s);
    t.equal(r.ok, false, s);
    if (!r.ok) t.match(r.error, re, s);
  };
  bad('', /is not a Kubernetes quantity; write a number with an optional suffix/);
  bad('1e', /not a Kubernetes quantity/);
  bad('1e1.5', /not a Kubernetes quantity/);
  bad('1K', /write k \(1000\) or Ki \(1024\)/);
  bad('128MB', /write M\/G .* or Mi\/Gi/);
  bad('1gb', /or Mi\/Gi/);
  bad('128mi', /binary suffixes are capitalised/);
  bad('100 m', /remove the spaces/);
  bad('1.2.3', /e\.g\. "100m"/);
});

t.test('resourceQuantityError refuses negative amounts', async (t) => {
  t.equal(resourceQuantityError('100m'), undefined);
  t.equal(resourceQuantityError('-0'), undefined, 'minus zero is zero');
  t.match(resourceQuantityError('-100m'), /is negative: the mesh copies it into the proxy container's resources, and the API server then refuses the pod/);
  t.match(resourceQuantityError('-.5'), /is negative/);
  t.match(resourceQuantityError('lots'), /not a Kubernetes quantity/);
});

t.test('parseQuantity never throws', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = parseQuantity(s);
        return r.ok || r.error.length > 0;
      }),
    ),
  );
});
