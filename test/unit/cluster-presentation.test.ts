/**
 * The Cluster and Allocations views' rendering from model snapshots, without VS Code: labels,
 * icons, context values (which drive the menus), and the nodes that explain an empty or broken
 * view.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emptyCounts, type AllocationInfo, type ClusterSnapshot, type NodeInfo } from '../../src/cluster';
import { age, buildAllocationNodes, clusterRoots, stateRows, type ConnectionView, type ViewNode } from '../../src/views';

/** The Cluster view's rows, a state shown as its rows. */
function buildClusterNodes(connection: ConnectionView, snapshot: ClusterSnapshot | undefined): ViewNode[] {
  const roots = clusterRoots(connection, snapshot);
  return Array.isArray(roots) ? roots : stateRows(roots);
}

const NOW = Date.parse('2026-01-01T12:00:00Z');

function node(name: string, datacenter: string, zone: string, extra: Partial<NodeInfo> = {}): NodeInfo {
  return { id: `${name}-id-0000`, name, datacenter, zone, status: 'ready', eligibility: 'eligible', drain: false, allocations: { ...emptyCounts(), running: 1, total: 1 }, ...extra };
}

function alloc(id: string, group: string, status: string, extra: Partial<AllocationInfo> = {}): AllocationInfo {
  return {
    id: `${id}-0000-0000`,
    shortId: id,
    name: `web.${group}[0]`,
    namespace: 'default',
    jobId: 'web',
    jobKey: 'default/web',
    taskGroup: group,
    nodeId: 'n1-id',
    nodeName: 'nomad-client-b-1',
    zone: 'europe-west1-b',
    clientStatus: status,
    desiredStatus: 'run',
    createTime: NOW - 4 * 60_000,
    modifyTime: NOW,
    restarts: 0,
    tasks: [{ name: 'web', state: status === 'running' ? 'running' : 'dead', failed: status === 'failed', restarts: 0 }],
    modifyIndex: 1,
    ...extra,
  };
}

function snapshot(extra: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    connection: { state: 'connected' },
    nomad: { state: 'ready' },
    consul: { state: 'ready' },
    servers: [
      { name: 'nomad-server-1.global', address: '10.0.0.2', rpcAddress: '10.0.0.2:4647', status: 'alive', datacenter: 'sys1', region: 'global', leader: true, raftPeer: true },
      { name: 'nomad-server-2.global', address: '10.0.0.3', rpcAddress: '10.0.0.3:4647', status: 'alive', datacenter: 'sys1', region: 'global', leader: false, raftPeer: true },
      { name: 'nomad-server-3.global', address: '10.0.0.4', rpcAddress: '10.0.0.4:4647', status: 'failed', datacenter: 'sys1', region: 'global', leader: false, raftPeer: true },
    ],
    datacenters: [
      {
        datacenter: 'dc1',
        zones: [
          { zone: 'europe-west1-b', nodes: [node('nomad-client-b-1', 'dc1', 'europe-west1-b'), node('nomad-client-b-2', 'dc1', 'europe-west1-b', { status: 'down' })] },
          { zone: 'europe-west1-c', nodes: [node('nomad-client-c-1', 'dc1', 'europe-west1-c', { eligibility: 'ineligible', drain: true })] },
        ],
      },
    ],
    jobs: [{ key: 'default/web', id: 'web', namespace: 'default', name: 'web', type: 'service', status: 'running', stop: false, datacenters: ['dc1'], taskGroups: ['web'], allocations: { ...emptyCounts(), running: 1, failed: 1, total: 2 }, modifyIndex: 5 }],
    allocations: [
      alloc('aaaa1111', 'web', 'running'),
      alloc('bbbb2222', 'web', 'failed', { reason: 'Failed to pull `nginx:1.99`: manifest unknown', restarts: 2 }),
    ],
    consulMembers: [
      { name: 'nomad-server-1', address: '10.0.0.2', role: 'server', status: 'alive', leader: true },
      { name: 'nomad-client-b-1', address: '10.0.1.2', role: 'client', status: 'failed', leader: false },
    ],
    consulServices: [{ name: 'web', tags: [], instances: 2, checks: { passing: 1, warning: 0, critical: 1 } }],
    ...extra,
  };
}

function find(nodes: ViewNode[], id: string): ViewNode | undefined {
  for (const n of nodes) {
    if (n.id === id) return n;
    const inner = find(n.children ?? [], id);
    if (inner) return inner;
  }
  return undefined;
}

describe('Cluster view nodes', () => {
  test('servers: the leader is starred and named in the summary; a failed server is red', () => {
    const nodes = buildClusterNodes({ state: 'connected' }, snapshot());
    const servers = find(nodes, 'servers')!;
    assert.equal(servers.description, '2 of 3 alive, leader nomad-server-1.global');
    const leader = find(nodes, 'server/nomad-server-1.global')!;
    assert.equal(leader.icon?.id, 'star-full');
    assert.match(leader.description!, /^leader/);
    assert.equal(leader.contextValue, 'server:alive leader');
    assert.equal(find(nodes, 'server/nomad-server-3.global')!.icon?.color, 'testing.iconFailed');
  });

  test('clients are grouped datacenter → zone, with status, eligibility, drain and allocations', () => {
    const nodes = buildClusterNodes({ state: 'connected' }, snapshot());
    const dc = find(nodes, 'dc/dc1')!;
    assert.equal(dc.description, 'datacenter · 2 of 3 nodes ready');
    assert.deepEqual(dc.children!.map((z) => z.label), ['europe-west1-b', 'europe-west1-c']);
    assert.equal(find(nodes, 'dc/dc1/zone/europe-west1-b')!.description, '1 of 2 ready, 1 down');
    const down = find(nodes, 'node/nomad-client-b-2-id-0000')!;
    assert.equal(down.contextValue, 'node:down');
    assert.deepEqual(down.target, { kind: 'node', nodeId: 'nomad-client-b-2-id-0000' });
    assert.equal(down.icon?.id, 'error');
    const draining = find(nodes, 'node/nomad-client-c-1-id-0000')!;
    assert.equal(draining.description, 'ineligible · draining · 1 running');
    assert.equal(draining.contextValue, 'node:ready ineligible draining');
  });

  test('Consul: leader, members by role, services with passing and critical counts', () => {
    const nodes = buildClusterNodes({ state: 'connected' }, snapshot());
    assert.equal(find(nodes, 'consul')!.description, 'leader nomad-server-1');
    assert.equal(find(nodes, 'consul/members')!.description, 'servers 1/1 alive, clients 0/1 alive');
    const web = find(nodes, 'consul/service/web')!;
    assert.equal(web.description, '2 instances · 1 passing, 1 critical');
    assert.equal(web.icon?.id, 'error');
    assert.equal(web.contextValue, 'service:critical');
  });

  test('Consul not running says so and how to start it', () => {
    const nodes = buildClusterNodes({ state: 'connected' }, snapshot({ consul: { state: 'not-running', error: 'No cluster leader' }, consulMembers: [], consulServices: [] }));
    const consul = find(nodes, 'consul')!;
    assert.equal(consul.description, 'not running yet');
    assert.match(consul.tooltip!, /No cluster leader/);
    assert.match(consul.tooltip!, /jobs\/consul\.nomad\.hcl/);
  });

  test('honest states: waiting, connecting, failed with Retry, reconnecting above stale data', () => {
    assert.equal(buildClusterNodes({ state: 'idle' }, undefined)[0]!.label, 'Waiting for your stack');
    assert.equal(buildClusterNodes({ state: 'connecting' }, undefined)[0]!.label, 'Connecting…');
    const failed = buildClusterNodes({ state: 'failed', error: 'host key mismatch: expected SHA256:a, got SHA256:b\nmore' }, undefined)[0]!;
    assert.equal(failed.command?.command, 'openKitchen.retryConnection');
    assert.equal(failed.description, 'host key mismatch: expected SHA256:a, got SHA256:b');
    const stale = buildClusterNodes({ state: 'reconnecting', error: 'connection reset' }, snapshot());
    assert.equal(stale[0]!.label, 'Reconnecting…');
    assert.ok(find(stale, 'servers'), 'the last data stays on show');
  });

  test('a malformed Nomad response is shown as the error naming the field', () => {
    const error = 'Nomad /v1/agent/members: Members[0].Status: expected string, received number';
    const nodes = buildClusterNodes({ state: 'connected' }, snapshot({ nomad: { state: 'error', error }, servers: [], datacenters: [] }));
    assert.equal(find(nodes, 'servers')!.description, error);
    assert.equal(find(nodes, 'clients')!.description, error);
  });
});

describe('Allocations view nodes', () => {
  test('jobs → task groups → allocations with status icon, node, zone, age; failed ones say why', () => {
    const nodes = buildAllocationNodes({ state: 'connected' }, snapshot(), {}, NOW);
    const job = find(nodes, 'job/default/web')!;
    assert.equal(job.label, 'web');
    assert.equal(job.description, 'service · running · 1 running, 1 failed');
    assert.equal(job.contextValue, 'job:running');
    assert.deepEqual(job.target, { kind: 'job', jobKey: 'default/web' });
    const group = find(nodes, 'job/default/web/group/web')!;
    assert.deepEqual(group.children!.map((a) => a.label), ['aaaa1111 [0]', 'bbbb2222 [0]'], 'running first');
    const running = find(nodes, 'alloc/aaaa1111-0000-0000')!;
    assert.equal(running.description, 'running · nomad-client-b-1 · europe-west1-b · 4m');
    assert.equal(running.icon?.id, 'pass-filled');
    assert.equal(running.contextValue, 'alloc:running');
    assert.deepEqual(running.target, { kind: 'alloc', allocId: 'aaaa1111-0000-0000' });
    const failed = find(nodes, 'alloc/bbbb2222-0000-0000')!;
    assert.equal(failed.description, 'failed · nomad-client-b-1 · europe-west1-b · 4m · 2 restarts · — Failed to pull `nginx:1.99`: manifest unknown');
    assert.equal(failed.contextValue, 'alloc:failed');
    assert.equal(failed.icon?.color, 'testing.iconFailed');
  });

  test('an allocation told to stop shows as stopping and offers no second stop', () => {
    const nodes = buildAllocationNodes({ state: 'connected' }, snapshot({ allocations: [alloc('cccc3333', 'web', 'running', { desiredStatus: 'stop' })] }), {}, NOW);
    const a = find(nodes, 'alloc/cccc3333-0000-0000')!;
    assert.match(a.description!, /^stopping/);
    assert.equal(a.contextValue, 'alloc:running stopping');
  });

  test('filters by status and by job; an empty result says how to get everything back', () => {
    const failedOnly = buildAllocationNodes({ state: 'connected' }, snapshot(), { statuses: ['failed'] }, NOW);
    assert.deepEqual(find(failedOnly, 'job/default/web/group/web')!.children!.map((a) => a.label), ['bbbb2222 [0]']);
    const none = buildAllocationNodes({ state: 'connected' }, snapshot(), { jobKey: 'default/nope' }, NOW);
    assert.equal(none[0]!.label, 'Nothing matches the filter');
    assert.equal(none[0]!.contextValue, 'state:empty');
  });

  test('no jobs yet says what to do', () => {
    const nodes = buildAllocationNodes({ state: 'connected' }, snapshot({ jobs: [], allocations: [] }), {}, NOW);
    assert.equal(nodes[0]!.label, 'No jobs yet');
    assert.match(nodes[0]!.description!, /jobs\/web\.nomad\.hcl/);
  });

  test('ages read like nomad job status', () => {
    assert.deepEqual([age(NOW - 5_000, NOW), age(NOW - 125_000, NOW), age(NOW - 3 * 3600_000, NOW), age(NOW - 2 * 86400_000, NOW)], ['5s', '2m', '3h', '2d']);
  });
});
