/**
 * The organizer service: `startOrganizer()` opens the database, checks the secret key,
 * sets up the organizer token, starts the stack service (reconciling what an earlier run
 * left) and serves the API.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { openDatabase, type Db } from './db';
import { Mailer, smtpFromEnv, type MailSettings, type SmtpSettings } from './mail';
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
/**
 * A flood guard on all sign-ins from one address, not a guessing guard (that is the failure
 * limit): a 500-person room behind one NAT signs in within a minute, some twice. A sign-in costs
 * the service about 0.2 ms, so 2,000 a minute is under 1% of a core.
 */
export const DEFAULT_REDEEM_RATE_LIMIT: RateLimitOptions = { max: 2000, timeWindowMs: 60_000 };
export const DEFAULT_SIGN_IN_FAILURE_LIMIT: SignInLimitOptions = { max: 10, timeWindowMs: 10 * 60_000 };
export const DATABASE_FILE = 'organizer.db';
export const OUTBOX_DIR = 'outbox';
export const DEFAULT_MAIL_FROM = 'Open Kitchen <noreply@localhost>';

/**
 * Rehearsal knob: `OPEN_KITCHEN_INJECT_FAILURES=<n>` makes the first n provision attempts of
 * this organizer process fail with a transient (retryable) error before the provider is
 * called, so an organizer can watch retries and backoff happen before the real workshop.
 * Off unless set; a value that is not a whole number stops the start.
 */
export const INJECT_FAILURES_ENV = 'OPEN_KITCHEN_INJECT_FAILURES';

/** Mail settings; every field has a default (see OrganizerOptions.mail). */
export interface OrganizerMailOptions {
  from?: string;
  /** SMTP server; null = always write `.eml` files to the outbox, even when OPEN_KITCHEN_SMTP_HOST is set. */
  smtp?: SmtpSettings | null;
  outboxDir?: string;
  vsixUrl?: string;
}

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
  /**
   * Invite mail. Defaults: from OPEN_KITCHEN_MAIL_FROM or `Open Kitchen <noreply@localhost>`;
   * SMTP from OPEN_KITCHEN_SMTP_* (see mail.ts), else `.eml` files in `<dataDir>/outbox`;
   * the .vsix download link from OPEN_KITCHEN_VSIX_URL.
   */
  mail?: OrganizerMailOptions;
  /** Interval of `: ping` comments on event streams (default 15 s). */
  eventPingMs?: number;
  /** Environment to read the token, key, mail settings and OPEN_KITCHEN_INJECT_FAILURES from; defaults to process.env. */
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

/** Reads OPEN_KITCHEN_INJECT_FAILURES: 0 when unset. */
export function injectedFailures(env: NodeJS.ProcessEnv): number {
  const raw = env[INJECT_FAILURES_ENV];
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${INJECT_FAILURES_ENV} must be a whole number of provision attempts to fail, not "${raw}"`);
  }
  return n;
}

/** Wraps the providers so the first `count` provision attempts fail with a retryable error (see INJECT_FAILURES_ENV). */
export function withInjectedFailures(factory: ProviderFactory, count: number, log?: (m: string) => void): ProviderFactory {
  let injected = 0;
  return async (name, opts) => {
    const provider = await factory(name, opts);
    return {
      name: provider.name,
      preflight: (topology, n) => provider.preflight(topology, n),
      destroy: (spec, handle, onProgress) => provider.destroy(spec, handle, onProgress),
      check: (spec, handle) => provider.check(spec, handle),
      provision: async (spec, keys, onProgress, signal) => {
        if (injected < count) {
          injected++;
          log?.(`injecting failure ${injected} of ${count} into the build of ${spec.name} (${INJECT_FAILURES_ENV})`);
          throw new Error(`injected failure ${injected} of ${count} (${INJECT_FAILURES_ENV}), a stand-in for a transient provider error`);
        }
        return provider.provision(spec, keys, onProgress, signal);
      },
    };
  };
}

function mailSettings(opts: OrganizerOptions, env: NodeJS.ProcessEnv): MailSettings {
  const m = opts.mail ?? {};
  return {
    from: m.from ?? (env.OPEN_KITCHEN_MAIL_FROM || DEFAULT_MAIL_FROM),
    smtp: m.smtp === null ? undefined : (m.smtp ?? smtpFromEnv(env)),
    outboxDir: m.outboxDir ?? path.join(opts.dataDir, OUTBOX_DIR),
    vsixUrl: m.vsixUrl ?? (env.OPEN_KITCHEN_VSIX_URL || undefined),
  };
}

export async function startOrganizer(opts: OrganizerOptions): Promise<Organizer> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? (() => new Date());
  // Before touching anything: without a key no secret could be stored or read.
  const secretKey = opts.secretKey ?? resolveSecretKey({ env });
  const box = new SecretBox(secretKey);
  // Settings mistakes stop the start here, before anything is opened.
  const failures = injectedFailures(env);
  const mail = mailSettings(opts, env);

  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const dbFile = opts.dbFile ?? path.join(opts.dataDir, DATABASE_FILE);
  const db: Db = openDatabase(dbFile);
  let stacks: StackService | undefined;
  let app: FastifyInstance | undefined;
  const mailer = new Mailer(mail);
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
      providerFactory: failures
        ? withInjectedFailures(opts.providers ?? defaultProviders, failures, opts.log)
        : (opts.providers ?? defaultProviders),
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
      mailer,
      eventPingMs: opts.eventPingMs,
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
          mailer.close();
          db.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await app?.close().catch(() => undefined);
    await stacks?.close().catch(() => undefined);
    mailer.close();
    db.close();
    throw err;
  }
}
