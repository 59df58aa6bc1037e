// Serving certificate hot reload. cert-manager renews the Secret and the kubelet swaps the
// mounted files atomically: it writes a new timestamped directory and renames the `..data`
// symlink onto it, so tls.crt -> ..data/tls.crt changes target in one step. We watch the
// directories holding the files (a rename of `..data` is an event there, while a watch on
// the file itself would keep following the old inode) and also poll, because inotify
// events are lost on some volume types and after the watched directory itself is replaced.
// New material goes to `server.setSecureContext()`: new handshakes use it, established
// connections keep theirs, so nothing in flight fails.
import { X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';

export interface TlsFiles {
  cert: string;
  key: string;
  /** CA bundle for client-certificate authentication (--client-ca). */
  clientCa?: string;
  /** Lowest TLS version offered (--tls-min-version); default 1.2. */
  minVersion?: TlsMinVersion;
}

export interface TlsMaterial {
  cert: string;
  key: string;
  clientCa?: string;
  minVersion?: TlsMinVersion;
  serial: string;
  notAfter: Date;
}

export type TlsMinVersion = '1.2' | '1.3';

/**
 * TLS 1.2 suites offered: ECDHE key exchange with an AEAD cipher only (forward secrecy, no
 * CBC, no SHA-1 MACs), the TLS 1.2 part of Mozilla's "intermediate" profile. Go's TLS client
 * (the API server) offers all of them. TLS 1.3 suites are all AEAD and stay at Node's defaults.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];
const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** TLS 1.2 is the default floor (the API server speaks 1.2 and 1.3); 1.3 only on request. */
export const tlsProfile = (minVersion: TlsMinVersion = '1.2'): SecureContextOptions => ({
  minVersion: minVersion === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
  ciphers: [...TLS13_CIPHERS, ...TLS12_CIPHERS].join(':'),
  honorCipherOrder: true,
});

export const secureContextOptions = (m: TlsMaterial): SecureContextOptions => ({
  ...tlsProfile(m.minVersion),
  cert: m.cert,
  key: m.key,
  ...(m.clientCa !== undefined ? { ca: m.clientCa } : {}),
});

/** The PEM texts of the files, as read now. */
export interface TlsTexts {
  cert: string;
  key: string;
  clientCa?: string | undefined;
}

const readTlsTexts = async (files: TlsFiles): Promise<TlsTexts> => {
  const [cert, key, clientCa] = await Promise.all([
    readFile(files.cert, 'utf8'),
    readFile(files.key, 'utf8'),
    files.clientCa !== undefined ? readFile(files.clientCa, 'utf8') : Promise.resolve(undefined),
  ]);
  return { cert, key, clientCa };
};

/** Reads and checks the files (see tlsMaterialOf). */
export async function readTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  return tlsMaterialOf(await readTlsTexts(files), files);
}

/**
 * Checks texts read from `files`: the certificate parses, the key belongs to it (a reader
 * can catch a rewrite between the two files; that pair must not be served).
 */
export function tlsMaterialOf({ cert, key, clientCa }: TlsTexts, files: TlsFiles): TlsMaterial {
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${files.cert} is not a PEM certificate: ${(err as Error).message}`);
  }
  const material: TlsMaterial = {
    cert,
    key,
    ...(clientCa !== undefined ? { clientCa } : {}),
    ...(files.minVersion !== undefined ? { minVersion: files.minVersion } : {}),
    serial: parsed.serialNumber.toUpperCase(),
    notAfter: new Date(parsed.validTo),
  };
  try {
    // Throws "key values mismatch" for a key of another certificate, and on unparsable PEM.
    createSecureContext(secureContextOptions(material));
  } catch (err) {
    throw new Error(`cannot use ${files.cert} with ${files.key}: ${(err as Error).message}`);
  }
  return material;
}

export interface TlsReloaderOptions {
  files: TlsFiles;
  /** What the server was started with. */
  initial: TlsMaterial;
  /** Installs new material for new handshakes (https.Server#setSecureContext). */
  apply(options: SecureContextOptions): void;
  pollIntervalMs: number;
  logger: Logger;
  onReload?(ok: boolean, material?: TlsMaterial): void;
  /** Test seam: how texts that changed are checked; production uses tlsMaterialOf. */
  check?: typeof tlsMaterialOf;
}

export class TlsReloader {
  private current: TlsMaterial;
  private readonly watchers: FSWatcher[] = [];
  private poller?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private lastError?: string;

  constructor(private readonly opts: TlsReloaderOptions) {
    this.current = opts.initial;
  }

  get material(): TlsMaterial {
    return this.current;
  }

  start(): void {
    for (const dir of new Set(Object.values(this.opts.files).filter((f): f is string => !!f).map((f) => dirname(f)))) {
      try {
        const w = watch(dir, () => this.schedule());
        w.on('error', (err) => this.opts.logger.warn({ dir, err: err.message }, 'certificate directory watch failed; polling only'));
        w.unref();
        this.watchers.push(w);
      } catch (err) {
        this.opts.logger.warn({ dir, err: (err as Error).message }, 'cannot watch certificate directory; polling only');
      }
    }
    this.poller = setInterval(() => this.schedule(0), this.opts.pollIntervalMs);
    this.poller.unref();
  }

  stop(): void {
    for (const w of this.watchers.splice(0)) w.close();
    clearInterval(this.poller);
    clearTimeout(this.debounce);
  }

  /** Re-reads the files now (serialized with any reload in progress). */
  check(): Promise<void> {
    this.running = this.running.then(() => this.reload());
    return this.running;
  }

  // A symlink swap produces a burst of events; read once after it settles.
  private schedule(delayMs = 100): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.check(), delayMs);
    this.debounce.unref();
  }

  private async reload(): Promise<void> {
    let next: TlsMaterial;
    try {
      const texts = await readTlsTexts(this.opts.files);
      // Every poll (10 s by default) lands here, and the files rarely change: parsing the
      // certificate and building a secure context to check the pair held the event loop,
      // with reviews waiting behind it, for nothing (~1.5 ms for an RSA-2048 pair as
      // cert-manager issues by default, ~0.4 ms for the dev ECDSA pair).
      if (sameTexts(texts, this.current)) {
        this.lastError = undefined;
        return;
      }
      next = (this.opts.check ?? tlsMaterialOf)(texts, this.opts.files);
    } catch (err) {
      // Usually a rewrite caught half-way; the next event or poll picks up the finished pair.
      const message = (err as Error).message;
      if (message !== this.lastError) {
        this.opts.logger.warn({ err: message, serial: this.current.serial }, 'new TLS files not usable yet; still serving the previous certificate');
        this.opts.onReload?.(false);
      }
      this.lastError = message;
      return;
    }
    this.lastError = undefined;
    this.opts.apply(secureContextOptions(next));
    this.opts.logger.info(
      { previousSerial: this.current.serial, serial: next.serial, notAfter: next.notAfter.toISOString() },
      'TLS certificate reloaded',
    );
    this.current = next;
    this.opts.onReload?.(true, next);
  }
}

const sameTexts = (a: TlsTexts, b: TlsTexts): boolean => a.cert === b.cert && a.key === b.key && a.clientCa === b.clientCa;
