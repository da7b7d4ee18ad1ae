/**
 * Stack keys and the OpenSSH bastion's config: the fingerprint is exactly what `ssh-keygen -lf`
 * prints, the keys are OpenSSH formats OpenSSH itself reads, and the sshd_config allows
 * forwarding to the permitted targets and nothing else.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { utils as sshUtils } from 'ssh2';
import { sshdConfig, sshdFiles } from '../../src/organizer/providers/bastion';
import { fingerprintOf, generateKeyPair, generateStackKeys } from '../../src/organizer/providers/keys';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-keys-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function hasSshKeygen(): boolean {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as { status?: number }).status !== undefined && (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

describe('generateStackKeys', () => {
  const keys = generateStackKeys();

  test('gives OpenSSH public lines and private keys for the host and the attendee', () => {
    assert.match(keys.hostPublicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* /);
    assert.match(keys.attendeePublicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* /);
    assert.match(keys.hostPrivateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    assert.match(keys.attendeePrivateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    assert.notEqual(keys.hostPublicKey, keys.attendeePublicKey);
    assert.match(keys.hostKeyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  test('the host key fingerprint is what ssh-keygen -lf prints', { skip: !hasSshKeygen() && 'ssh-keygen is not installed' }, () => {
    const pub = path.join(dir, 'host.pub');
    fs.writeFileSync(pub, keys.hostPublicKey + '\n');
    const printed = execFileSync('ssh-keygen', ['-lf', pub], { encoding: 'utf8' });
    assert.equal(printed.split(' ')[1], keys.hostKeyFingerprint);
    assert.match(printed, /^256 SHA256:\S+ .*\(ED25519\)/);
  });

  test('OpenSSH reads the private keys and derives the same public keys', { skip: !hasSshKeygen() && 'ssh-keygen is not installed' }, () => {
    for (const [priv, pub] of [
      [keys.hostPrivateKey, keys.hostPublicKey],
      [keys.attendeePrivateKey, keys.attendeePublicKey],
    ]) {
      const file = path.join(dir, 'k');
      fs.writeFileSync(file, priv, { mode: 0o600 });
      const derived = execFileSync('ssh-keygen', ['-yf', file], { encoding: 'utf8' }).trim();
      assert.equal(derived.split(' ').slice(0, 2).join(' '), pub.split(' ').slice(0, 2).join(' '));
      fs.rmSync(file);
    }
  });

  test('every generated key parses (ssh2 drops a leading zero byte now and then; those are drawn again)', () => {
    for (let i = 0; i < 600; i++) {
      const pair = generateKeyPair('x');
      const parsed = sshUtils.parseKey(pair.publicKey);
      assert.ok(!(parsed instanceof Error), `key ${i} parses`);
    }
  });
});

describe('fingerprintOf', () => {
  test('gives the same answer for the public line, the private key and the raw blob', () => {
    const pair = generateKeyPair('c');
    const parsed = sshUtils.parseKey(pair.publicKey);
    assert.ok(!(parsed instanceof Error));
    const blob = (Array.isArray(parsed) ? parsed[0] : parsed).getPublicSSH();
    assert.equal(fingerprintOf(pair.publicKey), pair.fingerprint);
    assert.equal(fingerprintOf(pair.privateKey), pair.fingerprint);
    assert.equal(fingerprintOf(blob), pair.fingerprint);
    assert.equal(fingerprintOf(pair.publicKey.split(' ').slice(0, 2).join(' ')), pair.fingerprint, 'comment does not matter');
  });

  test('says what is wrong with something that is not a key', () => {
    assert.throws(() => fingerprintOf('ssh-ed25519 notbase64!'), /not an SSH key/);
  });
});

describe('sshdConfig', () => {
  const files = sshdFiles('/srv/stack/bastion');
  const config = sshdConfig({
    host: '127.0.0.1',
    port: 42022,
    user: 'kitchen',
    permit: [
      { host: '127.0.0.1', port: 4646 },
      { host: '127.0.0.1', port: 8500 },
    ],
    files,
  });
  const lines = new Map(config.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]));

  test('listens where asked, with its own key, authorized keys and pid file', () => {
    assert.equal(lines.get('ListenAddress'), '127.0.0.1');
    assert.equal(lines.get('Port'), '42022');
    assert.equal(lines.get('HostKey'), files.hostKey);
    assert.equal(lines.get('AuthorizedKeysFile'), files.authorizedKeys);
    assert.equal(lines.get('PidFile'), files.pidFile);
  });

  test('lets one user in with a key only', () => {
    assert.equal(lines.get('AllowUsers'), 'kitchen');
    assert.equal(lines.get('PubkeyAuthentication'), 'yes');
    assert.equal(lines.get('PasswordAuthentication'), 'no');
    assert.equal(lines.get('KbdInteractiveAuthentication'), 'no');
  });

  test('permits local forwards to the named targets and nothing else', () => {
    assert.equal(lines.get('AllowTcpForwarding'), 'local');
    assert.equal(lines.get('PermitOpen'), '127.0.0.1:4646 127.0.0.1:8500');
    for (const [k, v] of [
      ['PermitTTY', 'no'],
      ['X11Forwarding', 'no'],
      ['AllowAgentForwarding', 'no'],
      ['AllowStreamLocalForwarding', 'no'],
      ['PermitTunnel', 'no'],
      ['GatewayPorts', 'no'],
      ['ForceCommand', '/bin/false'],
      ['MaxSessions', '0'],
      ['StrictModes', 'no'],
    ]) {
      assert.equal(lines.get(k), v, k);
    }
  });

  test('refuses to write a config without targets or with an odd user name', () => {
    assert.throws(() => sshdConfig({ host: '127.0.0.1', port: 1, user: 'a', permit: [], files }), /at least one permitted target/);
    assert.throws(
      () => sshdConfig({ host: '127.0.0.1', port: 1, user: 'a b', permit: [{ host: '127.0.0.1', port: 2 }], files }),
      /not a user name/,
    );
  });
});
