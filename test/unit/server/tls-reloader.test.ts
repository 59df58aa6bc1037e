// The certificate reloader's polls, without a server: files that did not change are not
// parsed or checked again (each check builds a secure context on the event loop), files
// that did are, and a bad pair is reported once per distinct error.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { createCA, issueCertificate, serialOf, writeDevCerts } from '../../../certs/dev-ca.js';
import { readTlsMaterial, tlsMaterialOf, TlsReloader, type TlsFiles } from '../../../server/tls-reloader.js';

t.test('a poll of unchanged files checks nothing; a changed pair is checked and applied once', async (t) => {
  const paths = await writeDevCerts(t.testdir());
  const files: TlsFiles = { cert: paths.tlsCert, key: paths.tlsKey };
  const initial = await readTlsMaterial(files);
  let checks = 0;
  const applied: string[] = [];
  const reloads: boolean[] = [];
  const reloader = new TlsReloader({
    files,
    initial,
    apply: (ctx) => applied.push(String(ctx.cert)),
    pollIntervalMs: 3_600_000,
    logger: pino({ level: 'silent' }),
    onReload: (ok) => reloads.push(ok),
    check: (texts, f) => {
      checks++;
      return tlsMaterialOf(texts, f);
    },
  });

  for (let i = 0; i < 3; i++) await reloader.check();
  t.equal(checks, 0, 'three polls of the files the server started with: nothing parsed or checked');
  t.same(applied, []);

  const ca = await createCA();
  const renewed = await issueCertificate(ca, { commonName: 'localhost', dns: ['localhost'] });
  await writeFile(files.cert, renewed.cert);
  await writeFile(files.key, renewed.key);
  await reloader.check();
  await reloader.check();
  t.equal(checks, 1, 'the renewed pair is checked once');
  t.same(applied, [renewed.cert], 'and applied once');
  t.equal(reloader.material.serial, serialOf(renewed.cert));

  // A key of another certificate: refused, reported once however often it is polled.
  const other = await issueCertificate(ca, { commonName: 'localhost', dns: ['localhost'] });
  await writeFile(files.key, other.key);
  await reloader.check();
  await reloader.check();
  t.same(reloads, [true, false], 'the mismatched pair is reported once');
  t.same(applied, [renewed.cert], 'and never applied');

  // The pair in use again (the rewrite undone): nothing to check, and the error is over, so
  // the same mistake made again is reported again.
  await writeFile(files.key, renewed.key);
  const before = checks;
  await reloader.check();
  t.equal(checks, before, 'the texts in use are not checked again');
  await writeFile(files.key, other.key);
  await reloader.check();
  t.same(reloads, [true, false, false], 'the repeated mistake is reported anew');
  t.equal(reloader.material.serial, serialOf(renewed.cert), 'the renewed certificate is still served');
});
