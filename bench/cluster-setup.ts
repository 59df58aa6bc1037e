// What the benchmarks against a real kube-apiserver (the e2e tier's) set up first: the two
// cluster CRDs, and the objects of examples/state.yaml.
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './servers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The AntflyCluster and ObservabilityPlatform CRDs of test/e2e/fixtures, established. */
export async function installCrds(kc: k8s.KubeConfig): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const f of ['crd-antflycluster.yaml', 'crd-observabilityplatform.yaml']) {
    const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(join(ROOT, 'test/e2e/fixtures', f), 'utf8'));
    await ext.createCustomResourceDefinition({ body: crd });
    for (let i = 0; ; i++) {
      const got = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
      if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (i > 100) throw new Error(`CRD ${crd.metadata!.name} not established`);
      await sleep(100);
    }
  }
}

/** The objects of examples/state.yaml (List items spread): a Namespace, a meshed AntflyCluster, one of its Pods. */
// any: YAML of any shape, which the benchmarks read field by field.
export const stateObjects = (): any[] =>
  parseAllDocuments(readFileSync(join(ROOT, 'examples/state.yaml'), 'utf8')).flatMap((d) => {
    const o = d.toJS();
    return o?.kind === 'List' ? o.items : [o];
  });
