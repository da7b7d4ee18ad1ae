/**
 * The `ssh` command an attendee can paste into a terminal to reach their stack without the
 * extension: the same bastion, the same pinned host key, the same forwards to Nomad and Consul.
 */
import type { PublicConnection } from './environmentWatcher';

export interface SshCommandOptions {
  /** Path of the private key file (written only when the attendee chose to save it). */
  keyFile: string;
  /** A known_hosts file holding only the bastion's pinned host key. */
  knownHostsFile: string;
  localNomadPort?: number;
  localConsulPort?: number;
  /** Decides the quoting: POSIX shells or PowerShell/cmd. */
  platform?: NodeJS.Platform;
}

/** `[host]:port` as OpenSSH writes non-default ports (and IPv6 hosts) in known_hosts. */
export function knownHostsHost(host: string, port: number): string {
  return port === 22 && !host.includes(':') ? host : `[${host}]:${port}`;
}

/** The known_hosts line that pins the bastion's host key. */
export function knownHostsLine(connection: Pick<PublicConnection, 'bastion'>): string {
  const { host, port, hostPublicKey } = connection.bastion;
  // Drop the key's comment: known_hosts wants "<host> <type> <base64>".
  const [type, blob] = hostPublicKey.trim().split(/\s+/);
  return `${knownHostsHost(host, port)} ${type} ${blob}`;
}

function forwardTarget(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function quoteArg(arg: string, platform: NodeJS.Platform = process.platform): string {
  if (/^[A-Za-z0-9_@%+=:,./~\\-]+$/.test(arg)) return arg;
  if (platform === 'win32') return `"${arg.replace(/"/g, '\\"')}"`;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Options, and why each is there:
 * - `-N`: the bastion only forwards; asking it for a shell would just fail.
 * - `IdentitiesOnly=yes`: offer only this key, not every key in the agent (bastions count failures).
 * - `UserKnownHostsFile` + `StrictHostKeyChecking=yes`: trust exactly the host key the organizer
 *   API gave, as the extension does, instead of asking "are you sure…" on first use.
 * - `ExitOnForwardFailure=yes`: if 4646 or 8500 is taken locally, fail loudly instead of
 *   connecting without the tunnel.
 * - `ServerAliveInterval`: notice a dead connection rather than hang.
 */
export function buildSshCommand(connection: PublicConnection, opts: SshCommandOptions): string {
  const q = (s: string) => quoteArg(s, opts.platform);
  const { bastion, nomad, consul } = connection;
  const args = [
    'ssh',
    '-N',
    '-i', q(opts.keyFile),
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${q(opts.knownHostsFile)}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'ExitOnForwardFailure=yes',
    '-o', 'ServerAliveInterval=30',
    '-p', String(bastion.port),
    '-L', `${opts.localNomadPort ?? 4646}:${forwardTarget(nomad.host, nomad.port)}`,
    '-L', `${opts.localConsulPort ?? 8500}:${forwardTarget(consul.host, consul.port)}`,
    q(`${bastion.user}@${bastion.host}`),
  ];
  return args.join(' ');
}
