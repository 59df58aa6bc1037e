// `inject` edits the user's YAML document in place (comments and key order survive) with
// the RFC 6902 operations that turn the parsed object into the mutated one. The YAML a
// person writes shares nodes: an anchor (`&labels`) read again through aliases (`*labels`)
// or merge keys (`<<: *base`). The API server sees none of that (kubectl sends JSON), so an
// edit meant for the pod template must land in a node only the template owns: editing the
// shared node would also change every alias of it, e.g. a StatefulSet's immutable
// spec.selector. So before an edit, every node on its path is made the template's own:
//   - an alias on the path is replaced by a plain copy of what it points to;
//   - a key that only a merge provides gets an explicit copy, written after the `<<` (an
//     explicit key after a merge wins for go-yaml v2, which kubectl uses, and for js-yaml);
//   - an anchored node on the path that aliases elsewhere read has those aliases replaced
//     by plain copies of its value before the edit, so they keep reading the old value.
// Copies are plain (no anchors of their own), so no alias later in the file can be
// captured by a copied anchor.
import type jsonpatch from 'fast-json-patch';
import { isAlias, isMap, isScalar, isSeq, visit, type Document, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Path, PathSegment } from '../policies/findings.js';

const unescape = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~');
export const pointer = (p: string): Path => p.split('/').slice(1).map(unescape).map((s) => (/^\d+$/.test(s) ? Number(s) : s));

type Collection = YAMLMap<unknown, unknown> | YAMLSeq<unknown>;

// With `merge: true` the yaml package marks a merge key by a symbol value (a quoted "<<" is a plain key).
const isMergeKey = (key: unknown): boolean => isScalar(key) && typeof key.value === 'symbol';

const keyText = (key: unknown): string | undefined => (isScalar(key) ? String(key.value) : typeof key === 'string' ? key : undefined);

/** A plain copy of a node's value: aliases and merges resolved, no anchors. */
const copyOf = (doc: Document, node: unknown): Node =>
  doc.createNode(isAlias(node) ? node.resolve(doc)?.toJS(doc) : (node as Node).toJS(doc), { aliasDuplicateObjects: false }) as Node;

const directPair = (map: YAMLMap<unknown, unknown>, key: string): Pair<unknown, unknown> | undefined =>
  map.items.find((p) => !isMergeKey(p.key) && keyText(p.key) === key);

/** The mappings a map's merge keys read, earliest first (the earliest wins a shared key). */
const mergeSources = (doc: Document, map: YAMLMap<unknown, unknown>): YAMLMap<unknown, unknown>[] => {
  const out: YAMLMap<unknown, unknown>[] = [];
  const add = (n: unknown) => {
    const target = isAlias(n) ? n.resolve(doc) : n;
    if (isMap(target)) out.push(target);
  };
  for (const p of map.items) {
    if (!isMergeKey(p.key)) continue;
    if (isSeq(p.value)) p.value.items.forEach(add);
    else add(p.value);
  }
  return out;
};

/** The value node a merge provides for `key`, searching nested merges too. */
const mergedValue = (doc: Document, map: YAMLMap<unknown, unknown>, key: string, depth = 0): unknown => {
  if (depth > 64) return undefined;
  for (const source of mergeSources(doc, map)) {
    const pair = directPair(source, key);
    if (pair) return pair.value;
    const nested = mergedValue(doc, source, key, depth + 1);
    if (nested !== undefined) return nested;
  }
  return undefined;
};

/** Replaces every alias elsewhere that reads `node`'s anchor by a plain copy, and drops the anchor. */
const unshare = (doc: Document, node: unknown): void => {
  if (!(isMap(node) || isSeq(node) || isScalar(node)) || !node.anchor) return;
  const copy = () => copyOf(doc, node);
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) === node) return copy();
      return undefined;
    },
  });
  delete node.anchor;
};

/** The child of `parent` at `seg`, made the path's own (see the file comment); undefined when absent. */
const ownChild = (doc: Document, parent: Collection, seg: PathSegment): unknown => {
  if (isMap(parent)) {
    const key = String(seg);
    let pair = directPair(parent, key);
    if (!pair) {
      const merged = mergedValue(doc, parent, key);
      if (merged === undefined) return undefined;
      parent.add(doc.createPair(key, copyOf(doc, merged)));
      pair = directPair(parent, key)!;
    } else if (isAlias(pair.value)) pair.value = copyOf(doc, pair.value);
    unshare(doc, pair.value);
    return pair.value;
  }
  const i = Number(seg);
  let item = parent.items[i];
  if (isAlias(item)) parent.items[i] = item = copyOf(doc, item);
  unshare(doc, item);
  return item;
};

/** Every merged key of `map` written out explicitly, merge keys removed (needed to remove a merged key). */
const expandMerges = (doc: Document, map: YAMLMap<unknown, unknown>): void => {
  if (!map.items.some((p) => isMergeKey(p.key))) return;
  const resolved = map.toJS(doc) as Record<string, unknown>;
  const explicit = new Set(map.items.filter((p) => !isMergeKey(p.key)).map((p) => keyText(p.key)));
  map.items = map.items.filter((p) => !isMergeKey(p.key));
  for (const [k, v] of Object.entries(resolved)) if (!explicit.has(k)) map.add(doc.createPair(k, doc.createNode(v, { aliasDuplicateObjects: false })));
};

const apply = (doc: Document, path: Path, op: jsonpatch.Operation): void => {
  let node: unknown = doc.contents;
  unshare(doc, node);
  for (const seg of path.slice(0, -1)) {
    if (!isMap(node) && !isSeq(node)) throw new Error(`cannot edit ${path.join('.')}: ${String(seg)} is not a mapping or sequence`);
    node = ownChild(doc, node, seg);
  }
  const last = path[path.length - 1];
  if (last === undefined) throw new Error('cannot replace a whole document');
  const value = op.op === 'remove' ? undefined : doc.createNode((op as { value: unknown }).value, { aliasDuplicateObjects: false });
  if (isMap(node)) {
    const key = String(last);
    const pair = directPair(node, key);
    if (op.op === 'remove') {
      if (mergedValue(doc, node, key) !== undefined) expandMerges(doc, node);
      const at = node.items.findIndex((p) => !isMergeKey(p.key) && keyText(p.key) === key);
      if (at >= 0) node.items.splice(at, 1);
    } else if (pair) pair.value = value;
    else node.add(doc.createPair(key, value));
  } else if (isSeq(node)) {
    const i = last === '-' ? node.items.length : Number(last);
    if (op.op === 'remove') node.items.splice(i, 1);
    else if (op.op === 'add') node.items.splice(i, 0, value);
    else node.items[i] = value;
  } else throw new Error(`cannot edit ${path.join('.')}: its parent is not a mapping or sequence`);
};

/** Applies RFC 6902 add/replace/remove operations to a YAML document in place, below `prefix`. */
export const applyToDocument = (doc: Document, prefix: Path, ops: readonly jsonpatch.Operation[]): void => {
  for (const op of ops) {
    if (op.op === 'add' || op.op === 'replace' || op.op === 'remove') apply(doc, [...prefix, ...pointer(op.path)], op);
  }
};
