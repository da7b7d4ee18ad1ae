/**
 * One HTTP GET through a bastion, the way the extension reaches a stack: SSH with the pinned
 * host key and the attendee's key, a `direct-tcpip` channel to the target, HTTP over it.
 * Used by the demo to show that each stack answers, and by tests.
 */
import * as http from 'node:http';
import { Client } from 'ssh2';
import { fingerprintOf } from '../keys';

export interface BastionAddress {
  host: string;
  port: number;
  user: string;
  /** `SHA256:…`; the connection is refused when the server shows another host key. */
  hostKeyFingerprint: string;
}

export interface ProbeResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The fingerprint of the host key the server presented. */
  seenFingerprint: string;
}

export function httpGetThroughBastion(opts: {
  bastion: BastionAddress;
  privateKey: string;
  target: { host: string; port: number };
  path: string;
  timeoutMs?: number;
}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise<ProbeResult>((resolve, reject) => {
    const client = new Client();
    let seenFingerprint = '';
    let settled = false;
    const finish = (err: Error | null, result?: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      if (err) reject(err);
      else resolve(result!);
    };
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${opts.target.host}:${opts.target.port} through ${opts.bastion.host}:${opts.bastion.port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.on('error', (err) => finish(err));
    client.on('ready', () => {
      client.forwardOut('127.0.0.1', 0, opts.target.host, opts.target.port, (err, stream) => {
        if (err) return finish(err);
        const req = http.request(
          {
            host: opts.target.host,
            port: opts.target.port,
            path: opts.path,
            headers: { connection: 'close' },
            createConnection: () => stream as unknown as import('node:net').Socket,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), seenFingerprint }),
            );
            res.on('error', (e) => finish(e));
          },
        );
        req.on('error', (e) => finish(e));
        req.end();
      });
    });
    client.connect({
      host: opts.bastion.host,
      port: opts.bastion.port,
      username: opts.bastion.user,
      privateKey: opts.privateKey,
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        seenFingerprint = fingerprintOf(key);
        return seenFingerprint === opts.bastion.hostKeyFingerprint;
      },
    });
  });
}
