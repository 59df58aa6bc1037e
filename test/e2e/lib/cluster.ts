/**
 * End-to-end test cluster: a real etcd and a real kube-apiserver (no controller-manager,
 * no scheduler, no kubelet) on free loopback ports, the way envtest runs them.
 *
 * The binaries come from test/e2e/.cache/bin (built by test/e2e/build.sh, `make e2e`).
 * Everything a cluster needs (certificates, keys, kubeconfig, etcd data, logs) lives in
 * one temporary directory that stop() removes. Processes run in their own process groups
 * and are killed on stop(), on process exit and on SIGINT/SIGTERM/SIGHUP; a small
 * watchdog also kills them if this process dies without running any handler (SIGKILL).
 *
 * Notes for tests:
 * - The ServiceAccount admission plugin is disabled (no controller creates the `default`
 *   ServiceAccount), so pods can be created without one.
 * - No controllers run: Deployments create no ReplicaSets, namespaces deleted stay
 *   `Terminating`, pods stay Pending (no scheduler), garbage is never collected.
 * - The admin identity is a client certificate with O=system:masters.
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect polyfill
// loaded before it.
import { httpsGet } from './child-output.js';
import 'reflect-metadata';

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, webcrypto } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { KubeConfig } from '@kubernetes/client-node';
import * as x509 from '@peculiar/x509';
import { stringify as toYaml } from 'yaml';

export interface StartClusterOptions {
  /** Directory holding `kube-apiserver` and `etcd`. Default: $MESHGUARD_E2E_BIN_DIR or test/e2e/.cache/bin. */
  binDir?: string;
  /** How long to wait for etcd health and for the apiserver's /readyz, per start. Default 120 s. */
  startTimeoutMs?: number;
  /** Extra kube-apiserver flags (`--name=value`), appended after the defaults (a later flag wins). */
  apiServerArgs?: string[];
  /** Keep the temporary directory (logs, certificates) after stop(). Default: $MESHGUARD_E2E_KEEP_TMP === '1'. */
  keepTempDir?: boolean;
  /** Progress messages (default: none). Tap tests can pass `(m) => t.comment(m)`. */
  log?: (message: string) => void;
}

export interface TestCluster {
  /** Temporary directory with certificates, kubeconfig, etcd data and logs. */
  readonly dir: string;
  /** A kubeconfig (admin, client certificate) usable by @kubernetes/client-node and kubectl. */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Loaded from kubeconfigPath. */
  readonly kubeConfig: KubeConfig;
  /** PEM of the CA that signed the apiserver's serving certificate and the admin client certificate. */
  readonly caPem: string;
  /** http://127.0.0.1:<port> (plain HTTP, loopback only). */
  readonly etcdEndpoint: string;
  /** Log files of the two processes. */
  readonly logs: { readonly etcd: string; readonly apiServer: string };
  /** Last lines of a log, for failure messages. */
  logTail(which: 'etcd' | 'apiServer', lines?: number): string;
  /** Stops kube-apiserver and starts it again on the same port and etcd; resolves when /readyz is ok. */
  restartApiServer(): Promise<void>;
  /** Kills both processes and removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const E2E_DIR = path.resolve(HERE, '..');
const DEFAULT_BIN_DIR = path.join(E2E_DIR, '.cache', 'bin');
const LOOPBACK = '127.0.0.1';

// ---------------------------------------------------------------------------------------
// Binaries

function locateBinaries(binDir: string): { apiServer: string; etcd: string } {
  const apiServer = path.join(binDir, 'kube-apiserver');
  const etcd = path.join(binDir, 'etcd');
  const missing = [apiServer, etcd].filter((p) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(
      `e2e binaries missing: ${missing.join(', ')}.\n` +
        `Build them first with \`make e2e\` or \`test/e2e/build.sh\` (needs Go; see test/e2e/README.md).`,
    );
  }
  return { apiServer, etcd };
}

// ---------------------------------------------------------------------------------------
// Certificates and keys

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

interface Pki {
  caPem: string;
  servingCertPem: string;
  servingKeyPem: string;
  adminCertPem: string;
  adminKeyPem: string;
  saPublicPem: string;
  saPrivatePem: string;
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function publicKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('spki', key), 'PUBLIC KEY');
}

async function createPki(): Promise<Pki> {
  const notBefore = new Date(Date.now() - 5 * 60_000);
  const notAfter = new Date(Date.now() + 7 * 24 * 3600_000);
  const serial = () => `01${createHash('sha256').update(webcrypto.getRandomValues(new Uint8Array(16))).digest('hex').slice(0, 30)}`;

  const caKeys = await newKeyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=meshguard-e2e-ca',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const leaf = async (subject: string, usage: x509.ExtendedKeyUsage, san?: x509.JsonGeneralNames) => {
    const keys = await newKeyPair();
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([usage]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ];
    if (san) extensions.push(new x509.SubjectAlternativeNameExtension(san));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: SIGN_ALG,
      extensions,
    });
    return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
  };

  const serving = await leaf('CN=kube-apiserver', x509.ExtendedKeyUsage.serverAuth, [
    { type: 'ip', value: LOOPBACK },
    { type: 'dns', value: 'localhost' },
    { type: 'dns', value: 'kubernetes' },
    { type: 'dns', value: 'kubernetes.default' },
    { type: 'dns', value: 'kubernetes.default.svc' },
  ]);
  const admin = await leaf('CN=meshguard-e2e-admin, O=system:masters', x509.ExtendedKeyUsage.clientAuth);
  const saKeys = await newKeyPair();

  return {
    caPem: ca.toString('pem'),
    servingCertPem: serving.certPem,
    servingKeyPem: serving.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    saPublicPem: await publicKeyPem(saKeys.publicKey),
    saPrivatePem: await privateKeyPem(saKeys.privateKey),
  };
}

// ---------------------------------------------------------------------------------------
// Processes

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function tail(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return `(no log at ${file})`;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process in its own process group, logging to a file, with its pgid in `<dir>/<name>.pgid`. */
class GroupProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  exitInfo: string | undefined;

  constructor(
    readonly name: string,
    private readonly bin: string,
    private readonly args: string[],
    readonly logPath: string,
    private readonly pgidFile: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const fd = fs.openSync(this.logPath, 'a');
    fs.writeSync(fd, `\n==== ${new Date().toISOString()} starting ${this.name}: ${this.bin} ${this.args.join(' ')}\n`);
    let child: ChildProcess;
    try {
      child = spawn(this.bin, this.args, { detached: true, stdio: ['ignore', fd, fd] });
    } finally {
      fs.closeSync(fd);
    }
    this.child = child;
    this.exitInfo = undefined;
    // Do not keep the event loop alive for the child: if a test forgets stop(), the
    // process still ends and the exit handler kills the group.
    child.unref();
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
        if (this.child === child) this.child = undefined;
        try {
          fs.unlinkSync(this.pgidFile);
        } catch {
          /* already gone */
        }
        resolve();
      });
      child.once('error', (err) => {
        this.exitInfo = `failed to start: ${err.message}`;
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    if (child.pid !== undefined) fs.writeFileSync(this.pgidFile, `${child.pid}\n`);
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** SIGTERM to the group, SIGKILL after graceMs. */
  async stop(graceMs = 15_000): Promise<void> {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running) return;
    killGroup(pid, 'SIGTERM');
    const timer = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.exited.then(() => 'exited' as const), timer])) === 'timeout') {
      killGroup(pid, 'SIGKILL');
      await this.exited;
    }
  }

  /** Synchronous last resort (exit handlers). */
  killNow(): void {
    const pid = this.child?.pid;
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* group already gone */
  }
}

/**
 * A detached shell that waits for this Node process to disappear and then kills every
 * process group recorded in `<dir>/*.pgid` and removes the directory. Covers SIGKILL of
 * the test process (tap's timeout escalation), where no JS handler runs.
 */
function startWatchdog(dir: string, removeDir: boolean): ChildProcess {
  const script = [
    'parent="$1"; dir="$2"; rmdir_too="$3"',
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
    'for f in "$dir"/*.pgid; do [ -f "$f" ] && kill -9 -"$(cat "$f")" 2>/dev/null; done',
    '[ "$rmdir_too" = 1 ] && rm -rf "$dir"',
    'exit 0',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', script, 'meshguard-e2e-watchdog', String(process.pid), dir, removeDir ? '1' : '0'], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child;
}

// ---------------------------------------------------------------------------------------
// Readiness

interface TlsClient {
  ca: string;
  cert: string;
  key: string;
}


async function waitFor(
  what: string,
  proc: GroupProcess,
  timeoutMs: number,
  probe: () => Promise<string | true>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not probed yet';
  for (;;) {
    if (!proc.running) {
      throw new Error(`${proc.name} ${proc.exitInfo ?? 'is not running'} before ${what}.\n` + `--- last lines of ${proc.logPath} ---\n${tail(proc.logPath, 40)}`);
    }
    try {
      const r = await probe();
      if (r === true) return;
      last = r;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what} (last probe: ${last.slice(0, 2000)}).\n` +
          `--- last lines of ${proc.logPath} ---\n${tail(proc.logPath, 40)}`,
      );
    }
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------
// Cleanup on exit

const live = new Set<ClusterImpl>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.killNow();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      for (const c of live) c.killNow();
      process.removeListener(sig, onSignal);
      // Re-raise for the default action unless someone else (e.g. tap) handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

// ---------------------------------------------------------------------------------------
// Cluster

class ClusterImpl implements TestCluster {
  readonly kubeConfig = new KubeConfig();
  readonly logs: { etcd: string; apiServer: string };
  private stopped = false;
  private watchdog: ChildProcess | undefined;

  constructor(
    readonly dir: string,
    readonly kubeconfigPath: string,
    readonly server: string,
    readonly caPem: string,
    readonly etcdEndpoint: string,
    private readonly etcd: GroupProcess,
    private readonly apiServer: GroupProcess,
    private readonly tls: TlsClient,
    private readonly timeoutMs: number,
    private readonly keepTempDir: boolean,
    private readonly log: (m: string) => void,
  ) {
    this.logs = { etcd: etcd.logPath, apiServer: apiServer.logPath };
  }

  logTail(which: 'etcd' | 'apiServer', lines = 40): string {
    return tail(which === 'etcd' ? this.logs.etcd : this.logs.apiServer, lines);
  }

  async boot(): Promise<void> {
    live.add(this);
    this.watchdog = startWatchdog(this.dir, !this.keepTempDir);
    this.etcd.start();
    await waitFor('etcd health', this.etcd, this.timeoutMs, async () => {
      const res = await fetch(`${this.etcdEndpoint}/health`, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      return res.ok && /"health"\s*:\s*"true"/.test(body) ? true : `HTTP ${res.status} ${body}`;
    });
    this.log(`etcd ready at ${this.etcdEndpoint}`);
    await this.startApiServer();
    this.kubeConfig.loadFromFile(this.kubeconfigPath);
  }

  private async startApiServer(): Promise<void> {
    const t0 = Date.now();
    this.apiServer.start();
    await waitFor(`${this.server}/readyz`, this.apiServer, this.timeoutMs, async () => {
      const res = await httpsGet(`${this.server}/readyz`, this.tls, 5000);
      if (res.status === 200) return true;
      // /readyz lists every check; keep the failing ones ("[-]name failed: ...").
      const failing = res.body.split('\n').filter((l) => l.startsWith('[-]'));
      return `HTTP ${res.status} ${failing.length > 0 ? failing.join('; ') : res.body}`;
    });
    this.log(`kube-apiserver ready at ${this.server} in ${Date.now() - t0} ms`);
  }

  async restartApiServer(): Promise<void> {
    if (this.stopped) throw new Error('cluster is stopped');
    this.log('restarting kube-apiserver');
    await this.apiServer.stop();
    await this.startApiServer();
  }

  killNow(): void {
    this.apiServer.killNow();
    this.etcd.killNow();
    if (this.watchdog?.pid !== undefined) killGroup(this.watchdog.pid, 'SIGKILL');
    if (!this.keepTempDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.apiServer.stop(10_000);
      await this.etcd.stop(10_000);
    } finally {
      if (this.watchdog?.pid !== undefined) killGroup(this.watchdog.pid, 'SIGKILL');
      live.delete(this);
      if (this.keepTempDir) this.log(`kept ${this.dir}`);
      else fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

function writeFile(file: string, content: string, mode = 0o600): string {
  fs.writeFileSync(file, content, { mode });
  return file;
}

/** Starts etcd and kube-apiserver on free loopback ports; resolves once /readyz answers ok. */
export async function startCluster(opts: StartClusterOptions = {}): Promise<TestCluster> {
  // A free port is found by binding port 0 and closing it, so another process can take it
  // before etcd or kube-apiserver binds it; start over with new ports when that happens.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test((err as Error).message)) throw err;
      opts.log?.(`port taken while starting (attempt ${attempt}), retrying with new ports`);
    }
  }
}

async function startClusterOnce(opts: StartClusterOptions): Promise<TestCluster> {
  const bins = locateBinaries(opts.binDir ?? process.env.MESHGUARD_E2E_BIN_DIR ?? DEFAULT_BIN_DIR);
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  const keepTempDir = opts.keepTempDir ?? process.env.MESHGUARD_E2E_KEEP_TMP === '1';
  const log = opts.log ?? (() => {});
  installExitHandlers();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshguard-e2e-'));
  let cluster: ClusterImpl | undefined;
  try {
    const pki = await createPki();
    const f = (name: string, content: string) => writeFile(path.join(dir, name), content);
    const caFile = f('ca.crt', pki.caPem);
    const servingCert = f('apiserver.crt', pki.servingCertPem);
    const servingKey = f('apiserver.key', pki.servingKeyPem);
    const saPub = f('sa.pub', pki.saPublicPem);
    const saKey = f('sa.key', pki.saPrivatePem);
    f('admin.crt', pki.adminCertPem);
    f('admin.key', pki.adminKeyPem);

    const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdEndpoint = `http://${LOOPBACK}:${etcdClientPort}`;
    const etcdPeer = `http://${LOOPBACK}:${etcdPeerPort}`;
    const server = `https://${LOOPBACK}:${apiPort}`;

    const etcd = new GroupProcess(
      'etcd',
      bins.etcd,
      [
        '--name=e2e',
        `--data-dir=${path.join(dir, 'etcd-data')}`,
        `--listen-client-urls=${etcdEndpoint}`,
        `--advertise-client-urls=${etcdEndpoint}`,
        `--listen-peer-urls=${etcdPeer}`,
        `--initial-advertise-peer-urls=${etcdPeer}`,
        `--initial-cluster=e2e=${etcdPeer}`,
        '--initial-cluster-state=new',
        // Test data need not survive a power loss; fsync dominates small-write latency.
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      path.join(dir, 'etcd.log'),
      path.join(dir, 'etcd.pgid'),
    );

    const certDir = path.join(dir, 'apiserver-certs');
    fs.mkdirSync(certDir);
    const apiServer = new GroupProcess(
      'kube-apiserver',
      bins.apiServer,
      [
        `--bind-address=${LOOPBACK}`,
        `--advertise-address=${LOOPBACK}`,
        `--secure-port=${apiPort}`,
        `--etcd-servers=${etcdEndpoint}`,
        `--cert-dir=${certDir}`,
        `--tls-cert-file=${servingCert}`,
        `--tls-private-key-file=${servingKey}`,
        `--client-ca-file=${caFile}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        // A flag value for the Service IP allocator; no traffic goes there.
        '--service-cluster-ip-range=10.0.0.0/24',
        // The `kubernetes` Endpoints would point at a loopback address, which the API rejects.
        '--endpoint-reconciler-type=none',
        '--authorization-mode=RBAC',
        // No controller-manager creates `default` ServiceAccounts.
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        '--enable-priority-and-fairness=false',
        '--profiling=false',
        '--v=1',
        ...(opts.apiServerArgs ?? []),
      ],
      path.join(dir, 'kube-apiserver.log'),
      path.join(dir, 'kube-apiserver.pgid'),
    );

    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const kubeconfigPath = f(
      'kubeconfig',
      toYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'e2e', cluster: { server, 'certificate-authority-data': b64(pki.caPem) } }],
        users: [{ name: 'e2e-admin', user: { 'client-certificate-data': b64(pki.adminCertPem), 'client-key-data': b64(pki.adminKeyPem) } }],
        contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'e2e-admin' } }],
        'current-context': 'e2e',
      }),
    );

    cluster = new ClusterImpl(
      dir,
      kubeconfigPath,
      server,
      pki.caPem,
      etcdEndpoint,
      etcd,
      apiServer,
      { ca: pki.caPem, cert: pki.adminCertPem, key: pki.adminKeyPem },
      timeoutMs,
      keepTempDir,
      log,
    );
    await cluster.boot();
    return cluster;
  } catch (err) {
    if (cluster) await cluster.stop().catch(() => {});
    else fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
