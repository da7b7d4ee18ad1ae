import * as vscode from 'vscode';
import type { AttendeeSession, SessionState } from '../../attendee';
import { setContext } from '../context';
import { ContextKey } from '../../views/ids';

/**
 * Mirrors the stored session into context keys (`openKitchen.signedIn`, `…sessionEnded`) and
 * raises one event when the attendee signs in or out, in this window or another. (`…isOrganizer`
 * follows the organizer connection, not the attendee's role: see ui/organizer.) Syncs run one after another, so a burst of secret-storage changes (clear, then save)
 * settles on the final state.
 */
export class SessionContext implements vscode.Disposable {
  private state: SessionState = { kind: 'signedOut' };
  private lastToken: string | undefined;
  private synced = false;
  private queue: Promise<SessionState> = Promise.resolve(this.state);
  private readonly changed = new vscode.EventEmitter<SessionState>();
  /** Fires when the signed-in session changes (sign-in, sign-out, another session). */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly session: AttendeeSession) {
    this.disposables.push(
      session.onDidChange(() => void this.sync()),
      session.onDidEnd(() => void setContext(ContextKey.sessionEnded, true)),
    );
  }

  get current(): SessionState {
    return this.state;
  }

  sync(): Promise<SessionState> {
    this.queue = this.queue.then(() => this.doSync(), () => this.doSync());
    return this.queue;
  }

  private async doSync(): Promise<SessionState> {
    const state = await this.session.getState();
    const signedIn = state.kind === 'signedIn';
    await setContext(ContextKey.signedIn, signedIn);
    if (signedIn) await setContext(ContextKey.sessionEnded, false);
    const token = signedIn ? state.session.token : undefined;
    const roleChanged = signedIn && this.state.kind === 'signedIn' && this.state.session.role !== state.session.role;
    this.state = state;
    if (!this.synced || token !== this.lastToken || roleChanged) {
      this.synced = true;
      this.lastToken = token;
      this.changed.fire(state);
    }
    return state;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
