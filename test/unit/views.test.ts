/**
 * The sidebar's plumbing as plain modules (src/views): the context-value grammar, what commands
 * read from the rows they are run on, the refresh manager (coalesced, only visible views, one
 * clock), and the Allocations view's lazy rows over a changing model.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyCounts, type AllocationInfo, type ClusterSnapshot, type JobInfo } from '../../src/cluster';
import { LabController, parseLab } from '../../src/labs';
import {
  AllocationsTree,
  COMMAND_ARGS,
  contextValue,
  contextValuesOf,
  kindOf,
  labsRoots,
  RefreshManager,
  snapshotSource,
  stateRows,
  type AllocationsSource,
  type Timers,
  type ViewNode,
} from '../../src/views';
import { CommandId, ViewId } from '../../src/views/ids';

describe('context values', () => {
  test('built from kind, state and facets as the grammar writes them', () => {
    assert.equal(contextValue('alloc', 'running', { stopping: true }), 'alloc:running stopping');
    assert.equal(contextValue('alloc', 'running', { stopping: false }), 'alloc:running');
    assert.equal(contextValue('attendee', 'ready', { invite: 'sent' }), 'attendee:ready invite:sent');
    assert.equal(contextValue('detail', undefined, { copyable: true }), 'detail copyable');
    assert.equal(kindOf('node:ready ineligible draining'), 'node');
    assert.equal(kindOf('nonsense:x'), undefined);
  });

  test('only allocation rows start with alloc:, and every kind belongs to the views it names', () => {
    const allocs = contextValuesOf(ViewId.allocations).filter((r) => r.value.startsWith('alloc:'));
    assert.deepEqual([...new Set(allocs.map((r) => r.kind))], ['alloc']);
    assert.ok(contextValuesOf(ViewId.allocations).some((r) => r.value === 'gone'), 'a row that left the cluster is its own kind');
    assert.ok(!contextValuesOf(ViewId.labs).some((r) => r.kind === 'alloc'));
  });
});

const lab = parseLab(`---\nid: one\ntitle: One\nduration: 5m\n---\n\n## Step: A {#a}\n\n\`\`\`yaml check\nconsulLeader: {}\n\`\`\`\n`, { file: 'labs/one.md' }).lab!;
const other = parseLab(`---\nid: two\ntitle: Two\nduration: 5m\n---\n\n## Step: B {#b}\n\n\`\`\`yaml check\nconsulLeader: {}\n\`\`\`\n`, { file: 'labs/two.md' }).lab!;

describe('what commands read from rows', () => {
  test('Start Lab and Reset Lab run on a lab row, or on one of its steps, act on that lab', () => {
    const c = new LabController({ labs: [lab, other], reader: () => undefined, save: async () => undefined });
    const rows = labsRoots({ labs: [lab, other], problems: [], status: (id) => c.status(id), progress: (id) => c.progress(id) }) as ViewNode[];
    const two = rows.find((r) => r.label === 'Two')!;
    for (const command of [CommandId.startLab, CommandId.resetLab, CommandId.checkStep, CommandId.showHint]) {
      assert.equal(COMMAND_ARGS[command].decode([two]), 'two', `${command} from the lab row`);
      assert.equal(COMMAND_ARGS[command].decode([two.children![0]]), 'two', `${command} from a step row`);
      assert.equal(COMMAND_ARGS[command].decode(['one']), 'one', `${command} with a lab id`);
      assert.equal(COMMAND_ARGS[command].decode([]), undefined, `${command} from the palette asks`);
    }
    assert.deepEqual(COMMAND_ARGS[CommandId.openLabStep].decode(two.children![0]!.command!.arguments!), { labId: 'two', stepId: 'b' });
  });

  test('row commands take their row, never another kind of row', () => {
    const job = { id: 'job/default/web', label: 'web', contextValue: 'job:running', target: { kind: 'job', jobKey: 'default/web' } } as ViewNode;
    const alloc = { id: 'alloc/x', label: 'x', contextValue: 'alloc:running', target: { kind: 'alloc', allocId: 'x' } } as ViewNode;
    assert.equal(COMMAND_ARGS[CommandId.stopJob].decode([job]), 'default/web');
    assert.equal(COMMAND_ARGS[CommandId.stopJob].decode([alloc]), undefined, 'an allocation row is not a job');
    assert.equal(COMMAND_ARGS[CommandId.restartAllocation].decode([job]), undefined);
    assert.equal(COMMAND_ARGS[CommandId.restartAllocation].decode([alloc]), 'x');
    assert.deepEqual(COMMAND_ARGS[CommandId.openAllocationInNomadUi].decode([alloc]), { kind: 'alloc', allocId: 'x' });
    assert.equal(COMMAND_ARGS[CommandId.retryStack].decode([{ target: { kind: 'attendee', attendeeId: 'att_1' } }]), 'att_1');
    assert.equal(COMMAND_ARGS[CommandId.sendInvites].decode(['everyone']), undefined, 'an unknown choice is no choice');
    assert.deepEqual(COMMAND_ARGS[CommandId.signOut].decode([{ confirm: false }]), { confirm: false });
    assert.deepEqual(COMMAND_ARGS[CommandId.signOut].decode([]), { confirm: true });
  });
});

/** Timers the test fires by hand. */
function manualTimers() {
  let next = 1;
  const timeouts = new Map<number, () => void>();
  const intervals = new Map<number, () => void>();
  const timers: Timers = {
    setTimeout: (fn) => (timeouts.set(next, fn), next++),
    clearTimeout: (h) => void timeouts.delete(h as number),
    setInterval: (fn) => (intervals.set(next, fn), next++),
    clearInterval: (h) => void intervals.delete(h as number),
  };
  return {
    timers,
    fireTimeouts: () => {
      const fns = [...timeouts.values()];
      timeouts.clear();
      for (const f of fns) f();
    },
    tick: () => [...intervals.values()].forEach((f) => f()),
    intervals,
  };
}

describe('the refresh manager', () => {
  test('changes within the delay render once; a hidden view catches up when it shows; ages tick only on screen', () => {
    const t = manualTimers();
    const refresh = new RefreshManager({ timers: t.timers });
    const rendered: string[] = [];
    let visible = { a: true, b: false };
    refresh.register('a', { visible: () => visible.a, refresh: (full, ids) => rendered.push(`a ${full ? 'full' : [...ids].join(',')}`) });
    refresh.register('b', { visible: () => visible.b, refresh: (full) => rendered.push(`b ${full ? 'full' : 'rows'}`) }, { ages: true });
    t.fireTimeouts();
    assert.deepEqual(rendered, ['a full'], 'the first render of the visible view; the hidden one waits');
    assert.equal(t.intervals.size, 0, 'no clock while the view with ages is hidden');

    refresh.mark('a', ['job/x']);
    refresh.mark('a', ['job/y']);
    refresh.mark('b');
    t.fireTimeouts();
    assert.deepEqual(rendered.slice(1), ['a job/x,job/y'], 'two changes, one render; b is hidden');

    visible = { a: true, b: true };
    refresh.visibilityChanged('b');
    t.fireTimeouts();
    assert.deepEqual(rendered.slice(2), ['b full'], 'b is brought up to date when it shows');
    assert.equal(t.intervals.size, 1, 'the clock runs while b (which shows ages) is on screen');
    t.tick();
    t.fireTimeouts();
    assert.deepEqual(rendered.slice(3), ['b full'], 'the clock redraws only the view with ages');
    visible = { a: true, b: false };
    refresh.visibilityChanged('b');
    assert.equal(t.intervals.size, 0, 'and stops when it is hidden');
    refresh.dispose();
  });
});

const NOW = Date.parse('2026-01-01T12:00:00Z');
function alloc(id: string, job: string, status: string): AllocationInfo {
  return {
    id,
    shortId: id.slice(0, 8),
    name: `${job}.${job}[0]`,
    namespace: 'default',
    jobId: job,
    jobKey: `default/${job}`,
    taskGroup: job,
    nodeId: 'n1',
    nodeName: 'nomad-client-b-1',
    clientStatus: status,
    desiredStatus: 'run',
    createTime: NOW - 60_000,
    modifyTime: NOW,
    restarts: 0,
    tasks: [],
    modifyIndex: 1,
  };
}
function job(id: string, allocs: AllocationInfo[]): JobInfo {
  const counts = emptyCounts();
  for (const a of allocs) counts[a.clientStatus as 'running']++;
  return { key: `default/${id}`, id, namespace: 'default', name: id, type: 'service', status: 'running', stop: false, datacenters: ['dc1'], taskGroups: [id], allocations: counts, modifyIndex: 1 };
}
function source(allocs: AllocationInfo[]): AllocationsSource {
  const jobs = [...new Set(allocs.map((a) => a.jobId))].sort().map((j) => job(j, allocs.filter((a) => a.jobId === j)));
  const snapshot = { nomad: { state: 'ready' }, jobs, allocations: allocs } as unknown as ClusterSnapshot;
  return snapshotSource(snapshot);
}

describe('the Allocations view, lazily', () => {
  test('children only when unfolded; a change names the job rows it touched; a row that left the cluster says so', () => {
    let src = source([alloc('a1', 'web', 'running'), alloc('b1', 'cache', 'running')]);
    const tree = new AllocationsTree(() => ({ connection: { state: 'connected' }, source: src, signedOut: false }), () => NOW);
    const roots = tree.roots() as ViewNode[];
    assert.deepEqual(roots.map((r) => [r.id, r.expandable]), [['job/default/cache', true], ['job/default/web', true]]);
    const [group] = tree.children(roots[1]!);
    assert.equal(group!.contextValue, 'group');
    const [row] = tree.children(group!);
    assert.deepEqual([row!.contextValue, row!.target], ['alloc:running', { kind: 'alloc', allocId: 'a1' }]);

    // web's allocation fails: only web's row is redrawn, and it reads the new state.
    src = source([alloc('a1', 'web', 'failed'), alloc('b1', 'cache', 'running')]);
    assert.deepEqual(tree.changed({ sections: ['allocations'], allocations: { added: [], updated: ['a1'], removed: [] } }), { full: false, ids: ['job/default/web'] });
    assert.equal(tree.current(row!).contextValue, 'alloc:failed');

    // web leaves the cluster: its rows say so instead of vanishing mid-click, and the top level redraws.
    src = source([alloc('b1', 'cache', 'running')]);
    assert.deepEqual(tree.changed({ sections: ['jobs', 'allocations'], jobs: { added: [], updated: [], removed: ['default/web'] }, allocations: { added: [], updated: [], removed: ['a1'] } }).full, true);
    assert.deepEqual([tree.current(row!).contextValue, tree.current(row!).description], ['gone', 'no longer in the cluster']);
    assert.equal(tree.current(roots[1]!).contextValue, 'gone');
  });

  test('signed out the view is empty for its welcome text; not connected it says so', () => {
    const out = new AllocationsTree(() => ({ connection: { state: 'idle' }, source: undefined, signedOut: true }));
    assert.deepEqual(out.roots(), { state: 'welcome' });
    const waiting = new AllocationsTree(() => ({ connection: { state: 'idle' }, source: undefined, signedOut: false }));
    assert.deepEqual(stateRows(waiting.roots() as never).map((r) => r.label), ['Waiting for your stack']);
  });
});
