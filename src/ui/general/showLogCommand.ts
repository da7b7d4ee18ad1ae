import type * as vscode from 'vscode';

/** Open Kitchen: Show Log. */
export function showLogCommand(log: vscode.LogOutputChannel) {
  return (): void => log.show();
}
