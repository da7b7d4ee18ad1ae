import * as vscode from 'vscode';
import { NotSignedInError } from '../../attendee';
import type { ClusterModel, NomadClient } from '../../cluster';
import { UserCancelledError } from '../commands/runCommand';
import { CommandId } from '../ids';
import type { Services } from '../services';

/**
 * The Nomad client and model of a connected cluster, or, when there is none, one message that
 * says why in words and offers the way out (Sign In, Connect, Retry) and ends the command quietly.
 */
export async function requireConnection(services: Services): Promise<{ nomad: NomadClient; model: ClusterModel }> {
  const { cluster } = services;
  if (cluster.state === 'connected' && cluster.nomad && cluster.model) return { nomad: cluster.nomad, model: cluster.model };
  if (services.sessionContext.current.kind !== 'signedIn') throw new NotSignedInError();
  const offer = async (message: string, action?: { title: string; command: CommandId }) => {
    const choice = action ? await vscode.window.showWarningMessage(message, action.title) : await vscode.window.showInformationMessage(message);
    if (action && choice === action.title) await vscode.commands.executeCommand(action.command);
    throw new UserCancelledError();
  };
  switch (cluster.state) {
    case 'idle':
      return offer('Your cluster is not reachable yet: your stack is not ready. The Environment view shows how far it is.');
    case 'connecting':
    case 'reconnecting':
      return offer('Still connecting to your cluster through the bastion; try again in a moment.');
    case 'failed':
      return offer(`Not connected to your cluster: ${cluster.lastError ?? 'the SSH tunnel could not be opened'}.`, { title: 'Retry', command: CommandId.retryConnection });
    default:
      return offer('Not connected to your cluster.', { title: 'Connect', command: CommandId.connect });
  }
}
