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
import { findAgentBinaries } from './devAgents';
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
import type { PreflightEstimate, ProgressFn, Provider, ProvisionedStack, StackKeys, StackSpec, StackTopology } from './types';

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

function livePids(): number[] {
  try {
    return fs
      .readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

/**
 * Stack processes started for `dir`, found by their command lines. This finds one whose
 * organizer was killed after starting it but before its state file (or the organizer's
 * handle) recorded the pid.
 */
export function stackProcessesOf(dir: string): number[] {
  return livePids().filter((pid) => isStackProcess(pid, dir));
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
  for (const pid of livePids()) {
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

  /**
   * Counts what `count` stacks start on this machine (processes, loopback ports, memory) and
   * checks it against what the machine has left: available memory (and the cgroup's limit),
   * the user's process limit, open files, and free ephemeral ports.
   */
  async preflight(topology: StackTopology, count: number): Promise<PreflightEstimate> {
    void topology; // The lab cluster runs every node in the one stack process: the topology costs no processes or ports.
    const problems: string[] = [];
    try {
      stackProgram();
    } catch (err) {
      problems.push((err as Error).message);
    }
    const bastion = resolveBastionKind(this.opts.bastionKind ?? 'auto');
    const agents = this.opts.backend === 'agents' || (this.opts.backend !== 'lab' && findAgentBinaries() !== null);
    const need = localStackNeeds(bastion, agents);
    const resources: PreflightEstimate['resources'] = [
      { name: 'Processes', unit: null, perStack: need.processes, total: need.processes * count },
      { name: 'Ports', unit: 'loopback TCP', perStack: need.ports, total: need.ports * count },
      { name: 'Memory', unit: 'MiB', perStack: need.memoryMiB, total: need.memoryMiB * count },
    ];
    const machine = readMachineQuotas();
    const quotas: PreflightEstimate['quotas'] = [];
    const add = (metric: string, scope: string, needed: number, q: { limit: number; usage: number } | null) => {
      if (!q) return;
      const ok = needed <= q.limit - q.usage;
      quotas.push({ metric, scope, needed, limit: q.limit, usage: q.usage, ok });
      if (!ok) {
        problems.push(
          `${metric} (${scope}): ${count} stacks need ${needed}, but only ${Math.max(0, q.limit - q.usage)} of ${q.limit} are free.`,
        );
      }
    };
    add('Memory (MiB)', 'this machine', need.memoryMiB * count, machine.memoryMiB);
    add('Memory (MiB)', 'this cgroup', need.memoryMiB * count, machine.cgroupMemoryMiB);
    add('Processes and threads', 'this user (ulimit -u)', need.threads * count, machine.userTasks);
    add('Open files', 'this machine (fs.file-max)', need.openFiles * count, machine.systemFiles);
    add('Open files', 'each stack process (ulimit -n)', need.openFiles, machine.openFilesPerProcess);
    add('Ephemeral ports', 'this machine (ip_local_port_range)', need.ports * count, machine.ephemeralPorts);
    return { resources, quotas, quotaNote: machine.notes.length ? machine.notes.join(' ') : null, problems };
  }

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
    for (const pid of stackProcessesOf(dir)) candidates.add(pid);
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

// ---- pre-flight ----

/**
 * What one local stack uses, measured on Node 20 (Linux, x64) with the lab cluster of the
 * default topology (3 servers, 3 clients in each of 2 zones) after start, at rest:
 * - the stack process run from source through tsx: RSS 134-148 MB, 12 threads, 26-35 open
 *   files; the bundled dist/stack.js needs less. OpenSSH's sshd: RSS about 5 MB, 1 thread.
 * - it listens on 3 loopback TCP ports (Nomad, Consul, bastion), all from the ephemeral range.
 * 160 MiB and 64 files per stack leave headroom for attendees' SSH sessions.
 * The `agents` backend (real `nomad agent -dev` and `consul agent -dev`) was not measured here:
 * its figures are estimates (about 150 MiB and 30 threads for the two agents together).
 */
export const LOCAL_STACK_MEMORY_MIB = 160;
export const LOCAL_STACK_THREADS = 12;
export const LOCAL_STACK_OPEN_FILES = 64;
const SSHD_MEMORY_MIB = 5;
const AGENTS_MEMORY_MIB = 150;
const AGENTS_THREADS = 30;
/** Nomad http, rpc, serf and Consul http, serf_lan, serf_wan, server (see devAgents.ts). */
const AGENTS_PORTS = 7;

export interface LocalStackNeeds {
  processes: number;
  threads: number;
  ports: number;
  memoryMiB: number;
  openFiles: number;
}

/** Per stack: the stack process, plus sshd for an OpenSSH bastion, plus two agents for the `agents` backend. */
export function localStackNeeds(bastion: BastionKind, agents: boolean): LocalStackNeeds {
  const sshd = bastion === 'openssh' ? 1 : 0;
  return {
    processes: 1 + sshd + (agents ? 2 : 0),
    threads: LOCAL_STACK_THREADS + sshd + (agents ? AGENTS_THREADS : 0),
    ports: (agents ? AGENTS_PORTS : 2) + 1,
    memoryMiB: LOCAL_STACK_MEMORY_MIB + sshd * SSHD_MEMORY_MIB + (agents ? AGENTS_MEMORY_MIB : 0),
    openFiles: LOCAL_STACK_OPEN_FILES,
  };
}

type Quota = { limit: number; usage: number } | null;

export interface MachineQuotas {
  memoryMiB: Quota;
  cgroupMemoryMiB: Quota;
  userTasks: Quota;
  systemFiles: Quota;
  openFilesPerProcess: Quota;
  ephemeralPorts: Quota;
  /** What could not be read, and why. */
  notes: string[];
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

const MiB = 1024 * 1024;

/** Reads this machine's limits from /proc and /sys (Linux); what is missing is named in `notes`. */
export function readMachineQuotas(): MachineQuotas {
  const notes: string[] = [];
  const q: MachineQuotas = {
    memoryMiB: null,
    cgroupMemoryMiB: null,
    userTasks: null,
    systemFiles: null,
    openFilesPerProcess: null,
    ephemeralPorts: null,
    notes,
  };
  const meminfo = readText('/proc/meminfo');
  if (!meminfo) {
    notes.push('No /proc on this system (not Linux): memory, process, file and port limits were not checked.');
    return q;
  }
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(meminfo)?.[1] ?? NaN);
  const total = kb('MemTotal');
  const available = kb('MemAvailable');
  if (Number.isFinite(total) && Number.isFinite(available)) {
    q.memoryMiB = { limit: Math.floor(total / 1024), usage: Math.ceil((total - available) / 1024) };
  } else {
    notes.push('/proc/meminfo has no MemAvailable: free memory was not checked.');
  }
  q.cgroupMemoryMiB = readCgroupMemory();

  const limits = readText('/proc/self/limits') ?? '';
  const soft = (name: string) => {
    const v = new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(limits)?.[1];
    return v === undefined || v === 'unlimited' ? null : Number(v);
  };
  const nproc = soft('Max processes');
  const uid = process.getuid?.() ?? -1;
  if (uid === 0) {
    notes.push('Running as root: the per-user process limit does not apply.');
  } else if (nproc === null) {
    notes.push('The per-user process limit (ulimit -u) is unlimited.');
  } else {
    q.userTasks = { limit: nproc, usage: tasksOfUser(uid) };
  }
  const nofile = soft('Max open files');
  if (nofile !== null) q.openFilesPerProcess = { limit: nofile, usage: 0 };
  const fileNr = readText('/proc/sys/fs/file-nr')?.trim().split(/\s+/).map(Number);
  if (fileNr && fileNr.length === 3 && fileNr.every(Number.isFinite)) q.systemFiles = { limit: fileNr[2], usage: fileNr[0] - fileNr[1] };

  const range = readText('/proc/sys/net/ipv4/ip_local_port_range')?.trim().split(/\s+/).map(Number);
  if (range && range.length === 2 && range.every(Number.isFinite)) {
    const [lo, hi] = range;
    q.ephemeralPorts = { limit: hi - lo + 1, usage: tcpPortsInUse(lo, hi) };
  } else {
    notes.push('The ephemeral port range could not be read: free ports were not checked.');
  }
  return q;
}

/** The memory limit of the cgroup this process runs in (v2 or v1), or null when there is none. */
function readCgroupMemory(): Quota {
  const lines = (readText('/proc/self/cgroup') ?? '').split('\n');
  const v2 = lines.find((l) => l.startsWith('0::'))?.slice(3);
  const v1 = lines.map((l) => /^\d+:memory:(.*)$/.exec(l)?.[1]).find((x) => x !== undefined);
  const candidates: [string, string][] = [];
  // Inside a container the path may be relative to a namespace root: try it, then the mount's root.
  if (v1 !== undefined) {
    for (const d of [path.join('/sys/fs/cgroup/memory', v1), '/sys/fs/cgroup/memory']) {
      candidates.push([path.join(d, 'memory.limit_in_bytes'), path.join(d, 'memory.usage_in_bytes')]);
    }
  }
  if (v2 !== undefined) {
    for (const d of [path.join('/sys/fs/cgroup', v2), '/sys/fs/cgroup']) candidates.push([path.join(d, 'memory.max'), path.join(d, 'memory.current')]);
  }
  for (const [limitFile, usageFile] of candidates) {
    const limit = readText(limitFile)?.trim();
    const usage = Number(readText(usageFile)?.trim());
    if (limit === undefined || !Number.isFinite(usage)) continue;
    // "max" (v2) or a value near 2^63 (v1) means no limit.
    if (limit === 'max' || Number(limit) >= 2 ** 60) return null;
    return { limit: Math.floor(Number(limit) / MiB), usage: Math.ceil(usage / MiB) };
  }
  return null;
}

/** Processes and threads of `uid`: RLIMIT_NPROC counts threads. */
function tasksOfUser(uid: number): number {
  let n = 0;
  for (const pid of livePids()) {
    const status = readText(`/proc/${pid}/status`);
    if (!status) continue;
    const owner = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    if (owner === uid) n += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
  }
  return n + 1; // this process, left out of livePids()
}

/** Local TCP ports in [lo, hi] that some socket (listening or connected, IPv4 or IPv6) holds. */
function tcpPortsInUse(lo: number, hi: number): number {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (readText(file) ?? '').split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (!local) continue;
      const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (port >= lo && port <= hi) ports.add(port);
    }
  }
  return ports.size;
}
