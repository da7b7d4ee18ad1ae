import * as vscode from 'vscode';
import { checkApiUrl } from '../../organizerClient';
import type { Workshop } from '../../contract';
import { checkOrganizerToken, listWorkshops } from '../../organizerView';
import { UserCancelledError } from '../commands/runCommand';
import { SettingId } from '../../views/ids';
import type { Services } from '../services';
import type { OrganizerSession } from './organizerSession';

/** Arguments for tests inside VS Code; a person is asked instead. */
interface ConnectArgs {
  apiUrl?: string;
  token?: string;
  workshop?: string;
}

function urlProblem(value: string): string | undefined {
  try {
    checkApiUrl(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function pickWorkshop(workshops: Workshop[], wanted: string | undefined, current?: string): Promise<Workshop> {
  if (wanted) {
    const found = workshops.find((w) => w.name === wanted || w.id === wanted);
    if (!found) throw new Error(`The organizer has no workshop "${wanted}" (it has: ${workshops.map((w) => w.name).join(', ') || 'none'}).`);
    return found;
  }
  if (!workshops.length) {
    throw new Error('The organizer API has no workshop yet. Create one first with the organizer CLI (node dist/organizer.js), then connect again.');
  }
  if (workshops.length === 1) return workshops[0]!;
  const pick = await vscode.window.showQuickPick(
    workshops.map((w) => ({
      label: w.name,
      description: w.title + (w.name === current ? ' (current)' : ''),
      detail: `provider ${w.provider} · created ${w.createdAt.slice(0, 10)}`,
      workshop: w,
    })),
    { title: 'Open Kitchen: Choose the Workshop to Manage', placeHolder: 'Which workshop?', ignoreFocusOut: true },
  );
  if (!pick) throw new UserCancelledError();
  return pick.workshop;
}

/**
 * Open Kitchen: Connect as Organizer. Asks for the API URL (prefilled from the setting or the
 * attendee's session) and the organizer token, proves both with one real call, lets the
 * organizer choose the workshop, and stores the result in secret storage only.
 */
export function connectOrganizerCommand(services: Services, organizer: OrganizerSession) {
  return async (args?: ConnectArgs): Promise<{ workshop: string }> => {
    const session = await services.session.store.getSession().catch(() => undefined);
    const suggested =
      organizer.current?.connection.apiUrl ||
      vscode.workspace.getConfiguration().get<string>(SettingId.apiUrl) ||
      session?.apiUrl ||
      '';
    const apiUrl =
      args?.apiUrl ??
      (await vscode.window.showInputBox({
        title: 'Open Kitchen: Connect as Organizer (1/2)',
        prompt: 'The organizer API URL (https://…; http:// only for an organizer on this machine)',
        value: suggested,
        placeHolder: 'https://kitchen.example.com',
        ignoreFocusOut: true,
        validateInput: (v) => urlProblem(v),
      }));
    if (apiUrl === undefined) throw new UserCancelledError();
    const token =
      args?.token ??
      (await vscode.window.showInputBox({
        title: 'Open Kitchen: Connect as Organizer (2/2)',
        prompt: 'The organizer token. It is kept in VS Code\'s secret storage only.',
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => checkOrganizerToken(v),
      }));
    if (token === undefined) throw new UserCancelledError();
    const problem = checkOrganizerToken(token);
    if (problem) throw new Error(problem);

    const found = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Checking the organizer token…' },
      () => listWorkshops(apiUrl, token.trim()),
    );
    const workshop = await pickWorkshop(found.workshops, args?.workshop, organizer.current?.workshop.name);
    await organizer.connect({ apiUrl: found.apiUrl, token: token.trim(), workshop: workshop.name }, workshop);
    services.log.info(`Connected as organizer to ${found.apiUrl}, workshop "${workshop.name}"`);
    void vscode.window.showInformationMessage(`Connected as organizer: workshop "${workshop.name}" (${workshop.title}).`);
    return { workshop: workshop.name };
  };
}

/** Open Kitchen: Switch Workshop. Same API and token, another workshop. */
export function switchWorkshopCommand(organizer: OrganizerSession) {
  return async (): Promise<{ workshop: string }> => {
    const active = organizer.require();
    const { workshops } = await listWorkshops(active.connection.apiUrl, active.connection.token);
    const workshop = await pickWorkshop(workshops, undefined, active.workshop.name);
    await organizer.connect({ ...active.connection, workshop: workshop.name }, workshop);
    return { workshop: workshop.name };
  };
}

/** Open Kitchen: Disconnect Organizer. Forgets the token; the attendee session is not touched. */
export function disconnectOrganizerCommand(organizer: OrganizerSession) {
  return async (): Promise<void> => {
    if (!organizer.current) return;
    await organizer.disconnect();
    void vscode.window.showInformationMessage('Disconnected as organizer; the organizer token was removed from this machine.');
  };
}
