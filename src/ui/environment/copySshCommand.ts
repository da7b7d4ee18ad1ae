import * as vscode from 'vscode';
import {
  buildSshCommand,
  NotSignedInError,
  sshFilesExist,
  sshFilesFor,
  writeSshFiles,
} from '../../attendee';
import { UserCancelledError } from '../commands/runCommand';
import type { Services } from '../services';

/**
 * Open Kitchen: Copy SSH Command. Copies an `ssh` command that opens the same tunnels the
 * extension uses (Nomad on localhost:4646, Consul on localhost:8500) through the bastion.
 *
 * ssh can only read a private key from a file (or an agent), and the key lives in SecretStorage
 * only. A careful attendee expects neither a key pasted into the clipboard nor files appearing
 * silently, so the first time we ask, say where the key goes (`~/.ssh/open-kitchen/<workshop>/`,
 * mode 0600, next to a known_hosts with the pinned host key) and that Sign Out deletes it again.
 * The command then pins the host key (StrictHostKeyChecking=yes) exactly as the extension does.
 * The files go where the extension host runs, which is also where the integrated terminal runs,
 * also with remote VS Code and code-server.
 */
export function copySshCommand(services: Services) {
  return async (): Promise<string> => {
    const stored = await services.session.store.getValidSession();
    if (!stored) throw new NotSignedInError();
    let snapshot = services.watcher.snapshot;
    if (!('environment' in snapshot) || !snapshot.environment?.connection) snapshot = await services.watcher.refresh();
    const env = 'environment' in snapshot ? snapshot.environment : undefined;
    if (!env?.connection) {
      throw new Error(`Your stack is not ready yet (${env?.status ?? 'not loaded'}); the SSH command is available once it is ready.`);
    }
    const key = await services.session.store.getPrivateKey();
    if (!key || key.stackId !== env.stackId) {
      throw new Error('Your SSH key for this stack is not in this machine\'s secret storage; run "Open Kitchen: Refresh Environment" and try again.');
    }

    const files = sshFilesFor(services.sshFilesDir, stored.workshop.name);
    if (!(await sshFilesExist(files))) {
      const save = 'Save Key and Copy Command';
      const choice = await vscode.window.showInformationMessage(
        'The SSH command needs your private key in a file.',
        {
          modal: true,
          detail:
            `Open Kitchen keeps your key only in VS Code's secret storage. To use ssh in a terminal, it can save the key to ${files.keyFile} ` +
            `(readable only by you) and the bastion's pinned host key to ${files.knownHostsFile}. Signing out deletes both.`,
        },
        save,
      );
      if (choice !== save) throw new UserCancelledError();
    }
    // Rewritten every time: a re-provisioned stack brings a new key and a new host key.
    await writeSshFiles(files, key.privateKey, env.connection);
    const command = buildSshCommand(env.connection, { keyFile: files.keyFile, knownHostsFile: files.knownHostsFile });
    await vscode.env.clipboard.writeText(command);
    services.log.info(`Copied the SSH command; key saved at ${files.keyFile}`);
    void vscode.window.showInformationMessage(
      'SSH command copied. Run it in a terminal to reach Nomad at localhost:4646 and Consul at localhost:8500 through your bastion.',
    );
    return command;
  };
}
