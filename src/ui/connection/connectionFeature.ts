import * as vscode from 'vscode';
import type { ClusterConnection } from '../../clusterSession';
import { setContext } from '../context';
import { CommandId, ContextKey } from '../../views/ids';
import type { Feature, Services } from '../services';

/**
 * The editor's side of the cluster connection (src/clusterSession decides everything): the
 * status bar, NOMAD_ADDR and CONSUL_HTTP_ADDR for terminals, the connect/disconnect/retry
 * commands, the Nomad and Consul UIs, and one message when the tunnel fails for good.
 */
export class ConnectionFeature implements Feature {
  private readonly statusBar = vscode.window.createStatusBarItem('openKitchen.connection', vscode.StatusBarAlignment.Left, 50);
  private envVars: vscode.GlobalEnvironmentVariableCollection | undefined;

  constructor(private readonly services: Services) {
    this.statusBar.name = 'Open Kitchen Connection';
  }

  private get connection(): ClusterConnection {
    return this.services.cluster;
  }

  register(context: vscode.ExtensionContext): void {
    const { commands, log } = this.services;
    const connection = this.connection;
    this.envVars = context.environmentVariableCollection;
    this.envVars.description = 'Nomad and Consul through your Open Kitchen tunnel';
    let lastState = connection.state;
    context.subscriptions.push(
      this.statusBar,
      commands.register(CommandId.connect, () => connection.connect()),
      commands.register(CommandId.disconnect, () => connection.disconnect()),
      commands.register(CommandId.retryConnection, () => connection.retry()),
      commands.register(CommandId.openTerminal, () => this.openTerminal()),
      commands.register(CommandId.openNomadUi, (path?: string) => this.openUi('nomad', typeof path === 'string' ? path : '/ui/')),
      commands.register(CommandId.openConsulUi, () => this.openUi('consul', '/ui/')),
      commands.register(CommandId.connectionActions, () => this.showActions()),
      connection.onDidChange(() => {
        if (connection.state !== lastState) void setContext(ContextKey.connection, connection.state);
        lastState = connection.state;
        this.render();
        this.updateEnvironmentVariables();
      }),
      connection.onDidFail((error) => {
        const hostKey = error.kind === 'host-key-mismatch';
        void vscode.window
          .showErrorMessage(hostKey ? `Refused to connect: ${error.message}` : `Cannot connect to your stack: ${error.message}`, ...(hostKey ? ['Open Log'] : ['Retry', 'Open Log']))
          .then((choice) => {
            if (choice === 'Retry') void vscode.commands.executeCommand(CommandId.retryConnection);
            if (choice === 'Open Log') log.show(true);
          });
      }),
    );
    void setContext(ContextKey.connection, connection.state);
    this.render();
  }

  private render(): void {
    const s = this.statusBar;
    const c = this.connection;
    const error = c.lastError ? `\n\n${c.lastError}` : '';
    s.backgroundColor = undefined;
    switch (c.state) {
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
        s.tooltip = `Connected through your bastion.\nNomad ${c.session?.nomadAddr ?? ''} · Consul ${c.session?.consulAddr ?? ''}\n\nClick for actions.`;
        s.command = CommandId.connectionActions;
        break;
      case 'reconnecting': {
        const secs = c.retryAt ? Math.max(0, Math.ceil((c.retryAt - Date.now()) / 1000)) : undefined;
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

  /** Terminals opened from now on reach the cluster through the tunnel's local ports. */
  private updateEnvironmentVariables(): void {
    const vars = this.envVars;
    if (!vars) return;
    const env = this.connection.session?.terminalEnvironment() ?? {};
    vars.clear();
    for (const [k, v] of Object.entries(env)) vars.replace(k, v);
  }

  private openTerminal(): void {
    const session = this.connection.require();
    const env = session.terminalEnvironment();
    const terminal = vscode.window.createTerminal({
      name: 'Nomad',
      iconPath: new vscode.ThemeIcon('terminal'),
      env,
      message: `NOMAD_ADDR=${env.NOMAD_ADDR} and CONSUL_HTTP_ADDR=${env.CONSUL_HTTP_ADDR} reach your cluster through the tunnel.`,
    });
    terminal.show();
  }

  private async openUi(target: 'nomad' | 'consul', path: string): Promise<void> {
    const session = this.connection.require();
    const base = target === 'nomad' ? session.nomadAddr : session.consulAddr;
    // asExternalUri maps the local port to one the browser can reach (remote VS Code, code-server).
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(`${base}${path}`));
    await vscode.env.openExternal(external);
  }

  private async showActions(): Promise<void> {
    const c = this.connection;
    const items: (vscode.QuickPickItem & { command: CommandId })[] =
      c.state === 'connected'
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
    const pick = await vscode.window.showQuickPick(items, { title: `Open Kitchen: ${c.state}`, placeHolder: c.lastError });
    if (pick) await vscode.commands.executeCommand(pick.command);
  }
}
