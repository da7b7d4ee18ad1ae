import * as vscode from 'vscode';
import type { AttendeeSummary } from '../../contract';
import { formatSendReport } from '../../views';
import { UserCancelledError } from '../commands/runCommand';
import type { Services } from '../services';
import type { ActiveOrganizer, OrganizerSession } from './organizerSession';

/**
 * The Organizer view's per-attendee actions. They get the attendee's id, read from the row by
 * the command's declaration (src/views/commandArgs.ts), or given by tests inside VS Code.
 */
function attendeeOf(active: ActiveOrganizer, id: string | undefined): AttendeeSummary {
  const s = active.model.snapshot;
  const found = id && s.state === 'loaded' ? s.attendees.find((a) => a.id === id) : undefined;
  if (!found) throw new Error('Choose an attendee in the Organizer view first.');
  return found;
}

/** Retry: provisions this attendee's stack (again). */
export function retryStackCommand(organizer: OrganizerSession) {
  return async (arg: string | undefined): Promise<void> => {
    const active = organizer.require();
    const a = attendeeOf(active, arg);
    active.model.applyStacks((await active.client.provisionStacks(active.connection.workshop, [a.id])).stacks);
    void vscode.window.showInformationMessage(`Provisioning the stack of ${a.name}; the Organizer view follows it.`);
  };
}

/** Destroy: tears down this attendee's stack, after a modal confirmation. */
export function destroyStackCommand(organizer: OrganizerSession) {
  return async (arg: string | undefined): Promise<void> => {
    const active = organizer.require();
    const a = attendeeOf(active, arg);
    const go = 'Destroy Stack';
    const choice = await vscode.window.showWarningMessage(
      `Destroy the stack of ${a.name}?`,
      { modal: true, detail: `${a.email} loses their cluster. Retry builds a new one.` },
      go,
    );
    if (choice !== go) throw new UserCancelledError();
    active.model.applyStacks((await active.client.destroyStacks(active.connection.workshop, [a.id])).stacks);
  };
}

/** Resend invite: mails this attendee a fresh invite (the older link stops working). */
export function resendInviteCommand(services: Services, organizer: OrganizerSession) {
  return async (arg: string | undefined): Promise<{ sent: number; failed: number }> => {
    const active = organizer.require();
    const a = attendeeOf(active, arg);
    const result = await active.client.sendInvites(active.connection.workshop, { attendeeIds: [a.id] });
    void active.model.reload();
    const report = formatSendReport(result);
    services.log.info(`Resend Invite (${a.email}): ${report.message}`);
    if (report.level === 'info') void vscode.window.showInformationMessage(report.message);
    else void vscode.window.showWarningMessage(report.message);
    return { sent: result.sent.length, failed: result.failed.length };
  };
}

/**
 * Copy link: creates a fresh invite for this attendee and copies its link (for a chat message
 * when mail does not arrive). Links are single-use and stored hashed, so an old one cannot be
 * shown again; the older unused link stops working.
 */
export function copyInviteLinkCommand(services: Services, organizer: OrganizerSession) {
  return async (arg: string | undefined): Promise<string> => {
    const active = organizer.require();
    const a = attendeeOf(active, arg);
    const { invites } = await active.client.createInvites(active.connection.workshop, { attendeeIds: [a.id] });
    const invite = invites.find((i) => i.attendeeId === a.id);
    if (!invite) throw new Error(`The organizer made no invite for ${a.email}.`);
    await vscode.env.clipboard.writeText(invite.link);
    void active.model.reload();
    services.log.info(`Copied a new invite link for ${a.email} (expires ${invite.expiresAt})`);
    void vscode.window.showInformationMessage(
      `Invite link for ${a.name} copied (valid until ${invite.expiresAt.slice(0, 16).replace('T', ' ')} UTC); earlier links for ${a.name} no longer work.`,
    );
    return invite.link;
  };
}
