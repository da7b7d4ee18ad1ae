import * as vscode from 'vscode';
import { organizerRoots } from '../../views';
import { setContext } from '../context';
import { CommandId, ContextKey, ViewId } from '../../views/ids';
import type { Keychain } from '../keychain';
import type { Feature, Services } from '../services';
import { showView } from '../views/viewTree';
import { copyInviteLinkCommand, destroyStackCommand, resendInviteCommand, retryStackCommand } from './attendeeActions';
import { connectOrganizerCommand, disconnectOrganizerCommand, switchWorkshopCommand } from './connectOrganizer';
import { destroyAllCommand } from './destroyAll';
import { importRosterCommand } from './importRoster';
import { NotConnectedAsOrganizerError, offerConnect, OrganizerSession } from './organizerSession';
import { provisionAllCommand } from './provisionAll';
import { sendInvitesCommand } from './sendInvites';

/** An organizer command run before connecting offers to connect instead of failing. */
function needsOrganizer<A extends unknown[], R>(fn: (...args: A) => Promise<R>) {
  return async (...args: A): Promise<R | undefined> => {
    try {
      return await fn(...args);
    } catch (err) {
      if (!(err instanceof NotConnectedAsOrganizerError)) throw err;
      await offerConnect();
      return undefined;
    }
  };
}

/**
 * The organizer's console: Connect as Organizer, the Organizer view (attendees with stack status,
 * invite, last seen and lab progress, following the workshop's event stream), and the workshop
 * commands. The view shows while connected as organizer (`openKitchen.isOrganizer`).
 */
export class OrganizerFeature implements Feature {
  constructor(
    private readonly services: Services,
    private readonly keychain: Keychain,
  ) {}

  register(context: vscode.ExtensionContext): void {
    const { services } = this;
    const { commands, log, refresh } = services;
    const organizer = new OrganizerSession(this.keychain, log);
    // While hundreds of stacks are built the event stream brings several changes a second: the
    // refresh manager draws them together, only while the view is visible, and its clock keeps
    // "seen 3 min ago" current.
    const { view } = showView(
      context,
      refresh,
      ViewId.organizer,
      {
        roots: () => {
          const active = organizer.current;
          return active ? organizerRoots({ workshop: active.workshop, snapshot: active.model.snapshot, now: Date.now() }) : { state: 'welcome' };
        },
      },
      { ages: true },
    );
    let modelSub: vscode.Disposable | undefined;

    context.subscriptions.push(
      organizer,
      { dispose: () => modelSub?.dispose() },
      organizer.onDidChange((active) => {
        modelSub?.dispose();
        modelSub = active?.model.onDidChange(() => refresh.mark(ViewId.organizer));
        view.description = active?.workshop.name;
        void setContext(ContextKey.isOrganizer, !!active);
        refresh.mark(ViewId.organizer);
      }),
      commands.register(CommandId.connectOrganizer, connectOrganizerCommand(services, organizer)),
      commands.register(CommandId.disconnectOrganizer, disconnectOrganizerCommand(organizer)),
      commands.register(CommandId.switchWorkshop, needsOrganizer(switchWorkshopCommand(organizer))),
      commands.register(
        CommandId.refreshOrganizer,
        needsOrganizer(async () => organizer.require().model.reload()),
      ),
      commands.register(CommandId.importRoster, needsOrganizer(importRosterCommand(services, organizer))),
      commands.register(CommandId.provisionAllStacks, needsOrganizer(provisionAllCommand(services, organizer))),
      commands.register(CommandId.sendInvites, needsOrganizer(sendInvitesCommand(services, organizer))),
      commands.register(CommandId.destroyAllStacks, needsOrganizer(destroyAllCommand(services, organizer))),
      commands.register(CommandId.retryStack, needsOrganizer(retryStackCommand(organizer))),
      commands.register(CommandId.destroyStack, needsOrganizer(destroyStackCommand(organizer))),
      commands.register(CommandId.resendInvite, needsOrganizer(resendInviteCommand(services, organizer))),
      commands.register(CommandId.copyInviteLink, needsOrganizer(copyInviteLinkCommand(services, organizer))),
      // Another window connecting or disconnecting changes the same secret.
      this.keychain.onDidChange((e) => {
        if (e.key === 'organizer') void organizer.restore();
      }),
    );
    void organizer.restore().catch((err: Error) => log.warn(`Could not restore the organizer connection: ${err.message}`));
  }
}
