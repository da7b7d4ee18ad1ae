import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressRequest } from '../../src/contract/api';
import {
  currentStepId,
  emptyProgressStore,
  initialLabProgress,
  labProgress,
  labStatus,
  markHintShown,
  parseLab,
  parseProgress,
  progressFromReports,
  recordCheck,
  resetLab,
  serializeProgress,
  startLab,
  summarizeProgress,
  withLabProgress,
  type Lab,
} from '../../src/labs';

function makeLab(id: string, steps: string[], prerequisites: string[] = []): Lab {
  const text = [
    '---',
    `id: ${id}`,
    `title: Lab ${id}`,
    'duration: 5m',
    `prerequisites: [${prerequisites.join(', ')}]`,
    '---',
    ...steps.flatMap((s) => [`## Step: ${s}`, '', '```yaml check', 'consulLeader: {}', '```', '']),
  ].join('\n');
  const { lab, problems } = parseLab(text, { file: `labs/${id}.md` });
  assert.deepEqual(problems, []);
  return lab!;
}

const lab = makeLab('explore', ['one', 'two', 'three']);
const ok = { ok: true, summary: 'fine', details: [] };
const bad = { ok: false, summary: 'job "web" is not registered in Nomad yet', details: ['detail'] };
const t0 = new Date('2026-01-01T10:00:00Z');

const statuses = (p: ReturnType<typeof initialLabProgress>) => lab.steps.map((s) => p.steps[s.id].status);

test('a lab starts locked; starting opens the first step and reports "started"', () => {
  const p0 = initialLabProgress(lab);
  assert.deepEqual(statuses(p0), ['locked', 'locked', 'locked']);
  assert.equal(currentStepId(p0, lab), undefined);
  const { progress, report } = startLab(p0, lab, t0);
  assert.deepEqual(statuses(progress), ['current', 'locked', 'locked']);
  assert.equal(progress.startedAt, t0.toISOString());
  assert.deepEqual(report, { labId: 'explore', stepId: 'one', status: 'started' });
  assert.equal(ProgressRequest.safeParse(report).success, true, 'reports have the organizer contract shape');
  assert.equal(startLab(progress, lab).report, undefined, 'starting again reports nothing');
});

test('checks move through the steps: failed stays current, passing opens the next, the last completes the lab', () => {
  let p = startLab(initialLabProgress(lab), lab, t0).progress;
  const failed = recordCheck(p, lab, 'one', bad, t0);
  assert.deepEqual(statuses(failed.progress), ['failed', 'locked', 'locked']);
  assert.equal(currentStepId(failed.progress, lab), 'one');
  assert.deepEqual(failed.report, { labId: 'explore', stepId: 'one', status: 'failed', detail: 'job "web" is not registered in Nomad yet\ndetail' });
  assert.deepEqual(failed.progress.steps.one.lastCheck, { ok: false, summary: bad.summary, at: t0.toISOString() });

  const locked = recordCheck(failed.progress, lab, 'three', ok, t0);
  assert.deepEqual(statuses(locked.progress), ['failed', 'locked', 'locked'], 'a locked step cannot be checked off');
  assert.equal(locked.report, undefined);

  p = recordCheck(failed.progress, lab, 'one', ok, t0).progress;
  assert.deepEqual(statuses(p), ['done', 'current', 'locked']);
  const two = recordCheck(p, lab, 'two', ok, t0);
  assert.deepEqual(two.report, { labId: 'explore', stepId: 'two', status: 'done', detail: 'fine' });
  p = recordCheck(two.progress, lab, 'three', ok, t0).progress;
  assert.deepEqual(statuses(p), ['done', 'done', 'done']);
  assert.equal(p.completedAt, t0.toISOString());
  assert.equal(currentStepId(p, lab), undefined);

  const recheck = recordCheck(p, lab, 'one', bad, t0);
  assert.equal(recheck.progress.steps.one.status, 'done', 'a done step stays done');
  assert.equal(recheck.report, undefined);
  assert.throws(() => recordCheck(p, lab, 'nope', ok), /lab "explore" has no step "nope"/);
});

test('progress survives serialization; unreadable saved progress gives an empty store and the reason', () => {
  let p = startLab(initialLabProgress(lab), lab, t0).progress;
  p = markHintShown(recordCheck(p, lab, 'one', ok, t0).progress, 'two');
  const store = withLabProgress(emptyProgressStore(), p);
  const back = parseProgress(serializeProgress(store));
  assert.equal(back.error, undefined);
  assert.deepEqual(back.store, store);
  assert.deepEqual(statuses(labProgress(back.store, lab)), ['done', 'current', 'locked']);
  assert.equal(labProgress(back.store, lab).steps.two.hintsShown, 1);

  assert.deepEqual(parseProgress(undefined), { store: emptyProgressStore() });
  assert.match(parseProgress('{oops').error!, /not JSON/);
  assert.match(parseProgress('{"version":1,"labs":{"x":{"labId":"x","steps":{"a":{"status":"maybe"}}}}}').error!, /unreadable at labs\.x\.steps\.a\.status/);
});

test('saved progress is fitted to changed lab content', () => {
  const p = startLab(initialLabProgress(lab), lab, t0).progress;
  const done = recordCheck(p, lab, 'one', ok, t0).progress;
  const changed = makeLab('explore', ['zero', 'one', 'three']);
  const fitted = labProgress(withLabProgress(emptyProgressStore(), done), changed);
  assert.deepEqual(Object.keys(fitted.steps), ['zero', 'one', 'three'], 'the removed step "two" is dropped');
  assert.deepEqual(changed.steps.map((s) => fitted.steps[s.id].status), ['current', 'done', 'locked']);
});

test('reset, lab status with prerequisites, and the organizer summary', () => {
  const second = makeLab('second', ['a'], ['explore']);
  let store = emptyProgressStore();
  assert.equal(labStatus(store, lab), 'not-started');
  assert.equal(labStatus(store, second), 'locked');
  let p = startLab(initialLabProgress(lab), lab, t0).progress;
  store = withLabProgress(store, p);
  assert.equal(labStatus(store, lab), 'in-progress');
  assert.deepEqual(summarizeProgress(store, [lab, second]), { done: 0, current: 'explore/one' });
  for (const s of ['one', 'two', 'three']) p = recordCheck(p, lab, s, ok, t0).progress;
  store = withLabProgress(store, p);
  assert.equal(labStatus(store, lab), 'done');
  assert.equal(labStatus(store, second), 'not-started');
  assert.deepEqual(summarizeProgress(store, [lab, second]), { done: 3, current: null });
  assert.deepEqual(statuses(resetLab(lab)), ['locked', 'locked', 'locked']);
});

test('progress is rebuilt from the organizer record (GET /v1/me/progress)', () => {
  const entries = [
    { labId: 'explore', stepId: 'one', status: 'started' as const, at: '2026-01-01T10:00:00.000Z' },
    { labId: 'explore', stepId: 'one', status: 'failed' as const, at: '2026-01-01T10:01:00.000Z' },
    { labId: 'explore', stepId: 'two', status: 'done' as const, at: '2026-01-01T10:05:00.000Z' },
    { labId: 'gone', stepId: 'x', status: 'done' as const, at: '2026-01-01T10:06:00.000Z' },
  ];
  const store = progressFromReports(entries, [lab]);
  const p = labProgress(store, lab);
  assert.deepEqual(statuses(p), ['done', 'done', 'current']);
  assert.equal(p.startedAt, '2026-01-01T10:00:00.000Z');
  assert.equal(store.labs.gone, undefined, 'entries of unknown labs are ignored');
});
