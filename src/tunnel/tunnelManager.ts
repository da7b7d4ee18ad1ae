/**
 * One SSH connection to a stack's bastion that carries everything the extension needs:
 * local forwards on 127.0.0.1 for the attendee's terminal and browser (the `nomad` and
 * `consul` CLIs, the UIs), and channels for the extension's own HTTP clients.
 *
 * The host key is pinned (checked before authentication, so a wrong server never sees the
 * key); the connection is kept alive and re-established with backoff; local ports stay the
 * same across reconnects so NOMAD_ADDR and open browser tabs keep working.
 */
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { Client, utils as sshUtils, type ClientChannel } from 'ssh2';
import { Emitter, type Event } from '../common/events';
import { silentLogger, type Logger } from '../common/logger';
import { TunnelAgent } from './agent';
import { backoffDelay, defaultBackoff, type BackoffOptions } from '../common/backoff';
import { HostKeyMismatchError, TunnelError, classifySshError } from './errors';
import { normalizeFingerprint, publicKeyBlob, sha256Fingerprint } from './fingerprint';

export type TunnelState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'failed';
export type TunnelTargetName = 'nomad' | 'consul';

export interface TunnelEndpoint {
  host: string;
  port: number;
}

export interface TunnelOptions {
  bastion: {
    host: string;
    port: number;
    user: string;
    /** `SHA256:` + unpadded base64, as the organizer API hands it out. */
    hostKeyFingerprint: string;
    /** The host's public key line, when known; it must agree with the fingerprint. */
    hostPublicKey?: string;
  };
  /** The attendee's OpenSSH private key. */
  privateKey: string;
  /** Addresses as the bastion sees them (what its PermitOpen allows). */
  targets: Record<TunnelTargetName, TunnelEndpoint>;
  /** SSH keepalive period in ms (default 10 s); three unanswered ones drop the connection. */
  keepaliveInterval?: number;
  keepaliveCountMax?: number;
  /** How long the SSH handshake and login may take, in ms (default 20 s). */
  readyTimeout?: number;
  /** Reconnect delays (default 0.5 s doubling to 30 s, half of it jitter). */
  backoff?: BackoffOptions;
  /** Local ports to try first; a taken one falls back to a free port. */
  preferredPorts?: Partial<Record<TunnelTargetName, number>>;
  /** How long a local connection or HTTP request waits for a reconnect before it is refused (default 30 s). */
  waitForConnectionMs?: number;
  log?: Logger;
}

export interface TunnelStateChange {
  state: TunnelState;
  previous: TunnelState;
  /** Why the tunnel left `connected` or could not reach it. */
  error?: TunnelError;
  /** While reconnecting: the number of the next attempt (1-based) and when it starts. */
  attempt?: number;
  retryInMs?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: TunnelError) => void;
  timer?: NodeJS.Timeout;
}

const TARGETS: TunnelTargetName[] = ['nomad', 'consul'];

export class TunnelManager {
  private _state: TunnelState = 'disconnected';
  private _lastError: TunnelError | undefined;
  private readonly stateEmitter = new Emitter<TunnelStateChange>();
  /** Fires on every state transition. */
  readonly onDidChangeState: Event<TunnelStateChange> = this.stateEmitter.event;

  private readonly log: Logger;
  private readonly address: string;
  private client: Client | undefined;
  private clientReady = false;
  /** Bumped for every SSH attempt and on disconnect, so callbacks of an old client are ignored. */
  private generation = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private waiters = new Set<Waiter>();
  private readonly servers = new Map<TunnelTargetName, net.Server>();
  private readonly localSockets = new Set<net.Socket>();
  /** Channels of the current SSH connection; ssh2 only ends their readable side when it dies. */
  private readonly channels = new Set<ClientChannel>();
  /** Ports to reuse: the preferred ones at first, then the ones last listened on. */
  private readonly rememberedPorts: Partial<Record<TunnelTargetName, number>>;
  private listenersStarting: Promise<void> | undefined;
  private disposed = false;

  constructor(private readonly options: TunnelOptions) {
    this.log = options.log ?? silentLogger;
    this.address = `${options.bastion.host}:${options.bastion.port}`;
    this.rememberedPorts = { ...(options.preferredPorts ?? {}) };
  }

  get state(): TunnelState {
    return this._state;
  }

  /** The error behind the current `failed` or `reconnecting` state (cleared once connected). */
  get lastError(): TunnelError | undefined {
    return this._lastError;
  }

  /** The local forward ports, once the tunnel has connected for the first time. */
  get localPorts(): Record<TunnelTargetName, number> | undefined {
    if (this.servers.size !== TARGETS.length) return undefined;
    const ports = {} as Record<TunnelTargetName, number>;
    for (const name of TARGETS) ports[name] = (this.servers.get(name)!.address() as net.AddressInfo).port;
    return ports;
  }

  /** `http://127.0.0.1:<port>` of a local forward, for NOMAD_ADDR / CONSUL_HTTP_ADDR and the browser. */
  localUrl(target: TunnelTargetName): string | undefined {
    const port = this.localPorts?.[target];
    return port === undefined ? undefined : `http://127.0.0.1:${port}`;
  }

  /**
   * Starts connecting (if not already) and resolves once connected. Rejects when the tunnel
   * fails for good (host key, SSH key) or is disconnected first. Network trouble does not
   * reject: the tunnel keeps retrying, and the state events tell the story.
   */
  connect(): Promise<void> {
    if (this.disposed) return Promise.reject(new TunnelError('The tunnel was disposed.', 'not-connected'));
    if (this._state === 'connected') return Promise.resolve();
    const waiting = this.waitForConnected(0);
    if (this._state === 'disconnected' || this._state === 'failed') {
      this.attempt = 0;
      this._lastError = undefined;
      const configError = this.checkOptions();
      if (configError) {
        this.fail(configError);
      } else {
        this.setState('connecting');
        this.openSsh();
      }
    }
    return waiting;
  }

  /** Skips the remaining backoff delay while reconnecting (a "Retry" button). */
  retryNow(): void {
    if (this._state !== 'reconnecting' || !this.retryTimer) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.openSsh();
  }

  /**
   * Closes the SSH connection and the local listeners. The local ports are remembered and
   * tried first on the next connect().
   */
  async disconnect(): Promise<void> {
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.client;
    this.client = undefined;
    this.clientReady = false;
    client?.end();
    this.destroyChannels();
    this._lastError = undefined;
    this.rejectWaiters(new TunnelError('The tunnel was disconnected.', 'not-connected'));
    await this.closeListeners();
    if (this._state !== 'disconnected') this.setState('disconnected');
  }

  /** Disconnects and drops all listeners of the state event. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    await this.disconnect();
    this.disposed = true;
    this.stateEmitter.dispose();
  }

  /**
   * A channel to a target through the bastion, for HTTP clients. While reconnecting it waits
   * (up to `waitForConnectionMs`); when disconnected or failed it rejects at once.
   */
  async openChannel(target: TunnelTargetName): Promise<ClientChannel> {
    await this.waitForConnected(this.options.waitForConnectionMs ?? 30_000);
    return this.forwardOut(target, '127.0.0.1', 0);
  }

  /** An `http.Agent` whose connections are channels of this tunnel (for the cluster clients). */
  createAgent(target: TunnelTargetName): TunnelAgent {
    return new TunnelAgent(this, target);
  }

  // ---------------------------------------------------------------- internals

  private checkOptions(): TunnelError | undefined {
    const { bastion } = this.options;
    try {
      const pinned = normalizeFingerprint(bastion.hostKeyFingerprint);
      if (bastion.hostPublicKey && sha256Fingerprint(publicKeyBlob(bastion.hostPublicKey)) !== pinned) {
        return new TunnelError(
          `The bastion's host public key and its pinned fingerprint ${pinned} do not belong together; the environment data is inconsistent.`,
          'config',
        );
      }
    } catch (err) {
      return new TunnelError(`Cannot pin the bastion's host key: ${(err as Error).message}`, 'config');
    }
    const key = sshUtils.parseKey(this.options.privateKey);
    if (key instanceof Error) return new TunnelError(`The attendee SSH key cannot be read: ${key.message}`, 'config');
    return undefined;
  }

  private setState(state: TunnelState, extra: Omit<TunnelStateChange, 'state' | 'previous'> = {}): void {
    const previous = this._state;
    this._state = state;
    const error = extra.error;
    this.log.info(
      `tunnel ${this.address}: ${previous} → ${state}` +
        (extra.retryInMs !== undefined ? ` (attempt ${extra.attempt} in ${extra.retryInMs} ms)` : '') +
        (error ? `: ${error.message}` : ''),
    );
    this.stateEmitter.fire({ state, previous, ...extra });
  }

  private openSsh(): void {
    const gen = ++this.generation;
    const { bastion } = this.options;
    const pinned = normalizeFingerprint(bastion.hostKeyFingerprint);
    const client = new Client();
    this.client = client;
    this.clientReady = false;
    let sawError: TunnelError | undefined;

    client.on('ready', () => {
      if (gen !== this.generation) return;
      this.clientReady = true;
      void this.onReady(gen);
    });
    client.on('error', (err) => {
      if (gen !== this.generation) return;
      sawError ??= classifySshError(err, this.address, bastion.user);
      // Fatal errors are handled at once; ssh2 may or may not follow with 'close'.
      if (!sawError.retryable) this.fail(sawError);
    });
    client.on('close', () => {
      if (gen !== this.generation) return;
      this.onClosed(sawError);
    });

    try {
      client.connect({
        host: bastion.host,
        port: bastion.port,
        username: bastion.user,
        privateKey: this.options.privateKey,
        readyTimeout: this.options.readyTimeout ?? 20_000,
        keepaliveInterval: this.options.keepaliveInterval ?? 10_000,
        keepaliveCountMax: this.options.keepaliveCountMax ?? 3,
        // Only the pinned key will do; this runs before the attendee key is offered.
        hostVerifier: (key: Buffer) => {
          const seen = sha256Fingerprint(key);
          if (seen === pinned) return true;
          sawError = new HostKeyMismatchError(this.address, pinned, seen);
          return false;
        },
      });
    } catch (err) {
      sawError = classifySshError(err, this.address, bastion.user);
      if (sawError.kind === 'network') sawError = new TunnelError(sawError.message, 'config', { cause: err });
      this.fail(sawError);
    }
  }

  private async onReady(gen: number): Promise<void> {
    try {
      await this.ensureListeners();
    } catch (err) {
      if (gen !== this.generation) return;
      this.fail(new TunnelError(`Cannot listen on a local port for the tunnel: ${(err as Error).message}`, 'config', { cause: err }));
      return;
    }
    if (gen !== this.generation) return;
    this.attempt = 0;
    this._lastError = undefined;
    this.setState('connected');
    this.resolveWaiters();
  }

  /**
   * A dead connection's channels must be destroyed, or an idle keep-alive socket of an HTTP
   * agent would take the next request and never answer.
   */
  private destroyChannels(): void {
    for (const c of this.channels) c.destroy();
    this.channels.clear();
  }

  private onClosed(error: TunnelError | undefined): void {
    this.client = undefined;
    this.clientReady = false;
    this.destroyChannels();
    if (this._state === 'failed' || this._state === 'disconnected') return;
    if (error && !error.retryable) {
      this.fail(error);
      return;
    }
    const reason = error ?? new TunnelError(`The SSH connection to the bastion at ${this.address} closed.`, 'network');
    this._lastError = reason;
    this.scheduleRetry(reason);
  }

  private scheduleRetry(error: TunnelError): void {
    const delay = backoffDelay(this.options.backoff ?? defaultBackoff, this.attempt);
    this.attempt++;
    this.setState('reconnecting', { error, attempt: this.attempt, retryInMs: delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.openSsh();
    }, delay);
  }

  private fail(error: TunnelError): void {
    if (this._state === 'failed' && this._lastError === error) return;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.client;
    this.client = undefined;
    this.clientReady = false;
    client?.end();
    this.destroyChannels();
    this._lastError = error;
    // Nothing may stay connected to a server we do not trust (or cannot log in to).
    void this.closeListeners();
    this.rejectWaiters(error);
    this.setState('failed', { error });
  }

  private waitForConnected(timeoutMs: number): Promise<void> {
    if (this._state === 'connected' && this.clientReady) return Promise.resolve();
    if (this._state === 'disconnected' && timeoutMs > 0) {
      return Promise.reject(new TunnelError('The tunnel is not connected.', 'not-connected'));
    }
    if (this._state === 'failed' && timeoutMs > 0) {
      const why = this._lastError?.message ?? 'unknown error';
      return Promise.reject(new TunnelError(`The tunnel failed: ${why}`, 'not-connected', { cause: this._lastError }));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      if (timeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          this.waiters.delete(waiter);
          const why = this._lastError ? ` Last error: ${this._lastError.message}` : '';
          reject(new TunnelError(`The tunnel did not reconnect within ${timeoutMs} ms.${why}`, 'not-connected'));
        }, timeoutMs);
      }
      this.waiters.add(waiter);
    });
  }

  private resolveWaiters(): void {
    for (const w of this.waiters) {
      if (w.timer) clearTimeout(w.timer);
      w.resolve();
    }
    this.waiters.clear();
  }

  private rejectWaiters(error: TunnelError): void {
    for (const w of this.waiters) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(error);
    }
    this.waiters.clear();
  }

  private forwardOut(target: TunnelTargetName, srcIP: string, srcPort: number): Promise<ClientChannel> {
    const client = this.client;
    const dest = this.options.targets[target];
    if (!client || !this.clientReady) {
      return Promise.reject(new TunnelError('The tunnel is not connected.', 'not-connected'));
    }
    return new Promise((resolve, reject) => {
      client.forwardOut(srcIP, srcPort, dest.host, dest.port, (err, channel) => {
        if (err) {
          const msg = `The bastion could not open a connection to ${target} at ${dest.host}:${dest.port}: ${err.message}`;
          this.log.warn(`tunnel ${this.address}: ${msg}`);
          reject(new TunnelError(msg, 'forward', { cause: err }));
          return;
        }
        this.channels.add(channel);
        channel.once('close', () => this.channels.delete(channel));
        resolve(channel);
      });
    });
  }

  private ensureListeners(): Promise<void> {
    if (this.servers.size === TARGETS.length) return Promise.resolve();
    this.listenersStarting ??= (async () => {
      try {
        for (const name of TARGETS) {
          if (this.servers.has(name)) continue;
          const server = await this.listen(name);
          this.servers.set(name, server);
          this.rememberedPorts[name] = (server.address() as net.AddressInfo).port;
        }
        this.log.info(`tunnel ${this.address}: local forwards ${TARGETS.map((n) => `${n} → 127.0.0.1:${this.rememberedPorts[n]}`).join(', ')}`);
      } finally {
        this.listenersStarting = undefined;
      }
    })();
    return this.listenersStarting;
  }

  private async listen(name: TunnelTargetName): Promise<net.Server> {
    const wanted = this.rememberedPorts[name];
    if (wanted) {
      try {
        return await this.listenOn(name, wanted);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        this.log.warn(`tunnel ${this.address}: local port ${wanted} for ${name} is taken; using a free one`);
      }
    }
    return this.listenOn(name, 0);
  }

  private listenOn(name: TunnelTargetName, port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => this.onLocalConnection(name, socket));
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.error(`tunnel local listener for ${name}: ${err.message}`));
        resolve(server);
      });
    });
  }

  private onLocalConnection(name: TunnelTargetName, socket: net.Socket): void {
    this.localSockets.add(socket);
    socket.once('close', () => this.localSockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // While reconnecting the connection waits; data the client sends meanwhile stays buffered.
    socket.pause();
    this.waitForConnected(this.options.waitForConnectionMs ?? 30_000)
      .then(() => this.forwardOut(name, socket.remoteAddress ?? '127.0.0.1', socket.remotePort ?? 0))
      .then(
        (channel) => this.pipe(socket, channel),
        (err: Error) => {
          this.log.warn(`tunnel ${this.address}: local connection to ${name} refused: ${err.message}`);
          socket.destroy();
        },
      );
  }

  private pipe(socket: net.Socket, channel: Duplex): void {
    if (socket.destroyed) {
      channel.destroy();
      return;
    }
    channel.on('error', () => socket.destroy());
    channel.on('close', () => socket.destroy());
    socket.on('close', () => channel.destroy());
    socket.pipe(channel).pipe(socket);
    socket.resume();
  }

  private async closeListeners(): Promise<void> {
    const servers = [...this.servers.values()];
    this.servers.clear();
    for (const s of this.localSockets) s.destroy();
    this.localSockets.clear();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
