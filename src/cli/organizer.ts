/**
 * `node dist/organizer.js` — runs the organizer service, makes its secret key, and drives
 * a running service headlessly (workshops, roster, invites, stacks): the same operations as
 * the organizer commands in VS Code, for scripts and terminals over SSH.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { type AttendeeSummary, type Workshop, type StackSummary, type WorkshopEvent } from '../contract';
import { Backoff, sleep } from '../common/backoff';
import { Emitter } from '../common/events';
import { ApiUnreachableError, buildImportReport, followRun, OrganizerApi, OrganizerApiError, parseRosterCsv, StackRun, type RunKind } from '../organizerClient';
import { readSecretKeyFile, resolveSecretKey, SecretKeyError, writeNewSecretKeyFile } from '../organizer/secrets';
import {
  formatImportReport,
  formatPreflight,
  formatRunResult,
  formatSendInvites,
  formatStackLine,
  formatStacks,
  formatTable,
  renderProgress,
  type AttendeeNames,
} from './format';

const DEFAULT_PORT = 7411;
const DEFAULT_DATA_DIR = 'organizer-data';

/** Exit codes scripts can tell apart. */
const EXIT = {
  ok: 0,
  /** The API refused, could not be reached, or something else went wrong. */
  error: 1,
  /** `attendees import`: some rows were not imported (the good ones were). */
  rejected: 2,
  /** `stacks … --wait`, `invites send`: some stacks failed or some mails could not be sent. */
  partial: 3,
  /** Bad command line, or a confirmation that was needed and not given. */
  usage: 64,
  /** Ctrl+C. */
  interrupted: 130,
} as const;

const COMMON_HELP = `Headless commands talk to a running service:
  --api URL              the organizer API (default http://127.0.0.1:${DEFAULT_PORT}, or OPEN_KITCHEN_API_URL)
  --token T              the organizer token (or OPEN_KITCHEN_ORGANIZER_TOKEN)
  --json                 machine-readable output (NDJSON events with --wait)
  --workshop W           the workshop's name or id
Attendees (--attendee) are given by id or by email.`;

const SERVE_HELP = `serve options:
  --host H               address to listen on (default 127.0.0.1)
  --port N               port (default ${DEFAULT_PORT}; 0 picks a free one)
  --data-dir D           database and stack state (default ./${DEFAULT_DATA_DIR}, or OPEN_KITCHEN_DATA_DIR)
  --public-url U         base URL attendees use, put into invite links (default: the listening URL)
  --secret-key-file F    key that encrypts secrets at rest (or OPEN_KITCHEN_SECRET_KEY_FILE,
                         or OPEN_KITCHEN_SECRET_KEY=<base64>); required
  --tls-cert F --tls-key F   serve HTTPS with this certificate and key (PEM)
  --trust-proxy          behind a TLS proxy: take the client address from X-Forwarded-For
  --concurrency N        stacks built at once (default 4)
  --verbose              log every request

  Invite mail (without an SMTP host, invites are written as .eml files to the outbox):
  --smtp-host H          SMTP server (or OPEN_KITCHEN_SMTP_HOST)
  --smtp-port N          its port (default 587, or 465 with --smtp-secure; or OPEN_KITCHEN_SMTP_PORT)
  --smtp-secure          implicit TLS (port 465); otherwise STARTTLS when offered (or OPEN_KITCHEN_SMTP_SECURE=1)
  --smtp-user U          SMTP login (or OPEN_KITCHEN_SMTP_USER); the password only from
                         OPEN_KITCHEN_SMTP_PASS, never on the command line
  --mail-from ADDR       sender of invites (or OPEN_KITCHEN_MAIL_FROM)
  --outbox DIR           folder for .eml files (default <data-dir>/outbox)

  The organizer token comes from OPEN_KITCHEN_ORGANIZER_TOKEN, or is created on the first
  start and printed once (only its hash is stored).`;

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean };

interface Ctx {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  json: boolean;
  client: OrganizerApi;
  api: string;
  token: string;
  workshop(): string;
  /** Attendees of the workshop (fetched once). */
  attendees(): Promise<AttendeeSummary[]>;
  /** `--attendee` values as ids (emails looked up), or undefined when none were given. */
  attendeeIds(): Promise<string[] | undefined>;
}

interface Command {
  /** `stacks provision` */
  name: string;
  synopsis: string;
  about: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments it takes (names, for the usage line). */
  positionals?: string[];
  run(ctx: Ctx): Promise<number>;
}

class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to show; null: the general usage. */
    readonly command: Command | null = null,
  ) {
    super(message);
  }
}

/** Refused for the user's safety (a confirmation is missing); exit 64 without the usage text. */
class Refusal extends Error {}

const attendeeOpt: OptionSpec = { type: 'string', multiple: true };

const COMMANDS: Command[] = [
  {
    name: 'workshop create',
    synopsis: 'workshop create --name NAME --title TITLE [--provider local|terraform-gce]',
    about: 'Creates a workshop. NAME is 2-41 lowercase letters, digits or dashes; it is what you type to confirm a destroy.',
    options: { name: { type: 'string' }, title: { type: 'string' }, provider: { type: 'string' } },
    async run(ctx) {
      const name = ctx.values.name as string | undefined;
      const title = ctx.values.title as string | undefined;
      const provider = ctx.values.provider as string | undefined;
      if (!name || !title) throw new UsageError('workshop create needs --name and --title', this);
      if (provider !== undefined && provider !== 'local' && provider !== 'terraform-gce') {
        throw new UsageError(`--provider must be local or terraform-gce, not "${provider}"`, this);
      }
      const w = await ctx.client.createWorkshop({ name, title, ...(provider ? { provider } : {}) });
      out(ctx, `Created workshop ${w.name} (${w.id}), provider ${w.provider}`, w);
      return EXIT.ok;
    },
  },
  {
    name: 'workshop list',
    synopsis: 'workshop list [--json]',
    about: 'Lists the workshops with their provider.',
    options: {},
    async run(ctx) {
      const { workshops } = await ctx.client.listWorkshops();
      const text = workshops.length
        ? formatTable(['NAME', 'ID', 'PROVIDER', 'TITLE'], workshops.map((w) => [w.name, w.id, w.provider, w.title]))
        : 'No workshops yet: `workshop create` makes one.';
      out(ctx, text, { workshops });
      return EXIT.ok;
    },
  },
  {
    name: 'attendees import',
    synopsis: 'attendees import ROSTER.csv --workshop W [--json]',
    about: [
      'Imports a roster: a CSV file with a header naming the columns email, name and optionally team',
      '(any order). Good rows are imported; each bad row (invalid email, missing name, duplicate) is',
      `reported with its line number. Exits ${EXIT.rejected} when some rows were not imported.`,
    ].join('\n'),
    options: { csv: { type: 'string' } },
    positionals: ['ROSTER.csv'],
    async run(ctx) {
      const workshop = ctx.workshop();
      const file = ctx.positionals[0] ?? (ctx.values.csv as string | undefined);
      if (!file) throw new UsageError('attendees import needs the roster file: attendees import ROSTER.csv --workshop W', this);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read the roster ${file}: ${(err as Error).message}`, this);
      }
      const parsed = parseRosterCsv(text);
      const result = parsed.rows.length ? await ctx.client.importAttendees(workshop, parsed.rows.map((r) => r.input)) : null;
      const report = buildImportReport(parsed, result);
      out(ctx, formatImportReport(report), report);
      return report.rejected.length ? EXIT.rejected : EXIT.ok;
    },
  },
  {
    name: 'attendees list',
    synopsis: 'attendees list --workshop W [--json]',
    about: 'Lists the attendees with their stack status, invite status and when they were last seen.',
    options: {},
    async run(ctx) {
      const attendees = await ctx.attendees();
      const lines = attendees.map(
        (a) => `${a.email.padEnd(32)} ${(a.stack?.status ?? '-').padEnd(12)} invite ${a.invite.status.padEnd(8)} ${a.lastSeenAt ?? 'never seen'}`,
      );
      out(ctx, lines.join('\n') || 'No attendees yet: `attendees import` adds them.', { attendees });
      return EXIT.ok;
    },
  },
  {
    name: 'invites create',
    synopsis: 'invites create --workshop W [--attendee ID ...] [--ttl-hours N] [--json]',
    about: 'Creates sign-in links (without mailing them) for the attendees given, or for everyone without a valid invite.',
    options: { attendee: attendeeOpt, 'ttl-hours': { type: 'string' } },
    async run(ctx) {
      const ttlHours = ttlOption(ctx, this);
      const attendeeIds = await ctx.attendeeIds();
      const { invites } = await ctx.client.createInvites(ctx.workshop(), {
        ...(attendeeIds ? { attendeeIds } : {}),
        ...(ttlHours !== undefined ? { ttlHours } : {}),
      });
      const lines = invites.map((i) => `${i.email}\n  ${i.link}\n  expires ${i.expiresAt}`);
      out(ctx, lines.join('\n') || 'Everyone already has a valid invite.', { invites });
      return EXIT.ok;
    },
  },
  {
    name: 'invites send',
    synopsis: 'invites send --workshop W [--attendee ID ...] [--unopened] [--ttl-hours N] [--json]',
    about: [
      'Mails each attendee a fresh sign-in link with instructions: by default everyone never mailed;',
      '--unopened: everyone who has not signed in yet (a reminder); --attendee: those given (a resend).',
      'Goes over SMTP when `serve` has an SMTP host, else the mails are written as .eml files to its outbox.',
      `Exits ${EXIT.partial} when some mails could not be sent.`,
    ].join('\n'),
    options: { attendee: attendeeOpt, unopened: { type: 'boolean' }, 'ttl-hours': { type: 'string' } },
    async run(ctx) {
      const ttlHours = ttlOption(ctx, this);
      const attendeeIds = await ctx.attendeeIds();
      if (attendeeIds && ctx.values.unopened) throw new UsageError('--unopened and --attendee do not go together', this);
      const res = await ctx.client.sendInvites(ctx.workshop(), {
        ...(attendeeIds ? { attendeeIds } : { which: ctx.values.unopened ? 'unopened' : 'unsent' }),
        ...(ttlHours !== undefined ? { ttlHours } : {}),
      });
      out(ctx, formatSendInvites(res), res);
      return res.failed.length ? EXIT.partial : EXIT.ok;
    },
  },
  {
    name: 'stacks preflight',
    synopsis: 'stacks preflight --workshop W [--json]',
    about: 'Shows what provisioning the stacks not yet ready would create, checked against the quotas the provider can read.',
    options: {},
    async run(ctx) {
      const p = await ctx.client.preflight(ctx.workshop());
      out(ctx, formatPreflight(p), p);
      return p.ok ? EXIT.ok : EXIT.error;
    },
  },
  {
    name: 'stacks provision',
    synopsis: 'stacks provision --workshop W [--attendee ID ...] [--yes] [--force] [--wait] [--json]',
    about: [
      'Builds the stacks that are not ready (or those of the attendees given). Shows the pre-flight',
      'numbers first and asks to confirm; --yes confirms (needed without a terminal). --force goes on',
      'although the pre-flight found problems. The work runs in the service; --wait follows it until',
      `every stack is ready or failed (Ctrl+C cancels the builds) and exits ${EXIT.partial} when some failed.`,
    ].join('\n'),
    options: { attendee: attendeeOpt, yes: { type: 'boolean' }, force: { type: 'boolean' }, wait: { type: 'boolean' } },
    async run(ctx) {
      const workshop = ctx.workshop();
      const attendeeIds = await ctx.attendeeIds();
      const p = await ctx.client.preflight(workshop);
      const count = attendeeIds ? attendeeIds.length : p.stacks;
      if (ctx.json) {
        if (ctx.values.wait) emit({ type: 'preflight', ...p });
      } else {
        process.stderr.write(formatPreflight(p) + '\n\n');
      }
      if (!attendeeIds && p.stacks === 0) {
        const msg = `Nothing to provision: all ${p.ready} stacks of ${workshop} are ready.`;
        if (ctx.json && ctx.values.wait) emit({ type: 'result', op: 'provision', ok: true, elapsedMs: 0, stacks: [], failed: [] });
        else out(ctx, msg, { preflight: p, stacks: [] });
        return EXIT.ok;
      }
      if (!p.ok && !ctx.values.force) {
        throw new Refusal(`The pre-flight found problems (listed above); fix them, or pass --force to provision anyway.`);
      }
      const what = attendeeIds ? `the stacks of ${count} attendee${count === 1 ? '' : 's'}` : `${count} stack${count === 1 ? '' : 's'}`;
      await confirm(ctx, `Provision ${what} for workshop ${workshop}?`, 'provision');
      return runStacks(ctx, 'provision', attendeeIds, () => ctx.client.provisionStacks(workshop, attendeeIds), p);
    },
  },
  {
    name: 'stacks destroy',
    synopsis: 'stacks destroy --workshop W (--attendee ID ... | --confirm WORKSHOP-NAME) [--wait] [--json]',
    about: [
      'Tears stacks down. All of them: type the workshop name when asked, or pass --confirm with it',
      '(needed without a terminal). --attendee destroys only those, without asking. --wait follows',
      `the teardown until it ends and exits ${EXIT.partial} when some stacks failed to go away.`,
    ].join('\n'),
    options: { attendee: attendeeOpt, confirm: { type: 'string' }, wait: { type: 'boolean' } },
    async run(ctx) {
      const workshop = ctx.workshop();
      const attendeeIds = await ctx.attendeeIds();
      if (!attendeeIds) {
        const w = await getWorkshop(ctx, workshop);
        const given = ctx.values.confirm as string | undefined;
        if (given !== undefined) {
          if (given !== w.name) throw new Refusal(`--confirm "${given}" is not the workshop's name "${w.name}"; nothing destroyed.`);
        } else if (isInteractive()) {
          const typed = await ask(`This destroys every stack of workshop ${w.name}. Type the workshop name to go on: `);
          if (typed.trim() !== w.name) throw new Refusal(`"${typed.trim()}" is not "${w.name}"; nothing destroyed.`);
        } else {
          throw new Refusal(`Destroying every stack of ${w.name} needs confirmation: pass --confirm ${w.name} (or --attendee ID to destroy one).`);
        }
      } else if (ctx.values.confirm !== undefined) {
        throw new UsageError('--confirm is for destroying all stacks; --attendee needs none', this);
      }
      return runStacks(ctx, 'destroy', attendeeIds, () => ctx.client.destroyStacks(workshop, attendeeIds));
    },
  },
  {
    name: 'stacks cancel',
    synopsis: 'stacks cancel --workshop W [--attendee ID ...] [--wait] [--json]',
    about: 'Cancels provisioning: queued builds are unqueued, running ones are stopped and cleaned up. --wait follows the clean-up.',
    options: { attendee: attendeeOpt, wait: { type: 'boolean' } },
    async run(ctx) {
      const workshop = ctx.workshop();
      const attendeeIds = await ctx.attendeeIds();
      return runStacks(ctx, 'cancel', attendeeIds, () => ctx.client.cancelStacks(workshop, attendeeIds));
    },
  },
  {
    name: 'stacks list',
    synopsis: 'stacks list --workshop W [--json]',
    about: 'Lists the stacks with their status and its explanation.',
    options: {},
    async run(ctx) {
      const { stacks } = await ctx.client.listStacks(ctx.workshop());
      out(ctx, formatStacks(stacks, names(await ctx.attendees())), { stacks });
      return EXIT.ok;
    },
  },
];

const USAGE = `Open Kitchen organizer

Usage:
  node dist/organizer.js serve [options]        run the organizer API
  node dist/organizer.js keygen --out FILE      make a secret key (32 random bytes, base64, mode 0600)
  node dist/organizer.js help [COMMAND]         show this text, or one command's
${COMMANDS.map((c) => `  node dist/organizer.js ${c.synopsis}`).join('\n')}

${SERVE_HELP}

${COMMON_HELP}

Exit codes: 0 done; ${EXIT.error} error; ${EXIT.rejected} roster rows rejected; ${EXIT.partial} some stacks failed or mails not sent;
${EXIT.usage} bad command line or confirmation missing; ${EXIT.interrupted} interrupted (Ctrl+C).
`;

function commandHelp(c: Command): string {
  return `Usage: node dist/organizer.js ${c.synopsis}\n\n${c.about}\n\n${COMMON_HELP}\n`;
}

function fail(message: string, code: number = EXIT.error): never {
  process.stderr.write(message.endsWith('\n') ? message : message + '\n');
  process.exit(code);
}

function out(ctx: Pick<Ctx, 'json'>, human: string, data: unknown): void {
  process.stdout.write(ctx.json ? JSON.stringify(data, null, 2) + '\n' : human.endsWith('\n') ? human : human + '\n');
}

/** One NDJSON line (the --wait --json stream). */
function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function names(attendees: AttendeeSummary[]): AttendeeNames {
  return new Map(attendees.map((a) => [a.id, a.email]));
}

function ttlOption(ctx: Ctx, command: Command): number | undefined {
  const raw = ctx.values['ttl-hours'] as string | undefined;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 24 * 60) throw new UsageError(`--ttl-hours must be a number of hours from 1 to 1440, not "${raw}"`, command);
  return n;
}

/** Asking needs a person at a terminal: stdin to read the answer, stderr to show the question. */
function isInteractive(): boolean {
  return !!process.stdin.isTTY && !!process.stderr.isTTY;
}

async function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  rl.on('SIGINT', () => {
    rl.close();
    fail('\nInterrupted; nothing done.', EXIT.interrupted);
  });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

async function confirm(ctx: Ctx, question: string, what: string): Promise<void> {
  if (ctx.values.yes) return;
  if (!isInteractive()) {
    throw new Refusal(`Not a terminal, so I cannot ask before I ${what}: pass --yes to confirm.`);
  }
  const answer = (await ask(`${question} [y/N] `)).trim().toLowerCase();
  if (answer !== 'y' && answer !== 'yes') throw new Refusal('Not confirmed; nothing done.');
}

/** The workshop `ref` names (name or id), for the name a destroy is confirmed with. */
async function getWorkshop(ctx: Ctx, ref: string): Promise<Workshop> {
  const { workshops } = await ctx.client.listWorkshops();
  const w = workshops.find((x) => x.name === ref || x.id === ref);
  if (!w) throw new OrganizerApiError(`No workshop "${ref}".`, 404, 'not_found');
  return w;
}

/**
 * Sends the request of a run (provision, destroy, cancel) and, with --wait, follows its stacks
 * on the workshop's event stream until each one ended. The stream is opened first, so no
 * change between the request and the first event is missed.
 */
async function runStacks(
  ctx: Ctx,
  kind: RunKind,
  attendeeIds: string[] | undefined,
  request: () => Promise<{ stacks: StackSummary[] }>,
  preflight?: unknown,
): Promise<number> {
  const workshop = ctx.workshop();
  if (!ctx.values.wait) {
    const run = new StackRun(kind);
    const { stacks } = await request();
    run.start(stacks, attendeeIds);
    const table = formatStacks(stacks, names(await ctx.attendees()));
    const n = `${run.total} stack${run.total === 1 ? '' : 's'}`;
    const human =
      kind === 'cancel'
        ? `Cancelled the queued builds; ${n} still stopping and cleaning up (--wait follows that).\n\n${table}`
        : `${kind === 'provision' ? 'Queued for provisioning' : 'Queued for teardown'}: ${n}. Follow them with \`stacks list\` or --wait.\n\n${table}`;
    out(ctx, human, preflight ? { preflight, stacks } : { stacks });
    return EXIT.ok;
  }

  const who = names(await ctx.attendees());
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  const bar = !ctx.json && process.stderr.isTTY ? new ProgressLine(() => renderProgress({ ...current.view(), elapsedMs: elapsed() }, process.stderr.columns ?? 80)) : null;
  let current = new StackRun(kind);
  const controller = new AbortController();
  let snapshotSeen!: () => void;
  const firstSnapshot = new Promise<void>((resolve) => (snapshotSeen = resolve));
  // The workshop's stack changes as the run follows them (src/organizerClient/runs.ts), the
  // same way VS Code's progress notification does from its Organizer view.
  const feed = new Emitter<{ stack: StackSummary; live: boolean }>();
  const onEvent = (e: WorkshopEvent) => {
    // Attendee events (sign-ins, lab progress) are not about the run.
    const changes = e.type === 'snapshot' ? e.stacks : e.type === 'stack' ? [e.stack] : [];
    for (const stack of changes) feed.fire({ stack, live: e.type === 'stack' });
    if (e.type === 'snapshot') snapshotSeen();
  };
  const report = (s: StackSummary) => {
    if (ctx.json) emit({ type: 'stack', stack: s });
    else if (bar) {
      if (s.status === 'failed') bar.line(`${who.get(s.attendeeId) ?? s.attendeeId} failed: ${s.statusMessage ?? ''}`);
      else bar.draw();
    } else process.stdout.write(formatStackLine(s, who, elapsed()) + '\n');
  };
  const watching = follow(ctx, workshop, onEvent, controller.signal, () => current.done);
  watching.catch(() => undefined); // observed below
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) fail('\nInterrupted again: exiting without waiting.', EXIT.interrupted);
    interrupted = true;
    bar?.stop();
    void interrupt(ctx, current, workshop, attendeeIds).finally(() => process.exit(EXIT.interrupted));
  };
  const streamEnded = watching.then(() => Promise.reject(new Error('The event stream ended before it said anything.')));
  streamEnded.catch(() => undefined); // observed below
  let run: StackRun;
  try {
    await Promise.race([firstSnapshot, streamEnded]);
    const following = followRun({
      kind,
      feed: feed.event,
      attendeeIds,
      request: async () => (await request()).stacks,
      onChange: (r, s) => {
        current = r;
        if (s) return report(s);
        // Started: from here on Ctrl+C is about this run (before, the default ends the process:
        // nothing was asked yet). Taken before anything about the run is printed: whoever reads
        // that output may press Ctrl+C the moment it appears.
        process.on('SIGINT', onSigint);
        if (ctx.json) emit({ type: 'started', op: kind, stacks: r.stacks() });
        else if (!bar) process.stdout.write(`${r.view().title} ${r.total} stack${r.total === 1 ? '' : 's'} of ${workshop}.\n`);
        bar?.start();
      },
    });
    run = (await Promise.race([following, watching.then(() => following)])).run;
  } finally {
    // Closes the event stream, whatever happened: an open stream would keep the process alive.
    controller.abort();
    bar?.stop();
    process.off('SIGINT', onSigint);
  }
  const failed = run.failed();
  if (ctx.json) {
    emit({ type: 'result', op: kind, ok: failed.length === 0, elapsedMs: elapsed(), stacks: run.stacks(), failed });
  } else {
    if (bar) process.stderr.write(renderProgress({ ...run.view(), elapsedMs: elapsed() }, process.stderr.columns ?? 80) + '\n');
    process.stdout.write(formatRunResult(run, who, elapsed()) + '\n');
  }
  return failed.length ? EXIT.partial : EXIT.ok;
}

/** Ctrl+C during --wait: a provision asks the service to cancel what this run started; a teardown goes on. */
async function interrupt(ctx: Ctx, run: StackRun, workshop: string, attendeeIds: string[] | undefined): Promise<void> {
  if (run.kind !== 'provision') {
    const msg = `Interrupted: stopped watching; the ${run.kind === 'destroy' ? 'teardown' : 'clean-up'} goes on in the service (\`stacks list\` shows it).`;
    if (ctx.json) emit({ type: 'interrupted', op: run.kind });
    else process.stderr.write(`\n${msg}\n`);
    return;
  }
  if (!ctx.json) process.stderr.write('\nInterrupted: asking the service to cancel the builds of this run…\n');
  try {
    const { stacks } = await ctx.client.cancelStacks(workshop, attendeeIds);
    const mine = stacks.filter((s) => run.isTarget(s.id));
    if (ctx.json) emit({ type: 'interrupted', op: 'provision', cancelled: true, stacks: mine });
    else process.stderr.write(`Cancelled. Ready stacks stay; the rest can be provisioned again later.\n${formatStacks(mine, names(await ctx.attendees()))}\n`);
  } catch (err) {
    if (ctx.json) emit({ type: 'interrupted', op: 'provision', cancelled: false, error: (err as Error).message });
    else process.stderr.write(`Could not cancel: ${(err as Error).message}\nThe builds go on in the service; \`stacks cancel --workshop ${workshop}\` stops them.\n`);
  }
}

/**
 * Keeps the event stream open until `isDone()`: a stream that ends or breaks (the service
 * restarted) is opened again, and its snapshot brings the run up to date. Gives up after a
 * few failed tries in a row.
 */
async function follow(
  ctx: Ctx,
  workshop: string,
  onEvent: (e: WorkshopEvent) => void,
  signal: AbortSignal,
  isDone: () => boolean,
): Promise<void> {
  const tries = 5;
  const backoff = new Backoff({ initialMs: 500, maxMs: 8_000, jitter: 0.2 });
  let last = '';
  while (!signal.aborted && !isDone()) {
    let got = false;
    try {
      await ctx.client.watchWorkshop(
        workshop,
        (e) => {
          got = true;
          onEvent(e);
        },
        signal,
      );
      last = 'the service closed the event stream';
    } catch (err) {
      // Refusals (unknown workshop, bad token) will not change on a retry.
      if (err instanceof OrganizerApiError && err.status >= 400 && err.status < 500) throw err;
      last = (err as Error).message;
    }
    if (signal.aborted || isDone()) return;
    // A stream that said something counts as a fresh start: only failures in a row give up.
    if (got) backoff.reset();
    if (backoff.failures + 1 >= tries) {
      throw new ApiUnreachableError(
        `Lost the event stream of ${workshop} (${last}). The work goes on in the service: \`stacks list --workshop ${workshop}\` shows where it stands.`,
      );
    }
    await sleep(backoff.next(), signal);
  }
}

/** The progress line at the bottom of a terminal: redrawn on change and every second for the clock. */
class ProgressLine {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly render: () => string) {}

  start(): void {
    this.draw();
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
  }

  draw(): void {
    process.stderr.write(`\r${this.render()}\x1b[K`);
  }

  /** A line of its own above the bar (a failure), then the bar again. */
  line(text: string): void {
    process.stderr.write(`\r\x1b[K${text}\n`);
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    process.stderr.write('\r\x1b[K');
  }
}

// ---- serve and keygen ----

/**
 * The mail flags: the SMTP ones as the environment names the mailer reads (smtpFromEnv), so a
 * flag and its variable mean the same thing; the password comes only from the environment.
 */
function mailFromFlags(values: Record<string, string | boolean | undefined>): { env: Record<string, string>; outboxDir?: string } {
  const env: Record<string, string> = {};
  if (values['smtp-host'] !== undefined) env.OPEN_KITCHEN_SMTP_HOST = values['smtp-host'] as string;
  if (values['smtp-port'] !== undefined) {
    const port = Number(values['smtp-port']);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--smtp-port must be 1-65535, not "${values['smtp-port']}"`);
    env.OPEN_KITCHEN_SMTP_PORT = String(port);
  }
  if (values['smtp-secure']) env.OPEN_KITCHEN_SMTP_SECURE = '1';
  if (values['smtp-user'] !== undefined) env.OPEN_KITCHEN_SMTP_USER = values['smtp-user'] as string;
  if (values['mail-from'] !== undefined) env.OPEN_KITCHEN_MAIL_FROM = values['mail-from'] as string;
  const smtpOnly = ['smtp-port', 'smtp-secure', 'smtp-user'].filter((k) => values[k] !== undefined && values[k] !== false);
  if (smtpOnly.length && values['smtp-host'] === undefined && !process.env.OPEN_KITCHEN_SMTP_HOST) {
    throw new UsageError(`--${smtpOnly[0]} needs --smtp-host (or OPEN_KITCHEN_SMTP_HOST)`);
  }
  const outbox = values.outbox as string | undefined;
  return { env, ...(outbox !== undefined ? { outboxDir: path.resolve(outbox) } : {}) };
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'public-url': { type: 'string' },
      'secret-key-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'trust-proxy': { type: 'boolean' },
      concurrency: { type: 'string' },
      verbose: { type: 'boolean' },
      'smtp-host': { type: 'string' },
      'smtp-port': { type: 'string' },
      'smtp-secure': { type: 'boolean' },
      'smtp-user': { type: 'string' },
      'smtp-pass': { type: 'string' },
      'mail-from': { type: 'string' },
      outbox: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: node dist/organizer.js serve [options]\n\n${SERVE_HELP}\n`);
    return;
  }
  if (values['smtp-pass'] !== undefined) {
    // A password on the command line ends up in shell history and `ps` for every user.
    throw new UsageError('there is no --smtp-pass: put the SMTP password in OPEN_KITCHEN_SMTP_PASS');
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, not "${values.port}"`);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new UsageError(`--concurrency must be a positive whole number, not "${values.concurrency}"`);
  }
  if (!!values['tls-cert'] !== !!values['tls-key']) throw new UsageError('--tls-cert and --tls-key go together');
  const mail = mailFromFlags(values);
  const dataDir = path.resolve(values['data-dir'] ?? process.env.OPEN_KITCHEN_DATA_DIR ?? DEFAULT_DATA_DIR);

  // Resolve the key first so a missing key is reported before anything else happens.
  const secretKey = values['secret-key-file'] ? readSecretKeyFile(values['secret-key-file']) : resolveSecretKey({ env: process.env });
  const tls = values['tls-cert']
    ? { cert: fs.readFileSync(values['tls-cert']), key: fs.readFileSync(values['tls-key']!) }
    : undefined;

  // Loaded here so `help` and `keygen` work without the native database module.
  const { startOrganizer, OUTBOX_DIR } = await import('../organizer');
  const organizer = await startOrganizer({
    dataDir,
    host: values.host ?? '127.0.0.1',
    port,
    publicUrl: values['public-url'],
    secretKey,
    tls,
    trustProxy: values['trust-proxy'],
    concurrency,
    logger: values.verbose ? { level: 'info' } : { level: 'warn' },
    log: (m) => process.stderr.write(`organizer: ${m}\n`),
    // Flags win over the environment they stand for.
    env: { ...process.env, ...mail.env },
    ...(mail.outboxDir ? { mail: { outboxDir: mail.outboxDir } } : {}),
  });
  // Signals are handled before the banner is printed: whoever waits for it may stop us at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      fail(`${signal} again: exiting without waiting`, EXIT.interrupted);
    }
    stopping = true;
    process.stdout.write(`${signal}: stopping (running builds resume on the next start)\n`);
    organizer.close().then(
      () => process.exit(0),
      (err: Error) => fail(`error while stopping: ${err.message}`),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // One write, so whoever reads the banner sees it whole (the token line included).
  const banner = [`Open Kitchen organizer listening on ${organizer.url}`];
  if (organizer.publicUrl !== organizer.url) banner.push(`Invite links point at ${organizer.publicUrl}`);
  banner.push(`Database: ${organizer.dbFile}`);
  const smtpHost = mail.env.OPEN_KITCHEN_SMTP_HOST ?? process.env.OPEN_KITCHEN_SMTP_HOST;
  banner.push(
    smtpHost
      ? `Invite mail: over SMTP via ${smtpHost}`
      : `Invite mail: written as .eml files to ${mail.outboxDir ?? path.join(dataDir, OUTBOX_DIR)} (no SMTP host set)`,
  );
  if (organizer.organizerTokenCreated) {
    banner.push(
      '',
      'Organizer token (shown once; only its hash is stored):',
      `  ${organizer.organizerToken}`,
      'Keep it safe; pass it as OPEN_KITCHEN_ORGANIZER_TOKEN to the headless commands and the extension.',
      '',
    );
  }
  banner.push('Press Ctrl+C to stop.');
  process.stdout.write(banner.join('\n') + '\n');
  void organizer.reconciled.then((r) => {
    if (r.lost.length || r.resumed.length) {
      process.stdout.write(`Restart check: ${r.checked} ready stacks checked, ${r.lost.length} lost, ${r.resumed.length} resumed\n`);
    }
  });
}

function keygen(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' } } });
  if (!values.out) throw new UsageError('keygen needs --out FILE');
  try {
    writeNewSecretKeyFile(values.out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      fail(`${values.out} already exists; not overwriting it (secrets encrypted with it would become unreadable).`);
    }
    throw err;
  }
  process.stdout.write(
    `Wrote a new secret key to ${values.out} (mode 0600). Back it up: without it the stored SSH keys cannot be read.\n` +
      `Start the service with: node dist/organizer.js serve --secret-key-file ${values.out}\n`,
  );
}

// ---- dispatch ----

function findCommand(group: string, action: string | undefined): Command {
  const command = COMMANDS.find((c) => c.name === `${group} ${action ?? ''}`);
  if (command) return command;
  const known = COMMANDS.filter((c) => c.name.startsWith(group + ' ')).map((c) => c.name.split(' ')[1]);
  throw new UsageError(
    action === undefined || action.startsWith('-')
      ? `"${group}" needs a subcommand: ${known.join(', ')}`
      : `unknown command "${group} ${action}" (${group} has: ${known.join(', ')})`,
  );
}

async function headless(command: Command, argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        api: { type: 'string' },
        token: { type: 'string' },
        json: { type: 'boolean' },
        workshop: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...command.options,
      },
    });
  } catch (err) {
    throw new UsageError(`${command.name}: ${(err as Error).message}`, command);
  }
  const values = parsed.values as Ctx['values'];
  if (values.help) {
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  if (parsed.positionals.length > (command.positionals?.length ?? 0)) {
    throw new UsageError(`${command.name} does not take "${parsed.positionals[command.positionals?.length ?? 0]}"`, command);
  }
  const api = (values.api as string | undefined) ?? process.env.OPEN_KITCHEN_API_URL ?? `http://127.0.0.1:${DEFAULT_PORT}`;
  if (!/^https?:\/\/[^/]/.test(api)) throw new UsageError(`--api must be an http(s) URL, not "${api}"`, command);
  const token = (values.token as string | undefined) ?? process.env.OPEN_KITCHEN_ORGANIZER_TOKEN;
  if (!token) throw new UsageError('the organizer token is needed: --token T or OPEN_KITCHEN_ORGANIZER_TOKEN', command);
  const client = new OrganizerApi({ apiUrl: api, token });
  const workshop = () => {
    const w = values.workshop as string | undefined;
    if (!w) throw new UsageError(`${command.name} needs --workshop W (its name or id)`, command);
    return w;
  };
  let attendees: Promise<AttendeeSummary[]> | undefined;
  const ctx: Ctx = {
    values,
    positionals: parsed.positionals,
    json: !!values.json,
    client,
    api,
    token,
    workshop,
    attendees: () => (attendees ??= client.listAttendees(workshop()).then((r) => r.attendees)),
    async attendeeIds() {
      const given = values.attendee as string[] | undefined;
      if (!given?.length) return undefined;
      const list = given.flatMap((g) => g.split(',')).map((g) => g.trim()).filter(Boolean);
      if (!list.some((g) => g.includes('@'))) return list;
      const all = await ctx.attendees();
      return list.map((g) => {
        if (!g.includes('@')) return g;
        const a = all.find((x) => x.email.toLowerCase() === g.toLowerCase());
        if (!a) throw new UsageError(`no attendee with the email ${g} in workshop ${workshop()}`, command);
        return a.id;
      });
    },
  };
  return command.run(ctx);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      await serve(rest);
      return -1; // keeps running
    case 'keygen':
      keygen(rest);
      return EXIT.ok;
    case undefined:
    case 'help':
    case '--help':
    case '-h': {
      if (command === 'help' && rest.length) {
        if (rest[0] === 'serve') process.stdout.write(`Usage: node dist/organizer.js serve [options]\n\n${SERVE_HELP}\n`);
        else process.stdout.write(commandHelp(findCommand(rest[0], rest[1])));
      } else {
        process.stdout.write(USAGE);
      }
      return EXIT.ok;
    }
    case 'workshop':
    case 'attendees':
    case 'invites':
    case 'stacks':
      return headless(findCommand(command, rest[0]), rest.slice(1));
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof SecretKeyError) fail(`Cannot start: ${err.message}`, 2);
    if (err instanceof UsageError) {
      fail(`${err.message}\n\n${err.command ? commandHelp(err.command) : `Run \`node dist/organizer.js help\` for the commands.`}`, EXIT.usage);
    }
    if (err instanceof Refusal) fail(err.message, EXIT.usage);
    if (err instanceof OrganizerApiError) {
      const hint =
        err.code === 'unreachable' ? '\nIs `node dist/organizer.js serve` running there? Point --api (or OPEN_KITCHEN_API_URL) at it.' : '';
      fail(`Error: ${err.message}${err.details ? '\n' + err.details.map((d) => `  ${d.path}: ${d.message}`).join('\n') : ''}${hint}`);
    }
    const code = (err as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      fail(`${(err as Error).message}\n\nRun \`node dist/organizer.js help\` for the commands.`, EXIT.usage);
    }
    fail(`Error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  },
);
