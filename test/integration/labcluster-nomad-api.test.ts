/**
 * Contract tests of the lab cluster's Nomad HTTP API: each test names the section of the shared
 * nomad-consul-api reference (written from Nomad's docs and source, v1.9.7) whose fields, types,
 * status codes, error bodies and headers it checks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { LabCluster } from '../../src/labcluster';
import { call, evalDone, getOk, jobFile, live, register, startTestCluster, waitFor, type Alloc } from './labcluster-fixture';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const keys = (o: object): string[] => Object.keys(o).sort();
const hasFields = (o: object, fields: string[], what: string) => {
  for (const f of fields) assert.ok(f in o, `${what} has ${f}`);
};

describe('lab cluster Nomad API', () => {
  let lab: LabCluster;
  let base = '';
  let webAllocs: Alloc[] = [];

  before(async () => {
    lab = await startTestCluster({ name: 'api' });
    base = lab.nomadUrl;
  });
  after(() => lab?.close());

  test('§1 conventions: / redirects to /ui/, unknown paths 404, wrong method 405 "Invalid method", errors are plain text', async () => {
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(root.status, 307);
    assert.equal(root.headers.get('location'), '/ui/');
    const ui = await call(base, '/ui/');
    assert.equal(ui.status, 200);
    assert.match(ui.text, /Open Kitchen lab cluster/);
    assert.equal((await call(base, '/nope')).status, 404);
    const m = await call(base, '/v1/status/leader', { method: 'DELETE' });
    assert.equal(m.status, 405);
    assert.equal(m.text, 'Invalid method');
    const nf = await call(base, '/v1/job/nope');
    assert.equal(nf.status, 404);
    assert.match(nf.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(nf.text, 'job not found');
  });

  test('§2.1 status and agent: leader is an RPC address, peers and members of the 3 servers', async () => {
    const leader = (await getOk<string>(base, '/v1/status/leader')).body;
    assert.match(leader, /^10\.132\.0\.\d+:4647$/);
    const peers = (await getOk<string[]>(base, '/v1/status/peers')).body;
    assert.equal(peers.length, 3);
    assert.ok(peers.includes(leader));
    assert.deepEqual((await getOk(base, '/v1/regions')).body, ['global']);
    const members = (await getOk<{ ServerName: string; ServerRegion: string; ServerDC: string; Members: { Name: string; Addr: string; Port: number; Status: string; Tags: Record<string, string> }[] }>(base, '/v1/agent/members')).body;
    assert.equal(members.ServerRegion, 'global');
    assert.equal(members.ServerDC, 'sys1');
    assert.equal(members.Members.length, 3);
    for (const mb of members.Members) {
      assert.equal(mb.Status, 'alive', 'Status is a string in Nomad');
      assert.equal(mb.Port, 4648);
      assert.match(mb.Name, /\.global$/);
      assert.equal(mb.Tags.role, 'nomad');
      assert.equal(mb.Tags.dc, 'sys1');
      assert.equal(mb.Tags.port, '4647');
    }
    const self = (await getOk<{ config: { Region: string; Datacenter: string; Version: { Version: string } }; member: { Name: string }; stats: Record<string, Record<string, unknown>> }>(base, '/v1/agent/self')).body;
    assert.deepEqual(keys(self), ['config', 'member', 'stats']);
    assert.equal(self.config.Region, 'global');
    for (const group of Object.values(self.stats)) for (const v of Object.values(group)) assert.equal(typeof v, 'string', 'every stats value is a string');
  });

  test('§2.2 nodes: list stubs (os=true adds only os.name/os.version), full node with GCE zone attribute, prefix, 404', async () => {
    const r = await getOk<Record<string, unknown>[]>(base, '/v1/nodes');
    assert.equal(r.body.length, 9);
    assert.ok(Number(r.headers.get('x-nomad-index')) >= 1);
    assert.equal(r.headers.get('x-nomad-knownleader'), 'true');
    assert.equal(r.headers.get('x-nomad-lastcontact'), '0');
    const stub = r.body[0] as Record<string, unknown>;
    assert.deepEqual(keys(stub), keys({ Address: 1, ID: 1, Datacenter: 1, Name: 1, NodeClass: 1, NodePool: 1, Version: 1, Drain: 1, SchedulingEligibility: 1, Status: 1, StatusDescription: 1, Drivers: 1, HostVolumes: 1, LastDrain: 1, CreateIndex: 1, ModifyIndex: 1 }));
    const withOs = (await getOk<{ Attributes: Record<string, string> }[]>(base, '/v1/nodes?os=true')).body[0];
    assert.deepEqual(keys(withOs?.Attributes ?? {}), ['os.name', 'os.version']);
    const dcs = r.body.map((n) => n.Datacenter);
    assert.equal(dcs.filter((d) => d === 'sys1').length, 3);
    assert.equal(dcs.filter((d) => d === 'dc1').length, 6);
    const id = stub.ID as string;
    const node = (await getOk<Record<string, unknown> & { Attributes: Record<string, string>; NodeResources: { Memory: { MemoryMB: number } }; Drivers: Record<string, { Healthy: boolean }> }>(base, `/v1/node/${id}`)).body;
    hasFields(node, ['HTTPAddr', 'Attributes', 'Meta', 'NodeResources', 'ReservedResources', 'Resources', 'Reserved', 'DrainStrategy', 'Events', 'StatusUpdatedAt', 'SchedulingEligibility', 'Drivers'], 'full node');
    for (const k of ['kernel.name', 'cpu.arch', 'cpu.totalcompute', 'memory.totalbytes', 'unique.hostname', 'unique.network.ip-address', 'nomad.version', 'driver.docker', 'platform.gce.zone']) assert.ok(node.Attributes[k], k);
    assert.ok(!('driver.docker.volumes.enabled' in node.Attributes), 'volumes are off by default');
    assert.ok(!Object.keys(node.Attributes).some((k) => k.startsWith('consul.')), 'no consul.* attributes while Consul does not run');
    assert.equal(node.Drivers.docker?.Healthy, true);
    const prefixed = (await getOk<unknown[]>(base, `/v1/nodes?prefix=${id.slice(0, 4)}`)).body;
    assert.ok(prefixed.length >= 1);
    const missing = await call(base, '/v1/node/00000000-0000-0000-0000-000000000000');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, 'node not found');
  });

  test('§2.3 jobs: register needs the Job wrapper; parse; validate; register returns eval info; list stubs with JobSummary', async () => {
    const bare = await call(base, '/v1/jobs', { body: { ID: 'x' } });
    assert.equal(bare.status, 400);
    assert.equal(bare.text, 'Job must be specified');
    const noId = await call(base, '/v1/jobs', { body: { Job: { Name: 'x' } } });
    assert.equal(noId.status, 400);
    assert.equal(noId.text, "Job ID hasn't been provided");
    const empty = await call(base, '/v1/jobs/parse', { body: { JobHCL: '' } });
    assert.equal(empty.status, 400);
    assert.equal(empty.text, 'Job spec is empty');
    const job = await jobFile('web.nomad.hcl');
    const parsed = await call<{ ID: string; TaskGroups: unknown[] }>(base, '/v1/jobs/parse', { body: { JobHCL: 'job "p" {\n  group "g" {\n    task "t" {\n      driver = "docker"\n      config {\n        image = "nginx:1.27.3"\n      }\n    }\n  }\n}\n', Canonicalize: true } });
    assert.equal(parsed.status, 200, parsed.text);
    assert.equal(parsed.body.ID, 'p', 'a bare job, not wrapped');
    const valid = await call<{ DriverConfigValidated: boolean; ValidationErrors: string[] | null; Error: string; Warnings: string }>(base, '/v1/validate/job', { body: { Job: job } });
    assert.equal(valid.status, 200);
    assert.deepEqual(keys(valid.body), ['DriverConfigValidated', 'Error', 'ValidationErrors', 'Warnings']);
    const invalid = await call<{ ValidationErrors: string[] }>(base, '/v1/validate/job', { body: { Job: { ...job, TaskGroups: [] } } });
    assert.equal(invalid.status, 200, 'validation problems come back as 200');
    assert.ok(invalid.body.ValidationErrors.length > 0);

    const reg = await call<Record<string, unknown>>(base, '/v1/jobs', { body: { Job: job } });
    assert.equal(reg.status, 200, reg.text);
    assert.deepEqual(keys(reg.body), ['EvalCreateIndex', 'EvalID', 'Index', 'JobModifyIndex', 'KnownLeader', 'LastContact', 'NextToken', 'Warnings']);
    assert.match(reg.body.EvalID as string, UUID);
    assert.ok(Number(reg.headers.get('x-nomad-index')) > 1);
    const e = await evalDone(base, reg.body.EvalID as string);
    assert.equal(e.Status, 'complete');
    webAllocs = await waitFor<Alloc[]>(base, '/v1/job/web/allocations', (l) => l.length === 3 && l.every((a) => a.ClientStatus === 'running'), 'web running');

    const list = (await getOk<Record<string, unknown>[]>(base, '/v1/jobs')).body;
    const stub = list.find((j) => j.ID === 'web') as Record<string, unknown>;
    assert.deepEqual(keys(stub), keys({ ID: 1, ParentID: 1, Name: 1, Namespace: 1, Datacenters: 1, NodePool: 1, Multiregion: 1, Type: 1, Priority: 1, Periodic: 1, ParameterizedJob: 1, Stop: 1, Status: 1, StatusDescription: 1, JobSummary: 1, CreateIndex: 1, ModifyIndex: 1, JobModifyIndex: 1, SubmitTime: 1 }));
    assert.equal(stub.Status, 'running');
    assert.deepEqual((stub.JobSummary as { Summary: Record<string, unknown> }).Summary.web, { Queued: 0, Complete: 0, Failed: 0, Running: 3, Starting: 0, Lost: 0, Unknown: 0 });
    assert.ok((stub.SubmitTime as number) > 1e18, 'SubmitTime in unix nanoseconds');
    assert.deepEqual((await getOk<unknown[]>(base, '/v1/jobs?prefix=zz')).body, [], 'empty lists are [] not null');
    const full = (await getOk<{ ID: string; Version: number; TaskGroups: unknown[]; Status: string }>(base, '/v1/job/web')).body;
    assert.equal(full.Version, 0);
    assert.equal(full.Status, 'running');
    assert.deepEqual((await getOk(base, '/v1/job/nope/allocations')).body, [], 'sub-resources of unknown jobs answer 200 []');
    assert.equal((await call(base, '/v1/job/nope/summary')).status, 404);
    const mismatch = await call(base, '/v1/job/other', { body: { Job: job } });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.text, 'Job ID does not match name');
  });

  test('§2.4 allocations: AllocListStub fields and TaskStates with events, full allocation, 404 "alloc not found"', async () => {
    const list = (await getOk<Record<string, unknown>[]>(base, '/v1/allocations')).body;
    const stub = list.find((a) => a.JobID === 'web') as Record<string, unknown>;
    hasFields(stub, ['ID', 'EvalID', 'Name', 'Namespace', 'NodeID', 'NodeName', 'JobID', 'JobType', 'JobVersion', 'TaskGroup', 'DesiredStatus', 'DesiredDescription', 'ClientStatus', 'ClientDescription', 'DesiredTransition', 'TaskStates', 'DeploymentStatus', 'FollowupEvalID', 'NextAllocation', 'RescheduleTracker', 'PreemptedAllocations', 'PreemptedByAllocation', 'CreateIndex', 'ModifyIndex', 'CreateTime', 'ModifyTime'], 'AllocListStub');
    assert.ok(!('Job' in stub), 'stubs carry no Job');
    assert.match(stub.Name as string, /^web\.web\[\d\]$/);
    const ts = (stub.TaskStates as Record<string, { State: string; StartedAt: string; FinishedAt: null; Events: { Type: string; Time: number; DisplayMessage: string }[] }>)['http-echo'];
    assert.ok(ts);
    assert.equal(ts.State, 'running');
    assert.ok(!Number.isNaN(Date.parse(ts.StartedAt)), 'StartedAt is RFC3339');
    assert.equal(ts.FinishedAt, null);
    assert.deepEqual(ts.Events.map((e) => e.Type), ['Received', 'Task Setup', 'Driver', 'Started']);
    assert.equal(ts.Events[0]?.DisplayMessage, 'Task received by client');
    assert.ok((ts.Events[0]?.Time ?? 0) > 1e18, 'event Time in unix nanoseconds');
    const full = (await getOk<Record<string, unknown>>(base, `/v1/allocation/${stub.ID as string}`)).body;
    hasFields(full, ['Job', 'AllocatedResources', 'Metrics', 'DeploymentID', 'PreviousAllocation', 'AllocModifyIndex', 'Resources', 'TaskResources'], 'Allocation');
    const nf = await call(base, '/v1/allocation/00000000-0000-0000-0000-000000000000');
    assert.equal(nf.status, 404);
    assert.equal(nf.text, 'alloc not found');
    const byPrefix = (await getOk<unknown[]>(base, `/v1/allocations?prefix=${(stub.ID as string).slice(0, 6)}`)).body;
    assert.equal(byPrefix.length, 1);
    const evals = (await getOk<Record<string, unknown>[]>(base, '/v1/job/web/evaluations')).body;
    hasFields(evals[0] as object, ['ID', 'Priority', 'Type', 'TriggeredBy', 'Namespace', 'JobID', 'JobModifyIndex', 'NodeID', 'DeploymentID', 'Status', 'StatusDescription', 'NextEval', 'PreviousEval', 'BlockedEval', 'FailedTGAllocs', 'QueuedAllocations', 'CreateIndex', 'ModifyIndex', 'CreateTime', 'ModifyTime'], 'Evaluation');
    assert.equal((await call(base, '/v1/evaluation/00000000-0000-0000-0000-000000000000')).text, 'eval not found');
    const deployment = (await getOk<Record<string, unknown>>(base, '/v1/job/web/deployment')).body;
    hasFields(deployment, ['ID', 'Namespace', 'JobID', 'JobVersion', 'JobModifyIndex', 'JobSpecModifyIndex', 'JobCreateIndex', 'IsMultiregion', 'TaskGroups', 'Status', 'StatusDescription', 'CreateIndex', 'ModifyIndex'], 'Deployment');
    assert.ok((await getOk<unknown[]>(base, '/v1/deployments')).body.length >= 1);
  });

  test('§2.5 logs: validation errors, plain text, framed JSON with base64 Data, origin=end with offset', async () => {
    const a = webAllocs[0] as Alloc;
    const noTask = await call(base, `/v1/client/fs/logs/${a.ID}?type=stderr`);
    assert.equal(noTask.status, 400);
    assert.equal(noTask.text, 'must provide task name');
    const noType = await call(base, `/v1/client/fs/logs/${a.ID}?task=http-echo`);
    assert.equal(noType.text, 'must provide log type (stdout/stderr)');
    const badOrigin = await call(base, `/v1/client/fs/logs/${a.ID}?task=http-echo&type=stderr&origin=middle`);
    assert.equal(badOrigin.text, 'origin must be start or end');
    const plain = await call(base, `/v1/client/fs/logs/${a.ID}?task=http-echo&type=stderr&plain=true`);
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(plain.text, /server is listening on :5678/);
    const framed = await call<{ Data: string; File: string; Offset: number }>(base, `/v1/client/fs/logs/${a.ID}?task=http-echo&type=stderr`);
    assert.match(framed.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(framed.body.File, 'alloc/logs/http-echo.stderr.0');
    assert.equal(Buffer.from(framed.body.Data, 'base64').toString(), plain.text);
    assert.equal(framed.body.Offset, Buffer.byteLength(plain.text));
    const tail = await call(base, `/v1/client/fs/logs/${a.ID}?task=http-echo&type=stderr&plain=true&origin=end&offset=6`);
    assert.equal(tail.text, plain.text.slice(-6));
  });

  test('§1.1 a blocking query returns at once on change and otherwise waits up to `wait`', async () => {
    const first = await getOk(base, '/v1/jobs');
    const index = Number(first.headers.get('x-nomad-index'));
    // No change: the query waits for its `wait`, then answers with the same index.
    const quiet = await getOk(base, `/v1/jobs?index=${index}&wait=300ms`);
    assert.equal(Number(quiet.headers.get('x-nomad-index')), index, 'no change, same index');
    // A change while waiting: the query answers with the new index.
    let changedAt = 0;
    const waiting = getOk(base, `/v1/jobs?index=${index}&wait=5m`).then((r) => ({ r, at: Date.now() }));
    const job = await jobFile('web.nomad.hcl');
    job.ID = 'blocker';
    job.Name = 'blocker';
    changedAt = Date.now();
    await register(base, job);
    const { r, at } = await waiting;
    assert.ok(Number(r.headers.get('x-nomad-index')) > index, 'the index moved');
    assert.ok(at >= changedAt, 'it returned after the change');
    assert.ok((r.body as { ID: string }[]).some((j) => j.ID === 'blocker'));
    assert.equal((await call(base, '/v1/jobs?index=1&wait=forever')).text, 'Invalid wait time');
    assert.equal((await call(base, '/v1/jobs?index=abc')).text, 'Invalid index');
  });

  test('§2.7 the event stream sends {} at once and delivers an allocation update', async () => {
    const lines: Record<string, unknown>[] = [];
    let onLine: (() => void) | undefined;
    const req = http.get(`${base}/v1/event/stream?topic=Allocation:*`);
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    let buf = '';
    res.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
        buf = buf.slice(i + 1);
        onLine?.();
      }
    });
    const next = (pred: (l: Record<string, unknown>) => boolean) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit) {
            onLine = undefined;
            resolve(hit);
          }
        };
        onLine = check;
        check();
      });
    const hb = await next(() => true);
    assert.deepEqual(hb, {}, 'a heartbeat first');
    const target = webAllocs[1] as Alloc;
    await call(base, `/v1/client/allocation/${target.ID}/restart`, { body: { TaskName: 'http-echo' } });
    const line = await next((l) => Array.isArray(l.Events) && (l.Events as { Key: string }[]).some((e) => e.Key === target.ID));
    const event = (line.Events as Record<string, unknown>[]).find((e) => e.Key === target.ID) as Record<string, unknown>;
    assert.deepEqual(keys(event), ['FilterKeys', 'Index', 'Key', 'Namespace', 'Payload', 'Topic', 'Type']);
    assert.equal(event.Topic, 'Allocation');
    assert.equal(event.Type, 'AllocationUpdated');
    assert.equal(event.Index, line.Index);
    const payload = (event.Payload as { Allocation: Record<string, unknown> }).Allocation;
    assert.equal(payload.ID, target.ID);
    assert.ok(!('Job' in payload), 'the Job field is stripped from allocation events');
    assert.ok((event.FilterKeys as string[]).includes('web'));
    req.destroy();
    const bad = await call(base, '/v1/event/stream?topic=Bogus');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /^Invalid topic query: /);
  });

  test('§2.4 restart and stop an allocation; stop and purge a job (§3 job status)', async () => {
    const restarted = await waitFor<Alloc>(base, `/v1/allocation/${webAllocs[1]?.ID}`, (a) => a.TaskStates?.['http-echo']?.Restarts === 1 && a.TaskStates['http-echo'].State === 'running', 'the restarted task running');
    assert.ok(restarted.TaskStates?.['http-echo']?.Events.some((e) => e.Type === 'Restart Signaled'));
    const stop = await call<{ EvalID: string; Index: number }>(base, `/v1/allocation/${webAllocs[0]?.ID}/stop`, { body: {} });
    assert.equal(stop.status, 200);
    assert.deepEqual(keys(stop.body), ['EvalID', 'Index']);
    const after = await waitFor<Alloc[]>(base, '/v1/job/web/allocations', (l) => live(l).length === 3 && live(l).every((a) => a.ClientStatus === 'running') && l.some((a) => a.ID === webAllocs[0]?.ID && a.ClientStatus === 'complete'), 'a replacement');
    assert.ok(!live(after).some((a) => a.ID === webAllocs[0]?.ID));
    const del = await call<Record<string, unknown>>(base, '/v1/job/web', { method: 'DELETE' });
    assert.equal(del.status, 200);
    hasFields(del.body, ['EvalID', 'EvalCreateIndex', 'JobModifyIndex', 'VolumeEvalID', 'VolumeEvalIndex', 'Index'], 'deregister response');
    const stopped = await waitFor<{ Stop: boolean; Status: string }>(base, '/v1/job/web', (j) => j.Status === 'dead', 'web dead');
    assert.equal(stopped.Stop, true);
    const allocs = (await getOk<Alloc[]>(base, '/v1/job/web/allocations')).body;
    assert.ok(allocs.every((a) => a.DesiredStatus === 'stop'));
    assert.equal((await call(base, '/v1/job/web?purge=true', { method: 'DELETE' })).status, 200);
    assert.equal((await call(base, '/v1/job/web')).status, 404);
  });

  test('§1 ACL: 403 "Permission denied" without a token, "ACL token not found" for a wrong one', async () => {
    const secured = await startTestCluster({ nomadAclToken: 'secret-token' });
    try {
      assert.equal((await call(secured.nomadUrl, '/v1/status/leader')).status, 200, 'status needs no token');
      const none = await call(secured.nomadUrl, '/v1/jobs');
      assert.equal(none.status, 403);
      assert.equal(none.text, 'Permission denied');
      const wrong = await call(secured.nomadUrl, '/v1/jobs', { headers: { 'X-Nomad-Token': 'nope' } });
      assert.equal(wrong.text, 'ACL token not found');
      assert.equal((await call(secured.nomadUrl, '/v1/jobs', { headers: { 'X-Nomad-Token': 'secret-token' } })).status, 200);
      assert.equal((await call(secured.nomadUrl, '/v1/jobs', { headers: { Authorization: 'Bearer secret-token' } })).status, 200);
    } finally {
      await secured.close();
    }
  });

  test('admin API: injected failures and latency, then back to normal', async () => {
    const set = await call(base, '/_lab/faults', { body: { errorRate: 1, status: 503, message: 'lab: unavailable', target: 'nomad' } });
    assert.equal(set.status, 200, set.text);
    const failing = await call(base, '/v1/nodes');
    assert.equal(failing.status, 503);
    assert.equal(failing.text, 'lab: unavailable');
    assert.equal((await call(base, '/_lab/faults', { body: { errorRate: 2 } })).status, 400);
    await call(base, '/_lab/faults', { method: 'DELETE' });
    assert.equal((await call(base, '/v1/nodes')).status, 200);
    const summary = (await getOk<{ nodes: unknown[]; zones: string[] }>(base, '/_lab/')).body;
    assert.equal(summary.nodes.length, 9);
    assert.deepEqual(summary.zones.sort(), ['europe-west1-b', 'europe-west1-c']);
  });
});
