/**
 * Where the attendee's session lives: the session token (with its expiry, the API it belongs to,
 * the attendee and the workshop) and the SSH private key of their stack. Both only ever go into
 * secret storage; nothing here touches settings or files.
 */
import { z } from 'zod';
import { Role } from '../contract/api';
import { Emitter, type Disposable, type Event } from '../common/events';
import type { SecretStore } from './secretStore';

export const StoredSession = z.object({
  version: z.literal(1),
  token: z.string().min(1),
  expiresAt: z.string().datetime(),
  apiUrl: z.string().url(),
  attendee: z.object({ id: z.string(), email: z.string(), name: z.string() }),
  workshop: z.object({ id: z.string(), name: z.string(), title: z.string() }),
  /** From GET /v1/me; absent until known. */
  role: Role.optional(),
});
export type StoredSession = z.infer<typeof StoredSession>;

export interface StoredPrivateKey {
  /** The stack the key belongs to, so a re-provisioned stack's new key replaces it. */
  stackId: string;
  privateKey: string;
}

/** The keys below the store's namespace. */
export const SESSION_KEY = 'session';
export const PRIVATE_KEY_KEY = 'sshPrivateKey';

export type SessionState =
  | { kind: 'signedOut' }
  | { kind: 'expired'; session: StoredSession }
  | { kind: 'signedIn'; session: StoredSession };

export class SessionStore {
  private readonly emitter = new Emitter<void>();
  /** Fires when the session or the key changed, in this window or another. */
  readonly onDidChange: Event<void> = this.emitter.event;
  private readonly subscription: Disposable;

  constructor(
    private readonly secrets: SecretStore,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.subscription = secrets.onDidChange(({ key }) => {
      if (key === SESSION_KEY || key === PRIVATE_KEY_KEY) this.emitter.fire();
    });
  }

  /** The stored session, expired or not; a damaged entry counts as none (and is removed). */
  async getSession(): Promise<StoredSession | undefined> {
    const raw = await this.secrets.get(SESSION_KEY);
    if (!raw) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const parsed = StoredSession.safeParse(json);
    if (!parsed.success) {
      await this.secrets.delete(SESSION_KEY);
      return undefined;
    }
    return parsed.data;
  }

  isExpired(session: StoredSession): boolean {
    return Date.parse(session.expiresAt) <= this.now().getTime();
  }

  async getState(): Promise<SessionState> {
    const session = await this.getSession();
    if (!session) return { kind: 'signedOut' };
    return this.isExpired(session) ? { kind: 'expired', session } : { kind: 'signedIn', session };
  }

  /** The session if it exists and has not expired. */
  async getValidSession(): Promise<StoredSession | undefined> {
    const state = await this.getState();
    return state.kind === 'signedIn' ? state.session : undefined;
  }

  async saveSession(session: StoredSession): Promise<void> {
    await this.secrets.store(SESSION_KEY, JSON.stringify(StoredSession.parse(session)));
  }

  async getPrivateKey(): Promise<StoredPrivateKey | undefined> {
    const raw = await this.secrets.get(PRIVATE_KEY_KEY);
    if (!raw) return undefined;
    try {
      const v = JSON.parse(raw) as Partial<StoredPrivateKey>;
      if (typeof v.stackId === 'string' && typeof v.privateKey === 'string') return { stackId: v.stackId, privateKey: v.privateKey };
    } catch {
      // fall through: a damaged entry is as good as none
    }
    return undefined;
  }

  /** Stores the key; writes only when it changed so listeners are not woken for nothing. */
  async savePrivateKey(key: StoredPrivateKey): Promise<void> {
    const current = await this.getPrivateKey();
    if (current && current.stackId === key.stackId && current.privateKey === key.privateKey) return;
    await this.secrets.store(PRIVATE_KEY_KEY, JSON.stringify(key));
  }

  /** Forgets the session token and the private key. */
  async clear(): Promise<void> {
    await this.secrets.delete(SESSION_KEY);
    await this.secrets.delete(PRIVATE_KEY_KEY);
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}
