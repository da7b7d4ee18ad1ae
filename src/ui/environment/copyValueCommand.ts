import * as vscode from 'vscode';
import type { CommandArg } from '../../views';
import type { CommandId } from '../../views/ids';

/** Copy Value (context menu of a detail row): copies what the row shows, e.g. the host key fingerprint. */
export function copyValueCommand() {
  return async (row: CommandArg<typeof CommandId.copyValue>): Promise<string | undefined> => {
    if (!row) return undefined;
    await vscode.env.clipboard.writeText(row.value);
    vscode.window.setStatusBarMessage(`$(copy) Copied ${row.label}: ${row.value}`, 3000);
    return row.value;
  };
}
