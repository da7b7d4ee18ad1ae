import type * as vscode from 'vscode';
import type { AttendeeSession, EnvironmentWatcher } from '../attendee';
import type { ClusterConnection } from '../clusterSession';
import type { RefreshManager } from '../views';
import type { SessionContext } from './auth/sessionContext';
import type { CommandRunner } from './commands/runCommand';

/** The long-lived services extension.ts builds once and hands to every feature. */
export interface Services {
  log: vscode.LogOutputChannel;
  commands: CommandRunner;
  session: AttendeeSession;
  sessionContext: SessionContext;
  watcher: EnvironmentWatcher;
  /** Where "Copy SSH Command" may save the key, when the attendee agrees: `~/.ssh/open-kitchen`. */
  sshFilesDir: string;
  /** The live connection to the cluster (src/clusterSession): the only way to read or change it. */
  cluster: ClusterConnection;
  /** When views redraw: coalesced, only the visible ones, one clock for ages. */
  refresh: RefreshManager;
}

/** A feature registers its views, commands and listeners on the extension context. */
export interface Feature {
  register(context: vscode.ExtensionContext): void;
}
