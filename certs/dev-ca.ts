// Development certificates: a throwaway CA and the certificates it signs (serving certs
// for `meshguard serve`, client certs for the integration tests). Real clusters use
// cert-manager; this exists so a laptop run and the tests get real TLS with no setup.
// ECDSA P-256 with SHA-256 throughout: small, fast, and accepted by every Kubernetes TLS stack.
import 'reflect-metadata'; // @peculiar/x509 resolves its services through tsyringe, which needs it
import * as x509 from '@peculiar/x509';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** PEM strings: what Node's TLS options and the Kubernetes Secret layout both take. */
export interface KeyPairPem {
  cert: string;
  key: string;
}

export interface CertificateRequest {
  commonName: string;
  dns?: readonly string[];
  ip?: readonly string[];
  /** 'server' for serving certs, 'client' for client-cert authentication. */
  usage?: 'server' | 'client' | 'both';
  days?: number;
}

const newKeys = (): Promise<CryptoKeyPair> =>
  webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

const keyPem = async (key: CryptoKey): Promise<string> =>
  x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');

// Backdated a little so a cert made now is valid on a machine whose clock is slightly behind.
const validity = (days: number): { notBefore: Date; notAfter: Date } => {
  const now = Date.now();
  return { notBefore: new Date(now - 60 * 60 * 1000), notAfter: new Date(now + days * DAY_MS) };
};

/** A self-signed CA that may only sign end-entity certificates (path length 0). */
export async function createCA(commonName = 'meshguard dev CA', days = 365): Promise<KeyPairPem> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: ALGORITHM,
    ...validity(days),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

/** A leaf certificate signed by `ca`. */
export async function issueCertificate(ca: KeyPairPem, req: CertificateRequest): Promise<KeyPairPem> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(ca.key),
    ALGORITHM,
    false,
    ['sign'],
  );
  const keys = await newKeys();
  const usage = req.usage ?? 'server';
  const eku = [
    ...(usage !== 'client' ? [x509.ExtendedKeyUsage.serverAuth] : []),
    ...(usage !== 'server' ? [x509.ExtendedKeyUsage.clientAuth] : []),
  ];
  const names: x509.JsonGeneralNames = [
    ...(req.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(req.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${req.commonName}`,
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALGORITHM,
    ...validity(req.days ?? 90),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(eku),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
}

export interface DevCertOptions {
  dns?: readonly string[];
  ip?: readonly string[];
}

/** The SANs a local `meshguard serve` needs when none are asked for. */
export const DEFAULT_DEV_SANS: Required<DevCertOptions> = { dns: ['localhost'], ip: ['127.0.0.1'] };

export interface DevCertPaths {
  dir: string;
  caCert: string;
  caKey: string;
  tlsCert: string;
  tlsKey: string;
}

/** The file names of a kubernetes.io/tls Secret with its CA, as cert-manager writes them. */
export const devCertPaths = (dir: string): DevCertPaths => ({
  dir,
  caCert: join(dir, 'ca.crt'),
  caKey: join(dir, 'ca.key'),
  tlsCert: join(dir, 'tls.crt'),
  tlsKey: join(dir, 'tls.key'),
});

/** Split --dns/--ip style inputs: anything that parses as an IP address is an IP SAN. */
export function sansFrom(values: readonly string[]): Required<DevCertOptions> {
  return {
    dns: values.filter((v) => isIP(v) === 0),
    ip: values.filter((v) => isIP(v) !== 0),
  };
}

/** Writes ca.crt, ca.key, tls.crt, tls.key; the keys readable by the owner only. */
export async function writeDevCerts(dir: string, opts: DevCertOptions = DEFAULT_DEV_SANS): Promise<DevCertPaths> {
  const paths = devCertPaths(dir);
  const ca = await createCA();
  const serving = await issueCertificate(ca, {
    commonName: opts.dns?.[0] ?? opts.ip?.[0] ?? 'meshguard',
    dns: opts.dns ?? [],
    ip: opts.ip ?? [],
    usage: 'server',
  });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(paths.caCert, ca.cert);
  await writeFile(paths.tlsCert, serving.cert);
  for (const [file, pem] of [[paths.caKey, ca.key], [paths.tlsKey, serving.key]] as const) {
    await writeFile(file, pem, { mode: 0o600 });
    // writeFile's mode only applies when it creates the file; an older key file keeps its mode otherwise.
    await chmod(file, 0o600);
  }
  return paths;
}

/**
 * Why the certificates in `dir` cannot be reused (missing, unreadable, expiring within a
 * day, not signed by the CA beside them, key not matching, a SAN missing), or undefined
 * when they can.
 */
export async function devCertProblem(dir: string, opts: DevCertOptions = DEFAULT_DEV_SANS): Promise<string | undefined> {
  const paths = devCertPaths(dir);
  try {
    const [caPem, certPem, keyPem] = await Promise.all([
      readFile(paths.caCert, 'utf8'),
      readFile(paths.tlsCert, 'utf8'),
      readFile(paths.tlsKey, 'utf8'),
    ]);
    const ca = new X509Certificate(caPem);
    const cert = new X509Certificate(certPem);
    if (Date.parse(cert.validTo) - Date.now() < DAY_MS) return `${paths.tlsCert} expires on ${cert.validTo}`;
    if (Date.parse(ca.validTo) - Date.now() < DAY_MS) return `${paths.caCert} expires on ${ca.validTo}`;
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return `${paths.tlsCert} is not signed by ${paths.caCert}`;
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return `${paths.tlsKey} does not belong to ${paths.tlsCert}`;
    for (const host of opts.dns ?? []) if (!cert.checkHost(host)) return `${paths.tlsCert} has no SAN for ${host}`;
    for (const ip of opts.ip ?? []) if (!cert.checkIP(ip)) return `${paths.tlsCert} has no SAN for ${ip}`;
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return `no certificates in ${dir} yet`;
    return (err as Error).message;
  }
}

/** Reuse the dev certificates in `dir` when they are still good, otherwise make new ones. */
export async function ensureDevCerts(
  dir: string,
  opts: DevCertOptions = DEFAULT_DEV_SANS,
): Promise<DevCertPaths & { created: boolean; reason?: string }> {
  const problem = await devCertProblem(dir, opts);
  if (problem === undefined) return { ...devCertPaths(dir), created: false };
  return { ...(await writeDevCerts(dir, opts)), created: true, reason: problem };
}

/** Serial number (upper-case hex, as Node's TLS peer certificate reports it). */
export const serialOf = (certPem: string): string => new X509Certificate(certPem).serialNumber.toUpperCase();
