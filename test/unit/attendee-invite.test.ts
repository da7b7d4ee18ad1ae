import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildInviteLink } from '../../src/contract/links';
import { InviteLinkError, parseInviteLink, parseSignInQuery } from '../../src/attendee';
import { ApiUrlPolicyError, checkApiUrl, isLoopbackHost } from '../../src/organizerClient';

const TOKEN = 'inv_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0-_x';
const API = 'https://kitchen.example.com';

describe('invite links', () => {
  test('the link the organizer mails is accepted as clicked and as pasted', () => {
    const link = buildInviteLink(API, TOKEN);
    assert.deepEqual(parseInviteLink(link), { apiUrl: API, invite: TOKEN });
    const u = new URL(link);
    assert.deepEqual(parseSignInQuery(u.pathname, u.search.slice(1)), { apiUrl: API, invite: TOKEN });
  });

  test('other editors\' schemes work: vscode-insiders, code-oss', () => {
    for (const scheme of ['vscode-insiders', 'code-oss', 'vscodium']) {
      assert.deepEqual(parseInviteLink(buildInviteLink(API, TOKEN, scheme)), { apiUrl: API, invite: TOKEN }, scheme);
    }
  });

  test('a code-server / VS Code for the Web callback link is unwrapped', () => {
    const q = new URLSearchParams({ api: API, invite: TOKEN }).toString();
    const cb = new URL('https://code.example.com/proxy/callback');
    cb.searchParams.set('vscode-scheme', 'code-oss');
    cb.searchParams.set('vscode-authority', 'openkitchen.open-kitchen');
    cb.searchParams.set('vscode-path', '/signin');
    cb.searchParams.set('vscode-query', q);
    assert.deepEqual(parseInviteLink(cb.toString()), { apiUrl: API, invite: TOKEN });
  });

  test('a bare https link carrying api and invite is accepted', () => {
    const link = `https://kitchen.example.com/join?api=${encodeURIComponent(API + '/base/')}&invite=${TOKEN}`;
    assert.deepEqual(parseInviteLink(link), { apiUrl: API + '/base', invite: TOKEN });
  });

  test('what mail clients do to links is undone: <…>, quotes, &amp;, whitespace', () => {
    const link = buildInviteLink(API, TOKEN);
    assert.equal(parseInviteLink(`  <${link}>\n`).invite, TOKEN);
    assert.equal(parseInviteLink(`"${link}"`).invite, TOKEN);
    assert.equal(parseInviteLink(link.replace('&', '&amp;')).invite, TOKEN);
  });

  test('a bare token needs the API URL setting, and then uses it', () => {
    assert.throws(() => parseInviteLink(TOKEN), (e: Error) => e instanceof InviteLinkError && /openKitchen\.apiUrl/.test(e.message));
    assert.deepEqual(parseInviteLink(TOKEN, { defaultApiUrl: 'https://k.example.org/' }), { apiUrl: 'https://k.example.org', invite: TOKEN });
  });

  test('a link with the wrong path says it is not a sign-in link', () => {
    const link = buildInviteLink(API, TOKEN).replace('/signin', '/connect');
    assert.throws(() => parseInviteLink(link), (e: Error) => e instanceof InviteLinkError && /"\/connect".*not a sign-in link/.test(e.message));
  });

  test('a link for another extension names it', () => {
    const link = buildInviteLink(API, TOKEN).replace('openkitchen.open-kitchen', 'someone.else');
    assert.throws(() => parseInviteLink(link), /for the extension "someone\.else", not for Open Kitchen/);
  });

  test('missing api, missing invite, or both: each is named', () => {
    assert.throws(() => parseInviteLink(`vscode://openkitchen.open-kitchen/signin?invite=${TOKEN}`), /no api \(the organizer address\)/);
    assert.throws(() => parseInviteLink(`vscode://openkitchen.open-kitchen/signin?api=${API}`), /no invite \(your invite token\)/);
    assert.throws(() => parseInviteLink('vscode://openkitchen.open-kitchen/signin'), /no api .* and no invite/);
  });

  test('a truncated invite token is called damaged', () => {
    assert.throws(() => parseInviteLink(`vscode://openkitchen.open-kitchen/signin?api=${API}&invite=abc`), /damaged/);
  });

  test('a non-http(s) api is refused with the policy error', () => {
    const link = buildInviteLink('ftp://kitchen.example.com', TOKEN);
    assert.throws(() => parseInviteLink(link), (e: Error) => e instanceof ApiUrlPolicyError && /must start with https:\/\//.test(e.message));
  });

  test('garbage is not mistaken for a link', () => {
    assert.throws(() => parseInviteLink(''), /Paste the invite link/);
    assert.throws(() => parseInviteLink('hello there'), /not an invite link/);
    assert.throws(() => parseInviteLink('https://example.com/'), /carries no Open Kitchen invite/);
    assert.throws(() => parseInviteLink('file:///etc/passwd'), /not Open Kitchen invites/);
  });
});

describe('organizer API URL policy', () => {
  test('https is accepted and normalised', () => {
    assert.equal(checkApiUrl(' https://Kitchen.Example.com/api/?x=1#f '), 'https://kitchen.example.com/api');
  });

  test('plain http to loopback is allowed: localhost, 127.0.0.0/8, ::1', () => {
    for (const u of ['http://localhost:8080', 'http://127.0.0.1:3000', 'http://127.10.0.5', 'http://[::1]:9000', 'http://app.localhost']) {
      assert.equal(checkApiUrl(u), u.replace(/\/$/, ''), u);
    }
  });

  test('plain http to anything else is refused, and the message says why', () => {
    for (const u of ['http://kitchen.example.com', 'http://10.0.0.5:8080', 'http://128.0.0.1', 'http://[::2]', 'http://localhost.evil.com']) {
      assert.throws(
        () => checkApiUrl(u),
        (e: Error) => e instanceof ApiUrlPolicyError && /unencrypted/.test(e.message) && /localhost, 127\.0\.0\.1, ::1/.test(e.message),
        u,
      );
    }
  });

  test('credentials in the URL and non-URLs are refused', () => {
    assert.throws(() => checkApiUrl('https://user:pw@kitchen.example.com'), /user name or password/);
    assert.throws(() => checkApiUrl('kitchen.example.com'), /not a valid organizer API URL/);
  });

  test('isLoopbackHost knows the loopback forms', () => {
    assert.ok(isLoopbackHost('127.0.0.1'));
    assert.ok(isLoopbackHost('[::1]'));
    assert.ok(isLoopbackHost('::ffff:127.0.0.1'));
    assert.ok(isLoopbackHost(new URL('http://[::ffff:127.0.0.1]/').hostname));
    assert.ok(!isLoopbackHost('::ffff:10.0.0.1'));
    assert.ok(!isLoopbackHost('0.0.0.0'));
  });
});
