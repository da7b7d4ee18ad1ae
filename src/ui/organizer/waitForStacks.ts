import * as vscode from 'vscode';
import { countStacks, type OrganizerModel, type StackCounts } from '../../organizerView';

/**
 * Resolves with the stack counts once `done` holds for them, re-checking on every change of the
 * model (which follows the event stream): no polling. Resolves early with `cancelled` when the
 * token is cancelled. `onCounts` sees every intermediate count.
 */
export function waitForStacks(
  model: OrganizerModel,
  done: (c: StackCounts) => boolean,
  onCounts: (c: StackCounts) => void,
  token?: vscode.CancellationToken,
): Promise<{ counts: StackCounts; cancelled: boolean }> {
  return new Promise((resolve) => {
    const current = () => {
      const s = model.snapshot;
      return s.state === 'loaded' ? countStacks(s.attendees) : undefined;
    };
    const subs: { dispose(): void }[] = [];
    const finish = (cancelled: boolean) => {
      for (const d of subs) d.dispose();
      resolve({ counts: current() ?? countStacks([]), cancelled });
    };
    const check = () => {
      const c = current();
      if (!c) return;
      onCounts(c);
      if (done(c)) finish(false);
    };
    subs.push(model.onDidChange(check));
    if (token) subs.push(token.onCancellationRequested(() => finish(true)));
    check();
  });
}
