import fc from 'fast-check';
import t from 'tap';
import { parseQuantity, resourceQuantityError } from '../../../policies/values/quantity.js';

t.test('parseQuantity accepts the Kubernetes grammar', async (t) => {
  for (const q of ['1', '0', '100m', '0.5', '.5', '5.', '128Mi', '1Gi', '2Ki', '1Ei', '10n', '10u', '1k', '1M', '1G', '1T', '1P', '1E', '1e3', '1E-3', '1.5e+2', '+1', '-1']) {
    t.ok(parseQuantity(q).ok, q);
  }
  t.same(parseQuantity('-1.5Gi'), { ok: true, value: { negative: true, number: '1.5', suffix: 'Gi' } });
  t.same(parseQuantity('1E'), { ok: true, value: { negative: false, number: '1', suffix: 'E' } }, 'E alone is exa');
  t.same(parseQuantity('1E3'), { ok: true, value: { negative: false, number: '1', suffix: 'E3' } }, 'E with digits is an exponent');
});

t.test('parseQuantity rejects the rest with a hint', async (t) => {
  const bad = (s: string, re: RegExp): void => {
    const r = parseQuantity(s);
    t.equal(r.ok, false, s);
    if (!r.ok) t.match(r.error, re, s);
  };
  bad('', /is not a Kubernetes quantity; write a number with an optional suffix/);
  bad('Mi', /not a Kubernetes quantity/);
  bad('.', /not a Kubernetes quantity/);
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
  t.match(resourceQuantityError('-100m'), /is negative; container resources must be zero or more/);
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
