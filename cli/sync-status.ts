// `meshguard sync-status`: the status syncer, meant as a second container next to the
// webhook (same image). See docs/syncer.md for flags, RBAC and metrics.
import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { delimiter, join } from 'node:path';
import { MeshguardError, MG_ERR_KUBECONFIG, MG_ERR_KUBECONFIG_MISSING, MG_ERR_START, MG_ERR_USAGE } from '../policies/errors.js';
import { loadConfig, numberOption, portOrOff } from './options.js';
import { reportError } from './report-error.js';

export interface SyncStatusOptions {
  kubeconfig?: string;
  config?: string;
  leaderElect: boolean;
  leaseName: string;
  leaseNamespace: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  metricsHost: string;
  metricsPort: number | false;
  resyncSeconds: number;
  quietPeriodMs: number;
  maxDelayMs: number;
  logLevel: string;
  policyReports: boolean;
  policyReportCrdRetrySeconds: number;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Whether KubeConfig.loadFromDefault has anything real to load: $KUBECONFIG,
 * ~/.kube/config or a pod's service account. Without any of them it falls back to
 * http://localhost:8080, and the informers retry that address forever: a process that
 * never exits and never says why.
 */
export const hasDefaultKubeconfig = (env: NodeJS.ProcessEnv = process.env, home = homedir()): boolean =>
  (env.KUBECONFIG ?? '').split(delimiter).some(Boolean) ||
  existsSync(join(home, '.kube', 'config')) ||
  (Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(SERVICE_ACCOUNT_TOKEN));

export async function syncStatus(opts: SyncStatusOptions): Promise<void> {
  if (opts.leaderElect && !(opts.leaseDurationSeconds > opts.renewDeadlineSeconds && opts.renewDeadlineSeconds > opts.retryPeriodSeconds)) {
    throw MG_ERR_USAGE('need --lease-duration-seconds > --renew-deadline-seconds > --retry-period-seconds');
  }
  if (!opts.kubeconfig && !hasDefaultKubeconfig()) throw MG_ERR_KUBECONFIG_MISSING();
  // Loaded after the flags are known to be usable: the Kubernetes client takes seconds to
  // load on a busy node, and a usage error should not wait for it.
  // KubeConfig from config.js, not the package root (every generated model and API group):
  // the syncer's calls go through syncer/kube-calls.ts (server/client-node-loading.ts).
  const [{ KubeConfig }, { pino }, { InformerClusterView }, { startSyncer }, { syncerApis }] = await Promise.all([
    import('@kubernetes/client-node/dist/config.js'),
    import('pino'),
    import('../server/informer-view.js'),
    import('../syncer/syncer.js'),
    import('../syncer/kube-calls.js'),
  ]);
  const logger = pino({ level: opts.logLevel }).child({ component: 'syncer' });
  const config = await loadConfig(opts.config);
  const kubeConfig = new KubeConfig();
  try {
    // Without --kubeconfig: $KUBECONFIG, ~/.kube/config, or the pod's service account.
    if (opts.kubeconfig) kubeConfig.loadFromFile(opts.kubeconfig);
    else kubeConfig.loadFromDefault();
  } catch (err) {
    throw MG_ERR_KUBECONFIG(opts.kubeconfig ?? '(default)', (err as Error).message);
  }
  if (!kubeConfig.getCurrentCluster()) throw MG_ERR_KUBECONFIG_MISSING();

  // Pod name when run in a pod (HOSTNAME), plus a random part so that a restarted container
  // is a new candidate and never mistakes the lease of its previous life for its own.
  const identity = `${process.env.POD_NAME ?? hostname()}_${randomUUID()}`;
  // PolicyReports run the whole catalog: the view is then the object index (every kind it holds).
  const view = new InformerClusterView({ kubeConfig, profiles: config.profiles, logger: logger.child({ component: 'cluster-view' }), index: opts.policyReports });
  const syncer = await startSyncer({
    apis: syncerApis(kubeConfig),
    view,
    config,
    logger,
    identity,
    ...(opts.leaderElect
      ? {
          leaderElection: {
            leaseName: opts.leaseName,
            leaseNamespace: opts.leaseNamespace,
            identity,
            leaseDurationMs: opts.leaseDurationSeconds * 1000,
            renewDeadlineMs: opts.renewDeadlineSeconds * 1000,
            retryPeriodMs: opts.retryPeriodSeconds * 1000,
          },
        }
      : {}),
    resyncMs: opts.resyncSeconds * 1000,
    quietMs: opts.quietPeriodMs,
    maxDelayMs: opts.maxDelayMs,
    metricsHost: opts.metricsHost,
    metricsPort: opts.metricsPort === false ? null : opts.metricsPort,
    ...(opts.policyReports ? { policyReports: { crdRetryMs: opts.policyReportCrdRetrySeconds * 1000 } } : {}),
  });

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'stopping');
    // Releasing the lease lets a successor start at once instead of after the lease duration.
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    syncer.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

export function register(program: Command): void {
  program
    .command('sync-status')
    .description('keep status.serviceMeshStatus and the ServiceMeshReady condition of every cluster CR true (HTTP: /metrics, /healthz, /readyz)')
    .option('--kubeconfig <file>', 'cluster to watch (default: $KUBECONFIG, ~/.kube/config, or the pod service account)')
    .option('--config <file>', 'meshguard configuration file (target profiles, mesh options)')
    .option('--leader-elect', 'elect one writer among replicas through a coordination.k8s.io Lease', false)
    .option('--lease-name <name>', 'name of the Lease', 'meshguard-status-syncer')
    .option('--lease-namespace <ns>', 'namespace of the Lease ($POD_NAMESPACE when set)', process.env.POD_NAMESPACE || 'meshguard-system')
    .option('--lease-duration-seconds <n>', 'how long a silent leader keeps the lease', numberOption(2, 3600), 15)
    .option('--renew-deadline-seconds <n>', 'a leader that could not renew for this long stops writing', numberOption(1, 3600), 10)
    .option('--retry-period-seconds <n>', 'how often to renew or try to acquire', numberOption(0.1, 3600, { integer: false }), 2)
    .option('--metrics-host <address>', 'address of the metrics/probe listener', '0.0.0.0')
    .option('--metrics-port <port>', 'plain-HTTP port for /metrics, /healthz and /readyz, or "off"', portOrOff, 9091)
    .option('--resync-seconds <n>', 're-check every cluster this often even without events', numberOption(1, 86400), 300)
    .option('--quiet-period-ms <n>', 'write a cluster once its changes pause this long', numberOption(0, 600_000), 500)
    .option('--max-delay-ms <n>', '...but no later than this after its first unhandled change', numberOption(0, 600_000), 5000)
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
    .option('--no-policy-reports', 'do not write wgpolicyk8s.io PolicyReports (written by default once their CRD is installed)')
    .option('--policy-report-crd-retry-seconds <n>', 'while the PolicyReport or ClusterPolicyReport CRD is not installed, look for it this often', numberOption(1, 86400), 30)
    .action(async (opts: SyncStatusOptions) => {
      try {
        await syncStatus(opts);
      } catch (err) {
        // A catalog error is a usage or configuration problem (exit 2); anything else means
        // the syncer could not start (exit 1, docs/syncer.md).
        const code = reportError(err instanceof MeshguardError ? err : MG_ERR_START((err as Error).message), 'sync-status');
        // Exit now: a half-started syncer (informers, timers) would keep the process alive.
        process.exit(code);
      }
    });
}
