/**
 * Tokens and secrets at rest.
 *
 * Tokens (invites, sessions, the organizer token) are 256-bit random strings; the database
 * only ever sees their SHA-256, so a copy of the database cannot be used to sign in.
 * Secrets the organizer must give back later (attendee SSH keys, ACL tokens) are sealed
 * with AES-256-GCM under a key the organizer supplies; the row they belong to is bound in
 * as associated data so a sealed value cannot be moved to another row.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';

export const SECRET_KEY_BYTES = 32;

/** Prefixes make a leaked token recognisable (e.g. by secret scanners) without weakening it. */
export type TokenKind = 'invite' | 'session' | 'organizer';
const TOKEN_PREFIX: Record<TokenKind, string> = { invite: 'oki_', session: 'oks_', organizer: 'oko_' };

export function newToken(kind: TokenKind): string {
  return TOKEN_PREFIX[kind] + crypto.randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex hashes. */
export function hashesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}

export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomBytes(9).toString('base64url')}`;
}

export const KEYGEN_HINT = [
  'Make a secret key once and keep it safe (without it the stored SSH keys cannot be read back):',
  '  node dist/organizer.js keygen --out organizer.key',
  'then start the service with one of:',
  '  node dist/organizer.js serve --secret-key-file organizer.key',
  '  OPEN_KITCHEN_SECRET_KEY_FILE=organizer.key node dist/organizer.js serve',
  '  OPEN_KITCHEN_SECRET_KEY=<base64 of 32 random bytes> node dist/organizer.js serve',
].join('\n');

export class SecretKeyError extends Error {
  override name = 'SecretKeyError';
}

/** Parses a key given as base64 (standard or url-safe) text; surrounding whitespace is ignored. */
export function parseSecretKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    throw new SecretKeyError(`The secret key from ${source} is not base64 text.\n${KEYGEN_HINT}`);
  }
  const key = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
  if (key.length !== SECRET_KEY_BYTES) {
    throw new SecretKeyError(
      `The secret key from ${source} is ${key.length} bytes; it must be ${SECRET_KEY_BYTES} bytes (AES-256).\n${KEYGEN_HINT}`,
    );
  }
  return key;
}

export function readSecretKeyFile(file: string): Buffer {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new SecretKeyError(`Cannot read the secret key file ${file}: ${(err as Error).message}\n${KEYGEN_HINT}`);
  }
  return parseSecretKey(text, file);
}

/**
 * Finds the secret key: an explicit file first, then OPEN_KITCHEN_SECRET_KEY (base64),
 * then OPEN_KITCHEN_SECRET_KEY_FILE. Throws a SecretKeyError saying how to make one.
 */
export function resolveSecretKey(opts: { file?: string; env: NodeJS.ProcessEnv }): Buffer {
  if (opts.file) return readSecretKeyFile(opts.file);
  const inline = opts.env.OPEN_KITCHEN_SECRET_KEY;
  if (inline) return parseSecretKey(inline, 'OPEN_KITCHEN_SECRET_KEY');
  const file = opts.env.OPEN_KITCHEN_SECRET_KEY_FILE;
  if (file) return readSecretKeyFile(file);
  throw new SecretKeyError(
    `No secret key: the organizer service encrypts attendee SSH keys at rest and refuses to start without one.\n${KEYGEN_HINT}`,
  );
}

/** Writes a fresh key as base64 to `file` (mode 0600); never overwrites an existing key. */
export function writeNewSecretKeyFile(file: string): void {
  const key = crypto.randomBytes(SECRET_KEY_BYTES).toString('base64');
  // 'wx' fails if the file exists: overwriting a key would make every stored secret unreadable.
  fs.writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
}

const SEAL_VERSION = 'v1';

/** AES-256-GCM with a random 96-bit nonce; output `v1.<base64url(nonce|tag|ciphertext)>`. */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES) throw new SecretKeyError(`secret key must be ${SECRET_KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
  }

  seal(plaintext: string, context: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${SEAL_VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  /** Throws when the key is wrong, the data was altered, or it belongs to another context. */
  open(sealed: string, context: string): string {
    const [version, payload] = sealed.split('.', 2);
    if (version !== SEAL_VERSION || !payload) throw new Error('not a sealed value');
    const raw = Buffer.from(payload, 'base64url');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}
