/** The tunnel's plain parts: backoff with jitter, fingerprint forms, error classification, option checks. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '../../src/organizer/providers/keys';
import { TunnelManager, backoffDelay, classifySshError, normalizeFingerprint, sha256Fingerprint } from '../../src/tunnel';
import { publicKeyBlob } from '../../src/tunnel/fingerprint';

describe('tunnel parts', () => {
  test('backoff grows exponentially up to the cap, with jitter inside the band', () => {
    const opts = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
    assert.equal(backoffDelay(opts, 0, () => 0), 50);
    assert.equal(backoffDelay(opts, 0, () => 1), 100);
    assert.equal(backoffDelay(opts, 2, () => 1), 400);
    assert.equal(backoffDelay(opts, 10, () => 1), 1000);
    assert.equal(backoffDelay(opts, 10, () => 0), 500);
    assert.equal(backoffDelay({ ...opts, jitter: 0 }, 1, () => 0.9), 200);
  });

  test('fingerprints compare in their canonical form, the same as ssh-keygen prints', () => {
    const pair = generateKeyPair('x');
    assert.equal(sha256Fingerprint(publicKeyBlob(pair.publicKey)), pair.fingerprint);
    const body = pair.fingerprint.slice('SHA256:'.length);
    assert.equal(normalizeFingerprint(body), pair.fingerprint);
    assert.equal(normalizeFingerprint(`sha256:${body}=`), pair.fingerprint);
    assert.throws(() => normalizeFingerprint('MD5:aa:bb'), /not a SHA-256 host key fingerprint/);
  });

  test('ssh errors are sorted into auth (final) and network (retried)', () => {
    const auth = Object.assign(new Error('All configured authentication methods failed'), { level: 'client-authentication' });
    const a = classifySshError(auth, '127.0.0.1:2222', 'attendee');
    assert.equal(a.kind, 'auth');
    assert.equal(a.retryable, false);
    assert.match(a.message, /refused the SSH key for user "attendee"/);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', level: 'client-socket' });
    const r = classifySshError(refused, '127.0.0.1:2222', 'attendee');
    assert.equal(r.kind, 'network');
    assert.equal(r.retryable, true);
    assert.match(r.message, /refused the connection/);
    const ka = Object.assign(new Error('Keepalive timeout'), { level: 'client-timeout' });
    assert.equal(classifySshError(ka, 'h:1', 'u').kind, 'network');
  });

  test('unusable options fail at connect with a clear message, without touching the network', async () => {
    const host = generateKeyPair('host');
    const attendee = generateKeyPair('attendee');
    const base = {
      bastion: { host: '127.0.0.1', port: 1, user: 'u', hostKeyFingerprint: host.fingerprint },
      privateKey: attendee.privateKey,
      targets: { nomad: { host: '127.0.0.1', port: 4646 }, consul: { host: '127.0.0.1', port: 8500 } },
    };
    const badKey = new TunnelManager({ ...base, privateKey: 'not a key' });
    await assert.rejects(badKey.connect(), /attendee SSH key cannot be read/);
    assert.equal(badKey.state, 'failed');
    assert.equal(badKey.lastError?.kind, 'config');

    const badPin = new TunnelManager({ ...base, bastion: { ...base.bastion, hostKeyFingerprint: 'nope' } });
    await assert.rejects(badPin.connect(), /Cannot pin the bastion's host key/);

    const other = generateKeyPair('other');
    const inconsistent = new TunnelManager({ ...base, bastion: { ...base.bastion, hostPublicKey: other.publicKey } });
    await assert.rejects(inconsistent.connect(), /do not belong together/);
    for (const t of [badKey, badPin, inconsistent]) await t.dispose();
  });
});
