import * as vscode from 'vscode';
import { LogChannelName } from '../views/ids';

/**
 * The extension's one log: a LogOutputChannel, so the user picks the level (Developer: Set Log
 * Level…) and every line carries a timestamp. Plain modules receive it as their `Logger`.
 */
export function createLog(): vscode.LogOutputChannel {
  return vscode.window.createOutputChannel(LogChannelName, { log: true });
}
