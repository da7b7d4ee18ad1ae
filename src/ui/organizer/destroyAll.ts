import * as vscode from 'vscode';
import { checkTypedWorkshopName, countStacks, teardownSettled } from '../../organizerView';
import { UserCancelledError } from '../commands/runCommand';
import type { Services } from '../services';
import type { OrganizerSession } from './organizerSession';
import { waitForStacks } from './waitForStacks';

/**
 * Open Kitchen: Destroy All Stacks. Irreversible for every attendee at once, so the organizer
 * types the workshop's name (a click is too easy); then a notification follows the teardown.
 */
export function destroyAllCommand(services: Services, organizer: OrganizerSession) {
  return async (): Promise<{ destroyed: number } | undefined> => {
    const { client, model, connection } = organizer.require();
    const ws = connection.workshop;
    const snapshot = model.snapshot;
    const live = snapshot.state === 'loaded' ? countStacks(snapshot.attendees).total : undefined;
    const typed = await vscode.window.showInputBox({
      title: `Destroy All Stacks of "${ws}"`,
      prompt: `This tears down ${live === undefined ? 'every' : `all ${live}`} stack${live === 1 ? '' : 's'} of the workshop: attendees lose their clusters. Type the workshop name "${ws}" to confirm.`,
      placeHolder: ws,
      ignoreFocusOut: true,
      validateInput: (v) => checkTypedWorkshopName(v, ws),
    });
    if (typed === undefined || checkTypedWorkshopName(typed, ws)) throw new UserCancelledError();

    model.applyStacks((await client.destroyStacks(ws)).stacks);
    const { counts } = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Destroying the stacks of "${ws}"` },
      (progress) =>
        waitForStacks(
          model,
          teardownSettled,
          (c) => progress.report({ message: `${c.destroyed} destroyed · ${c.destroying + c.building} to go` }),
        ),
    );
    const message = `Destroyed ${counts.destroyed} ${counts.destroyed === 1 ? 'stack' : 'stacks'} of "${ws}"${counts.ready + counts.failed ? `; ${counts.ready + counts.failed} not destroyed (see the Organizer view)` : ''}.`;
    services.log.info(message);
    void vscode.window.showInformationMessage(message);
    return { destroyed: counts.destroyed };
  };
}
