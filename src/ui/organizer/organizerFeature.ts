import * as vscode from 'vscode';
import { buildOrganizerNodes } from '../../organizerView';
import { setContext } from '../context';
import { CommandId, ContextKey, ViewId } from '../ids';
import type { Keychain } from '../keychain';
import type { Feature, Services } from '../services';
import { PresentedTreeProvider } from '../views/presentedTree';
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
    const { commands, log } = services;
    const organizer = new OrganizerSession(this.keychain, log);
    const tree = new PresentedTreeProvider(ViewId.organizer);
    const view = vscode.window.createTreeView(ViewId.organizer, { treeDataProvider: tree, showCollapseAll: true });
    let modelSub: vscode.Disposable | undefined;

    // While hundreds of stacks are built the event stream brings several changes a second: they
    // are coalesced into one render per 100 ms, and a hidden view is brought up to date when shown.
    let dirty = true;
    const render = () => {
      if (!view.visible) {
        dirty = true;
        return;
      }
      dirty = false;
      const active = organizer.current;
      if (!active) {
        view.description = undefined;
        tree.setRoots([]);
        return;
      }
      view.description = active.workshop.name;
      tree.setRoots(
        buildOrganizerNodes({
          workshop: active.workshop,
          snapshot: active.model.snapshot,
          now: Date.now(),
          commands: { refresh: CommandId.refreshOrganizer, importRoster: CommandId.importRoster },
        }),
      );
    };

    let timer: NodeJS.Timeout | undefined;
    const scheduleRender = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        render();
      }, 100);
    };

    // "seen 3 min ago" ages without any event: while connected, a visible view is redrawn once a
    // minute (no request). No timer runs for someone who is not an organizer.
    let clock: NodeJS.Timeout | undefined;

    context.subscriptions.push(
      organizer,
      tree,
      view,
      { dispose: () => (modelSub?.dispose(), clearTimeout(timer), clearInterval(clock)) },
      view.onDidChangeVisibility(() => {
        if (view.visible && dirty) render();
      }),
      organizer.onDidChange((active) => {
        modelSub?.dispose();
        modelSub = active?.model.onDidChange(scheduleRender);
        clearInterval(clock);
        clock = active
          ? setInterval(() => {
              if (view.visible) scheduleRender();
            }, 60_000)
          : undefined;
        void setContext(ContextKey.isOrganizer, !!active);
        render();
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
