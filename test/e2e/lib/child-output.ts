// What the e2e tests read from the processes they start (meshguard serve, sync-status):
// stdout and stderr as whole lines, for log assertions and failure messages.
import * as https from 'node:https';
import type { ChildProcess } from 'node:child_process';

/** Appends every complete line the child writes (stdout and stderr) to `lines`. */
export const collectLines = (child: ChildProcess, lines: string[]): void => {
  let buf = '';
  const onData = (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
};

/** One GET over HTTPS with the given trust (and client identity), no keep-alive. */
export const httpsGet = (
  url: string,
  tls: { ca?: string; cert?: string; key?: string },
  timeoutMs: number,
): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = https.get(url, { ...tls, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
