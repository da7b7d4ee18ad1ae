import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { removeSshFiles, sshFilesFor } from '../../attendee';
import { UserCancelledError } from '../commands/runCommand';
import type { Services } from '../services';

export function defaultSshFilesDir(): string {
  return path.join(os.homedir(), '.ssh', 'open-kitchen');
}

/** Removes the key file "Copy SSH Command" may have written for this workshop. */
export async function forgetSshFiles(services: Services, workshopName: string): Promise<void> {
  try {
    await removeSshFiles(sshFilesFor(services.sshFilesDir, workshopName));
  } catch (err) {
    services.log.warn(`Could not remove the saved SSH key files: ${(err as Error).message}`);
  }
}

/**
 * Signs out: revokes the session on the server (best effort; an unreachable organizer must not
 * keep anyone signed in), forgets the token and the private key, and removes saved key files.
 */
export async function signOut(services: Services, opts: { confirm: boolean }): Promise<void> {
  const { session, watcher, sessionContext } = services;
  const stored = await session.store.getSession();
  if (opts.confirm && stored) {
    const choice = await vscode.window.showWarningMessage(
      `Sign out of ${stored.workshop.title}?`,
      {
        modal: true,
        detail:
          'Your session token and SSH key are removed from this machine. Invite links work once, so to sign in again you need a new one from your organizer.',
      },
      'Sign Out',
    );
    if (choice !== 'Sign Out') throw new UserCancelledError();
  }
  watcher.stop();
  const result = await session.signOut();
  if (stored) await forgetSshFiles(services, stored.workshop.name);
  await sessionContext.sync();
  void vscode.window.showInformationMessage(
    result.revokedOnServer || !stored
      ? 'Signed out of Open Kitchen. Your session token and SSH key are removed from this machine.'
      : `Signed out of Open Kitchen on this machine. The organizer could not be told (${result.serverError}); the session expires by itself.`,
  );
}

/**
 * Open Kitchen: Sign Out. Asks for confirmation; `{ confirm: false }` as the argument skips it
 * (for scripted use and tests inside VS Code, which cannot press a modal's button).
 */
export function signOutCommand(services: Services) {
  return async (options?: { confirm?: boolean }): Promise<void> => {
    await signOut(services, { confirm: options?.confirm !== false });
  };
}
