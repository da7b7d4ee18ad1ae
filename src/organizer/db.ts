/**
 * The organizer's SQLite database: opened in WAL mode with foreign keys on, and brought
 * up to date by numbered migrations recorded in `schema_migrations`. A migration is
 * never edited once released; changes go into a new one.
 */
import Database from 'better-sqlite3';

export type Db = Database.Database;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /**
   * The migration rebuilds a table (SQLite cannot change a CHECK in place): foreign keys are off
   * while it runs, so dropping the old table does not cascade, and checked before it commits
   * (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes").
   */
  rebuildsTables?: boolean;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      CREATE TABLE workshops (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        title      TEXT NOT NULL,
        provider   TEXT NOT NULL,
        topology   TEXT NOT NULL,           -- JSON StackTopology
        created_at TEXT NOT NULL
      );
      CREATE TABLE attendees (
        id           TEXT PRIMARY KEY,
        workshop_id  TEXT NOT NULL REFERENCES workshops(id) ON DELETE CASCADE,
        email        TEXT NOT NULL COLLATE NOCASE,
        name         TEXT NOT NULL,
        team         TEXT,
        role         TEXT NOT NULL DEFAULT 'attendee' CHECK (role IN ('attendee', 'organizer')),
        created_at   TEXT NOT NULL,
        last_seen_at TEXT,
        UNIQUE (workshop_id, email)
      );
      CREATE TABLE invites (
        id          TEXT PRIMARY KEY,
        attendee_id TEXT NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
        token_hash  TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        redeemed_at TEXT,
        revoked_at  TEXT                    -- set when a newer invite replaces it
      );
      CREATE INDEX invites_attendee ON invites (attendee_id);
      CREATE TABLE sessions (
        id          TEXT PRIMARY KEY,
        attendee_id TEXT NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
        token_hash  TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        revoked_at  TEXT
      );
      CREATE INDEX sessions_attendee ON sessions (attendee_id);
      CREATE TABLE stacks (
        id             TEXT PRIMARY KEY,
        attendee_id    TEXT NOT NULL UNIQUE REFERENCES attendees(id) ON DELETE CASCADE,
        workshop_id    TEXT NOT NULL REFERENCES workshops(id) ON DELETE CASCADE,
        name           TEXT NOT NULL UNIQUE,
        provider       TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('pending','provisioning','ready','failed','destroying','destroyed')),
        status_message TEXT,
        -- what the organizer asked for and has not been done yet ('ready' or 'destroyed'), so
        -- a restart can resume queued work
        desired        TEXT CHECK (desired IN ('ready', 'destroyed')),
        attempts       INTEGER NOT NULL DEFAULT 0,
        keys_sealed    TEXT,                -- sealed JSON StackKeys, reused on retries so the host key stays pinned
        connection     TEXT,                -- JSON connection details without secrets
        secrets_sealed TEXT,                -- sealed JSON { attendeePrivateKey, nomadToken, consulToken }
        handle         TEXT,                -- JSON provider handle
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL
      );
      CREATE INDEX stacks_workshop ON stacks (workshop_id);
      CREATE TABLE stack_events (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        stack_id TEXT NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
        at       TEXT NOT NULL,
        status   TEXT NOT NULL,
        message  TEXT
      );
      CREATE INDEX stack_events_stack ON stack_events (stack_id, id);
      CREATE TABLE lab_progress (
        attendee_id TEXT NOT NULL REFERENCES attendees(id) ON DELETE CASCADE,
        lab_id      TEXT NOT NULL,
        step_id     TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('started', 'done', 'failed')),
        detail      TEXT,
        at          TEXT NOT NULL,
        PRIMARY KEY (attendee_id, lab_id, step_id)
      );
    `,
  },
  {
    version: 2,
    name: 'invites remember when they were mailed',
    sql: `
      -- set when the invite's link was handed to the mailer (SMTP accepted it, or its .eml
      -- was written); "send to the unsent" picks attendees none of whose invites has it
      ALTER TABLE invites ADD COLUMN mailed_at TEXT;
    `,
  },
  {
    version: 3,
    name: 'stack states queued and cancelled (src/contract/stacks.ts)',
    rebuildsTables: true,
    sql: `
      CREATE TABLE stacks_new (
        id             TEXT PRIMARY KEY,
        attendee_id    TEXT NOT NULL UNIQUE REFERENCES attendees(id) ON DELETE CASCADE,
        workshop_id    TEXT NOT NULL REFERENCES workshops(id) ON DELETE CASCADE,
        name           TEXT NOT NULL UNIQUE,
        provider       TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('pending','queued','provisioning','ready','failed','cancelled','destroying','destroyed')),
        status_message TEXT,
        desired        TEXT CHECK (desired IN ('ready', 'destroyed')),
        attempts       INTEGER NOT NULL DEFAULT 0,
        keys_sealed    TEXT,
        connection     TEXT,
        secrets_sealed TEXT,
        handle         TEXT,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL
      );
      -- What used to be told apart by its message only: a pending stack waiting to be built
      -- (desired = 'ready') is queued, and one whose build was cancelled is cancelled.
      INSERT INTO stacks_new SELECT id, attendee_id, workshop_id, name, provider,
        CASE
          WHEN status = 'pending' AND status_message = 'Cancelled by the organizer.' THEN 'cancelled'
          WHEN status = 'pending' AND desired = 'ready' THEN 'queued'
          ELSE status
        END,
        status_message, desired, attempts, keys_sealed, connection, secrets_sealed, handle, created_at, updated_at
      FROM stacks;
      DROP TABLE stacks;
      ALTER TABLE stacks_new RENAME TO stacks;
      CREATE INDEX stacks_workshop ON stacks (workshop_id);
    `,
  },
];

export class DatabaseTooNewError extends Error {
  override name = 'DatabaseTooNewError';
}

export function openDatabase(file: string, list: Migration[] = migrations): Db {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    // WAL's recommended durability: a commit survives a crash of the service and the file is
    // never corrupted; only an OS crash or power cut may lose the last commits. FULL (the
    // default) fsyncs every commit: one per sign-in, most of a sign-in's cost (bench/README.md).
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, list);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Applies the migrations newer than the database, each in its own transaction. Returns the versions applied. */
export function migrate(db: Db, list: Migration[] = migrations): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  const current = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  const latest = Math.max(0, ...list.map((m) => m.version));
  if (current > latest) {
    throw new DatabaseTooNewError(
      `The database is at schema version ${current}, newer than this organizer understands (${latest}); run a newer organizer.`,
    );
  }
  const applied: number[] = [];
  for (const m of [...list].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
    if (m.rebuildsTables) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(m.sql);
        if (m.rebuildsTables) {
          const broken = db.pragma('foreign_key_check') as unknown[];
          if (broken.length) throw new Error(`migration ${m.version} (${m.name}) breaks ${broken.length} foreign key(s)`);
        }
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          m.version,
          m.name,
          new Date().toISOString(),
        );
      })();
    } finally {
      if (m.rebuildsTables) db.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
    }
    applied.push(m.version);
  }
  return applied;
}
