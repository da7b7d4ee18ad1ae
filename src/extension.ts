/**
 * The composition root: builds the services once and asks each feature to register itself.
 * No logic lives here (DESIGN.md); features own their views, commands and listeners.
 */
import * as vscode from 'vscode';
import { AttendeeSession, EnvironmentWatcher, SessionStore } from './attendee';
import { ClusterConnection } from './clusterSession';
import { anyOf } from './common/events';
import { RefreshManager } from './views';
import { SessionContext } from './ui/auth/sessionContext';
import { AllocationsFeature } from './ui/allocations/allocationsFeature';
import { AuthFeature } from './ui/auth/authFeature';
import { defaultSshFilesDir } from './ui/auth/signOut';
import { ClusterViewsFeature } from './ui/cluster/clusterViews';
import { CommandRunner } from './ui/commands/runCommand';
import { ConnectionFeature } from './ui/connection/connectionFeature';
import { JobFilesFeature } from './ui/jobs/jobFilesFeature';
import { LabsFeature } from './ui/labs/labsFeature';
import { OrganizerFeature } from './ui/organizer/organizerFeature';
import { EnvironmentFeature } from './ui/environment/environmentFeature';
import { GeneralFeature } from './ui/general/generalFeature';
import { Keychain } from './ui/keychain';
import { createLog } from './ui/log';
import type { Services } from './ui/services';

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = createLog();
  const version = (context.extension.packageJSON as { version?: string }).version ?? '0.0.0';
  log.info(`Open Kitchen ${version} activating in ${vscode.env.appName} ${vscode.version} (${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'})`);

  const keychain = new Keychain(context.secrets);
  const store = new SessionStore(keychain);
  const session = new AttendeeSession({ store, logger: log, userAgent: `open-kitchen/${version} vscode/${vscode.version}` });
  const watcher = new EnvironmentWatcher({ fetch: () => session.fetchEnvironment(), logger: log });
  const sessionContext = new SessionContext(session);
  context.subscriptions.push(log, keychain, store, session, watcher, sessionContext);

  // The attendee's cluster, followed from the signed-in environment (src/clusterSession).
  const cluster = new ClusterConnection({
    environment: () => (sessionContext.current.kind === 'signedIn' && 'environment' in watcher.snapshot ? watcher.snapshot.environment : undefined),
    onDidChangeEnvironment: anyOf(watcher.onDidChange, sessionContext.onDidChange),
    privateKey: async (stackId) => {
      const key = await store.getPrivateKey();
      return key?.stackId === stackId ? key.privateKey : undefined;
    },
    log,
  });
  const refresh = new RefreshManager();
  context.subscriptions.push(cluster, refresh);
  const services: Services = {
    log,
    commands: new CommandRunner(log),
    session,
    sessionContext,
    watcher,
    sshFilesDir: defaultSshFilesDir(),
    cluster,
    refresh,
  };

  for (const feature of [
    new GeneralFeature(services),
    new AuthFeature(services),
    new EnvironmentFeature(services),
    new ConnectionFeature(services),
    new ClusterViewsFeature(services),
    new AllocationsFeature(services),
    new JobFilesFeature(services),
    new LabsFeature(services),
    new OrganizerFeature(services, keychain),
  ]) {
    feature.register(context);
  }

  // An expired session is ended (with its message) before the views first render.
  await session.checkExpiry();
  await sessionContext.sync();
  void cluster.start();
}

export function deactivate(): void {
  // Everything long-lived is on context.subscriptions and disposed by VS Code.
}
