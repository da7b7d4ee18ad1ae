/**
 * The organizer's building blocks without HTTP: sealing secrets, reading keys, migrations,
 * and roster CSV parsing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { migrate, migrations, openDatabase } from '../../src/organizer/db';
import { parseRosterCsv } from '../../src/organizerClient';
import { hashToken, newToken, parseSecretKey, resolveSecretKey, SecretBox } from '../../src/organizer/secrets';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-orgunit-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test('sealed secrets open only with the same key and the same context', () => {
  const box = new SecretBox(crypto.randomBytes(32));
  const sealed = box.seal('-----BEGIN OPENSSH PRIVATE KEY-----', 'stack:a:secrets');
  assert.match(sealed, /^v1\.[A-Za-z0-9_-]+$/);
  assert.ok(!sealed.includes('OPENSSH'));
  assert.notEqual(box.seal('same', 'c'), box.seal('same', 'c'), 'a fresh nonce every time');
  assert.equal(box.open(sealed, 'stack:a:secrets'), '-----BEGIN OPENSSH PRIVATE KEY-----');
  assert.throws(() => box.open(sealed, 'stack:b:secrets'), 'bound to its row');
  assert.throws(() => new SecretBox(crypto.randomBytes(32)).open(sealed, 'stack:a:secrets'), 'wrong key');
  const raw = Buffer.from(sealed.slice(3), 'base64url');
  raw[raw.length - 1] ^= 1;
  assert.throws(() => box.open('v1.' + raw.toString('base64url'), 'stack:a:secrets'), 'tampering is detected');
});

test('tokens carry 256 random bits and are stored as SHA-256 hex', () => {
  const t = newToken('session');
  assert.match(t, /^oks_[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(t.slice(4), 'base64url').length, 32);
  assert.notEqual(newToken('session'), t);
  assert.match(hashToken(t), /^[0-9a-f]{64}$/);
});

test('secret keys must be 32 bytes of base64, and a missing key says how to make one', () => {
  const key = crypto.randomBytes(32);
  assert.deepEqual(parseSecretKey(key.toString('base64') + '\n', 'test'), key);
  assert.deepEqual(parseSecretKey(key.toString('base64url'), 'test'), key);
  assert.throws(() => parseSecretKey('not base64!', 'KEYVAR'), /from KEYVAR is not base64/);
  assert.throws(() => parseSecretKey(crypto.randomBytes(16).toString('base64'), 'f'), /16 bytes; it must be 32/);
  assert.throws(() => resolveSecretKey({ env: {} }), /keygen --out organizer\.key/);
  assert.throws(() => resolveSecretKey({ env: { OPEN_KITCHEN_SECRET_KEY_FILE: '/nonexistent/key' } }), /Cannot read the secret key file/);
  assert.deepEqual(resolveSecretKey({ env: { OPEN_KITCHEN_SECRET_KEY: key.toString('base64') } }), key);
});

test('migrations run once, in order, and a database from a newer organizer is refused', (t) => {
  const file = path.join(tempDir(t), 'm.db');
  const db = openDatabase(file);
  const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
  assert.deepEqual(versions.map((v) => v.version), migrations.map((m) => m.version));
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.deepEqual(migrate(db), [], 'nothing to do the second time');
  const next = [...migrations, { version: 99, name: 'later', sql: 'CREATE TABLE later (x INTEGER)' }];
  assert.deepEqual(migrate(db, next), [99]);
  db.close();
  assert.throws(() => openDatabase(file), /schema version 99, newer than this organizer understands/);
});

test('a roster CSV yields good rows and reports bad ones with their line numbers', () => {
  const csv = [
    'Name,Email,Team',
    'Ada Lovelace,ada@example.com,red',
    'No Mail,,blue',
    '',
    '"Hopper, Grace",grace@example.com,',
    'Bad,not-an-email,',
  ].join('\n');
  const { rows, problems } = parseRosterCsv(csv);
  assert.deepEqual(rows, [
    { line: 2, input: { email: 'ada@example.com', name: 'Ada Lovelace', team: 'red' } },
    { line: 5, input: { email: 'grace@example.com', name: 'Hopper, Grace' } },
  ]);
  assert.deepEqual(problems, [
    { line: 3, email: null, reason: 'email: not a valid email address' },
    { line: 6, email: 'not-an-email', reason: 'email: not a valid email address' },
  ]);
  assert.match(parseRosterCsv('mail,who\nx@y.z,X').problems[0].reason, /header must name the columns "email" and "name"/);
});
