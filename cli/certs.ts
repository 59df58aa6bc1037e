// `meshguard certs`: a dev CA and a serving certificate, laid out like a cert-manager
// Secret (ca.crt, tls.crt, tls.key) plus the CA key so more certs can be signed later.
import { InvalidArgumentError, type Command } from 'commander';
import { isIP } from 'node:net';
import { DEFAULT_DEV_SANS, writeDevCerts } from '../certs/dev-ca.js';
import { isDnsSubdomain } from '../policies/values/qualified-name.js';

/**
 * A DNS subject alternative name: a DNS-1123 subdomain (what a Service's DNS name is) or
 * a wildcard over one ("*.example.svc", RFC 6125: the wildcard only as the whole left-most
 * label), each label at most 63 characters (RFC 1035). Anything else would be written into
 * the certificate and only fail later, at a TLS handshake, far from the typo.
 */
export const dnsSanError = (name: string): string | undefined => {
  const host = name.startsWith('*.') ? name.slice(2) : name;
  if (!isDnsSubdomain(host) || host.split('.').some((label) => label.length > 63))
    return 'expected a lowercase DNS name such as meshguard.meshguard-system.svc (letters, digits, "-" and "."), or a wildcard such as *.example.svc';
  return undefined;
};

const dnsOption = (value: string, previous: string[]): string[] => {
  const problem = dnsSanError(value);
  if (problem) throw new InvalidArgumentError(problem);
  return [...previous, value];
};

const ipOption = (value: string, previous: string[]): string[] => {
  if (isIP(value) === 0) throw new InvalidArgumentError('expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1');
  return [...previous, value];
};

export function register(program: Command): void {
  program
    .command('certs')
    .description('write a development CA and a serving certificate signed by it (ECDSA P-256, SHA-256)')
    .requiredOption('--out <dir>', 'directory for ca.crt, ca.key, tls.crt, tls.key (created if missing)')
    .option('--dns <name>', 'DNS subject alternative name (repeatable; default localhost)', dnsOption, [])
    .option('--ip <address>', 'IP subject alternative name (repeatable; default 127.0.0.1)', ipOption, [])
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
