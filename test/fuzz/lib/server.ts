// The fuzz tier's server: the built `meshguard serve` as a child process, started the way
// the image starts it in its container (same node flags, the heap sized from the container's
// memory limit), standalone on examples/state.yaml with its own dev certificates, so that its
// peak resident memory can be read from /proc.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, type Agent } from 'node:https';
import { containerResources, imageNodeFlags, miBytes } from '../../../bench/servers.js';

export const ROOT = new URL('../../../', import.meta.url).pathname;
export const BIN = join(ROOT, 'dist', 'cli', 'main.js');
export const STATE = join(ROOT, 'examples', 'state.yaml');
/** The webhook container's memory limit in manifests/base/deployment.yaml, in bytes. */
export const webhookMemoryLimit = (): number => {
  const limit = miBytes(containerResources('webhook').limit);
  if (limit === undefined) throw new Error('manifests/base/deployment.yaml: no memory limit in Mi on the webhook container');
  return limit;
};

const NODE_FLAGS = imageNodeFlags('webhook');

export interface FuzzServer {
  port: number;
  ca: string;
  pid: number;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peakRss(): number;
  stop(): Promise<void>;
}

export async function startFuzzServer(bin = BIN, extraArgs: string[] = []): Promise<FuzzServer> {
  const dir = mkdtempSync(join(tmpdir(), 'meshguard-fuzz-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [...NODE_FLAGS, bin, 'serve', '--port', '0', '--metrics-port', 'off', '--dev-certs-dir', dir, '--state', STATE, '--log-level', 'info', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += String(c)));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const onData = (c: Buffer) => {
      buf += String(c);
      for (const line of buf.split('\n')) {
        if (!line.includes('meshguard webhook listening')) continue;
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining the admission log
        resolve(JSON.parse(line).port as number);
        return;
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`meshguard serve exited (${code}) before listening:\n${stderr}`)));
  });
  return {
    port,
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    pid: child.pid!,
    peakRss() {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : NaN;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGKILL');
      }),
  };
}

export interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** One POST; a connection the server drops counts as an answer with status 0. */
export function post(server: FuzzServer, path: string, body: string | Buffer, headers: Record<string, string> = {}, agent?: Agent): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: server.port,
        path,
        method: 'POST',
        ca: server.ca,
        agent: agent ?? false,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => resolve({ status: 0, contentType: '', body: '' }));
      },
    );
    req.on('error', () => resolve({ status: 0, contentType: '', body: '' }));
    req.end(body);
  });
}

/** `meshguard review` on the same bytes, against the same state as the server. */
export function cliReview(webhook: 'mutate' | 'validate', body: string): { code: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, 'review', '--webhook', webhook, '--state', STATE, '-'], { input: body, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout };
}
