/**
 * One signed-in stack, live: the SSH tunnel through its bastion (host key pinned), the Nomad and
 * Consul clients riding that tunnel with the stack's ACL tokens, and the cluster model watching
 * them. It is the only way the extension reads or changes the cluster: the views read its model,
 * and the labs' checks and solutions, the job files, the allocation commands and the lab faults
 * all use its clients, so every request carries the token and is logged the same way.
 */
import type { PublicEnvironment } from '../attendee/environmentWatcher';
import { ClusterModel, ConsulClient, NomadClient } from '../cluster';
import { Emitter, type Event } from '../common/events';
import type { Logger } from '../common/logger';
import { createClusterReader, createSolutionApplier, faultRequest, type ClusterReader, type LabFault, type SolutionApplier } from '../labs';
import { TunnelManager, type TunnelError, type TunnelOptions, type TunnelState, type TunnelStateChange } from '../tunnel';

/** What a session is built from: a ready environment and the attendee's private key for it. */
export interface ClusterSessionOptions {
  environment: PublicEnvironment & { connection: NonNullable<PublicEnvironment['connection']> };
  privateKey: string;
  log: Logger;
  /** Test seams: tunnel timings and the model's options. */
  tunnel?: Partial<Pick<TunnelOptions, 'backoff' | 'keepaliveInterval' | 'readyTimeout' | 'waitForConnectionMs' | 'preferredPorts'>>;
  useEventStream?: boolean;
}

/** A stack's identity: a re-provisioned stack (new bastion, new host key) is a new session. */
export function sessionIdentity(env: PublicEnvironment): string | undefined {
  const c = env.connection;
  if (env.status !== 'ready' || !c) return undefined;
  return `${env.stackId}|${c.bastion.host}:${c.bastion.port}|${c.bastion.hostKeyFingerprint}|${c.nomad.host}:${c.nomad.port}|${c.consul.host}:${c.consul.port}`;
}

export class ClusterSession {
  readonly identity: string;
  readonly tunnel: TunnelManager;
  readonly nomad: NomadClient;
  readonly consul: ConsulClient;
  readonly model: ClusterModel;
  private readonly stateEmitter = new Emitter<TunnelStateChange>();
  /** The tunnel's state changes (connecting, connected, reconnecting, failed, disconnected). */
  readonly onDidChangeState: Event<TunnelStateChange> = this.stateEmitter.event;
  private started = false;
  private disposed = false;

  constructor(private readonly opts: ClusterSessionOptions) {
    const env = opts.environment;
    const c = env.connection;
    this.identity = sessionIdentity(env)!;
    this.tunnel = new TunnelManager({
      bastion: { host: c.bastion.host, port: c.bastion.port, user: c.bastion.user, hostKeyFingerprint: c.bastion.hostKeyFingerprint, hostPublicKey: c.bastion.hostPublicKey ?? undefined },
      privateKey: opts.privateKey,
      targets: { nomad: c.nomad, consul: c.consul },
      log: opts.log,
      ...opts.tunnel,
    });
    // The clients ride the SSH connection itself; the base URL only names the Host header.
    this.nomad = new NomadClient({ baseUrl: `http://${hostForUrl(c.nomad.host)}:${c.nomad.port}`, agent: this.tunnel.createAgent('nomad'), token: c.nomadToken ?? undefined, log: opts.log });
    this.consul = new ConsulClient({ baseUrl: `http://${hostForUrl(c.consul.host)}:${c.consul.port}`, agent: this.tunnel.createAgent('consul'), token: c.consulToken ?? undefined, log: opts.log });
    this.model = new ClusterModel({ nomad: this.nomad, consul: this.consul, connection: this.tunnel, log: opts.log, useEventStream: opts.useEventStream });
    this.tunnel.onDidChangeState((e) => this.stateEmitter.fire(e));
  }

  get environment(): ClusterSessionOptions['environment'] {
    return this.opts.environment;
  }

  get state(): TunnelState {
    return this.tunnel.state;
  }

  get lastError(): TunnelError | undefined {
    return this.tunnel.lastError;
  }

  /** The local forwards (`http://127.0.0.1:<port>`), for terminals and browsers; stable across reconnects. */
  get nomadAddr(): string | undefined {
    return this.tunnel.localUrl('nomad');
  }

  get consulAddr(): string | undefined {
    return this.tunnel.localUrl('consul');
  }

  /**
   * Connects (or reconnects after a failure) and starts the model on the first success.
   * Rejects when the tunnel fails for good; the state event has said why.
   */
  async connect(): Promise<void> {
    if (this.disposed) throw new Error('this cluster session has ended');
    await this.tunnel.connect();
    if (this.disposed) return;
    if (!this.started) {
      this.started = true;
      this.model.start();
    } else {
      await this.model.refresh();
    }
  }

  /** True once the model runs (from the first successful connect on, across reconnects). */
  get live(): boolean {
    return this.started;
  }

  /** Skips the backoff while reconnecting; re-reads the cluster when connected. */
  async retry(): Promise<void> {
    if (this.tunnel.state === 'reconnecting') this.tunnel.retryNow();
    else if (this.tunnel.state === 'connected') await this.model.refresh();
    else await this.connect();
  }

  /** Checks of labs read the cluster through this session's clients. */
  labReader(workspaceRoot: string): ClusterReader {
    return createClusterReader({ nomad: this.nomad, consul: this.consul, workspaceRoot });
  }

  /** A step's solution applied through this session's clients. */
  solutionApplier(workspaceRoot: string): SolutionApplier {
    return createSolutionApplier({ nomad: this.nomad, consul: this.consul, workspaceRoot, labFault: (f) => this.labFault(f) });
  }

  /**
   * A fault a lab asks for (a zone outage, re-pushed tags, Docker volumes), on the lab cluster
   * of a local stack through its admin API; a real Nomad has none and answers 404.
   */
  async labFault(fault: LabFault): Promise<string> {
    const req = faultRequest(fault);
    await this.nomad.labAdmin(req.method, req.path, req.body);
    return `lab cluster: ${req.method} ${req.path}`;
  }

  /** Environment variables for a terminal that reaches this cluster through the tunnel. */
  terminalEnvironment(): Record<string, string> {
    const env: Record<string, string> = {};
    const c = this.opts.environment.connection;
    if (this.nomadAddr) env.NOMAD_ADDR = this.nomadAddr;
    if (this.consulAddr) env.CONSUL_HTTP_ADDR = this.consulAddr;
    if (c.nomadToken) env.NOMAD_TOKEN = c.nomadToken;
    if (c.consulToken) env.CONSUL_HTTP_TOKEN = c.consulToken;
    return env;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.model.dispose();
    await this.tunnel.dispose();
    this.stateEmitter.dispose();
  }
}

/** An IPv6 literal in a URL goes in brackets. */
function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
