/**
 * NomadClient and ConsulClient against a fake server with documented response shapes:
 * tokens, errors that name the wrong field, HTTP errors with Nomad's wording, blocking
 * queries, the event stream, logs and the job actions; the blocking-query loop's index rules.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ClusterError,
  ClusterHttpError,
  ConsulClient,
  NomadClient,
  ResponseShapeError,
  watchBlocking,
  type NomadEventBatch,
  type QueryResult,
} from '../../src/cluster';
import { FakeCluster, allocation, consulCheck, consulMember, jobStub, nodeStub } from './cluster-fixture';

describe('cluster clients', () => {
  let fake: FakeCluster;
  let nomad: NomadClient;
  let consul: ConsulClient;

  before(async () => {
    fake = await new FakeCluster().start();
    const n1 = nodeStub(1, 'dc1');
    fake.nodes = [n1, nodeStub(2, 'dc1')];
    fake.jobs = [jobStub('web', ['frontend'])];
    for (let i = 0; i < 5; i++) fake.allocs.set(`a${i}`, allocation(i, 'web', 'frontend', n1));
    fake.consulMembers = [consulMember('consul-server-1', '10.0.1.5', 'consul'), consulMember('client-1', '10.0.0.11', 'node')];
    fake.consulServices = { consul: [], web: ['v1'] };
    fake.consulChecks = [consulCheck('client-1', 'web', 'web-1', 'passing')];
    nomad = new NomadClient({ baseUrl: fake.url, token: 'nomad-secret' });
    consul = new ConsulClient({ baseUrl: `${fake.url}/consul`, token: 'consul-secret' });
  });

  after(() => fake.close());

  test('reads typed data and sends the ACL tokens', async () => {
    const members = await nomad.members();
    assert.equal(members.Members?.length, 3);
    assert.equal(await nomad.leader(), '10.0.0.6:4647');
    assert.deepEqual(await nomad.peers(), fake.peers);
    const nodes = await nomad.nodes();
    assert.equal(nodes.index, fake.index);
    assert.deepEqual(
      nodes.data.map((n) => n.Name),
      ['client-1', 'client-2'],
    );
    const allocs = await nomad.allocations();
    assert.equal(allocs.data.length, 5);
    assert.equal(allocs.data[0]!.TaskStates?.['web']?.State, 'running');
    assert.equal(fake.requests.find((r) => r.path === '/v1/nodes')!.headers['x-nomad-token'], 'nomad-secret');
    assert.equal(fake.requests.find((r) => r.path === '/v1/allocations')!.query.get('namespace'), '*');

    assert.equal((await consul.members())[1]!.Tags?.['role'], 'node');
    assert.deepEqual((await consul.services()).data, { consul: [], web: ['v1'] });
    assert.equal((await consul.healthState('any')).data[0]!.Status, 'passing');
    assert.equal(fake.requests.find((r) => r.path === '/consul/v1/catalog/services')!.headers['x-consul-token'], 'consul-secret');
  });

  test('a malformed response is an error that names the field', async () => {
    const broken = [...fake.allocs.values()].map((a) => structuredClone(a));
    (broken[3]!['TaskStates'] as Record<string, Record<string, unknown>>)['web']!['State'] = 7;
    fake.overrides.push((req, res) => {
      if (req.path !== '/v1/allocations') return false;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(broken));
      return true;
    });
    try {
      await assert.rejects(nomad.allocations(), (err: Error) => {
        assert.ok(err instanceof ResponseShapeError);
        assert.equal(err.message, 'Nomad /v1/allocations: [3].TaskStates.web.State: expected string, received number');
        return true;
      });
    } finally {
      fake.overrides.pop();
    }

    const nodes = fake.nodes.map((n) => ({ ...n }));
    delete nodes[1]!['Status'];
    fake.overrides.push((req, res) => {
      if (req.path !== '/v1/nodes') return false;
      res.end(JSON.stringify(nodes));
      return true;
    });
    try {
      await assert.rejects(nomad.nodes(), /^ResponseShapeError: Nomad \/v1\/nodes: \[1\]\.Status: missing \(expected string\)$/);
    } finally {
      fake.overrides.pop();
    }

    fake.overrides.push((req, res) => {
      if (req.path !== '/consul/v1/agent/members') return false;
      res.end(JSON.stringify([{ ...fake.consulMembers[0], Status: 'alive' }]));
      return true;
    });
    try {
      await assert.rejects(consul.members(), /Consul \/v1\/agent\/members: \[0\]\.Status: expected number, received string/);
    } finally {
      fake.overrides.pop();
    }

    fake.overrides.push((req, res) => {
      if (req.path !== '/v1/status/leader') return false;
      res.end('<html>proxy error</html>');
      return true;
    });
    try {
      await assert.rejects(nomad.leader(), /Nomad \/v1\/status\/leader: the body is not JSON/);
    } finally {
      fake.overrides.pop();
    }
  });

  test('HTTP errors carry the status and the server message', async () => {
    fake.overrides.push((req, res) => {
      if (req.path !== '/v1/jobs') return false;
      res.statusCode = 403;
      res.end('Permission denied');
      return true;
    });
    try {
      await assert.rejects(nomad.jobs(), (err: Error) => {
        assert.ok(err instanceof ClusterHttpError);
        assert.equal(err.status, 403);
        assert.equal(err.message, 'Nomad GET /v1/jobs: 403 Permission denied');
        return true;
      });
    } finally {
      fake.overrides.pop();
    }
    assert.equal(await nomad.job('nope'), undefined, 'a missing job is undefined, not an error');
  });

  test('an address where nothing listens is "unreachable"', async () => {
    const srv = http.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const dead = new NomadClient({ baseUrl: `http://127.0.0.1:${port}` });
    await assert.rejects(dead.leader(), (err: Error) => {
      assert.ok(err instanceof ClusterError);
      assert.equal(err.kind, 'unreachable');
      assert.match(err.message, /Nomad cannot be reached \(connection refused\)/);
      return true;
    });
  });

  test('a blocking query returns when the state changes', async () => {
    const first = await nomad.jobs();
    const waiting = nomad.jobs({ index: first.index, waitSeconds: 30 });
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'it waits while nothing changes');
    fake.jobs = [...fake.jobs, jobStub('batch', ['work'], { Type: 'batch' })];
    const changedAt = fake.bump();
    const next = await waiting;
    assert.equal(next.index, changedAt);
    assert.deepEqual(
      next.data.map((j) => j.ID),
      ['web', 'batch'],
    );
    const req = fake.requests.filter((r) => r.path === '/v1/jobs').at(-1)!;
    assert.equal(req.query.get('index'), String(first.index));
    assert.equal(req.query.get('wait'), '30s');
  });

  test('a blocking query can be aborted', async () => {
    const first = await nomad.nodes();
    const controller = new AbortController();
    const waiting = nomad.nodes({ index: first.index, waitSeconds: 60, signal: controller.signal });
    controller.abort();
    await assert.rejects(waiting, (err: Error) => err instanceof ClusterError && err.kind === 'aborted');
  });

  test('the event stream yields heartbeats and event batches', async () => {
    const controller = new AbortController();
    const seen: NomadEventBatch[] = [];
    const n1 = fake.nodes[0]!;
    const reading = (async () => {
      for await (const batch of nomad.events({ topics: ['Allocation'], index: fake.index + 1, signal: controller.signal })) {
        seen.push(batch);
        if (seen.length === 1) fake.upsertAllocation(allocation(42, 'web', 'frontend', n1, { ClientStatus: 'pending' }), 'AllocationCreated');
        if (!batch.heartbeat) controller.abort();
      }
    })();
    await reading;
    assert.equal(seen[0]!.heartbeat, true);
    const batch = seen[1]!;
    assert.ok(!batch.heartbeat);
    assert.equal(batch.events[0]!.Type, 'AllocationCreated');
    assert.equal((batch.events[0]!.Payload['Allocation'] as { ClientStatus: string }).ClientStatus, 'pending');
    const req = fake.requests.filter((r) => r.path === '/v1/event/stream').at(-1)!;
    assert.deepEqual(req.query.getAll('topic'), ['Allocation:*']);
    assert.equal(req.query.get('namespace'), '*');
  });

  test('logs stream as plain text and keep following', async () => {
    let resFollow: http.ServerResponse | undefined;
    fake.overrides.push((req, res) => {
      if (!req.path.startsWith('/v1/client/fs/logs/')) return false;
      assert.equal(req.query.get('plain'), 'true');
      assert.equal(req.query.get('task'), 'web');
      assert.equal(req.query.get('type'), 'stderr');
      res.setHeader('content-type', 'text/plain');
      res.write('line 1\n');
      resFollow = res;
      return true;
    });
    try {
      const controller = new AbortController();
      const stream = await nomad.logs('abc', { task: 'web', type: 'stderr', follow: true, signal: controller.signal });
      let text = '';
      await new Promise<void>((resolve) => {
        stream.on('data', (c: Buffer) => {
          text += c.toString();
          if (text === 'line 1\n') resFollow!.write('line 2\n');
          if (text.endsWith('line 2\n')) resolve();
        });
      });
      assert.equal(text, 'line 1\nline 2\n');
      stream.on('error', () => undefined);
      controller.abort();
    } finally {
      fake.overrides.pop();
      resFollow?.end();
    }
  });

  test('actions send what Nomad expects', async () => {
    const bodies: Record<string, { method: string; query: string; body: unknown }> = {};
    fake.overrides.push((req, res) => {
      const key = req.path;
      bodies[key] = { method: req.method, query: req.query.toString(), body: req.body ? JSON.parse(req.body) : undefined };
      res.setHeader('content-type', 'application/json');
      if (key.endsWith('/restart')) res.end('{}');
      else if (key.endsWith('/stop')) res.end('{"EvalID":"e1","Index":54}');
      else if (key === '/v1/job/web' && req.method === 'DELETE') res.end('{"EvalID":"e2","EvalCreateIndex":55,"JobModifyIndex":55,"Index":55}');
      else if (key === '/v1/jobs/parse') res.end(JSON.stringify({ ID: 'web', Name: 'web', Type: 'service', TaskGroups: [{ Name: 'frontend', Count: 2, Tasks: [{ Name: 'nginx' }] }] }));
      else if (key === '/v1/validate/job') res.end('{"DriverConfigValidated":true,"ValidationErrors":["Missing job datacenters"],"Error":"1 error occurred","Warnings":""}');
      else if (key === '/v1/job/web/plan')
        res.end(
          JSON.stringify({
            JobModifyIndex: 0,
            Warnings: '',
            Index: 0,
            Annotations: { DesiredTGUpdates: { frontend: { Place: 2, Stop: 0, Ignore: 0 } } },
            FailedTGAllocs: null,
            Diff: { Type: 'Added', ID: 'web', Fields: [], Objects: [], TaskGroups: [] },
            CreatedEvals: null,
          }),
        );
      else if (key === '/v1/jobs') res.end('{"EvalID":"e3","EvalCreateIndex":60,"JobModifyIndex":60,"Warnings":"","Index":60}');
      else return false;
      return true;
    });
    try {
      await nomad.restartAllocation('a-1');
      assert.deepEqual(bodies['/v1/client/allocation/a-1/restart']!.body, { AllTasks: true });
      await nomad.restartAllocation('a-1', { task: 'web' });
      assert.deepEqual(bodies['/v1/client/allocation/a-1/restart']!.body, { TaskName: 'web' });
      assert.deepEqual(await nomad.stopAllocation('a-1'), { EvalID: 'e1', Index: 54 });
      assert.equal((await nomad.stopJob('web', { purge: true })).EvalID, 'e2');
      assert.equal(bodies['/v1/job/web']!.method, 'DELETE');
      assert.equal(bodies['/v1/job/web']!.query, 'namespace=default&purge=true');

      const job = await nomad.parseJob('job "web" {\n}\n');
      assert.deepEqual(bodies['/v1/jobs/parse']!.body, { JobHCL: 'job "web" {\n}\n', Canonicalize: true });
      assert.equal((job['TaskGroups'] as unknown as { Tasks: unknown[] }[])[0]!.Tasks.length, 1, 'parsed jobs keep every field');
      const validation = await nomad.validateJob(job);
      assert.deepEqual(validation.ValidationErrors, ['Missing job datacenters']);
      assert.deepEqual((bodies['/v1/validate/job']!.body as { Job: unknown }).Job, job);
      const plan = await nomad.planJob(job);
      assert.equal(plan.Annotations?.DesiredTGUpdates?.['frontend']?.Place, 2);
      assert.deepEqual(bodies['/v1/job/web/plan']!.body, { Job: job, Diff: true });
      assert.equal((await nomad.registerJob(job)).EvalID, 'e3');
      assert.deepEqual(bodies['/v1/jobs']!.body, { Job: job });
    } finally {
      fake.overrides.pop();
    }
  });
});

describe('watchBlocking', () => {
  test('follows the index, resets when it goes backwards, backs off on errors', async () => {
    const script: (number | Error)[] = [5, 5, 7, new Error('boom'), 3, 4];
    const asked: number[] = [];
    const changes: number[] = [];
    const errors: string[] = [];
    let recovered = 0;
    const controller = new AbortController();
    const watch = watchBlocking<string>({
      query: async (index): Promise<QueryResult<string>> => {
        asked.push(index);
        const next = script.shift();
        if (next === undefined) {
          controller.abort();
          return { data: 'end', index };
        }
        if (next instanceof Error) throw next;
        // The same index twice means the wait ran out: answer later, as a server would.
        if (next === index) await new Promise((r) => setTimeout(r, 60));
        return { data: `at ${next}`, index: next };
      },
      onChange: (_data, index) => changes.push(index),
      onError: (err) => errors.push(err.message),
      onRecovered: () => recovered++,
      backoff: { initialMs: 1, maxMs: 5 },
      signal: controller.signal,
    });
    await watch.done;
    assert.deepEqual(asked, [0, 5, 5, 7, 7, 0, 4]);
    assert.deepEqual(changes, [5, 7, 3, 4], 'an unchanged index is not a change; a backwards one is');
    assert.deepEqual(errors, ['boom']);
    assert.equal(recovered, 1);
  });
});
