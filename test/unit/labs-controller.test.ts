import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabController, parseLab, parseLabControllerState, type ClusterReader, type Lab, type LabControllerState } from '../../src/labs';
import type { ProgressRequest } from '../../src/contract/api';

function lab(id: string, prerequisites: string[] = []): Lab {
  const text = `---
id: ${id}
title: Lab ${id}
duration: 5m
prerequisites: [${prerequisites.join(', ')}]
---

## Step: Set a {#a}

\`\`\`yaml check
kvValue: { key: a, equals: "1" }
\`\`\`

### Hints

- First hint
- Second hint

### Solution

Put a = 1.

## Step: Set b {#b}

\`\`\`yaml check
kvValue: { key: b, exists: true }
\`\`\`
`;
  const r = parseLab(text, { file: `labs/${id}.md` });
  assert.deepEqual(r.problems, []);
  return r.lab!;
}

function kvReader(kv: Map<string, string>): ClusterReader {
  const none = async () => {
    throw new Error('not used');
  };
  return {
    getJob: none,
    listAllocations: none,
    listNodes: none,
    consulMembers: none,
    consulLeader: none,
    consulHealth: none,
    readWorkspaceFile: none,
    checkJobFile: none,
    kvGet: async (key) => kv.get(key),
  };
}

function setup(opts: { state?: LabControllerState; connected?: boolean; organizerUp?: () => boolean } = {}) {
  const kv = new Map<string, string>();
  const saved: LabControllerState[] = [];
  const sent: ProgressRequest[] = [];
  const changes: string[] = [];
  const controller = new LabController({
    labs: [lab('one'), lab('two', ['one'])],
    state: opts.state,
    reader: () => (opts.connected === false ? undefined : kvReader(kv)),
    save: async (s) => {
      saved.push(s);
    },
    report: async (r) => {
      if (opts.organizerUp && !opts.organizerUp()) throw new Error('organizer unreachable');
      sent.push(r);
    },
    now: () => new Date('2026-01-01T10:00:00Z'),
  });
  controller.onDidChange((id) => changes.push(id));
  return { controller, kv, saved, sent, changes };
}

test('start, check, fail, fix, pass: progress is saved and reported at each step', async () => {
  const { controller, kv, saved, sent, changes } = setup();
  await assert.rejects(controller.start('two'), /finish "Lab one" first/);
  assert.equal((await controller.start('one'))?.step.id, 'a');
  const failed = await controller.check('one');
  assert.deepEqual([failed.ok, failed.summary], [false, 'Consul KV key "a" is not set yet']);
  assert.equal(controller.progress('one').steps.a.status, 'failed');
  kv.set('a', '1');
  assert.equal((await controller.check('one')).ok, true);
  assert.equal(controller.current('one')?.step.id, 'b');
  kv.set('b', 'x');
  await controller.check('one');
  assert.equal(controller.status('one'), 'done');
  assert.equal(controller.status('two'), 'not-started');
  assert.deepEqual(
    sent.map((r) => `${r.stepId}:${r.status}`),
    ['a:started', 'a:failed', 'a:done', 'b:done'],
  );
  assert.ok(saved.length >= 4);
  assert.ok(changes.every((c) => c === 'one'));
  await assert.rejects(controller.check('one'), /has no step to check: start it first/);
});

test('progress survives a restart: the saved state restores the same place', async () => {
  const first = setup();
  await first.controller.start('one');
  first.kv.set('a', '1');
  await first.controller.check('one');
  const last = first.saved[first.saved.length - 1];
  const { state, error } = parseLabControllerState(JSON.stringify(last));
  assert.equal(error, undefined);
  const second = setup({ state });
  assert.equal(second.controller.current('one')?.step.id, 'b');
  assert.equal(second.controller.progress('one').steps.a.status, 'done');
  assert.match(parseLabControllerState('{"store":1}').error!, /unreadable at store/);
});

test('reports wait in a persisted outbox while the organizer is unreachable, then go out in order', async () => {
  let up = false;
  const { controller, kv, sent, saved } = setup({ organizerUp: () => up });
  await controller.start('one');
  await controller.check('one');
  kv.set('a', '1');
  await controller.check('one');
  assert.equal(sent.length, 0, 'nothing reached the organizer');
  assert.deepEqual(saved[saved.length - 1].outbox.map((r) => `${r.stepId}:${r.status}`), ['a:started', 'a:failed', 'a:done']);
  up = true;
  await controller.flush();
  assert.deepEqual(sent.map((r) => `${r.stepId}:${r.status}`), ['a:started', 'a:failed', 'a:done']);
  assert.deepEqual(controller.snapshot().outbox, []);
});

test('hints one at a time, the solution on request, reset, and no cluster means no change', async () => {
  const { controller } = setup({ connected: false });
  await controller.start('one');
  assert.deepEqual(await controller.nextHint('one', 'a'), { hint: 'First hint', index: 0, total: 2 });
  assert.deepEqual(await controller.nextHint('one', 'a'), { hint: 'Second hint', index: 1, total: 2 });
  assert.deepEqual(await controller.nextHint('one', 'a'), { hint: 'Second hint', index: 1, total: 2 });
  assert.equal(await controller.nextHint('one', 'b'), undefined);
  assert.equal(await controller.revealSolution('one', 'a'), 'Put a = 1.');
  assert.equal(controller.progress('one').steps.a.solutionShown, true);
  const offline = await controller.check('one');
  assert.deepEqual([offline.ok, offline.summary], [false, 'not connected to your cluster: connect first, then check again']);
  assert.equal(controller.progress('one').steps.a.status, 'current', 'an offline check does not mark the step failed');
  await controller.reset('one');
  assert.equal(controller.status('one'), 'not-started');
});
