/**
 * The files of one local stack's folder, shared by the local provider (which writes
 * `stack.json` and the keys, and reads `state.json`) and the stack process (the reverse).
 * Kept apart from the stack process code so the organizer does not load the lab cluster.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BastionKind } from './bastion/common';
import type { StackTopology } from './types';

export const STACK_CONFIG_FILE = 'stack.json';
export const STACK_STATE_FILE = 'state.json';
export const STACK_LOG_FILE = 'stack.log';
export const HOST_KEY_FILE = 'bastion_host_ed25519_key';
export const ATTENDEE_PUBLIC_KEY_FILE = 'attendee_ed25519.pub';
export const BASTION_DIR = 'bastion';

/** Which cluster a stack runs: 'auto' = real dev agents when both binaries are on PATH, else the lab cluster. */
export type StackBackend = 'auto' | 'lab' | 'agents';

/** `stack.json`: written by the local provider, read by the stack process. */
export interface StackConfig {
  version: 1;
  stackId: string;
  name: string;
  workshopName: string;
  topology: StackTopology;
  /** Loopback address everything listens on. */
  host: string;
  backend: StackBackend;
  bastion: {
    kind: BastionKind | 'auto';
    user: string;
    /** File names relative to the stack folder. */
    hostKeyFile: string;
    authorizedKeyFile: string;
  };
}

/** `state.json`: written by the stack process once it serves, removed on a clean stop. */
export interface StackState {
  pid: number;
  backend: 'lab' | 'agents';
  nomadPort: number;
  consulPort: number;
  bastionPort: number;
  bastionKind: BastionKind;
  bastionUser: string;
  /** The sshd daemon of an OpenSSH bastion (it runs as its own process). */
  bastionPid: number | null;
  startedAt: string;
}

export function readStackConfig(dir: string): StackConfig {
  const file = path.join(dir, STACK_CONFIG_FILE);
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  const config = JSON.parse(raw) as StackConfig;
  if (config.version !== 1) throw new Error(`${file}: unsupported version ${String(config.version)}`);
  for (const field of ['stackId', 'name', 'host'] as const) {
    if (typeof config[field] !== 'string' || !config[field]) throw new Error(`${file}: "${field}" is missing`);
  }
  if (!config.bastion?.user || !config.bastion.hostKeyFile || !config.bastion.authorizedKeyFile) {
    throw new Error(`${file}: "bastion" needs user, hostKeyFile and authorizedKeyFile`);
  }
  return config;
}

/** The state file, or null when absent or half-written. */
export function readStackState(dir: string): StackState | null {
  try {
    const state = JSON.parse(fs.readFileSync(path.join(dir, STACK_STATE_FILE), 'utf8')) as StackState;
    return Number.isInteger(state.pid) && Number.isInteger(state.nomadPort) ? state : null;
  } catch {
    return null;
  }
}

/** Write-then-rename, so a reader never sees half a file. */
export function writeJsonAtomic(file: string, data: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}
