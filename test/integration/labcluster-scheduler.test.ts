/**
 * The lab cluster's scheduler against the workshop's job files, over real HTTP. Placement rules
 * follow the nomad-consul-api reference §4.1 (system: one allocation per eligible matching node;
 * service/batch: Count allocations spread over nodes; placement failures in FailedTGAllocs with
 * an AllocationMetric, §2.3.1) and allocation/deployment states follow §3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabCluster } from '../../src/labcluster';
import { call, evalDone, getOk, jobFile, live, register, startTestCluster, waitFor, type Alloc, type Node } from './labcluster-fixture';

describe('lab cluster scheduler', () => {
  let lab: LabCluster;
  let base = '';
  let nodes: Node[] = [];
  const zoneOf = (id: string): string => nodes.find((n) => n.ID === id)?.Attributes?.['platform.gce.zone'] ?? '';

  before(async () => {
    lab = await startTestCluster({ name: 'sched' });
    base = lab.nomadUrl;
    const stubs = (await getOk<Node[]>(base, '/v1/nodes')).body;
    nodes = await Promise.all(stubs.map(async (s) => (await getOk<Node>(base, `/v1/node/${s.ID}`)).body));
  });
  after(() => lab?.close());

  test("the workshop's Consul system job places exactly one allocation per matching node (§4.1 system)", async () => {
    const job = await jobFile('consul.nomad.hcl');
    const { EvalID } = await register(base, job);
    const e = await evalDone(base, EvalID);
    assert.equal(e.Status, 'complete');
    assert.equal(e.FailedTGAllocs, null, 'no placement failures');
    const allocs = await waitFor<Alloc[]>(base, '/v1/job/consul/allocations', (list) => list.length === 9 && list.every((a) => a.ClientStatus === 'running'), 'all consul allocations running');
    const byGroup = (g: string) => allocs.filter((a) => a.TaskGroup === g).map((a) => a.NodeID).sort();
    assert.deepEqual(byGroup('server'), nodes.filter((n) => n.Datacenter === 'sys1').map((n) => n.ID).sort(), 'one server per sys1 node');
    assert.deepEqual(byGroup('client'), nodes.filter((n) => n.Datacenter === 'dc1').map((n) => n.ID).sort(), 'one client per dc1 node');
    for (const a of allocs) assert.match(a.Name, /^consul\.(server|client)\[0\]$/);
    const summary = (await getOk<{ Summary: Record<string, { Running: number }> }>(base, '/v1/job/consul/summary')).body;
    assert.equal(summary.Summary.server?.Running, 3);
    assert.equal(summary.Summary.client?.Running, 6);
  });

  test('a system job stopped and run again at once places new allocations while the old ones stop', async (t) => {
    // A client step of half a second: the old allocations are still stopping when the job runs again.
    const slow = await startTestCluster({ name: 'restart', stepMs: 500 });
    t.after(() => slow.close());
    const url = slow.nomadUrl;
    const job = await jobFile('consul.nomad.hcl');
    await evalDone(url, (await register(url, job)).EvalID);
    await waitFor<Alloc[]>(url, '/v1/job/consul/allocations', (list) => live(list).filter((a) => a.ClientStatus === 'running').length === 9, 'consul running');
    const stopped = await call<{ EvalID: string }>(url, '/v1/job/consul', { method: 'DELETE' });
    assert.equal(stopped.status, 200, stopped.text);
    await evalDone(url, stopped.body.EvalID);
    // The old allocations are told to stop; without waiting for them to finish stopping (as an
    // attendee who types fast would), the job runs again.
    const stopping = (await getOk<Alloc[]>(url, '/v1/job/consul/allocations')).body.filter((a) => a.DesiredStatus === 'stop' && a.ClientStatus === 'running');
    assert.ok(stopping.length > 0, 'some allocations are still stopping when the job runs again');
    const again = await register(url, job);
    const e = await evalDone(url, again.EvalID);
    assert.equal(e.FailedTGAllocs, null, 'the stopping allocations do not block placement');
    const allocs = await waitFor<Alloc[]>(url, '/v1/job/consul/allocations', (list) => live(list).filter((a) => a.ClientStatus === 'running').length === 9, 'consul running again');
    assert.equal(new Set(live(allocs).map((a) => a.NodeID)).size, 9, 'one live allocation per node');
  });

  test('a zone outage reschedules a service job into the other zone', async () => {
    const job = await jobFile('web.nomad.hcl');
    await register(base, job);
    let allocs = await waitFor<Alloc[]>(base, '/v1/job/web/allocations', (l) => live(l).length === 3 && live(l).every((a) => a.ClientStatus === 'running'), 'web running');
    const zones = [...new Set(live(allocs).map((a) => zoneOf(a.NodeID)))];
    const outage = zones[0] as string;
    const other = ['europe-west1-b', 'europe-west1-c'].find((z) => z !== outage) as string;
    const hit = live(allocs).filter((a) => zoneOf(a.NodeID) === outage);
    assert.ok(hit.length > 0);
    const r = await call(base, `/_lab/zone/${outage}/outage`, { method: 'POST', body: {} });
    assert.equal(r.status, 200, r.text);
    allocs = await waitFor<Alloc[]>(base, '/v1/job/web/allocations', (l) => live(l).length === 3 && live(l).every((a) => a.ClientStatus === 'running' && zoneOf(a.NodeID) === other), 'web rescheduled into the other zone');
    for (const a of hit) {
      const old = allocs.find((x) => x.ID === a.ID) as Alloc;
      assert.equal(old.ClientStatus, 'lost');
      assert.equal(old.DesiredDescription, 'alloc is lost since its node is down');
      assert.ok(old.NextAllocation, 'the lost allocation points at its replacement');
    }
    const down = (await getOk<Node[]>(base, '/v1/nodes')).body.filter((n) => n.Status === 'down');
    assert.equal(down.length, 3, 'the three dc1 clients of the zone are down');
    await call(base, `/_lab/zone/${outage}/outage`, { method: 'DELETE' });
    await waitFor<Node[]>(base, '/v1/nodes', (l) => l.every((n) => n.Status === 'ready'), 'zone back');
    // The Consul system job gets its client agents back on the returning nodes.
    await waitFor<Alloc[]>(base, '/v1/job/consul/allocations', (l) => live(l).filter((a) => a.TaskGroup === 'client' && a.ClientStatus === 'running').length === 6, 'consul clients back');
  });

  test('a full node yields a placement failure in plan (§2.3.1 FailedTGAllocs)', async () => {
    const target = nodes.find((n) => n.Datacenter === 'dc1') as Node;
    const pinned = (name: string, memory: number) => ({
      ID: name,
      Name: name,
      Type: 'service',
      Datacenters: ['dc1'],
      Constraints: [{ LTarget: '${node.unique.name}', RTarget: target.Name, Operand: '=' }],
      TaskGroups: [{ Name: 'big', Count: 1, Tasks: [{ Name: 'redis', Driver: 'docker', Config: { image: 'redis:7.2.5' }, Resources: { CPU: 100, MemoryMB: memory } }] }],
    });
    const { EvalID } = await register(base, pinned('hog', 6000) as never);
    assert.equal((await evalDone(base, EvalID)).FailedTGAllocs, null);
    const plan = await call<{ FailedTGAllocs: Record<string, { NodesEvaluated: number; NodesFiltered: number; NodesExhausted: number; DimensionExhausted: Record<string, number>; ConstraintFiltered: Record<string, number> }> | null; Annotations: { DesiredTGUpdates: Record<string, { Place: number }> }; Diff: { Type: string } }>(base, '/v1/job/second/plan', {
      body: { Job: pinned('second', 4000), Diff: true },
    });
    assert.equal(plan.status, 200, plan.text);
    const failure = plan.body.FailedTGAllocs?.big;
    assert.ok(failure, 'the group failed to place');
    assert.equal(failure.NodesExhausted, 1);
    assert.deepEqual(failure.DimensionExhausted, { memory: 1 });
    assert.equal(failure.ConstraintFiltered[`\${node.unique.name} = ${target.Name}`], 5, 'the other dc1 clients are filtered by the constraint');
    assert.equal(failure.NodesEvaluated, 6);
    assert.equal(plan.body.Annotations.DesiredTGUpdates.big?.Place, 0);
    assert.equal(plan.body.Diff.Type, 'Added');
    // A plan changes nothing.
    assert.equal((await call(base, '/v1/job/second')).status, 404);
  });

  test('a moving image tag breaks a deployment; the pinned version deploys (the pin-your-images lab)', async () => {
    const menu = await jobFile('menu.nomad.hcl');
    await register(base, menu);
    await waitFor<{ Status: string }>(base, '/v1/job/menu/deployment', (d) => d?.Status === 'successful', 'first menu deployment successful');
    const moved = await call<{ Moved: { image: string; tag: string; to: string }[] }>(base, '/_lab/images/advance', { method: 'POST', body: {} });
    assert.ok(moved.body.Moved.some((m) => m.image === 'openkitchen/menu-api' && m.tag === '1.4' && m.to === '1.4.2'));
    // A routine change (new menu file) rolls new allocations, which pull the moved tag.
    const changed = JSON.parse(JSON.stringify(menu)) as typeof menu;
    const task = changed.TaskGroups[0]?.Tasks[0];
    assert.ok(task);
    task.Env = { MENU_REVISION: '2' };
    await register(base, changed);
    const failed = await waitFor<{ Status: string; StatusDescription: string; JobVersion: number }>(base, '/v1/job/menu/deployment', (d) => d?.JobVersion === 1 && d.Status === 'failed', 'the deployment of version 1 to fail');
    assert.equal(failed.StatusDescription, 'Failed due to unhealthy allocations');
    const allocs = (await getOk<Alloc[]>(base, '/v1/job/menu/allocations')).body;
    const broken = allocs.find((a) => a.JobVersion === 1 && a.ClientStatus === 'failed');
    assert.ok(broken, 'a version 1 allocation failed');
    const events = broken.TaskStates?.api?.Events.map((e) => e.Type) ?? [];
    assert.ok(events.includes('Terminated') && events.includes('Restarting') && events.includes('Not Restarting'), events.join(', '));
    const stderr = await call(base, `/v1/client/fs/logs/${broken.ID}?task=api&type=stderr&plain=true`);
    assert.match(stderr.text, /unknown flag: --listen/);
    assert.equal(live(allocs).filter((a) => a.JobVersion === 0 && a.ClientStatus === 'running').length, 1, 'max_parallel = 1 left one old allocation serving');
    // Pinning the version fixes it.
    await register(base, await jobFile('menu-pinned.nomad.hcl'));
    await waitFor<{ Status: string; JobVersion: number }>(base, '/v1/job/menu/deployment', (d) => d?.JobVersion === 2 && d.Status === 'successful', 'the pinned deployment to succeed');
    const after = live((await getOk<Alloc[]>(base, '/v1/job/menu/allocations')).body);
    assert.equal(after.length, 2);
    assert.ok(after.every((a) => a.JobVersion === 2 && a.ClientStatus === 'running'));
  });

  test('auto_revert rolls a failed deployment back to the last stable version', async () => {
    const good = await jobFile('menu-pinned.nomad.hcl');
    good.ID = 'menu-revert';
    good.Name = 'menu-revert';
    good.Update = { ...(good.Update ?? {}), AutoRevert: true };
    for (const g of good.TaskGroups) g.Update = null;
    for (const g of good.TaskGroups) g.Services = (g.Services ?? []).map((sv) => ({ ...sv, Name: 'menu-revert' }));
    await register(base, good);
    await waitFor<{ Status: string }>(base, '/v1/job/menu-revert/deployment', (d) => d?.Status === 'successful', 'v0 deployed');
    const bad = JSON.parse(JSON.stringify(good)) as typeof good;
    const task = bad.TaskGroups[0]?.Tasks[0];
    assert.ok(task?.Config);
    task.Config.image = 'openkitchen/menu-api:1.4.2';
    await register(base, bad);
    const failed = await waitFor<{ ID: string; Status: string; StatusDescription: string }[]>(base, '/v1/job/menu-revert/deployments', (l) => l.some((d) => d.Status === 'failed'), 'v1 to fail');
    assert.match(failed.find((d) => d.Status === 'failed')?.StatusDescription ?? '', /rolling back to job version 0/);
    const reverted = await waitFor<{ JobVersion: number; Status: string }>(base, '/v1/job/menu-revert/deployment', (d) => d?.JobVersion === 2 && d.Status === 'successful', 'the rollback (v2) deployed');
    assert.equal(reverted.Status, 'successful');
    const job = (await getOk<{ TaskGroups: { Tasks: { Config: { image: string } }[] }[] }>(base, '/v1/job/menu-revert')).body;
    assert.equal(job.TaskGroups[0]?.Tasks[0]?.Config.image, 'openkitchen/menu-api:1.4.1');
  });

  test('host volumes fail the sysdig task until the docker plugin allows them', async () => {
    const job = await jobFile('sysdig.nomad.hcl');
    await register(base, job);
    const failed = await waitFor<Alloc[]>(base, '/v1/job/sysdig/allocations', (l) => l.length === 6 && l.every((a) => a.ClientStatus === 'failed'), 'sysdig to fail on every dc1 client');
    const evs = failed[0]?.TaskStates?.sysdig?.Events ?? [];
    const driverFailure = evs.find((e) => e.Type === 'Driver Failure');
    assert.match(driverFailure?.DisplayMessage ?? '', /volumes are not enabled; cannot mount host paths: "\/var\/run\/docker\.sock:\/host\/var\/run\/docker\.sock"/);
    assert.equal(evs.at(-1)?.Type, 'Not Restarting');
    await call(base, '/_lab/docker', { method: 'POST', body: { datacenter: 'dc1', volumes: true, privileged: true } });
    const node = (await getOk<Node>(base, `/v1/node/${failed[0]?.NodeID}`)).body;
    assert.equal(node.Attributes?.['driver.docker.volumes.enabled'], 'true');
    job.Meta = { attempt: '2' };
    await register(base, job);
    await waitFor<Alloc[]>(base, '/v1/job/sysdig/allocations', (l) => live(l).length === 6 && live(l).every((a) => a.ClientStatus === 'running'), 'sysdig running');
  });

  test('a batch job runs to completion and its logs hold the output', async () => {
    await register(base, await jobFile('inventory.nomad.hcl'));
    const [a] = await waitFor<Alloc[]>(base, '/v1/job/inventory/allocations', (l) => l.length === 1 && l[0]?.ClientStatus === 'complete', 'the batch allocation to complete');
    assert.equal(a?.ClientDescription, 'All tasks have completed');
    const job = (await getOk<{ Status: string }>(base, '/v1/job/inventory')).body;
    assert.equal(job.Status, 'dead');
    const out = await call(base, `/v1/client/fs/logs/${a?.ID}?task=report&type=stdout&plain=true`);
    assert.match(out.text, /42 jars of jam/);
  });

  test('draining a node migrates its allocations and completes', async () => {
    const allocs = live((await getOk<Alloc[]>(base, '/v1/job/web/allocations')).body);
    const nodeId = (allocs[0] as Alloc).NodeID;
    const r = await call<{ NodeModifyIndex: number }>(base, `/v1/node/${nodeId}/drain`, { body: { DrainSpec: { Deadline: 3600e9, IgnoreSystemJobs: false }, MarkEligible: false } });
    assert.equal(r.status, 200, r.text);
    await waitFor<{ DrainStrategy: unknown; LastDrain: { Status: string } | null; SchedulingEligibility: string }>(base, `/v1/node/${nodeId}`, (n) => n.DrainStrategy === null && n.LastDrain?.Status === 'complete', 'drain to complete');
    const after = await waitFor<Alloc[]>(base, '/v1/job/web/allocations', (l) => live(l).length === 3 && live(l).every((a) => a.ClientStatus === 'running'), 'web running elsewhere');
    assert.ok(live(after).every((a) => a.NodeID !== nodeId));
    const node = (await getOk<{ SchedulingEligibility: string }>(base, `/v1/node/${nodeId}`)).body;
    assert.equal(node.SchedulingEligibility, 'ineligible');
  });

  test('constraints with real operators filter nodes (§4 constraint operators)', async () => {
    const job = {
      ID: 'constrained',
      Type: 'service',
      Datacenters: ['*'],
      Constraints: [
        { LTarget: '${attr.kernel.name}', RTarget: 'linux', Operand: '=' },
        { LTarget: '${attr.nomad.version}', RTarget: '>= 1.6.0, < 2.0', Operand: 'version' },
        { LTarget: '${attr.platform.gce.zone}', RTarget: '-c$', Operand: 'regexp' },
        { LTarget: '${node.class}', RTarget: 'gpu', Operand: '!=' },
        { LTarget: '${meta.role}', RTarget: 'client', Operand: '=' },
        { LTarget: '', RTarget: 'true', Operand: 'distinct_hosts' },
      ],
      TaskGroups: [{ Name: 'g', Count: 3, Tasks: [{ Name: 't', Driver: 'docker', Config: { image: 'nginx:1.27.3' }, Resources: { CPU: 50, MemoryMB: 32 } }] }],
    };
    const { EvalID } = await register(base, job as never);
    const e = await evalDone(base, EvalID);
    const allocs = live((await getOk<Alloc[]>(base, '/v1/job/constrained/allocations')).body);
    assert.ok(allocs.every((a) => zoneOf(a.NodeID) === 'europe-west1-c'));
    assert.equal(new Set(allocs.map((a) => a.NodeID)).size, allocs.length, 'distinct hosts');
    // Zone c holds 3 dc1 clients, one of them maybe drained above: whatever does not fit is reported.
    if (allocs.length < 3) assert.ok(e.FailedTGAllocs?.g, 'the missing placements are reported');
    const windows = await call<{ FailedTGAllocs: Record<string, { ConstraintFiltered: Record<string, number> }> }>(base, '/v1/job/win/plan', {
      body: { Job: { ...job, ID: 'win', Constraints: [{ LTarget: '${attr.kernel.name}', RTarget: 'windows', Operand: '=' }] } },
    });
    const eligible = (await getOk<(Node & { SchedulingEligibility: string })[]>(base, '/v1/nodes')).body.filter((n) => n.Status === 'ready' && n.SchedulingEligibility === 'eligible');
    assert.equal(windows.body.FailedTGAllocs.g?.ConstraintFiltered['${attr.kernel.name} = windows'], eligible.length, 'every eligible node is filtered');
  });
});
