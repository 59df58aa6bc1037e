// One `meshguard sync-status` child process on a test cluster, and its metrics endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { collectLines } from './child-output.js';
import { eventually } from './wait.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(HERE, '..', '..', '..', 'dist', 'cli', 'main.js');
export const LEASE_NS = 'meshguard-system';

/** One `meshguard sync-status` child process and its metrics. */
export class SyncerProcess {
  readonly lines: string[] = [];
  port = 0;
  identity = '';
  private exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    collectLines(child, this.lines);
  }

  static async start(name: string, kubeconfig: string, extra: string[] = []): Promise<SyncerProcess> {
    const child = spawn(
      process.execPath,
      [MAIN, 'sync-status', `--kubeconfig=${kubeconfig}`, '--metrics-host=127.0.0.1', '--metrics-port=0', '--resync-seconds=3', '--log-level=debug', ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_NAME: name, POD_NAMESPACE: LEASE_NS } },
    );
    const p = new SyncerProcess(name, child);
    await eventually(`${name} to start`, async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${p.lines.slice(-20).join('\n')}`);
      for (const line of p.lines) {
        const m = /^\{.*"msg":"status syncer started".*\}$/.exec(line);
        if (!m) continue;
        const rec = JSON.parse(line) as { metricsPort: number; leaderElection?: { identity: string } | false };
        p.port = rec.metricsPort;
        p.identity = rec.leaderElection ? rec.leaderElection.identity : '';
        return true;
      }
      return undefined;
    }, 30_000);
    return p;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async get(route: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.port}${route}`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
  }

  /** Value of a sample (`name` or `name{label="v"}`), 0 when absent. */
  async metric(sample: string): Promise<number> {
    const { body } = await this.get('/metrics');
    for (const line of body.split('\n')) {
      if (line.startsWith('#')) continue;
      const sp = line.lastIndexOf(' ');
      if (line.slice(0, sp) === sample) return Number(line.slice(sp + 1));
    }
    return 0;
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }

  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }
}

