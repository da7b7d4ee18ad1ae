import * as vscode from 'vscode';
import type { SendInvitesRequest } from '../../contract';
import { formatSendReport } from '../../views';
import { UserCancelledError } from '../commands/runCommand';
import type { Services } from '../services';
import type { OrganizerSession } from './organizerSession';

/**
 * Open Kitchen: Send Invites. Mails the invite (sign-in link and instructions) to everyone not
 * mailed yet, or again to everyone who has not signed in. Each mail carries a fresh link; the
 * organizer service revokes the older one.
 */
export function sendInvitesCommand(services: Services, organizer: OrganizerSession) {
  return async (which?: SendInvitesRequest['which']): Promise<{ sent: number; failed: number }> => {
    const { client, model, connection } = organizer.require();
    const s = model.snapshot;
    const attendees = s.state === 'loaded' ? s.attendees : [];
    const unsent = attendees.filter((a) => !a.invite.mailedAt && a.invite.status !== 'redeemed').length;
    const unopened = attendees.filter((a) => a.invite.status !== 'redeemed').length;
    const choice =
      which ??
      (
        await vscode.window.showQuickPick(
          [
            { label: 'Invite everyone not mailed yet', description: `${unsent} ${unsent === 1 ? 'attendee' : 'attendees'}`, which: 'unsent' as const },
            { label: 'Resend to everyone who has not signed in', description: `${unopened} ${unopened === 1 ? 'attendee' : 'attendees'}`, which: 'unopened' as const },
          ],
          { title: `Send Invites for "${connection.workshop}"`, placeHolder: 'Whom to mail?' },
        )
      )?.which;
    if (!choice) throw new UserCancelledError();
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Sending invites…' }, () =>
      client.sendInvites(connection.workshop, { which: choice }),
    );
    void model.reload();
    const report = formatSendReport(result);
    services.log.info(`Send Invites (${choice}): ${report.message}`);
    if (report.level === 'info') void vscode.window.showInformationMessage(report.message);
    else void vscode.window.showWarningMessage(report.message);
    return { sent: result.sent.length, failed: result.failed.length };
  };
}
