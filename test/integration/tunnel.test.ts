/**
 * TunnelManager through real SSH to both bastion kinds (OpenSSH sshd and the ssh2 server),
 * forwarding to plain HTTP servers on loopback: forwards and the HTTP agent work with the
 * right keys; a wrong pinned host key connects nothing and names both fingerprints; a wrong
 * attendee key fails without retrying; a cut connection or a restarted bastion is followed by
 * a reconnect on the same local ports; dispose closes the listeners.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { findSshd, startBastion, type Bastion, type BastionKind } from '../../src/organizer/providers/bastion';
import { generateKeyPair, type KeyPair } from '../../src/organizer/providers/keys';
import {
  HostKeyMismatchError,
  TunnelManager,
  type TunnelOptions,
  type TunnelState,
  type TunnelStateChange,
} from '../../src/tunnel';
import { Relay } from './tunnel-relay';

const USER = os.userInfo().username;
const FAST_BACKOFF = { initialMs: 20, maxMs: 200, factor: 2, jitter: 0.5 };

function startTarget(name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${name} ${req.url}`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** GET over plain HTTP (no keep-alive), optionally through an agent. */
function get(url: string, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function waitForState(tunnel: TunnelManager, state: TunnelState): Promise<void> {
  if (tunnel.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const sub = tunnel.onDidChangeState((e) => {
      if (e.state !== state) return;
      sub.dispose();
      resolve();
    });
  });
}

function recordStates(tunnel: TunnelManager): TunnelStateChange[] {
  const seen: TunnelStateChange[] = [];
  tunnel.onDidChangeState((e) => seen.push(e));
  return seen;
}

const debugLog = { trace: console.error, debug: console.error, info: console.error, warn: console.error, error: console.error };

const kinds: BastionKind[] = ['openssh', 'ssh2'];

for (const kind of kinds) {
  const skip = kind === 'openssh' && !findSshd() ? 'OpenSSH sshd is not installed' : false;

  describe(`tunnel through the ${kind} bastion`, { skip }, () => {
    let dir: string;
    let hostKey: KeyPair;
    let attendee: KeyPair;
    let nomad: http.Server;
    let consul: http.Server;
    let bastion: Bastion;
    let relay: Relay;
    const tunnels: TunnelManager[] = [];

    async function startOurBastion(port: number): Promise<Bastion> {
      return startBastion({
        kind,
        host: '127.0.0.1',
        port,
        hostPrivateKey: hostKey.privateKey,
        authorizedPublicKey: attendee.publicKey,
        user: USER,
        permit: [
          { host: '127.0.0.1', port: portOf(nomad) },
          { host: '127.0.0.1', port: portOf(consul) },
        ],
        dir: path.join(dir, 'bastion'),
      });
    }

    function tunnel(overrides: Partial<TunnelOptions> = {}, viaRelay = true): TunnelManager {
      const t = new TunnelManager({
        bastion: {
          host: '127.0.0.1',
          port: viaRelay ? relay.port : bastion.port,
          user: USER,
          hostKeyFingerprint: hostKey.fingerprint,
          hostPublicKey: hostKey.publicKey,
        },
        privateKey: attendee.privateKey,
        targets: {
          nomad: { host: '127.0.0.1', port: portOf(nomad) },
          consul: { host: '127.0.0.1', port: portOf(consul) },
        },
        keepaliveInterval: 1000,
        readyTimeout: 10_000,
        backoff: FAST_BACKOFF,
        waitForConnectionMs: 20_000,
        log: process.env.OK_TEST_DEBUG ? debugLog : undefined,
        ...overrides,
      });
      tunnels.push(t);
      return t;
    }

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `ok-tunnel-${kind}-`));
      hostKey = generateKeyPair('test host');
      attendee = generateKeyPair('test attendee');
      nomad = await startTarget('nomad');
      consul = await startTarget('consul');
      bastion = await startOurBastion(0);
      relay = new Relay(bastion.port);
      await relay.start();
    });

    after(async () => {
      for (const t of tunnels) await t.dispose();
      await relay.stop();
      await bastion.close();
      await closeServer(nomad);
      await closeServer(consul);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('connects with the right keys; local forwards and the HTTP agent reach Nomad and Consul', async () => {
      const t = tunnel({}, false);
      const states = recordStates(t);
      await t.connect();
      assert.equal(t.state, 'connected');
      assert.deepEqual(
        states.map((s) => s.state),
        ['connecting', 'connected'],
      );
      const ports = t.localPorts!;
      assert.ok(ports.nomad > 0 && ports.consul > 0 && ports.nomad !== ports.consul);
      assert.deepEqual(await get(`${t.localUrl('nomad')}/v1/status/leader`), { status: 200, body: 'nomad /v1/status/leader' });
      assert.deepEqual(await get(`${t.localUrl('consul')}/v1/agent/self`), { status: 200, body: 'consul /v1/agent/self' });

      const agent = t.createAgent('nomad');
      // The host in the URL is irrelevant: the agent's channel goes to the Nomad target.
      assert.deepEqual(await get('http://nomad.invalid:4646/v1/jobs', agent), { status: 200, body: 'nomad /v1/jobs' });
      assert.deepEqual(await get('http://nomad.invalid:4646/v1/nodes', agent), { status: 200, body: 'nomad /v1/nodes' });
      agent.destroy();
      await t.dispose();
    });

    test('a wrong pinned host key connects nothing and names both fingerprints', async () => {
      const impostor = generateKeyPair('not the bastion');
      const logBefore = fs.existsSync(bastion.logFile) ? fs.readFileSync(bastion.logFile, 'utf8').length : 0;
      const t = tunnel({
        bastion: { host: '127.0.0.1', port: bastion.port, user: USER, hostKeyFingerprint: impostor.fingerprint },
      });
      const states = recordStates(t);
      await assert.rejects(t.connect(), (err: Error) => {
        assert.ok(err instanceof HostKeyMismatchError, `expected a HostKeyMismatchError, got ${err}`);
        assert.match(err.message, new RegExp(escapeRegExp(impostor.fingerprint)));
        assert.match(err.message, new RegExp(escapeRegExp(hostKey.fingerprint)));
        assert.equal(err.expectedFingerprint, impostor.fingerprint);
        assert.equal(err.actualFingerprint, hostKey.fingerprint);
        return true;
      });
      assert.equal(t.state, 'failed');
      assert.equal(t.lastError?.kind, 'host-key-mismatch');
      assert.equal(t.localPorts, undefined, 'no local listener was opened');
      assert.deepEqual(
        states.map((s) => s.state),
        ['connecting', 'failed'],
      );
      // The attendee key was never offered to the impostor.
      const log = fs.readFileSync(bastion.logFile, 'utf8').slice(logBefore);
      assert.doesNotMatch(log, /accepted publickey/i);
      await t.dispose();
    });

    test('a wrong attendee key fails for good, without retrying', async () => {
      const stranger = generateKeyPair('stranger');
      const t = tunnel({ privateKey: stranger.privateKey });
      const states = recordStates(t);
      await assert.rejects(t.connect(), /refused the SSH key/);
      assert.equal(t.state, 'failed');
      assert.equal(t.lastError?.kind, 'auth');
      assert.equal(t.localPorts, undefined);
      assert.deepEqual(
        states.map((s) => s.state),
        ['connecting', 'failed'],
      );
      await assert.rejects(t.openChannel('nomad'), /tunnel failed/);
      await t.dispose();
    });

    test('a cut connection reconnects on the same local ports', async () => {
      const t = tunnel();
      await t.connect();
      const ports = t.localPorts!;
      const agent = t.createAgent('consul');
      assert.equal((await get('http://consul/before', agent)).body, 'consul /before');

      const states = recordStates(t);
      const reconnecting = waitForState(t, 'reconnecting');
      relay.cut();
      await reconnecting;
      await waitForState(t, 'connected');
      assert.deepEqual(
        states.map((s) => s.state),
        ['reconnecting', 'connected'],
      );
      assert.equal(states[0]!.error?.kind, 'network');
      assert.deepEqual(t.localPorts, ports);
      assert.equal((await get(`${t.localUrl('nomad')}/after`)).body, 'nomad /after');
      assert.equal((await get('http://consul/after', agent)).body, 'consul /after');
      agent.destroy();
      await t.dispose();
    });

    test('while the bastion is unreachable, new local connections wait for the reconnect', async () => {
      const t = tunnel();
      await t.connect();
      const ports = t.localPorts!;
      const states = recordStates(t);
      const reconnecting = waitForState(t, 'reconnecting');
      await relay.stop();
      await reconnecting;
      // Let at least one retry fail against the closed port.
      await new Promise<void>((resolve) => {
        const sub = t.onDidChangeState((e) => {
          if (e.state === 'reconnecting' && (e.attempt ?? 0) >= 2) {
            sub.dispose();
            resolve();
          }
        });
      });
      const pending = get(`${t.localUrl('nomad')}/while-down`);
      const agent = t.createAgent('nomad');
      const pendingViaAgent = get('http://nomad/agent-while-down', agent);
      await relay.start();
      await waitForState(t, 'connected');
      assert.equal((await pending).body, 'nomad /while-down');
      assert.equal((await pendingViaAgent).body, 'nomad /agent-while-down');
      assert.deepEqual(t.localPorts, ports);
      assert.ok(states.every((s) => s.state === 'reconnecting' || s.state === 'connected'));
      assert.ok(states.filter((s) => s.state === 'reconnecting').every((s) => (s.retryInMs ?? -1) >= 0));
      agent.destroy();
      await t.dispose();
    });

    test('a bastion restarted on the same port is reconnected to, on the same local ports', async () => {
      const t = tunnel({}, false);
      await t.connect();
      const ports = t.localPorts!;
      const reconnecting = waitForState(t, 'reconnecting');
      const port = bastion.port;
      await bastion.close();
      await reconnecting;
      bastion = await startOurBastion(port);
      await waitForState(t, 'connected');
      assert.deepEqual(t.localPorts, ports);
      assert.equal((await get(`${t.localUrl('consul')}/restarted`)).body, 'consul /restarted');
      await t.dispose();
    });

    test('a bastion that is not up yet is retried until it answers', async () => {
      await relay.stop();
      const t = tunnel();
      const states = recordStates(t);
      const connected = t.connect();
      await waitForState(t, 'reconnecting');
      assert.equal(t.lastError?.kind, 'network');
      assert.match(t.lastError?.message ?? '', /refused the connection/);
      await relay.start();
      await connected;
      assert.equal(states[0]!.state, 'connecting');
      assert.equal(states.at(-1)!.state, 'connected');
      assert.equal((await get(`${t.localUrl('nomad')}/late`)).body, 'nomad /late');
      await t.dispose();
    });

    test('dispose closes the local listeners', async () => {
      const t = tunnel();
      await t.connect();
      const port = t.localPorts!.nomad;
      await t.dispose();
      assert.equal(t.state, 'disconnected');
      await assert.rejects(get(`http://127.0.0.1:${port}/`), /ECONNREFUSED/);
      await assert.rejects(t.connect(), /disposed/);
    });
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
