// The committed validators must be what scripts/compile-schemas.ts makes of schemas.ts
// today; generating also checks both schemas against the draft-07 meta-schema (ajv strict).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { generate, OUTPUT } from '../../../scripts/compile-schemas.js';
import { annotations, observabilityPlatform } from '../../../policies/validation/compiled-schemas.js';

t.test('policies/validation/compiled-schemas.ts is up to date (run `make schemas` if not)', async (t) => {
  t.equal(readFileSync(OUTPUT, 'utf8'), generate());
});

t.test('the compiled validators load without ajv and answer', async (t) => {
  t.equal(annotations({ enabled: true, annotations: { a: 'b' } }), true);
  t.equal(annotations({ enabled: 'yes' }), false);
  t.equal(observabilityPlatform({ type: 'istio', trafficManagement: { retry: { perTryTimeout: '2s', retryOn: '5xx,reset' } } }), true);
  t.equal(observabilityPlatform({ trafficManagement: { retry: { perTryTimeout: 'two seconds' } } }), false);
  t.equal(observabilityPlatform({ multiCluster: { remoteClusters: [{ name: 'b', endpoint: 'http://b' }] } }), false);
  t.equal(observabilityPlatform({ multiCluster: { remoteClusters: [{ name: '', endpoint: 'https://b' }] } }), false);
});
