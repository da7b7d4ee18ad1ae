/** SSH tunnels to a stack's bastion: pinned host key, local forwards, reconnect, HTTP agent over SSH. */
import { TunnelAgent } from './agent';
import type { TunnelManager, TunnelTargetName } from './tunnelManager';

export { TunnelManager } from './tunnelManager';
export type { TunnelEndpoint, TunnelOptions, TunnelState, TunnelStateChange, TunnelTargetName } from './tunnelManager';
export { TunnelAgent } from './agent';
export { HostKeyMismatchError, TunnelError, classifySshError, type TunnelErrorKind } from './errors';
export { backoffDelay, defaultBackoff, type BackoffOptions } from '../common/backoff';
export { normalizeFingerprint, sha256Fingerprint } from './fingerprint';

/** An HTTP agent riding the tunnel to one target; pass it to the cluster clients. */
export function createTunnelAgent(tunnel: TunnelManager, target: TunnelTargetName): TunnelAgent {
  return new TunnelAgent(tunnel, target);
}
