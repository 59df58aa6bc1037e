/**
 * Helpers for the webhook e2e tests: kubectl as a child process, a `meshguard serve`
 * child process with its own dev CA, and the shipped webhook configurations pointed at it.
 *
 * The webhook configurations come from manifests/base/webhooks.yaml unchanged (rules,
 * selectors, matchConditions, failure policies, timeouts); only each webhook's
 * `clientConfig` is replaced by `url: https://127.0.0.1:<port><service path>` and the
 * caBundle of the serving certificate made here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseAllDocuments, stringify } from 'yaml';

import { createCA, issueCertificate } from '../../../certs/dev-ca.js';
import { collectLines, httpsGet } from './child-output.js';
import { eventually, sleep } from './wait.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..', '..');
export const MESHGUARD_MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');
export const SHIPPED_WEBHOOKS = path.join(ROOT, 'manifests', 'base', 'webhooks.yaml');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Doc = Record<string, any>;

export { eventually, sleep };

// YAML 1.1, as kubectl reads it: strings such as "yes", "on" or "0777" are quoted.
export const yamlOf = (docs: Doc[]): string => docs.map((d) => stringify(d, { version: '1.1' })).join('---\n');


// ---------------------------------------------------------------------------------------
// kubectl

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Kubectl {
  constructor(
    readonly kubeconfig: string,
    readonly cacheDir: string,
  ) {}

  run(args: string[], input?: string, timeoutMs = 60_000): Promise<KubectlResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('kubectl', ['--kubeconfig', this.kubeconfig, '--cache-dir', this.cacheDir, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('error', reject);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(input ?? '');
    });
  }

  async must(args: string[], input?: string): Promise<string> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  /** `kubectl create -f -` of the documents. */
  create(...docs: Doc[]): Promise<KubectlResult> {
    return this.run(['create', '-o', 'name', '-f', '-'], yamlOf(docs));
  }

  /** The stored object, or undefined when it does not exist. */
  async get(resource: string, name: string, namespace?: string): Promise<Doc | undefined> {
    const r = await this.run([...(namespace ? ['-n', namespace] : []), 'get', resource, name, '-o', 'json', '--ignore-not-found']);
    if (r.code !== 0) throw new Error(`kubectl get ${resource} ${name} failed: ${r.stderr}`);
    return r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as Doc);
  }
}

/** The `Warning:` lines kubectl printed (the admission response's warnings). */
export const warningsOf = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('Warning: '))
    .map((l) => l.slice('Warning: '.length));

// ---------------------------------------------------------------------------------------
// Serving certificate

export interface ServingCert {
  caPem: string;
  certFile: string;
  keyFile: string;
}

/** A throwaway CA and a serving certificate for 127.0.0.1 (ECDSA P-256, SHA-256), written to dir. */
export async function makeServingCert(dir: string): Promise<ServingCert> {
  const ca = await createCA('meshguard e2e webhook CA', 2);
  const leaf = await issueCertificate(ca, { commonName: 'meshguard-e2e', ip: ['127.0.0.1'], dns: ['localhost'], usage: 'server', days: 2 });
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  fs.writeFileSync(path.join(dir, 'ca.crt'), ca.cert);
  fs.writeFileSync(certFile, leaf.cert);
  fs.writeFileSync(keyFile, leaf.key, { mode: 0o600 });
  return { caPem: ca.cert, certFile, keyFile };
}

// ---------------------------------------------------------------------------------------
// meshguard serve


export class MeshguardProcess {
  readonly lines: string[] = [];
  port = 0;
  metricsPort = 0;
  private readonly exited: Promise<void>;

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    collectLines(child, this.lines);
  }

  /**
   * `meshguard serve --kubeconfig ... --tls-cert ... --tls-key ... --host 127.0.0.1` on
   * ports the kernel picks (--port 0 --metrics-port 0; the listening log line says which),
   * or on the given loopback host and port. Resolves when /readyz answers 200 over HTTPS,
   * verified with the dev CA (the certificate must name the host).
   */
  static async start(opts: { kubeconfig: string; cert: ServingCert; timeoutMs?: number; args?: string[]; host?: string; port?: number }): Promise<MeshguardProcess> {
    const host = opts.host ?? '127.0.0.1';
    const child = spawn(
      process.execPath,
      [
        MESHGUARD_MAIN,
        'serve',
        '--kubeconfig',
        opts.kubeconfig,
        '--tls-cert',
        opts.cert.certFile,
        '--tls-key',
        opts.cert.keyFile,
        '--host',
        host,
        '--port',
        String(opts.port ?? 0),
        '--metrics-port',
        '0',
        '--shutdown-delay-seconds',
        '0',
        '--shutdown-grace-seconds',
        '10',
        ...(opts.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBERNETES_SERVICE_HOST: '' } },
    );
    const p = new MeshguardProcess(child);
    // If this test process ends without stop() (a crash, tap's timeout), take meshguard along.
    const killOnExit = () => p.child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    try {
      await eventually(
        'meshguard to listen',
        async () => {
          if (!p.running) throw new Error(`meshguard exited:\n${p.tail()}`);
          for (const line of p.lines) {
            if (!line.startsWith('{') || !line.includes('meshguard webhook listening')) continue;
            const rec = JSON.parse(line) as { port: number; metricsPort: number | null };
            p.port = rec.port;
            p.metricsPort = rec.metricsPort ?? 0;
            return true;
          }
          return undefined;
        },
        opts.timeoutMs ?? 60_000,
      );
      await eventually(
        'meshguard /readyz',
        async () => {
          if (!p.running) throw new Error(`meshguard exited:\n${p.tail()}`);
          const r = await httpsGet(`https://${host}:${p.port}/readyz`, { ca: opts.cert.caPem }, 5000);
          if (r.status !== 200) throw new Error(`HTTP ${r.status} ${r.body}`);
          return true;
        },
        opts.timeoutMs ?? 60_000,
      );
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, SIGKILL after graceMs; resolves when the process is gone. Idempotent. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.text();
  }
}

// ---------------------------------------------------------------------------------------
// Webhook configurations

/**
 * The shipped Mutating/ValidatingWebhookConfiguration (aliases resolved), plus the entries
 * the named kustomize components add, with every webhook's clientConfig replaced by a URL
 * on 127.0.0.1:port (same path as the shipped Service reference) and the given CA bundle.
 * Nothing else changes.
 */
export function shippedWebhookConfigurations(port: number, caPem: string, file = SHIPPED_WEBHOOKS, opts: { components?: string[] } = {}): Doc[] {
  const parse = (f: string): Doc[] =>
    parseAllDocuments(fs.readFileSync(f, 'utf8'))
      .map((d) => {
        if (d.errors.length > 0) throw new Error(`${f}: ${d.errors.map((e) => e.message).join('; ')}`);
        return d.toJS({ maxAliasCount: -1 }) as Doc | null;
      })
      .filter((d): d is Doc => d !== null);
  const docs = parse(file);
  // A component's webhook entries, as its JSON patch adds them to the ValidatingWebhookConfiguration.
  for (const component of opts.components ?? []) {
    const patch = path.join(ROOT, 'manifests', 'components', component, 'webhook-patch.yaml');
    const validating = docs.find((d) => d.kind === 'ValidatingWebhookConfiguration')!;
    for (const op of parse(patch)[0] as unknown as Doc[]) {
      if (op.op !== 'add' || op.path !== '/webhooks/-') throw new Error(`${patch}: unexpected operation ${op.op} ${op.path}`);
      validating.webhooks.push(op.value);
    }
  }
  const caBundle = Buffer.from(caPem).toString('base64');
  for (const doc of docs) {
    if (!/^(Mutating|Validating)WebhookConfiguration$/.test(doc.kind)) throw new Error(`unexpected ${doc.kind} in ${file}`);
    for (const hook of doc.webhooks as Doc[]) {
      const servicePath = hook.clientConfig?.service?.path;
      if (typeof servicePath !== 'string') throw new Error(`webhook ${hook.name} has no clientConfig.service.path`);
      hook.clientConfig = { url: `https://127.0.0.1:${port}${servicePath}`, caBundle };
    }
  }
  return docs;
}
