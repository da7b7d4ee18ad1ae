import * as vscode from 'vscode';
import type { EnvNode } from '../../attendee';

/** Copy Value (context menu of a detail node): copies what the node shows, e.g. the host key fingerprint. */
export function copyValueCommand() {
  return async (node?: EnvNode): Promise<string | undefined> => {
    if (!node?.copyValue) return undefined;
    await vscode.env.clipboard.writeText(node.copyValue);
    vscode.window.setStatusBarMessage(`$(copy) Copied ${node.label}: ${node.copyValue}`, 3000);
    return node.copyValue;
  };
}
