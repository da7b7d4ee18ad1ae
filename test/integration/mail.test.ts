/**
 * Invite mail for real: the organizer service on a temporary SQLite file makes the invites,
 * the Mailer sends them to a real SMTP server (smtp-server) on loopback with STARTTLS (a
 * self-signed certificate made with openssl; without openssl, plain SMTP) and a required
 * sign-in, and what the server received is parsed with mailparser. The link in each mail is
 * then redeemed against the API. The outbox default is checked the same way from its .eml files.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { Me, RedeemResponse, type Invite, type Workshop } from '../../src/contract';
import { startOrganizer, type Organizer } from '../../src/organizer';
import { OrganizerApi } from '../../src/organizerClient';
import { Mailer, smtpFromEnv, type InviteMail, type SmtpSettings } from '../../src/organizer/mail';

const SMTP_USER = 'kitchen';
const SMTP_PASS = 'correct horse battery staple';

interface Received {
  from: string;
  to: string[];
  user: unknown;
  secure: boolean;
  raw: Buffer;
}

let tmp: string;
let org: Organizer;
let client: OrganizerApi;
let smtp: SMTPServer;
let smtpPort: number;
let tls = false;
const received: Received[] = [];

function certificate(dir: string): { key: Buffer; cert: Buffer } | null {
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
  } catch {
    return null;
  }
  return { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-mail-'));
  const organizerToken = 'oko_mail-test-' + crypto.randomBytes(16).toString('hex');
  org = await startOrganizer({ dataDir: path.join(tmp, 'organizer'), secretKey: crypto.randomBytes(32), organizerToken, env: {} });
  client = new OrganizerApi({ apiUrl: org.url, token: organizerToken });

  const pair = certificate(tmp);
  tls = pair !== null;
  smtp = new SMTPServer({
    ...(pair ? { key: pair.key, cert: pair.cert } : { allowInsecureAuth: true, disabledCommands: ['STARTTLS'] }),
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASS) return callback(null, { user: auth.username });
      return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user,
          secure: session.secure,
          raw: Buffer.concat(chunks),
        });
        callback(null);
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as net.AddressInfo).port;
});

after(async () => {
  await org?.close();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

function smtpSettings(over: Partial<SmtpSettings> = {}): SmtpSettings {
  return { host: '127.0.0.1', port: smtpPort, requireTls: tls, allowInvalidCert: true, user: SMTP_USER, pass: SMTP_PASS, ...over };
}

/** A workshop with attendees and one invite each, made through the API. */
async function workshopWithInvites(emails: string[]): Promise<{ workshop: Workshop; invites: Invite[] }> {
  const name = 'mail-' + crypto.randomBytes(3).toString('hex');
  const workshop = await client.createWorkshop({ name, title: 'Nomad in Practice' });
  const imported = await client.importAttendees(
    name,
    emails.map((email) => ({ email, name: email.split('@')[0].replace(/^./, (c) => c.toUpperCase()) })),
  );
  assert.equal(imported.imported.length, emails.length, JSON.stringify(imported));
  const { invites } = await client.createInvites(name, {});
  assert.equal(invites.length, emails.length);
  return { workshop, invites };
}

function mailFor(workshop: Workshop, invite: Invite): InviteMail {
  return { to: invite.email, name: invite.email.split('@')[0].replace(/^./, (c) => c.toUpperCase()), workshopTitle: workshop.title, link: invite.link, expiresAt: invite.expiresAt };
}

function addresses(a: AddressObject | AddressObject[] | undefined): string[] {
  return (Array.isArray(a) ? a : a ? [a] : []).flatMap((o) => o.value.map((v) => v.address ?? ''));
}

/** The sign-in link in a mail's text, redeemed as the extension would: POST its invite to its API. */
async function redeemLinkIn(mail: ParsedMail): Promise<RedeemResponse> {
  const m = /vscode:\/\/\S+/.exec(mail.text ?? '');
  assert.ok(m, `no vscode:// link in:\n${mail.text}`);
  const link = new URL(m[0]);
  const api = link.searchParams.get('api');
  const invite = link.searchParams.get('invite');
  assert.ok(api && invite, `link without api or invite: ${m[0]}`);
  const res = await fetch(`${api}/v1/auth/redeem`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invite }) });
  assert.equal(res.status, 200, await res.clone().text());
  return RedeemResponse.parse(await res.json());
}

describe('invites over SMTP', () => {
  const emails = ['ada@example.org', 'grace@example.org', 'linus@example.net'];
  let workshop: Workshop;
  let invites: Invite[];
  const parsed = new Map<string, ParsedMail>();

  test('each attendee gets exactly one mail', async (t) => {
    t.diagnostic(tls ? 'SMTP with STARTTLS (self-signed certificate) and AUTH' : 'openssl is not installed: plain SMTP with AUTH');
    ({ workshop, invites } = await workshopWithInvites(emails));
    const mailer = new Mailer({ from: 'Open Kitchen <kitchen@example.org>', smtp: smtpSettings(), outboxDir: path.join(tmp, 'unused-outbox') });
    assert.equal(mailer.mode, 'smtp');
    try {
      for (const invite of invites) {
        const sent = await mailer.sendInvite(mailFor(workshop, invite));
        assert.deepEqual([sent.to, sent.via, sent.file], [invite.email, 'smtp', undefined]);
        assert.match(sent.messageId, /^<.+@.+>$/);
      }
    } finally {
      mailer.close();
    }
    assert.equal(received.length, 3);
    assert.deepEqual(received.map((r) => r.to).sort(), emails.map((e) => [e]).sort());
    for (const r of received) {
      assert.equal(r.from, 'kitchen@example.org');
      assert.equal(r.user, SMTP_USER, 'the mailer signed in');
      assert.equal(r.secure, tls, tls ? 'STARTTLS was used' : 'no openssl: plain SMTP');
      const mail = await simpleParser(r.raw);
      parsed.set(r.to[0], mail);
    }
  });

  test('each mail is addressed to its attendee and has the subject, the instructions and the link', () => {
    assert.equal(parsed.size, 3);
    for (const invite of invites) {
      const mail = parsed.get(invite.email)!;
      assert.deepEqual(addresses(mail.to), [invite.email]);
      assert.equal(mail.subject, 'Your environment for Nomad in Practice');
      const text = mail.text ?? '';
      assert.match(text, /^Hello [A-Z]\w+,/);
      assert.match(text, /Install the Open Kitchen extension: open the \.vsix file you were given with "Extensions: Install from VSIX\.\.\." in VS Code\./);
      assert.match(text, /Click this link; VS Code opens and signs you in:/);
      assert.ok(text.includes(invite.link), 'the invite link is in the text');
      assert.ok(text.includes(`until ${invite.expiresAt}`));
      // The HTML part makes the same link clickable.
      assert.ok(String(mail.html).includes(`href="${invite.link.replace(/&/g, '&amp;')}"`), String(mail.html));
    }
  });

  test('the link in each mail signs its attendee in', async () => {
    for (const invite of invites) {
      const session = await redeemLinkIn(parsed.get(invite.email)!);
      assert.equal(session.attendee.email, invite.email);
      assert.equal(session.workshop.id, workshop.id);
      const me = await fetch(`${org.url}/v1/me`, { headers: { authorization: `Bearer ${session.token}` } });
      assert.equal(Me.parse(await me.json()).email, invite.email);
    }
  });

  test('a refused sign-in names the server and says what to check', async () => {
    const { workshop: w, invites: inv } = await workshopWithInvites(['wrongpass@example.org']);
    const mailer = new Mailer({ from: 'kitchen@example.org', smtp: smtpSettings({ pass: 'wrong' }), outboxDir: tmp });
    const before = received.length;
    try {
      await assert.rejects(
        mailer.sendInvite(mailFor(w, inv[0])),
        new RegExp(
          `^Error: Could not send the invite to wrongpass@example\\.org through the SMTP server 127\\.0\\.0\\.1:${smtpPort}: ` +
            'the server refused the sign-in as "kitchen" \\(535 Invalid username or password\\); check OPEN_KITCHEN_SMTP_USER and OPEN_KITCHEN_SMTP_PASS$',
        ),
      );
    } finally {
      mailer.close();
    }
    assert.equal(received.length, before, 'nothing was delivered');
  });

  test('an unreachable server names the host and port', async () => {
    // A port that was free a moment ago and has no listener now.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const mailer = new Mailer({ from: 'kitchen@example.org', smtp: smtpSettings({ port: closedPort }), outboxDir: tmp });
    try {
      await assert.rejects(
        mailer.sendInvite({ to: 'x@example.org', name: 'X', workshopTitle: 'T', link: 'vscode://openkitchen.open-kitchen/signin?x', expiresAt: new Date().toISOString() }),
        new RegExp(`Could not send the invite to x@example\\.org through the SMTP server 127\\.0\\.0\\.1:${closedPort}: nothing accepts connections there \\(connection refused\\)`),
      );
    } finally {
      mailer.close();
    }
  });
});

describe('invites to the outbox (the default without SMTP)', () => {
  test('each invite is a valid .eml file, readable by the organizer only, whose link signs in', async () => {
    const { workshop, invites } = await workshopWithInvites(['eve@example.org', 'frank@example.org', 'heidi@example.org']);
    const outboxDir = path.join(tmp, 'outbox');
    const mailer = new Mailer({ from: 'Open Kitchen <kitchen@example.org>', outboxDir, vsixUrl: 'https://kitchen.example.org/open-kitchen.vsix' });
    assert.equal(mailer.mode, 'outbox');
    const sent = [];
    for (const invite of invites) sent.push(await mailer.sendInvite(mailFor(workshop, invite)));
    mailer.close();

    assert.equal(fs.statSync(outboxDir).mode & 0o777, 0o700);
    const files = fs.readdirSync(outboxDir).filter((f) => f.endsWith('.eml'));
    assert.equal(files.length, 3);
    for (const [i, s] of sent.entries()) {
      assert.equal(s.via, 'outbox');
      assert.ok(s.file && files.includes(path.basename(s.file)));
      assert.equal(fs.statSync(s.file).mode & 0o777, 0o600);
      const raw = fs.readFileSync(s.file);
      const mail = await simpleParser(raw);
      // The headers a mail client needs to open and send it.
      assert.deepEqual(addresses(mail.from), ['kitchen@example.org']);
      assert.deepEqual(addresses(mail.to), [invites[i].email]);
      assert.equal(mail.subject, 'Your environment for Nomad in Practice');
      assert.ok(mail.date instanceof Date && !Number.isNaN(mail.date.getTime()), 'Date header');
      assert.equal(mail.messageId, s.messageId);
      assert.match(raw.toString('utf8'), /\r\nMIME-Version: 1\.0\r\n/);
      assert.match(mail.text ?? '', /download https:\/\/kitchen\.example\.org\/open-kitchen\.vsix and run "Extensions: Install from VSIX\.\.\."/);
      const session = await redeemLinkIn(mail);
      assert.equal(session.attendee.email, invites[i].email);
    }
  });
});

describe('SMTP settings from the environment', () => {
  test('host, port, TLS and sign-in are read; without a host mail goes to the outbox', () => {
    assert.equal(smtpFromEnv({}), undefined);
    assert.deepEqual(
      smtpFromEnv({ OPEN_KITCHEN_SMTP_HOST: 'smtp.example.org', OPEN_KITCHEN_SMTP_USER: 'u', OPEN_KITCHEN_SMTP_PASS: 'p', OPEN_KITCHEN_SMTP_REQUIRE_TLS: '1' }),
      { host: 'smtp.example.org', port: 587, secure: false, requireTls: true, allowInvalidCert: false, user: 'u', pass: 'p' },
    );
    assert.equal(smtpFromEnv({ OPEN_KITCHEN_SMTP_HOST: 'smtp.example.org', OPEN_KITCHEN_SMTP_SECURE: 'true' })?.port, 465);
  });

  test('a bad port or a password without a user is refused, naming the variable', () => {
    assert.throws(() => smtpFromEnv({ OPEN_KITCHEN_SMTP_HOST: 'h', OPEN_KITCHEN_SMTP_PORT: 'smtp' }), /OPEN_KITCHEN_SMTP_PORT must be a port number, not "smtp"/);
    assert.throws(() => smtpFromEnv({ OPEN_KITCHEN_SMTP_HOST: 'h', OPEN_KITCHEN_SMTP_PASS: 'p' }), /OPEN_KITCHEN_SMTP_PASS is set but OPEN_KITCHEN_SMTP_USER is not/);
  });
});
