import fc from 'fast-check';
import t from 'tap';
import { isQualifiedName, qualifiedNameError } from '../../../policies/values/qualified-name.js';

t.test('valid keys', async (t) => {
  for (const k of ['app', 'sidecar.istio.io/inject', 'traffic.sidecar.istio.io/excludeInboundPorts', 'a', 'A_b.c-9', 'example.com/My.Name_1', `${'a'.repeat(63)}`, `${'a'.repeat(253)}/x`]) {
    t.equal(qualifiedNameError(k), undefined, k);
    t.ok(isQualifiedName(k), k);
  }
});

t.test('invalid keys say what is wrong', async (t) => {
  const bad = (k: string, re: RegExp): void => {
    t.match(qualifiedNameError(k), re, k);
    t.notOk(isQualifiedName(k), k);
  };
  bad('', /the name part is empty/);
  bad('example.com/', /the name part is empty/);
  bad('/inject', /the prefix before "\/" is empty/);
  bad('a/b/c', /contains more than one "\/"/);
  bad('a'.repeat(64), /is 64 characters long; at most 63/);
  bad(`${'a'.repeat(254)}/x`, /prefix is 254 characters long; at most 253/);
  bad('-inject', /must consist of letters, digits, '-', '_' or '\.', and start and end with a letter or digit/);
  bad('inject_', /start and end with a letter or digit/);
  bad('in ject', /name part "in ject"/);
  bad('Sidecar.istio.io/inject', /prefix "Sidecar.istio.io" must be a lowercase DNS subdomain/);
  bad('sidecar..istio.io/inject', /lowercase DNS subdomain/);
  bad('sidecar_istio.io/inject', /lowercase DNS subdomain/);
});

t.test('qualifiedNameError never throws', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string(), (s) => {
        const e = qualifiedNameError(s);
        return e === undefined || e.length > 0;
      }),
    ),
  );
});
