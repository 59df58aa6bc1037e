// Load only the parts of @kubernetes/client-node that are used.
//
// Two of its modules import far more than they use, and with it the ~750 generated models
// (docs/operations.md has the measurements):
// - config.js (KubeConfig) imports its `createConfiguration` and `ServerConfiguration` from
//   the generated barrel gen/index.js, which re-exports every model and every API group;
// - cache.js (ListWatch, behind makeInformer) imports the ObjectSerializer, which loads every
//   model, only to pass its label and field selectors through as strings.
// A resolve hook answers those two imports, from those two modules only, with modules that
// export exactly what they use (client-node-gen-config.ts, client-node-selectors.ts).
// Every other importer, e.g. the generated API classes the status syncer writes with,
// still gets the real modules, so nothing else changes. ESM links named imports before
// anything runs: a client-node release that imports anything else from them fails at
// startup, loudly, not at the first request (test/cli/client-node-loading.test.ts).
import { registerHooks } from 'node:module';

const DIST = '/@kubernetes/client-node/dist/';

/** Which module answers `specifier` when `parent` (a client-node dist file) imports it. */
const SLIM: Record<string, { specifier: string; slim: string }> = {
  'config.js': { specifier: './gen/index.js', slim: './client-node-gen-config.js' },
  'cache.js': { specifier: './serializer.js', slim: './client-node-selectors.js' },
};

let registered = false;

/** Registers the resolve hook; call before the first import of @kubernetes/client-node. */
export function loadOnlyUsedClientNode(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL;
      const at = parent?.lastIndexOf(DIST) ?? -1;
      const slim = at >= 0 ? SLIM[parent!.slice(at + DIST.length)] : undefined;
      // Resolved by the rest of the chain, relative to this module: .js in the build, the
      // TypeScript source under the test runner's loader.
      if (slim?.specifier === specifier) return nextResolve(slim.slim, { ...context, parentURL: import.meta.url });
      return nextResolve(specifier, context);
    },
  });
}
