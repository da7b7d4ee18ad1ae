/**
 * ClusterModel against the fake Nomad + Consul: the initial picture (servers with leader and
 * raft peers, nodes by datacenter → zone, jobs → groups → allocations, Consul members and
 * service health), live updates from the event stream and from blocking queries, change
 * events that name what changed, honest error and "Consul not running" states, and 10,000
 * allocations updated one by one.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Emitter } from '../../src/common/events';
import { ClusterModel, ConsulClient, NomadClient, type ClusterChange } from '../../src/cluster';
import { FakeCluster, allocation, consulCheck, consulMember, jobStub, nodeStub, taskState, uuid } from './cluster-fixture';

const FAST = { initialMs: 5, maxMs: 50 };

async function setup(
  configure: (fake: FakeCluster) => void = () => undefined,
  opts: { consul?: 'fake' | 'dead' | 'none'; useEventStream?: boolean; streamIdleTimeoutMs?: number } = {},
) {
  const fake = await new FakeCluster().start();
  const n1 = nodeStub(1, 'dc1');
  const n2 = nodeStub(2, 'dc1');
  const n3 = nodeStub(3, 'sys1');
  fake.nodes = [n1, n2, n3];
  fake.zones.set(n1['ID'] as string, 'europe-west1-b');
  fake.zones.set(n2['ID'] as string, 'europe-west1-c');
  fake.jobs = [jobStub('web', ['frontend']), jobStub('consul', ['server', 'client'], { Type: 'system' })];
  fake.allocs.set(uuid(1), allocation(1, 'web', 'frontend', n1));
  fake.allocs.set(uuid(2), allocation(2, 'web', 'frontend', n2, { ClientStatus: 'pending', TaskStates: null }));
  fake.allocs.set(uuid(3), allocation(3, 'consul', 'server', n3));
  fake.consulMembers = [consulMember('consul-server-1', '10.0.1.5', 'consul'), consulMember('client-1', '10.0.0.11', 'node'), consulMember('client-2', '10.0.0.12', 'node', 4)];
  fake.consulServices = { consul: [], web: ['v1'] };
  fake.consulInstances = {
    consul: [['consul-server-1', 'consul']],
    web: [
      ['client-1', 'web-1'],
      ['client-2', 'web-2'],
      ['client-2', 'web-2b'],
    ],
  };
  fake.consulChecks = [
    consulCheck('client-1', '', '', 'passing'),
    consulCheck('client-1', 'web', 'web-1', 'passing'),
    consulCheck('client-2', 'web', 'web-2', 'critical'),
    consulCheck('client-2', 'web', 'web-2b', 'warning'),
  ];
  configure(fake);
  let consulUrl = `${fake.url}/consul`;
  if (opts.consul === 'dead') {
    const srv = http.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    consulUrl = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    await new Promise<void>((r) => srv.close(() => r()));
  }
  const model = new ClusterModel({
    nomad: new NomadClient({ baseUrl: fake.url }),
    consul: opts.consul === 'none' ? undefined : new ConsulClient({ baseUrl: consulUrl }),
    backoff: FAST,
    waitSeconds: 30,
    useEventStream: opts.useEventStream,
    streamIdleTimeoutMs: opts.streamIdleTimeoutMs,
  });
  cleanups.push(async () => {
    await model.dispose();
    await fake.close();
  });
  return { fake, model, nodes: [n1, n2, n3] };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function nextChange(model: ClusterModel, matches: (c: ClusterChange) => boolean): Promise<ClusterChange> {
  return new Promise((resolve) => {
    const sub = model.onDidChange((c) => {
      if (!matches(c)) return;
      sub.dispose();
      resolve(c);
    });
  });
}

describe('ClusterModel', () => {
  test('builds the whole picture of the cluster', async () => {
    const { model, nodes } = await setup();
    model.start();
    await model.waitFor((m) => m.nomadStatus.state === 'ready' && m.consulStatus.state === 'ready', 'everything loaded');
    await model.waitFor((m) => m.getNodes().filter((n) => n.zone).length === 2, 'zones from the full nodes');

    const servers = model.getServers();
    assert.deepEqual(
      servers.map((s) => [s.name, s.leader, s.raftPeer, s.status]),
      [
        ['srv1.global', false, true, 'alive'],
        ['srv2.global', true, true, 'alive'],
        ['srv3.global', false, true, 'alive'],
      ],
    );

    const dcs = model.getDatacenters();
    assert.deepEqual(
      dcs.map((d) => [d.datacenter, d.zones.map((z) => [z.zone, z.nodes.map((n) => n.name)])]),
      [
        [
          'dc1',
          [
            ['europe-west1-b', ['client-1']],
            ['europe-west1-c', ['client-2']],
          ],
        ],
        ['sys1', [['', ['client-3']]]],
      ],
    );
    const client1 = model.getNode(nodes[0]!['ID'] as string)!;
    assert.equal(client1.status, 'ready');
    assert.equal(client1.eligibility, 'eligible');
    assert.equal(client1.drain, false);
    assert.deepEqual([client1.allocations.total, client1.allocations.running], [1, 1]);

    const jobs = model.getJobs();
    assert.deepEqual(
      jobs.map((j) => [j.key, j.type, j.status, j.taskGroups, j.allocations.total]),
      [
        ['default/consul', 'system', 'running', ['client', 'server'], 1],
        ['default/web', 'service', 'running', ['frontend'], 2],
      ],
    );
    const groups = model.getTaskGroups('default/web');
    assert.deepEqual(
      groups.map((g) => [g.name, g.allocations.running, g.allocations.pending]),
      [['frontend', 1, 1]],
    );
    const allocs = model.getAllocations('default/web', 'frontend');
    assert.deepEqual(
      allocs.map((a) => [a.name, a.clientStatus, a.nodeName, a.zone]),
      [
        ['web.frontend[2]', 'pending', 'client-2', 'europe-west1-c'],
        ['web.frontend[1]', 'running', 'client-1', 'europe-west1-b'],
      ],
    );
    assert.equal(allocs[1]!.shortId, uuid(1).slice(0, 8));
    assert.equal(allocs[1]!.createTime, 1_704_103_200_001);

    assert.deepEqual(
      model.getConsulMembers().map((m) => [m.name, m.role, m.status, m.leader]),
      [
        ['consul-server-1', 'server', 'alive', true],
        ['client-1', 'client', 'alive', false],
        ['client-2', 'client', 'failed', false],
      ],
    );
    assert.deepEqual(model.getConsulServices(), [
      { name: 'consul', tags: [], instances: 1, checks: { passing: 0, warning: 0, critical: 0 } },
      // web-1 passes, and so does its node's serfHealth; web-2 is critical, web-2b warning.
      { name: 'web', tags: ['v1'], instances: 3, checks: { passing: 2, warning: 1, critical: 1 } },
    ]);
  });

  test('allocations update live from the event stream, and the change names them', async () => {
    const { fake, model, nodes } = await setup();
    model.start();
    await model.waitFor((m) => m.nomadStatus.state === 'ready', 'ready');
    await fake.whenStreamOpen();

    const added = nextChange(model, (c) => !!c.allocations?.added.length);
    fake.upsertAllocation(allocation(7, 'web', 'frontend', nodes[1]!, { ClientStatus: 'pending', TaskStates: null }), 'AllocationCreated');
    const change = await added;
    assert.deepEqual(change.allocations, { added: [uuid(7)], updated: [], removed: [] });
    assert.ok(change.sections.includes('allocations'));
    assert.deepEqual(change.jobs?.updated, ['default/web'], 'the job counts moved');

    const failed = nextChange(model, (c) => !!c.allocations?.updated.includes(uuid(7)));
    fake.upsertAllocation(
      allocation(7, 'web', 'frontend', nodes[1]!, {
        ClientStatus: 'failed',
        TaskStates: {
          web: taskState('dead', {
            failed: true,
            restarts: 2,
            events: [
              ['Received', 'Task received by client'],
              ['Driver Failure', 'Failed to pull `nginx:1.99`: manifest unknown'],
            ],
          }),
        },
      }),
    );
    await failed;
    const a = model.getAllocation(uuid(7))!;
    assert.equal(a.clientStatus, 'failed');
    assert.equal(a.restarts, 2);
    assert.equal(a.lastEvent?.type, 'Driver Failure');
    assert.equal(a.reason, 'Failed to pull `nginx:1.99`: manifest unknown');
    assert.equal(model.getJob('default/web')!.allocations.failed, 1);
    // Only the list read at start: the stream carried the rest.
    assert.equal(fake.requests.filter((r) => r.path === '/v1/allocations').length, 1);
  });

  test('without an event stream, blocking queries keep allocations current', async () => {
    const { fake, model, nodes } = await setup((f) => (f.eventStream = false));
    model.start();
    await model.waitFor((m) => m.nomadStatus.state === 'ready', 'ready');
    fake.upsertAllocation(allocation(8, 'web', 'frontend', nodes[0]!));
    await model.waitFor((m) => !!m.getAllocation(uuid(8)), 'the new allocation');
    fake.allocs.delete(uuid(1));
    fake.bump();
    await model.waitFor((m) => !m.getAllocation(uuid(1)), 'the removed allocation');
    assert.equal(model.nomadStatus.state, 'ready');
  });

  test('jobs and nodes follow blocking queries: drain, eligibility, a stopped job', async () => {
    const { fake, model, nodes } = await setup();
    model.start();
    await model.waitFor((m) => m.nomadStatus.state === 'ready', 'ready');
    const nodeChange = nextChange(model, (c) => !!c.nodes?.updated.includes(nodes[1]!['ID'] as string));
    fake.nodes = fake.nodes.map((n) => (n === nodes[1] ? { ...n, Drain: true, SchedulingEligibility: 'ineligible' } : n));
    fake.jobs = fake.jobs.map((j) => (j['ID'] === 'web' ? { ...j, Stop: true, Status: 'dead' } : j));
    fake.bump();
    await nodeChange;
    await model.waitFor((m) => m.getJob('default/web')?.status === 'dead', 'the stopped job');
    const n2 = model.getNode(nodes[1]!['ID'] as string)!;
    assert.equal(n2.drain, true);
    assert.equal(n2.eligibility, 'ineligible');
    assert.equal(model.getJob('default/web')!.stop, true);
  });

  test('a malformed response shows as an error naming the field, and the model recovers', async () => {
    let broken = true;
    const { fake, model } = await setup((f) =>
      f.overrides.push((req, res) => {
        if (!broken || req.path !== '/v1/jobs') return false;
        res.setHeader('content-type', 'application/json');
        res.setHeader('X-Nomad-Index', String(f.index));
        res.end(JSON.stringify([{ ...jobStub('web', ['frontend']), Stop: 'no' }]));
        return true;
      }),
    );
    model.start();
    await model.waitFor((m) => m.nomadStatus.state === 'error', 'the error');
    assert.equal(model.nomadStatus.error, 'Nomad /v1/jobs: [0].Stop: expected boolean, received string');
    // The rest of the picture still comes in.
    await model.waitFor((m) => m.getNodes().length === 3 && m.allocationCount === 3, 'nodes and allocations');
    broken = false;
    fake.bump();
    await model.waitFor((m) => m.nomadStatus.state === 'ready', 'recovery');
    assert.equal(model.getJobs().length, 2);
  });

  test('Consul not answering is "not running", not a crash', async () => {
    const { model } = await setup(undefined, { consul: 'dead' });
    model.start();
    await model.waitFor((m) => m.consulStatus.state === 'not-running', 'consul not running');
    assert.match(model.consulStatus.error!, /Consul is not running yet/);
    await model.waitFor((m) => m.nomadStatus.state === 'ready', 'nomad still works');
  });

  test('a silent event stream is reopened, and what it missed is re-read', async () => {
    const { fake, model, nodes } = await setup(undefined, { consul: 'none', streamIdleTimeoutMs: 200 });
    model.start();
    await fake.whenStreamOpen();
    // A change the dead stream never delivers…
    fake.allocs.set(uuid(9), { ...allocation(9, 'web', 'frontend', nodes[0]!), ModifyIndex: fake.bump() });
    await fake.waitForRequests('/v1/event/stream', 2);
    // …is in the list read before the new stream.
    await model.waitFor((m) => !!m.getAllocation(uuid(9)), 'the missed allocation');
    assert.equal(model.consulStatus.state, 'disabled');
  });

  test('reports the connection underneath and re-reads everything when it comes back', async () => {
    const fake = await new FakeCluster().start();
    const changes = new Emitter<{ state: string; previous: string }>();
    const connection = { state: 'connected', lastError: undefined as { message: string } | undefined, onDidChangeState: changes.event };
    const model = new ClusterModel({ nomad: new NomadClient({ baseUrl: fake.url }), connection, backoff: FAST });
    cleanups.push(async () => {
      await model.dispose();
      await fake.close();
    });
    model.start();
    await model.waitFor((m) => m.nomadStatus.state === 'ready', 'ready');
    assert.deepEqual(model.connectionStatus, { state: 'connected' });

    const sawConnection = nextChange(model, (c) => c.sections.includes('connection'));
    connection.state = 'reconnecting';
    connection.lastError = { message: 'The bastion at 127.0.0.1:2222 dropped the connection.' };
    changes.fire({ state: 'reconnecting', previous: 'connected' });
    await sawConnection;
    assert.deepEqual(model.connectionStatus, { state: 'reconnecting', error: 'The bastion at 127.0.0.1:2222 dropped the connection.' });

    const reads = fake.requests.filter((r) => r.path === '/v1/allocations').length;
    connection.state = 'connected';
    changes.fire({ state: 'connected', previous: 'reconnecting' });
    await fake.waitForRequests('/v1/allocations', reads + 1);
    assert.deepEqual(model.snapshot().connection, { state: 'connected' });
  });

  test('10,000 allocations: one change is one small event', async () => {
    const { fake, model, nodes } = await setup((f) => {
      for (let i = 100; i < 10_100; i++) f.allocs.set(uuid(i), allocation(i, 'web', 'frontend', f.nodes[i % 2]!));
    });
    model.start();
    await model.waitFor((m) => m.allocationCount === 10_003, 'all allocations', 30_000);
    await fake.whenStreamOpen();
    const one = nextChange(model, (c) => !!c.allocations);
    fake.upsertAllocation(allocation(5000, 'web', 'frontend', nodes[0]!, { ClientStatus: 'complete' }));
    const change = await one;
    assert.deepEqual(change.allocations, { added: [], updated: [uuid(5000)], removed: [] });
    assert.equal(model.getJob('default/web')!.allocations.complete, 1);
    assert.equal(model.getAllocations('default/web').length, 10_002);
  });
});
