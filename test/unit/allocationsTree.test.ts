/**
 * The Allocations view's rendering from model snapshots, without VS Code: the lazy level
 * functions the view uses (jobs → task groups → allocations), paging of big task groups,
 * filters and their empty node, and which job rows a model change touches.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptyCounts, type AllocationCounts, type AllocationInfo, type ClusterSnapshot, type JobInfo } from '../../src/cluster';
import {
  affectedJobs,
  ALLOCATION_PAGE,
  allocationNode,
  allocationRoots,
  buildAllocationNodes,
  groupAllocations,
  groupNode,
  jobGroups,
  jobNode,
  snapshotSource,
  type AllocationRoots,
  stateRows,
} from '../../src/views';

const NOW = Date.parse('2026-01-01T12:00:00Z');
let serial = 0;

function alloc(job: string, group: string, status: string, extra: Partial<AllocationInfo> = {}): AllocationInfo {
  const n = serial++;
  const id = `${n.toString(16).padStart(8, '0')}-1111-2222-3333-444455556666`;
  return {
    id,
    shortId: id.slice(0, 8),
    name: `${job}.${group}[${n % 3}]`,
    namespace: 'default',
    jobId: job,
    jobKey: `default/${job}`,
    taskGroup: group,
    nodeId: 'node-b1-0000',
    nodeName: 'nomad-client-b-1',
    zone: 'europe-west1-b',
    clientStatus: status,
    desiredStatus: 'run',
    createTime: NOW - 90_000 - (n % 1000) * 1000,
    modifyTime: NOW,
    restarts: 0,
    tasks: [{ name: group, state: status === 'running' ? 'running' : status === 'pending' ? 'pending' : 'dead', failed: status === 'failed', restarts: 0 }],
    modifyIndex: 1,
    ...extra,
  };
}

function counts(allocs: AllocationInfo[]): AllocationCounts {
  const c = emptyCounts() as unknown as Record<string, number>;
  for (const a of allocs) {
    c.total!++;
    c[a.clientStatus] = (c[a.clientStatus] ?? 0) + 1;
  }
  return c as unknown as AllocationCounts;
}

function job(id: string, allocs: AllocationInfo[], extra: Partial<JobInfo> = {}): JobInfo {
  const mine = allocs.filter((a) => a.jobId === id);
  return {
    key: `default/${id}`,
    id,
    namespace: 'default',
    name: id,
    type: 'service',
    status: 'running',
    stop: false,
    datacenters: ['dc1'],
    taskGroups: [...new Set(mine.map((a) => a.taskGroup))].sort(),
    allocations: counts(mine),
    modifyIndex: 1,
    ...extra,
  };
}

function snapshot(jobs: JobInfo[], allocations: AllocationInfo[], nomad: ClusterSnapshot['nomad'] = { state: 'ready' }): ClusterSnapshot {
  return { connection: { state: 'connected' }, nomad, consul: { state: 'ready' }, servers: [], datacenters: [], jobs, allocations, consulMembers: [], consulServices: [] };
}

/** The workshop's usual picture: Consul as a system job with two groups, web with a failing allocation. */
function workshop() {
  const allocations = [
    alloc('consul', 'server', 'running', { nodeName: 'nomad-server-1', zone: 'europe-west1-b' }),
    alloc('consul', 'client', 'running'),
    alloc('web', 'web', 'running', { createTime: NOW - 4 * 60_000 }),
    alloc('web', 'web', 'pending', { createTime: NOW - 5_000 }),
    alloc('web', 'web', 'failed', {
      createTime: NOW - 90_000,
      restarts: 2,
      reason: 'Failed to pull `nginx:1.99`: manifest unknown',
      lastEvent: { task: 'web', type: 'Driver Failure', message: 'Failed to pull `nginx:1.99`: manifest unknown', time: NOW - 60_000 },
    }),
    alloc('web', 'web', 'complete', { desiredStatus: 'stop', createTime: NOW - 3600_000 }),
  ];
  const jobs = [job('consul', allocations, { type: 'system' }), job('web', allocations)];
  return { allocations, jobs, source: snapshotSource(snapshot(jobs, allocations)) };
}

const jobsOf = (roots: AllocationRoots) => (roots.kind === 'jobs' ? roots.jobs.map((j) => j.key) : stateRows(roots.state).map((n) => n.label));

describe('Allocations view: the levels the view renders lazily', () => {
  test('jobs at the top, in key order, with type, status and allocation summary', () => {
    const { source } = workshop();
    const roots = allocationRoots({ state: 'connected' }, source);
    assert.deepEqual(jobsOf(roots), ['default/consul', 'default/web']);
    const web = jobNode(source.getJob('default/web')!);
    assert.equal(web.label, 'web');
    assert.equal(web.description, 'service · running · 1 running, 1 pending, 1 failed');
    assert.equal(web.contextValue, 'job:running');
    assert.equal(web.icon?.id, 'package');
  });

  test('a job whose allocations all failed is red; a stopped job is grey and says stopped', () => {
    const allocations = [alloc('bad', 'bad', 'failed')];
    assert.deepEqual(jobNode(job('bad', allocations)).icon, { id: 'error', color: 'testing.iconFailed' });
    const stopped = jobNode(job('old', [], { status: 'dead', stop: true }));
    assert.equal(stopped.description, 'service · stopped · no allocations');
    const finished = jobNode(job('once', [alloc('once', 'once', 'complete'), alloc('once', 'once', 'complete')], { type: 'batch', status: 'dead' }));
    assert.equal(finished.description, 'batch · dead · 2 complete', 'complete allocations are not "no allocations"');
    assert.equal(stopped.contextValue, 'job:dead stopped');
    assert.equal(stopped.icon?.color, 'disabledForeground');
  });

  test('task groups under a job, with how many run of how many are wanted', () => {
    const { source } = workshop();
    assert.deepEqual(jobGroups(source, source.getJob('default/consul')!, {}), ['client', 'server']);
    const group = groupNode('default/web', 'web', source.getAllocations('default/web', 'web'));
    assert.equal(group.id, 'job/default/web/group/web');
    assert.equal(group.description, 'task group · 1 running of 3 wanted');
    assert.equal(group.contextValue, 'group');
    assert.equal(group.collapsed, false);
  });

  test('allocations: running first, then pending, failed, the rest; status icons and colours', () => {
    const { source } = workshop();
    const { shown } = groupAllocations(source, 'default/web', 'web', {});
    const nodes = shown.map((a) => allocationNode(a, NOW));
    assert.deepEqual(
      nodes.map((n) => [n.contextValue, n.icon?.id, n.icon?.color]),
      [
        ['alloc:running', 'pass-filled', 'testing.iconPassed'],
        ['alloc:pending', 'clock', 'charts.yellow'],
        ['alloc:failed', 'error', 'testing.iconFailed'],
        ['alloc:complete', 'circle-large-outline', 'disabledForeground'],
      ],
    );
    assert.equal(nodes[0]!.description, 'running · nomad-client-b-1 · europe-west1-b · 4m');
    assert.match(nodes[0]!.label, /^[0-9a-f]{8} \[\d\]$/);
  });

  test('a failed allocation says why: the last task event, in the row and the tooltip', () => {
    const { source, allocations } = workshop();
    const failed = allocationNode(source.getAllocation(allocations[4]!.id)!, NOW);
    assert.equal(failed.description, 'failed · nomad-client-b-1 · europe-west1-b · 1m · 2 restarts · — Failed to pull `nginx:1.99`: manifest unknown');
    assert.match(failed.tooltip!, /Last event: Driver Failure \(web\): Failed to pull `nginx:1\.99`: manifest unknown/);
    assert.equal(failed.copyValue, allocations[4]!.id);
  });

  test('a lost allocation without a task event shows the client description', () => {
    const lost = allocationNode(alloc('web', 'web', 'lost', { clientDescription: 'alloc is lost since its node is down' }), NOW);
    assert.equal(lost.icon?.id, 'question');
    assert.match(lost.description!, /— alloc is lost since its node is down$/);
  });
});

describe('Allocations view: filters and empty states', () => {
  test('by status: only jobs and groups with such allocations, and only those allocations', () => {
    const { source } = workshop();
    const filter = { statuses: ['failed'] };
    const roots = allocationRoots({ state: 'connected' }, source, filter);
    assert.deepEqual(jobsOf(roots), ['default/web']);
    assert.deepEqual(groupAllocations(source, 'default/web', 'web', filter).shown.map((a) => a.clientStatus), ['failed']);
    assert.deepEqual(jobGroups(source, source.getJob('default/consul')!, { statuses: ['failed'] }), []);
  });

  test('by job, and a filter that matches nothing explains itself and offers to clear it', () => {
    const { source } = workshop();
    assert.deepEqual(jobsOf(allocationRoots({ state: 'connected' }, source, { jobKey: 'default/consul' })), ['default/consul']);
    const none = allocationRoots({ state: 'connected' }, source, { jobKey: 'default/web', statuses: ['lost'] });
    assert.equal(none.kind, 'state');
    const [empty] = none.kind === 'state' ? stateRows(none.state) : [];
    assert.equal(empty!.label, 'Nothing matches the filter');
    assert.equal(empty!.contextValue, 'state:empty');
    assert.equal(empty!.command?.command, 'openKitchen.clearAllocationFilter');
  });

  test('honest states: waiting, not connected, failed with Retry, loading, cannot read, no jobs', () => {
    const rows = (roots: AllocationRoots) => (roots.kind === 'state' ? stateRows(roots.state) : []);
    const labels = (roots: AllocationRoots) => rows(roots).map((n) => `${n.contextValue}: ${n.label}`);
    assert.deepEqual(labels(allocationRoots({ state: 'idle' }, undefined)), ['state:waiting: Waiting for your stack']);
    assert.deepEqual(labels(allocationRoots({ state: 'disconnected' }, undefined)), ['state:disconnected: Not connected']);
    const failed = allocationRoots({ state: 'failed', error: 'host key mismatch' }, undefined);
    assert.equal(rows(failed)[0]!.command?.command, 'openKitchen.retryConnection');
    assert.deepEqual(labels(allocationRoots({ state: 'connected' }, snapshotSource(snapshot([], [], { state: 'loading' })))), ['state:loading: Loading jobs…']);
    const error = allocationRoots({ state: 'connected' }, snapshotSource(snapshot([], [], { state: 'error', error: 'GET /v1/jobs: response field [0].Status: expected string, received number' })));
    assert.deepEqual(labels(error), ['state:failed: Cannot read the jobs']);
    assert.match(rows(error)[0]!.description!, /\[0\]\.Status/);
    const empty = allocationRoots({ state: 'connected' }, snapshotSource(snapshot([], [])));
    assert.deepEqual(labels(empty), ['state:empty: No jobs yet']);
  });

  test('data already read stays visible while reconnecting', () => {
    const { source } = workshop();
    assert.deepEqual(jobsOf(allocationRoots({ state: 'reconnecting', error: 'connection reset' }, source)), ['default/consul', 'default/web']);
  });
});

describe('Allocations view: thousands of allocations', () => {
  const allocations = Array.from({ length: 4500 }, (_, i) => alloc('batch', 'work', i % 10 === 0 ? 'failed' : 'complete'));
  allocations.push(...Array.from({ length: 30 }, () => alloc('web', 'web', 'running')));
  const jobs = [job('batch', allocations, { type: 'batch' }), job('web', allocations)];
  const source = snapshotSource(snapshot(jobs, allocations));

  test('a big task group starts folded and shows a page at a time, then says how many more', () => {
    const all = source.getAllocations('default/batch', 'work');
    assert.equal(groupNode('default/batch', 'work', all).collapsed, true);
    const first = groupAllocations(source, 'default/batch', 'work', {});
    assert.equal(first.shown.length, ALLOCATION_PAGE);
    assert.equal(first.hidden, 4500 - ALLOCATION_PAGE);
    assert.equal(first.shown[0]!.clientStatus, 'failed', 'failed before complete');
    const more = buildAllocationNodes({ state: 'connected' }, snapshot(jobs, allocations), {}, NOW).find((n) => n.id === 'job/default/batch')!.children![0]!.children!.at(-1)!;
    assert.equal(more.label, `Show ${ALLOCATION_PAGE} more…`);
    assert.equal(more.contextValue, 'more');
    assert.equal(groupAllocations(source, 'default/batch', 'work', {}, 5000).hidden, 0);
  });

  test('a status filter pages over the matching allocations only', () => {
    const failed = groupAllocations(source, 'default/batch', 'work', { statuses: ['failed'] });
    assert.equal(failed.shown.length + failed.hidden, 450);
  });

  test('a change to some allocations touches only their jobs, not the whole tree', () => {
    const one = allocations.find((a) => a.jobId === 'web')!;
    const r = affectedJobs({ sections: ['allocations', 'jobs'], allocations: { added: [], updated: [one.id], removed: [] }, jobs: { added: [], updated: ['default/web'], removed: [] } }, source, () => undefined);
    assert.equal(r.full, false);
    assert.deepEqual([...r.jobKeys], ['default/web']);
  });

  test('a removed allocation is traced to the job it was in', () => {
    const r = affectedJobs({ sections: ['allocations'], allocations: { added: [], updated: [], removed: ['gone-1'] } }, source, (id) => (id === 'gone-1' ? 'default/batch' : undefined));
    assert.deepEqual([r.full, [...r.jobKeys]], [false, ['default/batch']]);
  });

  test('jobs coming or going, or the connection changing, re-render the top level', () => {
    assert.equal(affectedJobs({ sections: ['jobs'], jobs: { added: ['default/new'], updated: [], removed: [] } }, source, () => undefined).full, true);
    assert.equal(affectedJobs({ sections: ['connection'] }, source, () => undefined).full, true);
    assert.equal(affectedJobs({ sections: ['nomad'] }, source, () => undefined).full, true);
    // Node changes alone do not touch allocation rows (zone changes arrive as allocation updates).
    const nodes = affectedJobs({ sections: ['nodes'], nodes: { added: [], updated: ['n1'], removed: [] } }, source, () => undefined);
    assert.deepEqual([nodes.full, nodes.jobKeys.size], [false, 0]);
  });
});
