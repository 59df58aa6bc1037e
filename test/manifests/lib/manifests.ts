// Shared by test/manifests (offline) and test/e2e/manifests.test.ts: render the kustomize
// entry points under manifests/ with `kubectl kustomize`, parse the output, and check
// each document against the Kubernetes (and cert-manager / Prometheus Operator) schemas
// shipped by the kubernetes-models packages.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { parseAllDocuments } from 'yaml';

import { writeDevCerts } from '../../../certs/dev-ca.js';

const run = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const MANIFESTS_DIR = path.join(REPO_ROOT, 'manifests');
export const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');

/** Installable entry points (`kubectl apply -k manifests/<name>`), plus the base. */
export const OVERLAYS = ['cert-manager', 'manual-tls', 'mesh', 'monitoring'] as const;
export type Overlay = (typeof OVERLAYS)[number] | 'base';
/** Overlays that get their certificate from cert-manager. */
export const CERT_MANAGER_OVERLAYS: readonly Overlay[] = ['cert-manager', 'mesh', 'monitoring'];

export const NAMESPACE = 'meshguard-system';
/** What the API server dials for a webhook service reference: <service>.<namespace>.svc */
export const SERVICE_DNS = ['meshguard.meshguard-system.svc', 'meshguard.meshguard-system.svc.cluster.local'];

// Loose object shape: the tests read many different kinds.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Doc = Record<string, any>;

export interface Rendered {
  overlay: Overlay;
  yaml: string;
  docs: Doc[];
}

/**
 * A copy of manifests/ in a temporary directory, with manual-tls/certs filled in by the
 * code behind `meshguard certs` (the overlay does not render without them). The copy
 * keeps generated keys out of the work tree.
 */
export async function prepareManifests(): Promise<{ dir: string; caPem: string; cleanup: () => void }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshguard-manifests-'));
  const dir = path.join(tmp, 'manifests');
  fs.cpSync(MANIFESTS_DIR, dir, {
    recursive: true,
    // A developer's own certificates in the work tree are not the test's business.
    filter: (src) => !src.startsWith(path.join(MANIFESTS_DIR, 'manual-tls', 'certs')),
  });
  const certs = await writeDevCerts(path.join(dir, 'manual-tls', 'certs'), { dns: SERVICE_DNS, ip: [] });
  return {
    dir,
    caPem: fs.readFileSync(certs.caCert, 'utf8'),
    cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }),
  };
}

/** `kubectl kustomize <dir>/<overlay>`, parsed. */
export async function render(manifestsDir: string, overlay: Overlay): Promise<Rendered> {
  let stdout: string;
  try {
    ({ stdout } = await run('kubectl', ['kustomize', path.join(manifestsDir, overlay)], { maxBuffer: 32 * 1024 * 1024, timeout: 120_000 }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('kubectl not found on PATH: the manifest tests render with `kubectl kustomize`');
    throw new Error(`kubectl kustomize ${overlay} failed: ${e.stderr ?? e.message}`);
  }
  return { overlay, yaml: stdout, docs: parseDocs(stdout) };
}

export function parseDocs(text: string): Doc[] {
  const docs: Doc[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) throw new Error(`unparsable YAML: ${d.errors.map((e) => e.message).join('; ')}`);
    const v = d.toJS() as Doc | null;
    if (v) docs.push(v);
  }
  return docs;
}

export const ref = (d: Doc): string =>
  `${d.apiVersion}/${d.kind} ${d.metadata?.namespace ? `${d.metadata.namespace}/` : ''}${d.metadata?.name}`;

export function find(docs: Doc[], kind: string, name?: string): Doc[] {
  return docs.filter((d) => d.kind === kind && (name === undefined || d.metadata?.name === name));
}

export function one(docs: Doc[], kind: string, name?: string): Doc {
  const found = find(docs, kind, name);
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

// ---------------------------------------------------------------------------------------
// Schemas

type ModelClass = new (data: unknown) => { validate(): void };
type ModelModule = Record<string, unknown>;

/** apiVersion → the kubernetes-models module with its kinds. */
const SCHEMA_MODULES: Record<string, () => Promise<ModelModule>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'policy/v1': () => import('kubernetes-models/policy/v1'),
  'networking.k8s.io/v1': () => import('kubernetes-models/networking.k8s.io/v1'),
  'rbac.authorization.k8s.io/v1': () => import('kubernetes-models/rbac.authorization.k8s.io/v1'),
  'admissionregistration.k8s.io/v1': () => import('kubernetes-models/admissionregistration.k8s.io/v1'),
  'coordination.k8s.io/v1': () => import('kubernetes-models/coordination.k8s.io/v1'),
  'cert-manager.io/v1': () => import('@kubernetes-models/cert-manager/cert-manager.io/v1'),
  'monitoring.coreos.com/v1': () => import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'),
};

/**
 * Kinds with no schema package: checked field by field by the tests instead. Anything not
 * here and not in SCHEMA_MODULES fails validation, so a new kind cannot slip through.
 */
export const NO_OFFLINE_SCHEMA = new Set(['security.istio.io/v1/PeerAuthentication']);

/** Kinds the e2e API server does not serve (CRDs of other projects). */
export const FOREIGN_API_GROUPS = new Set(['cert-manager.io', 'monitoring.coreos.com', 'security.istio.io']);
export const apiGroup = (d: Doc): string => (String(d.apiVersion).includes('/') ? String(d.apiVersion).split('/')[0]! : '');

/**
 * kustomize line-wraps base64 it generates (Secret data, and so the caBundle copied from
 * it). The API server decodes with Go's base64, which skips line breaks, so such
 * values are valid; the schema's "byte" pattern is stricter, so the breaks are removed
 * before validation. (The e2e dry-run apply sends the rendered text as it is.)
 */
function withoutBase64Breaks(d: Doc): Doc {
  const copy = structuredClone(d);
  const strip = (v: unknown) => (typeof v === 'string' ? v.replace(/\s+/g, '') : v);
  if (copy.kind === 'Secret' && copy.data) for (const k of Object.keys(copy.data)) copy.data[k] = strip(copy.data[k]);
  for (const w of (copy.webhooks as Doc[] | undefined) ?? []) {
    if (w.clientConfig?.caBundle !== undefined) w.clientConfig.caBundle = strip(w.clientConfig.caBundle);
  }
  return copy;
}

/** undefined when valid, else the schema errors. */
export async function schemaProblem(d: Doc): Promise<string | undefined> {
  const key = `${d.apiVersion}/${d.kind}`;
  if (NO_OFFLINE_SCHEMA.has(key)) return undefined;
  const load = SCHEMA_MODULES[d.apiVersion as string];
  if (!load) return `no schema known for apiVersion ${d.apiVersion}`;
  const Model = (await load())[d.kind as string] as ModelClass | undefined;
  if (typeof Model !== 'function') return `no schema known for ${key}`;
  try {
    new Model(withoutBase64Breaks(d)).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
