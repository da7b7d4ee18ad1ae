import * as vscode from 'vscode';
import { EXTENSION_ID } from '../../contract/links';

/** Open Kitchen: Open Settings — the Settings editor filtered to this extension. */
export function openSettingsCommand() {
  return async (): Promise<void> => {
    await vscode.commands.executeCommand('workbench.action.openSettings', `@ext:${EXTENSION_ID}`);
  };
}
