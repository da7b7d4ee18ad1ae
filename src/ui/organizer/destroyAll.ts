import * as vscode from 'vscode';
import { followRun } from '../../organizerClient';
import { checkTypedWorkshopName, countStacks, formatRunProgress, liveStacks } from '../../views';
import { UserCancelledError } from '../commands/runCommand';
import type { Services } from '../services';
import type { OrganizerSession } from './organizerSession';

/**
 * Open Kitchen: Destroy All Stacks. Irreversible for every attendee at once, so the organizer
 * types the workshop's name (a click is too easy); then a notification follows the teardown with
 * the run rule the CLI uses.
 */
export function destroyAllCommand(services: Services, organizer: OrganizerSession) {
  return async (): Promise<{ destroyed: number } | undefined> => {
    const { client, model, connection } = organizer.require();
    const ws = connection.workshop;
    const snapshot = model.snapshot;
    const live = snapshot.state === 'loaded' ? liveStacks(countStacks(snapshot.attendees)) : undefined;
    const typed = await vscode.window.showInputBox({
      title: `Destroy All Stacks of "${ws}"`,
      prompt: `This tears down ${live === undefined ? 'every' : `all ${live}`} stack${live === 1 ? '' : 's'} of the workshop: attendees lose their clusters. Type the workshop name "${ws}" to confirm.`,
      placeHolder: ws,
      ignoreFocusOut: true,
      validateInput: (v) => checkTypedWorkshopName(v, ws),
    });
    if (typed === undefined || checkTypedWorkshopName(typed, ws)) throw new UserCancelledError();

    const { run } = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Destroying the stacks of "${ws}"` },
      (progress) =>
        followRun({
          kind: 'destroy',
          feed: model.onStack,
          request: async () => {
            const { stacks } = await client.destroyStacks(ws);
            model.applyStacks(stacks);
            return stacks;
          },
          onChange: (r) => progress.report({ message: formatRunProgress(r) }),
        }),
    );
    const destroyed = run.withStatus('destroyed').length;
    const left = run.failed().length;
    const message = `Destroyed ${destroyed} ${destroyed === 1 ? 'stack' : 'stacks'} of "${ws}"${left ? `; ${left} failed (see the Organizer view)` : ''}.`;
    services.log.info(message);
    void vscode.window.showInformationMessage(message);
    return { destroyed };
  };
}
