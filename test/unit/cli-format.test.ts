/**
 * What the headless organizer commands print: the progress line at 0, partway and all done,
 * on wide and narrow terminals; following a run from out-of-order stack states; the
 * pre-flight table; the roster report with lines of the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PreflightResponse, StackStatus, StackSummary } from '../../src/contract';
import { buildImportReport, parseRosterCsv } from '../../src/organizerClient';
import {
  formatDuration,
  formatImportReport,
  formatPreflight,
  formatSendInvites,
  formatStacks,
  formatTable,
  renderBar,
  renderProgress,
  type ProgressView,
} from '../../src/cli/format';

const view = (done: number, total: number, elapsedMs = 42_000): ProgressView => ({
  title: 'Provisioning',
  total,
  done,
  counts: [
    ['ready', done],
    ['failed', 0],
    ['provisioning', total - done],
  ],
  elapsedMs,
});

function stack(id: string, status: StackStatus, at: number, message: string | null = null, attendeeId = `a-${id}`): StackSummary {
  return { id, attendeeId, status, statusMessage: message, updatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, at)).toISOString() };
}

test('durations read as a clock', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(7_900), '0:07');
  assert.equal(formatDuration(754_000), '12:34');
  assert.equal(formatDuration(3_723_000), '1:02:03');
});

test('the bar is empty at 0, partly filled on the way, full only when all are done', () => {
  assert.equal(renderBar(0, 10, 12), '[░░░░░░░░░░]');
  assert.equal(renderBar(3, 10, 12), '[███░░░░░░░]');
  // 9.9 of 10 cells: not full until the last stack ends.
  assert.equal(renderBar(99, 100, 12), '[█████████░]');
  assert.equal(renderBar(10, 10, 12), '[██████████]');
  assert.equal(renderBar(0, 0, 12), '[██████████]', 'nothing to do is done');
});

test('the progress line shows counts of N, a bar and the elapsed time', () => {
  const line = renderProgress(view(3, 10), 100);
  assert.match(line, /^Provisioning \[█+░+\] 3\/10 {2}ready 3 {2}failed 0 {2}provisioning 7 {2}0:42$/);
  assert.ok(line.length <= 99, 'one column short of the terminal, so the cursor never wraps');
  const bar = /\[(.*)\]/.exec(line)![1];
  assert.ok(bar.length <= 38, 'the bar does not grow past its maximum on a wide terminal');
  assert.match(renderProgress(view(0, 10), 100), /\[░+\] 0\/10/);
  assert.match(renderProgress(view(10, 10), 100), /\[█+\] 10\/10/);
});

test('on a narrow terminal the bar shrinks, then goes, then the text is cut', () => {
  const wide = renderProgress(view(5, 10), 120);
  const mid = renderProgress(view(5, 10), 70);
  assert.ok(mid.length <= 69 && mid.includes('['), `shorter bar fits: ${mid}`);
  assert.ok(/\[(.*)\]/.exec(mid)![1].length < /\[(.*)\]/.exec(wide)![1].length);
  const narrow = renderProgress(view(5, 10), 60);
  assert.ok(!narrow.includes('['), `no room for a bar: ${narrow}`);
  assert.equal(narrow, 'Provisioning 5/10  ready 5  failed 0  provisioning 5  0:42');
  const tiny = renderProgress(view(5, 10), 20);
  assert.equal(tiny.length, 19);
  assert.match(tiny, /^Provisioning 5\/10 …$/);
  assert.equal(renderProgress(view(5, 10), 1), '…');
});

test('tables align columns and right-align numbers', () => {
  assert.equal(
    formatTable(['NAME', 'N', 'NOTE'], [['vCPUs', '6', 'x'], ['Public IPs', '12', '']], [1]),
    'NAME         N  NOTE\nvCPUs        6  x\nPublic IPs  12',
  );
});

const preflight: PreflightResponse = {
  workshop: 'cli-ws',
  provider: 'terraform-gce',
  stacks: 2,
  ready: 1,
  resources: [
    { name: 'VMs', unit: null, perStack: 10, total: 20 },
    { name: 'Disk', unit: 'GB', perStack: 200, total: 400 },
  ],
  quotas: [
    { metric: 'CPUS', scope: 'region europe-west1', needed: 20, limit: 24, usage: 2, ok: true },
    { metric: 'IN_USE_ADDRESSES', scope: 'region europe-west1', needed: 4, limit: 8, usage: 6, ok: false },
  ],
  quotaNote: null,
  problems: ['IN_USE_ADDRESSES: 4 needed, 2 left in region europe-west1'],
  ok: false,
};

test('the pre-flight table lists resources, quotas with ok or short, and problems', () => {
  const text = formatPreflight(preflight);
  assert.match(text, /^Pre-flight for workshop cli-ws \(provider terraform-gce\): 2 stacks to build, 1 ready already\./);
  assert.match(text, /\n {2}RESOURCE +PER STACK +TOTAL\n {2}VMs +10 +20\n {2}Disk \(GB\) +200 +400\n/);
  assert.match(text, /CPUS +region europe-west1 +20 +2 +24 +ok\n/);
  assert.match(text, /IN_USE_ADDRESSES +region europe-west1 +4 +6 +8 +SHORT by 2\n/);
  assert.match(text, /Problems \(provisioning would fail\):\n {2}- IN_USE_ADDRESSES: 4 needed, 2 left/);
  assert.doesNotMatch(text, /Quotas:/);

  const local = formatPreflight({ ...preflight, provider: 'local', quotas: [], problems: [], ok: true, quotaNote: 'the local provider has no quotas' });
  assert.match(local, /Quotas: the local provider has no quotas$/);
  assert.doesNotMatch(local, /QUOTA|Problems/);
});

test('the roster report gives every bad row its line in the file, server refusals included', () => {
  const csv = 'email,name,team\nada@example.com,Ada,red\nbroken,Nobody,\n\nada@example.com,Ada again,\ngrace@example.com,,\nlin@example.com,Lin,\n';
  const parsed = parseRosterCsv(csv);
  assert.deepEqual(parsed.rows.map((r) => r.line), [2, 5, 7], 'lines of the file, the blank line 4 counted');
  // What the server answers for the three rows it got: the second is a duplicate of the first.
  const report = buildImportReport(parsed, {
    imported: [
      { id: 'a1', email: 'ada@example.com' },
      { id: 'a3', email: 'lin@example.com' },
    ],
    rejected: [{ index: 1, email: 'ada@example.com', reason: 'duplicate of attendees.0 in this import' }],
  });
  assert.deepEqual(report.imported, [
    { id: 'a1', email: 'ada@example.com', line: 2 },
    { id: 'a3', email: 'lin@example.com', line: 7 },
  ]);
  assert.deepEqual(
    report.rejected.map((r) => [r.line, r.email, r.reason]),
    [
      [3, 'broken', 'email: not a valid email address'],
      [5, 'ada@example.com', 'duplicate of line 2 in this import'],
      [6, 'grace@example.com', 'name: name is required'],
    ],
  );
  assert.equal(
    formatImportReport(report),
    [
      'Imported 2 attendees; 3 rows not imported.',
      '  line 3 (broken): email: not a valid email address',
      '  line 5 (ada@example.com): duplicate of line 2 in this import',
      '  line 6 (grace@example.com): name: name is required',
    ].join('\n'),
  );
});

test('stack listings name the attendee and sum up the statuses', () => {
  const text = formatStacks([stack('s1', 'ready', 1, 'Ready.', 'a1'), stack('s2', 'failed', 1, 'boom', 'a2')], new Map([['a1', 'ada@example.com']]));
  assert.match(text, /^ATTENDEE +STACK +STATUS +MESSAGE\nada@example.com +s1 +ready +Ready\.\na2 +s2 +failed +boom\n1 ready, 1 failed$/);
  assert.match(formatStacks([], new Map()), /No stacks yet/);
});

test('the invite report says per attendee sent or failed and where the mail went', () => {
  const text = formatSendInvites({
    transport: 'outbox',
    outboxDir: 'data/outbox',
    sent: [{ attendeeId: 'a1', email: 'ada@example.com', messageId: '<m1>' }],
    failed: [{ attendeeId: 'a2', email: 'grace@example.com', reason: '550 mailbox unavailable' }],
  });
  assert.match(text, /ada@example.com +sent\n/);
  assert.match(text, /grace@example.com +FAILED +550 mailbox unavailable\n/);
  assert.match(text, /1 sent, 1 failed\. Written as \.eml files to data\/outbox/);
  assert.match(formatSendInvites({ transport: 'smtp', outboxDir: null, sent: [], failed: [] }), /Nobody to send to/);
});
