import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildInviteLink, Environment, RedeemRequest } from '../../src/contract';

test('invite links carry the API URL and the token for the URI handler', () => {
  const link = buildInviteLink('https://kitchen.example.com', 'tok_abc');
  const u = new URL(link);
  assert.equal(u.protocol, 'vscode:');
  assert.equal(u.host, 'openkitchen.open-kitchen');
  assert.equal(u.pathname, '/signin');
  assert.equal(u.searchParams.get('api'), 'https://kitchen.example.com');
  assert.equal(u.searchParams.get('invite'), 'tok_abc');
});

test('a redeem request with a short invite is rejected with a readable reason', () => {
  const r = RedeemRequest.safeParse({ invite: 'short' });
  assert.equal(r.success, false);
  assert.match(r.error!.issues[0].message, /invite link/);
});

test('an environment with a malformed host-key fingerprint is rejected', () => {
  const r = Environment.safeParse({
    stackId: 's', status: 'ready', statusMessage: null, provider: 'local', updatedAt: new Date().toISOString(),
    connection: {
      bastion: { host: '127.0.0.1', port: 2222, user: 'kitchen', hostKeyFingerprint: 'MD5:aa', hostPublicKey: 'ssh-ed25519 AAAA' },
      privateKey: 'k', nomad: { host: '127.0.0.1', port: 4646 }, consul: { host: '127.0.0.1', port: 8500 },
      region: 'global', datacenters: ['sys1', 'dc1'], zones: ['a', 'b'], dns: { internal: null, external: null },
      nomadToken: null, consulToken: null,
    },
  });
  assert.equal(r.success, false);
  assert.deepEqual(r.error!.issues[0].path, ['connection', 'bastion', 'hostKeyFingerprint']);
});
