import * as vscode from 'vscode';
import type { PublicEnvironment } from '../../attendee';
import { ClusterModel, ConsulClient, NomadClient } from '../../cluster';
import { TunnelManager, type TunnelStateChange } from '../../tunnel';
import { setContext } from '../context';
import { CommandId, ContextKey } from '../ids';
import type { ClusterConnection, Feature, Services } from '../services';

type State = ClusterConnection['state'];

/** What a live connection is made of; rebuilt when the stack (or its key) changes. */
interface Live {
  /** stack id + bastion address + fingerprint: a re-provisioned stack gets a new tunnel. */
  identity: string;
  tunnel: TunnelManager;
  nomad: NomadClient;
  consul: ConsulClient;
  model: ClusterModel;
  /** The model runs from the first successful connect on; before that there is nothing to show. */
  started: boolean;
  subscriptions: vscode.Disposable[];
}

/**
 * The live connection to the attendee's cluster: an SSH tunnel through the stack's bastion
 * (host key pinned to the organizer's fingerprint), Nomad and Consul clients riding it, and the
 * one ClusterModel every view subscribes to. It connects by itself once the signed-in
 * attendee's stack is ready, shows its state in the status bar, sets NOMAD_ADDR and
 * CONSUL_HTTP_ADDR for terminals, and tears everything down on sign-out.
 */
export class ConnectionFeature implements Feature, ClusterConnection, vscode.Disposable {
  private live: Live | undefined;
  private _state: State = 'idle';
  private _lastError: string | undefined;
  private retryAt: number | undefined;
  /** The attendee pressed Disconnect: do not reconnect by ourselves until Connect. */
  private userDisconnected = false;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly statusBar = vscode.window.createStatusBarItem('openKitchen.connection', vscode.StatusBarAlignment.Left, 50);
  private envVars: vscode.GlobalEnvironmentVariableCollection | undefined;
  private syncing: Promise<void> = Promise.resolve();

  constructor(private readonly services: Omit<Services, 'cluster'>) {
    this.statusBar.name = 'Open Kitchen Connection';
  }

  get state(): State {
    return this._state;
  }
  get lastError(): string | undefined {
    return this._lastError;
  }
  get model(): ClusterModel | undefined {
    return this.live?.started ? this.live.model : undefined;
  }
  get nomad(): NomadClient | undefined {
    return this.live?.nomad;
  }
  get consul(): ConsulClient | undefined {
    return this.live?.consul;
  }
  get nomadAddr(): string | undefined {
    return this.live?.tunnel.localUrl('nomad');
  }
  get consulAddr(): string | undefined {
    return this.live?.tunnel.localUrl('consul');
  }

  register(context: vscode.ExtensionContext): void {
    const { services } = this;
    this.envVars = context.environmentVariableCollection;
    this.envVars.description = 'Nomad and Consul through your Open Kitchen tunnel';
    context.subscriptions.push(
      this,
      services.commands.register(CommandId.connect, () => this.connect()),
      services.commands.register(CommandId.disconnect, () => this.disconnect()),
      services.commands.register(CommandId.retryConnection, () => this.retry()),
      services.commands.register(CommandId.openTerminal, () => this.openTerminal()),
      services.commands.register(CommandId.openNomadUi, (path?: string) => this.openUi('nomad', typeof path === 'string' ? path : '/ui/')),
      services.commands.register(CommandId.openConsulUi, () => this.openUi('consul', '/ui/')),
      services.commands.register(CommandId.connectionActions, () => this.showActions()),
      services.watcher.onDidChange(() => this.scheduleSync()),
      services.sessionContext.onDidChange(() => this.scheduleSync()),
    );
    this.render();
    this.scheduleSync();
  }

  /** Serialised, so a burst of environment events cannot build two tunnels. */
  private scheduleSync(): void {
    this.syncing = this.syncing.then(() => this.sync()).catch((err: Error) => this.services.log.error(`Connection: ${err.message}`));
  }

  private currentEnvironment(): PublicEnvironment | undefined {
    if (this.services.sessionContext.current.kind !== 'signedIn') return undefined;
    const snapshot = this.services.watcher.snapshot;
    const env = 'environment' in snapshot ? snapshot.environment : undefined;
    return env?.status === 'ready' && env.connection ? env : undefined;
  }

  private async sync(): Promise<void> {
    const env = this.currentEnvironment();
    if (!env) {
      this.userDisconnected = false;
      await this.teardown();
      this.setState('idle');
      return;
    }
    const c = env.connection!;
    const identity = `${env.stackId}|${c.bastion.host}:${c.bastion.port}|${c.bastion.hostKeyFingerprint}|${c.nomad.host}:${c.nomad.port}|${c.consul.host}:${c.consul.port}`;
    if (this.live?.identity === identity) return;
    await this.teardown();
    if (this.userDisconnected) {
      this.setState('disconnected');
      return;
    }
    await this.build(env, identity);
  }

  private async build(env: PublicEnvironment, identity: string): Promise<void> {
    const { log } = this.services;
    const key = await this.services.session.store.getPrivateKey();
    if (!key || key.stackId !== env.stackId) {
      this._lastError = 'Your SSH key for this stack is not in this machine\'s secret storage; run "Open Kitchen: Refresh Environment".';
      this.setState('failed');
      return;
    }
    const c = env.connection!;
    const tunnel = new TunnelManager({
      bastion: { host: c.bastion.host, port: c.bastion.port, user: c.bastion.user, hostKeyFingerprint: c.bastion.hostKeyFingerprint, hostPublicKey: c.bastion.hostPublicKey ?? undefined },
      privateKey: key.privateKey,
      targets: { nomad: c.nomad, consul: c.consul },
      log,
    });
    // The clients ride the SSH connection directly; the base URL only names the host header.
    const nomad = new NomadClient({ baseUrl: `http://${c.nomad.host}:${c.nomad.port}`, agent: tunnel.createAgent('nomad'), token: c.nomadToken ?? undefined, log });
    const consul = new ConsulClient({ baseUrl: `http://${c.consul.host}:${c.consul.port}`, agent: tunnel.createAgent('consul'), token: c.consulToken ?? undefined, log });
    const model = new ClusterModel({ nomad, consul, connection: tunnel, log });
    const live: Live = { identity, tunnel, nomad, consul, model, started: false, subscriptions: [] };
    this.live = live;
    live.subscriptions.push(toDisposable(tunnel.onDidChangeState((e) => this.onTunnelState(e))));
    log.info(`Connecting to ${c.bastion.user}@${c.bastion.host}:${c.bastion.port} (host key ${c.bastion.hostKeyFingerprint})`);
    this.setState('connecting');
    try {
      await tunnel.connect();
    } catch {
      // The state event has said why (failed or disconnected); nothing more to do here.
      return;
    }
    if (this.live !== live) return;
    model.start();
    live.started = true;
    this.updateEnvironmentVariables(c.nomadToken, c.consulToken);
    this.changed.fire();
  }

  private onTunnelState(e: TunnelStateChange): void {
    this._lastError = e.error?.message;
    this.retryAt = e.retryInMs !== undefined ? Date.now() + e.retryInMs : undefined;
    if (e.state === 'failed' && e.error) {
      const fingerprintProblem = e.error.kind === 'host-key-mismatch';
      void vscode.window
        .showErrorMessage(
          fingerprintProblem ? `Refused to connect: ${e.error.message}` : `Cannot connect to your stack: ${e.error.message}`,
          ...(fingerprintProblem ? ['Open Log'] : ['Retry', 'Open Log']),
        )
        .then((choice) => {
          if (choice === 'Retry') void this.retry();
          if (choice === 'Open Log') this.services.log.show(true);
        });
    }
    this.setState(e.state);
  }

  private setState(state: State): void {
    const changed = state !== this._state;
    this._state = state;
    if (changed) this.services.log.info(`Connection: ${state}${this._lastError ? ` (${this._lastError})` : ''}`);
    void setContext(ContextKey.connection, state);
    this.render();
    this.changed.fire();
  }

  private render(): void {
    const s = this.statusBar;
    const error = this._lastError ? `\n\n${this._lastError}` : '';
    s.backgroundColor = undefined;
    switch (this._state) {
      case 'idle':
        s.hide();
        return;
      case 'connecting':
        s.text = '$(sync~spin) Nomad: connecting';
        s.tooltip = 'Opening the SSH tunnel through your bastion…';
        s.command = CommandId.connectionActions;
        break;
      case 'connected':
        s.text = '$(plug) Nomad: connected';
        s.tooltip = `Connected through your bastion.\nNomad ${this.nomadAddr ?? ''} · Consul ${this.consulAddr ?? ''}\n\nClick for actions.`;
        s.command = CommandId.connectionActions;
        break;
      case 'reconnecting': {
        const secs = this.retryAt ? Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000)) : undefined;
        s.text = `$(sync~spin) Nomad: reconnecting${secs ? ` in ${secs}s` : ''}`;
        s.tooltip = `The tunnel dropped; reconnecting on the same local ports.${error}\n\nClick to retry now.`;
        s.command = CommandId.retryConnection;
        s.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        break;
      }
      case 'disconnected':
        s.text = '$(debug-disconnect) Nomad: disconnected';
        s.tooltip = 'Click to connect to your stack.';
        s.command = CommandId.connect;
        break;
      case 'failed':
        s.text = '$(error) Nomad: not connected';
        s.tooltip = `The tunnel could not be opened.${error}\n\nClick to retry.`;
        s.command = CommandId.retryConnection;
        s.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
    }
    s.show();
  }

  private updateEnvironmentVariables(nomadToken: string | null | undefined, consulToken: string | null | undefined): void {
    const vars = this.envVars;
    if (!vars) return;
    vars.clear();
    const nomad = this.nomadAddr;
    const consul = this.consulAddr;
    if (nomad) vars.replace('NOMAD_ADDR', nomad);
    if (consul) vars.replace('CONSUL_HTTP_ADDR', consul);
    if (nomadToken) vars.replace('NOMAD_TOKEN', nomadToken);
    if (consulToken) vars.replace('CONSUL_HTTP_TOKEN', consulToken);
  }

  async connect(): Promise<void> {
    this.userDisconnected = false;
    if (!this.currentEnvironment()) {
      throw new Error('Your stack is not ready yet; Open Kitchen connects by itself once it is.');
    }
    if (this.live && (this._state === 'failed' || this._state === 'disconnected')) {
      await this.live.tunnel.connect().catch(() => undefined);
      // The state event has changed _state meanwhile.
      if ((this._state as State) === 'connected') void this.live?.model.refresh();
      return;
    }
    this.scheduleSync();
    await this.syncing;
  }

  async disconnect(): Promise<void> {
    this.userDisconnected = true;
    await this.teardown();
    this.setState(this.currentEnvironment() ? 'disconnected' : 'idle');
  }

  private async retry(): Promise<void> {
    if (!this.live) return this.connect();
    if (this._state === 'reconnecting') this.live.tunnel.retryNow();
    else if (this._state === 'connected') await this.live.model.refresh();
    else await this.connect();
  }

  private async teardown(): Promise<void> {
    const live = this.live;
    if (!live) return;
    this.live = undefined;
    for (const d of live.subscriptions) d.dispose();
    live.model.dispose();
    await live.tunnel.dispose();
    this.envVars?.clear();
    this._lastError = undefined;
    this.changed.fire();
  }

  private requireConnected(): { nomadAddr: string; consulAddr: string } {
    const nomadAddr = this.nomadAddr;
    const consulAddr = this.consulAddr;
    if (!nomadAddr || !consulAddr) throw new Error('Not connected to your cluster yet. Connect first ("Open Kitchen: Connect").');
    return { nomadAddr, consulAddr };
  }

  private openTerminal(): void {
    const { nomadAddr, consulAddr } = this.requireConnected();
    const terminal = vscode.window.createTerminal({
      name: 'Nomad',
      iconPath: new vscode.ThemeIcon('terminal'),
      env: { NOMAD_ADDR: nomadAddr, CONSUL_HTTP_ADDR: consulAddr },
      message: `NOMAD_ADDR=${nomadAddr} and CONSUL_HTTP_ADDR=${consulAddr} reach your cluster through the tunnel.`,
    });
    terminal.show();
  }

  private async openUi(target: 'nomad' | 'consul', path: string): Promise<void> {
    const addrs = this.requireConnected();
    const base = target === 'nomad' ? addrs.nomadAddr : addrs.consulAddr;
    // asExternalUri maps the local port to one the browser can reach (remote VS Code, code-server).
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(`${base}${path}`));
    await vscode.env.openExternal(external);
  }

  private async showActions(): Promise<void> {
    const items: (vscode.QuickPickItem & { command: CommandId })[] =
      this._state === 'connected'
        ? [
            { label: '$(terminal) Open Terminal', detail: 'with NOMAD_ADDR and CONSUL_HTTP_ADDR set', command: CommandId.openTerminal },
            { label: '$(globe) Open Nomad UI', command: CommandId.openNomadUi },
            { label: '$(globe) Open Consul UI', command: CommandId.openConsulUi },
            { label: '$(refresh) Refresh Cluster', detail: 'read everything again', command: CommandId.retryConnection },
            { label: '$(debug-disconnect) Disconnect', command: CommandId.disconnect },
          ]
        : [
            { label: '$(refresh) Retry Now', command: CommandId.retryConnection },
            { label: '$(debug-disconnect) Disconnect', command: CommandId.disconnect },
          ];
    const pick = await vscode.window.showQuickPick(items, { title: `Open Kitchen: ${this._state}`, placeHolder: this._lastError });
    if (pick) await vscode.commands.executeCommand(pick.command);
  }

  dispose(): void {
    void this.teardown();
    this.statusBar.dispose();
    this.changed.dispose();
  }
}

function toDisposable(d: { dispose(): void }): vscode.Disposable {
  return { dispose: () => d.dispose() };
}
