/**
 * The lab auto-check as a plain module (src/labs/labSession.ts): a burst of cluster changes
 * makes one check of the current step after a quiet time; a step that passes by itself is
 * announced once, its result kept for that step (not the next one); nothing is checked while
 * disconnected. The reader is a stand-in for the cluster; the real one, through the tunnel, is
 * exercised in test/integration/cluster-session.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Emitter, nextEvent } from '../../src/common/events';
import { LabSession, parseLab, type ClusterReader, type Lab } from '../../src/labs';

const lab: Lab = parseLab(
  `---
id: kv
title: Keys
duration: 5m
---

## Step: Set a {#a}

\`\`\`yaml check
kvValue: { key: a, equals: "1" }
\`\`\`

## Step: Set b {#b}

\`\`\`yaml check
kvValue: { key: b, exists: true }
\`\`\`
`,
  { file: 'labs/kv.md' },
).lab!;

function kvReader(kv: Map<string, string>, reads: string[]): ClusterReader {
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
    kvGet: async (key) => {
      reads.push(key);
      return kv.get(key);
    },
  };
}

test('a burst of cluster changes checks once; a step that passes by itself is announced and kept for that step', async (t) => {
  const kv = new Map<string, string>();
  const reads: string[] = [];
  const cluster = new Emitter<void>();
  let connected = true;
  const session = new LabSession({
    labs: [lab],
    reader: () => (connected ? kvReader(kv, reads) : undefined),
    connected: () => connected,
    onDidChangeCluster: cluster.event,
    save: async () => undefined,
    autoCheckDelayMs: 20,
  });
  t.after(() => session.dispose());
  const passed: string[] = [];
  session.onDidPassByItself((p) => passed.push(`${p.lab.id}/${p.step.id}`));

  // Not started: changes check nothing.
  cluster.fire();
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(reads, []);

  await session.controller.start('kv');
  const checked = nextEvent(session.onDidChange);
  for (let i = 0; i < 5; i++) cluster.fire();
  await checked;
  await session.autoCheck();
  assert.deepEqual(reads, ['a'], 'five changes in a row, one check of the current step');
  assert.equal(session.lastResult('kv', 'a')?.ok, false);
  assert.deepEqual(passed, []);

  kv.set('a', '1');
  const passing = nextEvent(session.onDidPassByItself);
  cluster.fire();
  const p = await passing;
  assert.equal(p.step.id, 'a');
  assert.deepEqual(passed, ['kv/a']);
  assert.equal(session.lastResult('kv', 'a')?.ok, true, 'the result belongs to the step that was checked');
  assert.equal(session.lastResult('kv', 'b'), undefined, 'the next step has not been checked');
  assert.equal(session.controller.current('kv')?.step.id, 'b', 'the lab moved on');

  // Disconnected: no check, no error.
  connected = false;
  reads.length = 0;
  cluster.fire();
  await new Promise((r) => setTimeout(r, 60));
  await session.autoCheck();
  assert.deepEqual(reads, []);
});

test('Check on a step given by id checks that step, whatever the current one is', async (t) => {
  const kv = new Map([['a', '1']]);
  const reads: string[] = [];
  const session = new LabSession({ labs: [lab], reader: () => kvReader(kv, reads), connected: () => true, onDidChangeCluster: new Emitter<void>().event, save: async () => undefined });
  t.after(() => session.dispose());
  await session.controller.start('kv');
  await session.check('kv', 'a');
  assert.equal(session.controller.current('kv')?.step.id, 'b');
  const again = await session.check('kv', 'a');
  assert.equal(again.step.id, 'a');
  assert.deepEqual(reads, ['a', 'a']);
  await assert.rejects(session.check('kv', 'nope'), /lab "kv" has no step "nope"/);
});
