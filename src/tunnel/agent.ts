/**
 * An `http.Agent` whose connections are SSH channels of a TunnelManager, so the extension's
 * own HTTP clients reach Nomad and Consul without going through the local listeners.
 * Requests made while the tunnel reconnects wait for it (up to its `waitForConnectionMs`).
 */
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { TunnelManager, TunnelTargetName } from './tunnelManager';

export class TunnelAgent extends http.Agent {
  constructor(
    private readonly tunnel: TunnelManager,
    readonly target: TunnelTargetName,
    options: http.AgentOptions = { keepAlive: true, maxFreeSockets: 4 },
  ) {
    super(options);
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    this.tunnel.openChannel(this.target).then(
      (channel) => callback?.(null, asSocket(channel)),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

function noop(): void {
  // an SSH channel has no TCP options to set
}

/** node:http calls a few net.Socket methods on its connections; an SSH channel has none of them. */
function asSocket(channel: Duplex): Duplex {
  const s = channel as Duplex & Record<string, unknown>;
  s.setKeepAlive = noop;
  s.setNoDelay = noop;
  s.setTimeout = noop;
  s.ref = noop;
  s.unref = noop;
  s.destroySoon = s.destroy;
  return s;
}
