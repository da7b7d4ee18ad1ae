/**
 * The `local` provider: each stack is a detached process on this machine
 * (`node dist/stack.js --dir <stackDir>`) running the cluster and its bastion on loopback.
 * Stacks outlive the organizer process; `check()` finds them again from the stored handle.
 *
 * Which stack program is started: inside a bundle (dist/organizer.js, dist/demo.js) it is
 * `dist/stack.js` next to the bundle; when this module runs from source (tests via tsx) it is
 * `node --import tsx src/cli/stack.ts`, so tests exercise the current source without a build.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { isAlive, resolveBastionKind, waitForExit, type BastionKind } from './bastion';
import { defaultBastionUser } from './bastion/openssh';
import {
  ATTENDEE_PUBLIC_KEY_FILE,
  HOST_KEY_FILE,
  readStackState,
  STACK_CONFIG_FILE,
  STACK_LOG_FILE,
  STACK_STATE_FILE,
  type StackBackend,
  type StackConfig,
  type StackState,
} from './stackFiles';
import type { ProgressFn, Provider, ProvisionedStack, StackKeys, StackSpec } from './types';

export interface LocalProviderOptions {
  /** The organizer's data folder (stacks live in the folder each StackSpec names). */
  dataDir: string;
  /** Default 'auto': OpenSSH's sshd when installed, else the ssh2 bastion. */
  bastionKind?: BastionKind | 'auto';
  /** Default 'auto': real dev agents when nomad and consul are on PATH, else the lab cluster. */
  backend?: StackBackend;
  /** How long a stack may take to come up (default 60 s). */
  startTimeoutMs?: number;
  /** How long a stack may take to stop after SIGTERM before it is killed (default 10 s). */
  stopTimeoutMs?: number;
}

export interface StackProgram {
  command: string;
  args: string[];
  cwd: string;
}

/** How to start a stack process from wherever this code runs (see the file comment). */
export function stackProgram(): StackProgram {
  if (__filename.endsWith('.ts')) {
    const root = path.resolve(__dirname, '..', '..', '..');
    return { command: process.execPath, args: ['--import', 'tsx', path.join(root, 'src', 'cli', 'stack.ts')], cwd: root };
  }
  const bundled = path.join(__dirname, 'stack.js');
  if (!fs.existsSync(bundled)) {
    throw Object.assign(new Error(`${bundled} is missing; build it with "npm run build"`), { retryable: false });
  }
  return { command: process.execPath, args: [bundled], cwd: __dirname };
}

/** The handle stored by the organizer: enough to find, check and stop the stack again. */
export interface LocalHandle {
  pid: number;
  dir: string;
  nomadPort: number;
  consulPort: number;
  bastionPort: number;
  bastionKind: BastionKind;
  bastionPid: number | null;
  backend: 'lab' | 'agents';
  startedAt: string;
}

function cmdlineOf(pid: number): string[] | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** Is `pid` the stack process of `dir` (and not some process that reused the pid)? */
export function isStackProcess(pid: number, dir: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return false;
  const args = cmdlineOf(pid);
  if (!args) return false;
  const i = args.indexOf('--dir');
  const entry = args.some((a) => /(^|\/)stack\.(js|ts)$/.test(a));
  return entry && i >= 0 && path.resolve(args[i + 1] ?? '') === path.resolve(dir);
}

/**
 * Processes that belong to the stack in `dir` but are not the stack process: the OpenSSH
 * bastion's sshd (its title names its config file) and real dev agents (their config files).
 * Found by their command lines, so a stack process killed with SIGKILL leaves nothing behind.
 */
export function strayProcessesOf(dir: string): number[] {
  const prefix = path.resolve(dir) + path.sep;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const args = cmdlineOf(pid);
    if (!args?.length || !/\b(sshd|nomad|consul)\b/.test(args[0]) || !args.some((a) => a.includes(prefix))) continue;
    if (!isAlive(pid)) continue;
    out.push(pid);
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

async function stopPid(pid: number, timeoutMs: number): Promise<void> {
  signal(pid, 'SIGTERM');
  if (!(await waitForExit(pid, timeoutMs))) {
    signal(pid, 'SIGKILL');
    await waitForExit(pid, 2000);
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Connects and reads the SSH identification line: the bastion is there and speaks SSH. */
function sshBannerAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      data += c;
      if (data.includes('\n')) done(data.startsWith('SSH-2.0-'));
    });
    socket.once('error', () => done(false));
  });
}

async function nomadAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}:${port}/v1/status/leader`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.text();
    return res.ok;
  } catch {
    return false;
  }
}

function handleFrom(raw: Record<string, unknown> | null): Partial<LocalHandle> {
  return (raw ?? {}) as Partial<LocalHandle>;
}

export class LocalProvider implements Provider {
  readonly name = 'local';
  private readonly host = '127.0.0.1';

  constructor(private readonly opts: LocalProviderOptions) {}

  async provision(spec: StackSpec, keys: StackKeys, onProgress: ProgressFn, signal?: AbortSignal): Promise<ProvisionedStack> {
    const dir = path.resolve(spec.dataDir);
    // Whatever an earlier attempt left in this folder goes first; two stacks in one folder would fight.
    await this.stopEverything(dir, null);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.rmSync(path.join(dir, STACK_STATE_FILE), { force: true });

    const bastionKind = resolveBastionKind(this.opts.bastionKind ?? 'auto');
    writePrivate(path.join(dir, HOST_KEY_FILE), keys.hostPrivateKey.endsWith('\n') ? keys.hostPrivateKey : keys.hostPrivateKey + '\n');
    writePrivate(path.join(dir, ATTENDEE_PUBLIC_KEY_FILE), keys.attendeePublicKey.trim() + '\n');
    const config: StackConfig = {
      version: 1,
      stackId: spec.stackId,
      name: spec.name,
      workshopName: spec.workshopName,
      topology: spec.topology,
      host: this.host,
      backend: this.opts.backend ?? 'auto',
      bastion: {
        kind: bastionKind,
        // sshd lets in only users of this system; the ssh2 bastion uses the same name for consistency.
        user: defaultBastionUser(),
        hostKeyFile: HOST_KEY_FILE,
        authorizedKeyFile: ATTENDEE_PUBLIC_KEY_FILE,
      },
    };
    writePrivate(path.join(dir, STACK_CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');

    onProgress(`Starting the stack process (cluster and ${bastionKind} bastion).`);
    const program = stackProgram();
    const logFile = path.join(dir, STACK_LOG_FILE);
    const logFd = fs.openSync(logFile, 'a', 0o600);
    let child;
    try {
      child = spawn(program.command, [...program.args, '--dir', dir], {
        cwd: program.cwd,
        detached: true,
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      fs.closeSync(logFd);
    }
    child.unref();
    let exited: string | null = null;
    child.once('exit', (code, sig) => {
      exited = sig ? `signal ${sig}` : `code ${code}`;
    });
    child.once('error', (err) => {
      exited = err.message;
    });

    let state: StackState;
    try {
      state = await this.waitForState(dir, child.pid ?? -1, () => exited, logFile, signal);
    } catch (err) {
      await this.stopEverything(dir, child.pid ?? null);
      throw err;
    }
    onProgress(`Stack is up: Nomad and Consul behind an ${state.bastionKind} bastion on port ${state.bastionPort}.`);

    const handle: LocalHandle = {
      pid: state.pid,
      dir,
      nomadPort: state.nomadPort,
      consulPort: state.consulPort,
      bastionPort: state.bastionPort,
      bastionKind: state.bastionKind,
      bastionPid: state.bastionPid,
      backend: state.backend,
      startedAt: state.startedAt,
    };
    const lab = state.backend === 'lab';
    return {
      bastion: {
        host: this.host,
        port: state.bastionPort,
        user: state.bastionUser,
        hostKeyFingerprint: keys.hostKeyFingerprint,
        hostPublicKey: keys.hostPublicKey,
      },
      attendeePrivateKey: keys.attendeePrivateKey,
      // As seen from the bastion, which runs on the same machine.
      nomad: { host: this.host, port: state.nomadPort },
      consul: { host: this.host, port: state.consulPort },
      region: 'global',
      // A dev agent is one node in dc1; the lab cluster has the workshop's topology.
      datacenters: lab ? ['sys1', 'dc1'] : ['dc1'],
      zones: lab ? [...spec.topology.zones] : [],
      dns: { internal: `${spec.name}.internal`, external: null },
      nomadToken: null,
      consulToken: null,
      handle: { ...handle },
    };
  }

  async destroy(spec: StackSpec, handle: Record<string, unknown> | null, onProgress: ProgressFn): Promise<void> {
    const dir = path.resolve(spec.dataDir);
    const h = handleFrom(handle);
    onProgress('Stopping the stack process.');
    await this.stopEverything(dir, typeof h.pid === 'number' ? h.pid : null);
    fs.rmSync(dir, { recursive: true, force: true });
    onProgress('Stack stopped and its folder removed.');
  }

  async check(spec: StackSpec, handle: Record<string, unknown>): Promise<'alive' | 'lost'> {
    const dir = path.resolve(spec.dataDir);
    const h = handleFrom(handle);
    const state = readStackState(dir);
    const pid = typeof h.pid === 'number' ? h.pid : state?.pid;
    if (!pid || !isStackProcess(pid, dir)) return 'lost';
    const nomadPort = typeof h.nomadPort === 'number' ? h.nomadPort : state?.nomadPort;
    const bastionPort = typeof h.bastionPort === 'number' ? h.bastionPort : state?.bastionPort;
    if (!nomadPort || !bastionPort) return 'lost';
    const [nomad, bastion] = await Promise.all([nomadAnswers(this.host, nomadPort, 5000), sshBannerAnswers(this.host, bastionPort, 5000)]);
    return nomad && bastion ? 'alive' : 'lost';
  }

  /** Stops the stack process of `dir` (SIGTERM, then SIGKILL) and anything of the stack it left running. */
  private async stopEverything(dir: string, knownPid: number | null): Promise<void> {
    const timeout = this.opts.stopTimeoutMs ?? 10_000;
    const candidates = new Set<number>();
    if (knownPid) candidates.add(knownPid);
    const statePid = readStackState(dir)?.pid;
    if (statePid) candidates.add(statePid);
    for (const pid of candidates) {
      if (isStackProcess(pid, dir)) await stopPid(pid, timeout);
    }
    for (const pid of strayProcessesOf(dir)) await stopPid(pid, 3000);
  }

  private async waitForState(
    dir: string,
    pid: number,
    exited: () => string | null,
    logFile: string,
    signal: AbortSignal | undefined,
  ): Promise<StackState> {
    const timeoutMs = this.opts.startTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let delay = 20;
    for (;;) {
      const state = readStackState(dir);
      if (state && state.pid === pid) return state;
      const how = exited();
      if (how) throw new Error(`The stack process exited (${how}) before it was ready. Its log ends with:\n${tail(logFile)}`);
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('provisioning aborted');
      if (Date.now() > deadline) {
        throw new Error(`The stack did not come up within ${Math.round(timeoutMs / 1000)} s. Its log ends with:\n${tail(logFile)}`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 250);
    }
  }
}

function writePrivate(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}
