// The deliberate differences between meshguard and Istio, one entry per row of the table
// "Deliberate differences from Istio" in docs/rules.md (MG103; source policies/rules/docs/MG103.md). A disagreement the differential tier
// finds must match one of these predicates, or the tier fails.
import type { StringMap } from '../../policies/k8s.js';

interface CaseView {
  install: { revision: string; cni: boolean };
  nsLabels: StringMap;
  podLabels: StringMap;
  podAnnotations: StringMap;
}

export interface Deliberate {
  id: string;
  /** Which comparison the row excuses: 'inject', 'refusal' or 'exclusion'. */
  what: string;
  matches: (c: CaseView, answer: unknown) => boolean;
}

const served = (c: CaseView): string => c.install.revision || 'default';

export const DELIBERATE: readonly Deliberate[] = [
  {
    // meshguard sees no webhook configurations offline: it takes every istio.io/rev label to
    // name an installed revision, and istio-injection=enabled / sidecar.istio.io/inject=true to
    // be served by a default-revision install.
    id: 'D1',
    what: 'inject',
    matches: (c) =>
      (c.nsLabels['istio.io/rev'] !== undefined && c.nsLabels['istio.io/rev'] !== served(c)) ||
      (c.podLabels['istio.io/rev'] !== undefined && c.podLabels['istio.io/rev'] !== served(c)) ||
      (c.install.revision !== '' && (c.nsLabels['istio-injection'] !== undefined || c.podLabels['sidecar.istio.io/inject'] === 'true')),
  },
];

/** The id of the row that excuses this disagreement, or undefined. */
export const deliberateRows = (c: CaseView, what: string, answer: unknown): string | undefined =>
  DELIBERATE.find((d) => d.what === what && d.matches(c, answer))?.id;
