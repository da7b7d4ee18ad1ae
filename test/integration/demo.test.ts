/**
 * The demo backend (what `npm run demo` runs): an organizer with the demo workshop, real local
 * stacks and invite links. Every link parses as the extension parses it and points at the
 * demo's API; every stack's Nomad answers through its bastion; an invite redeems into an
 * environment with the same details; stop() leaves no stack process and no sshd behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseInviteLink } from '../../src/attendee/inviteLink';
import { Environment, RedeemResponse } from '../../src/contract';
import { demoAttendees, startDemo, type Demo } from '../../src/cli/demoBackend';
import { isAlive } from '../../src/organizer/providers/bastion';
import { httpGetThroughBastion } from '../../src/organizer/providers/bastion/probe';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-demo-'));

/** Live processes whose command line names the demo folder (stack processes, sshd). */
function demoProcesses(): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes(dataDir) && isAlive(Number(entry))) out.push({ pid: Number(entry), cmdline: cmdline.replace(/\0/g, ' ') });
  }
  return out;
}

describe('the demo', () => {
  let demo: Demo;
  const lines: string[] = [];

  before(async () => {
    demo = await startDemo({ dataDir, port: 0, attendees: 2, wait: false, log: (l) => lines.push(l) });
  });

  after(async () => {
    await demo?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('prints the API URL, an organizer token and one invite per attendee', () => {
    assert.match(demo.apiUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(demo.organizerToken, /^oko_/);
    assert.deepEqual(
      demo.invites.map((i) => i.email).sort(),
      demoAttendees(2)
        .map((a) => a.email)
        .sort(),
    );
    assert.ok(lines.some((l) => l.includes(demo.apiUrl)));
  });

  test('every invite link parses as the extension parses it and points at the demo API', () => {
    for (const invite of demo.invites) {
      assert.match(invite.link, /^vscode:\/\/openkitchen\.open-kitchen\/signin\?/);
      const parsed = parseInviteLink(invite.link);
      assert.equal(parsed.apiUrl.replace(/\/+$/, ''), demo.apiUrl);
      assert.match(parsed.invite, /^oki_/);
    }
  });

  test("every stack becomes ready and its Nomad answers through its bastion", async () => {
    const stacks = await demo.settled();
    assert.equal(stacks.length, 2);
    for (const s of stacks) {
      assert.equal(s.status, 'ready', `${s.email}: ${s.statusMessage}`);
      const c = s.connection!;
      const res = await httpGetThroughBastion({ bastion: c.bastion, privateKey: c.privateKey, target: c.nomad, path: '/v1/status/leader' });
      assert.equal(res.status, 200);
      assert.equal(res.seenFingerprint, c.bastion.hostKeyFingerprint);
      assert.ok(s.sshCommand?.includes(`-p ${c.bastion.port}`));
      assert.equal(fs.statSync(s.privateKeyFile!).mode & 0o777, 0o600);
    }
    const verified = await demo.verify();
    assert.deepEqual(
      verified.map((v) => v.ok),
      [true, true],
      JSON.stringify(verified),
    );
  });

  test('an invite redeems into the same environment the demo shows', async () => {
    const invite = demo.invites[0];
    const { invite: token } = parseInviteLink(invite.link);
    const redeem = await fetch(`${demo.apiUrl}/v1/auth/redeem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ invite: token }),
    });
    assert.equal(redeem.status, 200);
    const session = RedeemResponse.parse(await redeem.json());
    const envRes = await fetch(`${demo.apiUrl}/v1/me/environment`, { headers: { authorization: `Bearer ${session.token}` } });
    const env = Environment.parse(await envRes.json());
    const shown = demo.stacks().find((s) => s.attendeeId === invite.attendeeId)!;
    assert.equal(env.status, 'ready');
    assert.deepEqual(env.connection, shown.connection);
  });

  test('the JSON summary carries the API URL, token, invites and stack details', () => {
    const summary = JSON.parse(JSON.stringify(demo.summary())) as ReturnType<Demo['summary']>;
    assert.equal(summary.apiUrl, demo.apiUrl);
    assert.equal(summary.organizerToken, demo.organizerToken);
    assert.equal(summary.invites.length, 2);
    assert.ok(summary.stacks.every((s) => s.connection && s.connection.bastion.port > 0));
  });

  test('stop() destroys the stacks and leaves no process behind', async () => {
    assert.ok(demoProcesses().length >= 2, 'stack processes run before stop');
    await demo.stop();
    assert.deepEqual(demoProcesses(), []);
    assert.deepEqual(fs.existsSync(path.join(dataDir, 'stacks')) ? fs.readdirSync(path.join(dataDir, 'stacks')) : [], []);
  });
});
