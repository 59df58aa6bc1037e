// A cluster view the server owns: it has a lifecycle (informers start and stop), a sync
// state that gates readiness, and sizes for the metrics. The policies only see ClusterView.
import type { PolicyContext } from '../policies/admission.js';
import type { ClusterView } from '../policies/cluster-view.js';

export interface ViewStatus {
  /** Objects held, by resource (e.g. "namespaces", "pods", "antflyclusters.antfly.io"). */
  objects: Record<string, number>;
  /** Initial list done, by resource. */
  synced: Record<string, boolean>;
  /** Resources whose CRD is not installed (counted as synced and empty). */
  missing: string[];
}

export interface ManagedClusterView extends ClusterView {
  /** True once every resource has completed its initial list. */
  readonly synced: boolean;
  sizes(): Record<string, number>;
  status(): ViewStatus;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * The object index of the cross-object rules (analysis.admissionWarnings), once it holds
   * the analysed kinds; undefined before they have synced, or when the view does not
   * hold them (the option is off).
   */
  analysis?(): PolicyContext['analysis'];
}
