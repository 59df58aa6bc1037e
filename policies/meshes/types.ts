// The contract each mesh module fulfils. A mesh module states that mesh's own rules as
// the mesh's injector applies them; nothing else in meshguard knows mesh specifics.
import type { NamespaceInfo, PodFacts, StringMap } from '../k8s.js';

export type MeshName = 'istio' | 'istio-ambient' | 'linkerd' | 'consul' | 'kuma';

export const MESH_NAMES: readonly MeshName[] = ['istio', 'istio-ambient', 'linkerd', 'consul', 'kuma'];

/** A yes/no with the reason, the way Linkerd's injector reports why it skipped a pod. */
export interface Decision {
  value: boolean;
  reason: string;
}

export interface MeshOptions {
  /** consul-k8s `connectInject.default`: inject pods that carry no connect-inject annotation. */
  consulDefaultInject: boolean;
}

export const DEFAULT_MESH_OPTIONS: MeshOptions = { consulDefaultInject: false };

/** Annotations that keep ports away from the proxy (mutation rule 2). */
export interface PortExclusion {
  inbound: string;
  outbound: string;
  /**
   * The list the mesh uses for `key` when the pod has no such annotation (from the
   * namespace or the mesh's install defaults). Writing the annotation replaces that list,
   * so the merge must start from it or the pod would lose those ports.
   */
  startValue?: (key: string, ns: NamespaceInfo) => string | undefined;
  /** Whether the mesh accepts `a-b` ranges in these lists. */
  ranges: boolean;
  /** The mesh reads elements as written, untrimmed (see MergeOptions.asWritten). */
  asWritten?: boolean;
}

/** What mutation rule 4 adds when a disabled cluster's pod would otherwise be meshed. */
export interface OptOut {
  labels?: StringMap;
  annotations?: StringMap;
}

export interface MeshRules {
  readonly name: MeshName;
  /** For messages: "Istio", "Istio ambient", "Linkerd", "Consul", "Kuma". */
  readonly title: string;
  /** True for annotation keys of this mesh (mesh detection, MG104). istio-ambient owns none. */
  ownsAnnotationKey(key: string): boolean;
  /** The namespace says pods here are meshed by this mesh (fallback detection). */
  selectedByNamespace(ns: NamespaceInfo): boolean;
  /** Prediction: would this pod / template be meshed when created in `ns`? */
  wouldMesh(pod: PodFacts, ns: NamespaceInfo, options: MeshOptions): Decision;
  /**
   * False only where wouldMesh says no: what must hold for the mesh to take the pod at all
   * (its proxy, or a switch that can select it). meshedBy asks it first, which spares the
   * reason of every "no" it would drop (a property test holds false to imply no).
   */
  mayMesh(pod: PodFacts, ns: NamespaceInfo, options: MeshOptions): boolean;
  /** Live pods (after every mutating webhook ran): is it meshed now? Proxy for sidecar meshes, enrolment for ambient. */
  isMeshed(pod: PodFacts, ns: NamespaceInfo): Decision;
  /**
   * True when isMeshed is yes exactly when detectProxies finds this mesh's proxy (a sidecar
   * mesh): a live pod whose proxies were detected need not be asked again, which spares a
   * reason string per mesh per pod (a property test holds the two equal).
   */
  readonly meshedByProxyOnly?: boolean;
  /** Value rule for one annotation of this mesh: an error message, or undefined when the mesh would accept it. */
  checkAnnotation(key: string, value: string): string | undefined;
  /**
   * A value the mesh accepts but ignores or passes on unchecked: a warning message, or
   * undefined. `labels` are the owner's labels where it has any (a pod or pod template),
   * for meshes that read a switch from either form.
   */
  annotationWarning?(key: string, value: string, labels?: StringMap): string | undefined;
  /**
   * Rules across annotations (e.g. a request above its limit): errors per key. Reads only
   * keys this mesh owns (ownsAnnotationKey): checkAnnotations asks it only of annotations
   * that hold one (a property test holds it to [] for any map without one).
   */
  checkAnnotationSet?(annotations: StringMap): { key: string; message: string }[];
  /** Labels of this mesh whose value the mesh ignores: a warning per key. */
  labelWarnings?(labels: StringMap): { key: string; message: string }[];
  /** Labels of this mesh whose value makes the mesh refuse the pod: an error per key. */
  labelErrors?(labels: StringMap): { key: string; message: string }[];
  /** undefined where the mesh cannot exclude ports (ambient). */
  readonly portExclusion?: PortExclusion;
  readonly optOut: OptOut;
}
