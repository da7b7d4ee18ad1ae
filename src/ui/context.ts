import * as vscode from 'vscode';
import type { ContextKey } from '../views/ids';

/** Sets a `when`-clause context key; only keys declared in ids.ts are accepted. */
export function setContext(key: ContextKey, value: unknown): Thenable<unknown> {
  return vscode.commands.executeCommand('setContext', key, value);
}
