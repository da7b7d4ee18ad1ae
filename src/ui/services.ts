import type * as vscode from 'vscode';
import type { ClusterModel, ConsulClient, NomadClient } from '../cluster';
import type { AttendeeSession, EnvironmentWatcher } from '../attendee';
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
  /** The live connection to the cluster (tunnel, clients, model). */
  cluster: ClusterConnection;
}

/** A feature registers its views, commands and listeners on the extension context. */
export interface Feature {
  register(context: vscode.ExtensionContext): void;
}

/**
 * The live connection to the attendee's cluster, owned by the connection feature: the SSH
 * tunnel, the Nomad and Consul clients riding it, and the one shared cluster model that every
 * view subscribes to. Views read `model`; they never fetch themselves.
 */
export interface ClusterConnection {
  /** `idle`: signed out or the stack is not ready; the tunnel states otherwise. */
  readonly state: 'idle' | 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'failed';
  /** Why the connection failed or is reconnecting, in words. */
  readonly lastError: string | undefined;
  /** Present from the first connect until sign-out (it keeps its data while reconnecting). */
  readonly model: ClusterModel | undefined;
  readonly nomad: NomadClient | undefined;
  readonly consul: ConsulClient | undefined;
  /** The local forwarded addresses (`http://127.0.0.1:<port>`), stable across reconnects. */
  readonly nomadAddr: string | undefined;
  readonly consulAddr: string | undefined;
  /** Fires when any of the above changes (not on every model change; use `model.onDidChange`). */
  readonly onDidChange: vscode.Event<void>;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}
