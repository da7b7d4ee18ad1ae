/**
 * The stack service behind the organizer API, with a scripted provider: state transitions,
 * failures and retries, bounded concurrency, idempotent re-runs, teardown, and what a
 * restart does with interrupted builds and stacks that are gone.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { utils as sshUtils } from 'ssh2';
import { Environment, ListStacksResponse, RedeemResponse, STACK_TRANSITIONS, type StackStatus } from '../../src/contract';

const CANCELLED = STACK_TRANSITIONS.cancel.message;
import { LOST_AFTER_RESTART, startOrganizer, type Organizer, type OrganizerOptions, type StackChange } from '../../src/organizer';
import type { PreflightEstimate, Provider, ProvisionedStack, StackKeys, StackSpec, StackTopology } from '../../src/organizer/providers/types';
import { fakeProvisionedStack } from '../fixtures/provisionedStack';

// ---- fixtures ----

function keyPair() {
  // ssh2's generator drops a leading zero byte of the public key about once in 256 keys,
  // leaving a key nothing can parse; draw again in that case.
  for (;;) {
    const pair = sshUtils.generateKeyPairSync('ed25519');
    const parsed = sshUtils.parseKey(pair.public);
    if (parsed instanceof Error || sshUtils.parseKey(pair.private) instanceof Error) continue;
    return {
      privateKey: pair.private,
      publicKey: pair.public,
      fingerprint: 'SHA256:' + crypto.createHash('sha256').update(parsed.getPublicSSH()).digest('base64').replace(/=+$/, ''),
    };
  }
}

function testKeys(): StackKeys {
  const host = keyPair();
  const attendee = keyPair();
  return {
    hostPrivateKey: host.privateKey,
    hostPublicKey: host.publicKey,
    hostKeyFingerprint: host.fingerprint,
    attendeePrivateKey: attendee.privateKey,
    attendeePublicKey: attendee.publicKey,
  };
}

type Step = 'ok' | 'block' | Error;

/**
 * A provider whose every provision call follows a script: succeed, fail with a given error,
 * or block until aborted. It records calls and the largest number of builds at once.
 */
class ScriptedProvider implements Provider {
  readonly name = 'local';
  readonly alive = new Set<string>();
  readonly calls: { op: 'provision' | 'destroy' | 'check'; stackId: string; handle?: unknown }[] = [];
  /** Steps for the next provision calls, in order; 'ok' when empty. */
  readonly script: Step[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private waiters: (() => void)[] = [];

  provisions(stackId?: string): number {
    return this.calls.filter((c) => c.op === 'provision' && (!stackId || c.stackId === stackId)).length;
  }

  /** Resolves once `n` builds are running at the same time. */
  untilInFlight(n: number): Promise<void> {
    return bounded(
      new Promise<void>((resolve) => {
        const check = () => (this.inFlight >= n ? resolve() : this.waiters.push(check));
        check();
      }),
      `${n} builds in flight`,
    );
  }

  async provision(spec: StackSpec, keys: StackKeys, onProgress: (m: string) => void, signal?: AbortSignal): Promise<ProvisionedStack> {
    this.calls.push({ op: 'provision', stackId: spec.stackId });
    const step = this.script.shift() ?? 'ok';
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
    try {
      onProgress('Starting the lab cluster');
      if (step === 'block') {
        await new Promise<void>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      }
      // Let other builds start, so concurrency is observable.
      await new Promise((r) => setTimeout(r, 5));
      if (step instanceof Error) throw step;
      this.alive.add(spec.stackId);
      return fakeProvisionedStack(spec, keys, { handle: { stackId: spec.stackId, dir: spec.dataDir } });
    } finally {
      this.inFlight--;
    }
  }

  /** Each stack is one process with three ports; `quotaLimit` stacks fit (default: any number). */
  quotaLimit = Infinity;

  async preflight(topology: StackTopology, count: number): Promise<PreflightEstimate> {
    const limit = Number.isFinite(this.quotaLimit) ? this.quotaLimit : 1000;
    const ok = count <= limit;
    return {
      resources: [
        { name: 'Processes', unit: null, perStack: 1, total: count },
        { name: 'Ports', unit: null, perStack: 3, total: 3 * count },
      ],
      quotas: [{ metric: 'Stacks', scope: `${topology.servers} servers each`, needed: count, limit, usage: 0, ok }],
      quotaNote: null,
      problems: ok ? [] : [`Stacks: ${count} needed, ${limit} allowed.`],
    };
  }

  /** When set, each destroy waits for what it returns (to hold a teardown or cleanup mid-way). */
  destroyHook: (() => Promise<void>) | null = null;

  async destroy(spec: StackSpec, handle: Record<string, unknown> | null): Promise<void> {
    this.calls.push({ op: 'destroy', stackId: spec.stackId, handle });
    await this.destroyHook?.();
    this.alive.delete(spec.stackId);
  }

  async check(spec: StackSpec): Promise<'alive' | 'lost'> {
    this.calls.push({ op: 'check', stackId: spec.stackId });
    return this.alive.has(spec.stackId) ? 'alive' : 'lost';
  }
}

function bounded<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const tempDirs: string[] = [];
const running = new Set<Organizer>();
after(async () => {
  await Promise.all([...running].map((o) => o.close()));
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Harness {
  org: Organizer;
  provider: ScriptedProvider;
  opts: OrganizerOptions;
}

async function start(overrides: Partial<OrganizerOptions> = {}, reuse?: Harness): Promise<Harness> {
  let dataDir = reuse?.opts.dataDir;
  if (!dataDir) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-stacks-'));
    tempDirs.push(dataDir);
  }
  const provider = reuse?.provider ?? new ScriptedProvider();
  const opts: OrganizerOptions = {
    dataDir,
    secretKey: reuse?.opts.secretKey ?? crypto.randomBytes(32),
    organizerToken: reuse?.opts.organizerToken ?? 'oko_' + crypto.randomBytes(32).toString('base64url'),
    providers: () => provider,
    generateKeys: testKeys,
    retry: { attempts: 1, backoffMs: 1 },
    env: {},
    ...overrides,
  };
  const org = await startOrganizer(opts);
  running.add(org);
  return { org, provider, opts };
}

async function stop(h: Harness): Promise<void> {
  await h.org.close();
  running.delete(h.org);
}

async function call(h: Harness, method: string, url: string, body?: unknown, token = h.opts.organizerToken) {
  const res = await fetch(h.org.url + url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** A workshop with `n` attendees; returns its name and the attendee ids in order. */
async function workshop(h: Harness, n: number): Promise<{ name: string; ids: string[] }> {
  const name = 'st-' + crypto.randomBytes(3).toString('hex');
  assert.equal((await call(h, 'POST', '/v1/workshops', { name, title: 'Stacks' })).status, 201);
  const attendees = Array.from({ length: n }, (_, i) => ({ email: `p${i}@example.com`, name: `P ${i}` }));
  const r = await call(h, 'POST', `/v1/workshops/${name}/attendees`, { attendees });
  return { name, ids: (r.body as { imported: { id: string }[] }).imported.map((i) => i.id) };
}

async function stacks(h: Harness, name: string) {
  return ListStacksResponse.parse((await call(h, 'GET', `/v1/workshops/${name}/stacks`)).body).stacks;
}

/** Resolves when the stack reaches `status` (checked on every change event). */
function untilStatus(h: Harness, stackId: string, status: StackStatus): Promise<void> {
  return bounded(
    new Promise<void>((resolve) => {
      const check = () => {
        if (h.org.store.getStack(stackId)?.status === status) {
          h.org.stacks.off('change', check);
          resolve();
        }
      };
      h.org.stacks.on('change', check);
      check();
    }),
    `stack ${stackId} to be ${status}`,
  );
}

const idle = (h: Harness) => bounded(h.org.stacks.idle(), 'the stack service to be idle');

function assertApiError(r: { status: number; body: unknown }, status: number, message: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match((r.body as { error: { message: string } }).error.message, message);
}

// ---- tests ----

describe('stack service', () => {
  test('a stack goes pending → queued → provisioning → ready, with each step recorded and announced', async () => {
    const h = await start();
    const { name } = await workshop(h, 1);
    const changes: StackChange[] = [];
    h.org.stacks.on('change', (c: StackChange) => changes.push(c));
    const r = await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    assert.equal(r.status, 202);
    const [queued] = ListStacksResponse.parse(r.body).stacks;
    assert.equal(queued.status, 'queued');
    assert.equal(queued.statusMessage, 'Queued for provisioning.');
    await idle(h);

    const [stack] = await stacks(h, name);
    assert.equal(stack.status, 'ready');
    const events = h.org.store.stackEvents(stack.id);
    assert.deepEqual(
      events.map((e) => `${e.status}: ${e.message}`),
      [
        'queued: Queued for provisioning.',
        'provisioning: Provisioning started.',
        'provisioning: Generated the bastion host key and the attendee key.',
        'provisioning: Starting the lab cluster',
        'ready: Ready.',
      ],
    );
    assert.deepEqual(changes.map((c) => c.status), events.map((e) => e.status));
    assert.ok(changes.every((c) => c.id === stack.id && c.workshopId));
    assert.equal(h.provider.provisions(), 1);
    await stop(h);
  });

  test('a failing provider leaves the stack failed with the provider’s message, visible to the attendee', async () => {
    const h = await start();
    const { name, ids } = await workshop(h, 1);
    h.provider.script.push(new Error('quota exceeded: 0 CPUs left in europe-west1'));
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    const [stack] = await stacks(h, name);
    assert.equal(stack.status, 'failed');
    assert.equal(stack.statusMessage, 'quota exceeded: 0 CPUs left in europe-west1');

    const inv = await call(h, 'POST', `/v1/workshops/${name}/invites`, { attendeeIds: ids });
    const invite = new URL((inv.body as { invites: { link: string }[] }).invites[0].link).searchParams.get('invite');
    const session = RedeemResponse.parse((await call(h, 'POST', '/v1/auth/redeem', { invite }, '')).body).token;
    const env = Environment.parse((await call(h, 'GET', '/v1/me/environment', undefined, session)).body);
    assert.equal(env.status, 'failed');
    assert.equal(env.statusMessage, 'quota exceeded: 0 CPUs left in europe-west1');
    assert.equal(env.connection, null);

    // Provisioning again retries the failed stack and keeps its keys (the host key stays pinned).
    const keysBefore = h.org.store.openKeys(h.org.store.getStack(stack.id)!)!;
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    assert.equal((await stacks(h, name))[0].status, 'ready');
    assert.deepEqual(h.org.store.openKeys(h.org.store.getStack(stack.id)!), keysBefore);
    await stop(h);
  });

  test('a transient failure is retried with backoff; a permanent one is not', async () => {
    const h = await start({ retry: { attempts: 3, backoffMs: 1 } });
    const { name, ids } = await workshop(h, 2);
    h.provider.script.push(new Error('connection reset'));
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, { attendeeIds: [ids[0]] });
    await idle(h);
    const [first] = await stacks(h, name);
    assert.equal(first.status, 'ready');
    assert.equal(h.provider.provisions(first.id), 2);
    assert.ok(
      h.org.store.stackEvents(first.id).some((e) => /^Attempt 1 failed: connection reset\. Retrying in 1 ms\.$/.test(e.message ?? '')),
    );

    const permanent = Object.assign(new Error('unknown machine type n9-huge'), { retryable: false });
    h.provider.script.push(permanent);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, { attendeeIds: [ids[1]] });
    await idle(h);
    const second = (await stacks(h, name))[1];
    assert.equal(second.status, 'failed');
    assert.equal(second.statusMessage, 'unknown machine type n9-huge', JSON.stringify(h.org.store.stackEvents(second.id), null, 1) + JSON.stringify(h.provider.calls));
    assert.equal(h.provider.provisions(second.id), 1);
    await stop(h);
  });

  test('no more stacks are built at once than the concurrency allows', async () => {
    const h = await start({ concurrency: 3 });
    const { name } = await workshop(h, 9);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    assert.equal(h.provider.maxInFlight, 3);
    assert.equal(h.provider.provisions(), 9);
    assert.ok((await stacks(h, name)).every((s) => s.status === 'ready'));
    await stop(h);
  });

  test('provisioning twice builds nothing twice', async () => {
    const h = await start({ concurrency: 2 });
    const { name } = await workshop(h, 4);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    // Again while the first run is under way, and once more when it is done.
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    assert.equal(h.provider.provisions(), 4);
    assert.ok((await stacks(h, name)).every((s) => s.status === 'ready'));
    await stop(h);
  });

  test('destroy tears every stack down with its handle and forgets its secrets', async () => {
    const h = await start();
    const { name } = await workshop(h, 3);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    assert.deepEqual((await stacks(h, name)).map((s) => `${s.status}: ${s.statusMessage}`), Array(3).fill('ready: Ready.'));
    const r = await call(h, 'DELETE', `/v1/workshops/${name}/stacks`);
    assert.equal(r.status, 202);
    assert.ok(ListStacksResponse.parse(r.body).stacks.every((s) => s.status === 'destroying'));
    await idle(h);
    const after = await stacks(h, name);
    assert.ok(after.every((s) => s.status === 'destroyed'));
    const destroys = h.provider.calls.filter((c) => c.op === 'destroy');
    assert.equal(destroys.length, 3);
    assert.ok(destroys.every((d) => (d.handle as { stackId: string }).stackId === d.stackId));
    assert.equal(h.provider.alive.size, 0);
    const row = h.org.store.getStack(after[0].id)!;
    assert.equal(row.secrets_sealed, null);
    assert.equal(row.handle, null);

    // A second destroy has nothing to do; provisioning again builds fresh stacks with new keys.
    await call(h, 'DELETE', `/v1/workshops/${name}/stacks`);
    await idle(h);
    assert.equal(h.provider.calls.filter((c) => c.op === 'destroy').length, 3);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    const rebuilt = await stacks(h, name);
    assert.ok(rebuilt.every((s) => s.status === 'ready'), JSON.stringify(rebuilt.map((s) => h.org.store.stackEvents(s.id)), null, 1));
    await stop(h);
  });

  test('destroying a stack while it is being built aborts the build and tears it down', async () => {
    const h = await start();
    const { name } = await workshop(h, 1);
    h.provider.script.push('block');
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await h.provider.untilInFlight(1);
    const [building] = await stacks(h, name);
    await call(h, 'DELETE', `/v1/workshops/${name}/stacks`);
    await untilStatus(h, building.id, 'destroyed');
    await idle(h);
    assert.deepEqual(h.provider.calls.map((c) => c.op), ['provision', 'destroy']);
    await stop(h);
  });

  test('the latest request wins: destroy during a build, then provision again, ends ready', async () => {
    const h = await start();
    const { name } = await workshop(h, 1);
    h.provider.script.push('block');
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await h.provider.untilInFlight(1);
    await call(h, 'DELETE', `/v1/workshops/${name}/stacks`);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    const [stack] = await stacks(h, name);
    assert.equal(stack.status, 'ready');
    assert.equal(h.provider.alive.size, 1);
    await stop(h);
  });

  test('an unusable generated key is replaced before it is stored', async () => {
    let calls = 0;
    const h = await start({
      generateKeys: () => {
        const keys = testKeys();
        // The first pair has a truncated public key, as ssh2 sometimes produces.
        return calls++ === 0 ? { ...keys, attendeePublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAH5cQOf/B73dzGfT0khNPUBgQANj/J3K4EwdKbkqbyQU=' } : keys;
      },
    });
    const { name } = await workshop(h, 1);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    const [stack] = await stacks(h, name);
    assert.equal(stack.status, 'ready');
    assert.equal(calls, 2);
    await stop(h);
  });

  test('an unknown provider fails the stack with a clear message', async () => {
    const h = await start({
      providers: (n) => {
        throw new Error(`no provider named "${n}"`);
      },
    });
    const { name } = await workshop(h, 1);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    const [stack] = await stacks(h, name);
    assert.equal(stack.status, 'failed');
    assert.equal(stack.statusMessage, 'no provider named "local"');
    await stop(h);
  });
});

describe('cancel and pre-flight', () => {
  test('cancel unqueues waiting builds and aborts running ones, cleaning up what they started; provisioning again builds them', async () => {
    const h = await start({ concurrency: 1 });
    const { name } = await workshop(h, 3);
    h.provider.script.push('block');
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await h.provider.untilInFlight(1);
    const r = await call(h, 'POST', `/v1/workshops/${name}/stacks/cancel`, {});
    assert.equal(r.status, 200);
    const right = ListStacksResponse.parse(r.body).stacks;
    assert.deepEqual(
      right.map((s) => `${s.status}: ${s.statusMessage}`),
      ['provisioning: Cancelling: stopping the build and cleaning up what it started.', `cancelled: ${CANCELLED}`, `cancelled: ${CANCELLED}`],
    );
    await idle(h);
    const after = await stacks(h, name);
    assert.deepEqual(after.map((s) => `${s.status}: ${s.statusMessage}`), Array(3).fill(`cancelled: ${CANCELLED}`));
    // The aborted build was torn down; the queued ones never started.
    assert.deepEqual(h.provider.calls.map((c) => `${c.op} ${c.stackId === right[0].id ? 'running' : 'queued'}`), ['provision running', 'destroy running']);
    assert.equal(h.provider.alive.size, 0);
    assert.equal(h.org.store.getStack(right[0].id)!.desired, null);

    // Nothing is resumed after a restart, and provisioning again builds all three.
    await stop(h);
    const again = await start({ concurrency: 1 }, h);
    assert.deepEqual((await bounded(again.org.reconciled, 'reconcile')).resumed, []);
    await call(again, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(again);
    assert.deepEqual((await stacks(again, name)).map((s) => s.status), ['ready', 'ready', 'ready']);
    await stop(again);
  });

  test('cancel for chosen attendees leaves the other builds alone and ready stacks untouched', async () => {
    const h = await start({ concurrency: 2 });
    const { name, ids } = await workshop(h, 4);
    h.provider.script.push('ok', 'block', 'block', 'block');
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    const [done, second, third, fourth] = await stacks(h, name);
    await untilStatus(h, done.id, 'ready');
    await h.provider.untilInFlight(2);
    // Building now: the second and the third; the fourth waits for a slot.
    const r = await call(h, 'POST', `/v1/workshops/${name}/stacks/cancel`, { attendeeIds: [ids[0], ids[2]] });
    assert.equal(r.status, 200);
    await untilStatus(h, third.id, 'cancelled');
    assert.equal(h.org.store.getStack(third.id)!.status_message, CANCELLED);
    assert.equal(h.org.store.getStack(done.id)!.status, 'ready');
    assert.equal(h.org.store.getStack(second.id)!.status, 'provisioning');
    // The freed slot goes to the fourth, which keeps its request.
    await h.provider.untilInFlight(2);
    assert.equal(h.provider.provisions(fourth.id), 1);
    await call(h, 'POST', `/v1/workshops/${name}/stacks/cancel`, {});
    await idle(h);
    assert.deepEqual(
      (await stacks(h, name)).map((s) => `${s.status}: ${s.statusMessage}`),
      ['ready: Ready.', `cancelled: ${CANCELLED}`, `cancelled: ${CANCELLED}`, `cancelled: ${CANCELLED}`],
    );
    assert.deepEqual([...h.provider.alive], [done.id]);
    assertApiError(await call(h, 'POST', `/v1/workshops/${name}/stacks/cancel`, { attendeeIds: 'all' }), 422, /attendeeIds/);
    await stop(h);
  });

  test('a cancel whose cleanup was cut short by a stop is finished by the next start, not rebuilt', async () => {
    const h = await start();
    const { name } = await workshop(h, 1);
    h.provider.script.push('block');
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await h.provider.untilInFlight(1);
    let release!: () => void;
    const cleanupStarted = new Promise<void>((started) => {
      h.provider.destroyHook = () => {
        started();
        return new Promise<void>((r) => (release = r));
      };
    });
    await call(h, 'POST', `/v1/workshops/${name}/stacks/cancel`, {});
    await bounded(cleanupStarted, 'the cleanup to start');
    const [stack] = await stacks(h, name);
    assert.equal(stack.status, 'provisioning');
    // The service stops while the cleanup is under way (as on SIGTERM); the cleanup then ends unrecorded.
    const stopping = h.org.stacks.close();
    release();
    await stopping;
    await stop(h);
    h.provider.destroyHook = null;
    const again = await start({}, h);
    assert.deepEqual((await bounded(again.org.reconciled, 'reconcile')).resumed, []);
    await idle(again);
    const after = await stacks(again, name);
    assert.equal(`${after[0].status}: ${after[0].statusMessage}`, `cancelled: ${CANCELLED}`);
    assert.equal(stack.id, after[0].id);
    assert.deepEqual(h.provider.calls.map((c) => c.op), ['provision', 'destroy', 'destroy']);
    await stop(again);
  });

  test('pre-flight counts the stacks not ready and reports the provider’s quota problem; a provider that cannot load is a problem too', async () => {
    const h = await start();
    const { name, ids } = await workshop(h, 3);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, { attendeeIds: [ids[0]] });
    await idle(h);
    h.provider.quotaLimit = 1;
    const r = await call(h, 'GET', `/v1/workshops/${name}/preflight`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      workshop: name,
      provider: 'local',
      stacks: 2,
      ready: 1,
      resources: [
        { name: 'Processes', unit: null, perStack: 1, total: 2 },
        { name: 'Ports', unit: null, perStack: 3, total: 6 },
      ],
      quotas: [{ metric: 'Stacks', scope: '3 servers each', needed: 2, limit: 1, usage: 0, ok: false }],
      quotaNote: null,
      problems: ['Stacks: 2 needed, 1 allowed.'],
      ok: false,
    });
    await stop(h);

    const broken = await start({
      providers: () => {
        throw new Error('The terraform binary "terraform" was not found.');
      },
    });
    const w = await workshop(broken, 1);
    const p = (await call(broken, 'GET', `/v1/workshops/${w.name}/preflight`)).body as { ok: boolean; problems: string[]; stacks: number };
    assert.deepEqual(p.problems, ['The terraform binary "terraform" was not found.']);
    assert.equal(p.ok, false);
    assert.equal(p.stacks, 1);
    await stop(broken);
  });
});

describe('the rehearsal knob OPEN_KITCHEN_INJECT_FAILURES', () => {
  test('the first n build attempts fail as transient errors and are retried; the provider sees only the attempts after them', async () => {
    const h = await start({ env: { OPEN_KITCHEN_INJECT_FAILURES: '2' }, retry: { attempts: 3, backoffMs: 1 } });
    const { name } = await workshop(h, 2);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    assert.deepEqual((await stacks(h, name)).map((s) => s.status), ['ready', 'ready']);
    assert.equal(h.provider.provisions(), 2);
    const failures = (await stacks(h, name)).flatMap((s) => h.org.store.stackEvents(s.id)).filter((e) => /injected failure/.test(e.message ?? ''));
    assert.equal(failures.length, 2);
    await stop(h);
  });

  test('it is off unless set, and a value that is not a whole number stops the start', async () => {
    await assert.rejects(start({ env: { OPEN_KITCHEN_INJECT_FAILURES: 'two' } }), /OPEN_KITCHEN_INJECT_FAILURES must be a whole number of provision attempts to fail, not "two"/);
    const h = await start({ env: {} });
    const { name } = await workshop(h, 1);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    assert.equal(h.org.store.stackEvents((await stacks(h, name))[0].id).some((e) => /injected/.test(e.message ?? '')), false);
    await stop(h);
  });
});

describe('stack service across restarts', () => {
  test('a ready stack that is gone after a restart is marked failed as lost; one still there stays ready', async () => {
    const h = await start();
    const { name } = await workshop(h, 2);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(h);
    const [gone, kept] = await stacks(h, name);
    await stop(h);
    h.provider.alive.delete(gone.id);

    const again = await start({}, h);
    const report = await bounded(again.org.reconciled, 'reconcile');
    assert.deepEqual(report, { checked: 2, lost: [gone.id], resumed: [] });
    const after = await stacks(again, name);
    assert.equal(after[0].status, 'failed');
    assert.equal(after[0].statusMessage, LOST_AFTER_RESTART);
    assert.equal(after[1].status, 'ready');
    assert.equal(after[1].id, kept.id);

    // Provisioning again cleans up the remains of the lost stack and rebuilds it.
    const before = h.provider.calls.length;
    await call(again, 'POST', `/v1/workshops/${name}/stacks`, {});
    await idle(again);
    assert.deepEqual(
      h.provider.calls.slice(before).map((c) => `${c.op} ${c.stackId === gone.id ? 'gone' : 'kept'}`),
      ['destroy gone', 'provision gone'],
    );
    assert.equal((await stacks(again, name))[0].status, 'ready');
    await stop(again);
  });

  test('builds interrupted by a stop, and queued ones, finish after the next start', async () => {
    const h = await start({ concurrency: 1 });
    const { name } = await workshop(h, 3);
    h.provider.script.push('block');
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, {});
    await h.provider.untilInFlight(1);
    const [interrupted] = await stacks(h, name);
    assert.equal(interrupted.status, 'provisioning');
    await stop(h);
    assert.equal(h.provider.provisions(), 1, 'the queued builds did not start during shutdown');

    const again = await start({ concurrency: 1 }, h);
    const report = await bounded(again.org.reconciled, 'reconcile');
    assert.equal(report.resumed.length, 3);
    assert.ok(report.resumed.includes(interrupted.id));
    await idle(again);
    const after = await stacks(again, name);
    assert.deepEqual(after.map((s) => s.status), ['ready', 'ready', 'ready']);
    // The interrupted build was cleaned up once before being built again; each stack was built once more.
    assert.equal(h.provider.calls.filter((c) => c.op === 'destroy' && c.stackId === interrupted.id).length, 1);
    assert.equal(h.provider.provisions(), 4);
    await stop(again);
  });
});
