/**
 * A forwarding-only bastion on OpenSSH's own `sshd`: a private daemon with its own config,
 * port, host key and authorized key, which lets one user open forwards to the permitted
 * targets and nothing else (no shell, no exec, no remote forwards, no agent, no X11).
 * It does not touch the system's sshd.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type Bastion,
  type BastionOptions,
  isAlive,
  probeFreePort,
  tailOf,
  waitForExit,
  writePrivateFile,
} from './common';

/** Where Debian and friends install sshd. It must be started by absolute path (it re-executes itself). */
const SSHD_LOCATIONS = ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd'];

/** The absolute path of an installed sshd, or null. */
export function findSshd(env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter((d) => path.isAbsolute(d));
  for (const candidate of [...SSHD_LOCATIONS, ...dirs.map((d) => path.join(d, 'sshd'))]) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface SshdFiles {
  config: string;
  hostKey: string;
  authorizedKeys: string;
  pidFile: string;
  logFile: string;
}

export function sshdFiles(dir: string): SshdFiles {
  return {
    config: path.join(dir, 'sshd_config'),
    hostKey: path.join(dir, 'ssh_host_ed25519_key'),
    authorizedKeys: path.join(dir, 'authorized_keys'),
    pidFile: path.join(dir, 'sshd.pid'),
    logFile: path.join(dir, 'sshd.log'),
  };
}

/** The whole sshd_config of a bastion; nothing is inherited from /etc/ssh. */
export function sshdConfig(opts: { host: string; port: number; user: string; permit: { host: string; port: number }[]; files: SshdFiles }): string {
  if (!opts.permit.length) throw new Error('a bastion needs at least one permitted target');
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(opts.user)) throw new Error(`"${opts.user}" is not a user name sshd accepts`);
  const f = opts.files;
  return [
    '# Open Kitchen bastion: forwarding to the permitted targets only.',
    `ListenAddress ${opts.host}`,
    `Port ${opts.port}`,
    `HostKey ${f.hostKey}`,
    `AuthorizedKeysFile ${f.authorizedKeys}`,
    `PidFile ${f.pidFile}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'HostbasedAuthentication no',
    'UsePAM no',
    // The one login allowed; root may log in with the key only.
    `AllowUsers ${opts.user}`,
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding local',
    `PermitOpen ${opts.permit.map((p) => `${p.host}:${p.port}`).join(' ')}`,
    'PermitListen none',
    'GatewayPorts no',
    'AllowStreamLocalForwarding no',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTunnel no',
    'PermitTTY no',
    'PermitUserRC no',
    // 0 refuses every shell, exec and subsystem session while forwarding still works;
    // ForceCommand is the second lock should a session ever open.
    'MaxSessions 0',
    'ForceCommand /bin/false',
    // Keys live in the stack's folder, not in a home directory sshd would check.
    'StrictModes no',
    'PrintMotd no',
    'LoginGraceTime 30',
    'ClientAliveInterval 30',
    'ClientAliveCountMax 3',
    // VERBOSE logs the key fingerprint of each login and every refused forward.
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

function runToExit(file: string, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

function logSince(file: string, offset: number): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(offset).trim();
  } catch {
    return '';
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

async function readPidFile(file: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    try {
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0) return pid;
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) throw new Error(`sshd did not write its pid file ${file}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

/** Connects once and reads the server's identification line, proving sshd accepts connections. */
function readBanner(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no SSH banner from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const nl = data.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data.slice(0, nl).trim());
      }
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Process ids of all descendants of `pid` (sshd keeps one privileged process per connection). */
function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stops a bastion sshd and the per-connection processes it forked: stopping only the
 * listener would leave open forwards running.
 */
export async function stopSshd(pid: number, timeoutMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  const sessions = descendantsOf(pid);
  signal(pid, 'SIGTERM');
  for (const s of sessions) signal(s, 'SIGTERM');
  for (const p of [pid, ...sessions]) {
    if (!(await waitForExit(p, timeoutMs))) {
      signal(p, 'SIGKILL');
      await waitForExit(p, 1000);
    }
  }
}

const START_TRIES = 8;

export async function startOpenSshBastion(opts: BastionOptions): Promise<Bastion> {
  const sshd = findSshd();
  if (!sshd) throw new Error('OpenSSH sshd is not installed (looked for /usr/sbin/sshd and sshd on PATH)');
  fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) {
    // sshd's privilege separation needs this empty folder; Debian's package creates it only at boot.
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  }
  const files = sshdFiles(opts.dir);
  writePrivateFile(files.hostKey, opts.hostPrivateKey.endsWith('\n') ? opts.hostPrivateKey : opts.hostPrivateKey + '\n');
  writePrivateFile(files.authorizedKeys, opts.authorizedPublicKey.trim() + '\n');
  fs.rmSync(files.pidFile, { force: true });

  let lastProblem = '';
  for (let attempt = 1; attempt <= START_TRIES; attempt++) {
    // sshd cannot listen on port 0: probe a free port and try again if someone takes it first.
    const port = opts.port || (await probeFreePort(opts.host));
    fs.writeFileSync(files.config, sshdConfig({ host: opts.host, port, user: opts.user, permit: opts.permit, files }), { mode: 0o600 });
    const logOffset = fileSize(files.logFile);
    // Without -D sshd binds its port, then detaches; the exit code says whether binding worked.
    const { code, signal: sig } = await runToExit(sshd, ['-f', files.config, '-E', files.logFile]);
    if (code !== 0) {
      lastProblem = logSince(files.logFile, logOffset) || `sshd exited with ${sig ?? `code ${code}`}`;
      if (!opts.port && /address already in use/i.test(lastProblem)) continue;
      throw new Error(`sshd failed to start: ${lastProblem}`);
    }
    const pid = await readPidFile(files.pidFile, 5000);
    try {
      const banner = await readBanner(opts.host, port, 5000);
      if (!banner.startsWith('SSH-2.0-')) throw new Error(`unexpected banner "${banner}"`);
    } catch (err) {
      await stopSshd(pid);
      throw new Error(`sshd started but does not answer on ${opts.host}:${port}: ${(err as Error).message}\n${tailOf(files.logFile)}`);
    }
    opts.log?.(`openssh bastion on ${opts.host}:${port} (sshd pid ${pid}), user ${opts.user}, permits ${opts.permit.map((p) => `${p.host}:${p.port}`).join(', ')}`);
    let closing: Promise<void> | undefined;
    return {
      port,
      kind: 'openssh',
      pid,
      logFile: files.logFile,
      close() {
        closing ??= stopSshd(pid);
        return closing;
      },
    };
  }
  throw new Error(`sshd could not find a free port after ${START_TRIES} tries: ${lastProblem}`);
}

/** The user an OpenSSH bastion lets in: sshd only accepts users of this system, so the current one. */
export function defaultBastionUser(): string {
  return os.userInfo().username;
}
