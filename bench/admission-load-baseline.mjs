// The baseline for bench/admission-load.ts: the least an HTTPS admission webhook can do.
// Same TLS settings and certificates as meshguard, reads the body, parses the JSON,
// answers a fixed "allowed". Plain JavaScript so that no loader weighs on it.
// Usage: node bench/admission-load-baseline.mjs PORT CERT KEY [--http2] [--timeline] [--patch FILE]
// Without --http2 it offers http/1.1 only by ALPN, as meshguard does; with it, h2 and
// http/1.1 (node:http2 with allowHTTP1), so that bench/apiserver-admission.ts can show what
// h2 would change. GET /stats answers what its clients did: TCP connections, TLS handshakes
// (and how many resumed a session), HTTP/2 sessions, handshakes by ALPN protocol, and with
// --timeline each review's path and the monotonic nanoseconds at which its headers, its
// whole body and its answer were done. With --patch, /mutate answers with the JSON patch in
// FILE (what meshguard returns for the benchmark's pods), so that the API server's cost of
// applying it is measured apart from meshguard's.
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { createServer } from 'node:https';

const [port, cert, key, ...flags] = process.argv.slice(2);
const http2 = flags.includes('--http2');
// Off under load (bench/admission-load.ts): the list would grow by every request.
const timeline = flags.includes('--timeline');
const patchFile = flags.includes('--patch') ? flags[flags.indexOf('--patch') + 1] : undefined;
const patch = patchFile ? Buffer.from(readFileSync(patchFile)).toString('base64') : undefined;
const stats = { connections: 0, secureConnections: 0, resumed: 0, sessions: 0, protocols: {}, calls: [] };

const handler = (req, res) => {
  if (req.method === 'GET') {
    res.end(req.url === '/stats' ? JSON.stringify(stats) : 'ok\n');
    return;
  }
  // When its headers arrived, its body was complete, its answer was handed to the socket:
  // process.hrtime is CLOCK_MONOTONIC, the same clock in every process of the machine, so
  // the benchmark places these between its own request's start and end.
  const call = [req.url, String(process.hrtime.bigint())];
  if (timeline) {
    stats.calls.push(call);
    res.on('finish', () => call.push(String(process.hrtime.bigint())));
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (timeline) call.push(String(process.hrtime.bigint()));
    const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const body = JSON.stringify({
      apiVersion: review.apiVersion,
      kind: 'AdmissionReview',
      response: { uid: review.request?.uid ?? '', allowed: true, ...(patch && req.url.startsWith('/mutate') ? { patchType: 'JSONPatch', patch } : {}) },
    });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
};
const tls = { cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' };
const server = http2 ? createSecureServer({ ...tls, allowHTTP1: true }, handler) : createServer({ ...tls, keepAliveTimeout: 100_000 }, handler);
server.on('connection', () => stats.connections++);
server.on('secureConnection', (socket) => {
  stats.secureConnections++;
  if (socket.isSessionReused()) stats.resumed++;
  const protocol = socket.alpnProtocol || 'none';
  stats.protocols[protocol] = (stats.protocols[protocol] ?? 0) + 1;
});
server.on('session', () => stats.sessions++);
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
