/** Shared types and small helpers of the two bastion implementations. */
import * as fs from 'node:fs';
import * as net from 'node:net';

export type BastionKind = 'openssh' | 'ssh2';

export interface PermittedTarget {
  host: string;
  port: number;
}

export interface BastionOptions {
  /** 'auto' picks OpenSSH's sshd when it is installed, else the ssh2 bastion. */
  kind: BastionKind | 'auto';
  /** Address to listen on (loopback for local stacks). */
  host: string;
  /** 0 = a free port. */
  port: number;
  /** OpenSSH private key of the host key. */
  hostPrivateKey: string;
  /** OpenSSH public key line of the one key allowed to log in. */
  authorizedPublicKey: string;
  /** The one user name allowed to log in. For OpenSSH it must be a user of this system. */
  user: string;
  /** The only targets a client may open a forward to (compared literally, as OpenSSH's PermitOpen does). */
  permit: PermittedTarget[];
  /** A folder the bastion owns: config, keys, pid and log files. Created if missing. */
  dir: string;
  /** Extra log lines (connection summaries also go to the bastion's log file). */
  log?: (line: string) => void;
}

export interface Bastion {
  port: number;
  kind: BastionKind;
  /** Process id of the sshd daemon (OpenSSH only). */
  pid?: number;
  /** Where the bastion logs connections, authentications and forwards. */
  logFile: string;
  close(): Promise<void>;
}

/** Asks the kernel for a free port on `host`. Another process may take it before use: callers retry. */
export function probeFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function permitKey(host: string, port: number): string {
  return `${host}:${port}`;
}

/** Writes a file readable only by its owner (keys), replacing what was there. */
export function writePrivateFile(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file; make sure.
  fs.chmodSync(file, 0o600);
}

export function tailOf(file: string, lines = 20): string {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** True while `pid` runs. A zombie (exited, not yet reaped by its parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces and parentheses.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch (err) {
    // Gone since the signal check, or no /proc (not Linux): then the signal check is all we have.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || fs.existsSync('/proc/self/stat') === false;
  }
}

/** Waits until `pid` is gone, polling with a short backoff; false on timeout. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
  return true;
}
