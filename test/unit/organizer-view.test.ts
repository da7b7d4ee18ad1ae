/**
 * The organizer's console without VS Code: the Organizer view's rows (stack status as icon and
 * word, invite, last seen, lab progress), the counts a provisioning run shows, the pre-flight
 * confirmation, the roster import report by line number, the live model following the event
 * stream (and reopening it when it breaks), and the organizer-token check against a real HTTP
 * server.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { AttendeeSummary, PreflightResponse, StackSummary, WorkshopEvent } from '../../src/contract';
import { buildImportReport, parseRosterCsv, StackRun } from '../../src/organizerClient';
import { checkOrganizerToken, listWorkshops, OrganizerModel, type OrganizerEventsApi } from '../../src/organizerView';
import {
  attendeeNode,
  checkTypedWorkshopName,
  countStacks,
  formatImportMessage,
  formatPreflight,
  formatProvisionOutcome,
  formatRunProgress,
  formatSendReport,
  liveStacks,
  organizerRoots,
  stateRows,
  type ViewNode,
} from '../../src/views';

/** The Organizer view's rows (a state shown as its rows). */
function buildOrganizerNodes(input: Parameters<typeof organizerRoots>[0]): ViewNode[] {
  const roots = organizerRoots(input);
  return Array.isArray(roots) ? roots : stateRows(roots);
}
import { nextEvent } from '../../src/common/events';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const workshop = { id: 'w1', name: 'demo', title: 'Demo workshop', provider: 'local', topology: { servers: 3, clientsPerZone: 3, zones: ['a', 'b'] }, createdAt: '2026-11-01T00:00:00.000Z' };

function attendee(id: string, name: string, over: Partial<AttendeeSummary> = {}): AttendeeSummary {
  return {
    id,
    email: `${id}@example.com`,
    name,
    team: null,
    stack: { id: `s-${id}`, status: 'pending', statusMessage: null },
    invite: { status: 'none', expiresAt: null, mailedAt: null },
    lastSeenAt: null,
    progress: { done: 0, current: null },
    ...over,
  };
}

function stack(attendeeId: string, status: StackSummary['status'], at: string, statusMessage: string | null = null): StackSummary {
  return { id: `s-${attendeeId}`, attendeeId, status, statusMessage, updatedAt: at };
}

test('an attendee row shows stack status as icon and word, invite, last seen and lab progress', () => {
  const row = attendeeNode(
    attendee('ada', 'Ada Lovelace', {
      team: 'red',
      stack: { id: 's', status: 'ready', statusMessage: 'Ready.' },
      invite: { status: 'redeemed', expiresAt: '2026-11-28T10:00:00.000Z', mailedAt: '2026-11-25T09:00:00.000Z' },
      lastSeenAt: '2026-11-25T09:55:00.000Z',
      progress: { done: 2, current: 'connect/explore' },
    }),
    NOW,
  );
  assert.equal(row.label, 'Ada Lovelace');
  assert.equal(row.description, 'Ready · signed in · seen 5 min ago · 2 steps done');
  assert.equal(row.icon?.id, 'pass-filled');
  assert.equal(row.contextValue, 'attendee:ready invite:redeemed');
  assert.deepEqual(row.target, { kind: 'attendee', attendeeId: 'ada' });
  assert.equal(row.id, 'attendee/ada');
  assert.match(row.tooltip!, /ada@example\.com> \(team red\)/);
  assert.match(row.tooltip!, /Labs: 2 steps done, last: connect\/explore/);
  assert.deepEqual(row.children!.map((c) => c.label), ['Email', 'Team', 'Stack', 'Invite', 'Last seen', 'Labs']);

  const failed = attendeeNode(attendee('bob', 'Bob', { stack: { id: 's', status: 'failed', statusMessage: 'quota exceeded' } }), NOW);
  assert.equal(failed.description, 'Failed · not invited · never seen · no lab progress');
  assert.equal(failed.icon?.id, 'error');
  assert.equal(failed.children!.find((c) => c.label === 'Stack')!.description, 'Failed: quota exceeded');

  const invited = attendeeNode(attendee('cy', 'Cy', { stack: null, invite: { status: 'sent', expiresAt: '2026-11-28T10:00:00.000Z', mailedAt: null } }), NOW);
  assert.equal(invited.description, 'No stack · invite not mailed · never seen · no lab progress');
  assert.equal(invited.contextValue, 'attendee:none invite:sent');
});

test('the view: loading, error with retry, empty with import, then a summary and rows by name', () => {
  assert.equal(buildOrganizerNodes({ workshop, snapshot: { state: 'loading' }, now: NOW })[0]!.icon?.id, 'loading~spin');
  const error = buildOrganizerNodes({ workshop, snapshot: { state: 'error', message: 'HTTP 401' }, now: NOW })[0]!;
  assert.equal(error.description, 'HTTP 401');
  assert.equal(error.command?.command, 'openKitchen.refreshOrganizer');
  const empty = buildOrganizerNodes({ workshop, snapshot: { state: 'loaded', attendees: [] }, now: NOW });
  assert.deepEqual(empty.map((n) => [n.label, n.command?.command]), [['No attendees yet', 'openKitchen.importRoster']]);

  const nodes = buildOrganizerNodes({
    workshop,
    now: NOW,
    snapshot: {
      state: 'loaded',
      streamError: 'socket hang up',
      attendees: [
        attendee('z', 'Zed', { stack: { id: 's1', status: 'provisioning', statusMessage: null } }),
        attendee('a', 'Ann', { stack: { id: 's2', status: 'ready', statusMessage: null } }),
        attendee('m', 'Mo', { stack: { id: 's3', status: 'failed', statusMessage: null } }),
      ],
    },
  });
  assert.deepEqual(nodes.map((n) => n.label), ['Live updates interrupted', '3 attendees', 'Ann', 'Mo', 'Zed']);
  assert.equal(nodes[1]!.description, '1 ready · 1 provisioning · 1 failed');
  const waiting = buildOrganizerNodes({ workshop, now: NOW, snapshot: { state: 'loaded', attendees: [attendee('p', 'Pat'), attendee('q', 'Quinn', { stack: { id: 's', status: 'destroyed', statusMessage: null } })] } });
  assert.equal(waiting[0]!.description, '1 pending · 1 destroyed', 'a stack waiting to be built is not called provisioning');
  const queued = buildOrganizerNodes({ workshop, now: NOW, snapshot: { state: 'loaded', attendees: [attendee('p', 'Pat', { stack: { id: 's', status: 'queued', statusMessage: null } }), attendee('q', 'Quinn', { stack: { id: 't', status: 'cancelled', statusMessage: null } })] } });
  assert.equal(queued[0]!.description, '1 queued · 1 cancelled');
});

test('the counts of the room, and the provisioning notification following a run', () => {
  const list = [
    attendee('a', 'A', { stack: { id: '1', status: 'ready', statusMessage: null } }),
    attendee('b', 'B', { stack: { id: '2', status: 'provisioning', statusMessage: null } }),
    attendee('c', 'C', { stack: { id: '3', status: 'queued', statusMessage: null } }),
    attendee('d', 'D', { stack: { id: '4', status: 'failed', statusMessage: null } }),
    attendee('e', 'E', { stack: { id: '5', status: 'destroyed', statusMessage: null } }),
    attendee('f', 'F', { stack: null }),
  ];
  const c = countStacks(list);
  assert.deepEqual([c.ready, c.provisioning, c.queued, c.failed, c.destroyed, c.none], [1, 1, 1, 1, 1, 1]);
  assert.equal(liveStacks(c), 4, 'destroyed and missing stacks are not live');

  const run = new StackRun('provision');
  const at = (t: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, t)).toISOString();
  run.start([stack('a', 'ready', at(1)), stack('b', 'provisioning', at(1)), stack('c', 'queued', at(1)), stack('d', 'queued', at(1))]);
  assert.equal(formatRunProgress(run), '0 ready · 0 failed · 1 provisioning · 2 queued of 3');
  run.apply(stack('b', 'ready', at(2)));
  run.apply(stack('c', 'failed', at(2), 'boom'));
  run.apply(stack('d', 'ready', at(2)));
  assert.equal(run.done, true);
  assert.match(formatProvisionOutcome(run, false).message, /^2 of 3 stacks ready, 1 failed\. Retry/);
  assert.match(formatProvisionOutcome(run, true).message, /^Provisioning cancelled: 2 of 3 stacks ready/);
  const fine = new StackRun('provision');
  fine.start([stack('b', 'queued', at(1))]);
  fine.apply(stack('b', 'ready', at(2)));
  assert.equal(formatProvisionOutcome(fine, false).message, 'The stack is ready.');
});

test('Destroy All accepts only the exact workshop name', () => {
  assert.equal(checkTypedWorkshopName('demo', 'demo'), undefined);
  assert.equal(checkTypedWorkshopName('', 'demo'), 'Type "demo" to confirm.');
  assert.match(checkTypedWorkshopName('Demo', 'demo')!, /not the workshop's name; type "demo"/);
});

test('the pre-flight confirmation lists what will be created and the quotas; a problem blocks it', () => {
  const p: PreflightResponse = {
    workshop: 'demo',
    provider: 'terraform-gce',
    stacks: 20,
    ready: 2,
    resources: [
      { name: 'VMs', unit: null, perStack: 10, total: 200 },
      { name: 'Disk', unit: 'GB', perStack: 200, total: 4000 },
    ],
    quotas: [{ metric: 'CPUS', scope: 'region europe-west1', needed: 400, limit: 500, usage: 50, ok: true }],
    quotaNote: null,
    problems: [],
    ok: true,
  };
  const f = formatPreflight(p);
  assert.equal(f.message, 'Provision 20 stacks for "demo"?');
  assert.equal(f.canProvision, true);
  assert.match(f.detail, /Provider terraform-gce: 20 stacks to build \(2 ready, left alone\)\./);
  assert.match(f.detail, /• VMs: 200 \(10 per stack\)/);
  assert.match(f.detail, /• Disk: 4000 GB \(200 GB per stack\)/);
  assert.match(f.detail, /• CPUS \(region europe-west1\): needs 400, 450 free of 500$/m);

  const blocked = formatPreflight({ ...p, ok: false, quotas: [{ ...p.quotas[0]!, limit: 100, ok: false }], problems: ['CPUS quota: needs 400, 50 free'] });
  assert.equal(blocked.canProvision, false);
  assert.match(blocked.detail, /NOT ENOUGH/);
  assert.match(blocked.detail, /Provisioning would fail:\n• CPUS quota/);
  assert.equal(formatPreflight({ ...p, stacks: 0 }).canProvision, false);
});

test('the import report lists every bad row by line: local problems and server rejections together', () => {
  const csv = 'email,name,team\nada@example.com,Ada,red\nnot-an-email,Bob\n\ngrace@example.com,Grace\nada@example.com,Ada again\n,Nobody\n';
  const parsed = parseRosterCsv(csv);
  assert.equal(parsed.rows.length, 3);
  const report = buildImportReport(parsed, {
    imported: [{ id: '1', email: 'ada@example.com' }, { id: '2', email: 'grace@example.com' }],
    rejected: [{ index: 2, email: 'ada@example.com', reason: 'duplicate of line 2' }],
  });
  assert.equal(report.imported.length, 2);
  assert.deepEqual(report.rejected.map((b) => b.line), [3, 6, 7]);
  const shown = formatImportMessage('roster.csv', report);
  assert.equal(shown.message, 'Imported 2 attendees from roster.csv; 3 rows not imported.');
  assert.match(shown.detail, /^Line 3 \(not-an-email\): email: not a valid email address$/m);
  assert.match(shown.detail, /^Line 6 \(ada@example\.com\): duplicate of line 2$/m);
  assert.match(shown.detail, /^Line 7: email: not a valid email address$/m);

  const header = buildImportReport(parseRosterCsv('mail,who\na@b.c,A\n'), null);
  assert.equal(header.imported.length, 0);
  assert.match(formatImportMessage('x.csv', header).detail, /^Line 1: the header must name the columns "email" and "name"/);
});

test('the invite report says where the mails went and which failed', () => {
  assert.equal(
    formatSendReport({ transport: 'outbox', outboxDir: 'data/outbox', sent: [{ attendeeId: 'a', email: 'a@x.io', messageId: 'm' }], failed: [] }).message,
    'Invite for a@x.io written to data/outbox.',
  );
  const mixed = formatSendReport({
    transport: 'smtp',
    outboxDir: null,
    sent: [{ attendeeId: 'a', email: 'a@x.io', messageId: 'm' }, { attendeeId: 'b', email: 'b@x.io', messageId: 'n' }],
    failed: [{ attendeeId: 'c', email: 'c@x.io', reason: '550 no such user' }],
  });
  assert.equal(mixed.level, 'warning');
  assert.equal(mixed.message, '2 invites sent by mail. 1 invite failed: c@x.io: 550 no such user');
});

/** An API whose event stream the test drives; each watchWorkshop call is one stream. */
class FakeApi implements OrganizerEventsApi {
  attendees: AttendeeSummary[] = [];
  listCalls = 0;
  streams: { emit: (e: WorkshopEvent) => void; end: (err?: Error) => void; signal: AbortSignal }[] = [];
  private streamWaiters: (() => void)[] = [];

  async listAttendees(): Promise<{ attendees: AttendeeSummary[] }> {
    this.listCalls++;
    return { attendees: structuredClone(this.attendees) };
  }

  watchWorkshop(_w: string, onEvent: (e: WorkshopEvent) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      this.streams.push({ emit: onEvent, end: (err) => (err ? reject(err) : resolve()), signal });
      signal.addEventListener('abort', () => resolve());
      for (const w of this.streamWaiters.splice(0)) w();
    });
  }

  nextStream(count: number): Promise<void> {
    if (this.streams.length >= count) return Promise.resolve();
    return new Promise((r) => this.streamWaiters.push(() => (this.streams.length >= count ? r() : void this.nextStream(count).then(r))));
  }
}

test('the model follows the event stream, ignores stale answers, reloads for unknown attendees, and reopens a broken stream', async () => {
  const api = new FakeApi();
  api.attendees = [attendee('a', 'Ann'), attendee('b', 'Bo')];
  const model = new OrganizerModel({ api, workshop: 'demo', reconnectDelayMs: 5 });
  try {
    await model.start();
    await api.nextStream(1);
    const stream = api.streams[0]!;
    stream.emit({ type: 'snapshot', stacks: [stack('a', 'pending', '2026-11-25T10:00:00.000Z'), stack('b', 'pending', '2026-11-25T10:00:00.000Z')] });
    stream.emit({ type: 'stack', stack: stack('a', 'provisioning', '2026-11-25T10:00:01.000Z') });
    stream.emit({ type: 'stack', stack: stack('a', 'ready', '2026-11-25T10:00:05.000Z') });
    // A provision answer produced before the last event arrives late: it must not undo it.
    model.applyStacks([stack('a', 'pending', '2026-11-25T10:00:00.500Z')]);
    let s = model.snapshot;
    assert.equal(s.state, 'loaded');
    assert.deepEqual(s.state === 'loaded' && s.attendees.map((x) => x.stack?.status), ['ready', 'pending']);

    // Someone imported an attendee elsewhere: its stack event makes the model fetch the list again.
    api.attendees.push(attendee('c', 'Cy'));
    const reloaded = nextEvent(model.onDidChange, (snap) => snap.state === 'loaded' && snap.attendees.length === 3);
    stream.emit({ type: 'stack', stack: stack('c', 'provisioning', '2026-11-25T10:00:06.000Z') });
    s = await reloaded;
    assert.deepEqual(s.state === 'loaded' && s.attendees.map((x) => `${x.name}:${x.stack?.status}`), ['Ann:ready', 'Bo:pending', 'Cy:provisioning']);

    // The stream breaks: the view says so, and a new stream's snapshot brings it up to date.
    const broken = nextEvent(model.onDidChange, (snap) => snap.state === 'loaded' && !!snap.streamError);
    stream.end(new Error('socket hang up'));
    assert.equal(((await broken) as { streamError?: string }).streamError, 'socket hang up');
    await api.nextStream(2);
    const healed = nextEvent(model.onDidChange, (snap) => snap.state === 'loaded' && !snap.streamError);
    api.streams[1]!.emit({ type: 'snapshot', stacks: [stack('a', 'ready', '2026-11-25T10:00:05.000Z'), stack('b', 'failed', '2026-11-25T10:00:09.000Z'), stack('c', 'ready', '2026-11-25T10:00:09.000Z')] });
    s = await healed;
    assert.deepEqual(s.state === 'loaded' && countStacks(s.attendees), { none: 0, pending: 0, queued: 0, provisioning: 0, ready: 2, failed: 1, cancelled: 0, destroying: 0, destroyed: 0 });
  } finally {
    model.dispose();
  }
  assert.ok(api.streams.every((st) => st.signal.aborted), 'dispose closes the stream');
});

test('attendee events update last seen, invite and lab progress live, without undoing a newer stack state', async () => {
  const api = new FakeApi();
  api.attendees = [attendee('a', 'Ann'), attendee('b', 'Bo')];
  const model = new OrganizerModel({ api, workshop: 'demo', reconnectDelayMs: 5 });
  try {
    await model.start();
    await api.nextStream(1);
    const stream = api.streams[0]!;
    stream.emit({ type: 'stack', stack: stack('a', 'ready', '2026-11-25T10:00:05.000Z') });
    const listed = api.listCalls;
    // The attendee summary was read before the stack got ready: its stale stack must not win.
    stream.emit({
      type: 'attendee',
      attendee: attendee('a', 'Ann', {
        invite: { status: 'redeemed', expiresAt: '2026-11-28T10:00:00.000Z', mailedAt: '2026-11-25T09:00:00.000Z' },
        lastSeenAt: '2026-11-25T10:00:06.000Z',
        progress: { done: 2, current: 'first-job/run' },
      }),
    });
    const s = model.snapshot;
    assert.ok(s.state === 'loaded');
    const ann = s.attendees.find((x) => x.id === 'a')!;
    assert.equal(ann.stack?.status, 'ready');
    assert.equal(ann.invite.status, 'redeemed');
    assert.equal(ann.lastSeenAt, '2026-11-25T10:00:06.000Z');
    assert.deepEqual(ann.progress, { done: 2, current: 'first-job/run' });
    assert.equal(api.listCalls, listed, 'a known attendee needs no reload');

    api.attendees.push(attendee('c', 'Cy'));
    const reloaded = nextEvent(model.onDidChange, (snap) => snap.state === 'loaded' && snap.attendees.length === 3);
    stream.emit({ type: 'attendee', attendee: attendee('c', 'Cy') });
    await reloaded;
  } finally {
    model.dispose();
  }
});

test('a first load that fails is an error state; later failures keep what was shown', async () => {
  const api = new FakeApi();
  api.listAttendees = async () => {
    throw new Error('Cannot reach the organizer API');
  };
  const model = new OrganizerModel({ api, workshop: 'demo', reconnectDelayMs: 60_000 });
  try {
    await model.start();
    assert.deepEqual(model.snapshot, { state: 'error', message: 'Cannot reach the organizer API' });
  } finally {
    model.dispose();
  }
});

test('the organizer token is checked with a real call, and each wrong answer says what is wrong', async (t) => {
  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization;
    res.setHeader('content-type', 'application/json');
    if (req.url !== '/v1/workshops') return res.writeHead(404).end('{}');
    if (auth === 'Bearer organizer-token-123456') return res.end(JSON.stringify({ workshops: [workshop] }));
    if (auth === 'Bearer attendee-session-123456') return res.writeHead(403).end(JSON.stringify({ error: { code: 'forbidden', message: 'no' } }));
    if (auth === 'Bearer weird-answer-123456') return res.end(JSON.stringify({ hello: 'world' }));
    res.writeHead(401).end(JSON.stringify({ error: { code: 'unauthorized', message: 'no' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const ok = await listWorkshops(url, 'organizer-token-123456');
  assert.equal(ok.apiUrl, url.replace(/\/$/, ''));
  assert.deepEqual(ok.workshops.map((w) => w.name), ['demo']);
  await assert.rejects(listWorkshops(url, 'wrong-token-12345678'), /does not accept this organizer token/);
  await assert.rejects(listWorkshops(url, 'attendee-session-123456'), /That is not the organizer token/);
  await assert.rejects(listWorkshops(url, 'weird-answer-123456'), /not like an Open Kitchen organizer API/);
  await assert.rejects(listWorkshops('http://kitchen.example.com', 'organizer-token-123456'), /plain http:\/\//);
  server.close();
  await assert.rejects(listWorkshops(url, 'organizer-token-123456'), /Cannot reach the organizer API/);

  assert.match(checkOrganizerToken('')!, /Paste the organizer token/);
  assert.match(checkOrganizerToken('abc def ghi jkl mno')!, /no spaces/);
  assert.equal(checkOrganizerToken('  oko_abcdefghijklmnop  '), undefined);
});
