// `meshguard certs`: a dev CA and a serving certificate, laid out like a cert-manager
// Secret (ca.crt, tls.crt, tls.key) plus the CA key so more certs can be signed later.
import type { Command } from 'commander';
import { DEFAULT_DEV_SANS, writeDevCerts } from '../certs/dev-ca.js';
import { collect } from './options.js';

export function register(program: Command): void {
  program
    .command('certs')
    .description('write a development CA and a serving certificate signed by it (ECDSA P-256, SHA-256)')
    .requiredOption('--out <dir>', 'directory for ca.crt, ca.key, tls.crt, tls.key (created if missing)')
    .option('--dns <name>', 'DNS subject alternative name (repeatable; default localhost)', collect, [])
    .option('--ip <address>', 'IP subject alternative name (repeatable; default 127.0.0.1)', collect, [])
    .addHelpText(
      'after',
      '\nExample, for an in-cluster Service:\n  meshguard certs --out ./certs --dns meshguard.meshguard-system.svc\n',
    )
    .action(async (opts: { out: string; dns: string[]; ip: string[] }) => {
      const sans = opts.dns.length + opts.ip.length === 0 ? DEFAULT_DEV_SANS : { dns: opts.dns, ip: opts.ip };
      const paths = await writeDevCerts(opts.out, sans);
      const names = [...sans.dns, ...sans.ip].join(', ');
      process.stdout.write(
        `wrote ${paths.caCert}, ${paths.caKey}, ${paths.tlsCert}, ${paths.tlsKey} (serving cert for ${names})\n`,
      );
    });
}
