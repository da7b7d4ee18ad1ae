/**
 * `startBastion()`: one SSH bastion per stack that only forwards to the stack's own
 * endpoints. OpenSSH's sshd when installed (the real thing attendees meet on cloud stacks),
 * otherwise the same policy on the `ssh2` server.
 */
import type { Bastion, BastionKind, BastionOptions } from './common';
import { findSshd, startOpenSshBastion } from './openssh';
import { startSsh2Bastion } from './ssh2';

export type { Bastion, BastionKind, BastionOptions, PermittedTarget } from './common';
export { isAlive, probeFreePort, waitForExit } from './common';
export { defaultBastionUser, findSshd, sshdConfig, stopSshd, sshdFiles } from './openssh';

/** What 'auto' means on this machine. */
export function resolveBastionKind(kind: BastionKind | 'auto'): BastionKind {
  if (kind !== 'auto') return kind;
  return findSshd() ? 'openssh' : 'ssh2';
}

export function startBastion(opts: BastionOptions): Promise<Bastion> {
  const kind = resolveBastionKind(opts.kind);
  return kind === 'openssh' ? startOpenSshBastion(opts) : startSsh2Bastion(opts);
}
