/**
 * The stack state machine (src/contract/stacks.ts) and following a run of it: one table of
 * event sequences, each run through the CLI's path (`stacks … --wait`: the event stream's
 * events fed to followRun) and VS Code's (the Organizer view's model fed the same events, its
 * stack feed followed by the same followRun), and both must end at the same event. On the code
 * before the shared rule, VS Code counted every pending stack as "provisioning" and kept
 * waiting where the CLI had ended (a roster import, a cancel).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Emitter } from '../../src/common/events';
import {
  assertTransition,
  runEnded,
  STACK_STATES,
  STACK_TRANSITIONS,
  StackStatus,
  type AttendeeSummary,
  type RunKind,
  type StackSummary,
  type WorkshopEvent,
} from '../../src/contract';
import { followRun, StackRun } from '../../src/organizerClient';
import { formatRunResult } from '../../src/cli/format';
import { OrganizerModel } from '../../src/organizerView';

const stack = (id: string, status: StackStatus, t: number, statusMessage: string | null = null, attendeeId = `a-${id}`): StackSummary => ({
  id,
  attendeeId,
  status,
  statusMessage,
  updatedAt: new Date(Date.UTC(2030, 0, 1, 0, 0, t)).toISOString(),
});

describe('the state machine', () => {
  test('every state has its words, every transition leads to a state', () => {
    for (const s of StackStatus.options) assert.ok(STACK_STATES[s].label && STACK_STATES[s].meaning, s);
    for (const [name, t] of Object.entries(STACK_TRANSITIONS)) {
      assert.ok(StackStatus.options.includes(t.to), name);
      for (const f of t.from) assert.ok(StackStatus.options.includes(f), `${name} from ${f}`);
    }
  });

  test('a move the table does not have is refused, naming it', () => {
    assert.equal(assertTransition('queued', 'cancel'), 'cancelled');
    assert.equal(assertTransition('provisioning', 'built'), 'ready');
    assert.throws(() => assertTransition('ready', 'built'), /cannot go from ready by "built"/);
    assert.throws(() => assertTransition('destroyed', 'destroy'), /allowed from: pending, queued/);
  });

  test('the run rule: which states end which runs', () => {
    const ends = (kind: RunKind) => StackStatus.options.filter((s) => runEnded(kind, s));
    assert.deepEqual(ends('provision'), ['pending', 'ready', 'failed', 'cancelled', 'destroyed']);
    assert.deepEqual(ends('destroy'), ['pending', 'failed', 'destroyed']);
    assert.deepEqual(ends('cancel'), ['pending', 'ready', 'failed', 'cancelled', 'destroying', 'destroyed']);
  });
});

interface Row {
  name: string;
  kind: RunKind;
  /** The stream's snapshot before the request. */
  before: StackSummary[];
  /** The request's answer. */
  answer: StackSummary[];
  attendeeIds?: string[];
  /** Events after the answer. */
  events: WorkshopEvent[];
  /** The run is done right after events[doneAfter] (-1: at once, with the answer). */
  doneAfter: number;
  counts: [StackStatus, number][];
}

const ev = (s: StackSummary): WorkshopEvent => ({ type: 'stack', stack: s });

const TABLE: Row[] = [
  {
    name: 'attendees imported during the run get pending stacks: the run does not wait for them',
    kind: 'provision',
    before: [stack('s1', 'pending', 1), stack('s2', 'pending', 1)],
    answer: [stack('s1', 'queued', 2), stack('s2', 'queued', 2)],
    events: [
      ev(stack('s1', 'provisioning', 3)),
      ev(stack('s3', 'pending', 3, 'Waiting for the organizer to provision stacks.')),
      ev(stack('s2', 'provisioning', 4)),
      ev(stack('s1', 'ready', 5)),
      ev(stack('s2', 'ready', 6)),
      ev(stack('s4', 'pending', 7)),
    ],
    doneAfter: 4,
    counts: [['ready', 2], ['failed', 0]],
  },
  {
    name: 'a cancel from elsewhere (the CLI, another window) ends the provision run',
    kind: 'provision',
    before: [],
    answer: [stack('s1', 'queued', 1), stack('s2', 'queued', 1), stack('s3', 'queued', 1)],
    events: [
      ev(stack('s1', 'provisioning', 2)),
      ev(stack('s2', 'cancelled', 3, 'Cancelled by the organizer.')),
      ev(stack('s3', 'cancelled', 3, 'Cancelled by the organizer.')),
      ev(stack('s1', 'provisioning', 4, 'Cancelling: stopping the build and cleaning up what it started.')),
      ev(stack('s1', 'cancelled', 5, 'Cancelled by the organizer.')),
    ],
    doneAfter: 4,
    counts: [['ready', 0], ['failed', 0], ['cancelled', 3]],
  },
  {
    name: 'a build queued again after an organizer restart keeps the run going',
    kind: 'provision',
    before: [],
    answer: [stack('s1', 'provisioning', 1), stack('s2', 'queued', 1)],
    events: [
      ev(stack('s1', 'ready', 2)),
      ev(stack('s2', 'provisioning', 2)),
      ev(stack('s2', 'queued', 3, 'Interrupted by an organizer restart; provisioning again.')),
      ev(stack('s2', 'provisioning', 4)),
      ev(stack('s2', 'failed', 5, 'quota exceeded')),
    ],
    doneAfter: 4,
    counts: [['ready', 1], ['failed', 1]],
  },
  {
    name: 'a run for some attendees follows only theirs',
    kind: 'provision',
    before: [],
    answer: [stack('s1', 'queued', 1, null, 'ada'), stack('s2', 'queued', 1, null, 'grace')],
    attendeeIds: ['grace'],
    events: [ev(stack('s1', 'provisioning', 2, null, 'ada')), ev(stack('s2', 'provisioning', 2, null, 'grace')), ev(stack('s2', 'ready', 3, null, 'grace'))],
    doneAfter: 2,
    counts: [['ready', 1], ['failed', 0]],
  },
  {
    name: 'nothing to build: done with the answer',
    kind: 'provision',
    before: [stack('s1', 'ready', 1)],
    answer: [stack('s1', 'ready', 1)],
    events: [],
    doneAfter: -1,
    counts: [['ready', 0], ['failed', 0]],
  },
  {
    name: 'a teardown passes a build that reports ready on its way down',
    kind: 'destroy',
    before: [],
    answer: [stack('s1', 'destroying', 1), stack('s2', 'provisioning', 1), stack('s3', 'destroyed', 0), stack('s4', 'pending', 1, 'Not provisioned.')],
    events: [ev(stack('s1', 'destroyed', 2)), ev(stack('s2', 'ready', 2)), ev(stack('s2', 'destroying', 3)), ev(stack('s2', 'failed', 4, 'Destroy failed: gone wrong'))],
    doneAfter: 3,
    counts: [['destroyed', 1], ['failed', 1]],
  },
  {
    name: 'a cancel run waits for the running build to be cleaned up, not for the queued ones',
    kind: 'cancel',
    before: [],
    answer: [stack('s1', 'provisioning', 1, 'Cancelling: stopping the build.'), stack('s2', 'cancelled', 1), stack('s3', 'ready', 1)],
    events: [ev(stack('s1', 'provisioning', 2, 'Cancelling: destroyed the bastion.')), ev(stack('s1', 'cancelled', 3))],
    doneAfter: 1,
    counts: [['cancelled', 1], ['failed', 0]],
  },
];

/** Feeds `row` through one path; returns the index of the event after which the run was done. */
async function runThrough(row: Row, path: 'cli' | 'vscode'): Promise<{ doneAfter: number; run: StackRun }> {
  let deliver: (e: WorkshopEvent) => void;
  let feed: Parameters<typeof followRun>[0]['feed'];
  let model: OrganizerModel | undefined;
  if (path === 'cli') {
    // As `stacks … --wait` does: the stream's events, a snapshot's stacks not live.
    const emitter = new Emitter<{ stack: StackSummary; live: boolean }>();
    deliver = (e) => {
      const changes = e.type === 'snapshot' ? e.stacks : e.type === 'stack' ? [e.stack] : [];
      for (const s of changes) emitter.fire({ stack: s, live: e.type === 'stack' });
    };
    feed = emitter.event;
  } else {
    // As Provision All Stacks does: the Organizer view's model takes the events, the run follows its feed.
    const attendees = new Map<string, AttendeeSummary>();
    for (const s of [...row.before, ...row.answer, ...row.events.map((e) => (e.type === 'stack' ? e.stack : undefined))]) {
      if (s) attendees.set(s.attendeeId, attendeeOf(s));
    }
    model = new OrganizerModel({
      api: { listAttendees: async () => ({ attendees: [...attendees.values()] }), watchWorkshop: () => new Promise<void>(() => undefined) },
      workshop: 'w',
    });
    await model.start();
    deliver = (e) => model!.apply(e);
    feed = model.onStack;
  }
  deliver({ type: 'snapshot', stacks: row.before });
  let doneAfter: number | undefined;
  let seen = -1;
  const following = followRun({
    kind: row.kind,
    feed,
    attendeeIds: row.attendeeIds,
    request: async () => {
      if (model) model.applyStacks(row.answer);
      return row.answer;
    },
  });
  // followRun settles on a later tick: step through the events one at a time and see when.
  let settled = false;
  const result = following.then((r) => {
    settled = true;
    doneAfter = seen;
    return r;
  });
  await new Promise((r) => setImmediate(r));
  for (const [i, e] of row.events.entries()) {
    if (settled) break;
    seen = i;
    deliver(e);
    await new Promise((r) => setImmediate(r));
  }
  const { run } = await Promise.race([result, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${path}: the run never ended`)), 1000))]);
  model?.dispose();
  return { doneAfter: doneAfter!, run };
}

function attendeeOf(s: StackSummary): AttendeeSummary {
  return {
    id: s.attendeeId,
    email: `${s.attendeeId}@example.com`,
    name: s.attendeeId,
    team: null,
    stack: null,
    invite: { status: 'none', expiresAt: null, mailedAt: null },
    lastSeenAt: null,
    progress: { done: 0, current: null },
  };
}

describe('one run rule for the CLI and VS Code', () => {
  for (const row of TABLE) {
    test(row.name, async () => {
      const cli = await runThrough(row, 'cli');
      const vscode = await runThrough(row, 'vscode');
      assert.equal(cli.doneAfter, row.doneAfter, 'the CLI ends after the expected event');
      assert.equal(vscode.doneAfter, row.doneAfter, 'VS Code ends after the same event');
      assert.deepEqual(cli.run.counts(), row.counts);
      assert.deepEqual(vscode.run.counts(), row.counts);
    });
  }
});

describe('StackRun', () => {
  test('an older state arriving late changes nothing; a changed one is reported once', () => {
    const run = new StackRun('provision');
    assert.equal(run.apply(stack('s1', 'ready', 1)), false, 'not a target yet');
    run.start([stack('s1', 'ready', 1), stack('s2', 'queued', 2), stack('s3', 'queued', 2)]);
    assert.equal(run.total, 2);
    assert.equal(run.apply(stack('s1', 'failed', 3, 'lost')), false, 'not part of this run');
    assert.equal(run.apply(stack('s2', 'provisioning', 3, 'Provisioning started.')), true);
    assert.equal(run.apply(stack('s2', 'queued', 2)), false, 'older');
    assert.equal(run.stacks().find((s) => s.id === 's2')!.status, 'provisioning');
    assert.equal(run.apply(stack('s2', 'provisioning', 3, 'Provisioning started.')), false, 'no change, nothing to report');
    run.apply(stack('s2', 'ready', 4, 'Ready.'));
    assert.deepEqual(run.view(), { title: 'Provisioning', total: 2, done: 1, counts: [['ready', 1], ['failed', 0], ['queued', 1]] });
    run.apply(stack('s3', 'failed', 5, 'quota exceeded (after 3 attempts)'));
    assert.equal(run.done, true);
    assert.equal(
      formatRunResult(run, new Map([['a-s3', 'grace@example.com']]), 65_000),
      'Provisioned 1 of 2 stacks in 1:05; 1 failed.\n  grace@example.com (s3): quota exceeded (after 3 attempts)',
    );
  });

  test('changes that beat the answer to the request are handed back for reporting, not lost', () => {
    const run = new StackRun('provision');
    run.apply(stack('s1', 'failed', 1, 'old failure'), false);
    run.apply(stack('s2', 'ready', 1), false);
    run.apply(stack('s1', 'queued', 2, 'Queued for provisioning.'));
    run.apply(stack('s1', 'provisioning', 3, 'Provisioning started.'));
    run.apply(stack('s1', 'provisioning', 4, 'Attempt 1 failed: boom. Retrying in 2 s.'));
    const early = run.start([stack('s1', 'queued', 2, 'Queued for provisioning.'), stack('s2', 'ready', 1)]);
    assert.deepEqual(early.map((s) => s.statusMessage), ['Queued for provisioning.', 'Provisioning started.', 'Attempt 1 failed: boom. Retrying in 2 s.']);
    assert.equal(run.stacks()[0]!.status, 'provisioning', 'the older answer does not undo newer news');
    assert.deepEqual(run.start([stack('s1', 'queued', 2)]), [], 'handed back once');
  });

  test('a provision with cancelled builds says so at the end', () => {
    const run = new StackRun('provision');
    run.start([stack('s1', 'provisioning', 1), stack('s2', 'queued', 1)]);
    run.apply(stack('s1', 'ready', 2));
    run.apply(stack('s2', 'cancelled', 2, 'Cancelled by the organizer.'));
    assert.equal(run.done, true);
    assert.equal(formatRunResult(run, new Map(), 3000), 'Provisioned 1 of 2 stacks in 0:03; 0 failed, 1 cancelled.');
  });

  test('a run is not done before its request was answered', () => {
    const run = new StackRun('provision');
    assert.equal(run.done, false);
    run.start([]);
    assert.equal(run.done, true);
  });
});
