/**
 * What the tests see of processes and ports, read from /proc: the processes a stack (or a whole
 * data folder) left running, and the TCP ports they listen on. Used to prove "no orphans".
 */
import * as fs from 'node:fs';

/** The process's arguments, or null when it has exited. */
export function cmdline(pid: number): string[] | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null; // exited meanwhile
  }
}

/** A zombie (exited, not yet reaped) runs nothing and holds no port. */
function isZombie(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true; // exited meanwhile
  }
}

/** Live processes whose command line names `dir` or a path inside it (this process and `except` left out). */
export function processesUnder(dir: string, except: number[] = []): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || except.includes(pid)) continue;
    const args = cmdline(pid);
    if (!args?.some((a) => a === dir || a.includes(dir + '/'))) continue;
    if (!isZombie(pid)) out.push(pid);
  }
  return out;
}

/** TCP ports the given processes listen on (their socket inodes matched in /proc/net/tcp*), sorted. */
export function listeningPortsOf(pids: number[]): number[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited meanwhile
    }
    for (const fd of fds) {
      let link = '';
      try {
        link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) inodes.add(m[1]!);
    }
  }
  const ports: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // State 0A is LISTEN.
      if (cols[3] === '0A' && inodes.has(cols[9]!)) ports.push(parseInt(cols[1]!.split(':').at(-1)!, 16));
    }
  }
  return ports.sort((a, b) => a - b);
}
