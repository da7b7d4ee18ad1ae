import * as vscode from 'vscode';
import { NotSignedInError } from '../../attendee';
import { NotConnectedError, type ClusterSession } from '../../clusterSession';
import { UserCancelledError } from '../commands/runCommand';
import { CommandId } from '../../views/ids';
import type { Services } from '../services';

/**
 * The live cluster session; when there is none, one message that says why in words and offers
 * the way out (Sign In, Connect, Retry), and the command ends quietly.
 */
export async function requireConnection(services: Services): Promise<ClusterSession> {
  if (services.sessionContext.current.kind !== 'signedIn') throw new NotSignedInError();
  try {
    return services.cluster.require();
  } catch (err) {
    if (!(err instanceof NotConnectedError)) throw err;
    const action =
      err.state === 'failed' ? { title: 'Retry', command: CommandId.retryConnection } : err.state === 'disconnected' ? { title: 'Connect', command: CommandId.connect } : undefined;
    const choice = action ? await vscode.window.showWarningMessage(err.message, action.title) : await vscode.window.showInformationMessage(err.message);
    if (action && choice === action.title) await vscode.commands.executeCommand(action.command);
    throw new UserCancelledError();
  }
}
