/**
 * The attendee's connection to their cluster over the whole life of the extension: it follows
 * the signed-in environment, builds a ClusterSession once the stack is ready (and a new one when
 * the stack is re-provisioned), tears it down on sign-out, remembers a Disconnect until Connect,
 * and re-raises the current session's events as its own, so a view subscribes once and keeps
 * its subscription across reconnects and rebuilt stacks. The editor shows what it says (status
 * bar, views, messages); every decision is made here, without the editor.
 */
import type { PublicEnvironment } from '../attendee/environmentWatcher';
import type { ClusterChange, ClusterModel } from '../cluster';
import { Emitter, type Disposable, type Event } from '../common/events';
import type { Logger } from '../common/logger';
import type { TunnelError, TunnelStateChange } from '../tunnel';
import { ClusterSession, sessionIdentity, type ClusterSessionOptions } from './clusterSession';

/** `idle`: signed out or the stack is not ready; the tunnel's states otherwise. */
export type ConnectionState = 'idle' | 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'failed';

export interface ClusterConnectionOptions {
  /** The signed-in attendee's environment, or undefined when signed out. */
  environment(): PublicEnvironment | undefined;
  /** Fires when the environment or the sign-in may have changed. */
  onDidChangeEnvironment: Event<unknown>;
  /** The attendee's private key for this stack, from secret storage. */
  privateKey(stackId: string): Promise<string | undefined>;
  log: Logger;
  /** Test seams for the sessions it builds. */
  session?: Pick<ClusterSessionOptions, 'tunnel' | 'useEventStream'>;
}

/** An operation needs the cluster and there is none right now; `state` says why. */
export class NotConnectedError extends Error {
  override readonly name = 'NotConnectedError';
  constructor(
    readonly state: Exclude<ConnectionState, 'connected'>,
    readonly reason: string | undefined,
  ) {
    super(notConnectedMessage(state, reason));
  }
}

function notConnectedMessage(state: Exclude<ConnectionState, 'connected'>, reason: string | undefined): string {
  switch (state) {
    case 'idle':
      return 'Your cluster is not reachable yet: your stack is not ready. The Environment view shows how far it is.';
    case 'connecting':
    case 'reconnecting':
      return 'Still connecting to your cluster through the bastion; try again in a moment.';
    case 'failed':
      return `Not connected to your cluster: ${reason ?? 'the SSH tunnel could not be opened'}.`;
    case 'disconnected':
      return 'Not connected to your cluster.';
  }
}

export class ClusterConnection implements Disposable {
  private current: ClusterSession | undefined;
  private sessionSubs: Disposable[] = [];
  private _state: ConnectionState = 'idle';
  private _lastError: string | undefined;
  private _retryAt: number | undefined;
  /** The attendee pressed Disconnect: no connecting by ourselves until Connect. */
  private userDisconnected = false;
  private syncing: Promise<void> = Promise.resolve();
  private readonly envSub: Disposable;
  private disposed = false;

  private readonly changed = new Emitter<void>();
  /** The state, the error or the session changed (not on every cluster change: see onDidChangeCluster). */
  readonly onDidChange: Event<void> = this.changed.event;
  private readonly clusterChanged = new Emitter<ClusterChange>();
  /** What changed in the cluster, from whichever session is current. */
  readonly onDidChangeCluster: Event<ClusterChange> = this.clusterChanged.event;
  private readonly failed = new Emitter<TunnelError>();
  /** The tunnel failed for good (wrong host key, refused key, nothing at the address): worth telling the attendee. */
  readonly onDidFail: Event<TunnelError> = this.failed.event;

  constructor(private readonly opts: ClusterConnectionOptions) {
    this.envSub = opts.onDidChangeEnvironment(() => this.scheduleSync());
  }

  /** Starts following the environment (connects by itself once the stack is ready). */
  start(): Promise<void> {
    return this.scheduleSync();
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** Why the connection failed or is reconnecting, in words. */
  get lastError(): string | undefined {
    return this._lastError;
  }

  /** While reconnecting: when the next attempt starts (ms since the epoch). */
  get retryAt(): number | undefined {
    return this._retryAt;
  }

  /** The session of the current stack, once it has connected (it stays while reconnecting). */
  get session(): ClusterSession | undefined {
    return this.current?.live ? this.current : undefined;
  }

  get model(): ClusterModel | undefined {
    return this.session?.model;
  }

  /** The live session; otherwise NotConnectedError saying why in words. */
  require(): ClusterSession {
    const s = this.current;
    if (this._state === 'connected' && s?.live) return s;
    throw new NotConnectedError(this._state === 'connected' ? 'connecting' : this._state, this._lastError);
  }

  /** Connect: after a Disconnect or a failure, or to wait for the connection under way. */
  async connect(): Promise<void> {
    this.userDisconnected = false;
    if (!this.readyEnvironment()) throw new Error('Your stack is not ready yet; Open Kitchen connects by itself once it is.');
    const s = this.current;
    if (s && (this._state === 'failed' || this._state === 'disconnected')) {
      // The state events tell how it went; a failure is not thrown at the caller twice.
      await s.connect().catch(() => undefined);
      this.changed.fire();
      return;
    }
    await this.scheduleSync();
  }

  async disconnect(): Promise<void> {
    this.userDisconnected = true;
    await this.teardown();
    this.setState(this.readyEnvironment() ? 'disconnected' : 'idle');
  }

  /** Retry now: skips a reconnect's wait, re-reads a connected cluster, or connects again. */
  async retry(): Promise<void> {
    if (!this.current) return this.connect();
    if (this._state === 'failed' || this._state === 'disconnected') return this.connect();
    await this.current.retry();
  }

  private readyEnvironment(): (PublicEnvironment & { connection: NonNullable<PublicEnvironment['connection']> }) | undefined {
    const env = this.opts.environment();
    return env && sessionIdentity(env) ? (env as PublicEnvironment & { connection: NonNullable<PublicEnvironment['connection']> }) : undefined;
  }

  /** Serialised, so a burst of environment events cannot build two tunnels. */
  private scheduleSync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.sync()).catch((err: Error) => this.opts.log.error(`Connection: ${err.message}`));
    return this.syncing;
  }

  private async sync(): Promise<void> {
    if (this.disposed) return;
    const env = this.readyEnvironment();
    if (!env) {
      this.userDisconnected = false;
      await this.teardown();
      this.setState('idle');
      return;
    }
    if (this.current?.identity === sessionIdentity(env)) return;
    await this.teardown();
    if (this.userDisconnected) {
      this.setState('disconnected');
      return;
    }
    await this.build(env);
  }

  private async build(env: NonNullable<ReturnType<ClusterConnection['readyEnvironment']>>): Promise<void> {
    const { log } = this.opts;
    const key = await this.opts.privateKey(env.stackId);
    if (!key) {
      this._lastError = 'Your SSH key for this stack is not in this machine\'s secret storage; run "Open Kitchen: Refresh Environment".';
      this.setState('failed');
      return;
    }
    const session = new ClusterSession({ environment: env, privateKey: key, log, ...this.opts.session });
    this.current = session;
    this.sessionSubs = [session.onDidChangeState((e) => this.onTunnelState(session, e)), session.model.onDidChange((c) => this.clusterChanged.fire(c))];
    const b = env.connection.bastion;
    log.info(`Connecting to ${b.user}@${b.host}:${b.port} (host key ${b.hostKeyFingerprint})`);
    this.setState('connecting');
    try {
      await session.connect();
    } catch {
      // The state event has said why (failed or disconnected).
      return;
    }
    if (this.current === session) this.changed.fire();
  }

  private onTunnelState(session: ClusterSession, e: TunnelStateChange): void {
    if (session !== this.current) return;
    this._lastError = e.error?.message;
    this._retryAt = e.retryInMs !== undefined ? Date.now() + e.retryInMs : undefined;
    this.setState(e.state);
    if (e.state === 'failed' && e.error) this.failed.fire(e.error);
  }

  private setState(state: ConnectionState): void {
    const changed = state !== this._state;
    this._state = state;
    if (changed) this.opts.log.info(`Connection: ${state}${this._lastError ? ` (${this._lastError})` : ''}`);
    this.changed.fire();
  }

  private async teardown(): Promise<void> {
    const s = this.current;
    if (!s) return;
    this.current = undefined;
    for (const d of this.sessionSubs) d.dispose();
    this.sessionSubs = [];
    this._lastError = undefined;
    this._retryAt = undefined;
    await s.dispose();
    this.changed.fire();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.envSub.dispose();
    await this.teardown();
    this.changed.dispose();
    this.clusterChanged.dispose();
    this.failed.dispose();
  }
}
