/**
 * The rehearsal an organizer would run before a workshop, with real parts throughout: the
 * organizer service as its own process (`organizer.ts serve`), the local provider's real stack
 * processes, and the HTTP API through OrganizerApi, watched through the event stream.
 *
 * 20 stacks are built with concurrency 4 (never more than 4 provisioning at once, read from the
 * event stream); the first build attempt fails by injection (OPEN_KITCHEN_INJECT_FAILURES=1) and
 * is retried; the organizer is SIGKILLed while builds run, started again on the same data, and
 * ends with exactly 20 ready stacks, each answering through its bastion, with no orphan process
 * or port; destroy-all leaves no process and no stack folder.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StackStatus, StackSummary, WorkshopEvent } from '../../src/contract';
import { OrganizerApi } from '../../src/organizerClient';
import { httpGetThroughBastion } from '../../src/organizer/providers/bastion/probe';
import { cmdline, listeningPortsOf, processesUnder } from './procfs';

const repoRoot = path.resolve(__dirname, '..', '..');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-rehearsal-'));
const dataDir = path.join(root, 'data');
const secretKey = crypto.randomBytes(32).toString('base64');
const token = 'oko_rehearsal-' + crypto.randomBytes(16).toString('hex');
const children = new Set<ChildProcessWithoutNullStreams>();

const STACKS = 20;
const CONCURRENCY = 4;
const WORKSHOP = 'rehearsal';

function stackFolders(): string[] {
  const dir = path.join(dataDir, 'stacks');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

after(() => {
  for (const c of children) c.kill('SIGKILL');
  // Whatever a failed run left: stack processes are detached and would outlive the test.
  for (const pid of processesUnder(dataDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
});

// ---- the organizer process ----

interface Service {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function serve(extraEnv: Record<string, string> = {}): Promise<Service> {
  const env: NodeJS.ProcessEnv = { ...process.env, OPEN_KITCHEN_SECRET_KEY: secretKey, OPEN_KITCHEN_ORGANIZER_TOKEN: token, ...extraEnv };
  for (const k of ['OPEN_KITCHEN_SECRET_KEY_FILE', 'OPEN_KITCHEN_SMTP_HOST', 'OPEN_KITCHEN_INJECT_FAILURES']) if (!(k in extraEnv)) delete env[k];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/organizer.ts', 'serve', '--port', '0', '--data-dir', dataDir, '--concurrency', String(CONCURRENCY)],
    { cwd: repoRoot, env },
  );
  children.add(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /listening on (http\S+)/.exec(out);
      if (m && out.includes('Press Ctrl+C to stop.')) resolve(m[1]);
    };
    child.stdout.on('data', check);
    void exited.then(() => reject(new Error(`serve exited:\n${out}`)));
  });
  return { child, url, output: () => out, exited };
}

// ---- the event stream ----

type StackEvent = Extract<WorkshopEvent, { type: 'stack' }>;

/**
 * Follows the workshop's event stream: the latest summary of each stack, every event in order,
 * and the largest number of stacks that were provisioning at the same time.
 */
class Room {
  readonly stacks = new Map<string, StackSummary>();
  readonly events: WorkshopEvent[] = [];
  maxProvisioning = 0;
  readonly ended: Promise<void>;
  private readonly controller = new AbortController();
  private readonly waiters = new Set<() => void>();
  private endedWith: Error | null = null;

  constructor(client: OrganizerApi) {
    this.ended = client
      .watchWorkshop(WORKSHOP, (e) => this.onEvent(e), this.controller.signal)
      .catch((err: Error) => void (this.endedWith = err))
      .finally(() => {
        this.endedWith ??= new Error('the event stream ended');
        for (const w of this.waiters) w();
      });
  }

  count(status: StackStatus): number {
    return [...this.stacks.values()].filter((s) => s.status === status).length;
  }

  /** Resolves once `pred` holds after some event (or already); rejects if the stream ends first. */
  until(what: string, pred: (e: WorkshopEvent | null) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (e: WorkshopEvent | null) => {
        if (pred(e)) {
          this.waiters.delete(waiter);
          resolve();
        } else if (this.endedWith) {
          this.waiters.delete(waiter);
          reject(new Error(`waiting for ${what}: ${this.endedWith.message}; last statuses: ${JSON.stringify(this.tally())}`));
        }
      };
      const waiter = () => check(this.events.at(-1) ?? null);
      this.waiters.add(waiter);
      check(null);
    });
  }

  tally(): Record<string, number> {
    const t: Record<string, number> = {};
    for (const s of this.stacks.values()) t[s.status] = (t[s.status] ?? 0) + 1;
    return t;
  }

  close(): Promise<void> {
    this.controller.abort();
    return this.ended;
  }

  private onEvent(e: WorkshopEvent): void {
    this.events.push(e);
    if (e.type === 'snapshot') {
      this.stacks.clear();
      for (const s of e.stacks) this.stacks.set(s.id, s);
    } else if (e.type === 'stack') {
      this.stacks.set(e.stack.id, e.stack);
    }
    this.maxProvisioning = Math.max(this.maxProvisioning, this.count('provisioning'));
    for (const w of [...this.waiters]) w();
  }

  /** The messages one stack went through, as `status: message`. */
  historyOf(stackId: string): string[] {
    return this.events
      .filter((e): e is StackEvent => e.type === 'stack' && e.stack.id === stackId)
      .map((e) => `${e.stack.status}: ${e.stack.statusMessage}`);
  }
}

// ---- the rehearsal ----

test(`${STACKS} local stacks: concurrency ${CONCURRENCY}, a retried failure, a kill mid-run, a clean restart, and destroy-all`, { timeout: 300_000 }, async (t) => {
  // First start: the first provision attempt fails by injection.
  const first = await serve({ OPEN_KITCHEN_INJECT_FAILURES: '1' });
  const client = new OrganizerApi({ apiUrl: first.url, token });
  // A small lab cluster per stack keeps 20 of them light; bastion and ports are the same as for any topology.
  await client.createWorkshop({ name: WORKSHOP, title: 'Rehearsal', provider: 'local', topology: { servers: 1, clientsPerZone: 1, zones: ['europe-west1-b'] } });
  const imported = await client.importAttendees(
    WORKSHOP,
    Array.from({ length: STACKS }, (_, i) => ({ email: `cook${i}@example.com`, name: `Cook ${i}` })),
  );
  assert.equal(imported.imported.length, STACKS);
  const attendeeIds = imported.imported.map((a) => a.id);

  // Pre-flight: what 20 stacks will start on this machine.
  const pre = await client.preflight(WORKSHOP);
  assert.equal(pre.ok, true, pre.problems.join('\n'));
  assert.equal(pre.stacks, STACKS);
  assert.equal(pre.ready, 0);
  const perStack = (name: string) => pre.resources.find((r) => r.name === name)!.perStack;
  const processesPerStack = perStack('Processes');
  const portsPerStack = perStack('Ports');
  assert.deepEqual(pre.resources.find((r) => r.name === 'Ports'), { name: 'Ports', unit: 'loopback TCP', perStack: 3, total: 3 * STACKS });
  t.diagnostic(`pre-flight: ${processesPerStack} processes and ${portsPerStack} ports per stack; quotas: ${pre.quotas.map((q) => `${q.metric} ${q.needed}/${q.limit - q.usage} free`).join('; ')}`);

  // Phase 1: the first 8 stacks. The first build's first attempt fails and is retried.
  const room1 = new Room(client);
  await room1.until('the snapshot', () => room1.stacks.size === STACKS);
  const firstBatch = attendeeIds.slice(0, 8);
  await client.provisionStacks(WORKSHOP, firstBatch);
  await room1.until('the first 8 stacks to be ready', () => room1.count('ready') === 8);
  assert.equal(room1.count('failed'), 0);
  const retried = [...room1.stacks.values()].filter((s) => room1.historyOf(s.id).some((m) => /injected failure/.test(m)));
  assert.equal(retried.length, 1, 'exactly one build hit the injected failure');
  const retriedHistory = room1.historyOf(retried[0].id);
  const failedAt = retriedHistory.findIndex((m) =>
    /^provisioning: Attempt 1 failed: injected failure 1 of 1 \(OPEN_KITCHEN_INJECT_FAILURES\), a stand-in for a transient provider error\. Retrying in 2 s\.$/.test(m),
  );
  assert.ok(failedAt > 0, retriedHistory.join('\n'));
  assert.deepEqual(retriedHistory.slice(failedAt + 1, failedAt + 2), ['provisioning: Provisioning again (attempt 2 of 3).']);
  assert.equal(retriedHistory.at(-1), 'ready: Ready.');

  // Phase 2: provision all. The 8 ready ones are left alone; kill the organizer while the
  // rest are being built, right after a stack process was started.
  const all = await client.provisionStacks(WORKSHOP);
  assert.equal(all.stacks.filter((s) => s.status === 'ready').length, 8, 'ready stacks are not built again');
  await room1.until(
    'a stack process starting while another stack of this run is ready',
    (e) => room1.count('ready') > 8 && e?.type === 'stack' && /Starting the stack process/.test(e.stack.statusMessage ?? ''),
  );
  first.child.kill('SIGKILL');
  assert.equal((await first.exited).signal, 'SIGKILL');
  await room1.ended;
  assert.ok(room1.maxProvisioning <= CONCURRENCY, `at most ${CONCURRENCY} provisioning at once, saw ${room1.maxProvisioning}`);
  assert.equal(room1.maxProvisioning, CONCURRENCY, 'the builds did run side by side');
  const atKill = room1.tally();
  const starting = stackFolders().filter((id) => !fs.existsSync(path.join(dataDir, 'stacks', id, 'state.json')));
  t.diagnostic(`killed with ${JSON.stringify(atKill)}; ${starting.length} stack folders had no state file yet`);
  assert.ok(atKill.provisioning >= 1 && atKill.ready > 8, JSON.stringify(atKill));

  // Second start on the same data and key, without injected failures.
  const second = await serve();
  const client2 = new OrganizerApi({ apiUrl: second.url, token });
  const room2 = new Room(client2);
  await room2.until(`all ${STACKS} stacks to be ready`, () => room2.count('ready') === STACKS);
  assert.ok(room2.maxProvisioning <= CONCURRENCY, `at most ${CONCURRENCY} provisioning at once after the restart, saw ${room2.maxProvisioning}`);
  assert.match(second.output(), /Restart check: \d+ ready stacks checked, 0 lost, \d+ resumed/);

  const stacks = (await client2.listStacks(WORKSHOP)).stacks;
  assert.equal(stacks.length, STACKS);
  assert.ok(stacks.every((s) => s.status === 'ready'), JSON.stringify(stacks));
  assert.deepEqual(stackFolders(), stacks.map((s) => s.id).sort(), 'one folder per stack, none left from killed builds');

  // Every stack answers: Nomad through its bastion, with the attendee's key and the pinned host key.
  const invites = await client2.createInvites(WORKSHOP, {});
  const expectedPorts: number[] = [];
  for (const invite of invites.invites) {
    const redeemed = await fetch(`${second.url}/v1/auth/redeem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ invite: new URL(invite.link).searchParams.get('invite') }),
    });
    const session = ((await redeemed.json()) as { token: string }).token;
    const env = (await (await fetch(`${second.url}/v1/me/environment`, { headers: { authorization: `Bearer ${session}` } })).json()) as {
      status: string;
      connection: { bastion: { host: string; port: number; user: string; hostKeyFingerprint: string }; privateKey: string; nomad: { host: string; port: number }; consul: { host: string; port: number } };
    };
    assert.equal(env.status, 'ready');
    const c = env.connection;
    const res = await httpGetThroughBastion({ bastion: c.bastion, privateKey: c.privateKey, target: c.nomad, path: '/v1/status/leader' });
    assert.equal(res.status, 200, `${invite.email}: ${res.body}`);
    assert.equal(res.seenFingerprint, c.bastion.hostKeyFingerprint);
    expectedPorts.push(c.bastion.port, c.nomad.port, c.consul.port);
  }

  // No orphans: exactly 20 stacks' worth of processes, listening on exactly the stacks' ports.
  const organizerPid = second.child.pid!;
  const pids = processesUnder(dataDir, [organizerPid]);
  assert.equal(pids.length, STACKS * processesPerStack, `processes: ${pids.map((p) => cmdline(p)?.join(' ')).join('\n')}`);
  assert.deepEqual(listeningPortsOf(pids), expectedPorts.sort((a, b) => a - b));
  assert.equal(expectedPorts.length, STACKS * portsPerStack);

  // Destroy all: nothing of the workshop keeps running.
  await client2.destroyStacks(WORKSHOP);
  await room2.until(`all ${STACKS} stacks to be destroyed`, () => room2.count('destroyed') === STACKS);
  assert.deepEqual(processesUnder(dataDir, [organizerPid]), []);
  assert.deepEqual(stackFolders(), []);
  await room2.close();

  second.child.kill('SIGTERM');
  assert.equal((await second.exited).code, 0, second.output());
});
