import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadStateFiles, objectsOf, parseStateText, StaticClusterView, StateFileError } from '../../../cli/state-view.js';

t.test('List kinds are flattened; typed list items get the list kind and apiVersion', async (t) => {
  const objs = objectsOf({ apiVersion: 'v1', kind: 'PodList', items: [{ metadata: { name: 'a' } }, { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'b' } }] });
  t.same(objs.map((o) => [o.kind, o.apiVersion, o.metadata?.name]), [['Pod', 'v1', 'a'], ['Pod', 'v1', 'b']]);
  t.same(objectsOf({ kind: 'List', items: [{ kind: 'List', items: [{ kind: 'Namespace', metadata: { name: 'n' } }] }] }).length, 1);
  t.same(objectsOf('scalar'), []);
});

t.test('YAML multi-doc and JSON both parse; errors name file and line', async (t) => {
  t.equal(parseStateText('kind: Namespace\nmetadata: {name: a}\n---\nkind: Namespace\nmetadata: {name: b}\n', 'x.yaml').length, 2);
  t.equal(parseStateText('{"kind":"Namespace","metadata":{"name":"a"}}', 'x.json').length, 1);
  t.equal(parseStateText('{kind: Namespace, metadata: {name: a}}', 'flow.yaml').length, 1, 'YAML flow style is not mistaken for JSON');
  t.throws(() => parseStateText('a: b\n  c: d: e\n', 'bad.yaml'), { name: 'StateFileError', message: /bad\.yaml:2:/ });
});

t.test('loadStateFiles reads files and says which one is missing', async (t) => {
  const dir = t.testdir({ 'ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n' });
  t.equal((await loadStateFiles([join(dir, 'ns.yaml')])).length, 1);
  await t.rejects(loadStateFiles([join(dir, 'nope.yaml')]), StateFileError);
});

t.test('StaticClusterView is synced and counts each object once', async (t) => {
  const dir = t.testdir();
  await writeFile(join(dir, 's.json'), '[]');
  const v = new StaticClusterView([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'a' } },
    { apiVersion: 'antfly.io/v1', kind: 'AntflyCluster', metadata: { name: 'c', namespace: 'a' } },
    { kind: 'Pod' },
  ]);
  t.equal(v.synced, true);
  t.same(v.sizes(), { namespaces: 1, pods: 1, AntflyCluster: 1 });
  t.same(v.status().missing, []);
  t.equal(v.status().synced.pods, true);
  await v.start();
  await v.stop();
  t.equal(v.listPods('a', {}).length, 1);
});
