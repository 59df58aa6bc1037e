// `meshguard serve`: the admission webhook. Two modes, chosen from the environment:
// - live: with --kubeconfig, or inside a pod (KUBERNETES_SERVICE_HOST and a service-account
//   token), the cluster view is informer caches of the API server;
// - standalone: otherwise, the view is the --state files (or empty) and, unless
//   --tls-cert/--tls-key are given, dev certificates are made (or reused) under
//   --dev-certs-dir, and a ready-to-paste curl line is printed.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import type { PolicyConfig } from '../policies/config.js';
import type { ManagedClusterView } from '../server/managed-view.js';
import { exitOnSignals } from '../server/shutdown.js';
import { loadStateFiles, StaticClusterView } from './state-view.js';
import type { TlsFiles, TlsMinVersion } from '../server/tls-reloader.js';
import { LOG_ADMISSIONS, type LogAdmissions } from '../server/admission-routes.js';
import { startWebhookServer } from '../server/webhook-server.js';
import { collect, loadConfig, numberOption, portOrOff } from './options.js';
import { MeshguardError, MG_ERR_KUBECONFIG, MG_ERR_START, MG_ERR_USAGE } from '../policies/errors.js';
import { reportError } from './report-error.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface ServeOptions {
  config?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  host?: string;
  port: number;
  metricsPort: number | false;
  kubeconfig?: string;
  state: string[];
  devCertsDir: string;
  logLevel: string;
  logAdmissions: LogAdmissions;
  shutdownGraceSeconds: number;
  shutdownDelaySeconds: number;
  certPollSeconds: number;
  tlsMinVersion: TlsMinVersion;
}

const tlsVersion = (v: string): TlsMinVersion => {
  if (v === '1.2' || v === '1.3') return v;
  throw new InvalidArgumentError(`must be 1.2 or 1.3, not ${JSON.stringify(v)}`);
};

const inCluster = (): boolean => !!process.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN);

const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** A shipped sample review (examples/ sits beside cli/ in the repo, two levels up from dist/cli). */
const example = (name: string): string | undefined =>
  [`../examples/${name}`, `../../examples/${name}`].map((p) => fileURLToPath(new URL(p, import.meta.url))).find((p) => existsSync(p));

/**
 * The demo requests printed by a standalone start (`make run` serves examples/state.yaml):
 * a StatefulSet of the meshed cluster comes back patched, a pod without the proxy is refused.
 * The patch is base64 in the answer, so the first request decodes it with this very node.
 */
function demoRequests(base: string, ca: string): string {
  const curl = (file: string, route: string) =>
    `curl -s --cacert ${shellQuote(ca)} -H 'Content-Type: application/json' --data @${shellQuote(example(file) ?? file)} ${base}/${route}`;
  const decode = `r=JSON.parse(require("fs").readFileSync(0,"utf8")).response;if(r.patch)r.patch=JSON.parse(Buffer.from(r.patch,"base64"));console.log(JSON.stringify(r,null,2))`;
  return (
    `  # A StatefulSet of the meshed AntflyCluster databases/demo: patched (Raft ports excluded, inject label added)\n` +
    `  ${curl('admission-review-statefulset.json', 'mutate')} | ${shellQuote(process.execPath)} -e '${decode}'\n\n` +
    `  # A pod of the same cluster without the Istio proxy: refused (mixed injection, N/M pods meshed)\n` +
    `  ${curl('admission-review-pod.json', 'validate')}\n`
  );
}

// Loaded only in live mode: the Kubernetes client is ~35 MB of RSS a standalone run does not
// need. KubeConfig comes from config.js, not the package root, which would load every
// generated API group and model (main.ts registers the hook that keeps config.js from
// loading them too; docs/operations.md).
async function liveView(opts: ServeOptions, config: PolicyConfig, logger: Logger): Promise<ManagedClusterView> {
  const [{ KubeConfig }, { InformerClusterView }] = await Promise.all([
    import('@kubernetes/client-node/dist/config.js'),
    import('../server/informer-view.js'),
  ]);
  const kubeConfig = new KubeConfig();
  try {
    if (opts.kubeconfig) kubeConfig.loadFromFile(opts.kubeconfig);
    else kubeConfig.loadFromCluster();
  } catch (err) {
    throw MG_ERR_KUBECONFIG(opts.kubeconfig ?? '(in-cluster)', (err as Error).message);
  }
  return new InformerClusterView({
    kubeConfig,
    profiles: config.profiles,
    logger: logger.child({ component: 'cluster-view' }),
    // The kinds of the cross-object rules are watched only when their warnings are wanted.
    analysis: config.analysis?.admissionWarnings === true,
  });
}

export async function serve(opts: ServeOptions): Promise<void> {
  // Synchronous writes (pino's default): measured under load at a fixed rate, an asynchronous
  // destination cost ~25 µs more CPU per logged review than a write(2) per line (each batch
  // a libuv thread-pool job and its callback), and buffering with minLength re-measures the
  // growing buffer on every line. See docs/operations.md, "Logs".
  const logger = pino({ level: opts.logLevel }, pino.destination({ dest: 1, sync: true }));
  const live = opts.kubeconfig !== undefined || inCluster();
  if (live && opts.state.length > 0) throw MG_ERR_USAGE('--state is for standalone runs; with a cluster the view comes from the API server');
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw MG_ERR_USAGE('--tls-cert and --tls-key go together');
  if (opts.tlsCert === undefined && inCluster())
    throw MG_ERR_USAGE('in a cluster, --tls-cert and --tls-key are required (mount the cert-manager Secret)');

  const config = await loadConfig(opts.config);
  const host = opts.host ?? (live ? '0.0.0.0' : '127.0.0.1');

  let tls: TlsFiles;
  let devCa: string | undefined;
  if (opts.tlsCert !== undefined && opts.tlsKey !== undefined) {
    tls = { cert: opts.tlsCert, key: opts.tlsKey };
  } else {
    // Loaded only here: @peculiar/x509 is ~20 MB of RSS a server given its certificates never needs.
    const { ensureDevCerts, DEFAULT_DEV_SANS } = await import('../certs/dev-ca.js');
    const dev = await ensureDevCerts(opts.devCertsDir, DEFAULT_DEV_SANS);
    logger.info({ dir: dev.dir, created: dev.created, ...(dev.reason ? { reason: dev.reason } : {}) }, dev.created ? 'created dev certificates' : 'reusing dev certificates');
    tls = { cert: dev.tlsCert, key: dev.tlsKey };
    devCa = dev.caCert;
  }
  if (opts.clientCa !== undefined) tls.clientCa = opts.clientCa;
  tls.minVersion = opts.tlsMinVersion;

  const view = live ? await liveView(opts, config, logger) : new StaticClusterView(await loadStateFiles(opts.state));
  logger.info(
    { mode: live ? 'live' : 'standalone', profiles: config.profiles.map((p) => p.name), ...(live ? {} : { stateFiles: opts.state, objects: view.sizes() }) },
    'cluster view',
  );

  const server = await startWebhookServer({
    host,
    port: opts.port,
    metricsPort: opts.metricsPort === false ? null : opts.metricsPort,
    tls,
    certPollMs: opts.certPollSeconds * 1000,
    view,
    config,
    logger,
    logAdmissions: opts.logAdmissions,
    shutdownGraceMs: opts.shutdownGraceSeconds * 1000,
    drainDelayMs: opts.shutdownDelaySeconds * 1000,
  });
  exitOnSignals(server, logger);

  if (!live) {
    const base = `https://${host === '127.0.0.1' || host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${server.port}`;
    // stderr: stdout carries the JSON log lines.
    process.stderr.write(`\nmeshguard is serving standalone on ${base}. Try:\n\n${demoRequests(base, devCa ?? tls.cert)}\n`);
  }
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the admission webhook (HTTPS: /mutate, /validate, /healthz, /readyz; HTTP: /metrics, /healthz, /readyz)')
    .option('--config <file>', 'meshguard configuration file (target profiles, mesh options)')
    .option('--tls-cert <file>', 'serving certificate (PEM); reloaded when it changes')
    .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
    .option('--tls-min-version <version>', 'lowest TLS version offered: 1.2 (ECDHE with AEAD ciphers only) or 1.3', tlsVersion, '1.2')
    .option('--client-ca <file>', 'require client certificates signed by this CA (PEM); others are refused at the handshake')
    .option('--host <address>', 'address to listen on (default 0.0.0.0 with a cluster, 127.0.0.1 standalone)')
    .option('--port <port>', 'HTTPS port', numberOption(0, 65535), 8443)
    .option('--metrics-port <port>', 'plain-HTTP port for /metrics and the probes, or "off"', portOrOff, 9090)
    .option('--kubeconfig <file>', 'watch the cluster of this kubeconfig (in a pod, the service account is used without it)')
    .option('--state <file>', 'standalone: YAML/JSON of what the cluster holds (Namespaces, cluster CRs, Pods); repeatable', collect, [])
    .option('--dev-certs-dir <dir>', 'standalone: where dev certificates are made and reused', '.meshguard/dev-certs')
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
    .addOption(
      new Option('--log-admissions <which>', 'admissions logged at info: "changes" (patched, warned, refused; no-op allows at debug) or "all"')
        .choices(LOG_ADMISSIONS)
        .default('changes'),
    )
    .option('--shutdown-grace-seconds <n>', 'on SIGTERM, exit within this time (keep below terminationGracePeriodSeconds)', numberOption(1, 3600), 25)
    .option('--shutdown-delay-seconds <n>', 'on SIGTERM, keep serving this long after readiness turns false, while endpoints update', numberOption(0, 600), 5)
    .option('--cert-poll-seconds <n>', 'also re-read the certificate files this often (file events can be missed)', numberOption(1, 3600), 10)
    .addHelpText(
      'after',
      `
Missing cluster CRDs: a profile whose CRD is not installed is logged once, treated as
synced and empty (readiness is not held back), and looked for again every 30 s.

Examples:
  meshguard serve --state examples/state.yaml          # standalone, dev certificates
  meshguard serve --tls-cert /tls/tls.crt --tls-key /tls/tls.key --config /etc/meshguard/config.yaml
`,
    )
    .action(async (opts: ServeOptions) => {
      try {
        await serve(opts);
      } catch (err) {
        // A catalog error is a usage or configuration problem (exit 2); anything else means
        // the server could not start (exit 1), as for sync-status.
        const code = reportError(err instanceof MeshguardError ? err : MG_ERR_START((err as Error).message), 'serve');
        // Exit now: a half-started server (informers, watchers) would keep the process alive.
        process.exit(code);
      }
    });
}
