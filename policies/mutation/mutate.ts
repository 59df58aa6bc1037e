// Mutation rules 1-4 of DESIGN.md applied to the pod part of a Pod or workload. Works on
// a copy, and writes the RFC 6902 patch (rule 5) from what it changed: the same operations,
// in the same order, as fast-json-patch's compare() of the original and the copy (a
// property test holds them equal), without walking the object twice.
import jsonpatch, { type Operation } from 'fast-json-patch';
import { finding, type Finding, type Path } from '../findings.js';
import { UNMEMOIZED, type JudgementMemo } from '../judgement-memo.js';
import type { KubeObject, NamespaceInfo, ObjectMeta, StringMap } from '../k8s.js';
import { copyForWriting, isPlainObject, podFacts } from '../k8s.js';
import { MESHES } from '../meshes/index.js';
import type { MeshOptions } from '../meshes/types.js';
import { MESH_NAMES } from '../meshes/types.js';
import { mergePorts } from '../values/port-list.js';
import type { DesiredMesh } from '../targets/desired.js';
import { ISTIO_INJECT } from '../validation/annotations.js';

export interface MutationInput {
  obj: KubeObject;
  /** Where the pod metadata/spec sit in `obj` ([] for a Pod). */
  base: Path;
  desired: DesiredMesh;
  ns: NamespaceInfo;
  options: MeshOptions;
  /** "StatefulSet prod/db-metadata" — for messages. */
  where: string;
  /** "AntflyCluster prod/db" — for messages. */
  cluster: string;
  /** false: no patch is wanted (`ops` is then [] whatever changed): judging an object reads only the findings. */
  patch?: boolean;
  /** The view's memo, when it has one: the same lists are merged for every pod part of a cluster. */
  memo?: JudgementMemo;
}

export interface MutationResult {
  mutated: KubeObject;
  findings: Finding[];
  /** The RFC 6902 operations that turn `obj` into `mutated` ([] when nothing changed, or with `patch: false`). */
  ops: Operation[];
}

/** A writable view of the template metadata maps that creates them only when written. */
class MetaWriter {
  readonly findings: Finding[] = [];
  /** Whether anything was written: most reviews of a meshed cluster change nothing. */
  wrote = false;
  constructor(
    private readonly holder: Record<string, unknown>,
    private readonly base: Path,
    private readonly where: string,
    private readonly cluster: string,
  ) {}

  private meta(): ObjectMeta {
    if (!isPlainObject(this.holder.metadata)) this.holder.metadata = {};
    return this.holder.metadata as ObjectMeta;
  }

  get(field: 'labels' | 'annotations', key: string): string | undefined {
    const m = this.holder.metadata as ObjectMeta | undefined;
    return m?.[field]?.[key];
  }

  /** Sets `key`; with `why`, replacing a different value is reported (MG207). */
  set(field: 'labels' | 'annotations', key: string, value: string, why?: string): void {
    const current = this.get(field, key);
    if (current === value) return;
    const meta = this.meta();
    const map = (meta[field] ??= {}) as StringMap;
    map[key] = value;
    this.wrote = true;
    if (current !== undefined && why !== undefined) {
      const path = [...this.base, 'metadata', field, key];
      this.findings.push(
        finding(
          'MG207',
          `${this.where}: ${field === 'labels' ? 'label' : 'annotation'} ${key}=${JSON.stringify(current)} was replaced by ${JSON.stringify(value)} ${why}. Set it in ${this.cluster} instead of the template.`,
          path,
          'warning',
          `${key}=${JSON.stringify(current)} replaced by ${JSON.stringify(value)} from ${this.cluster}`,
        ),
      );
    }
  }
}

/**
 * A copy of `obj` that shares everything except the objects on the way to the template's
 * metadata and its label/annotation maps — the only things mutation writes. Copying a
 * whole StatefulSet per review would cost more than all the rules together.
 */
const copyAlongPath = (obj: KubeObject, base: Path): { root: KubeObject; holder: Record<string, unknown> | undefined } => {
  const root: Record<string, unknown> = { ...obj };
  let cur = root;
  for (const seg of base) {
    const next = cur[seg as string];
    if (!isPlainObject(next)) return { root: root as KubeObject, holder: undefined };
    cur = cur[seg as string] = { ...next };
  }
  // The maps mutation writes to are copied key by key: keys added to a spread copy cost
  // twenty times more (see copyForWriting).
  if (isPlainObject(cur.metadata)) {
    const meta = (cur.metadata = copyForWriting(cur.metadata));
    if (isPlainObject(meta.labels)) meta.labels = copyForWriting(meta.labels);
    if (isPlainObject(meta.annotations)) meta.annotations = copyForWriting(meta.annotations);
  }
  return { root: root as KubeObject, holder: cur };
};

const escape = (seg: string | number): string => {
  const s = String(seg);
  // Most path segments hold neither character: no new string for them.
  return s.includes('~') || s.includes('/') ? s.replaceAll('~', '~0').replaceAll('/', '~1') : s;
};

const isMap = (v: unknown): v is Record<string, unknown> => isPlainObject(v);

/**
 * compare()'s operations for one label or annotation map that mutation only added keys to or
 * changed values in: replacements in reverse order of the original keys, then additions in
 * the order the keys were made.
 */
const mapOps = (before: Record<string, unknown>, after: Record<string, unknown>, path: string, ops: Operation[]): void => {
  const oldKeys = Object.keys(before);
  for (let i = oldKeys.length - 1; i >= 0; i--) {
    const k = oldKeys[i]!;
    if (after[k] !== before[k]) ops.push({ op: 'replace', path: `${path}/${escape(k)}`, value: after[k] });
  }
  const newKeys = Object.keys(after);
  if (newKeys.length === oldKeys.length) return;
  for (const k of newKeys) if (!Object.hasOwn(before, k)) ops.push({ op: 'add', path: `${path}/${escape(k)}`, value: after[k] });
};

/**
 * The patch for a template whose metadata (`before`, as sent; `after`, as mutated) differ
 * only in what MetaWriter wrote. Shapes it does not write through (a label map that is an
 * array, say) go to compare() itself, so the answer is the same whatever the input.
 */
const metadataOps = (obj: KubeObject, mutated: KubeObject, before: unknown, after: Record<string, unknown> | undefined, prefix: string): Operation[] => {
  if (after === undefined || before === after) return [];
  const path = `${prefix}/metadata`;
  // No metadata object before: the whole new one goes in (add when absent, replace when null or junk).
  if (!isMap(before)) return [{ op: before === undefined ? 'add' : 'replace', path, value: structuredClone(after) }];
  const ops: Operation[] = [];
  const oldKeys = Object.keys(before);
  for (let i = oldKeys.length - 1; i >= 0; i--) {
    const k = oldKeys[i]!;
    const was = before[k];
    const now = after[k];
    if (was === now) continue;
    if (isMap(was) && isMap(now)) mapOps(was, now, `${path}/${escape(k)}`, ops);
    else if (was === null) ops.push({ op: 'replace', path: `${path}/${escape(k)}`, value: { ...(now as object) } });
    else return jsonpatch.compare(obj, mutated);
  }
  const newKeys = Object.keys(after);
  if (newKeys.length !== oldKeys.length)
    for (const k of newKeys) if (!Object.hasOwn(before, k)) ops.push({ op: 'add', path: `${path}/${escape(k)}`, value: { ...(after[k] as object) } });
  return ops;
};

/** Kubernetes label values: at most 63 characters, alphanumeric at both ends, `-_.` inside (or empty). */
const isLabelValue = (v: string): boolean => v.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v);

export const mutatePodPart = (input: MutationInput): MutationResult => {
  const { root: mutated, holder } = copyAlongPath(input.obj, input.base);
  if (!holder) return { mutated, findings: [], ops: [] };
  const before = getPath(input.obj, input.base);
  const w = new MetaWriter(holder, input.base, input.where, input.cluster);
  const { desired } = input;

  if (desired.enabled) {
    const mesh = desired.mesh ? MESHES[desired.mesh] : undefined;
    const ex = mesh?.portExclusion;
    const crWins = `because ${input.cluster} sets it in spec.serviceMesh.annotations`;

    // Rule 1: the cluster's mesh annotations are on every pod; the CR wins. (The exclusion
    // lists are merged below, not replaced.)
    for (const k of Object.keys(desired.annotations)) if (!ex || (k !== ex.inbound && k !== ex.outbound)) w.set('annotations', k, desired.annotations[k]!, crWins);

    // Rule 2: consensus ports stay out of the proxy in both directions, merged as a set into
    // what the pod lists (or else the list the mesh would use), together with the CR's list
    // for the same key: neither side's ports may be lost.
    let added: string[] | undefined;
    if (ex) {
      for (let i = 0; i < 2; i++) {
        const key = i === 0 ? ex.inbound : ex.outbound;
        const current = w.get('annotations', key);
        const crList = desired.annotations[key];
        if (crList === undefined && desired.consensusPorts.length === 0) continue;
        const start = current ?? ex.startValue?.(key, input.ns);
        const judgements = input.memo ?? UNMEMOIZED;
        const withCr = judgements.mergePorts(start, [], ex, crList);
        const next = judgements.mergePorts(withCr, desired.consensusPorts, ex);
        if (next === current) continue;
        w.set('annotations', key, next);
        if (next !== withCr) (added ??= []).push(`${key}=${JSON.stringify(next)}`);
      }
    }
    // One finding for both directions: it is one fact about the template.
    if (added !== undefined) {
      const annotationsPath: Path = [...input.base, 'metadata', 'annotations'];
      w.findings.push(
        finding(
          'MG206',
          `${input.where}: consensus ports ${desired.consensusPorts.join(',')} were not excluded from the ${mesh!.title} proxy; meshguard sets ${added.join(' and ')}.`,
          added.length === 1 ? [...annotationsPath, added[0]!.slice(0, added[0]!.indexOf('='))] : annotationsPath,
        ),
      );
    }
    if (mesh && !ex && desired.consensusPorts.length > 0) {
      w.findings.push(
        finding(
          'MG206',
          `${input.where}: ${mesh.title} cannot exclude ports, so Raft traffic on ${desired.consensusPorts.join(',')} goes through ztunnel; expect added consensus latency.`,
          [...input.base, 'metadata', 'annotations'],
          'warning',
          `${mesh.title} cannot exclude ports: Raft on ${desired.consensusPorts.join(',')} goes through ztunnel`,
        ),
      );
    }

    // Rule 3: Istio reads the label form of the inject switch.
    if (desired.mesh === 'istio') {
      const crValue = desired.annotations[ISTIO_INJECT];
      const annotation = w.get('annotations', ISTIO_INJECT);
      // A value that is not a valid label value is left to MG103: as a label the API server
      // would refuse the whole object with an unrelated error.
      if (crValue !== undefined) {
        if (isLabelValue(crValue)) w.set('labels', ISTIO_INJECT, crValue, `to match ${input.cluster}'s ${ISTIO_INJECT} (Istio reads the label, not the annotation)`);
      } else if (annotation !== undefined && isLabelValue(annotation) && w.get('labels', ISTIO_INJECT) === undefined) w.set('labels', ISTIO_INJECT, annotation);
    }
  } else {
    // Rule 4: a disabled cluster's pods opt out of whatever mesh would take them.
    const meta = holder.metadata as ObjectMeta | undefined;
    const facts = podFacts(meta, holder.spec as never);
    for (const name of MESH_NAMES) {
      const mesh = MESHES[name];
      const d = mesh.wouldMesh(facts, input.ns, input.options);
      if (!d.value) continue;
      const why = `because ${input.cluster} has serviceMesh.enabled: false (${d.reason})`;
      for (const [k, v] of Object.entries(mesh.optOut.labels ?? {})) w.set('labels', k, v, why);
      for (const [k, v] of Object.entries(mesh.optOut.annotations ?? {})) w.set('annotations', k, v, why);
    }
  }
  if (!w.wrote || input.patch === false) return { mutated, findings: w.findings, ops: [] };
  let prefix = '';
  for (const seg of input.base) prefix += `/${escape(seg)}`;
  return { mutated, findings: w.findings, ops: metadataOps(input.obj, mutated, before?.metadata, holder.metadata as Record<string, unknown>, prefix) };
};

/** The object at `path` in `obj` (copyAlongPath checked that each step is a plain object). */
const getPath = (obj: KubeObject, path: Path): Record<string, unknown> | undefined => {
  let cur: unknown = obj;
  for (const seg of path) cur = (cur as Record<string, unknown>)[seg as string];
  return cur as Record<string, unknown> | undefined;
};

