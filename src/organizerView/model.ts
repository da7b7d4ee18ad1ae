/**
 * The organizer's live picture of one workshop: the attendee list (fetched once, and again when
 * the roster changes) with every stack's state following the workshop's event stream. No timer
 * asks the server for news; when the stream breaks, it is reopened with a growing delay and
 * its snapshot brings the picture up to date again.
 */
import type { AttendeeSummary, ListAttendeesResponse, StackSummary, WorkshopEvent } from '../contract';
import { Backoff } from '../common/backoff';
import { Emitter, type Event } from '../common/events';
import type { StackFeed } from '../organizerClient/runs';

export type OrganizerSnapshot =
  | { state: 'loading' }
  | { state: 'error'; message: string }
  | {
      state: 'loaded';
      attendees: AttendeeSummary[];
      /** The event stream is open (or being opened); set while it is broken. */
      streamError?: string;
    };

/** What the model needs of OrganizerClient (a fake in tests). */
export interface OrganizerEventsApi {
  listAttendees(workshop: string): Promise<ListAttendeesResponse>;
  watchWorkshop(workshop: string, onEvent: (e: WorkshopEvent) => void, signal: AbortSignal): Promise<void>;
}

export interface OrganizerModelOptions {
  api: OrganizerEventsApi;
  workshop: string;
  log?: (level: 'info' | 'warn', message: string) => void;
  /** First delay before reopening a broken stream; grows (with jitter) up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

export class OrganizerModel {
  private attendees: AttendeeSummary[] = [];
  /** Stack state from the stream, newer than what the attendee list said. */
  private readonly stacks = new Map<string, StackSummary>();
  private state: 'loading' | 'loaded' | 'error' = 'loading';
  private error = '';
  private streamError: string | undefined;
  private readonly abort = new AbortController();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private readonly changed = new Emitter<OrganizerSnapshot>();
  /** Fires with the new snapshot on every change. */
  readonly onDidChange: Event<OrganizerSnapshot> = this.changed.event;
  private readonly stackChanged = new Emitter<{ stack: StackSummary; live: boolean }>();
  /** Every stack state the model takes in (an API answer, a stream event; `live` false for a stream's opening snapshot): what a run follows. */
  readonly onStack: StackFeed = this.stackChanged.event;
  private disposed = false;
  private readonly backoff: Backoff;

  constructor(private readonly opts: OrganizerModelOptions) {
    const initialMs = opts.reconnectDelayMs ?? 1000;
    this.backoff = new Backoff({ initialMs, maxMs: Math.max(initialMs, opts.maxReconnectDelayMs ?? 30_000), jitter: 0.2 });
  }

  get workshop(): string {
    return this.opts.workshop;
  }

  get snapshot(): OrganizerSnapshot {
    if (this.state === 'loading') return { state: 'loading' };
    if (this.state === 'error') return { state: 'error', message: this.error };
    return { state: 'loaded', attendees: this.merged(), ...(this.streamError ? { streamError: this.streamError } : {}) };
  }

  /** Loads the attendees and opens the event stream; resolves once the list is loaded (or failed). */
  async start(): Promise<void> {
    const loaded = this.reload();
    this.openStream();
    await loaded;
  }

  /**
   * Fetches the attendee list again (after an import, an invite, or when asked). Concurrent calls
   * share one request, and a call during a request makes one more afterwards, so the last word
   * is always a list fetched after the change that asked for it.
   */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        try {
          const { attendees } = await this.opts.api.listAttendees(this.opts.workshop);
          if (this.disposed) return;
          // Stack states from the stream stay: the stream is the authority on stacks, the list on people.
          this.attendees = attendees;
          this.state = 'loaded';
        } catch (err) {
          if (this.disposed) return;
          this.opts.log?.('warn', `Could not load the attendees of ${this.opts.workshop}: ${(err as Error).message}`);
          // Keep showing what we had; only a first load failing is an error state.
          if (this.state !== 'loaded') {
            this.state = 'error';
            this.error = (err as Error).message;
          }
        }
        this.fire();
      } while (this.reloadAgain && !this.disposed);
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /** Applies stack summaries the API returned (e.g. from provision or destroy) before the stream catches up. */
  applyStacks(stacks: readonly StackSummary[]): void {
    for (const s of stacks) this.putStack(s);
    this.fire();
  }

  /** Applies one stream event; exposed for tests. */
  apply(event: WorkshopEvent): void {
    if (event.type === 'attendee') {
      const i = this.attendees.findIndex((a) => a.id === event.attendee.id);
      if (i >= 0) {
        // The stack comes from stack events (ordered by their own clock); the rest from here.
        this.attendees = this.attendees.map((a, j) => (j === i ? event.attendee : a));
        this.fire();
      } else if (this.state === 'loaded') {
        void this.reload();
      }
      return;
    }
    const list = event.type === 'snapshot' ? event.stacks : [event.stack];
    let unknown = false;
    for (const s of list) {
      if (!this.attendees.some((a) => a.id === s.attendeeId)) unknown = true;
      this.putStack(s, event.type === 'snapshot');
    }
    this.fire();
    // A stack of an attendee we do not list: the roster changed elsewhere (CLI, another window).
    if (unknown && this.state === 'loaded') void this.reload();
  }

  private putStack(s: StackSummary, snapshot = false): void {
    this.stackChanged.fire({ stack: s, live: !snapshot });
    const known = this.stacks.get(s.attendeeId);
    // Ordered by the stack's own clock, so a late API answer cannot undo a newer event.
    if (!snapshot && known && known.id === s.id && Date.parse(known.updatedAt) > Date.parse(s.updatedAt)) return;
    this.stacks.set(s.attendeeId, s);
  }

  private merged(): AttendeeSummary[] {
    return this.attendees.map((a) => {
      const s = this.stacks.get(a.id);
      return s ? { ...a, stack: { id: s.id, status: s.status, statusMessage: s.statusMessage } } : a;
    });
  }

  private openStream(): void {
    if (this.disposed) return;
    let opened = false;
    const onEvent = (e: WorkshopEvent) => {
      if (!opened) {
        opened = true;
        this.backoff.reset();
        if (this.streamError) {
          this.opts.log?.('info', `Live updates for ${this.opts.workshop} resumed.`);
          this.streamError = undefined;
        }
      }
      this.apply(e);
    };
    this.opts.api.watchWorkshop(this.opts.workshop, onEvent, this.abort.signal).then(
      () => this.streamBroke('the organizer closed the event stream'),
      (err: Error) => this.streamBroke(err.message),
    );
  }

  private streamBroke(reason: string): void {
    if (this.disposed) return;
    const delayMs = this.backoff.next();
    this.opts.log?.('warn', `Live updates for ${this.opts.workshop} stopped (${reason}); reconnecting in ${Math.round(delayMs / 1000)} s.`);
    this.streamError = reason;
    this.fire();
    this.reconnectTimer = setTimeout(() => this.openStream(), delayMs);
  }

  private fire(): void {
    if (!this.disposed) this.changed.fire(this.snapshot);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.reconnectTimer);
    this.abort.abort();
    this.changed.dispose();
    this.stackChanged.dispose();
  }
}
