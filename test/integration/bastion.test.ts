/**
 * The forwarding-only bastion, both kinds (OpenSSH sshd and the ssh2 server), against small
 * HTTP servers on loopback: the attendee's key reaches the permitted target (with ssh2's
 * client and with OpenSSH's `ssh -N -L` and a pinned known_hosts line); a wrong key or user
 * is refused; any other target is refused as "administratively prohibited"; sessions
 * (exec, shell) and remote forwards are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, type ConnectConfig } from 'ssh2';
import { findSshd, isAlive, probeFreePort, startBastion, type Bastion, type BastionKind } from '../../src/organizer/providers/bastion';
import { httpGetThroughBastion } from '../../src/organizer/providers/bastion/probe';
import { generateKeyPair, type KeyPair } from '../../src/organizer/providers/keys';

const USER = os.userInfo().username;

function startTarget(reply: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${reply} ${req.url}`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

function connect(config: ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({ readyTimeout: 10_000, ...config });
  });
}

function forwardOut(client: Client, host: string, port: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      if (err) return reject(err);
      stream.destroy();
      resolve(stream);
    });
  });
}

interface SshRun {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Runs OpenSSH's client with nothing from ~/.ssh: only the given key and known_hosts file. */
function runSsh(args: string[], opts: { key: string; knownHosts: string; port: number; command?: string[] }): SshRun {
  const child = spawn(
    'ssh',
    [
      '-F', '/dev/null',
      '-i', opts.key,
      '-o', 'IdentitiesOnly=yes',
      '-o', 'IdentityAgent=none',
      '-o', `UserKnownHostsFile=${opts.knownHosts}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'ExitOnForwardFailure=yes',
      '-p', String(opts.port),
      ...args,
      `${USER}@127.0.0.1`,
      ...(opts.command ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

/** Waits for a line on the ssh client's stderr (it runs with -v), or its exit. */
function waitForStderr(run: SshRun, pattern: RegExp): Promise<boolean> {
  return new Promise((resolve) => {
    const check = () => {
      if (pattern.test(run.stderr())) {
        run.child.stderr!.off('data', check);
        resolve(true);
      }
    };
    run.child.stderr!.on('data', check);
    void run.exited.then(() => resolve(pattern.test(run.stderr())));
    check();
  });
}

async function stopSsh(run: SshRun): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  await run.exited;
}

const kinds: BastionKind[] = ['openssh', 'ssh2'];

for (const kind of kinds) {
  const skip = kind === 'openssh' && !findSshd() ? 'OpenSSH sshd is not installed' : false;

  describe(`${kind} bastion`, { skip }, () => {
    let dir: string;
    let host: KeyPair;
    let attendee: KeyPair;
    let stranger: KeyPair;
    let permitted: http.Server;
    let other: http.Server;
    let bastion: Bastion;
    let keyFile: string;
    let knownHosts: string;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `ok-bastion-${kind}-`));
      host = generateKeyPair('host');
      attendee = generateKeyPair('attendee');
      stranger = generateKeyPair('stranger');
      permitted = await startTarget('nomad');
      other = await startTarget('other');
      bastion = await startBastion({
        kind,
        host: '127.0.0.1',
        port: 0,
        hostPrivateKey: host.privateKey,
        authorizedPublicKey: attendee.publicKey,
        user: USER,
        permit: [{ host: '127.0.0.1', port: portOf(permitted) }],
        dir: path.join(dir, 'bastion'),
      });
      keyFile = path.join(dir, 'id_ed25519');
      fs.writeFileSync(keyFile, attendee.privateKey, { mode: 0o600 });
      knownHosts = path.join(dir, 'known_hosts');
      fs.writeFileSync(knownHosts, `[127.0.0.1]:${bastion.port} ${host.publicKey}\n`);
    });

    after(async () => {
      await bastion?.close();
      permitted?.close();
      other?.close();
      permitted?.closeAllConnections();
      other?.closeAllConnections();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('reports its kind and a listening port', () => {
      assert.equal(bastion.kind, kind);
      assert.ok(bastion.port > 0);
      if (kind === 'openssh') assert.ok(bastion.pid && bastion.pid > 0, 'the sshd pid is known');
    });

    test("the attendee's key reaches the permitted target, and the host key is the pinned one", async () => {
      const res = await httpGetThroughBastion({
        bastion: { host: '127.0.0.1', port: bastion.port, user: USER, hostKeyFingerprint: host.fingerprint },
        privateKey: attendee.privateKey,
        target: { host: '127.0.0.1', port: portOf(permitted) },
        path: '/v1/status/leader',
      });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'nomad /v1/status/leader');
      assert.equal(res.seenFingerprint, host.fingerprint);
    });

    test('a client pinning another host key does not connect', async () => {
      const wrong = generateKeyPair('impostor');
      await assert.rejects(
        httpGetThroughBastion({
          bastion: { host: '127.0.0.1', port: bastion.port, user: USER, hostKeyFingerprint: wrong.fingerprint },
          privateKey: attendee.privateKey,
          target: { host: '127.0.0.1', port: portOf(permitted) },
          path: '/',
        }),
        /host key|verification/i,
      );
    });

    test('OpenSSH `ssh -N -L` with a pinned known_hosts line forwards to the permitted target', async (t) => {
      // The local port is probed; if someone takes it first ssh exits (ExitOnForwardFailure) and we try again.
      for (let attempt = 1; ; attempt++) {
        const localPort = await probeFreePort('127.0.0.1');
        const run = runSsh(['-v', '-N', '-L', `127.0.0.1:${localPort}:127.0.0.1:${portOf(permitted)}`], {
          key: keyFile,
          knownHosts,
          port: bastion.port,
        });
        t.after(() => stopSsh(run));
        // ssh logs "Local forwarding listening on …" just before it binds; "Entering interactive
        // session" comes after every local forward listens.
        const listening = await waitForStderr(run, /Local forwarding listening on 127\.0\.0\.1 port \d+[\s\S]*Entering interactive session/);
        if (!listening) {
          if (/Address already in use/.test(run.stderr()) && attempt < 5) continue;
          assert.fail(`ssh did not set up the forward:\n${run.stderr()}`);
        }
        const res = await fetch(`http://127.0.0.1:${localPort}/v1/agent/self`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'nomad /v1/agent/self');
        await stopSsh(run);
        return;
      }
    });

    test('OpenSSH refuses the bastion when known_hosts pins another key', async () => {
      const impostorHosts = path.join(dir, 'known_hosts_wrong');
      fs.writeFileSync(impostorHosts, `[127.0.0.1]:${bastion.port} ${generateKeyPair('other').publicKey}\n`);
      const run = runSsh(['-N', '-W', `127.0.0.1:${portOf(permitted)}`], { key: keyFile, knownHosts: impostorHosts, port: bastion.port });
      assert.equal(await run.exited, 255);
      assert.match(run.stderr(), /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    });

    test('a key that is not the attendee key is refused', async () => {
      await assert.rejects(
        connect({ host: '127.0.0.1', port: bastion.port, username: USER, privateKey: stranger.privateKey }),
        /All configured authentication methods failed/,
      );
      const strangerFile = path.join(dir, 'stranger');
      fs.writeFileSync(strangerFile, stranger.privateKey, { mode: 0o600 });
      const run = runSsh(['-N', '-W', `127.0.0.1:${portOf(permitted)}`], { key: strangerFile, knownHosts, port: bastion.port });
      assert.equal(await run.exited, 255);
      assert.match(run.stderr(), /Permission denied \(publickey\)/);
    });

    test('another user name is refused, even with the right key', async () => {
      await assert.rejects(
        connect({ host: '127.0.0.1', port: bastion.port, username: 'someone-else', privateKey: attendee.privateKey }),
        /All configured authentication methods failed/,
      );
    });

    test('password login is not offered', async () => {
      await assert.rejects(
        connect({ host: '127.0.0.1', port: bastion.port, username: USER, password: 'anything' }),
        /All configured authentication methods failed/,
      );
    });

    describe('with a logged-in client', () => {
      let client: Client;
      before(async () => {
        client = await connect({ host: '127.0.0.1', port: bastion.port, username: USER, privateKey: attendee.privateKey });
      });
      after(() => client?.end());

      test('forwarding to another port on the same host is refused as administratively prohibited', async () => {
        await assert.rejects(forwardOut(client, '127.0.0.1', portOf(other)), (err: Error & { reason?: number }) => {
          assert.match(err.message, /Channel open failure/);
          assert.equal(err.reason, 1, 'SSH_OPEN_ADMINISTRATIVELY_PROHIBITED');
          return true;
        });
      });

      test('forwarding to the permitted port on another host name is refused', async () => {
        await assert.rejects(forwardOut(client, 'localhost', portOf(permitted)), (err: Error & { reason?: number }) => {
          assert.equal(err.reason, 1);
          return true;
        });
        await assert.rejects(forwardOut(client, '10.0.0.1', 22), (err: Error & { reason?: number }) => {
          assert.equal(err.reason, 1);
          return true;
        });
      });

      test('the connection still forwards after refusals', async () => {
        await forwardOut(client, '127.0.0.1', portOf(permitted));
      });

      test('exec and shell sessions are refused', async () => {
        await assert.rejects(
          new Promise((resolve, reject) => client.exec('echo hello', (err, stream) => (err ? reject(err) : resolve(stream)))),
          /Channel open failure/,
        );
        await assert.rejects(
          new Promise((resolve, reject) => client.shell(false, (err, stream) => (err ? reject(err) : resolve(stream)))),
          /Channel open failure/,
        );
      });

      test('remote forwarding is refused', async () => {
        await assert.rejects(
          new Promise((resolve, reject) => client.forwardIn('127.0.0.1', 0, (err, port) => (err ? reject(err) : resolve(port)))),
          /Unable to bind/,
        );
      });
    });

    test('OpenSSH `ssh -W` to a target that is not permitted fails as administratively prohibited', async () => {
      const run = runSsh(['-N', '-W', `127.0.0.1:${portOf(other)}`], { key: keyFile, knownHosts, port: bastion.port });
      assert.equal(await run.exited, 255);
      assert.match(run.stderr(), /administratively prohibited/);
    });

    test('OpenSSH `ssh host command` runs nothing', async () => {
      const run = runSsh([], { key: keyFile, knownHosts, port: bastion.port, command: ['echo', 'hello'] });
      let out = '';
      run.child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      assert.notEqual(await run.exited, 0);
      assert.equal(out, '');
      assert.match(run.stderr(), /open failed/);
    });

    test('the log records refused forwards', () => {
      const log = fs.readFileSync(bastion.logFile, 'utf8');
      assert.match(log, kind === 'openssh' ? /but the request was denied/ : /refused forward to 127\.0\.0\.1:\d+: not permitted/);
    });
  });
}

describe('closing a bastion', () => {
  for (const kind of kinds) {
    test(`${kind}: close() stops listening and ends open connections`, { skip: kind === 'openssh' && !findSshd() ? 'no sshd' : false }, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ok-bastion-close-${kind}-`));
      const target = await startTarget('t');
      try {
        const host = generateKeyPair('host');
        const attendee = generateKeyPair('attendee');
        const bastion = await startBastion({
          kind,
          host: '127.0.0.1',
          port: 0,
          hostPrivateKey: host.privateKey,
          authorizedPublicKey: attendee.publicKey,
          user: USER,
          permit: [{ host: '127.0.0.1', port: portOf(target) }],
          dir,
        });
        const client = await connect({ host: '127.0.0.1', port: bastion.port, username: USER, privateKey: attendee.privateKey });
        const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
        client.on('error', () => undefined);
        await bastion.close();
        await closed;
        await assert.rejects(
          new Promise<void>((resolve, reject) => {
            const s = net.connect({ host: '127.0.0.1', port: bastion.port }, () => {
              s.destroy();
              resolve();
            });
            s.once('error', reject);
          }),
          /ECONNREFUSED/,
        );
        if (bastion.pid) assert.equal(isAlive(bastion.pid), false, 'sshd is gone');
      } finally {
        target.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('startBastion input checks', () => {
  test('a bastion without permitted targets is refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-bastion-bad-'));
    try {
      const host = generateKeyPair('host');
      await assert.rejects(
        startBastion({ kind: 'ssh2', host: '127.0.0.1', port: 0, hostPrivateKey: host.privateKey, authorizedPublicKey: host.publicKey, user: USER, permit: [], dir }),
        /at least one permitted target/,
      );
      await assert.rejects(
        startBastion({ kind: 'ssh2', host: '127.0.0.1', port: 0, hostPrivateKey: 'nonsense', authorizedPublicKey: host.publicKey, user: USER, permit: [{ host: '127.0.0.1', port: 1 }], dir }),
        /host private key/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
