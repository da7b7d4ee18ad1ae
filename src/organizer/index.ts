/**
 * The organizer service: `startOrganizer()` opens the database, checks the secret key,
 * sets up the organizer token, starts the stack service (reconciling what an earlier run
 * left) and serves the API.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { openDatabase, type Db } from './db';
import { SecretBox, resolveSecretKey } from './secrets';
import { buildApp, type RateLimitOptions } from './server';
import type { SignInLimitOptions } from './signinlimit';
import { StackService, type KeyGenerator, type ProviderFactory, type ReconcileReport, type RetryPolicy } from './stacks';
import { Store } from './store';

export { SecretKeyError, KEYGEN_HINT, writeNewSecretKeyFile, resolveSecretKey, parseSecretKey } from './secrets';
export { LOST_AFTER_RESTART, StackService } from './stacks';
export type { KeyGenerator, ProviderFactory, ReconcileReport, RetryPolicy, StackChange } from './stacks';
export { migrations, openDatabase } from './db';
export { Store } from './store';

export const DEFAULT_SESSION_TTL_MS = 14 * 24 * 3600_000;
export const DEFAULT_REDEEM_RATE_LIMIT: RateLimitOptions = { max: 300, timeWindowMs: 60_000 };
export const DEFAULT_SIGN_IN_FAILURE_LIMIT: SignInLimitOptions = { max: 10, timeWindowMs: 10 * 60_000 };
export const DATABASE_FILE = 'organizer.db';

export interface OrganizerOptions {
  /** Folder for the database and the providers' per-stack state. Created if missing. */
  dataDir: string;
  /** Defaults to `<dataDir>/organizer.db`. */
  dbFile?: string;
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Defaults to 0 (a free port). */
  port?: number;
  /** Base URL attendees reach the API at (e.g. behind a TLS proxy); defaults to the listening URL. */
  publicUrl?: string;
  /** Replaces the stored organizer token; else OPEN_KITCHEN_ORGANIZER_TOKEN; else one is created on first start. */
  organizerToken?: string;
  /** 32 bytes; else taken from OPEN_KITCHEN_SECRET_KEY / OPEN_KITCHEN_SECRET_KEY_FILE; else start fails. */
  secretKey?: Buffer;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Provider factory; defaults to `createProvider` of ./providers. */
  providers?: ProviderFactory;
  /** Defaults to `generateStackKeys` of ./providers/keys. */
  generateKeys?: KeyGenerator;
  /** Stacks built at once (default 4). */
  concurrency?: number;
  retry?: RetryPolicy;
  checkTimeoutMs?: number;
  sessionTtlMs?: number;
  /** Cap on all sign-in requests per client address (default 300 a minute: a whole room behind one NAT). */
  redeemRateLimit?: RateLimitOptions;
  /** Failed sign-in attempts per client address (default 10 in 10 minutes). */
  signInFailureLimit?: SignInLimitOptions;
  /** Honour X-Forwarded-For (behind a proxy) for rate limiting. */
  trustProxy?: boolean;
  /** Clock for expiry decisions (tests). */
  now?: () => Date;
  /** Fastify's logger (pino options, or true); off by default. */
  logger?: FastifyServerOptions['logger'];
  /** Messages from background work. */
  log?: (message: string) => void;
  /** Environment to read the token and key from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface Organizer {
  /** Where the API listens, e.g. `http://127.0.0.1:43121`. */
  url: string;
  publicUrl: string;
  /** The organizer token when it was given or created now; null when only its hash is stored. */
  organizerToken: string | null;
  /** True when the token was created by this start (print it: it is not shown again). */
  organizerTokenCreated: boolean;
  dbFile: string;
  store: Store;
  stacks: StackService;
  /** Settles when the restart checks of ready stacks are done. */
  reconciled: Promise<ReconcileReport>;
  app: FastifyInstance;
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

const defaultProviders: ProviderFactory = async (name, opts) => {
  const { createProvider } = await import('./providers');
  return createProvider(name as Parameters<typeof createProvider>[0], opts);
};

const defaultKeys: KeyGenerator = async () => (await import('./providers/keys')).generateStackKeys();

export async function startOrganizer(opts: OrganizerOptions): Promise<Organizer> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? (() => new Date());
  // Before touching anything: without a key no secret could be stored or read.
  const secretKey = opts.secretKey ?? resolveSecretKey({ env });
  const box = new SecretBox(secretKey);

  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const dbFile = opts.dbFile ?? path.join(opts.dataDir, DATABASE_FILE);
  const db: Db = openDatabase(dbFile);
  let stacks: StackService | undefined;
  let app: FastifyInstance | undefined;
  try {
    const store = new Store(db, box, {
      now,
      sessionTtlMs: opts.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
    });
    store.verifySecretKey();
    const given = opts.organizerToken ?? (env.OPEN_KITCHEN_ORGANIZER_TOKEN || undefined);
    const { created } = store.ensureOrganizerToken(given);

    stacks = new StackService({
      store,
      dataDir: opts.dataDir,
      providerFactory: opts.providers ?? defaultProviders,
      generateKeys: opts.generateKeys ?? defaultKeys,
      concurrency: opts.concurrency,
      retry: opts.retry,
      checkTimeoutMs: opts.checkTimeoutMs,
      log: opts.log,
    });
    const service = stacks;
    // Started before listening: its synchronous part re-queues interrupted work before any request arrives.
    const reconciled = stacks.reconcile();
    reconciled.catch((err: Error) => opts.log?.(`reconcile failed: ${err.message}`));

    let publicUrl = opts.publicUrl?.replace(/\/+$/, '') ?? '';
    app = await buildApp({
      store,
      stacks,
      publicUrl: () => publicUrl,
      redeemRateLimit: opts.redeemRateLimit ?? DEFAULT_REDEEM_RATE_LIMIT,
      signInFailureLimit: opts.signInFailureLimit ?? DEFAULT_SIGN_IN_FAILURE_LIMIT,
      now: () => now().getTime(),
      https: opts.tls,
      trustProxy: opts.trustProxy,
      logger: opts.logger,
    });
    const host = opts.host ?? '127.0.0.1';
    await app.listen({ host, port: opts.port ?? 0 });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
    const url = `${opts.tls ? 'https' : 'http'}://${hostForUrl(host)}:${port}`;
    if (!publicUrl) publicUrl = url;

    const server = app;
    let closing: Promise<void> | undefined;
    return {
      url,
      publicUrl,
      organizerToken: given ?? created,
      organizerTokenCreated: created !== null,
      dbFile,
      store,
      stacks,
      reconciled,
      app,
      close() {
        closing ??= (async () => {
          await server.close();
          await service.close();
          await reconciled.catch(() => undefined);
          db.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await app?.close().catch(() => undefined);
    await stacks?.close().catch(() => undefined);
    db.close();
    throw err;
  }
}
