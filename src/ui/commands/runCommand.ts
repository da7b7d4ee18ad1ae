import * as vscode from 'vscode';
import { NotSignedInError } from '../../attendee';
import { SessionExpiredError } from '../../organizerClient';
import { COMMAND_ARGS, CommandId, type CommandArg } from '../../views';

/** Thrown by a command that the user cancelled (closed a prompt); reported to nobody. */
export class UserCancelledError extends Error {
  override name = 'UserCancelledError';
  constructor() {
    super('Cancelled');
  }
}

export function isCancellation(err: unknown): boolean {
  return err instanceof UserCancelledError || err instanceof vscode.CancellationError;
}

/**
 * Turns any failure into one log entry and one message with an "Open Log" button. A session that
 * ended is reported by the session-ended handler instead (with "Sign In Again"), so it is only
 * logged here; a missing sign-in offers "Sign In".
 */
export async function reportError(log: vscode.LogOutputChannel, what: string, err: unknown): Promise<void> {
  if (isCancellation(err)) return;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof SessionExpiredError) {
    log.warn(`${what}: ${message}`);
    return;
  }
  if (err instanceof NotSignedInError) {
    log.info(`${what}: ${message}`);
    const choice = await vscode.window.showInformationMessage(`${message} Sign in with the link from your invite mail.`, 'Sign In');
    if (choice === 'Sign In') await vscode.commands.executeCommand(CommandId.signIn);
    return;
  }
  log.error(`${what} failed: ${message}`);
  if (err instanceof Error && err.stack) log.debug(err.stack);
  const choice = await vscode.window.showErrorMessage(message, 'Open Log');
  if (choice === 'Open Log') log.show(true);
}

/**
 * The one way commands are registered: each command's arguments are read by the decoder its
 * declaration names (src/views/commandArgs.ts: what a menu, a palette entry or a webview may
 * pass), its start logged at debug level, and its failures reported uniformly. Returns what the
 * handler returns, so tests inside VS Code can check a command's result through `executeCommand`.
 */
export class CommandRunner {
  constructor(private readonly log: vscode.LogOutputChannel) {}

  register<K extends CommandId, R>(id: K, handler: (arg: CommandArg<K>) => R | Promise<R>): vscode.Disposable {
    const spec = COMMAND_ARGS[id];
    return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      this.log.debug(`Command ${id}`);
      try {
        return await handler(spec.decode(args) as CommandArg<K>);
      } catch (err) {
        void reportError(this.log, `Command ${id}`, err);
        return undefined;
      }
    });
  }
}
