/**
 * The demo: an organizer service with a demo workshop, its attendees' local stacks and their
 * invite links, all on this machine. `startDemo()` is what `npm run demo` runs and what
 * tests (and the end-to-end harness) start in-process; it returns handles and `stop()`.
 *
 * The demo drives the organizer through its HTTP API like any organizer would (workshop,
 * roster, stacks, invites); it reads the stacks' connection details from the in-process store
 * only to print a hands-on `ssh -N -L` line per stack.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Environment, Invite, StackStatus } from '../contract';
import { OrganizerApi, OrganizerApiError } from '../organizerClient';
import { startOrganizer, type Organizer, type StackChange } from '../organizer';
import { readSecretKeyFile, writeNewSecretKeyFile } from '../organizer/secrets';
import { createProvider, LocalProvider, type ProviderName } from '../organizer/providers';
import type { BastionKind } from '../organizer/providers/bastion';
import { httpGetThroughBastion } from '../organizer/providers/bastion/probe';

export const DEMO_WORKSHOP = 'demo';
export const DEMO_TITLE = 'Open Kitchen demo workshop';
export const DEMO_TOPOLOGY = { servers: 3, clientsPerZone: 3, zones: ['europe-west1-b', 'europe-west1-c'] };
export const DEFAULT_DEMO_PORT = 7411;

const PEOPLE: [email: string, name: string][] = [
  ['ada@example.com', 'Ada Lovelace'],
  ['grace@example.com', 'Grace Hopper'],
  ['linus@example.com', 'Linus Torvalds'],
  ['margaret@example.com', 'Margaret Hamilton'],
  ['barbara@example.com', 'Barbara Liskov'],
  ['ken@example.com', 'Ken Thompson'],
  ['radia@example.com', 'Radia Perlman'],
  ['dennis@example.com', 'Dennis Ritchie'],
];

/** The demo roster: the people above, then numbered attendees. */
export function demoAttendees(count: number): { email: string; name: string }[] {
  return Array.from({ length: count }, (_, i) =>
    i < PEOPLE.length ? { email: PEOPLE[i][0], name: PEOPLE[i][1] } : { email: `attendee${i + 1}@example.com`, name: `Attendee ${i + 1}` },
  );
}

export interface DemoOptions {
  /** Database, keys and stacks (the CLI uses `.demo/` in the repository). */
  dataDir: string;
  /** Wipe the data folder first (stopping stacks an earlier demo left running). */
  fresh?: boolean;
  /** Organizer API port; 0 = a free one. */
  port?: number;
  /** Number of attendees (default 3). */
  attendees?: number;
  /** Wait until every stack is ready (default true). */
  wait?: boolean;
  /** Leave the stacks running on stop (the next demo run finds them again). */
  keep?: boolean;
  /** Bastion implementation for the stacks (default 'auto'). */
  bastionKind?: BastionKind | 'auto';
  /** Progress lines for humans. */
  log?: (line: string) => void;
  /** How long to wait for the stacks to be ready (default 3 minutes). */
  readyTimeoutMs?: number;
}

export interface DemoStack {
  attendeeId: string;
  email: string;
  name: string;
  stackId: string;
  status: StackStatus;
  statusMessage: string | null;
  /** Once ready: where and how to connect (the same details the extension receives). */
  connection: Environment['connection'];
  /** The attendee's private key and a known_hosts line, written for trying the bastion by hand. */
  privateKeyFile: string | null;
  knownHostsFile: string | null;
  /** A plain OpenSSH command forwarding `localPort` to the stack's Nomad through its bastion. */
  sshCommand: string | null;
  localPort: number | null;
}

export interface DemoInvite {
  attendeeId: string;
  email: string;
  name: string;
  link: string;
  expiresAt: string;
}

export interface Demo {
  apiUrl: string;
  organizerToken: string;
  workshop: string;
  dataDir: string;
  invites: DemoInvite[];
  organizer: Organizer;
  /** The demo attendees' stacks as they are now. */
  stacks(): DemoStack[];
  /** Resolves when every demo stack is ready or failed (with their details). */
  settled(): Promise<DemoStack[]>;
  /** Asks each ready stack's Nomad for its leader through the stack's bastion. */
  verify(): Promise<{ email: string; ok: boolean; detail: string }[]>;
  /** The one-line JSON the CLI prints with --json. */
  summary(): DemoSummary;
  /** Destroys the stacks (unless `keep`) and stops the organizer. */
  stop(): Promise<void>;
}

export interface DemoSummary {
  apiUrl: string;
  organizerToken: string;
  workshop: string;
  dataDir: string;
  invites: DemoInvite[];
  stacks: DemoStack[];
}

const SETTLED: StackStatus[] = ['ready', 'failed', 'destroyed'];

function readOrCreate(file: string, make: () => string): string {
  try {
    const value = fs.readFileSync(file, 'utf8').trim();
    if (value) return value;
  } catch {
    // made below
  }
  const value = make();
  fs.writeFileSync(file, value + '\n', { mode: 0o600 });
  return value;
}

/** Stops stack processes an earlier demo left running (with --keep) before their folder goes. */
async function stopLeftoverStacks(dataDir: string): Promise<void> {
  const stacksDir = path.join(dataDir, 'stacks');
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(stacksDir);
  } catch {
    return;
  }
  const provider = new LocalProvider({ dataDir });
  for (const entry of entries) {
    const dir = path.join(stacksDir, entry);
    await provider.destroy(
      { stackId: entry, workshopName: DEMO_WORKSHOP, attendeeId: '', name: entry, topology: DEMO_TOPOLOGY, dataDir: dir },
      null,
      () => undefined,
    );
  }
}

function listen(organizerStart: (port: number) => Promise<Organizer>, port: number, log: (l: string) => void): Promise<Organizer> {
  return organizerStart(port).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE' || port === 0) throw err;
    log(`Port ${port} is in use; using a free port instead (pass --port to choose one).`);
    return organizerStart(0);
  });
}

export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  const count = opts.attendees ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 50) throw new Error(`the number of attendees must be 1-50, not ${count}`);

  if (opts.fresh && fs.existsSync(dataDir)) {
    log(`Wiping ${dataDir} (--fresh).`);
    await stopLeftoverStacks(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const keyFile = path.join(dataDir, 'secret.key');
  if (!fs.existsSync(keyFile)) {
    writeNewSecretKeyFile(keyFile);
    log(`Made a new secret key: ${keyFile}`);
  }
  const secretKey = readSecretKeyFile(keyFile);
  // Kept in the folder so a demo restarted with --keep hands out the same token.
  const organizerToken = readOrCreate(path.join(dataDir, 'organizer-token'), () => 'oko_' + crypto.randomBytes(32).toString('base64url'));

  const bastionKind = opts.bastionKind ?? 'auto';
  const organizer = await listen(
    (port) =>
      startOrganizer({
        dataDir,
        host: '127.0.0.1',
        port,
        organizerToken,
        secretKey,
        providers: (name, o) =>
          name === 'local' ? new LocalProvider({ dataDir: o.dataDir, bastionKind }) : createProvider(name as ProviderName, o),
        log: (m) => log(`organizer: ${m}`),
      }),
    opts.port ?? DEFAULT_DEMO_PORT,
    log,
  );
  log(`Organizer API listening on ${organizer.url}`);

  const people = demoAttendees(count);
  const emails = new Set(people.map((p) => p.email));
  const keysDir = path.join(dataDir, 'keys');
  let stopped: Promise<void> | undefined;

  try {
    const api = new OrganizerApi({ apiUrl: organizer.url, token: organizerToken });
    let workshopId: string;
    try {
      workshopId = (await api.createWorkshop({ name: DEMO_WORKSHOP, title: DEMO_TITLE, provider: 'local', topology: DEMO_TOPOLOGY })).id;
      log(`Created workshop "${DEMO_WORKSHOP}" (${DEMO_TITLE}).`);
    } catch (err) {
      if (!(err instanceof OrganizerApiError && err.code === 'conflict')) throw err;
      workshopId = organizer.store.findWorkshop(DEMO_WORKSHOP).id;
      log(`Workshop "${DEMO_WORKSHOP}" exists from an earlier run; reusing it.`);
    }

    // Stacks kept from an earlier run are checked first, so a lost one is rebuilt below.
    const report = await organizer.reconciled;
    if (report.checked) log(`Earlier stacks: ${report.checked} checked, ${report.lost.length} lost.`);

    const imported = await api.importAttendees(DEMO_WORKSHOP, people);
    log(`Attendees: ${imported.imported.length} imported, ${imported.rejected.length} already there.`);
    const attendees = (await api.listAttendees(DEMO_WORKSHOP)).attendees.filter((a) => emails.has(a.email));
    const byId = new Map(attendees.map((a) => [a.id, a]));
    const ids = attendees.map((a) => a.id);

    // Subscribed before asking, so no change is missed.
    const changes: StackChange[] = [];
    const onChange = (c: StackChange) => {
      if (c.workshopId !== workshopId || !byId.has(c.attendeeId)) return;
      changes.push(c);
      const a = byId.get(c.attendeeId)!;
      log(`  ${a.email.padEnd(22)} ${c.status.padEnd(12)} ${c.statusMessage ?? ''}`);
    };
    organizer.stacks.on('change', onChange);
    log(`Provisioning ${ids.length} local stacks (lab cluster + SSH bastion each).`);
    await api.provisionStacks(DEMO_WORKSHOP, ids);

    const { invites } = await api.createInvites(DEMO_WORKSHOP, { attendeeIds: ids });
    const demoInvites: DemoInvite[] = invites.map((i: Invite) => ({
      attendeeId: i.attendeeId,
      email: i.email,
      name: byId.get(i.attendeeId)?.name ?? i.email,
      link: i.link,
      expiresAt: i.expiresAt,
    }));

    const stacks = (): DemoStack[] => {
      const rows = organizer.store.attendeesOf(workshopId, ids);
      return rows.map((row, index) => {
        const env = organizer.store.environment(row);
        const base: DemoStack = {
          attendeeId: row.id,
          email: row.email,
          name: row.name,
          stackId: env.stackId,
          status: env.status,
          statusMessage: env.statusMessage,
          connection: env.connection,
          privateKeyFile: null,
          knownHostsFile: null,
          sshCommand: null,
          localPort: null,
        };
        const c = env.connection;
        if (!c) return base;
        fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 });
        const stem = row.email.split('@')[0].replace(/[^a-z0-9_-]/gi, '_');
        const privateKeyFile = path.join(keysDir, `${stem}_ed25519`);
        const knownHostsFile = path.join(keysDir, `${stem}_known_hosts`);
        writeIfChanged(privateKeyFile, c.privateKey);
        writeIfChanged(knownHostsFile, `[${c.bastion.host}]:${c.bastion.port} ${c.bastion.hostPublicKey}\n`);
        const localPort = 14646 + index;
        const sshCommand = [
          'ssh -N',
          `-i ${shellQuote(privateKeyFile)}`,
          '-o IdentitiesOnly=yes',
          `-o UserKnownHostsFile=${shellQuote(knownHostsFile)}`,
          '-o StrictHostKeyChecking=yes',
          `-L ${localPort}:${c.nomad.host}:${c.nomad.port}`,
          `-p ${c.bastion.port}`,
          `${c.bastion.user}@${c.bastion.host}`,
        ].join(' ');
        return { ...base, privateKeyFile, knownHostsFile, sshCommand, localPort };
      });
    };

    const settled = (): Promise<DemoStack[]> =>
      new Promise((resolve, reject) => {
        const timeoutMs = opts.readyTimeoutMs ?? 180_000;
        const check = () => {
          const now = stacks();
          if (now.every((s) => SETTLED.includes(s.status))) {
            cleanup();
            resolve(now);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`the demo stacks were not ready within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          organizer.stacks.off('change', check);
        };
        organizer.stacks.on('change', check);
        check();
      });

    const verify = async () => {
      const out: { email: string; ok: boolean; detail: string }[] = [];
      for (const s of stacks()) {
        const c = s.connection;
        if (!c) {
          out.push({ email: s.email, ok: false, detail: `stack is ${s.status}` });
          continue;
        }
        try {
          const res = await httpGetThroughBastion({
            bastion: c.bastion,
            privateKey: c.privateKey,
            target: c.nomad,
            path: '/v1/status/leader',
          });
          out.push({ email: s.email, ok: res.status === 200, detail: `Nomad leader ${res.body.trim()} (HTTP ${res.status})` });
        } catch (err) {
          out.push({ email: s.email, ok: false, detail: (err as Error).message });
        }
      }
      return out;
    };

    const stop = (): Promise<void> => {
      stopped ??= (async () => {
        organizer.stacks.off('change', onChange);
        if (!opts.keep) {
          log('Destroying the demo stacks.');
          try {
            await api.destroyStacks(DEMO_WORKSHOP);
            await organizer.stacks.idle();
          } catch (err) {
            log(`Could not destroy every stack: ${(err as Error).message}`);
          }
        } else {
          log('Leaving the stacks running (--keep); the next demo run finds them again.');
        }
        await organizer.close();
        if (!opts.keep) fs.rmSync(keysDir, { recursive: true, force: true });
      })();
      return stopped;
    };

    const demo: Demo = {
      apiUrl: organizer.url,
      organizerToken,
      workshop: DEMO_WORKSHOP,
      dataDir,
      invites: demoInvites,
      organizer,
      stacks,
      settled,
      verify,
      summary: () => ({ apiUrl: organizer.url, organizerToken, workshop: DEMO_WORKSHOP, dataDir, invites: demoInvites, stacks: stacks() }),
      stop,
    };
    if (opts.wait ?? true) await settled();
    return demo;
  } catch (err) {
    if (!stopped) {
      // Half a demo: take down what was started so nothing lingers.
      await organizer.stacks.close().catch(() => undefined);
      await stopLeftoverStacks(dataDir).catch(() => undefined);
      await organizer.close().catch(() => undefined);
    }
    throw err;
  }
}

function writeIfChanged(file: string, content: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === content) return;
  } catch {
    // not there yet
  }
  fs.writeFileSync(file, content, { mode: 0o600 });
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
