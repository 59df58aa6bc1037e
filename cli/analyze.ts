// `meshguard analyze`: the whole rule catalog on what a live cluster holds — the per-object
// rules on every cluster CR, workload and pod (as the webhook would judge them, pods by
// their actual proxy), the cross-object rules over everything listed. Read-only: it lists
// the kinds of the object index and the profiles' cluster CRs, nothing else.
import type { Command } from 'commander';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../policies/k8s.js';
import type { PolicyConfig } from '../policies/config.js';
import { isIndexObject } from '../policies/index/object-index.js';
import { ClusterReadError, listCluster, listTargets } from './cluster-lists.js';
import { EXIT, VERSION } from './exit.js';
import { colourOnStdout, FORMATS, parseFormat, render } from './formats/render.js';
import type { SourceDoc } from './inputs.js';
import { MG_ERR_KUBECONFIG, MG_ERR_KUBECONFIG_MISSING, MG_ERR_USAGE } from '../policies/errors.js';
import { addEnforcementOption, loadConfig } from './options.js';
import { buildView, checkDocuments, crossObjectFindings, summarize, type CheckResult } from './run-checks.js';

interface AnalyzeOptions {
  kubeconfig?: string;
  namespace?: string;
  allNamespaces?: boolean;
  format: string;
  config?: string;
  enforcement?: string;
}

/** Where an object of the cluster "is", in place of a file: its namespace, or the cluster scope. */
const sourceOf = (o: KubeObject): string => (o.metadata?.namespace ? `namespace/${o.metadata.namespace}` : 'cluster-scoped');

const asDoc = (object: KubeObject, index: number): SourceDoc => ({ file: sourceOf(object), index, prefix: [], object, lineOf: () => 0 });

/** Per-object rules on every listed object, then the cross-object rules over all of them. */
export const analyzeObjects = (objects: readonly KubeObject[], config: PolicyConfig): CheckResult => {
  const docs = objects.map(asDoc);
  const index = buildView([], docs);
  const perObject = checkDocuments(docs, index, config, 'default', 'live');
  const across = crossObjectFindings(
    objects.filter((o) => isIndexObject(o, config.profiles)).map((object) => ({ object, file: sourceOf(object), line: 0, input: true })),
    config,
    { podMode: 'live', complete: true },
  );
  return { ...perObject, findings: [...perObject.findings, ...across], files: new Set(docs.map((d) => d.file)).size };
};

const loadKubeConfig = async (file: string | undefined): Promise<KubeConfig> => {
  // dist/config.js, not the package root (which loads every generated model; see cli/cluster-lists.ts).
  const { KubeConfig } = await import('@kubernetes/client-node/dist/config.js');
  const kc = new KubeConfig();
  try {
    // Without --kubeconfig: $KUBECONFIG, ~/.kube/config, or the pod's service account, as kubectl.
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    throw MG_ERR_KUBECONFIG(file ?? '(default)', (err as Error).message);
  }
  if (!kc.getCurrentCluster()) throw MG_ERR_KUBECONFIG_MISSING();
  return kc;
};

export function register(program: Command): void {
  // --enforcement as for check: CI (or an admin) stricter than the cluster's configuration.
  addEnforcementOption(program
    .command('analyze')
    .description('run every rule on what a live cluster holds (read-only lists; exit 0 nothing denied, 1 a finding the cluster would deny, 2 cluster unreadable)')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('-n, --namespace <name>', "namespaced kinds in this namespace only (default: the context's namespace)")
    .option('-A, --all-namespaces', 'namespaced kinds in every namespace')
    .option('-f, --format <format>', `output format: ${FORMATS.join('|')}`, 'text')
    .option('--config <file>', 'meshguard configuration file (target profiles, mesh and analysis options)'))
    .action(async (opts: AnalyzeOptions) => {
      const format = parseFormat(opts.format);
      if (opts.namespace && opts.allNamespaces) throw MG_ERR_USAGE('give -n NAMESPACE or -A, not both');
      const [config, kc] = await Promise.all([loadConfig(opts.config, opts.enforcement), loadKubeConfig(opts.kubeconfig)]);
      const namespace = opts.allNamespaces ? undefined : (opts.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default');
      // A progress line on a terminal only: pipes and CI logs get the result alone.
      const tty = process.stderr.isTTY === true;
      const progress = (done: number, total: number, resource: string) => {
        if (tty) process.stderr.write(done < total ? `\r\x1b[Klisting ${resource} (${done + 1}/${total})` : '\r\x1b[K');
      };
      let listed;
      try {
        listed = await listCluster(kc, listTargets(config), namespace, progress);
      } catch (err) {
        if (err instanceof ClusterReadError) {
          process.stderr.write(`meshguard: ${err.message}\n`);
          process.exitCode = EXIT.unusable;
          return;
        }
        throw err;
      }
      for (const t of listed.absent) process.stderr.write(`meshguard: note: ${t.resource} is not installed in this cluster; skipped\n`);
      if (tty) process.stderr.write(`\r\x1b[Kjudging ${listed.objects.length} objects`);
      const result = analyzeObjects(listed.objects, config);
      if (tty) process.stderr.write('\r\x1b[K');
      process.stdout.write(render(format, result, VERSION, colourOnStdout()));
      process.exitCode = summarize(result).deny > 0 ? EXIT.findings : EXIT.ok;
    });
}
