// The status syncer: the webhook's informer-backed cluster view tells it what changed,
// the coalescer turns bursts into one reconciliation per cluster, and only the leader
// reconciles: read the CR, let the policy core decide the status, write it when it differs,
// and raise the Warning event when a cluster enters Partial.
//
// As leader it also writes meshguard's PolicyReports (see policies/policy-report.ts): the
// whole rule catalog over the view, which is then the informer-backed object index. One
// coalesced job computes every report and writes those whose content changed: a
// PolicyReport per namespace, the ClusterPolicyReport, and deletes for reports whose
// results are gone (found by meshguard's label, so a restart still cleans up). Each kind is
// written only while its CRD is served; until then it is looked for again every
// `policyReports.crdRetryMs`.
//
// Recovery: the informers retry failed lists/watches (server/informer-view.ts) and replay
// what they missed from their resourceVersion; a periodic resync re-checks every cluster
// anyway, so a missed event costs at most --resync-seconds of staleness.
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { PolicyConfig } from '../policies/config.js';
import { namespaceInfo, type KubeObject } from '../policies/k8s.js';
import { clusterInjection } from '../policies/mesh-state.js';
import type { MeshName } from '../policies/meshes/types.js';
import {
  POLICY_REPORT_GROUP, POLICY_REPORT_NAME, POLICY_REPORT_VERSION, policyReports, REPORT_LABELS, type ReportContent,
} from '../policies/policy-report.js';
import { computeServiceMeshStatus, PARTIAL_INJECTION_EVENT_REASON } from '../policies/status.js';
import type { TargetProfile } from '../policies/targets/profile.js';
import { profileOfCluster, targetOfPod } from '../policies/targets/resolve.js';
import type { ChangeListener } from '../server/informer-view.js';
import type { ManagedClusterView } from '../server/managed-view.js';
import type { SyncerApis } from './kube-calls.js';
import { Coalescer, REAL_CLOCK, type Clock } from './coalescer.js';
import { emitEvent } from './events.js';
import { LeaderElector } from './leader-election.js';
import { buildSyncerOpsApp, createSyncerMetrics, type ReconcileOutcome, type SyncerMetrics } from './metrics.js';
import { statusCodeOf } from '../server/kube-request.js';
import { writeReport } from './report-writer.js';
import { coordinatesOf, writeStatus } from './status-writer.js';

/** The cluster view with change notifications (InformerClusterView; PolicyReports read its index mode's analysis()). */
export interface WatchedClusterView extends ManagedClusterView {
  onChange(listener: ChangeListener): () => void;
}

export interface LeaderElectionSettings {
  leaseName: string;
  leaseNamespace: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface SyncerOptions {
  /** The API server calls (syncerApis(kubeConfig) in a process; fakes in tests). */
  apis: SyncerApis;
  view: WatchedClusterView;
  config: PolicyConfig;
  logger: Logger;
  /** Without it this replica always writes (a single replica, or tests). */
  leaderElection?: LeaderElectionSettings;
  /** Identity in Events' reportingInstance (defaults to the lease identity or "meshguard-syncer"). */
  identity?: string;
  resyncMs: number;
  quietMs: number;
  maxDelayMs: number;
  metricsHost?: string;
  /** null: no listener. */
  metricsPort: number | null;
  defaultMetrics?: boolean;
  clock?: Clock;
  /** Write PolicyReports (absent: none). */
  policyReports?: { crdRetryMs: number };
}

export interface Syncer {
  metrics: SyncerMetrics;
  metricsPort: number | null;
  isLeader(): boolean;
  /** Stops reconciling, releases the lease, stops the view and the listener. */
  stop(): Promise<void>;
}

interface Target {
  profile: TargetProfile;
  namespace: string;
  name: string;
}

const SEP = '\u0000';
/** The coalescer key of the reports job (cluster keys start with a profile name). */
const REPORTS = '\u0001reports';
type ReportKind = 'PolicyReport' | 'ClusterPolicyReport';
const REPORT_PLURAL: Record<ReportKind, string> = { PolicyReport: 'policyreports', ClusterPolicyReport: 'clusterpolicyreports' };
/** Key of the ClusterPolicyReport among the namespaces' reports (no namespace is named so). */
const CLUSTER = '';
const keyOf = (profile: TargetProfile, namespace: string, name: string): string => [profile.name, namespace, name].join(SEP);

/** RFC 3339 with whole seconds, as metav1.Time serializes. */
const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function startSyncer(opts: SyncerOptions): Promise<Syncer> {
  const { view, config, logger } = opts;
  const clock = opts.clock ?? REAL_CLOCK;
  const metrics = createSyncerMetrics({ defaultMetrics: opts.defaultMetrics });
  const { custom, core } = opts.apis;
  const profiles = config.profiles;
  const identity = opts.identity ?? opts.leaderElection?.identity ?? 'meshguard-syncer';

  const targets = new Map<string, Target>();
  const reports = opts.policyReports;
  /** Which report kinds' CRDs are served. */
  const crd: Record<ReportKind, boolean> = { PolicyReport: false, ClusterPolicyReport: false };
  let crdTimer: unknown;
  let stopped = false;
  /** Namespaces holding a report of ours (written, or listed by our label): the ones to delete once their results are gone. */
  const reported = new Set<string>();
  /** Report key (namespace, or CLUSTER) → the content last written or found, as JSON: unchanged content is not read again. */
  const known = new Map<string, string | undefined>();
  /** List our reports before the next write (start, new leader, CRD found, resync): a predecessor's may be orphans. */
  let needList = true;
  /** Which cluster each pod was last counted for, so a relabelled pod also updates its old cluster. */
  const podCluster = new Map<string, string>();

  const elector = opts.leaderElection
    ? new LeaderElector({
        api: opts.apis.coordination,
        name: opts.leaderElection.leaseName,
        namespace: opts.leaderElection.leaseNamespace,
        identity: opts.leaderElection.identity,
        leaseDurationMs: opts.leaderElection.leaseDurationMs,
        renewDeadlineMs: opts.leaderElection.renewDeadlineMs,
        retryPeriodMs: opts.leaderElection.retryPeriodMs,
        logger: logger.child({ component: 'leader-election' }),
        clock,
        onStartedLeading: () => {
          metrics.leader.set(1);
          // A new leader trusts nothing its predecessor may have left half-done.
          enqueueAll('became leader');
        },
        onStoppedLeading: () => metrics.leader.set(0),
      })
    : undefined;
  const isLeader = (): boolean => (elector ? elector.isLeader() : true);
  if (!elector) metrics.leader.set(1);

  const remember = (profile: TargetProfile, namespace: string, name: string): string => {
    const key = keyOf(profile, namespace, name);
    if (!targets.has(key)) targets.set(key, { profile, namespace, name });
    return key;
  };

  const reconcile = async (key: string): Promise<void> => {
    // Before the first full list a partial cache would count too few pods; followers do not write.
    if (!view.synced || !isLeader()) return;
    const target = targets.get(key);
    if (!target) return;
    const { profile, namespace, name } = target;
    const ref = profile.cluster;
    const cached = view.getCluster(ref, namespace, name);
    const record = (outcome: ReconcileOutcome) => {
      metrics.reconciles.inc({ outcome });
      if (outcome !== 'error') metrics.lastSync.set(clock.now() / 1000);
    };
    if (!cached) {
      targets.delete(key);
      record('gone');
      return;
    }
    const ns = namespaceInfo(namespace, view.getNamespace(namespace));
    const count = (mesh: MeshName | undefined) => clusterInjection(view, profile, namespace, name, ns, mesh);
    const decide = (cr: KubeObject) => computeServiceMeshStatus(cr.status, cr, count, ns, config, rfc3339(clock.now()));

    // When the cached CR carries its status and it is already right, skip the read.
    if (cached.status !== undefined && !decide(cached).changed) {
      record('unchanged');
      return;
    }
    let out;
    try {
      out = await writeStatus(custom, coordinatesOf(ref.apiVersion, ref.plural, namespace, name), decide, {
        onConflict: () => metrics.conflicts.inc(),
      });
    } catch (err) {
      record('error');
      throw err;
    }
    record(out.outcome);
    if (out.outcome === 'gone') return;
    if (out.outcome === 'written') {
      metrics.statusWrites.inc();
      const s = out.result.serviceMeshStatus;
      logger.info(
        { cluster: `${namespace}/${name}`, kind: ref.kind, status: s.sidecarInjectionStatus, meshed: s.podsWithSidecars, total: s.totalPods, conflicts: out.conflicts },
        'status written',
      );
      // After the write succeeded: of two racing writers only one gets past the
      // resourceVersion guard with the transition, so the event is raised once.
      if (out.result.enteredPartial) {
        try {
          await emitEvent(
            core,
            out.cr,
            { type: 'Warning', reason: PARTIAL_INJECTION_EVENT_REASON, message: `${out.result.condition.message}: mixed injection can split the cluster's consensus` },
            new Date(clock.now()),
            identity,
          );
          metrics.events.inc({ reason: PARTIAL_INJECTION_EVENT_REASON });
        } catch (err) {
          // The status is what matters; an event lost to an API error is logged, not retried
          // (a retry after the status write would find no transition left to report).
          logger.warn({ err: (err as Error).message, cluster: `${namespace}/${name}` }, 'could not create the PartialSidecarInjection event');
        }
      }
    }
  };

  /** Namespaces holding a report of ours, by meshguard's label (list on policyreports). */
  const listReported = async (): Promise<void> => {
    const list = (await custom.listClusterCustomObject({
      group: POLICY_REPORT_GROUP,
      version: POLICY_REPORT_VERSION,
      plural: REPORT_PLURAL.PolicyReport,
      labelSelector: Object.entries(REPORT_LABELS).map(([k, v]) => `${k}=${v}`).join(','),
    })) as { items?: KubeObject[] };
    for (const r of list.items ?? []) if (r.metadata?.name === POLICY_REPORT_NAME && r.metadata.namespace) reported.add(r.metadata.namespace);
  };

  /** One report to its wanted content (undefined: none). False when its CRD turned out missing. */
  const reconcileOne = async (kind: ReportKind, key: string, content: ReportContent | undefined): Promise<boolean> => {
    const json = content === undefined ? undefined : JSON.stringify(content);
    if (known.has(key) && known.get(key) === json) return true;
    const namespace = kind === 'PolicyReport' ? key : undefined;
    let outcome;
    try {
      outcome = await writeReport(custom, namespace, content);
    } catch (err) {
      metrics.reportWrites.inc({ kind, outcome: 'error' });
      throw err;
    }
    metrics.reportWrites.inc({ kind, outcome });
    if (outcome === 'crd-missing') {
      crdGone(kind);
      return false;
    }
    if (content === undefined) {
      known.delete(key);
      if (namespace !== undefined) reported.delete(namespace);
    } else {
      known.set(key, json);
      if (namespace !== undefined) reported.add(namespace);
    }
    if (outcome !== 'unchanged' && outcome !== 'absent') logger.info({ kind, ...(namespace !== undefined ? { namespace } : {}), outcome, summary: content?.summary }, 'policy report written');
    return true;
  };

  /** Every report at once: the cross-object rules read the whole index, so one run serves all namespaces. */
  const reconcileReports = async (): Promise<void> => {
    if (!view.synced || !isLeader() || (!crd.PolicyReport && !crd.ClusterPolicyReport)) return;
    // The whole index, once every kind of it has synced (a NetworkPolicy not listed yet would read as none).
    const analysis = view.analysis?.();
    if (!analysis) return;
    const want = policyReports(analysis.index, config, { complete: analysis.complete });
    if (crd.PolicyReport) {
      if (needList) {
        await listReported();
        needList = false;
      }
      for (const ns of new Set([...want.namespaces.keys(), ...reported])) {
        if (!(await reconcileOne('PolicyReport', ns, want.namespaces.get(ns)))) break;
      }
    }
    if (crd.ClusterPolicyReport) await reconcileOne('ClusterPolicyReport', CLUSTER, want.cluster);
  };

  /** Discovery of wgpolicyk8s.io/v1alpha2's resources; no RBAC needed (system:discovery). */
  const lookForCrd = async (): Promise<void> => {
    crdTimer = undefined;
    if (!reports || stopped) return;
    let served: string[] = [];
    try {
      const list = await custom.getAPIResources({ group: POLICY_REPORT_GROUP, version: POLICY_REPORT_VERSION });
      served = (list.resources ?? []).map((r) => r.name);
    } catch (err) {
      // 404: the group version is not served at all.
      if (statusCodeOf(err) !== 404) logger.warn({ err: (err as Error)?.message ?? String(err) }, 'API discovery failed; looking for the PolicyReport CRDs again later');
    }
    if (stopped) return;
    let found = false;
    for (const kind of ['PolicyReport', 'ClusterPolicyReport'] as const) {
      const now = served.includes(REPORT_PLURAL[kind]);
      metrics.reportCrd.set({ kind }, now ? 1 : 0);
      if (now && !crd[kind]) {
        crd[kind] = true;
        found = true;
        logger.info({ kind, apiVersion: `${POLICY_REPORT_GROUP}/${POLICY_REPORT_VERSION}` }, 'policy report CRD found; writing reports of this kind');
      }
    }
    if (found) enqueueAll('policy report CRD found');
    if (!crd.PolicyReport || !crd.ClusterPolicyReport) crdTimer = clock.setTimeout(() => void lookForCrd(), reports.crdRetryMs);
  };

  function crdGone(kind: ReportKind): void {
    if (!crd[kind]) return;
    crd[kind] = false;
    if (kind === 'PolicyReport') {
      reported.clear();
      for (const k of known.keys()) if (k !== CLUSTER) known.delete(k);
    } else known.delete(CLUSTER);
    needList = true;
    metrics.reportCrd.set({ kind }, 0);
    logger.info({ kind, retryMs: reports!.crdRetryMs }, 'policy report CRD not installed; no reports of this kind until it is');
    if (crdTimer === undefined) crdTimer = clock.setTimeout(() => void lookForCrd(), reports!.crdRetryMs);
  }

  const triggerReports = (): void => {
    if (crd.PolicyReport || crd.ClusterPolicyReport) coalescer.trigger(REPORTS);
  };

  const coalescer = new Coalescer({
    quietMs: opts.quietMs,
    maxDelayMs: opts.maxDelayMs,
    clock,
    run: (key) => (key === REPORTS ? reconcileReports() : reconcile(key)),
    onError: (key, err, retryInMs) => {
      const message = (err as Error)?.message ?? String(err);
      if (key === REPORTS) {
        logger.warn({ err: message, retryInMs }, 'policy report write failed; retrying');
        return;
      }
      const [, namespace, name] = key.split(SEP);
      logger.warn({ cluster: `${namespace}/${name}`, err: message, retryInMs }, 'status sync failed; retrying');
    },
  });

  function enqueueAll(why: string): void {
    if (!view.synced || !isLeader()) return;
    let n = 0;
    for (const profile of profiles) {
      for (const cr of view.listClusters(profile.cluster)) {
        const { namespace, name } = cr.metadata ?? {};
        if (!namespace || !name) continue;
        coalescer.trigger(remember(profile, namespace, name));
        n++;
      }
    }
    // Read every report again: someone may have edited or deleted one since it was written.
    known.clear();
    needList = true;
    triggerReports();
    logger.debug({ why, clusters: n }, 'resync');
  }

  const onChange: ChangeListener = (event, resource, obj) => {
    const meta = obj.metadata ?? {};
    // Any change (an object, a namespace's labels: enforcement, mesh) can change some report.
    triggerReports();
    if (resource === 'namespaces') {
      // Namespace labels can decide which mesh a cluster means.
      for (const profile of profiles) {
        for (const cr of view.listClusters(profile.cluster)) {
          if (cr.metadata?.namespace === meta.name && cr.metadata?.name) coalescer.trigger(remember(profile, meta.name!, cr.metadata.name));
        }
      }
      return;
    }
    if (obj.kind === 'Pod' || resource.startsWith('pods/')) {
      const podKey = `${meta.namespace}/${meta.name}`;
      const before = podCluster.get(podKey);
      const t = targetOfPod(meta.labels, profiles);
      const now = t && meta.namespace ? remember(t.profile, meta.namespace, t.clusterName) : undefined;
      if (before !== undefined && before !== now) coalescer.trigger(before);
      if (now !== undefined) coalescer.trigger(now);
      if (event === 'delete' || now === undefined) podCluster.delete(podKey);
      else podCluster.set(podKey, now);
      return;
    }
    const profile = profileOfCluster(obj, profiles);
    if (!profile || !meta.namespace || !meta.name) return;
    const key = keyOf(profile, meta.namespace, meta.name);
    if (event === 'delete') {
      coalescer.cancel(key);
      targets.delete(key);
      return;
    }
    coalescer.trigger(remember(profile, meta.namespace, meta.name));
  };
  const unsubscribe = view.onChange(onChange);

  // The view's synced flag has no event of its own: poll it until the first full list.
  let syncPoll: unknown;
  const waitForSync = () => {
    if (view.synced) {
      logger.info({ objects: view.sizes() }, 'cluster view synced');
      enqueueAll('initial sync');
      return;
    }
    syncPoll = clock.setTimeout(waitForSync, 200);
  };
  let resyncTimer: unknown;
  const resync = () => {
    enqueueAll('periodic resync');
    resyncTimer = clock.setTimeout(resync, opts.resyncMs);
  };

  let ops: FastifyInstance | undefined;
  if (opts.metricsPort !== null) {
    ops = buildSyncerOpsApp({
      metrics,
      logger: logger.child({ component: 'ops' }),
      notReadyReason: () => (view.synced ? undefined : 'cluster view not synced yet'),
    });
    await ops.listen({ host: opts.metricsHost ?? '0.0.0.0', port: opts.metricsPort });
  }

  await view.start();
  waitForSync();
  void lookForCrd();
  resyncTimer = clock.setTimeout(resync, opts.resyncMs);
  elector?.start();

  const metricsPort = ops ? (ops.server.address() as AddressInfo).port : null;
  logger.info({ metricsPort, leaderElection: elector ? { lease: `${opts.leaderElection!.leaseNamespace}/${opts.leaderElection!.leaseName}`, identity } : false }, 'status syncer started');

  let stopping: Promise<void> | undefined;
  return {
    metrics,
    metricsPort,
    isLeader,
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        clock.clearTimeout(syncPoll);
        clock.clearTimeout(resyncTimer);
        clock.clearTimeout(crdTimer);
        unsubscribe();
        await coalescer.stop();
        await elector?.stop();
        metrics.leader.set(0);
        await view.stop();
        await ops?.close();
      })()),
  };
}
