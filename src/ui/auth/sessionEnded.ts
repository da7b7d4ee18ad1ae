import * as vscode from 'vscode';
import type { SessionEndedEvent } from '../../attendee';
import { CommandId } from '../../views/ids';
import type { Services } from '../services';
import { forgetSshFiles } from './signOut';

/**
 * When the API says the session is no longer valid (revoked, expired, the organizer reset the
 * workshop), the extension is already signed out; say so once, and offer to sign in again.
 */
export function onSessionEnded(services: Services) {
  return async (e: SessionEndedEvent): Promise<void> => {
    services.watcher.stop();
    await forgetSshFiles(services, e.session.workshop.name);
    await services.sessionContext.sync();
    const choice = await vscode.window.showWarningMessage(
      `Your Open Kitchen session has ended (${e.reason.replace(/\.$/, '')}). Sign in again with a new invite link from your organizer.`,
      'Sign In Again',
    );
    if (choice === 'Sign In Again') await vscode.commands.executeCommand(CommandId.signIn);
  };
}
