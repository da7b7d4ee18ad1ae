import * as vscode from 'vscode';
import { ApiUrlPolicyError, checkApiUrl } from '../../organizerClient';
import {
  parseInviteLink,
  type SignInRequest,
  type StoredSession,
} from '../../attendee';
import { UserCancelledError } from '../commands/runCommand';
import { SettingId, ViewId } from '../../views/ids';
import type { Services } from '../services';

/** The `openKitchen.apiUrl` setting, if set. */
function configuredApiUrl(): string | undefined {
  const value = vscode.workspace.getConfiguration().get<string>(SettingId.apiUrl)?.trim();
  return value ? value : undefined;
}

/**
 * Signing in, shared by the Sign In command, the URI handler and the authentication provider:
 * ask for the invite link (unless given), redeem it, load the environment, and say who is
 * signed in to which workshop.
 */
export class SignInFlow {
  constructor(private readonly services: Services) {}

  /** Asks for the invite link; the box validates as the attendee types. */
  async promptForInvite(initial?: string): Promise<SignInRequest> {
    const defaultApiUrl = configuredApiUrl();
    const parse = (text: string) => parseInviteLink(text, { defaultApiUrl });
    const text = await vscode.window.showInputBox({
      title: 'Sign In to Open Kitchen',
      prompt: defaultApiUrl
        ? `Paste the invite link from your invite mail (or just the invite token for ${defaultApiUrl}).`
        : 'Paste the invite link from your invite mail.',
      placeHolder: 'vscode://openkitchen.open-kitchen/signin?api=…&invite=…',
      value: initial,
      ignoreFocusOut: true,
      validateInput: (value) => {
        if (!value.trim()) return undefined;
        try {
          parse(value);
          return undefined;
        } catch (err) {
          return (err as Error).message;
        }
      },
    });
    if (!text?.trim()) throw new UserCancelledError();
    return parse(text);
  }

  /**
   * An invite for another organizer than the configured one may be a phishing link that would
   * hand this machine a stranger's bastion; ask before trusting it.
   */
  private async confirmApi(req: SignInRequest): Promise<void> {
    const configured = configuredApiUrl();
    if (!configured) return;
    let normalised: string;
    try {
      normalised = checkApiUrl(configured);
    } catch (err) {
      if (err instanceof ApiUrlPolicyError) throw new ApiUrlPolicyError(`The ${SettingId.apiUrl} setting is refused: ${err.message}`);
      throw err;
    }
    if (normalised === req.apiUrl) return;
    const choice = await vscode.window.showWarningMessage(
      `This invite is for the organizer at ${req.apiUrl}, but Open Kitchen is set up for ${normalised}.`,
      { modal: true, detail: 'Sign in only if your organizer sent you this link.' },
      'Sign In Anyway',
    );
    if (choice !== 'Sign In Anyway') throw new UserCancelledError();
  }

  /** Redeems the invite, loads the environment and reveals it. */
  async run(req: SignInRequest): Promise<StoredSession> {
    await this.confirmApi(req);
    const { session, watcher, sessionContext } = this.services;
    const signedIn = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Signing in to Open Kitchen…' },
      async () => {
        const s = await session.signIn(req);
        await sessionContext.sync();
        await watcher.refresh();
        return s;
      },
    );
    void vscode.commands.executeCommand(`${ViewId.environment}.focus`);
    void vscode.window.showInformationMessage(
      `Signed in as ${signedIn.attendee.name} (${signedIn.attendee.email}) to ${signedIn.workshop.title}.`,
    );
    return signedIn;
  }

  /** Prompts (unless a link is given) and signs in. */
  async promptAndRun(link?: string): Promise<StoredSession> {
    const req = link ? parseInviteLink(link, { defaultApiUrl: configuredApiUrl() }) : await this.promptForInvite();
    return this.run(req);
  }
}
