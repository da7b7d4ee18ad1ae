/**
 * Data access for the organizer: every SQL statement lives here, so routes and the stack
 * service deal in contract shapes. Tokens arrive in clear text and leave as hashes;
 * secrets are sealed before they reach a row and opened only on the way out.
 */
import { z } from 'zod';
import {
  assertTransition,
  AttendeeInput,
  STACK_TRANSITIONS,
  type AttendeeSummary,
  type CreateWorkshopRequest,
  type Environment,
  type ImportAttendeesResponse,
  type Me,
  type ProgressRequest,
  type ProgressResponse,
  type StackStatus,
  type StackSummary,
  type StackTransition,
  type Workshop,
} from '../contract';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db';
import { conflict, ApiFailure, notFound, unauthorized, zodDetails } from './errors';
import type { ProvisionedStack, StackKeys, StackTopology } from './providers/types';
import { hashesEqual, hashToken, newId, newToken, SecretBox, SecretKeyError } from './secrets';

export interface WorkshopRow {
  id: string;
  name: string;
  title: string;
  provider: string;
  topology: string;
  created_at: string;
}

export interface AttendeeRow {
  id: string;
  workshop_id: string;
  email: string;
  name: string;
  team: string | null;
  role: 'attendee' | 'organizer';
  created_at: string;
  last_seen_at: string | null;
}

interface SessionRow {
  id: string;
  attendee_id: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface StackRow {
  id: string;
  attendee_id: string;
  workshop_id: string;
  name: string;
  provider: string;
  status: StackStatus;
  status_message: string | null;
  desired: 'ready' | 'destroyed' | null;
  attempts: number;
  keys_sealed: string | null;
  connection: string | null;
  secrets_sealed: string | null;
  handle: string | null;
  created_at: string;
  updated_at: string;
}

export type Principal =
  | { kind: 'organizer' }
  | { kind: 'attendee'; attendee: AttendeeRow; sessionId: string; sessionExpiresAt: string };

/** Connection details kept in clear text (addresses and public keys only). */
type PublicConnection = Omit<ProvisionedStack, 'attendeePrivateKey' | 'nomadToken' | 'consulToken' | 'handle'>;
type StackSecrets = Pick<ProvisionedStack, 'attendeePrivateKey' | 'nomadToken' | 'consulToken'>;

export interface StoreOptions {
  now: () => Date;
  sessionTtlMs: number;
}

const ORGANIZER_TOKEN_HASH = 'organizer_token_hash';
const KEY_CHECK = 'secret_key_check';
const KEY_CHECK_PLAINTEXT = 'open-kitchen secret key check';
/** last_seen_at is written at most this often per attendee, not on every request. */
const LAST_SEEN_RESOLUTION_MS = 15_000;

const ImportEnvelope = z.object({
  attendees: z.array(z.unknown()).min(1, 'attendees must list at least one attendee').max(5000),
});

export class Store {
  constructor(
    readonly db: Db,
    private readonly box: SecretBox,
    private readonly opts: StoreOptions,
  ) {}

  /**
   * Prepared statements, compiled once per SQL text: a sign-in runs six, and compiling them
   * cost about as much as running them. The few statements built from a list keep a handful of
   * shapes, so the map stays small.
   */
  private readonly statements = new Map<string, Statement>();
  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  private iso(offsetMs = 0): string {
    return new Date(this.opts.now().getTime() + offsetMs).toISOString();
  }

  // ---- settings, key check, organizer token ----

  getSetting(key: string): string | undefined {
    return (this.stmt('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setSetting(key: string, value: string): void {
    this.stmt('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(key, value);
  }

  /**
   * Makes sure the secret key is the one this database was created with; a wrong key would
   * otherwise surface much later as unreadable SSH keys.
   */
  verifySecretKey(): void {
    const check = this.getSetting(KEY_CHECK);
    if (!check) {
      this.setSetting(KEY_CHECK, this.box.seal(KEY_CHECK_PLAINTEXT, KEY_CHECK));
      return;
    }
    let ok = false;
    try {
      ok = this.box.open(check, KEY_CHECK) === KEY_CHECK_PLAINTEXT;
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new SecretKeyError(
        'The secret key does not match the one this database was created with; start with the original key ' +
          '(OPEN_KITCHEN_SECRET_KEY, OPEN_KITCHEN_SECRET_KEY_FILE or --secret-key-file).',
      );
    }
  }

  /**
   * Sets the organizer token: a given one replaces the stored hash; without one, a new token
   * is created only when none exists yet. Returns the clear token when it was created now.
   */
  ensureOrganizerToken(given: string | undefined): { created: string | null } {
    if (given) {
      this.setSetting(ORGANIZER_TOKEN_HASH, hashToken(given));
      return { created: null };
    }
    if (this.getSetting(ORGANIZER_TOKEN_HASH)) return { created: null };
    const token = newToken('organizer');
    this.setSetting(ORGANIZER_TOKEN_HASH, hashToken(token));
    return { created: token };
  }

  // ---- authentication ----

  authenticate(token: string): Principal {
    const hash = hashToken(token);
    const organizerHash = this.getSetting(ORGANIZER_TOKEN_HASH);
    if (organizerHash && hashesEqual(hash, organizerHash)) return { kind: 'organizer' };
    const session = this.stmt('SELECT id, attendee_id, expires_at, revoked_at FROM sessions WHERE token_hash = ?')
      .get(hash) as SessionRow | undefined;
    if (!session) throw unauthorized('Unknown token; sign in again with your invite link.');
    if (session.revoked_at) throw unauthorized('This session was signed out; sign in again with an invite link.');
    if (session.expires_at <= this.iso()) {
      throw unauthorized(
        `Your session expired at ${session.expires_at}; sign in again (ask the organizer for a new invite link).`,
      );
    }
    const attendee = this.stmt('SELECT * FROM attendees WHERE id = ?').get(session.attendee_id) as AttendeeRow;
    return { kind: 'attendee', attendee, sessionId: session.id, sessionExpiresAt: session.expires_at };
  }

  /** Records that the attendee was seen; true when last_seen_at changed. */
  touchAttendee(attendee: AttendeeRow): boolean {
    const now = this.opts.now().getTime();
    if (attendee.last_seen_at && now - Date.parse(attendee.last_seen_at) < LAST_SEEN_RESOLUTION_MS) return false;
    this.stmt('UPDATE attendees SET last_seen_at = ? WHERE id = ?').run(new Date(now).toISOString(), attendee.id);
    return true;
  }

  redeemInvite(inviteToken: string) {
    return this.db.transaction(() => {
      const invite = this.stmt('SELECT id, attendee_id, expires_at, redeemed_at, revoked_at FROM invites WHERE token_hash = ?')
        .get(hashToken(inviteToken)) as
        | { id: string; attendee_id: string; expires_at: string; redeemed_at: string | null; revoked_at: string | null }
        | undefined;
      if (!invite) {
        throw new ApiFailure('invite_invalid', 'This invite link is not valid; check that you copied the whole link.');
      }
      if (invite.redeemed_at) {
        throw new ApiFailure('invite_used',
          `This invite was already used at ${invite.redeemed_at}; each invite signs in once. Ask the organizer for a new one.`,
        );
      }
      if (invite.revoked_at) {
        throw new ApiFailure('invite_expired', 'This invite was replaced by a newer one; use the latest invite link.');
      }
      const now = this.iso();
      if (invite.expires_at <= now) {
        throw new ApiFailure('invite_expired',
          `This invite expired at ${invite.expires_at}; ask the organizer for a new one.`,
        );
      }
      this.stmt('UPDATE invites SET redeemed_at = ? WHERE id = ? AND redeemed_at IS NULL').run(now, invite.id);
      const token = newToken('session');
      const expiresAt = this.iso(this.opts.sessionTtlMs);
      this.stmt('INSERT INTO sessions (id, attendee_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
        .run(newId('ses'), invite.attendee_id, hashToken(token), now, expiresAt);
      this.stmt('UPDATE attendees SET last_seen_at = ? WHERE id = ?').run(now, invite.attendee_id);
      const attendee = this.stmt('SELECT * FROM attendees WHERE id = ?').get(invite.attendee_id) as AttendeeRow;
      const workshop = this.workshopRow(attendee.workshop_id);
      return {
        token,
        expiresAt,
        attendee: { id: attendee.id, email: attendee.email, name: attendee.name },
        workshop: { id: workshop.id, name: workshop.name, title: workshop.title },
      };
    })();
  }

  revokeSession(sessionId: string): void {
    this.stmt('UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(this.iso(), sessionId);
  }

  // ---- workshops ----

  private workshopRow(id: string): WorkshopRow {
    return this.stmt('SELECT * FROM workshops WHERE id = ?').get(id) as WorkshopRow;
  }

  static toWorkshop(row: WorkshopRow): Workshop {
    return {
      id: row.id,
      name: row.name,
      title: row.title,
      provider: row.provider,
      topology: JSON.parse(row.topology) as StackTopology,
      createdAt: row.created_at,
    };
  }

  createWorkshop(req: CreateWorkshopRequest): Workshop {
    const existing = this.stmt('SELECT id FROM workshops WHERE name = ?').get(req.name);
    if (existing) throw conflict(`A workshop named "${req.name}" already exists.`);
    const row: WorkshopRow = {
      id: newId('ws'),
      name: req.name,
      title: req.title,
      provider: req.provider,
      topology: JSON.stringify(req.topology),
      created_at: this.iso(),
    };
    this.stmt(
        'INSERT INTO workshops (id, name, title, provider, topology, created_at) VALUES (@id, @name, @title, @provider, @topology, @created_at)',
      )
      .run(row);
    return Store.toWorkshop(row);
  }

  listWorkshops(): Workshop[] {
    return (this.stmt('SELECT * FROM workshops ORDER BY created_at, name').all() as WorkshopRow[]).map(
      Store.toWorkshop,
    );
  }

  /** By id or by name. */
  findWorkshop(ref: string): WorkshopRow {
    const row = this.stmt('SELECT * FROM workshops WHERE id = ? OR name = ?').get(ref, ref) as
      | WorkshopRow
      | undefined;
    if (!row) throw notFound(`No workshop "${ref}".`);
    return row;
  }

  // ---- attendees ----

  /**
   * Imports the good rows and reports each bad one (invalid fields, duplicates within the
   * request or of attendees already in the workshop). Each new attendee gets a pending stack.
   */
  importAttendees(workshop: WorkshopRow, body: unknown): ImportAttendeesResponse {
    const envelope = ImportEnvelope.safeParse(body);
    if (!envelope.success) {
      const details = zodDetails(envelope.error);
      throw new ApiFailure('validation_failed',
        `Invalid request body: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
        details,
      );
    }
    const result: ImportAttendeesResponse = { imported: [], rejected: [] };
    const seen = new Map<string, number>();
    const exists = this.stmt('SELECT 1 FROM attendees WHERE workshop_id = ? AND email = ?');
    const insertAttendee = this.stmt(
      'INSERT INTO attendees (id, workshop_id, email, name, team, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const insertStack = this.stmt(
      `INSERT INTO stacks (id, attendee_id, workshop_id, name, provider, status, status_message, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', 'Waiting for the organizer to provision stacks.', ?, ?)`,
    );
    this.db.transaction(() => {
      envelope.data.attendees.forEach((raw, index) => {
        const emailOf = (v: unknown) =>
          v && typeof v === 'object' && typeof (v as { email?: unknown }).email === 'string'
            ? ((v as { email: string }).email as string)
            : null;
        const parsed = AttendeeInput.safeParse(raw);
        if (!parsed.success) {
          const reason = zodDetails(parsed.error)
            .map((d) => (d.path ? `${d.path}: ${d.message}` : d.message))
            .join('; ');
          result.rejected.push({ index, email: emailOf(raw), reason });
          return;
        }
        const email = parsed.data.email.trim();
        const key = email.toLowerCase();
        const first = seen.get(key);
        if (first !== undefined) {
          result.rejected.push({ index, email, reason: `duplicate of attendees.${first} in this import` });
          return;
        }
        seen.set(key, index);
        if (exists.get(workshop.id, email)) {
          result.rejected.push({ index, email, reason: 'already an attendee of this workshop' });
          return;
        }
        const now = this.iso();
        const id = newId('att');
        insertAttendee.run(id, workshop.id, email, parsed.data.name.trim(), parsed.data.team?.trim() || null, now);
        insertStack.run(newId('stk'), id, workshop.id, this.uniqueStackName(workshop.name, email), workshop.provider, now, now);
        result.imported.push({ id, email });
      });
    })();
    return result;
  }

  private uniqueStackName(workshopName: string, email: string): string {
    const slug =
      email
        .split('@')[0]
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 12)
        .replace(/-+$/, '') || 'attendee';
    for (;;) {
      const name = `${workshopName}-${slug}-${newId('x').slice(2, 6).toLowerCase().replace(/[^a-z0-9]/g, '0')}`;
      if (!this.stmt('SELECT 1 FROM stacks WHERE name = ?').get(name)) return name;
    }
  }

  attendeesOf(workshopId: string, ids?: string[]): AttendeeRow[] {
    const all = this.stmt('SELECT * FROM attendees WHERE workshop_id = ? ORDER BY created_at, email').all(
      workshopId,
    ) as AttendeeRow[];
    if (!ids) return all;
    const byId = new Map(all.map((a) => [a.id, a]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length) {
      throw notFound(`No attendee ${missing.map((m) => `"${m}"`).join(', ')} in this workshop.`);
    }
    return [...new Set(ids)].map((id) => byId.get(id)!);
  }

  /** Summaries of the workshop's attendees (or only of `ids`). */
  listAttendees(workshopId: string, ids?: string[]): AttendeeSummary[] {
    const now = this.iso();
    const stacks = new Map(
      (this.stmt('SELECT * FROM stacks WHERE workshop_id = ?').all(workshopId) as StackRow[]).map((s) => [
        s.attendee_id,
        s,
      ]),
    );
    const inviteQuery = this.stmt(
      'SELECT expires_at, redeemed_at, revoked_at, mailed_at FROM invites WHERE attendee_id = ? ORDER BY created_at DESC',
    );
    const progressQuery = this.stmt(
      'SELECT lab_id, step_id, status, at FROM lab_progress WHERE attendee_id = ? ORDER BY at DESC',
    );
    return this.attendeesOf(workshopId, ids).map((a) => {
      const invites = inviteQuery.all(a.id) as {
        expires_at: string;
        redeemed_at: string | null;
        revoked_at: string | null;
        mailed_at: string | null;
      }[];
      const redeemed = invites.find((i) => i.redeemed_at);
      const open = invites.find((i) => !i.redeemed_at && !i.revoked_at && i.expires_at > now);
      const mailedAt = invites.reduce<string | null>((m, i) => (i.mailed_at && (!m || i.mailed_at > m) ? i.mailed_at : m), null);
      const invite: AttendeeSummary['invite'] = redeemed
        ? { status: 'redeemed', expiresAt: redeemed.expires_at, mailedAt }
        : open
          ? { status: 'sent', expiresAt: open.expires_at, mailedAt }
          : invites.length
            ? { status: 'expired', expiresAt: invites[0].expires_at, mailedAt }
            : { status: 'none', expiresAt: null, mailedAt };
      const progress = progressQuery.all(a.id) as { lab_id: string; step_id: string; status: string }[];
      const stack = stacks.get(a.id);
      return {
        id: a.id,
        email: a.email,
        name: a.name,
        team: a.team,
        stack: stack ? { id: stack.id, status: stack.status, statusMessage: stack.status_message } : null,
        invite,
        lastSeenAt: a.last_seen_at,
        progress: {
          done: progress.filter((p) => p.status === 'done').length,
          current: progress[0] ? `${progress[0].lab_id}/${progress[0].step_id}` : null,
        },
      };
    });
  }

  // ---- invites ----

  /**
   * Creates one invite per attendee. Explicit ids always get a fresh invite (the previous
   * unused one is revoked, so only the newest link works); without ids, every attendee who
   * has neither signed in nor holds a still-valid invite gets one.
   */
  createInvites(workshop: WorkshopRow, attendeeIds: string[] | undefined, ttlHours: number) {
    const now = this.iso();
    const expiresAt = this.iso(ttlHours * 3600_000);
    return this.db.transaction(() => {
      let targets = this.attendeesOf(workshop.id, attendeeIds);
      if (!attendeeIds) {
        const hasValid = this.stmt(
          `SELECT 1 FROM invites WHERE attendee_id = ?
             AND (redeemed_at IS NOT NULL OR (revoked_at IS NULL AND expires_at > ?))`,
        );
        targets = targets.filter((a) => !hasValid.get(a.id, now));
      }
      const revoke = this.stmt(
        'UPDATE invites SET revoked_at = ? WHERE attendee_id = ? AND redeemed_at IS NULL AND revoked_at IS NULL',
      );
      const insert = this.stmt(
        'INSERT INTO invites (id, attendee_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      );
      return targets.map((a) => {
        revoke.run(now, a.id);
        const token = newToken('invite');
        insert.run(newId('inv'), a.id, hashToken(token), now, expiresAt);
        return { attendeeId: a.id, email: a.email, token, expiresAt };
      });
    })();
  }

  /**
   * Attendees to mail an invite to: `unsent` = none of their invites was ever mailed;
   * `unopened` = they have not signed in with any invite yet.
   */
  attendeesToMail(workshopId: string, which: 'unsent' | 'unopened'): AttendeeRow[] {
    const column = which === 'unsent' ? 'mailed_at' : 'redeemed_at';
    return this.stmt(
        `SELECT a.* FROM attendees a WHERE a.workshop_id = ?
           AND NOT EXISTS (SELECT 1 FROM invites i WHERE i.attendee_id = a.id AND i.${column} IS NOT NULL)
         ORDER BY a.created_at, a.email`,
      )
      .all(workshopId) as AttendeeRow[];
  }

  /**
   * A new invite meant for mailing. Unlike createInvites it leaves the attendee's earlier
   * invites alone until the mail is out (`inviteMailed`), so a failed resend does not break
   * a link the attendee already has.
   */
  issueInvite(attendee: AttendeeRow, ttlHours: number): { inviteId: string; token: string; expiresAt: string } {
    const inviteId = newId('inv');
    const token = newToken('invite');
    const expiresAt = this.iso(ttlHours * 3600_000);
    this.stmt('INSERT INTO invites (id, attendee_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)')
      .run(inviteId, attendee.id, hashToken(token), this.iso(), expiresAt);
    return { inviteId, token, expiresAt };
  }

  /** Records that the invite was mailed; the attendee's older unused invites stop working. */
  inviteMailed(inviteId: string): string {
    const now = this.iso();
    this.db.transaction(() => {
      const row = this.stmt('SELECT attendee_id FROM invites WHERE id = ?').get(inviteId) as { attendee_id: string };
      this.stmt('UPDATE invites SET mailed_at = ? WHERE id = ?').run(now, inviteId);
      this.stmt('UPDATE invites SET revoked_at = ? WHERE attendee_id = ? AND id != ? AND redeemed_at IS NULL AND revoked_at IS NULL')
        .run(now, row.attendee_id, inviteId);
    })();
    return now;
  }

  /** An invite whose mail could not be sent: nobody has its link, so it goes as if never made. */
  discardInvite(inviteId: string): void {
    this.stmt('DELETE FROM invites WHERE id = ? AND redeemed_at IS NULL').run(inviteId);
  }

  // ---- attendee self-service ----

  me(principal: Extract<Principal, { kind: 'attendee' }>): Me {
    const a = principal.attendee;
    const w = this.workshopRow(a.workshop_id);
    return {
      id: a.id,
      email: a.email,
      name: a.name,
      team: a.team,
      role: a.role,
      workshop: { id: w.id, name: w.name, title: w.title },
      sessionExpiresAt: principal.sessionExpiresAt,
    };
  }

  environment(attendee: AttendeeRow): Environment {
    const stack = this.stmt('SELECT * FROM stacks WHERE attendee_id = ?').get(attendee.id) as StackRow | undefined;
    if (!stack) {
      // Attendees always get a stack row on import; this only covers rows made by hand.
      const w = this.workshopRow(attendee.workshop_id);
      return {
        stackId: '',
        status: 'pending',
        statusMessage: 'Waiting for the organizer to provision stacks.',
        provider: w.provider,
        updatedAt: attendee.created_at,
        connection: null,
      };
    }
    let connection: Environment['connection'] = null;
    if (stack.status === 'ready' && stack.connection && stack.secrets_sealed) {
      const pub = JSON.parse(stack.connection) as PublicConnection;
      const secrets = this.openStackSecrets(stack);
      connection = {
        bastion: pub.bastion,
        privateKey: secrets.attendeePrivateKey,
        nomad: pub.nomad,
        consul: pub.consul,
        region: pub.region,
        datacenters: pub.datacenters,
        zones: pub.zones,
        dns: pub.dns,
        nomadToken: secrets.nomadToken,
        consulToken: secrets.consulToken,
      };
    }
    return {
      stackId: stack.id,
      status: stack.status,
      statusMessage: stack.status_message,
      provider: stack.provider,
      updatedAt: stack.updated_at,
      connection,
    };
  }

  recordProgress(attendeeId: string, p: ProgressRequest): void {
    this.stmt(
        `INSERT INTO lab_progress (attendee_id, lab_id, step_id, status, detail, at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (attendee_id, lab_id, step_id) DO UPDATE SET status = excluded.status, detail = excluded.detail, at = excluded.at`,
      )
      .run(attendeeId, p.labId, p.stepId, p.status, p.detail ?? null, this.iso());
  }

  listProgress(attendeeId: string): ProgressResponse {
    const rows = this.stmt('SELECT lab_id, step_id, status, detail, at FROM lab_progress WHERE attendee_id = ? ORDER BY at, lab_id, step_id')
      .all(attendeeId) as { lab_id: string; step_id: string; status: 'started' | 'done' | 'failed'; detail: string | null; at: string }[];
    return {
      progress: rows.map((r) => ({
        labId: r.lab_id,
        stepId: r.step_id,
        status: r.status,
        ...(r.detail !== null ? { detail: r.detail } : {}),
        at: r.at,
      })),
    };
  }

  // ---- stacks ----

  static toStackSummary(s: StackRow): StackSummary {
    return { id: s.id, attendeeId: s.attendee_id, status: s.status, statusMessage: s.status_message, updatedAt: s.updated_at };
  }

  getStack(id: string): StackRow | undefined {
    return this.stmt('SELECT * FROM stacks WHERE id = ?').get(id) as StackRow | undefined;
  }

  stacksOf(workshopId: string): StackRow[] {
    return this.stmt('SELECT s.* FROM stacks s JOIN attendees a ON a.id = s.attendee_id WHERE s.workshop_id = ? ORDER BY a.created_at, a.email')
      .all(workshopId) as StackRow[];
  }

  stacksWithStatus(statuses: StackStatus[]): StackRow[] {
    return this.stmt(`SELECT * FROM stacks WHERE status IN (${statuses.map(() => '?').join(',')}) ORDER BY created_at`)
      .all(...statuses) as StackRow[];
  }

  stacksDesired(): StackRow[] {
    return this.stmt('SELECT * FROM stacks WHERE desired IS NOT NULL ORDER BY updated_at').all() as StackRow[];
  }

  /**
   * Moves a stack along one transition of the state machine (src/contract/stacks.ts), with the
   * transition's words unless the mover has its own; refuses a move the table does not have.
   */
  moveStack(
    id: string,
    transition: StackTransition,
    message?: string | null,
    extra: Partial<Pick<StackRow, 'desired' | 'attempts' | 'connection' | 'secrets_sealed' | 'handle' | 'keys_sealed'>> = {},
  ): StackRow {
    const row = this.getStack(id);
    if (!row) throw notFound(`No stack "${id}".`);
    const to = assertTransition(row.status, transition);
    return this.updateStack(id, to, message ?? STACK_TRANSITIONS[transition].message, extra);
  }

  /** Sets status and message (and optionally other columns), appending a stack event. */
  private updateStack(
    id: string,
    status: StackStatus,
    message: string | null,
    extra: Partial<Pick<StackRow, 'desired' | 'attempts' | 'connection' | 'secrets_sealed' | 'handle' | 'keys_sealed'>> = {},
  ): StackRow {
    const at = this.iso();
    const sets = ['status = @status', 'status_message = @message', 'updated_at = @at'];
    for (const k of Object.keys(extra)) sets.push(`${k} = @${k}`);
    this.db.transaction(() => {
      this.stmt(`UPDATE stacks SET ${sets.join(', ')} WHERE id = @id`).run({ id, status, message, at, ...extra });
      this.stmt('INSERT INTO stack_events (stack_id, at, status, message) VALUES (?, ?, ?, ?)').run(id, at, status, message);
    })();
    return this.getStack(id)!;
  }

  setDesired(id: string, desired: StackRow['desired']): void {
    this.stmt('UPDATE stacks SET desired = ? WHERE id = ?').run(desired, id);
  }

  stackEvents(stackId: string): { at: string; status: StackStatus; message: string | null }[] {
    return this.stmt('SELECT at, status, message FROM stack_events WHERE stack_id = ? ORDER BY id')
      .all(stackId) as { at: string; status: StackStatus; message: string | null }[];
  }

  sealKeys(stackId: string, keys: StackKeys): string {
    return this.box.seal(JSON.stringify(keys), `stack:${stackId}:keys`);
  }

  openKeys(stack: StackRow): StackKeys | null {
    if (!stack.keys_sealed) return null;
    return JSON.parse(this.box.open(stack.keys_sealed, `stack:${stack.id}:keys`)) as StackKeys;
  }

  /** Splits a provider's result into clear connection details and sealed secrets. */
  sealProvisioned(stackId: string, p: ProvisionedStack): Pick<StackRow, 'connection' | 'secrets_sealed' | 'handle'> {
    const pub: PublicConnection = {
      bastion: p.bastion,
      nomad: p.nomad,
      consul: p.consul,
      region: p.region,
      datacenters: p.datacenters,
      zones: p.zones,
      dns: p.dns,
    };
    const secrets: StackSecrets = {
      attendeePrivateKey: p.attendeePrivateKey,
      nomadToken: p.nomadToken,
      consulToken: p.consulToken,
    };
    return {
      connection: JSON.stringify(pub),
      secrets_sealed: this.box.seal(JSON.stringify(secrets), `stack:${stackId}:secrets`),
      handle: JSON.stringify(p.handle ?? {}),
    };
  }

  private openStackSecrets(stack: StackRow): StackSecrets {
    return JSON.parse(this.box.open(stack.secrets_sealed!, `stack:${stack.id}:secrets`)) as StackSecrets;
  }
}
