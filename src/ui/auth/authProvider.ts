import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import type { AttendeeSession, StoredSession } from '../../attendee';

/** A stable id per session that reveals nothing about the token. */
function sessionId(s: StoredSession): string {
  return `${s.attendee.id}:${createHash('sha256').update(s.token).digest('hex').slice(0, 12)}`;
}

function toAuthSession(s: StoredSession): vscode.AuthenticationSession {
  return {
    id: sessionId(s),
    accessToken: s.token,
    account: { id: s.attendee.id, label: `${s.attendee.name} (${s.workshop.title})` },
    scopes: [],
  };
}

/**
 * "Open Kitchen" in the Accounts menu, backed by the session store: other extensions (and ours)
 * can ask for the session through `vscode.authentication.getSession('openKitchen', [])`.
 * There is one account at a time; scopes are not used.
 */
export class OpenKitchenAuthenticationProvider implements vscode.AuthenticationProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.AuthenticationProviderAuthenticationSessionsChangeEvent>();
  readonly onDidChangeSessions = this.changed.event;
  private known: vscode.AuthenticationSession | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly session: AttendeeSession,
    private readonly signIn: () => Promise<StoredSession>,
    private readonly signOut: () => Promise<void>,
  ) {
    this.subscription = session.onDidChange(() => void this.checkForChanges());
    void this.checkForChanges();
  }

  private async current(): Promise<vscode.AuthenticationSession | undefined> {
    const s = await this.session.store.getValidSession();
    return s ? toAuthSession(s) : undefined;
  }

  private async checkForChanges(): Promise<void> {
    const now = await this.current();
    const before = this.known;
    this.known = now;
    if (before?.id === now?.id) return;
    this.changed.fire({
      added: now && !before ? [now] : [],
      removed: before && !now ? [before] : [],
      changed: before && now ? [now] : [],
    });
  }

  async getSessions(): Promise<vscode.AuthenticationSession[]> {
    const s = await this.current();
    return s ? [s] : [];
  }

  async createSession(): Promise<vscode.AuthenticationSession> {
    return toAuthSession(await this.signIn());
  }

  async removeSession(): Promise<void> {
    await this.signOut();
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
