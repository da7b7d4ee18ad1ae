/**
 * A forwarding-only bastion on the `ssh2` server, for machines without OpenSSH's sshd.
 * It behaves like the OpenSSH bastion: public-key login for one user and one key,
 * `direct-tcpip` forwards to the permitted targets only ("administratively prohibited"
 * otherwise), no sessions (shell, exec, subsystems), no remote forwards.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Server, utils as sshUtils, type Connection, type ParsedKey } from 'ssh2';
import { type Bastion, type BastionOptions, permitKey } from './common';

/** RFC 4254 §5.1 reason code. */
const ADMINISTRATIVELY_PROHIBITED = 1;

function parseOne(key: string, what: string): ParsedKey {
  const parsed = sshUtils.parseKey(key);
  if (parsed instanceof Error) throw new Error(`${what}: ${parsed.message}`);
  return Array.isArray(parsed) ? parsed[0] : parsed;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * ssh2's `reject()` of a channel it has already reserved always says "connect failed".
 * A refused forward must say "administratively prohibited", as OpenSSH does, so the client
 * can tell a policy refusal from a dead target; this routes the next failure reply of the
 * connection through that reason code.
 */
function prohibitedRejecter(conn: Connection): (reject: () => void) => void {
  const proto = (conn as unknown as { _protocol?: { channelOpenFail?: (remote: number, reason: number, desc?: string) => void } })._protocol;
  const original = proto?.channelOpenFail;
  if (!proto || typeof original !== 'function') return (reject) => reject();
  let prohibitNext = false;
  proto.channelOpenFail = function (remote: number, reason: number, desc?: string) {
    if (prohibitNext) {
      prohibitNext = false;
      return original.call(this, remote, ADMINISTRATIVELY_PROHIBITED, 'open failed');
    }
    return original.call(this, remote, reason, desc);
  };
  return (reject) => {
    prohibitNext = true;
    try {
      reject();
    } finally {
      prohibitNext = false;
    }
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export async function startSsh2Bastion(opts: BastionOptions): Promise<Bastion> {
  if (!opts.permit.length) throw new Error('a bastion needs at least one permitted target');
  parseOne(opts.hostPrivateKey, 'host private key'); // a clear error before ssh2's own
  const allowed = parseOne(opts.authorizedPublicKey, 'authorized public key');
  fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const logFile = path.join(opts.dir, 'bastion.log');
  const logStream = fs.createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  const log = (line: string) => {
    if (!logStream.writableEnded) logStream.write(`${new Date().toISOString()} ${line}\n`);
    opts.log?.(line);
  };

  const allowedBlob = allowed.getPublicSSH();
  const permitted = new Set(opts.permit.map((p) => permitKey(p.host, p.port)));
  const connections = new Set<Connection>();
  let nextId = 1;

  const server = new Server({ hostKeys: [opts.hostPrivateKey], ident: 'OpenKitchen_bastion' }, (conn, info) => {
    const id = nextId++;
    const who = `#${id} ${info.ip}:${info.port}`;
    connections.add(conn);
    log(`${who} connected (${info.header.versions.software})`);
    const rejectProhibited = prohibitedRejecter(conn);

    conn.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const keyMatches = ctx.key.algo === allowed.type && sameBytes(ctx.key.data, allowedBlob);
      if (ctx.username !== opts.user || !keyMatches) {
        log(`${who} refused publickey for "${ctx.username}" (${ctx.username !== opts.user ? 'unknown user' : 'key not authorized'})`);
        return ctx.reject(['publickey']);
      }
      // Without a signature the client only asks whether this key would do.
      if (!ctx.signature) return ctx.accept();
      if (allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) {
        log(`${who} refused publickey for "${ctx.username}": bad signature`);
        return ctx.reject(['publickey']);
      }
      log(`${who} accepted publickey for "${ctx.username}"`);
      ctx.accept();
    });

    conn.on('ready', () => {
      conn.on('session', (_accept, reject) => {
        log(`${who} refused a session (only port forwarding is allowed)`);
        rejectProhibited(reject);
      });
      conn.on('tcpip', (accept, reject, dest) => {
        const target = permitKey(dest.destIP, dest.destPort);
        if (!permitted.has(target)) {
          log(`${who} refused forward to ${target}: not permitted`);
          return rejectProhibited(reject);
        }
        // Connect first, so a dead target is reported as a failed channel open.
        const upstream = net.connect({ host: dest.destIP, port: dest.destPort });
        upstream.once('error', (err) => {
          log(`${who} forward to ${target} failed: ${err.message}`);
          reject();
        });
        upstream.once('connect', () => {
          const channel = accept();
          if (!channel) {
            upstream.destroy();
            return;
          }
          log(`${who} forward to ${target} opened`);
          upstream.removeAllListeners('error');
          upstream.on('error', () => channel.destroy());
          channel.on('error', () => upstream.destroy());
          channel.pipe(upstream).pipe(channel);
        });
      });
      conn.on('request', (_accept, reject, name) => {
        log(`${who} refused global request ${name}`);
        reject?.();
      });
    });

    conn.on('error', (err) => log(`${who} error: ${err.message}`));
    conn.on('close', () => {
      connections.delete(conn);
      log(`${who} closed`);
    });
  });

  // Port 0 lets the kernel choose, so unlike sshd no probing is needed.
  let port: number;
  try {
    port = await listen(server, opts.host, opts.port);
  } catch (err) {
    logStream.end();
    throw err;
  }
  log(`ssh2 bastion on ${opts.host}:${port}, user ${opts.user}, permits ${opts.permit.map((p) => permitKey(p.host, p.port)).join(', ')}`);

  let closing: Promise<void> | undefined;
  return {
    port,
    kind: 'ssh2',
    logFile,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of connections) c.end();
      }).then(
        () =>
          new Promise<void>((resolve) => {
            logStream.end(resolve);
          }),
      );
      return closing;
    },
  };
}
