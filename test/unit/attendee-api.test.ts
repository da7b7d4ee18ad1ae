/**
 * The organizer API client and the sign-in lifecycle against a real HTTP server on loopback.
 * The server is a small fake speaking the contract; the real organizer service is covered by
 * the organizer integration tests, and the e2e suite runs the two together.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AttendeeSession, InMemorySecretStore, NamespacedSecretStore, NotSignedInError, SessionStore } from '../../src/attendee';
import { nextEvent } from '../../src/common/events';
import type { Logger } from '../../src/common/logger';
import { ApiUnreachableError, MalformedResponseError, OrganizerApi, OrganizerApiError, SessionExpiredError } from '../../src/organizerClient';
import type { Environment } from '../../src/contract/api';

const SESSION_TOKEN = 'ses_' + 'x'.repeat(40);
const INVITE = 'inv_' + 'y'.repeat(40);
const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
const FINGERPRINT = 'SHA256:' + 'a'.repeat(43);

function readyEnvironment(overrides: Partial<Environment> = {}): Environment {
  return {
    stackId: 'stk_1',
    status: 'ready',
    statusMessage: null,
    provider: 'local',
    updatedAt: '2025-01-01T10:00:00.000Z',
    connection: {
      bastion: { host: '127.0.0.1', port: 2222, user: 'kitchen', hostKeyFingerprint: FINGERPRINT, hostPublicKey: 'ssh-ed25519 AAAAC3Nza host' },
      privateKey: PRIVATE_KEY,
      nomad: { host: '10.0.0.2', port: 4646 },
      consul: { host: '10.0.0.3', port: 8500 },
      region: 'global',
      datacenters: ['sys1', 'dc1'],
      zones: ['europe-west1-b', 'europe-west1-c'],
      dns: { internal: 'stack1.internal', external: null },
      nomadToken: null,
      consulToken: null,
    },
    ...overrides,
  };
}

interface Reply {
  status: number;
  body?: unknown;
  raw?: string;
}
type Handler = (req: { method: string; path: string; auth?: string; body: unknown }) => Reply;

/** A fake organizer: per-route handlers, every request recorded. */
class FakeOrganizer {
  server = http.createServer((req, res) => this.handle(req, res));
  requests: { method: string; path: string; auth?: string; body: unknown }[] = [];
  routes = new Map<string, Handler>();
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.requests = [];
    this.routes.clear();
    const authed = (fn: () => Reply): Handler => (r) =>
      r.auth === `Bearer ${SESSION_TOKEN}` ? fn() : { status: 401, body: { error: { code: 'unauthorized', message: 'Unknown token; sign in again with your invite link.' } } };
    this.routes.set('POST /v1/auth/redeem', (r) =>
      (r.body as { invite?: string }).invite === INVITE
        ? {
            status: 200,
            body: {
              token: SESSION_TOKEN,
              expiresAt: new Date(Date.now() + 3600_000).toISOString(),
              attendee: { id: 'att_1', email: 'ada@example.com', name: 'Ada' },
              workshop: { id: 'ws_1', name: 'nomad-101', title: 'Nomad 101' },
            },
          }
        : { status: 410, body: { error: { code: 'invite_used', message: 'This invite was already used.' } } },
    );
    this.routes.set('GET /v1/me', authed(() => ({
      status: 200,
      body: {
        id: 'att_1', email: 'ada@example.com', name: 'Ada', team: null, role: 'attendee',
        workshop: { id: 'ws_1', name: 'nomad-101', title: 'Nomad 101' },
        sessionExpiresAt: new Date(Date.now() + 3600_000).toISOString(),
      },
    })));
    this.routes.set('GET /v1/me/environment', authed(() => ({ status: 200, body: readyEnvironment() })));
    this.routes.set('POST /v1/auth/signout', authed(() => ({ status: 204 })));
    this.routes.set('POST /v1/me/progress', authed(() => ({ status: 200, body: { progress: [] } })));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0];
      const rec = { method: req.method ?? '', path, auth: req.headers.authorization, body: data ? JSON.parse(data) : undefined };
      this.requests.push(rec);
      const h = this.routes.get(`${rec.method} ${path}`);
      const reply = h ? h(rec) : { status: 404, body: { error: { code: 'not_found', message: `No route ${rec.method} ${path}.` } } };
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body)));
    });
  }
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (m: string | Error) => void lines.push(`${level} ${m instanceof Error ? m.message : m}`);
  return { lines, trace: rec('trace'), debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

const fake = new FakeOrganizer();
before(() => fake.start());
after(() => fake.stop());
beforeEach(() => fake.reset());

describe('OrganizerApi', () => {
  test('redeem, me and environment return validated data; the token goes in the Authorization header', async () => {
    const log = recordingLogger();
    const anon = new OrganizerApi({ apiUrl: fake.url, log });
    const redeemed = await anon.redeem(INVITE);
    assert.equal(redeemed.token, SESSION_TOKEN);
    assert.equal(fake.requests[0].auth, undefined);
    assert.deepEqual(fake.requests[0].body, { invite: INVITE });

    const client = new OrganizerApi({ apiUrl: fake.url, token: SESSION_TOKEN, log });
    assert.equal((await client.me()).role, 'attendee');
    const env = await client.environment();
    assert.equal(env.connection?.bastion.port, 2222);
    assert.equal(fake.requests[2].auth, `Bearer ${SESSION_TOKEN}`);
    await client.reportProgress({ labId: 'l1', stepId: 's1', status: 'done' });
    await client.signOut();

    // One line per request with method, path, status and time; never a token.
    assert.ok(log.lines.some((l) => /^info Organizer API GET \/v1\/me\/environment 200 \d+ ms$/.test(l)), log.lines.join('\n'));
    assert.ok(log.lines.every((l) => !l.includes(SESSION_TOKEN) && !l.includes(INVITE) && !l.includes('PRIVATE KEY')));
  });

  test('401 on an attendee route is a SessionExpiredError carrying the server message', async () => {
    const client = new OrganizerApi({ apiUrl: fake.url, token: 'ses_revoked_token_000000000' });
    await assert.rejects(client.environment(), (e: Error) => e instanceof SessionExpiredError && /sign in again with your invite link/.test(e.message));
  });

  test('a used invite is an OrganizerApiError with the stable code, not a session error', async () => {
    const client = new OrganizerApi({ apiUrl: fake.url });
    await assert.rejects(client.redeem('inv_' + 'z'.repeat(40)), (e: Error) =>
      e instanceof OrganizerApiError && !(e instanceof SessionExpiredError) && e.status === 410 && e.code === 'invite_used' && /already used/.test(e.message));
  });

  test('a malformed environment names the field that is wrong', async () => {
    const bad = readyEnvironment() as unknown as { connection: { bastion: { port: unknown } } };
    bad.connection.bastion.port = '2222';
    fake.routes.set('GET /v1/me/environment', () => ({ status: 200, body: bad }));
    const client = new OrganizerApi({ apiUrl: fake.url, token: SESSION_TOKEN });
    await assert.rejects(client.environment(), (e: Error) =>
      e instanceof MalformedResponseError && /connection\.bastion\.port: Expected number, received string/.test(e.message) &&
      e.route === 'GET /v1/me/environment');
  });

  test('a missing field and a non-JSON body are malformed responses too', async () => {
    const client = new OrganizerApi({ apiUrl: fake.url, token: SESSION_TOKEN });
    fake.routes.set('GET /v1/me', () => ({ status: 200, body: { id: 'att_1' } }));
    await assert.rejects(client.me(), (e: MalformedResponseError) => e instanceof MalformedResponseError && e.issues.some((i) => i.path === 'email' && /Required/.test(i.message)));
    fake.routes.set('GET /v1/me', () => ({ status: 200, raw: '<html>proxy login</html>' }));
    await assert.rejects(client.me(), /response to GET \/v1\/me that is not JSON/);
  });

  test('an error without the error body still says which call failed', async () => {
    fake.routes.set('GET /v1/me/environment', () => ({ status: 502, raw: 'Bad Gateway' }));
    const client = new OrganizerApi({ apiUrl: fake.url, token: SESSION_TOKEN });
    await assert.rejects(client.environment(), (e: Error) => e instanceof OrganizerApiError && e.status === 502 && /GET \/v1\/me\/environment failed with HTTP 502/.test(e.message));
  });

  test('an API that is not there is ApiUnreachableError naming the URL', async () => {
    const gone = http.createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
    await new Promise<void>((r) => gone.close(() => r()));
    const client = new OrganizerApi({ apiUrl: url, token: SESSION_TOKEN });
    await assert.rejects(client.me(), (e: Error) => e instanceof ApiUnreachableError && e.message.includes(url));
  });

  test('the client refuses a plain-http non-loopback API before sending anything', () => {
    assert.throws(() => new OrganizerApi({ apiUrl: 'http://kitchen.example.com' }), /unencrypted/);
  });
});

describe('SessionStore', () => {
  const session = {
    version: 1 as const,
    token: SESSION_TOKEN,
    expiresAt: '2030-01-01T00:00:00.000Z',
    apiUrl: 'https://kitchen.example.com',
    attendee: { id: 'att_1', email: 'ada@example.com', name: 'Ada' },
    workshop: { id: 'ws_1', name: 'nomad-101', title: 'Nomad 101' },
  };

  test('stores the session and the key under namespaced keys, and reads them back', async () => {
    const secrets = new InMemorySecretStore();
    const store = new SessionStore(new NamespacedSecretStore(secrets, 'openKitchen'));
    await store.saveSession(session);
    await store.savePrivateKey({ stackId: 'stk_1', privateKey: PRIVATE_KEY });
    assert.deepEqual([...secrets.values.keys()].sort(), ['openKitchen.session', 'openKitchen.sshPrivateKey']);
    assert.deepEqual(await store.getSession(), session);
    assert.deepEqual(await store.getPrivateKey(), { stackId: 'stk_1', privateKey: PRIVATE_KEY });
  });

  test('expiry: a session past expiresAt is "expired", not signed in', async () => {
    let now = new Date('2029-12-31T23:59:00Z');
    const store = new SessionStore(new InMemorySecretStore(), () => now);
    await store.saveSession(session);
    assert.equal((await store.getState()).kind, 'signedIn');
    assert.ok(await store.getValidSession());
    now = new Date('2030-01-01T00:00:00Z');
    assert.equal((await store.getState()).kind, 'expired');
    assert.equal(await store.getValidSession(), undefined);
  });

  test('clear() removes the token and the key, and nothing outside its namespace', async () => {
    const secrets = new InMemorySecretStore();
    await secrets.store('other.extension.secret', 'keep me');
    const store = new SessionStore(new NamespacedSecretStore(secrets, 'openKitchen'));
    await store.saveSession(session);
    await store.savePrivateKey({ stackId: 'stk_1', privateKey: PRIVATE_KEY });
    await store.clear();
    assert.deepEqual([...secrets.values.entries()], [['other.extension.secret', 'keep me']]);
    assert.equal((await store.getState()).kind, 'signedOut');
    assert.equal(await store.getPrivateKey(), undefined);
  });

  test('changes made elsewhere (another window) raise onDidChange; foreign keys do not', async () => {
    const secrets = new InMemorySecretStore();
    const store = new SessionStore(new NamespacedSecretStore(secrets, 'openKitchen'));
    let changes = 0;
    store.onDidChange(() => changes++);
    await secrets.store('unrelated', 'x');
    assert.equal(changes, 0);
    await secrets.store('openKitchen.session', JSON.stringify(session));
    assert.equal(changes, 1);
    assert.equal((await store.getSession())?.token, SESSION_TOKEN);
  });

  test('a damaged session entry counts as signed out and is removed', async () => {
    const secrets = new InMemorySecretStore();
    await secrets.store('session', '{"version":1,"token":""}');
    const store = new SessionStore(secrets);
    assert.equal((await store.getState()).kind, 'signedOut');
    assert.equal(secrets.values.has('session'), false);
  });

  test('saving the same key twice does not wake listeners', async () => {
    const store = new SessionStore(new InMemorySecretStore());
    let changes = 0;
    store.onDidChange(() => changes++);
    await store.savePrivateKey({ stackId: 'stk_1', privateKey: PRIVATE_KEY });
    await store.savePrivateKey({ stackId: 'stk_1', privateKey: PRIVATE_KEY });
    assert.equal(changes, 1);
  });
});

describe('AttendeeSession', () => {
  function make() {
    const secrets = new InMemorySecretStore();
    const store = new SessionStore(new NamespacedSecretStore(secrets, 'openKitchen'));
    return { secrets, store, session: new AttendeeSession({ store }) };
  }

  test('sign-in redeems, reads the role, and stores the session; the environment fetch stores the key apart', async () => {
    const { secrets, session } = make();
    const s = await session.signIn({ apiUrl: fake.url, invite: INVITE });
    assert.equal(s.attendee.email, 'ada@example.com');
    assert.equal(s.workshop.title, 'Nomad 101');
    assert.equal(s.role, 'attendee');
    const env = await session.fetchEnvironment();
    assert.equal(env.connection?.bastion.hostKeyFingerprint, FINGERPRINT);
    assert.equal('privateKey' in (env.connection ?? {}), false, 'the view-facing environment carries no private key');
    assert.deepEqual(await session.store.getPrivateKey(), { stackId: 'stk_1', privateKey: PRIVATE_KEY });
    assert.match(secrets.values.get('openKitchen.sshPrivateKey')!, /OPENSSH PRIVATE KEY/);
  });

  test('the same invite clicked twice at once is redeemed once', async () => {
    const { session } = make();
    const [a, b] = await Promise.all([session.signIn({ apiUrl: fake.url, invite: INVITE }), session.signIn({ apiUrl: fake.url, invite: INVITE })]);
    assert.equal(a.token, b.token);
    assert.equal(fake.requests.filter((r) => r.path === '/v1/auth/redeem').length, 1);
  });

  test('sign-out revokes on the server and forgets both the token and the key', async () => {
    const { secrets, session } = make();
    await session.signIn({ apiUrl: fake.url, invite: INVITE });
    await session.fetchEnvironment();
    const result = await session.signOut();
    assert.deepEqual(result, { revokedOnServer: true });
    assert.ok(fake.requests.some((r) => r.method === 'POST' && r.path === '/v1/auth/signout' && r.auth === `Bearer ${SESSION_TOKEN}`));
    assert.equal(secrets.values.size, 0);
  });

  test('sign-out still forgets everything when the organizer is unreachable', async () => {
    const { secrets, session } = make();
    await session.signIn({ apiUrl: fake.url, invite: INVITE });
    fake.routes.set('POST /v1/auth/signout', () => ({ status: 500, body: { error: { code: 'internal', message: 'Internal error' } } }));
    const result = await session.signOut();
    assert.equal(result.revokedOnServer, false);
    assert.match(result.serverError!, /Internal error/);
    assert.equal(secrets.values.size, 0);
  });

  test('a 401 ends the session: store cleared, onDidEnd fired once, error rethrown', async () => {
    const { secrets, session } = make();
    await session.signIn({ apiUrl: fake.url, invite: INVITE });
    await session.fetchEnvironment();
    fake.routes.set('GET /v1/me/environment', () => ({ status: 401, body: { error: { code: 'unauthorized', message: 'Session revoked by the organizer.' } } }));
    const ended: string[] = [];
    session.onDidEnd((e) => ended.push(`${e.session.attendee.email}: ${e.reason}`));
    const results = await Promise.allSettled([session.fetchEnvironment(), session.fetchEnvironment()]);
    assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof SessionExpiredError));
    assert.deepEqual(ended, ['ada@example.com: Session revoked by the organizer.']);
    assert.equal(secrets.values.size, 0);
    await assert.rejects(session.fetchEnvironment(), NotSignedInError);
  });

  test('a session past its expiry is ended locally without asking the server', async () => {
    let now = new Date();
    const store = new SessionStore(new InMemorySecretStore(), () => now);
    const session = new AttendeeSession({ store });
    await session.signIn({ apiUrl: fake.url, invite: INVITE });
    now = new Date(Date.now() + 2 * 3600_000);
    const ended = nextEvent(session.onDidEnd);
    assert.equal((await session.checkExpiry()).kind, 'signedOut');
    assert.match((await ended).reason, /expired/);
    const before = fake.requests.length;
    await assert.rejects(session.fetchEnvironment(), NotSignedInError);
    assert.equal(fake.requests.length, before);
  });
});
