import * as vscode from 'vscode';
import type { Workshop } from '../../contract';
import { OrganizerApi } from '../../organizerClient';
import {
  forgetOrganizerConnection,
  listWorkshops,
  loadOrganizerConnection,
  OrganizerModel,
  saveOrganizerConnection,
  type OrganizerConnection,
} from '../../organizerView';
import { CommandId } from '../../views/ids';
import type { Keychain } from '../keychain';

/** The organizer connection in use: its API client and the live model of its workshop. */
export interface ActiveOrganizer {
  connection: OrganizerConnection;
  workshop: Workshop;
  client: OrganizerApi;
  model: OrganizerModel;
}

/** Thrown by an organizer command run before connecting; offers to connect. */
export class NotConnectedAsOrganizerError extends Error {
  override name = 'NotConnectedAsOrganizerError';
  constructor() {
    super('Not connected as an organizer.');
  }
}

/**
 * Owns the organizer connection: loads it from secret storage at start, replaces it on connect,
 * forgets it on disconnect, and builds one OrganizerModel per connection (disposed with it).
 * Independent of the attendee session: an organizer may also be signed in as an attendee.
 */
export class OrganizerSession implements vscode.Disposable {
  private active: ActiveOrganizer | undefined;
  /** The connection this window uses or is switching to. */
  private chosen: OrganizerConnection | undefined;
  private readonly changed = new vscode.EventEmitter<ActiveOrganizer | undefined>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly keychain: Keychain,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get current(): ActiveOrganizer | undefined {
    return this.active;
  }

  require(): ActiveOrganizer {
    if (!this.active) throw new NotConnectedAsOrganizerError();
    return this.active;
  }

  /** Restores the stored connection at start, and follows another window connecting or disconnecting. A token that stopped working shows in the view. */
  async restore(): Promise<void> {
    const stored = await loadOrganizerConnection(this.keychain, (m) => this.log.warn(m));
    // Our own connect also changes the secret (and the event may come before it is active):
    // only a record other than the one this window chose is news.
    if (stored && sameConnection(stored, this.chosen)) return;
    if (!stored) return this.active ? this.activate(undefined) : undefined;
    // The workshop's title and provider come from the API; when it cannot be reached, the name
    // stands in and the view shows why its attendees do not load.
    const workshop = await listWorkshops(stored.apiUrl, stored.token).then(
      (r) => r.workshops.find((w) => w.name === stored.workshop || w.id === stored.workshop),
      (err: Error) => void this.log.warn(`Organizer API at ${stored.apiUrl}: ${err.message}`),
    );
    await this.activate(stored, workshop ?? placeholderWorkshop(stored.workshop));
  }

  /** Stores a verified connection and switches to it. */
  async connect(connection: OrganizerConnection, workshop: Workshop): Promise<ActiveOrganizer> {
    this.chosen = connection;
    await saveOrganizerConnection(this.keychain, connection);
    await this.activate(connection, workshop);
    return this.active!;
  }

  async disconnect(): Promise<void> {
    this.chosen = undefined;
    await forgetOrganizerConnection(this.keychain);
    await this.activate(undefined);
  }

  private async activate(connection: OrganizerConnection | undefined, workshop?: Workshop): Promise<void> {
    this.chosen = connection;
    this.active?.model.dispose();
    this.active = undefined;
    if (connection && workshop) {
      const client = new OrganizerApi({ apiUrl: connection.apiUrl, token: connection.token, log: this.log });
      const model = new OrganizerModel({
        api: client,
        workshop: connection.workshop,
        log: (level, m) => (level === 'warn' ? this.log.warn(m) : this.log.info(m)),
      });
      this.active = { connection, workshop, client, model };
      this.log.info(`Organizer: managing workshop "${connection.workshop}" at ${connection.apiUrl}`);
      void model.start();
    }
    this.changed.fire(this.active);
  }

  dispose(): void {
    this.active?.model.dispose();
    this.changed.dispose();
  }
}

/** Offers "Connect as Organizer" when an organizer command runs without a connection. */
export async function offerConnect(): Promise<void> {
  const choice = await vscode.window.showInformationMessage('Connect as an organizer first: you need the organizer API URL and the organizer token.', 'Connect as Organizer');
  if (choice) await vscode.commands.executeCommand(CommandId.connectOrganizer);
}

function placeholderWorkshop(name: string): Workshop {
  return { id: name, name, title: name, provider: 'unknown', topology: { servers: 0, clientsPerZone: 0, zones: [] }, createdAt: new Date(0).toISOString() };
}

function sameConnection(a: OrganizerConnection, b: OrganizerConnection | undefined): boolean {
  return !!b && a.apiUrl === b.apiUrl && a.token === b.token && a.workshop === b.workshop;
}
