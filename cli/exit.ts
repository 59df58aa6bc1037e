// Exit codes are part of the CLI contract (DESIGN.md): CI pipelines branch on them. They are
// defined with the error catalog (policies/errors.ts), which gives each error its code.
import { createRequire } from 'node:module';

export { EXIT } from '../policies/errors.js';

const require = createRequire(import.meta.url);
const findPackage = (): { version: string } => {
  for (const p of ['../package.json', '../../package.json']) {
    try {
      return require(p) as { version: string };
    } catch {
      /* try the next layout: dist/cli or cli */
    }
  }
  return { version: '0.0.0' };
};

export const VERSION = findPackage().version;
