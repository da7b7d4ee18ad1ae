/**
 * `node dist/organizer.js` — runs the organizer service, makes its secret key, and drives
 * a running service headlessly (workshops, roster, invites, stacks).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { OrganizerApiError, OrganizerClient, parseRosterCsv } from '../organizer/client';
import { readSecretKeyFile, resolveSecretKey, SecretKeyError, writeNewSecretKeyFile } from '../organizer/secrets';

const DEFAULT_PORT = 7411;
const DEFAULT_DATA_DIR = 'organizer-data';

const USAGE = `Open Kitchen organizer service

Usage:
  node dist/organizer.js serve [options]        run the organizer API
  node dist/organizer.js keygen --out FILE      make a secret key (32 random bytes, base64, mode 0600)
  node dist/organizer.js help                   show this text

serve options:
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

  The organizer token comes from OPEN_KITCHEN_ORGANIZER_TOKEN, or is created on the first
  start and printed once (only its hash is stored).

Headless commands (talk to a running service; --api URL or OPEN_KITCHEN_API_URL,
--token T or OPEN_KITCHEN_ORGANIZER_TOKEN; add --json for machine-readable output):
  workshop create --name NAME --title TITLE [--provider local|terraform-gce]
  attendees import --workshop W --csv FILE      CSV with a header: email,name[,team]
  attendees list --workshop W
  invites create --workshop W [--attendee ID ...] [--ttl-hours N]
  stacks provision --workshop W [--attendee ID ...] [--wait]
  stacks list --workshop W
  stacks destroy --workshop W [--wait]
`;

class UsageError extends Error {}

function fail(message: string, code = 1): never {
  process.stderr.write(message.endsWith('\n') ? message : message + '\n');
  process.exit(code);
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
    },
  });
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, not "${values.port}"`);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new UsageError(`--concurrency must be a positive whole number, not "${values.concurrency}"`);
  }
  if (!!values['tls-cert'] !== !!values['tls-key']) throw new UsageError('--tls-cert and --tls-key go together');

  // Resolve the key first so a missing key is reported before anything else happens.
  const secretKey = values['secret-key-file'] ? readSecretKeyFile(values['secret-key-file']) : resolveSecretKey({ env: process.env });
  const tls = values['tls-cert']
    ? { cert: fs.readFileSync(values['tls-cert']), key: fs.readFileSync(values['tls-key']!) }
    : undefined;

  // Loaded here so `help` and `keygen` work without the native database module.
  const { startOrganizer } = await import('../organizer');
  const organizer = await startOrganizer({
    dataDir: path.resolve(values['data-dir'] ?? process.env.OPEN_KITCHEN_DATA_DIR ?? DEFAULT_DATA_DIR),
    host: values.host ?? '127.0.0.1',
    port,
    publicUrl: values['public-url'],
    secretKey,
    tls,
    trustProxy: values['trust-proxy'],
    concurrency,
    logger: values.verbose ? { level: 'info' } : { level: 'warn' },
    log: (m) => process.stderr.write(`organizer: ${m}\n`),
  });
  // One write, so whoever reads the banner sees it whole (the token line included).
  const banner = [`Open Kitchen organizer listening on ${organizer.url}`];
  if (organizer.publicUrl !== organizer.url) banner.push(`Invite links point at ${organizer.publicUrl}`);
  banner.push(`Database: ${organizer.dbFile}`);
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

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      fail(`${signal} again: exiting without waiting`, 130);
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

async function headless(group: string, argv: string[]): Promise<void> {
  const action = argv[0];
  const { values } = parseArgs({
    args: argv.slice(1),
    options: {
      api: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      workshop: { type: 'string' },
      name: { type: 'string' },
      title: { type: 'string' },
      provider: { type: 'string' },
      csv: { type: 'string' },
      attendee: { type: 'string', multiple: true },
      'ttl-hours': { type: 'string' },
      wait: { type: 'boolean' },
    },
  });
  const api = values.api ?? process.env.OPEN_KITCHEN_API_URL ?? `http://127.0.0.1:${DEFAULT_PORT}`;
  const token = values.token ?? process.env.OPEN_KITCHEN_ORGANIZER_TOKEN;
  if (!token) throw new UsageError('the organizer token is needed: --token T or OPEN_KITCHEN_ORGANIZER_TOKEN');
  const client = new OrganizerClient(api, token);
  const out = (human: string, data: unknown): void => {
    process.stdout.write(values.json ? JSON.stringify(data, null, 2) + '\n' : human.endsWith('\n') ? human : human + '\n');
  };
  const needWorkshop = () => {
    if (!values.workshop) throw new UsageError(`${group} ${action} needs --workshop W`);
    return values.workshop;
  };

  switch (`${group} ${action}`) {
    case 'workshop create': {
      if (!values.name || !values.title) throw new UsageError('workshop create needs --name and --title');
      const w = await client.createWorkshop({
        name: values.name,
        title: values.title,
        ...(values.provider ? { provider: values.provider as 'local' | 'terraform-gce' } : {}),
      });
      return out(`Created workshop ${w.name} (${w.id}), provider ${w.provider}`, w);
    }
    case 'attendees import': {
      const workshop = needWorkshop();
      if (!values.csv) throw new UsageError('attendees import needs --csv FILE');
      const { rows, problems } = parseRosterCsv(fs.readFileSync(values.csv, 'utf8'));
      const result = rows.length ? await client.importAttendees(workshop, rows.map((r) => r.input)) : { imported: [], rejected: [] };
      const rejected = [
        ...problems,
        ...result.rejected.map((r) => ({ line: rows[r.index].line, email: r.email, reason: r.reason })),
      ].sort((a, b) => a.line - b.line);
      const lines = [`Imported ${result.imported.length} attendees; ${rejected.length} rows not imported.`];
      for (const r of rejected) lines.push(`  line ${r.line}${r.email ? ` (${r.email})` : ''}: ${r.reason}`);
      out(lines.join('\n'), { imported: result.imported, rejected });
      if (rejected.length) process.exitCode = 2;
      return;
    }
    case 'attendees list': {
      const { attendees } = await client.listAttendees(needWorkshop());
      const lines = attendees.map(
        (a) => `${a.email.padEnd(32)} ${(a.stack?.status ?? '-').padEnd(12)} invite ${a.invite.status.padEnd(8)} ${a.lastSeenAt ?? 'never seen'}`,
      );
      return out(lines.join('\n') || 'No attendees yet.', { attendees });
    }
    case 'invites create': {
      const ttl = values['ttl-hours'] === undefined ? undefined : Number(values['ttl-hours']);
      const { invites } = await client.createInvites(needWorkshop(), {
        ...(values.attendee ? { attendeeIds: values.attendee } : {}),
        ...(ttl !== undefined ? { ttlHours: ttl } : {}),
      });
      const lines = invites.map((i) => `${i.email}\n  ${i.link}\n  expires ${i.expiresAt}`);
      return out(lines.join('\n') || 'Everyone already has a valid invite.', { invites });
    }
    case 'stacks provision':
    case 'stacks destroy': {
      const workshop = needWorkshop();
      const first =
        action === 'provision' ? await client.provisionStacks(workshop, values.attendee) : await client.destroyStacks(workshop);
      let stacks = first.stacks;
      // What counts as still under way: the stacks this run queued for building, or any teardown.
      const targets = new Set(
        stacks
          .filter((s) => action === 'destroy' || !values.attendee || values.attendee.includes(s.attendeeId))
          .filter((s) => (action === 'provision' ? ['pending', 'provisioning'] : ['destroying', 'provisioning']).includes(s.status))
          .map((s) => s.id),
      );
      const busyStates = action === 'provision' ? ['pending', 'provisioning'] : ['destroying', 'provisioning'];
      if (values.wait) {
        const busy = () => stacks.filter((s) => targets.has(s.id) && busyStates.includes(s.status));
        while (busy().length) {
          if (!values.json && process.stderr.isTTY) {
            const counts = countBy(stacks.map((s) => s.status));
            process.stderr.write(`\r${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join('  ')}   `);
          }
          await new Promise((r) => setTimeout(r, 1000));
          stacks = (await client.listStacks(workshop)).stacks;
        }
        if (!values.json && process.stderr.isTTY) process.stderr.write('\n');
      }
      return out(formatStacks(stacks), { stacks });
    }
    case 'stacks list': {
      const { stacks } = await client.listStacks(needWorkshop());
      return out(formatStacks(stacks), { stacks });
    }
    default:
      throw new UsageError(`unknown command "${group} ${action ?? ''}"`);
  }
}

function countBy(items: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const i of items) counts[i] = (counts[i] ?? 0) + 1;
  return counts;
}

function formatStacks(stacks: { id: string; attendeeId: string; status: string; statusMessage: string | null }[]): string {
  if (!stacks.length) return 'No stacks.';
  const counts = countBy(stacks.map((s) => s.status));
  return [
    ...stacks.map((s) => `${s.id.padEnd(16)} ${s.attendeeId.padEnd(16)} ${s.status.padEnd(12)} ${s.statusMessage ?? ''}`),
    Object.entries(counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', '),
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'keygen':
      return keygen(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    case 'workshop':
    case 'attendees':
    case 'invites':
    case 'stacks':
      return headless(command, rest);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof SecretKeyError) fail(`Cannot start: ${err.message}`, 2);
  if (err instanceof UsageError) fail(`${err.message}\n\n${USAGE}`, 64);
  if (err instanceof OrganizerApiError) fail(`Error: ${err.message}${err.details ? '\n' + err.details.map((d) => `  ${d.path}: ${d.message}`).join('\n') : ''}`);
  if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    fail(`${(err as Error).message}\n\n${USAGE}`, 64);
  }
  fail(`Error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
});
