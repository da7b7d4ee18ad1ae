/**
 * The organizer service over real HTTP and a real SQLite file: sign-in with invites,
 * sessions, attendee isolation, organizer authorization, error shapes, rate limiting,
 * secrets at rest, restarts, TLS and the CLI's refusal to start without a key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { utils as sshUtils } from 'ssh2';
import {
  ApiError,
  Environment,
  ListAttendeesResponse,
  Me,
  ProgressResponse,
  RedeemResponse,
  routes,
  Workshop,
  type AttendeeSummary,
  type WorkshopEvent,
} from '../../src/contract';
import { OrganizerApi } from '../../src/organizerClient';
import { openDatabase, startOrganizer, type Organizer, type OrganizerOptions } from '../../src/organizer';
import type { PreflightEstimate, Provider, ProvisionedStack, StackKeys, StackSpec } from '../../src/organizer/providers/types';
import { fakeProvisionedStack } from '../fixtures/provisionedStack';

const repoRoot = path.resolve(__dirname, '..', '..');

// ---- fixtures ----

function sshKeyPair(): { privateKey: string; publicKey: string; fingerprint: string } {
  // ssh2's generator drops a leading zero byte of the public key about once in 256 keys,
  // leaving a key nothing can parse; draw again in that case.
  for (;;) {
    const pair = sshUtils.generateKeyPairSync('ed25519');
    const parsed = sshUtils.parseKey(pair.public);
    if (parsed instanceof Error || sshUtils.parseKey(pair.private) instanceof Error) continue;
    const fingerprint = 'SHA256:' + crypto.createHash('sha256').update(parsed.getPublicSSH()).digest('base64').replace(/=+$/, '');
    return { privateKey: pair.private, publicKey: pair.public, fingerprint };
  }
}

function testKeys(): StackKeys {
  const host = sshKeyPair();
  const attendee = sshKeyPair();
  return {
    hostPrivateKey: host.privateKey,
    hostPublicKey: host.publicKey,
    hostKeyFingerprint: host.fingerprint,
    attendeePrivateKey: attendee.privateKey,
    attendeePublicKey: attendee.publicKey,
  };
}

/** Builds stacks instantly; every stack it built stays alive until destroyed. */
class InstantProvider implements Provider {
  readonly name = 'local';
  readonly alive = new Set<string>();
  readonly secrets: string[] = [];

  async provision(spec: StackSpec, keys: StackKeys, onProgress: (m: string) => void): Promise<ProvisionedStack> {
    onProgress('Starting the lab cluster');
    this.alive.add(spec.stackId);
    const nomadToken = `nomad-secret-${crypto.randomBytes(8).toString('hex')}`;
    this.secrets.push(nomadToken);
    return fakeProvisionedStack(spec, keys, { dns: { internal: `${spec.name}.internal`, external: null }, nomadToken });
  }

  async preflight(_topology: unknown, count: number): Promise<PreflightEstimate> {
    return {
      resources: [{ name: 'Processes', unit: null, perStack: 1, total: count }],
      quotas: [],
      quotaNote: 'The instant provider reads no quotas.',
      problems: [],
    };
  }

  async destroy(spec: StackSpec): Promise<void> {
    this.alive.delete(spec.stackId);
  }

  async check(spec: StackSpec): Promise<'alive' | 'lost'> {
    return this.alive.has(spec.stackId) ? 'alive' : 'lost';
  }
}

interface Harness {
  org: Organizer;
  dataDir: string;
  secretKey: Buffer;
  provider: InstantProvider;
  clock: { now: number };
  opts: OrganizerOptions;
}

const tempDirs: string[] = [];
const running = new Set<Organizer>();
after(async () => {
  await Promise.all([...running].map((o) => o.close()));
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-organizer-'));
  tempDirs.push(d);
  return d;
}

async function start(overrides: Partial<OrganizerOptions> = {}, reuse?: Harness): Promise<Harness> {
  const dataDir = reuse?.dataDir ?? tempDir();
  const secretKey = reuse?.secretKey ?? crypto.randomBytes(32);
  const provider = reuse?.provider ?? new InstantProvider();
  const clock = reuse?.clock ?? { now: Date.now() };
  const opts: OrganizerOptions = {
    dataDir,
    secretKey,
    organizerToken: 'oko_test-organizer-token-' + crypto.randomBytes(16).toString('hex'),
    providers: () => provider,
    generateKeys: testKeys,
    now: () => new Date(clock.now),
    env: {},
    ...(reuse ? { organizerToken: reuse.opts.organizerToken } : {}),
    ...overrides,
  };
  const org = await startOrganizer(opts);
  running.add(org);
  return { org, dataDir, secretKey, provider, clock, opts };
}

async function stop(h: Harness): Promise<void> {
  await h.org.close();
  running.delete(h.org);
}

interface Res {
  status: number;
  body: unknown;
  headers: Headers;
}

async function call(
  h: Harness,
  method: string,
  url: string,
  o: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Res> {
  const headers: Record<string, string> = { ...o.headers };
  const token = o.token === undefined ? h.opts.organizerToken : o.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (o.raw !== undefined) {
    payload = o.raw;
    headers['content-type'] ??= 'application/json';
  } else if (o.body !== undefined) {
    payload = JSON.stringify(o.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(h.org.url + url, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

function assertError(res: Res, status: number, code: string, message?: RegExp): ApiError {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  const err = ApiError.parse(res.body);
  assert.equal(err.error.code, code);
  if (message) assert.match(err.error.message, message);
  return err;
}

function inviteToken(link: string): string {
  return new URL(link).searchParams.get('invite')!;
}

/** A workshop with attendees and one invite each; returns their invite tokens by email. */
async function workshopWithInvites(h: Harness, emails: string[], ttlHours = 72) {
  const name = 'ws-' + crypto.randomBytes(3).toString('hex');
  const w = await call(h, 'POST', '/v1/workshops', { body: { name, title: 'Nomad in practice' } });
  assert.equal(w.status, 201, JSON.stringify(w.body));
  const workshop = Workshop.parse(w.body);
  const imp = await call(h, 'POST', `/v1/workshops/${name}/attendees`, {
    body: { attendees: emails.map((email) => ({ email, name: email.split('@')[0] })) },
  });
  assert.equal(imp.status, 200, JSON.stringify(imp.body));
  const inv = await call(h, 'POST', `/v1/workshops/${name}/invites`, { body: { ttlHours } });
  assert.equal(inv.status, 201, JSON.stringify(inv.body));
  const invites = (inv.body as { invites: { email: string; link: string; attendeeId: string }[] }).invites;
  const byEmail = new Map(invites.map((i) => [i.email, { token: inviteToken(i.link), attendeeId: i.attendeeId, link: i.link }]));
  return { workshop, name, invites: byEmail };
}

async function signIn(h: Harness, invite: string): Promise<string> {
  const r = await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return RedeemResponse.parse(r.body).token;
}

async function provisionAndWait(h: Harness, workshop: string): Promise<void> {
  const r = await call(h, 'POST', `/v1/workshops/${workshop}/stacks`, { body: {} });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  await h.org.stacks.idle();
}

// ---- tests ----

describe('organizer service', () => {
  let h: Harness;
  before(async () => {
    h = await start();
  });

  test('health answers without a token', async () => {
    const r = await call(h, 'GET', '/v1/health', { token: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok', api: 'v1' });
  });

  test('an invite signs in once; redeeming it again is 410 invite_used', async () => {
    const { invites, workshop } = await workshopWithInvites(h, ['ada@example.com']);
    const invite = invites.get('ada@example.com')!;
    const link = new URL(invite.link);
    assert.equal(link.searchParams.get('api'), h.org.publicUrl);

    const first = await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: invite.token } });
    assert.equal(first.status, 200);
    const redeemed = RedeemResponse.parse(first.body);
    assert.equal(redeemed.attendee.email, 'ada@example.com');
    assert.equal(redeemed.workshop.id, workshop.id);
    assert.ok(Buffer.from(redeemed.token.replace(/^oks_/, ''), 'base64url').length >= 16, 'session token has at least 128 random bits');

    const me = await call(h, 'GET', '/v1/me', { token: redeemed.token });
    assert.equal(me.status, 200);
    assert.equal(Me.parse(me.body).email, 'ada@example.com');
    assert.equal(Me.parse(me.body).role, 'attendee');

    const second = await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: invite.token } });
    assertError(second, 410, 'invite_used', /already used/);
  });

  test('an unknown invite is 401 invite_invalid', async () => {
    const r = await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: 'oki_' + 'x'.repeat(43) } });
    assertError(r, 401, 'invite_invalid');
  });

  test('an expired invite is 410 invite_expired', async () => {
    const { invites } = await workshopWithInvites(h, ['late@example.com'], 1);
    h.clock.now += 2 * 3600_000;
    try {
      const r = await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: invites.get('late@example.com')!.token } });
      assertError(r, 410, 'invite_expired', /expired/);
    } finally {
      h.clock.now -= 2 * 3600_000;
    }
  });

  test('a newer invite replaces the unused older one', async () => {
    const { invites, name } = await workshopWithInvites(h, ['again@example.com']);
    const old = invites.get('again@example.com')!;
    const r = await call(h, 'POST', `/v1/workshops/${name}/invites`, { body: { attendeeIds: [old.attendeeId] } });
    assert.equal(r.status, 201);
    const fresh = inviteToken((r.body as { invites: { link: string }[] }).invites[0].link);
    assertError(await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: old.token } }), 410, 'invite_expired', /replaced/);
    await signIn(h, fresh);
    // Without ids, only attendees who still need an invite get one.
    const none = await call(h, 'POST', `/v1/workshops/${name}/invites`, { body: {} });
    assert.deepEqual((none.body as { invites: unknown[] }).invites, []);
  });

  test('the environment is pending until the stack is provisioned, then ready with connection details', async () => {
    const { invites, name } = await workshopWithInvites(h, ['grace@example.com']);
    const token = await signIn(h, invites.get('grace@example.com')!.token);
    const before = Environment.parse((await call(h, 'GET', '/v1/me/environment', { token })).body);
    assert.equal(before.status, 'pending');
    assert.equal(before.connection, null);

    await provisionAndWait(h, name);
    const env = Environment.parse((await call(h, 'GET', '/v1/me/environment', { token })).body);
    assert.equal(env.status, 'ready');
    assert.equal(env.stackId, before.stackId);
    assert.match(env.connection!.privateKey, /BEGIN OPENSSH PRIVATE KEY/);
    assert.deepEqual(env.connection!.datacenters, ['sys1', 'dc1']);
  });

  test('attendee A sees only A’s environment and B only B’s', async () => {
    const { invites, name } = await workshopWithInvites(h, ['a@example.com', 'b@example.com']);
    const tokenA = await signIn(h, invites.get('a@example.com')!.token);
    const tokenB = await signIn(h, invites.get('b@example.com')!.token);
    await provisionAndWait(h, name);

    const envA = Environment.parse((await call(h, 'GET', '/v1/me/environment', { token: tokenA })).body);
    const envB = Environment.parse((await call(h, 'GET', '/v1/me/environment', { token: tokenB })).body);
    assert.notEqual(envA.stackId, envB.stackId);
    assert.notEqual(envA.connection!.privateKey, envB.connection!.privateKey);
    assert.notEqual(envA.connection!.bastion.hostKeyFingerprint, envB.connection!.bastion.hostKeyFingerprint);

    const stacks = (await call(h, 'GET', `/v1/workshops/${name}/stacks`)).body as { stacks: { id: string; attendeeId: string }[] };
    const stackOf = (id: string) => stacks.stacks.find((s) => s.attendeeId === id)!.id;
    assert.equal(envA.stackId, stackOf(invites.get('a@example.com')!.attendeeId));
    assert.equal(envB.stackId, stackOf(invites.get('b@example.com')!.attendeeId));

    assert.equal(Me.parse((await call(h, 'GET', '/v1/me', { token: tokenA })).body).email, 'a@example.com');
    assert.equal(Me.parse((await call(h, 'GET', '/v1/me', { token: tokenB })).body).email, 'b@example.com');
    // An attendee cannot reach other attendees' data through the organizer routes either.
    assertError(await call(h, 'GET', `/v1/workshops/${name}/stacks`, { token: tokenA }), 403, 'forbidden');
  });

  test('organizer endpoints refuse attendee tokens (403), missing and unknown tokens (401)', async () => {
    const { invites, name } = await workshopWithInvites(h, ['eve@example.com']);
    const token = await signIn(h, invites.get('eve@example.com')!.token);
    const organizerRoutes = Object.entries(routes)
      .filter(([, r]) => r.includes('/v1/workshops'))
      .map(([, r]) => r.replace(':workshop', name).split(' ') as [string, string]);
    assert.equal(organizerRoutes.length, 13);
    for (const [method, url] of organizerRoutes) {
      const body = method === 'GET' || method === 'DELETE' ? undefined : {};
      const asAttendee = await call(h, method, url, { token, body });
      assertError(asAttendee, 403, 'forbidden', /organizer token/);
      const anonymous = await call(h, method, url, { token: null, body });
      assertError(anonymous, 401, 'unauthorized', /Authorization/);
      assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
      assertError(await call(h, method, url, { token: 'oks_not-a-real-token', body }), 401, 'unauthorized');
    }
    // Nothing was changed by the refused calls.
    const list = ListAttendeesResponse.parse((await call(h, 'GET', `/v1/workshops/${name}/attendees`)).body);
    assert.equal(list.attendees.length, 1);
  });

  test('attendee endpoints refuse the organizer token with 403 and anonymous calls with 401', async () => {
    for (const r of [routes.me, routes.environment, routes.listProgress, routes.signOut]) {
      const [method, url] = r.split(' ');
      assertError(await call(h, method, url), 403, 'forbidden', /attendees/);
      assertError(await call(h, method, url, { token: null }), 401, 'unauthorized');
    }
  });

  test('malformed JSON is 400 bad_request; a body that breaks the schema is 422 naming the field', async () => {
    const bad = await call(h, 'POST', '/v1/workshops', { raw: '{"name": "x",' });
    assertError(bad, 400, 'bad_request', /not valid JSON/);

    const invalid = await call(h, 'POST', '/v1/workshops', { body: { name: 'Not A Name!', title: '' } });
    const err = assertError(invalid, 422, 'validation_failed', /name: name must be 2-41 lowercase/);
    assert.deepEqual(err.error.details!.map((d) => d.path).sort(), ['name', 'title']);

    const redeem = await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: 42 } });
    const rerr = assertError(redeem, 422, 'validation_failed', /invite/);
    assert.equal(rerr.error.details![0].path, 'invite');

    const nested = await call(h, 'POST', '/v1/workshops', {
      body: { name: 'nested-check', title: 't', topology: { zones: [] } },
    });
    assert.equal(assertError(nested, 422, 'validation_failed').error.details![0].path, 'topology.zones');

    const noBody = await call(h, 'POST', '/v1/workshops', {});
    assertError(noBody, 422, 'validation_failed', /JSON body/);

    const wrongType = await call(h, 'POST', '/v1/workshops', { raw: 'name=x', headers: { 'content-type': 'text/plain' } });
    assert.ok(wrongType.status === 415, `status ${wrongType.status}`);
    assert.equal(ApiError.parse(wrongType.body).error.code, 'bad_request');
  });

  test('an unknown route and an unknown workshop are 404 with the error shape', async () => {
    assertError(await call(h, 'GET', '/v1/nope'), 404, 'not_found', /No route GET \/v1\/nope/);
    assertError(await call(h, 'GET', '/v1/workshops/no-such-workshop'), 404, 'not_found', /no-such-workshop/);
  });

  test('a duplicate workshop name is 409 conflict', async () => {
    const body = { name: 'dupe-' + crypto.randomBytes(2).toString('hex'), title: 'x' };
    assert.equal((await call(h, 'POST', '/v1/workshops', { body })).status, 201);
    assertError(await call(h, 'POST', '/v1/workshops', { body }), 409, 'conflict', /already exists/);
  });

  test('importing a roster imports the good rows and reports each bad one', async () => {
    const name = 'roster-' + crypto.randomBytes(2).toString('hex');
    await call(h, 'POST', '/v1/workshops', { body: { name, title: 'Roster' } });
    await call(h, 'POST', `/v1/workshops/${name}/attendees`, { body: { attendees: [{ email: 'first@example.com', name: 'First' }] } });
    const r = await call(h, 'POST', `/v1/workshops/${name}/attendees`, {
      body: {
        attendees: [
          { email: 'ok@example.com', name: 'Ok', team: 'red' },
          { email: 'not-an-email', name: 'Bad' },
          { email: 'OK@example.com', name: 'Dup' },
          { email: 'first@example.com', name: 'Again' },
          { email: 'noname@example.com' },
        ],
      },
    });
    assert.equal(r.status, 200);
    const body = r.body as { imported: { email: string }[]; rejected: { index: number; reason: string }[] };
    assert.deepEqual(body.imported.map((i) => i.email), ['ok@example.com']);
    assert.deepEqual(
      body.rejected.map((x) => [x.index, x.reason]),
      [
        [1, 'email: not a valid email address'],
        [2, 'duplicate of attendees.0 in this import'],
        [3, 'already an attendee of this workshop'],
        [4, 'name: Required'],
      ],
    );
    assertError(await call(h, 'POST', `/v1/workshops/${name}/attendees`, { body: { attendees: [] } }), 422, 'validation_failed', /attendees/);
  });

  test('progress is recorded per step and shows in the organizer’s attendee list', async () => {
    const { invites, name } = await workshopWithInvites(h, ['lin@example.com']);
    const token = await signIn(h, invites.get('lin@example.com')!.token);
    await call(h, 'POST', '/v1/me/progress', { token, body: { labId: 'lab1', stepId: 's1', status: 'started' } });
    h.clock.now += 1000;
    await call(h, 'POST', '/v1/me/progress', { token, body: { labId: 'lab1', stepId: 's1', status: 'done' } });
    h.clock.now += 1000;
    const last = await call(h, 'POST', '/v1/me/progress', { token, body: { labId: 'lab1', stepId: 's2', status: 'started', detail: 'x' } });
    const progress = ProgressResponse.parse(last.body).progress;
    assert.deepEqual(progress.map((p) => [p.stepId, p.status]), [['s1', 'done'], ['s2', 'started']]);
    assert.deepEqual(ProgressResponse.parse((await call(h, 'GET', '/v1/me/progress', { token })).body), { progress });
    assertError(await call(h, 'POST', '/v1/me/progress', { token, body: { labId: 'lab1', stepId: 's3', status: 'finished' } }), 422, 'validation_failed', /status/);

    const list = ListAttendeesResponse.parse((await call(h, 'GET', `/v1/workshops/${name}/attendees`)).body);
    const lin = list.attendees[0];
    assert.deepEqual(lin.progress, { done: 1, current: 'lab1/s2' });
    assert.equal(lin.invite.status, 'redeemed');
    assert.ok(lin.lastSeenAt, 'last seen is recorded');
    assert.equal(lin.stack?.status, 'pending');
  });

  test('signing out revokes the session', async () => {
    const { invites } = await workshopWithInvites(h, ['out@example.com']);
    const token = await signIn(h, invites.get('out@example.com')!.token);
    const r = await call(h, 'POST', '/v1/auth/signout', { token });
    assert.equal(r.status, 204);
    assertError(await call(h, 'GET', '/v1/me', { token }), 401, 'unauthorized', /signed out/);
  });

  test('a session expires after its lifetime with a message that says so', async () => {
    const { invites } = await workshopWithInvites(h, ['old@example.com']);
    const token = await signIn(h, invites.get('old@example.com')!.token);
    const me = Me.parse((await call(h, 'GET', '/v1/me', { token })).body);
    const ttl = Date.parse(me.sessionExpiresAt) - h.clock.now;
    assert.ok(Math.abs(ttl - 14 * 24 * 3600_000) < 5000, 'sessions last 14 days');
    h.clock.now += ttl + 1000;
    try {
      assertError(await call(h, 'GET', '/v1/me', { token }), 401, 'unauthorized', /session expired/);
    } finally {
      h.clock.now -= ttl + 1000;
    }
  });
});

describe('organizer service limits and storage', () => {
  test('failed sign-in attempts beyond the limit get 429 rate_limited, successful ones do not count', async () => {
    const h = await start({ signInFailureLimit: { max: 3, timeWindowMs: 60_000 } });
    // A room behind one address: more successful sign-ins than the failure limit.
    const { invites } = await workshopWithInvites(h, ['r1@example.com', 'r2@example.com', 'r3@example.com', 'r4@example.com']);
    for (const i of invites.values()) await signIn(h, i.token);

    const attempt = () => call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: 'oki_' + 'y'.repeat(43) } });
    for (let i = 0; i < 3; i++) assertError(await attempt(), 401, 'invite_invalid');
    const limited = await attempt();
    assertError(limited, 429, 'rate_limited', /Too many failed sign-in attempts; try again in 60 seconds/);
    assert.equal(limited.headers.get('retry-after'), '60');
    // Other routes are not limited, and the window passes.
    assert.equal((await call(h, 'GET', '/v1/health', { token: null })).status, 200);
    h.clock.now += 60_000;
    assertError(await attempt(), 401, 'invite_invalid');
    await stop(h);
  });

  test('attendees clicking a used invite again do not lock the room out: only unknown invites count as failures', async () => {
    const h = await start({ signInFailureLimit: { max: 3, timeWindowMs: 60_000 } });
    const { invites } = await workshopWithInvites(h, ['u1@example.com', 'u2@example.com']);
    const [used, fresh] = [...invites.values()];
    await signIn(h, used!.token);
    // Five clicks on the link that already signed in, all from the room's one address.
    for (let i = 0; i < 5; i++) {
      assertError(await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: used!.token } }), 410, 'invite_used');
    }
    assert.equal((await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: fresh!.token } })).status, 200);
    await stop(h);
  });

  test('all sign-in requests are capped per address as a flood guard', async () => {
    const h = await start({ redeemRateLimit: { max: 2, timeWindowMs: 60_000 } });
    const attempt = () => call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: 'oki_' + 'w'.repeat(43) } });
    for (let i = 0; i < 2; i++) assertError(await attempt(), 401, 'invite_invalid');
    const limited = await attempt();
    assertError(limited, 429, 'rate_limited', /Too many sign-in attempts/);
    assert.ok(limited.headers.get('retry-after'));
    await stop(h);
  });

  test('a database from before invite mail is upgraded in place: its invites still work and count as never mailed', async () => {
    const h = await start();
    const { invites, name } = await workshopWithInvites(h, ['legacy@example.com']);
    await stop(h);
    // Turn the database back into what an organizer of schema version 1 left behind.
    const db = openDatabase(path.join(h.dataDir, 'organizer.db'));
    db.exec('ALTER TABLE invites DROP COLUMN mailed_at; DELETE FROM schema_migrations WHERE version > 1;');
    db.close();
    const again = await start({}, h);
    const list = ListAttendeesResponse.parse((await call(again, 'GET', `/v1/workshops/${name}/attendees`)).body).attendees;
    assert.deepEqual(list.map((a) => [a.invite.status, a.invite.mailedAt]), [['sent', null]]);
    await signIn(again, invites.get('legacy@example.com')!.token);
    await stop(again);
  });

  test('the database file holds no token or private key in clear text', async () => {
    const h = await start();
    const { invites, name } = await workshopWithInvites(h, ['s1@example.com', 's2@example.com']);
    const unredeemed = invites.get('s2@example.com')!.token;
    const session = await signIn(h, invites.get('s1@example.com')!.token);
    await provisionAndWait(h, name);
    const env = Environment.parse((await call(h, 'GET', '/v1/me/environment', { token: session })).body);
    const pem = env.connection!.privateKey;
    const stack = h.org.store.getStack(env.stackId)!;
    const keys = h.org.store.openKeys(stack)!;

    const needles = new Map<string, string>([
      ['organizer token', h.opts.organizerToken!],
      ['session token', session],
      ['redeemed invite', invites.get('s1@example.com')!.token],
      ['unredeemed invite', unredeemed],
      ['attendee private key', pem],
      ['attendee key body', pem.split('\n')[1]],
      ['host private key body', keys.hostPrivateKey.split('\n')[1]],
      ['PEM header', 'BEGIN OPENSSH PRIVATE KEY'],
      ['nomad ACL token', h.provider.secrets[0]],
    ]);
    const scan = (when: string) => {
      const files = ['', '-wal', '-shm'].map((s) => h.org.dbFile + s).filter((f) => fs.existsSync(f));
      assert.ok(files.length >= 1);
      for (const f of files) {
        const bytes = fs.readFileSync(f);
        for (const [what, needle] of needles) {
          assert.equal(bytes.includes(Buffer.from(needle, 'utf8')), false, `${what} found in clear text in ${path.basename(f)} (${when})`);
        }
      }
    };
    scan('while running, WAL included');
    const dbFile = h.org.dbFile;
    await stop(h);
    assert.ok(fs.statSync(dbFile).size > 0);
    scan('after shutdown');
  });

  test('the service refuses to start without a secret key and says how to make one', async () => {
    const dataDir = tempDir();
    await assert.rejects(startOrganizer({ dataDir, env: {} }), (err: Error) => {
      assert.equal(err.name, 'SecretKeyError');
      assert.match(err.message, /node dist\/organizer\.js keygen --out organizer\.key/);
      return true;
    });
    assert.equal(fs.existsSync(path.join(dataDir, 'organizer.db')), false, 'nothing was created');
    await assert.rejects(startOrganizer({ dataDir, env: { OPEN_KITCHEN_SECRET_KEY: 'c2hvcnQ=' } }), /must be 32 bytes/);
  });

  test('the CLI refuses to start without a secret key and prints the keygen command', async () => {
    const dataDir = tempDir();
    const env = { ...process.env };
    delete env.OPEN_KITCHEN_SECRET_KEY;
    delete env.OPEN_KITCHEN_SECRET_KEY_FILE;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/organizer.ts', 'serve', '--port', '0', '--data-dir', dataDir], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(stderr, /No secret key/);
    assert.match(stderr, /node dist\/organizer\.js keygen --out organizer\.key/);
  });

  test('keygen writes a usable key and never overwrites one', () => {
    const dir = tempDir();
    const keyFile = path.join(dir, 'organizer.key');
    const run = () =>
      execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/organizer.ts', 'keygen', '--out', keyFile], {
        cwd: repoRoot,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    assert.match(run(), /Wrote a new secret key/);
    const key = fs.readFileSync(keyFile, 'utf8');
    assert.equal(Buffer.from(key.trim(), 'base64').length, 32);
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    assert.throws(run, (err: { status: number; stderr: string }) => err.status === 1 && /already exists/.test(err.stderr));
    assert.equal(fs.readFileSync(keyFile, 'utf8'), key);
  });

  test('a different secret key for an existing database is refused', async () => {
    const h = await start();
    await stop(h);
    await assert.rejects(
      startOrganizer({ ...h.opts, secretKey: crypto.randomBytes(32) }),
      /does not match the one this database was created with/,
    );
  });

  test('a restart keeps workshops, sessions and ready stacks', async () => {
    const h = await start();
    const { invites, name } = await workshopWithInvites(h, ['keep@example.com']);
    const token = await signIn(h, invites.get('keep@example.com')!.token);
    await provisionAndWait(h, name);
    const before = Environment.parse((await call(h, 'GET', '/v1/me/environment', { token })).body);
    await stop(h);

    const again = await start({}, h);
    const report = await again.org.reconciled;
    assert.deepEqual(report, { checked: 1, lost: [], resumed: [] });
    assert.equal(Me.parse((await call(again, 'GET', '/v1/me', { token })).body).email, 'keep@example.com');
    const after = Environment.parse((await call(again, 'GET', '/v1/me/environment', { token })).body);
    assert.deepEqual(after.connection, before.connection);
    assert.equal(Workshop.parse((await call(again, 'GET', `/v1/workshops/${name}`)).body).name, name);
    await stop(again);
  });

  test('the organizer token is created on first start, returned once, and only its hash is kept', async () => {
    const h = await start({ organizerToken: undefined });
    assert.equal(h.org.organizerTokenCreated, true);
    const token = h.org.organizerToken!;
    assert.match(token, /^oko_[A-Za-z0-9_-]{43}$/);
    assert.equal((await call(h, 'GET', '/v1/workshops', { token })).status, 200);
    await stop(h);
    const again = await start({ organizerToken: undefined }, { ...h, opts: { ...h.opts, organizerToken: undefined } });
    assert.equal(again.org.organizerTokenCreated, false);
    assert.equal(again.org.organizerToken, null);
    assert.equal((await call(again, 'GET', '/v1/workshops', { token })).status, 200);
    // A token from the environment replaces it.
    await stop(again);
    const fromEnv = await start({ organizerToken: undefined, env: { OPEN_KITCHEN_ORGANIZER_TOKEN: 'oko_from-env-' + 'z'.repeat(40) } }, h);
    assert.equal(fromEnv.org.organizerToken, 'oko_from-env-' + 'z'.repeat(40));
    assertError(await call(fromEnv, 'GET', '/v1/workshops', { token }), 401, 'unauthorized');
    assert.equal((await call(fromEnv, 'GET', '/v1/workshops', { token: fromEnv.org.organizerToken })).status, 200);
    await stop(fromEnv);
  });

  test('invite links carry the public URL when the service sits behind a proxy', async () => {
    const h = await start({ publicUrl: 'https://kitchen.example.com/api/', trustProxy: true });
    assert.equal(h.org.publicUrl, 'https://kitchen.example.com/api');
    const { invites } = await workshopWithInvites(h, ['proxy@example.com']);
    const link = new URL(invites.get('proxy@example.com')!.link);
    assert.equal(link.protocol, 'vscode:');
    assert.equal(link.host, 'openkitchen.open-kitchen');
    assert.equal(link.searchParams.get('api'), 'https://kitchen.example.com/api');
    await stop(h);
  });

  test('with a certificate and key the service speaks HTTPS', async (t) => {
    const dir = tempDir();
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
    } catch {
      t.skip('openssl is not installed, so no test certificate can be made');
      return;
    }
    const cert = fs.readFileSync(path.join(dir, 'cert.pem'));
    const h = await start({ tls: { cert, key: fs.readFileSync(path.join(dir, 'key.pem')) } });
    assert.match(h.org.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(h.org.url + '/v1/health', { ca: cert }, (res) => {
          let data = '';
          res.on('data', (d: Buffer) => (data += d.toString()));
          res.on('end', () => resolve(data));
        })
        .on('error', reject);
    });
    assert.deepEqual(JSON.parse(body), { status: 'ok', api: 'v1' });
    await stop(h);
  });
});

describe('provisioning, pre-flight, progress events and invite mail', () => {
  let h: Harness;
  before(async () => {
    h = await start();
  });

  /** A workshop with attendees (no invites yet); returns its name and the attendee ids by email. */
  async function roster(emails: string[]): Promise<{ name: string; ids: Map<string, string> }> {
    const name = 'mail-' + crypto.randomBytes(3).toString('hex');
    assert.equal((await call(h, 'POST', '/v1/workshops', { body: { name, title: 'Nomad in practice' } })).status, 201);
    const imp = await call(h, 'POST', `/v1/workshops/${name}/attendees`, {
      body: { attendees: emails.map((email) => ({ email, name: email.split('@')[0] })) },
    });
    const imported = (imp.body as { imported: { id: string; email: string }[] }).imported;
    return { name, ids: new Map(imported.map((i) => [i.email, i.id])) };
  }

  /** The .eml files of the outbox, parsed, oldest first. */
  async function outbox(dir = path.join(h.dataDir, 'outbox')) {
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).sort() : [];
    return Promise.all(
      files.map(async (f) => {
        const mail = await simpleParser(fs.readFileSync(path.join(dir, f)));
        const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
        const link = /vscode:\/\/\S+/.exec(mail.text ?? '')?.[0] ?? '';
        return { file: f, to: to?.value[0]?.address, subject: mail.subject, text: mail.text ?? '', link, mode: fs.statSync(path.join(dir, f)).mode & 0o777 };
      }),
    );
  }

  test('the event stream starts with a snapshot of every stack, then one event per change, and stops listening when the client goes away', async () => {
    const { name, ids } = await roster(['ev1@example.com', 'ev2@example.com']);
    const client = new OrganizerApi({ apiUrl: h.org.url, token: h.opts.organizerToken! });
    const events: WorkshopEvent[] = [];
    const controller = new AbortController();
    const listenersBefore = h.org.stacks.listenerCount('change');
    const allReady = new Promise<void>((resolve, reject) => {
      const readyIds = new Set<string>();
      client
        .watchWorkshop(
          name,
          (e) => {
            events.push(e);
            if (e.type === 'snapshot') {
              // Provisioning starts only once the snapshot is in: every change after it arrives as an event.
              void call(h, 'POST', `/v1/workshops/${name}/stacks`, { body: {} });
            } else if (e.type === 'stack' && e.stack.status === 'ready') {
              readyIds.add(e.stack.id);
              if (readyIds.size === 2) resolve();
            }
          },
          controller.signal,
        )
        .catch(reject);
    });
    await allReady;
    assert.equal(events[0].type, 'snapshot');
    const snapshot = events[0] as Extract<WorkshopEvent, { type: 'snapshot' }>;
    assert.deepEqual(snapshot.stacks.map((s) => [s.attendeeId, s.status]).sort(), [...ids.values()].map((id) => [id, 'pending']).sort());
    const changes = events.slice(1) as Extract<WorkshopEvent, { type: 'stack' }>[];
    assert.ok(changes.every((e) => e.type === 'stack'));
    // Each stack's events follow its recorded history, in order.
    for (const stack of snapshot.stacks) {
      const streamed = changes.filter((e) => e.stack.id === stack.id).map((e) => `${e.stack.status}: ${e.stack.statusMessage}`);
      const recorded = h.org.store.stackEvents(stack.id).slice(-streamed.length).map((e) => `${e.status}: ${e.message}`);
      assert.deepEqual(streamed, recorded);
      assert.deepEqual(streamed.slice(0, 2), ['queued: Queued for provisioning.', 'provisioning: Provisioning started.']);
      assert.equal(streamed.at(-1), 'ready: Ready.');
    }
    assert.equal(h.org.stacks.listenerCount('change'), listenersBefore + 1);
    const removed = new Promise<void>((resolve) => h.org.stacks.once('removeListener', () => resolve()));
    controller.abort();
    await removed;
    assert.equal(h.org.stacks.listenerCount('change'), listenersBefore);
  });

  test('the event stream tells the organizer when an attendee gets an invite, signs in and makes lab progress', async () => {
    const { name, ids } = await roster(['seen@example.com']);
    const id = ids.get('seen@example.com')!;
    const client = new OrganizerApi({ apiUrl: h.org.url, token: h.opts.organizerToken! });
    const controller = new AbortController();
    const seen: AttendeeSummary[] = [];
    let snapshot!: () => void;
    const opened = new Promise<void>((resolve) => (snapshot = resolve));
    const waiters: (() => void)[] = [];
    const watching = client.watchWorkshop(
      name,
      (e) => {
        if (e.type === 'snapshot') snapshot();
        if (e.type === 'attendee') seen.push(e.attendee);
        for (const w of waiters.splice(0)) w();
      },
      controller.signal,
    );
    const next = (what: (a: AttendeeSummary) => boolean) =>
      new Promise<AttendeeSummary>((resolve) => {
        const look = () => {
          const hit = seen.find(what);
          if (hit) resolve(hit);
          else waiters.push(look);
        };
        look();
      });
    await opened;
    const link = (await client.createInvites(name, { attendeeIds: [id] })).invites[0]!.link;
    assert.equal((await next((a) => a.invite.status === 'sent')).id, id);
    const invite = new URL(link).searchParams.get('invite')!;
    const signedIn = await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite } });
    assert.equal(signedIn.status, 200);
    const redeemed = await next((a) => a.invite.status === 'redeemed');
    assert.ok(redeemed.lastSeenAt, 'signing in counts as seen');
    const token = (signedIn.body as { token: string }).token;
    await call(h, 'POST', '/v1/me/progress', { token, body: { labId: 'first-job', stepId: 'run', status: 'done' } });
    const progressed = await next((a) => a.progress.done === 1);
    assert.equal(progressed.progress.current, 'first-job/run');
    controller.abort();
    await watching;
  });

  test('another workshop’s changes stay out of the stream; idle streams get ": ping" comments; stopping the service ends them', async () => {
    const own = await start({ eventPingMs: 20 });
    // Two workshops on this service; the stream follows the first only.
    const mk = async (n: string) => {
      await call(own, 'POST', '/v1/workshops', { body: { name: n, title: n } });
      await call(own, 'POST', `/v1/workshops/${n}/attendees`, { body: { attendees: [{ email: `${n}@example.com`, name: n }] } });
    };
    await mk('watched');
    await mk('other');
    const res = await fetch(`${own.org.url}/v1/workshops/watched/events`, { headers: { authorization: `Bearer ${own.opts.organizerToken}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (re: RegExp) => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        if (done) return false;
        text += Buffer.from(value).toString();
      }
      return true;
    };
    assert.ok(await readUntil(/^data: \{"type":"snapshot"/));
    await call(own, 'POST', '/v1/workshops/other/stacks', { body: {} });
    await own.org.stacks.idle();
    assert.ok(await readUntil(/\n: ping\n\n/), 'a ping comment arrives');
    assert.doesNotMatch(text, /"type":"stack"/, 'the other workshop’s builds are not in this stream');
    // Closing the service ends the stream instead of waiting for the client forever.
    await stop(own);
    assert.equal(await readUntil(/(?!)/), false, 'the stream ended');
  });

  test('pre-flight counts the stacks not yet ready and passes on the provider’s numbers', async () => {
    const { name, ids } = await roster(['pf1@example.com', 'pf2@example.com', 'pf3@example.com']);
    await call(h, 'POST', `/v1/workshops/${name}/stacks`, { body: { attendeeIds: [ids.get('pf1@example.com')] } });
    await h.org.stacks.idle();
    const r = await call(h, 'GET', `/v1/workshops/${name}/preflight`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      workshop: name,
      provider: 'local',
      stacks: 2,
      ready: 1,
      resources: [{ name: 'Processes', unit: null, perStack: 1, total: 2 }],
      quotas: [],
      quotaNote: 'The instant provider reads no quotas.',
      problems: [],
      ok: true,
    });
    assertError(await call(h, 'GET', '/v1/workshops/nope/preflight'), 404, 'not_found', /nope/);
  });

  test('destroy takes ?attendeeIds=a,b and leaves the other stacks alone', async () => {
    const { name, ids } = await roster(['d1@example.com', 'd2@example.com', 'd3@example.com']);
    await provisionAndWait(h, name);
    const [a, b, c] = [...ids.values()];
    const r = await call(h, 'DELETE', `/v1/workshops/${name}/stacks?attendeeIds=${a},${b}`);
    assert.equal(r.status, 202);
    await h.org.stacks.idle();
    const list = ListAttendeesResponse.parse((await call(h, 'GET', `/v1/workshops/${name}/attendees`)).body).attendees;
    assert.deepEqual(
      list.map((x) => [x.id, x.stack?.status]),
      [[a, 'destroyed'], [b, 'destroyed'], [c, 'ready']],
    );
    assertError(await call(h, 'DELETE', `/v1/workshops/${name}/stacks?attendeeIds=`), 400, 'bad_request', /attendeeIds is empty/);
    assertError(await call(h, 'DELETE', `/v1/workshops/${name}/stacks?attendeeIds=att_nobody`), 404, 'not_found', /att_nobody/);
  });

  test('invites go out as one .eml per attendee; "unsent" then sends nothing; "unopened" resends only to those not signed in', async () => {
    fs.rmSync(path.join(h.dataDir, 'outbox'), { recursive: true, force: true });
    const emails = ['m1@example.com', 'm2@example.com', 'm3@example.com'];
    const { name, ids } = await roster(emails);
    const first = await call(h, 'POST', `/v1/workshops/${name}/invites/send`, { body: {} });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const sent = first.body as { transport: string; sent: { email: string; attendeeId: string; messageId: string }[]; failed: unknown[] };
    assert.equal(sent.transport, 'outbox');
    assert.deepEqual(sent.sent.map((x) => [x.email, x.attendeeId]), emails.map((e) => [e, ids.get(e)]));
    assert.deepEqual(sent.failed, []);
    const mails = await outbox();
    assert.deepEqual(mails.map((m) => m.to).sort(), emails);
    for (const m of mails) {
      assert.equal(m.subject, 'Your environment for Nomad in practice');
      assert.match(m.link, /^vscode:\/\/openkitchen\.open-kitchen\/signin\?/);
      assert.equal(new URL(m.link).searchParams.get('api'), h.org.publicUrl);
      assert.equal(m.mode, 0o600, 'the outbox is for the organizer only');
    }
    let list = ListAttendeesResponse.parse((await call(h, 'GET', `/v1/workshops/${name}/attendees`)).body).attendees;
    assert.ok(list.every((a) => a.invite.status === 'sent' && a.invite.mailedAt), JSON.stringify(list.map((a) => a.invite)));

    // Everybody has been mailed: a second run sends nothing.
    const again = await call(h, 'POST', `/v1/workshops/${name}/invites/send`, { body: { which: 'unsent' } });
    assert.deepEqual((again.body as { sent: unknown[] }).sent, []);
    assert.equal((await outbox()).length, 3);

    // m1 signs in with the mailed link; "unopened" resends to m2 and m3, whose old links stop working.
    const linkOf = (ms: Awaited<ReturnType<typeof outbox>>, email: string) => inviteToken(ms.filter((m) => m.to === email).at(-1)!.link);
    await signIn(h, linkOf(mails, 'm1@example.com'));
    const resend = await call(h, 'POST', `/v1/workshops/${name}/invites/send`, { body: { which: 'unopened' } });
    assert.deepEqual((resend.body as { sent: { email: string }[] }).sent.map((x) => x.email), ['m2@example.com', 'm3@example.com']);
    const after = await outbox();
    assert.equal(after.length, 5);
    assertError(await call(h, 'POST', '/v1/auth/redeem', { token: null, body: { invite: linkOf(mails, 'm2@example.com') } }), 410, 'invite_expired', /replaced/);
    await signIn(h, linkOf(after, 'm2@example.com'));

    // A resend to one attendee, by id.
    const one = await call(h, 'POST', `/v1/workshops/${name}/invites/send`, { body: { attendeeIds: [ids.get('m3@example.com')] } });
    assert.deepEqual((one.body as { sent: { email: string }[] }).sent.map((x) => x.email), ['m3@example.com']);
    list = ListAttendeesResponse.parse((await call(h, 'GET', `/v1/workshops/${name}/attendees`)).body).attendees;
    assert.deepEqual(list.map((a) => a.invite.status), ['redeemed', 'redeemed', 'sent']);

    assertError(await call(h, 'POST', `/v1/workshops/${name}/invites/send`, { body: { which: 'everyone' } }), 422, 'validation_failed', /which/);
    assertError(await call(h, 'POST', `/v1/workshops/${name}/invites/send`, { body: { attendeeIds: ['att_nobody'] } }), 404, 'not_found', /att_nobody/);
  });

  test('over SMTP, invites go out two at a time; a recipient the server refuses is reported and the others are sent; the refused one keeps their earlier link', async () => {
    const received: { to: string[]; raw: string }[] = [];
    const delivered = ['s1@example.com', 's3@example.com', 's4@example.com', 's5@example.com', 's6@example.com'];
    // The server answers a message only once a second one is being sent alongside it (or it is
    // the last one), so the mails that overlapped tell how many the organizer sends at once. A
    // mailer sending one at a time is answered after a second instead, and the count shows it.
    let held: (() => void)[] = [];
    let mostAtOnce = 0;
    const release = () => {
      for (const done of held) done();
      held = [];
    };
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (address.address === 'bounce@example.com') {
          return callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }));
        }
        callback();
      },
      onData(stream, session, callback) {
        let raw = '';
        stream.on('data', (d: Buffer) => (raw += d.toString()));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
          held.push(() => callback());
          mostAtOnce = Math.max(mostAtOnce, held.length);
          if (held.length >= 2 || received.length === delivered.length) release();
          else setTimeout(() => held.length && release(), 1000).unref();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as { port: number }).port;
    const own = await start({ mail: { smtp: { host: '127.0.0.1', port }, from: 'Kitchen <kitchen@example.com>' } });
    try {
      const name = 'smtp-ws';
      await call(own, 'POST', '/v1/workshops', { body: { name, title: 'SMTP' } });
      const imp = await call(own, 'POST', `/v1/workshops/${name}/attendees`, {
        body: { attendees: ['s1@example.com', 'bounce@example.com', 's3@example.com', 's4@example.com', 's5@example.com', 's6@example.com'].map((email) => ({ email, name: 'N' })) },
      });
      const bounceId = (imp.body as { imported: { id: string; email: string }[] }).imported[1].id;
      // The bouncing attendee already holds a working link from before.
      const earlier = await call(own, 'POST', `/v1/workshops/${name}/invites`, { body: { attendeeIds: [bounceId] } });
      const earlierToken = inviteToken((earlier.body as { invites: { link: string }[] }).invites[0].link);

      const r = await call(own, 'POST', `/v1/workshops/${name}/invites/send`, { body: {} });
      assert.equal(r.status, 200);
      const body = r.body as { transport: string; sent: { email: string }[]; failed: { email: string; reason: string }[] };
      assert.equal(body.transport, 'smtp');
      // The answer lists attendees in the roster's order, whichever mail went out first.
      assert.deepEqual(body.sent.map((x) => x.email), delivered);
      assert.deepEqual(body.failed.map((x) => x.email), ['bounce@example.com']);
      assert.match(body.failed[0].reason, /No such mailbox/);
      assert.deepEqual(received.map((m) => m.to).sort(), delivered.map((e) => [e]), 'one mail each, the refused one none');
      for (const m of received) assert.match(m.raw, /^From: Kitchen <kitchen@example\.com>/m);
      assert.equal(mostAtOnce, 2, 'two invites were on their way at once');

      const list = ListAttendeesResponse.parse((await call(own, 'GET', `/v1/workshops/${name}/attendees`)).body).attendees;
      assert.deepEqual(
        list.map((a) => [a.email, a.invite.mailedAt !== null]).sort(),
        [['bounce@example.com', false], ...delivered.map((e) => [e, true])],
      );
      await signIn(own, earlierToken);
    } finally {
      await stop(own);
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
  });
});
