// The live cluster view: @kubernetes/client-node informers (list + watch) over exactly what
// the policies read, so admission answers from memory and never calls the API server.
//
// Watched: all Namespaces; the cluster CRs of each enabled profile; and only the target
// pods, one label-selected informer per profile (`podLabels` plus existence of
// `clusterNameLabel`), since one selector cannot express "profile A or profile B".
//
// Memory stays proportional to the target objects: every object is stripped to the
// fields the policies read before it stays in a cache. ListWatch has no transform hook
// (client-go's SetTransform), so list results are stripped before the cache sees them, and
// watch events are stripped in place in the first add/update callback; the cache holds
// that same object.
//
// The target pods are also kept by profile, namespace and cluster, with each cluster's
// injection count maintained on the informer events (target-pods.ts): a review's "N/M of
// its pods are meshed" and the syncer's status read that count instead of judging every
// pod of the namespace each time.
//
// A cluster CRD that is not installed (the list answers 404) is reported once, counted as
// synced and empty, and retried in the background. An operator enables both built-in
// profiles by default but may run only one of the operators; an unready webhook would
// block every pod of the namespaces it selects, while an empty resource only means pods
// of that kind get MG204 ("cluster resource not found") warnings until the CRD appears.
import type { Informer, KubeConfig, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
// informer.js itself, not the package root: the root loads every generated API group and model.
import { makeInformer } from '@kubernetes/client-node/dist/informer.js';
import type { Logger } from 'pino';
import type { PolicyContext } from '../policies/admission.js';
import { JudgementMemo } from '../policies/judgement-memo.js';
import { labelsMatch, type ClusterRef, type ClusterView } from '../policies/cluster-view.js';
import { INDEX_KINDS, type IndexKind } from '../policies/index/kinds.js';
import type { ObjectIndex } from '../policies/index/object-index.js';
import { selectorMatches } from '../policies/index/selectors.js';
import { stripCluster, stripMeta, stripNamespace, stripPod } from '../policies/index/strip.js';
import type { Container, KubeObject, Namespace, ObjectMeta, Pod, StringMap } from '../policies/k8s.js';
import type { InjectionCount } from '../policies/mesh-state.js';
import type { MeshName } from '../policies/meshes/types.js';
import type { TargetProfile } from '../policies/targets/profile.js';
import { analysisResources, indexResources, type ResourceSpec } from './analysis-kinds.js';
import { listPath, statusCodeOf } from './kube-request.js';
import type { ManagedClusterView, ViewStatus } from './managed-view.js';
import { SharedValues } from './shared-values.js';
import { TargetPodIndex } from './target-pods.js';

export type ChangeEvent = 'add' | 'update' | 'delete';
export type ChangeListener = (event: ChangeEvent, resource: string, obj: KubeObject) => void;

export interface InformerViewOptions {
  kubeConfig: KubeConfig;
  profiles: readonly TargetProfile[];
  logger: Logger;
  /** First retry delay after a failed list/watch; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
  /** How often a missing CRD is looked for again. */
  missingCrdRetryMs?: number;
  /**
   * analysis.admissionWarnings: also watch the kinds the cross-object rules read (Services,
   * NetworkPolicies, PeerAuthentications, webhook configurations) and every pod, not only
   * the target pods; the view is then an ObjectIndex as well.
   */
  analysis?: boolean;
  /**
   * The status syncer's PolicyReports: every kind of the object index (the analysed kinds
   * plus the workloads and the monitors) and every pod. A kind that is absent (404) or not
   * permitted (403) is held as empty; a forbidden one makes the index incomplete.
   */
  index?: boolean;
}

// --- stripping: keep what the policies (and the status syncer) read (policies/index/strip.ts) ---


/**
 * Replaces an object's contents in place (the informer's cache holds this very object).
 * Only the keys the stripped object lacks are deleted: deleting a property turns a V8
 * object into a hash table, and deleting every key, as this did, made each cached pod
 * ~400 B larger (1,185 against 778 B of heap per stripped pod; a pod keeps all its
 * top-level keys, a list item is stripped a second time here).
 */
export const replaceContents = (target: Record<string, unknown>, source: Record<string, unknown>): void => {
  for (const k of Object.keys(target)) if (!Object.hasOwn(source, k)) delete target[k];
  Object.assign(target, source);
};

/**
 * stripPod for a cache: the pods of one workload share one (frozen) stripped spec
 * (shared-values.ts), which the policies read as they read any other.
 */
export const stripPodSharing = (shared: SharedValues<NonNullable<Pod['spec']>>) => (o: KubeObject): Pod => {
  const pod = stripPod(o as Pod);
  pod.spec = shared.share(pod.spec!);
  return pod;
};

// --- one informer per resource ---

/** Objects per list page. */
export const LIST_PAGE_SIZE = 500;

/** The continue token of a list page: more follows when it is set. */
const continueOf = (list: Awaited<ReturnType<typeof listPath>>): string | undefined => {
  const token = (list.metadata as { continue?: unknown } | undefined)?.continue;
  return typeof token === 'string' && token !== '' ? token : undefined;
};

class Resource {
  readonly informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  synced = false;
  missing = false;
  /** Held as empty because listing it is not permitted (skippable kinds only). */
  forbidden = false;
  private retryDelay: number;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private errorsLogged = 0;

  constructor(
    readonly spec: ResourceSpec,
    private readonly kc: KubeConfig,
    private readonly opts: Required<Omit<InformerViewOptions, 'kubeConfig' | 'profiles' | 'analysis' | 'index'>>,
    private readonly emit: ChangeListener,
  ) {
    this.retryDelay = opts.retryMs;
    const list = async () => {
      // Page by page, each stripped before the next is asked for: a list of 10,000 pods
      // as the API server sends them is tens of MB parsed at once (client-go's reflector
      // pages by 500 too). Every page is of the first page's snapshot.
      const items: KubernetesObject[] = [];
      let result = await listPath(kc, spec.path, spec.labelSelector, { limit: LIST_PAGE_SIZE });
      for (;;) {
        for (const o of result.items ?? []) items.push(spec.strip(o as KubeObject) as KubernetesObject);
        const next = continueOf(result);
        if (!next) break;
        result = await listPath(kc, spec.path, spec.labelSelector, { limit: LIST_PAGE_SIZE, continue: next });
      }
      result.items = items;
      // ListWatch fills its cache in the continuation right after this promise settles;
      // a macrotask later the cache holds the list.
      setImmediate(() => this.listed());
      return result;
    };
    this.informer = makeInformer<KubernetesObject>(kc, spec.path, list, spec.labelSelector);
    const onObject = (event: 'add' | 'update') => (obj: KubernetesObject) => {
      replaceContents(obj as Record<string, unknown>, spec.strip(obj as KubeObject) as Record<string, unknown>);
      this.emit(event, spec.name, obj as KubeObject);
    };
    this.informer.on('add', onObject('add'));
    this.informer.on('update', onObject('update'));
    this.informer.on('delete', (obj) => this.emit('delete', spec.name, obj as KubeObject));
    this.informer.on('error', (err) => this.failed(err));
  }

  async start(): Promise<void> {
    this.stopped = false;
    // The informer reports list/watch failures through its error callback.
    void this.informer.start().catch((err) => this.failed(err));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.informer.stop();
  }

  private listed(): void {
    if (this.missing) this.opts.logger.info({ resource: this.spec.name }, 'custom resource definition found; watching it');
    this.missing = false;
    this.forbidden = false;
    this.synced = true;
    this.retryDelay = this.opts.retryMs;
    this.errorsLogged = 0;
  }

  private failed(err: unknown): void {
    if (this.stopped) return;
    const code = statusCodeOf(err);
    if ((this.spec.optional && code === 404) || (this.spec.skippable && (code === 404 || code === 403))) {
      if (!this.missing) {
        this.opts.logger.warn(
          { resource: this.spec.name, code, retryInSeconds: this.opts.missingCrdRetryMs / 1000 },
          code === 403
            ? 'not permitted to list this resource (RBAC); the rules reading it are skipped until it is'
            : 'custom resource definition not installed; treating it as empty until it appears',
        );
      }
      this.missing = true;
      this.forbidden = code === 403;
      this.synced = true;
      this.retry(this.opts.missingCrdRetryMs);
      return;
    }
    // Log the first failures of a streak, then every tenth, so an API server outage does not flood the log.
    if (this.errorsLogged < 3 || this.errorsLogged % 10 === 0) {
      this.opts.logger.warn(
        { resource: this.spec.name, code, err: (err as Error)?.message ?? String(err), retryInMs: this.retryDelay },
        'list/watch failed; retrying',
      );
    }
    this.errorsLogged++;
    this.retry(this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, this.opts.maxRetryMs);
  }

  private retry(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (!this.stopped) void this.informer.start().catch((e) => this.failed(e));
    }, ms);
    this.timer.unref();
  }

  size(): number {
    return this.missing ? 0 : this.informer.list().length;
  }
}

const clusterKey = (ref: ClusterRef) => `${ref.apiVersion}\u0000${ref.kind}`;

/** `a=b,c=d,label` : the profile's pod labels plus existence of its cluster-name label. */
export const podSelector = (p: TargetProfile): string =>
  [...Object.entries(p.podLabels).map(([k, v]) => `${k}=${v}`), p.clusterNameLabel].join(',');

export class InformerClusterView implements ClusterView, ManagedClusterView, ObjectIndex {
  private readonly namespaces: Resource;
  private readonly clusters = new Map<string, Resource>();
  private readonly pods: Resource[] = [];
  /** The analysed kinds (analysis on only); they never hold readiness back: see `synced`. */
  private readonly analysed = new Map<IndexKind, Resource>();
  private readonly listeners = new Set<ChangeListener>();
  /** The target pods of each profile by cluster, with their injection counts: by podSelector. */
  private readonly targetPods = new Map<string, TargetPodIndex>();
  /** Which of those indexes a pod resource feeds: its own profile's (by selector), or every one (all pods). */
  private readonly feeds = new Map<string, TargetPodIndex[]>();
  /** The stripped pod specs the cached pods share. */
  private readonly podSpecs = new SharedValues<NonNullable<Pod['spec']>>();
  private memoStore: JudgementMemo | undefined;

  /**
   * What every review of a cluster's pods asks again (its CR's desired mesh, the merged
   * port lists, the annotation verdicts: policies/judgement-memo.ts), as check's and the
   * state files' views keep it. Its CR and Namespace entries are keyed by the cached
   * object itself, which holds: client-node's ListWatch puts each watch event's object in
   * the cache in place of the old one (a new key), and replaceContents only strips that new
   * object before anyone reads it. The string tables are bounded (MAX_ENTRIES).
   */
  get memo(): JudgementMemo {
    return (this.memoStore ??= new JudgementMemo());
  }

  constructor(opts: InformerViewOptions) {
    const kc = opts.kubeConfig;
    const settings = {
      logger: opts.logger,
      retryMs: opts.retryMs ?? 1000,
      maxRetryMs: opts.maxRetryMs ?? 30_000,
      missingCrdRetryMs: opts.missingCrdRetryMs ?? 30_000,
    };
    const emit: ChangeListener = (event, resource, obj) => {
      this.track(event, resource, obj);
      for (const l of this.listeners) {
        try {
          l(event, resource, obj);
        } catch (err) {
          opts.logger.error({ err, resource }, 'cluster view change listener failed');
        }
      }
    };
    this.namespaces = new Resource(
      {
        name: 'namespaces',
        path: '/api/v1/namespaces',
        strip: (o) => stripNamespace(o),
        optional: false,
      },
      kc,
      settings,
      emit,
    );

    for (const p of opts.profiles) {
      const ref = p.cluster;
      const key = clusterKey(ref);
      if (!this.clusters.has(key)) {
        const [group, version] = ref.apiVersion.split('/') as [string, string];
        this.clusters.set(
          key,
          new Resource(
            {
              name: `${ref.plural}.${group}`,
              path: `/apis/${group}/${version}/${ref.plural}`,
              strip: stripCluster(ref),
              optional: true,
            },
            kc,
            settings,
            emit,
          ),
        );
      }
      const labelSelector = podSelector(p);
      if (!this.targetPods.has(labelSelector)) this.targetPods.set(labelSelector, new TargetPodIndex(p, (name) => this.getNamespace(name)));
      if (!opts.analysis && !opts.index && !this.pods.some((r) => r.spec.labelSelector === labelSelector)) {
        this.pods.push(
          new Resource(
            {
              name: this.feed(`pods/${p.name}`, [this.targetPods.get(labelSelector)!]),
              path: '/api/v1/pods',
              labelSelector,
              strip: stripPodSharing(this.podSpecs),
              optional: false,
            },
            kc,
            settings,
            emit,
          ),
        );
      }
    }

    if (opts.analysis || opts.index) {
      // Every pod: a webhook's or a monitor's pods are rarely target pods. It replaces the
      // per-profile informers, whose pods it holds too (listPods filters by labels).
      this.pods.push(
        new Resource(
          {
            name: this.feed('pods', [...this.targetPods.values()]),
            path: '/api/v1/pods',
            strip: stripPodSharing(this.podSpecs),
            optional: false,
          },
          kc,
          settings,
          emit,
        ),
      );
      // Index mode (the syncer's reports) takes every kind, and skips what it may not list.
      const resources = opts.index ? indexResources().map(([kind, spec]): [IndexKind, ResourceSpec] => [kind, { ...spec, skippable: true }]) : analysisResources();
      for (const [kind, spec] of resources) this.analysed.set(kind, new Resource(spec, kc, settings, emit));
    }
  }

  private feed(resource: string, indexes: TargetPodIndex[]): string {
    this.feeds.set(resource, indexes);
    return resource;
  }

  /** Keeps the target pod indexes in step with the caches (called before any listener). */
  private track(event: ChangeEvent, resource: string, obj: KubeObject): void {
    if (resource === 'namespaces') {
      const name = obj.metadata?.name ?? '';
      for (const index of this.targetPods.values()) index.namespaceChanged(name);
      return;
    }
    for (const index of this.feeds.get(resource) ?? []) {
      if (event === 'delete') index.delete(obj as Pod);
      else index.put(obj as Pod);
    }
  }

  private get all(): Resource[] {
    return [this.namespaces, ...this.clusters.values(), ...this.pods, ...this.analysed.values()];
  }

  /**
   * Readiness: the cluster view only. The analysed kinds feed warnings, never denials, so
   * their informers (an RBAC rule missing, an API server slow to list Services) must not
   * keep the webhook from admitting pods; until they have synced, analysis() is undefined.
   */
  get synced(): boolean {
    return [this.namespaces, ...this.clusters.values(), ...this.pods].every((r) => r.synced);
  }

  analysis(): PolicyContext['analysis'] {
    if (this.analysed.size === 0 || !this.synced || ![...this.analysed.values()].every((r) => r.synced)) return undefined;
    // A kind held as empty because it may not be listed is not known to be empty.
    return { index: this, complete: ![...this.analysed.values()].some((r) => r.forbidden) };
  }

  async start(): Promise<void> {
    await Promise.all(this.all.map((r) => r.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((r) => r.stop()));
  }

  /** Calls `listener` for every add/update/delete after stripping; returns an unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  sizes(): Record<string, number> {
    return Object.fromEntries(this.all.map((r) => [r.spec.name, r.size()]));
  }

  status(): ViewStatus {
    return {
      objects: this.sizes(),
      synced: Object.fromEntries(this.all.map((r) => [r.spec.name, r.synced])),
      missing: this.all.filter((r) => r.missing).map((r) => r.spec.name),
    };
  }

  // --- the object index (analysis on): the analysed kinds, Namespaces and every pod ---

  private resourceOf(kind: IndexKind): Resource | undefined {
    if (kind === 'Namespace') return this.namespaces;
    if (kind === 'Pod') return this.analysed.size > 0 ? this.pods[0] : undefined;
    return this.analysed.get(kind);
  }

  holds(kind: IndexKind): boolean {
    const r = this.resourceOf(kind);
    return r !== undefined && !r.missing;
  }

  list(kind: IndexKind, namespace?: string): readonly KubeObject[] {
    const r = this.resourceOf(kind);
    if (!r || r.missing) return [];
    return r.informer.list(INDEX_KINDS[kind].namespaced ? namespace : undefined) as KubeObject[];
  }

  get(kind: IndexKind, namespace: string | undefined, name: string): KubeObject | undefined {
    const r = this.resourceOf(kind);
    if (!r || r.missing) return undefined;
    return r.informer.get(name, INDEX_KINDS[kind].namespaced ? (namespace ?? 'default') : undefined) as KubeObject | undefined;
  }

  select(kind: IndexKind, namespace: string, selector: unknown): readonly KubeObject[] {
    return this.list(kind, namespace).filter((o) => selectorMatches(o.metadata?.labels ?? undefined, selector));
  }

  namespaceNames(): readonly string[] {
    return (this.namespaces.informer.list() as KubeObject[]).map((n) => n.metadata?.name ?? '').sort();
  }

  getNamespace(name: string): Namespace | undefined {
    return this.namespaces.informer.get(name) as Namespace | undefined;
  }

  getCluster(ref: ClusterRef, namespace: string, name: string): KubeObject | undefined {
    const r = this.clusters.get(clusterKey(ref));
    return r && !r.missing ? (r.informer.get(name, namespace) as KubeObject | undefined) : undefined;
  }

  listClusters(ref: ClusterRef): KubeObject[] {
    const r = this.clusters.get(clusterKey(ref));
    return r && !r.missing ? [...(r.informer.list() as KubeObject[])] : [];
  }

  injectionCount(profile: TargetProfile, namespace: string, clusterName: string, mesh?: MeshName): InjectionCount | undefined {
    return this.targetPods.get(podSelector(profile))?.count(namespace, clusterName, mesh);
  }

  listPods(namespace: string, matchLabels: StringMap): Pod[] {
    // A cluster's pods (what reviews and the syncer ask for) come from its profile's index;
    // any other selector (a PolicyReport's profile-wide one) walks the namespace.
    for (const index of this.targetPods.values()) {
      const pods = index.select(namespace, matchLabels);
      if (pods) return pods;
    }
    const seen = new Set<string>();
    const out: Pod[] = [];
    for (const r of this.pods) {
      for (const p of r.informer.list(namespace) as Pod[]) {
        const name = p.metadata?.name ?? '';
        if (seen.has(name) || !labelsMatch(p.metadata?.labels, matchLabels)) continue;
        seen.add(name);
        out.push(p);
      }
    }
    return out;
  }
}
