/**
 * Keeps the attendee's environment (their stack) current. It fetches on demand and polls, with
 * exponential backoff and jitter, only while the stack is still changing (pending, provisioning,
 * destroying): a ready stack does not change until the organizer acts, and polling it would only
 * load the organizer during a workshop with a hundred attendees.
 */
import { Backoff } from '../common/backoff';
import { STACK_STATES, type Environment, type StackStatus } from '../contract';
import { SessionExpiredError } from '../organizerClient/errors';
import { Emitter, type Event } from '../common/events';
import { silentLogger, type Logger } from '../common/logger';

/** The environment without the private key: what views and logs may see. */
export type PublicConnection = Omit<NonNullable<Environment['connection']>, 'privateKey'>;
export type PublicEnvironment = Omit<Environment, 'connection'> & { connection: PublicConnection | null };

export function toPublicEnvironment(env: Environment): PublicEnvironment {
  if (!env.connection) return { ...env, connection: null };
  const { privateKey: _privateKey, ...connection } = env.connection;
  return { ...env, connection };
}

export type EnvironmentSnapshot =
  /** Not signed in, or stopped. */
  | { state: 'idle' }
  /** A fetch is running; `environment` is the last one seen, if any. */
  | { state: 'loading'; environment?: PublicEnvironment }
  | { state: 'loaded'; environment: PublicEnvironment; fetchedAt: Date; nextRefreshAt?: Date }
  | { state: 'error'; message: string; environment?: PublicEnvironment; nextRetryAt?: Date };

/**
 * True while the stack's status will change without the attendee doing anything: the organizer
 * works on it (STACK_STATES' `moving`), or has yet to start (pending: the room is being set up).
 */
export function isTransitional(status: StackStatus): boolean {
  return status === 'pending' || STACK_STATES[status].moving;
}

export interface TimerApi {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: TimerApi = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending poll must not keep a process (tests, CLIs) alive.
    t.unref?.();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface EnvironmentWatcherOptions {
  /** Fetches the environment; the session layer strips the private key before it gets here. */
  fetch: () => Promise<PublicEnvironment>;
  logger?: Logger;
  /** First poll delay while the stack is being built, doubled (by `factor`) up to `maxDelayMs`. */
  minDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Share of the delay that is random (common/backoff.ts), so attendees do not poll in lockstep. */
  jitter?: number;
  random?: () => number;
  timers?: TimerApi;
  now?: () => Date;
}

export class EnvironmentWatcher {
  private current: EnvironmentSnapshot = { state: 'idle' };
  private readonly changed = new Emitter<EnvironmentSnapshot>();
  private readonly expired = new Emitter<SessionExpiredError>();
  /** Fires after every state change. */
  readonly onDidChange: Event<EnvironmentSnapshot> = this.changed.event;
  /** Fires when the API says the session is no longer valid; polling has stopped by then. */
  readonly onSessionExpired: Event<SessionExpiredError> = this.expired.event;

  private timer: unknown;
  private inFlight: Promise<EnvironmentSnapshot> | undefined;
  /** Bumped by stop(): results of fetches started before are dropped. */
  private generation = 0;
  private readonly backoff: Backoff;
  private lastStatus: StackStatus | undefined;
  private readonly logger: Logger;
  private readonly timers: TimerApi;
  private readonly now: () => Date;

  constructor(private readonly opts: EnvironmentWatcherOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.timers = opts.timers ?? realTimers;
    this.now = opts.now ?? (() => new Date());
    const { minDelayMs = 2_000, maxDelayMs = 30_000, factor = 2, jitter = 0.4 } = opts;
    this.backoff = new Backoff({ initialMs: minDelayMs, maxMs: maxDelayMs, factor, jitter }, opts.random);
  }

  get snapshot(): EnvironmentSnapshot {
    return this.current;
  }

  /** Fetches now (joining a fetch already running) and schedules the next poll if needed. */
  refresh(): Promise<EnvironmentSnapshot> {
    if (this.inFlight) return this.inFlight;
    this.cancelTimer();
    const generation = this.generation;
    const previous = this.lastEnvironment();
    const run = async (): Promise<EnvironmentSnapshot> => {
      let env: PublicEnvironment;
      try {
        env = await this.opts.fetch();
      } catch (err) {
        if (generation !== this.generation) return this.current;
        // Cleared before the state event, so a listener's refresh() starts a new fetch.
        this.inFlight = undefined;
        return this.onFailed(err, previous);
      }
      if (generation !== this.generation) return this.current;
      this.inFlight = undefined;
      return this.onFetched(env);
    };
    this.inFlight = run();
    // After inFlight is set, so a listener that calls refresh() joins this fetch.
    this.set({ state: 'loading', ...(previous ? { environment: previous } : {}) });
    return this.inFlight;
  }

  /** Stops polling and forgets the environment (sign-out). */
  stop(): void {
    this.generation++;
    this.inFlight = undefined;
    this.cancelTimer();
    this.backoff.reset();
    this.lastStatus = undefined;
    this.set({ state: 'idle' });
  }

  dispose(): void {
    this.generation++;
    this.cancelTimer();
    this.changed.dispose();
    this.expired.dispose();
  }

  private onFetched(env: PublicEnvironment): EnvironmentSnapshot {
    if (env.status !== this.lastStatus) {
      this.logger.info(`Stack ${env.stackId} is ${env.status}${env.statusMessage ? `: ${env.statusMessage}` : ''}`);
      // Progress seen: look again soon rather than at the backed-off delay.
      this.backoff.reset();
      this.lastStatus = env.status;
    }
    const fetchedAt = this.now();
    if (isTransitional(env.status)) {
      const delay = this.nextDelay();
      this.schedule(delay);
      this.set({ state: 'loaded', environment: env, fetchedAt, nextRefreshAt: new Date(fetchedAt.getTime() + delay) });
    } else {
      this.set({ state: 'loaded', environment: env, fetchedAt });
    }
    return this.current;
  }

  private onFailed(err: unknown, previous: PublicEnvironment | undefined): EnvironmentSnapshot {
    if (err instanceof SessionExpiredError) {
      this.stop();
      this.expired.fire(err);
      return this.current;
    }
    const message = err instanceof Error ? err.message : String(err);
    this.logger.warn(`Could not load the environment: ${message}`);
    // Retry by itself only while the stack was still being built; otherwise the error node's
    // Refresh action is the retry, and the attendee decides when.
    if (!previous || isTransitional(previous.status)) {
      const delay = this.nextDelay();
      this.schedule(delay);
      this.set({ state: 'error', message, ...(previous ? { environment: previous } : {}), nextRetryAt: new Date(this.now().getTime() + delay) });
    } else {
      this.set({ state: 'error', message, environment: previous });
    }
    return this.current;
  }

  private nextDelay(): number {
    return this.backoff.next();
  }

  private schedule(ms: number): void {
    this.cancelTimer();
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      void this.refresh();
    }, ms);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
  }

  private lastEnvironment(): PublicEnvironment | undefined {
    return 'environment' in this.current ? this.current.environment : undefined;
  }

  private set(snapshot: EnvironmentSnapshot): void {
    this.current = snapshot;
    this.changed.fire(snapshot);
  }
}
