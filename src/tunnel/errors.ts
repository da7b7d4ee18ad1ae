/**
 * What can go wrong with a tunnel, sorted by what the user (and the state machine) should do
 * about it: a pinned host key that does not match and a refused SSH key are never retried,
 * because retrying cannot fix them; network trouble is retried with backoff.
 */
export type TunnelErrorKind =
  /** The bastion presented another host key than the pinned one. */
  | 'host-key-mismatch'
  /** The bastion refused the attendee's SSH key (or user). */
  | 'auth'
  /** The options themselves are unusable (unparsable private key, bad fingerprint). */
  | 'config'
  /** The bastion could not be reached, or the connection dropped. */
  | 'network'
  /** The bastion is up but could not open a forward to the target (target down or not permitted). */
  | 'forward'
  /** The tunnel is not connected (disconnected, failed, or still reconnecting when a request waited too long). */
  | 'not-connected';

export class TunnelError extends Error {
  override readonly name: string = 'TunnelError';
  constructor(
    message: string,
    readonly kind: TunnelErrorKind,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Network trouble heals by itself; the other kinds need someone to change something. */
  get retryable(): boolean {
    return this.kind === 'network';
  }
}

export class HostKeyMismatchError extends TunnelError {
  override readonly name = 'HostKeyMismatchError';
  constructor(
    readonly address: string,
    readonly expectedFingerprint: string,
    readonly actualFingerprint: string,
  ) {
    super(
      `Host key mismatch for the bastion at ${address}: it presented ${actualFingerprint}, ` +
        `but the fingerprint pinned by the organizer is ${expectedFingerprint}. ` +
        'Nothing was connected. This can be a different server or someone in the middle; ask your organizer before going on.',
      'host-key-mismatch',
    );
  }
}

/** Error shapes ssh2 and node:net hand us (ssh2 sets `level`, node sets `code`). */
interface LowLevelError extends Error {
  level?: string;
  code?: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Sorts an ssh2 client error. Anything that is not clearly the key's fault is treated as
 * network trouble: a half-started sshd or a cut connection produce protocol errors too, and
 * those heal on retry.
 */
export function classifySshError(err: unknown, address: string, user: string): TunnelError {
  if (err instanceof TunnelError) return err;
  const e = (err instanceof Error ? err : new Error(String(err))) as LowLevelError;
  if (e.level === 'client-authentication') {
    return new TunnelError(
      `The bastion at ${address} refused the SSH key for user "${user}" (${e.message}). ` +
        'The attendee key may be outdated: refresh your environment, or ask your organizer.',
      'auth',
      { cause: e },
    );
  }
  if (e.level === 'client-timeout') {
    return new TunnelError(`The bastion at ${address} stopped answering (${e.message}).`, 'network', { cause: e });
  }
  if (e.code && NETWORK_CODES.has(e.code)) {
    const what =
      e.code === 'ECONNREFUSED'
        ? 'refused the connection (is the stack running?)'
        : e.code === 'ECONNRESET'
          ? 'dropped the connection'
          : `could not be reached (${e.code})`;
    return new TunnelError(`The bastion at ${address} ${what}.`, 'network', { cause: e });
  }
  return new TunnelError(`SSH connection to the bastion at ${address} failed: ${e.message}`, 'network', { cause: e });
}
