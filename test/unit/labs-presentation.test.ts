/**
 * The Labs view's rendering from lab content and progress, without VS Code: statuses, progress
 * per lab, the current step, the last check's explanation on a failed step, and broken lab files
 * shown beside the labs that loaded.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { LabController, loadLabs } from '../../src/labs';
import { labsRoots, stateRows, type ViewNode } from '../../src/views';

function buildLabNodes(input: Parameters<typeof labsRoots>[0]): ViewNode[] {
  const roots = labsRoots(input);
  return Array.isArray(roots) ? roots : stateRows(roots);
}

const root = path.join(__dirname, '..', '..');

test('labs show progress and step status; the current step opens its instructions', async () => {
  const { labs, problems } = await loadLabs({ dir: path.join(root, 'labs'), workspaceRoot: root });
  const c = new LabController({ labs, reader: () => undefined, save: async () => undefined });
  const first = [...labs].sort((a, b) => a.order - b.order)[0]!;
  const input = () => ({ labs, problems, status: (id: string) => c.status(id), progress: (id: string) => c.progress(id) });

  let nodes = buildLabNodes(input());
  assert.equal(nodes[0]!.label, first.title);
  assert.equal(nodes[0]!.contextValue, 'lab:not-started');
  assert.deepEqual(nodes[0]!.target, { kind: 'lab', labId: first.id }, 'a command run on the row gets this lab');
  const locked = nodes.find((n) => n.contextValue.startsWith('lab:locked'))!;
  assert.match(locked.description!, /after /, 'a locked lab says what comes first');

  await c.start(first.id);
  nodes = buildLabNodes(input());
  const step1 = nodes[0]!.children![0]!;
  assert.equal(step1.description, 'current step');
  assert.equal(step1.icon?.id, 'arrow-circle-right');
  assert.deepEqual(step1.command?.arguments, [first.id, first.steps[0]!.id]);
  assert.deepEqual(step1.target, { kind: 'step', labId: first.id, stepId: first.steps[0]!.id });

  // Not connected: the check says why and the step stays current (nothing is recorded).
  assert.match((await c.check(first.id)).summary, /not connected/);
  assert.equal(buildLabNodes(input())[0]!.children![0]!.contextValue, 'step:current');
  assert.equal(buildLabNodes(input())[0]!.description, `0/${first.steps.length} · ${first.duration} min`);
});

test('a broken lab file is listed with file, step and problem, after the labs that loaded', () => {
  const nodes = buildLabNodes({
    labs: [],
    problems: [{ severity: 'error', file: 'labs/09-broken.md', step: 'run-web', line: 42, message: 'check: unknown kind "jobStatuss"' }],
    status: () => 'not-started',
    progress: () => ({ labId: 'x', steps: {} }),
  });
  assert.equal(nodes[0]!.label, 'labs/09-broken.md did not load');
  assert.match(nodes[0]!.description!, /labs\/09-broken\.md:42.*run-web.*unknown kind/);
});
