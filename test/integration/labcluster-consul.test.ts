/**
 * Contract tests of the lab cluster's Consul API (nomad-consul-api reference §5): Consul exists
 * only through the Consul agents Nomad runs. Before the Consul job there is no leader
 * (status/leader "" and catalog 500 "No cluster leader"); after it, members are the nodes running
 * its allocations with Consul's member shape, a leader is elected, and Nomad registers the
 * services of running allocations with health checks. KV and blocking queries follow §5.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabCluster } from '../../src/labcluster';
import { call, getOk, jobFile, live, register, startTestCluster, waitFor, type Alloc } from './labcluster-fixture';

interface Member {
  Name: string;
  Addr: string;
  Port: number;
  Status: number;
  Tags: Record<string, string>;
}

describe('lab cluster Consul API', () => {
  let lab: LabCluster;
  let nomad = '';
  let consul = '';

  before(async () => {
    lab = await startTestCluster({ name: 'consul' });
    nomad = lab.nomadUrl;
    consul = lab.consulUrl;
  });
  after(() => lab?.close());

  test('§5 before the Consul job runs: no leader, no members, catalog answers 500 "No cluster leader"', async () => {
    assert.equal((await getOk<string>(consul, '/v1/status/leader')).body, '');
    assert.deepEqual((await getOk(consul, '/v1/status/peers')).body, []);
    assert.deepEqual((await getOk(consul, '/v1/agent/members')).body, []);
    const services = await call(consul, '/v1/catalog/services');
    assert.equal(services.status, 500);
    assert.equal(services.text, 'No cluster leader');
    assert.equal((await call(consul, '/v1/kv/x')).status, 500);
  });

  test('§5 the Consul system job forms a cluster: members with int Status and role tags, a leader on :8300', async () => {
    await register(nomad, await jobFile('consul.nomad.hcl'));
    // status/leader does not block: wait on Nomad's allocations of the job instead.
    await waitFor<Alloc[]>(nomad, '/v1/job/consul/allocations', (l) => l.filter((a) => a.ClientStatus === 'running').length === 9, 'all agents running');
    const leader = (await getOk<string>(consul, '/v1/status/leader')).body;
    assert.match(leader, /^10\.132\.0\.\d+:8300$/);
    const members = (await getOk<Member[]>(consul, '/v1/agent/members')).body;
    assert.equal(members.length, 9);
    for (const m of members) {
      assert.equal(m.Status, 1, 'alive, as an int');
      assert.equal(m.Port, 8301);
    }
    const servers = members.filter((m) => m.Tags.role === 'consul');
    const clients = members.filter((m) => m.Tags.role === 'node');
    assert.equal(servers.length, 3);
    assert.equal(clients.length, 6);
    assert.ok(servers.every((s) => s.Tags.port === '8300' && s.Tags.expect === '3'));
    assert.ok(servers.some((s) => `${s.Addr}:8300` === leader));
    // The datacenter is what the job's -datacenter flags say (sys1 for servers and clients).
    assert.ok(members.every((m) => m.Tags.dc === 'sys1'));
    const peers = (await getOk<string[]>(consul, '/v1/status/peers')).body;
    assert.equal(peers.length, 3);
    // Nomad's consul fingerprinter now reports consul.* on the nodes running an agent.
    const node = (await getOk<{ Attributes: Record<string, string> }>(nomad, `/v1/node/${(await getOk<{ ID: string }[]>(nomad, '/v1/nodes')).body[0]?.ID}`)).body;
    assert.equal(node.Attributes['consul.datacenter'], 'sys1');
    assert.equal(node.Attributes['consul.version'], '1.19.2');
  });

  test('§5 catalog and health: Nomad registers running services with passing checks and serfHealth', async () => {
    const index0 = Number((await getOk(consul, '/v1/catalog/services')).headers.get('x-consul-index'));
    assert.ok(index0 >= 1);
    await register(nomad, await jobFile('web.nomad.hcl'));
    const services = await waitFor<Record<string, string[]>>(consul, '/v1/catalog/services', (s) => 'web' in s, 'web registered');
    assert.deepEqual(services.consul, []);
    assert.deepEqual(services.web?.sort(), ['http-echo', 'workshop']);
    const instances = await waitFor<Record<string, unknown>[]>(consul, '/v1/catalog/service/web', (l) => l.length === 3, 'three web instances');
    const first = instances[0] as Record<string, unknown>;
    for (const f of ['ID', 'Node', 'Address', 'Datacenter', 'TaggedAddresses', 'NodeMeta', 'ServiceID', 'ServiceName', 'ServiceAddress', 'ServicePort', 'ServiceTags', 'ServiceMeta', 'ServiceWeights', 'CreateIndex', 'ModifyIndex']) assert.ok(f in first, f);
    assert.match(first.ServiceID as string, /^_nomad-task-[0-9a-f-]{36}-group-web-web-http$/);
    assert.deepEqual(first.ServiceMeta, { 'external-source': 'nomad' });
    assert.ok((first.ServicePort as number) >= 20000);
    const health = await waitFor<{ Node: { Node: string }; Service: { Service: string; Port: number }; Checks: { CheckID: string; Status: string; Type: string }[] }[]>(consul, '/v1/health/service/web?passing', (l) => l.length === 3, 'three passing');
    for (const e of health) {
      assert.equal(e.Checks[0]?.CheckID, 'serfHealth');
      assert.ok(e.Checks.some((c) => c.Type === 'http' && c.Status === 'passing'));
    }
    const critical = (await getOk<unknown[]>(consul, '/v1/health/state/critical')).body;
    assert.deepEqual(critical, []);
    assert.equal((await call(consul, '/v1/health/state/bogus')).status, 400);
    const nodes = (await getOk<{ Node: string; Datacenter: string; TaggedAddresses: Record<string, string> }[]>(consul, '/v1/catalog/nodes')).body;
    assert.equal(nodes.length, 9);
    assert.ok(nodes.every((n) => n.TaggedAddresses.lan));
  });

  test('§5 a service check turns critical, then the instance goes, when its allocation fails', async () => {
    const job = await jobFile('web.nomad.hcl');
    const broken = JSON.parse(JSON.stringify(job)) as typeof job;
    broken.ID = 'brokenweb';
    broken.Name = 'brokenweb';
    const group = broken.TaskGroups[0] as (typeof broken.TaskGroups)[0];
    group.Count = 1;
    group.Services = [{ ...(group.Services?.[0] as object), Name: 'brokenweb' } as never];
    const task = group.Tasks[0] as (typeof group.Tasks)[0];
    task.Config = { image: 'openkitchen/menu-api:1.4.2', ports: ['http'], args: ['--listen', ':8080'] };
    await register(nomad, broken);
    await waitFor<{ Status: string; ServiceName: string }[]>(consul, '/v1/health/state/critical', (l) => l.some((c) => c.ServiceName === 'brokenweb'), 'a critical brokenweb check');
    const allocs = await waitFor<Alloc[]>(nomad, '/v1/job/brokenweb/allocations', (l) => l.some((a) => a.ClientStatus === 'failed'), 'the allocation to fail');
    const failedId = allocs.find((a) => a.ClientStatus === 'failed')?.ID as string;
    await waitFor<{ ServiceID: string }[]>(consul, '/v1/catalog/service/brokenweb', (l) => l.every((x) => !x.ServiceID.includes(failedId)), 'the failed instance deregistered');
  });

  test('§5 KV: PUT, GET with base64 Value, raw, recurse, keys, cas, DELETE, 404 for missing keys', async () => {
    assert.equal((await call(consul, '/v1/kv/kitchen/cache/maxmemory', { method: 'PUT', body: '128mb' })).text, 'true');
    await call(consul, '/v1/kv/kitchen/cache/policy', { method: 'PUT', body: 'allkeys-lru' });
    const one = await getOk<{ Key: string; Value: string; Flags: number; LockIndex: number; Session: string; CreateIndex: number; ModifyIndex: number }[]>(consul, '/v1/kv/kitchen/cache/maxmemory');
    assert.equal(one.body.length, 1, 'always an array');
    assert.equal(Buffer.from(one.body[0]?.Value ?? '', 'base64').toString(), '128mb');
    assert.ok(Number(one.headers.get('x-consul-index')) >= 1);
    assert.equal(one.headers.get('x-consul-knownleader'), 'true');
    const raw = await call(consul, '/v1/kv/kitchen/cache/maxmemory?raw');
    assert.equal(raw.text, '128mb');
    const rec = (await getOk<{ Key: string }[]>(consul, '/v1/kv/kitchen/?recurse')).body;
    assert.deepEqual(rec.map((p) => p.Key), ['kitchen/cache/maxmemory', 'kitchen/cache/policy']);
    assert.deepEqual((await getOk(consul, '/v1/kv/kitchen/?keys&separator=/')).body, ['kitchen/cache/']);
    const modify = one.body[0]?.ModifyIndex as number;
    assert.equal((await call(consul, `/v1/kv/kitchen/cache/maxmemory?cas=${modify + 1000}`, { method: 'PUT', body: 'x' })).text, 'false');
    assert.equal((await call(consul, `/v1/kv/kitchen/cache/maxmemory?cas=${modify}`, { method: 'PUT', body: '256mb' })).text, 'true');
    assert.equal((await call(consul, '/v1/kv/missing')).status, 404);
    // A blocking read on a key returns when it changes.
    const idx = Number((await getOk(consul, '/v1/kv/kitchen/cache/policy')).headers.get('x-consul-index'));
    const waiting = call<{ Value: string }[]>(consul, `/v1/kv/kitchen/cache/policy?index=${idx}&wait=5m`);
    await call(consul, '/v1/kv/kitchen/cache/policy', { method: 'PUT', body: 'volatile-lru' });
    const changed = await waiting;
    assert.equal(Buffer.from(changed.body[0]?.Value ?? '', 'base64').toString(), 'volatile-lru');
    assert.equal((await call(consul, '/v1/kv/kitchen/?recurse', { method: 'DELETE' })).text, 'true');
    assert.equal((await call(consul, '/v1/kv/kitchen/cache/policy')).status, 404);
  });

  test('§5 losing the server quorum loses the leader; catalog reads fail again', async () => {
    const servers = (await getOk<{ ID: string; Datacenter: string; Name: string }[]>(nomad, '/v1/nodes')).body.filter((n) => n.Datacenter === 'sys1');
    for (const s of servers.slice(0, 2)) await call(nomad, `/_lab/node/${s.Name}/down`, { method: 'POST', body: {} });
    // A node going down fails its agent at once (serf notices the missed probes).
    const members = (await getOk<Member[]>(consul, '/v1/agent/members')).body;
    assert.equal(members.filter((m) => m.Tags.role === 'consul' && m.Status === 4).length, 2, 'two servers failed (Status 4)');
    assert.equal((await getOk<string>(consul, '/v1/status/leader')).body, '');
    assert.equal((await call(consul, '/v1/catalog/services')).text, 'No cluster leader');
    for (const s of servers.slice(0, 2)) await call(nomad, `/_lab/node/${s.Name}/up`, { method: 'POST', body: {} });
    await waitFor<Alloc[]>(nomad, '/v1/job/consul/allocations', (l) => live(l).filter((a) => a.TaskGroup === 'server' && a.ClientStatus === 'running').length === 3, 'servers back');
    assert.notEqual((await getOk<string>(consul, '/v1/status/leader')).body, '');
  });
});
