/**
 * Allocation lifecycle details of the lab cluster over HTTP: following logs (nomad-consul-api
 * reference §2.5: frames and `{}` heartbeats, plain text), templates that read Consul KV
 * restarting their task on change (the cache job), job versions and revert, pagination (§1).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { LabCluster } from '../../src/labcluster';
import { call, getOk, jobFile, live, register, startTestCluster, waitFor, type Alloc } from './labcluster-fixture';

describe('lab cluster allocation lifecycle', () => {
  let lab: LabCluster;
  let base = '';

  before(async () => {
    lab = await startTestCluster({ name: 'life', logHeartbeatMs: 50 });
    base = lab.nomadUrl;
  });
  after(() => lab?.close());

  test('§2.5 following logs streams new output as it is written, with {} heartbeats in framed mode', async () => {
    await register(base, await jobFile('web.nomad.hcl'));
    const [a] = live(await waitFor<Alloc[]>(base, '/v1/job/web/allocations', (l) => live(l).length === 3 && live(l).every((x) => x.ClientStatus === 'running')));
    const req = http.get(`${base}/v1/client/fs/logs/${a?.ID}?task=http-echo&type=stderr&follow=true&origin=end&offset=0`);
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    assert.equal(res.statusCode, 200);
    let text = '';
    let resolveWhen: (() => void) | undefined;
    let want: RegExp | undefined;
    res.on('data', (c: Buffer) => {
      text += c.toString();
      if (want && want.test(text)) resolveWhen?.();
    });
    const until = (re: RegExp) =>
      new Promise<void>((resolve) => {
        want = re;
        resolveWhen = resolve;
        if (re.test(text)) resolve();
      });
    await until(/\{\}/);
    assert.ok(!/"Data"/.test(text), 'origin=end, offset=0 starts after the existing output');
    await call(base, `/v1/client/allocation/${a?.ID}/restart`, { body: { AllTasks: true } });
    await until(/"Data":"[^"]+"/);
    const frame = /\{"Offset":\d+,"Data":"([^"]+)","File":"alloc\/logs\/http-echo\.stderr\.0"\}/.exec(text);
    assert.ok(frame, text);
    assert.match(Buffer.from(frame[1] as string, 'base64').toString(), /server is listening/);
    req.destroy();
  });

  test('the cache template waits for Consul, then a KV change re-renders it and restarts the task (change_mode restart)', async () => {
    // Without Consul the template cannot render: the task waits, saying what it misses.
    await register(base, await jobFile('cache.nomad.hcl'));
    const waiting = await waitFor<Alloc[]>(base, '/v1/job/cache/allocations', (l) => l.some((x) => x.TaskStates?.redis?.Events.some((e) => e.Type === 'Template')), 'the template to wait for Consul');
    const missing = waiting[0]?.TaskStates?.redis?.Events.find((e) => e.Type === 'Template')?.DisplayMessage ?? '';
    assert.match(missing, /^Missing: kv\.block\(kitchen\/cache\/maxmemory\), kv\.block\(kitchen\/cache\/policy\)/);
    assert.equal(waiting[0]?.ClientStatus, 'pending');
    await register(base, await jobFile('consul.nomad.hcl'));
    await waitFor<Alloc[]>(base, '/v1/job/consul/allocations', (l) => l.filter((x) => x.ClientStatus === 'running').length === 9, 'consul running');
    const [cache] = live(await waitFor<Alloc[]>(base, '/v1/job/cache/allocations', (l) => live(l).some((x) => x.ClientStatus === 'running'), 'cache running'));
    const put = await call(lab.consulUrl, '/v1/kv/kitchen/cache/maxmemory', { method: 'PUT', body: '128mb' });
    assert.equal(put.text, 'true');
    const restarted = await waitFor<Alloc>(base, `/v1/allocation/${cache?.ID}`, (x) => x.TaskStates?.redis?.Restarts === 1 && x.TaskStates.redis.State === 'running', 'the redis task restarted');
    const messages = restarted.TaskStates?.redis?.Events.map((e) => e.DisplayMessage) ?? [];
    assert.ok(messages.includes('Template with change_mode restart re-rendered'), messages.join(' | '));
    // §2.5 fs: the rendered template is in the task's local/ folder.
    const root = (await getOk<{ Name: string; IsDir: boolean }[]>(base, `/v1/client/fs/ls/${cache?.ID}?path=/`)).body;
    assert.deepEqual(root.map((e) => [e.Name, e.IsDir]), [['alloc', true], ['redis', true]]);
    const local = (await getOk<{ Name: string; Size: number; FileMode: string; ModTime: string }[]>(base, `/v1/client/fs/ls/${cache?.ID}?path=/redis/local`)).body;
    assert.deepEqual(local.map((e) => e.Name), ['redis.conf']);
    const conf = await call(base, `/v1/client/fs/cat/${cache?.ID}?path=redis/local/redis.conf`);
    assert.match(conf.text, /# rendered by Nomad for cache\.cache\[0\]/);
    assert.match(conf.text, /maxmemory 128mb/);
    assert.match(conf.text, /maxmemory-policy allkeys-lru/, 'keyOrDefault falls back to its default');
    assert.equal((await call(base, `/v1/client/fs/stat/${cache?.ID}?path=/nope`)).status, 500);
  });

  test('job versions and revert', async () => {
    const job = await jobFile('web.nomad.hcl');
    job.Meta = { release: '2' };
    await register(base, job);
    const versions = (await getOk<{ Versions: { Version: number }[] }>(base, '/v1/job/web/versions')).body;
    assert.deepEqual(versions.Versions.map((v) => v.Version), [1, 0]);
    const r = await call<{ EvalID: string }>(base, '/v1/job/web/revert', { body: { JobID: 'web', JobVersion: 0 } });
    assert.equal(r.status, 200, r.text);
    const current = (await getOk<{ Version: number; Meta: Record<string, string> | null }>(base, '/v1/job/web')).body;
    assert.equal(current.Version, 2, 'a revert is a new version');
    assert.equal(current.Meta, null);
    const bad = await call(base, '/v1/job/web/revert', { body: { JobID: 'web', JobVersion: 99 } });
    assert.equal(bad.status, 400);
  });

  test('scaling a group places more allocations as a new job version', async () => {
    const before = (await getOk<{ Version: number }>(base, '/v1/job/web')).body.Version;
    const r = await call<{ EvalID: string }>(base, '/v1/job/web/scale', { body: { Count: 5, Target: { Group: 'web' } } });
    assert.equal(r.status, 200, r.text);
    await waitFor<Alloc[]>(base, '/v1/job/web/allocations', (l) => live(l).length === 5 && live(l).every((a) => a.ClientStatus === 'running'), 'five web allocations');
    const status = (await getOk<{ TaskGroups: Record<string, { Desired: number; Running: number }> }>(base, '/v1/job/web/scale')).body;
    assert.deepEqual([status.TaskGroups.web?.Desired, status.TaskGroups.web?.Running], [5, 5]);
    assert.equal((await getOk<{ Version: number }>(base, '/v1/job/web')).body.Version, before + 1);
    const bad = await call(base, '/v1/job/web/scale', { body: { Count: 2, Target: { Group: 'nope' } } });
    assert.equal(bad.status, 400);
  });

  test('§1 pagination: per_page and X-Nomad-NextToken', async () => {
    const first = await getOk<{ ID: string }[]>(base, '/v1/nodes?per_page=4');
    assert.equal(first.body.length, 4);
    const token = first.headers.get('x-nomad-nexttoken');
    assert.ok(token);
    const second = await getOk<{ ID: string }[]>(base, `/v1/nodes?per_page=4&next_token=${token}`);
    assert.equal(second.body[0]?.ID, token);
    const last = await getOk<{ ID: string }[]>(base, `/v1/nodes?per_page=4&next_token=${second.headers.get('x-nomad-nexttoken')}`);
    assert.equal(last.body.length, 1);
    assert.equal(last.headers.get('x-nomad-nexttoken'), null, 'no token on the last page');
    assert.equal((await call(base, '/v1/nodes?per_page=x')).status, 400);
  });

  test('§1 filtering with ?filter= runs against the full object', async () => {
    const zoneB = (await getOk<{ ID: string }[]>(base, `/v1/nodes?filter=${encodeURIComponent('Attributes["platform.gce.zone"] == "europe-west1-b" and Datacenter == "dc1"')}`)).body;
    assert.equal(zoneB.length, 3);
    const running = (await getOk<Alloc[]>(base, `/v1/allocations?filter=${encodeURIComponent('JobID == "consul" and TaskGroup == "server"')}`)).body;
    assert.equal(running.length, 3);
    const bad = await call(base, `/v1/jobs?filter=${encodeURIComponent('ID ==')}`);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /^failed to read filter expression/);
  });
});
