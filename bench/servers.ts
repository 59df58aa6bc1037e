// What the server benchmarks (and the fuzz tier's server) share: free ports, a process's
// memory, readiness polling and the node flags meshguard's image runs with in its container.
import type autocannon from 'autocannon';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = new URL('../', import.meta.url).pathname;

/** The value given after `--name` on the benchmark's command line, if any. */
export const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`, 2);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

/** Resident and peak resident memory of a process, in MB. */
export const rssMb = (pid: number): { rss: number; peak: number } => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 102.4) / 10, peak: Math.round(kb('VmHWM') / 102.4) / 10 };
};

/** utime + stime of a process, in seconds (clock ticks of 1/100 s on Linux). */
export const cpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** GET `path` on 127.0.0.1:port (HTTPS with `ca`, else plain HTTP): true on a 200. */
const probe = (port: number, path: string, ca?: string): Promise<boolean> =>
  new Promise((resolve) => {
    const opts = { host: '127.0.0.1', port, path, agent: false as const };
    const req = ca ? httpsRequest({ ...opts, servername: 'localhost', ca }) : httpRequest(opts);
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });

export async function waitReady(child: ChildProcess, port: number, opts: { ca?: string; path?: string; what: string }): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${opts.what} exited with ${child.exitCode}`);
    if (await probe(port, opts.path ?? '/readyz', opts.ca)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${opts.what} did not become ready`);
}

export type Container = 'webhook' | 'status-syncer';

/** A container of the Deployment in manifests/base/deployment.yaml. */
const deployedContainer = (container: Container) => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'manifests/base/deployment.yaml'), 'utf8')).map((d) => d.toJS());
  const deployment = docs.find((d) => d?.kind === 'Deployment');
  return deployment?.spec?.template?.spec?.containers?.find((x: { name: string }) => x.name === container);
};

/** The memory request and limit of a container of manifests/base/deployment.yaml. */
export const containerResources = (container: Container): { request?: string; limit?: string } => {
  const c = deployedContainer(container);
  return { request: c?.resources?.requests?.memory, limit: c?.resources?.limits?.memory };
};

/** The NODE_OPTIONS `container` is given in manifests/base/deployment.yaml, split into flags. */
export const containerNodeOptions = (container: Container): string[] => {
  const value = deployedContainer(container)?.env?.find((e: { name: string }) => e.name === 'NODE_OPTIONS')?.value as string | undefined;
  return value?.split(' ').filter(Boolean) ?? [];
};

/** A quantity in Mi as bytes. */
export const miBytes = (q: string | undefined): number | undefined => (q && /^\d+Mi$/.test(q) ? Number(q.slice(0, -2)) * 1024 * 1024 : undefined);

/**
 * The node flags `container` runs with as deployed: the image's ENTRYPOINT flags, then the
 * NODE_OPTIONS manifests/base/deployment.yaml gives it (which replace the image's default).
 * In the cluster `--max-old-space-size-percentage` is a share of the cgroup's memory limit;
 * here (no limit) it would be a share of the whole machine, so it becomes the
 * `--max-old-space-size` the container gets.
 */
export const imageNodeFlags = (container: Container = 'webhook'): string[] => {
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
  if (!entrypoint) throw new Error('Dockerfile: no exec-form ENTRYPOINT');
  return [...(JSON.parse(entrypoint) as string[]).filter((a) => a.startsWith('--')), ...containerNodeOptions(container)].map((flag) => {
    const pct = /^--max-old-space-size-percentage=([\d.]+)$/.exec(flag)?.[1];
    if (pct === undefined) return flag;
    const limit = miBytes(containerResources(container).limit);
    if (limit === undefined) throw new Error(`manifests/base/deployment.yaml: no memory limit in Mi on the ${container} container`);
    return `--max-old-space-size=${Math.floor((limit / 1024 / 1024) * (Number(pct) / 100))}`;
  });
};

export type Webhook = 'mutate' | 'validate';

/** The reviews both server benchmarks post, as compact JSON: a 7.9 KB StatefulSet and a 5.2 KB Pod. */
export const REVIEWS: Record<Webhook, string> = {
  mutate: JSON.stringify(JSON.parse(readFileSync(join(ROOT, 'examples/admission-review-statefulset.json'), 'utf8'))),
  validate: JSON.stringify(JSON.parse(readFileSync(join(ROOT, 'examples/admission-review-pod.json'), 'utf8'))),
};

/** autocannon posting `webhook`'s review over keep-alive HTTPS, as the API server calls a webhook. */
export const reviewLoad = (port: number, webhook: Webhook, ca: string, connections: number): autocannon.Options =>
  ({
    url: `https://127.0.0.1:${port}/${webhook}?timeout=10s`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: REVIEWS[webhook],
    connections,
    servername: 'localhost',
    tlsOptions: { ca },
  }) as autocannon.Options;
