/**
 * The attendee's sign-in lifecycle, without any editor: redeem an invite, keep the session and the
 * SSH key in the session store, hand out API clients for the current session, notice when the
 * session has ended, and sign out. The UI layer adds prompts and notifications around it.
 */
import type { Me } from '../contract/api';
import { OrganizerApi, SessionExpiredError, type OrganizerApiOptions } from '../organizerClient';
import { toPublicEnvironment, type PublicEnvironment } from './environmentWatcher';
import { NotSignedInError } from './errors';
import { Emitter, type Event } from '../common/events';
import type { SignInRequest } from './inviteLink';
import { silentLogger, type Logger } from '../common/logger';
import type { SessionState, SessionStore, StoredSession } from './sessionStore';

export interface AttendeeSessionOptions {
  store: SessionStore;
  logger?: Logger;
  userAgent?: string;
  /** Test seam: how clients are made. */
  createClient?: (opts: OrganizerApiOptions) => OrganizerApi;
}

export interface SessionEndedEvent {
  /** The session that ended (already forgotten when this fires). */
  session: StoredSession;
  /** Why, in a few words: the API's 401 message, or that it expired. */
  reason: string;
}

export interface SignOutResult {
  /** False when the API could not be told; the local session is forgotten regardless. */
  revokedOnServer: boolean;
  serverError?: string;
}

function expiredReason(session: StoredSession): string {
  return `it expired at ${session.expiresAt}`;
}

export class AttendeeSession {
  private readonly ended = new Emitter<SessionEndedEvent>();
  /** Fires when the API said 401 or the session's expiry passed; the store is already cleared. */
  readonly onDidEnd: Event<SessionEndedEvent> = this.ended.event;
  /** Fires on any change of the stored session or key (sign-in, sign-out, other windows). */
  readonly onDidChange: Event<void>;

  private readonly logger: Logger;
  private readonly signIns = new Map<string, Promise<StoredSession>>();
  private endedToken: string | undefined;

  constructor(private readonly opts: AttendeeSessionOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.onDidChange = opts.store.onDidChange;
  }

  get store(): SessionStore {
    return this.opts.store;
  }

  getState(): Promise<SessionState> {
    return this.opts.store.getState();
  }

  /**
   * Redeems the invite and stores the session. The same invite signed in twice at once (a link
   * clicked twice) shares one redeem, since the second would fail as "already used".
   */
  signIn(req: SignInRequest): Promise<StoredSession> {
    const key = `${req.apiUrl} ${req.invite}`;
    let running = this.signIns.get(key);
    if (!running) {
      running = this.doSignIn(req).finally(() => this.signIns.delete(key));
      this.signIns.set(key, running);
    }
    return running;
  }

  private async doSignIn(req: SignInRequest): Promise<StoredSession> {
    this.logger.info(`Signing in at ${req.apiUrl}`);
    const redeemed = await this.client({ apiUrl: req.apiUrl }).redeem(req.invite);
    let role: Me['role'] | undefined;
    try {
      role = (await this.client({ apiUrl: req.apiUrl, token: redeemed.token }).me()).role;
    } catch (err) {
      // The role only decides whether the organizer view shows; sign-in stands without it.
      this.logger.warn(`Signed in, but could not read the attendee profile: ${(err as Error).message}`);
    }
    const session: StoredSession = {
      version: 1,
      token: redeemed.token,
      expiresAt: redeemed.expiresAt,
      apiUrl: req.apiUrl,
      attendee: redeemed.attendee,
      workshop: redeemed.workshop,
      ...(role ? { role } : {}),
    };
    // A new sign-in replaces the old session and the old stack's key.
    await this.opts.store.clear();
    await this.opts.store.saveSession(session);
    this.logger.info(`Signed in as ${session.attendee.email} to workshop "${session.workshop.title}"`);
    return session;
  }

  /** A client for the current session; throws when signed out, and ends an expired session. */
  async currentClient(): Promise<OrganizerApi> {
    const state = await this.opts.store.getState();
    if (state.kind === 'signedOut') throw new NotSignedInError();
    if (state.kind === 'expired') {
      const reason = expiredReason(state.session);
      await this.end(state.session, reason);
      throw new SessionExpiredError(reason);
    }
    return this.client({ apiUrl: state.session.apiUrl, token: state.session.token });
  }

  /**
   * Runs an API call for the current session; a 401 ends the session (store cleared, `onDidEnd`
   * fired) and is rethrown so the caller stops what it was doing.
   */
  async call<T>(fn: (client: OrganizerApi) => Promise<T>): Promise<T> {
    const client = await this.currentClient();
    try {
      return await fn(client);
    } catch (err) {
      if (err instanceof SessionExpiredError) {
        const session = await this.opts.store.getSession();
        if (session) await this.end(session, err.reason);
      }
      throw err;
    }
  }

  /** Fetches the environment, keeps the SSH key in the store, and returns the rest. */
  async fetchEnvironment(): Promise<PublicEnvironment> {
    const env = await this.call((c) => c.environment());
    if (env.connection) await this.opts.store.savePrivateKey({ stackId: env.stackId, privateKey: env.connection.privateKey });
    return toPublicEnvironment(env);
  }

  /** Refreshes the stored role from GET /v1/me. */
  async refreshProfile(): Promise<StoredSession | undefined> {
    const me = await this.call((c) => c.me());
    const session = await this.opts.store.getValidSession();
    if (!session) return undefined;
    if (session.role === me.role) return session;
    const updated = { ...session, role: me.role };
    await this.opts.store.saveSession(updated);
    return updated;
  }

  /** Ends the session locally if it has expired; returns the state after. */
  async checkExpiry(): Promise<SessionState> {
    const state = await this.opts.store.getState();
    if (state.kind !== 'expired') return state;
    await this.end(state.session, expiredReason(state.session));
    return { kind: 'signedOut' };
  }

  /** Revokes the session on the server (best effort) and forgets the token and the key. */
  async signOut(): Promise<SignOutResult> {
    const session = await this.opts.store.getSession();
    let result: SignOutResult = { revokedOnServer: false };
    if (session && !this.opts.store.isExpired(session)) {
      try {
        await this.client({ apiUrl: session.apiUrl, token: session.token, timeoutMs: 5_000 }).signOut();
        result = { revokedOnServer: true };
      } catch (err) {
        // Already revoked counts as done; anything else must not keep the attendee signed in.
        if (err instanceof SessionExpiredError) result = { revokedOnServer: true };
        else result = { revokedOnServer: false, serverError: (err as Error).message };
        this.logger.warn(`Sign-out could not reach the organizer API: ${(err as Error).message}`);
      }
    }
    await this.opts.store.clear();
    this.logger.info('Signed out; the session token and the SSH key are forgotten.');
    return result;
  }

  private async end(session: StoredSession, reason: string): Promise<void> {
    // Several calls may hit the same 401 at once; the attendee hears about it once.
    if (this.endedToken === session.token) return;
    this.endedToken = session.token;
    this.logger.warn(`Session ended: ${reason}`);
    await this.opts.store.clear();
    this.ended.fire({ session, reason });
  }

  private client(opts: Omit<OrganizerApiOptions, 'log' | 'userAgent'>): OrganizerApi {
    const full = { ...opts, log: this.logger, userAgent: this.opts.userAgent };
    return this.opts.createClient ? this.opts.createClient(full) : new OrganizerApi(full);
  }

  dispose(): void {
    this.ended.dispose();
  }
}
