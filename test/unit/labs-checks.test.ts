import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocationFromNomad,
  evaluateCheck,
  imagesInJobFile,
  jobFromNomad,
  judgeImage,
  memberFromConsul,
  nodeFromNomad,
  parseCheck,
  serviceInstanceFromConsul,
  type Check,
  type ClusterReader,
  type SchemaIssue,
} from '../../src/labs';

// ------------------------------------------------------------------ fixture cluster (Nomad/Consul JSON shapes)

const zoneB = 'europe-west1-b';
const zoneC = 'europe-west1-c';

function node(name: string, dc: string, zone: string, extra: Record<string, unknown> = {}, attrs: Record<string, string> = {}) {
  return {
    ID: `${name}-0000-4000-8000-000000000000`.replace(/[^a-z0-9-]/g, ''),
    Name: name,
    Datacenter: dc,
    Status: 'ready',
    SchedulingEligibility: 'eligible',
    Drain: false,
    Attributes: { 'platform.gce.zone': zone, 'driver.docker': '1', ...attrs },
    ...extra,
  };
}

const nodes = [
  node('nomad-server-1', 'sys1', zoneB),
  node('nomad-server-2', 'sys1', zoneC),
  node('nomad-server-3', 'sys1', zoneB),
  node('nomad-client-b-1', 'dc1', zoneB, {}, { 'driver.docker.volumes.enabled': 'true' }),
  node('nomad-client-b-2', 'dc1', zoneB, { SchedulingEligibility: 'ineligible' }, { 'driver.docker.volumes.enabled': 'true' }),
  node('nomad-client-c-1', 'dc1', zoneC),
  node('nomad-client-c-2', 'dc1', zoneC, { Status: 'down' }),
];
const nodeId = (name: string) => nodes.find((n) => n.Name === name)!.ID;

function job(id: string, groups: { name: string; count?: number; image?: string }[], extra: Record<string, unknown> = {}) {
  return {
    ID: id,
    Type: 'service',
    Status: 'running',
    Stop: false,
    Datacenters: ['dc1'],
    TaskGroups: groups.map((g) => ({ Name: g.name, Count: g.count ?? 1, Tasks: [{ Name: g.name, Driver: 'docker', Config: { image: g.image ?? 'nginx:1.27.3' } }] })),
    ...extra,
  };
}

let created = 0;
function alloc(jobId: string, group: string, index: number, nodeName: string, clientStatus: string, extra: Record<string, unknown> = {}, events: Record<string, unknown>[] = []) {
  return {
    ID: `alloc-${++created}`,
    Name: `${jobId}.${group}[${index}]`,
    JobID: jobId,
    TaskGroup: group,
    NodeID: nodeId(nodeName),
    NodeName: nodeName,
    ClientStatus: clientStatus,
    DesiredStatus: 'run',
    CreateTime: created * 1000,
    TaskStates: { [group]: { State: clientStatus === 'running' ? 'running' : 'dead', Failed: clientStatus === 'failed', Events: events } },
    ...extra,
  };
}

const pullFailed = [
  { Type: 'Received', DisplayMessage: 'Task received by client' },
  { Type: 'Driver Failure', DisplayMessage: 'Failed to pull `nginx:9.9.9`: manifest unknown', FailsTask: true },
];

const jobs = [
  job('web', [{ name: 'web', count: 3 }]),
  job('consul', [{ name: 'server' }, { name: 'client' }], { Type: 'system', Datacenters: ['sys1', 'dc1'] }),
  job('menu', [{ name: 'api', count: 2, image: 'openkitchen/menu-api:1.4' }]),
  job('pinned', [{ name: 'api', image: 'openkitchen/menu-api:1.4.1' }]),
  job('old', [{ name: 'x' }], { Status: 'dead', Stop: true }),
];

const allocs = [
  alloc('web', 'web', 0, 'nomad-client-b-1', 'running'),
  alloc('web', 'web', 1, 'nomad-client-c-1', 'failed', {}, pullFailed),
  alloc('web', 'web', 2, 'nomad-client-c-2', 'running'), // on a node that is down
  alloc('consul', 'server', 0, 'nomad-server-1', 'running'),
  alloc('consul', 'server', 0, 'nomad-server-2', 'running'),
  alloc('consul', 'server', 0, 'nomad-server-3', 'failed', {}, [
    { Type: 'Terminated', DisplayMessage: 'Exit Code: 1, Exit Message: "bind: address already in use"', ExitCode: 1 },
    { Type: 'Not Restarting', DisplayMessage: 'Exceeded allowed attempts 2 in interval 30m0s and mode is "fail"', FailsTask: true },
  ]),
  alloc('menu', 'api', 0, 'nomad-client-b-1', 'running'),
  alloc('menu', 'api', 1, 'nomad-client-c-1', 'complete', { DesiredStatus: 'stop' }),
  alloc('menu', 'api', 1, 'nomad-client-c-1', 'running'),
  alloc('pinned', 'api', 0, 'nomad-client-b-1', 'running', { DesiredStatus: 'stop' }), // being stopped
];

const members = [
  { Name: 'nomad-server-1', Addr: '10.132.0.2', Port: 8301, Status: 1, Tags: { role: 'consul', dc: 'sys1' } },
  { Name: 'nomad-server-2', Addr: '10.132.0.3', Port: 8301, Status: 1, Tags: { role: 'consul', dc: 'sys1' } },
  { Name: 'nomad-server-3', Addr: '10.132.0.4', Port: 8301, Status: 4, Tags: { role: 'consul', dc: 'sys1' } },
  { Name: 'nomad-client-b-1', Addr: '10.132.0.10', Port: 8301, Status: 1, Tags: { role: 'node', dc: 'sys1' } },
];

function healthEntry(nodeName: string, status: string, output = '') {
  return {
    Node: { Node: nodeName, Address: '10.132.0.10' },
    Service: { ID: `_nomad-task-x-web-http-${nodeName}`, Service: 'web', Tags: ['workshop'], Address: '10.132.0.10', Port: 23456 },
    Checks: [
      { Name: 'Serf Health Status', Status: 'passing', Output: 'Agent alive and reachable' },
      { Name: "service: \"web\" check", Status: status, Output: output },
    ],
  };
}
const health: Record<string, unknown[]> = {
  web: [healthEntry('nomad-client-b-1', 'passing'), healthEntry('nomad-client-c-1', 'critical', 'dial tcp 10.132.0.13:23456: connect: connection refused')],
};

const files: Record<string, string> = {
  'jobs/menu.nomad.hcl': 'job "menu" {\n  group "api" {\n    task "api" {\n      config {\n        image = "openkitchen/menu-api:1.4"\n      }\n    }\n  }\n}\n',
  'jobs/consul.nomad.hcl': 'variable "consul_image" {\n  type    = string\n  default = "hashicorp/consul:1.19.2"\n}\njob "consul" {\n  group "server" {\n    task "consul" {\n      config {\n        image = var.consul_image\n      }\n    }\n  }\n}\n',
};

function fixtureReader(overrides: Partial<ClusterReader> = {}): ClusterReader & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async getJob(id) {
      calls.push(`job:${id}`);
      const j = jobs.find((x) => x.ID === id);
      return j ? jobFromNomad(j) : undefined;
    },
    async listAllocations(id) {
      calls.push(`allocs:${id}`);
      return allocs.filter((a) => a.JobID === id).map(allocationFromNomad);
    },
    async listNodes() {
      calls.push('nodes');
      return nodes.map(nodeFromNomad);
    },
    async consulMembers() {
      return members.map(memberFromConsul);
    },
    async consulLeader() {
      return '10.132.0.2:8300';
    },
    async consulHealth(name) {
      return (health[name] ?? []).map(serviceInstanceFromConsul);
    },
    async kvGet(key) {
      return ({ 'kitchen/cache/maxmemory': '64mb' } as Record<string, string>)[key];
    },
    async readWorkspaceFile(p) {
      return files[p];
    },
    async checkJobFile(p) {
      if (p === 'jobs/old.nomad') return { parsed: false, errors: ['Failed to parse job: jobs/old.nomad:39,9-10: Invalid argument name; Argument names must not be quoted.'], warnings: [] };
      if (p === 'jobs/system.nomad.hcl') return { parsed: true, jobId: 'sys', errors: ['Task group "g" has count 3: Count cannot exceed 1 with system scheduler'], warnings: [] };
      if (p === 'jobs/menu.nomad.hcl') return { parsed: true, jobId: 'menu', errors: [], warnings: ['1 warning(s): task network resources have been deprecated'] };
      return undefined;
    },
    ...overrides,
  };
}

function check(raw: unknown): Check {
  const issues: SchemaIssue[] = [];
  const c = parseCheck(raw, issues);
  assert.deepEqual(issues, []);
  return c!;
}

async function run(raw: unknown, reader: ClusterReader = fixtureReader()) {
  return evaluateCheck(check(raw), reader);
}

// ------------------------------------------------------------------ tests

test('jobStatus: running, absent, stopped and unknown jobs, with the failing allocations named', async () => {
  assert.deepEqual(await run({ jobStatus: { job: 'web', status: 'running' } }), { ok: true, summary: 'job "web" is running', details: [] });
  const missing = await run({ jobStatus: { job: 'nope', status: 'running' } });
  assert.equal(missing.ok, false);
  assert.equal(missing.summary, 'job "nope" is not registered in Nomad yet');
  assert.equal((await run({ jobStatus: { job: 'nope', status: 'absent' } })).ok, true);
  const stopped = await run({ jobStatus: { job: 'old', status: 'running' } });
  assert.equal(stopped.summary, 'job "old" is dead (stopped), not running');
  assert.match(stopped.details[0], /stopped; run it again/);
  const still = await run({ jobStatus: { job: 'web', status: 'absent' } });
  assert.equal(still.ok, false);
  assert.match(still.details[0], /nomad job stop -purge web/);
});

test('runningAllocs: counts per zone and explains what is missing and why', async () => {
  const r = await run({ runningAllocs: { job: 'web', count: 3 } });
  assert.equal(r.ok, false);
  assert.equal(r.summary, 'job "web" has 1 of 3 allocations running', 'the allocation on a down node does not count');
  assert.ok(r.details.includes('web.web[1] on nomad-client-c-1 (europe-west1-c) is failed: Failed to pull `nginx:9.9.9`: manifest unknown'), r.details.join('\n'));

  const zone = await run({ runningAllocs: { job: 'web', zone: zoneC, min: 1 } });
  assert.equal(zone.ok, false);
  assert.equal(zone.summary, 'job "web" has 0 of at least 1 allocations running in europe-west1-c');
  assert.ok(zone.details.includes('running per zone: europe-west1-b: 1'), zone.details.join('\n'));

  assert.equal((await run({ runningAllocs: { job: 'web', zone: zoneB, count: 1 } })).ok, true);
  assert.equal((await run({ runningAllocs: { job: 'consul', group: 'server', datacenter: 'sys1', count: 2 } })).ok, true);
  assert.equal((await run({ runningAllocs: { job: 'menu', count: 2 } })).summary, 'job "menu" has 2 allocations running', 'a stopped old copy does not count');
  const tooMany = await run({ runningAllocs: { job: 'menu', max: 1 } });
  assert.equal(tooMany.summary, 'job "menu" has 2 allocations running (at most 1 expected)');
  const noGroup = await run({ runningAllocs: { job: 'web', group: 'api', min: 1 } });
  assert.equal(noGroup.summary, 'job "web" has no group "api"');
  assert.deepEqual(noGroup.details, ['its groups: web']);
  assert.equal((await run({ runningAllocs: { job: 'web', node: 'nomad-client-b-1', count: 1 } })).ok, true);
});

test('allocations: by client status', async () => {
  assert.equal((await run({ runningAllocs: { job: 'pinned', count: 0 } })).ok, true, 'Nomad no longer wants it running');
  const stopping = await run({ allocations: { job: 'pinned', status: 'running', count: 0 } });
  assert.deepEqual([stopping.ok, stopping.summary], [false, 'job "pinned" has 1 allocation running (0 expected)'], 'but it has not stopped yet');
  const failed = await run({ allocations: { job: 'web', status: 'failed', min: 1 } });
  assert.deepEqual([failed.ok, failed.summary], [true, 'job "web" has 1 allocation failed']);
  const none = await run({ allocations: { job: 'menu', status: 'failed', min: 1 } });
  assert.deepEqual([none.ok, none.summary], [false, 'job "menu" has 0 of at least 1 allocations failed']);
});

test('nodeEligibility and nodeCount', async () => {
  const e = await run({ nodeEligibility: { node: 'nomad-client-b-2', eligible: true } });
  assert.equal(e.ok, false);
  assert.equal(e.summary, 'node nomad-client-b-2 is still ineligible for scheduling');
  assert.match(e.details[0], /nomad node eligibility -enable nomad-cl/);
  assert.equal((await run({ nodeEligibility: { node: 'nomad-client-b-2', eligible: false } })).ok, true);
  const unknown = await run({ nodeEligibility: { node: 'nomad-client-x', eligible: false } });
  assert.equal(unknown.summary, 'no Nomad node is called "nomad-client-x"');

  assert.equal((await run({ nodeCount: { datacenter: 'sys1', count: 3 } })).ok, true);
  const dc1 = await run({ nodeCount: { datacenter: 'dc1', zone: zoneC, min: 2 } });
  assert.equal(dc1.ok, false);
  assert.equal(dc1.summary, '1 of at least 2 Nomad nodes in dc1 in europe-west1-c are ready');
  assert.deepEqual(dc1.details, ['nomad-client-c-2 (europe-west1-c) is down']);
  assert.equal((await run({ nodeCount: { datacenter: 'dc1', status: 'down', count: 1 } })).ok, true);
  const tooMany = await run({ nodeCount: { datacenter: 'dc1', eligible: false, count: 0 } });
  assert.deepEqual([tooMany.ok, tooMany.summary], [false, '1 Nomad node in dc1 (ineligible) is ready (0 expected)']);
  assert.deepEqual(tooMany.details, ['nomad-client-b-2 (europe-west1-b) is ready'], 'too many: the offending nodes are named');
});

test('nodeAttribute: every ready node in scope by default, naming the ones without it', async () => {
  const r = await run({ nodeAttribute: { attribute: 'driver.docker.volumes.enabled', equals: 'true', datacenter: 'dc1' } });
  assert.equal(r.ok, false);
  assert.equal(r.summary, '2 of 3 ready nodes in dc1 have driver.docker.volumes.enabled = true (3 expected)');
  assert.deepEqual(r.details, ['nomad-client-c-1: driver.docker.volumes.enabled is not set']);
  assert.equal((await run({ nodeAttribute: { attribute: 'driver.docker.volumes.enabled', equals: 'true', datacenter: 'dc1', zone: zoneB } })).ok, true);
  assert.equal((await run({ nodeAttribute: { attribute: 'platform.gce.zone', matches: '^europe-', min: 6 } })).ok, true);
});

test('consulMembers: says how many are alive and which one is failing, and why from Nomad', async () => {
  const r = await run({ consulMembers: { role: 'server', alive: 3, job: 'consul', group: 'server' } });
  assert.equal(r.ok, false);
  assert.equal(r.summary, '2 of 3 Consul servers are alive; the one on nomad-server-3 is failing');
  assert.ok(r.details.includes('nomad-server-3 (10.132.0.4): member status failed'));
  assert.ok(
    r.details.includes('consul.server[0] on nomad-server-3 (europe-west1-b) is failed: Exit Code: 1, Exit Message: "bind: address already in use"'),
    r.details.join('\n'),
  );
  assert.equal((await run({ consulMembers: { role: 'client', min: 1 } })).ok, true);
  const down = await run(
    { consulMembers: { role: 'server', alive: 3 } },
    fixtureReader({
      consulMembers: async () => {
        throw new Error('Consul GET /v1/agent/members: Consul cannot be reached (connection refused)');
      },
    }),
  );
  assert.equal(down.ok, false);
  assert.match(down.summary, /^Consul does not answer yet: is the Consul job running\?/);
});

test('consulLeader', async () => {
  assert.equal((await run({ consulLeader: {} })).ok, true);
  assert.equal((await run({ consulLeader: null })).ok, true);
  const none = await run({ consulLeader: {} }, fixtureReader({ consulLeader: async () => '' }));
  assert.equal(none.summary, 'Consul has no leader yet');
  assert.match(none.details[0], /2 Consul servers are alive/);
});

test('consulService: passing instances, with the failing check output', async () => {
  const r = await run({ consulService: { name: 'web', passing: 2 } });
  assert.equal(r.ok, false);
  assert.equal(r.summary, 'service "web" has 1 of 2 wanted instances passing in Consul (2 registered)');
  assert.deepEqual(r.details, ['web on nomad-client-c-1 (10.132.0.10:23456): check "service: \\"web\\" check" is critical: dial tcp 10.132.0.13:23456: connect: connection refused']);
  assert.equal((await run({ consulService: { name: 'web' } })).ok, true);
  assert.equal((await run({ consulService: { name: 'web', tag: 'nope' } })).summary, 'service "web" (tag "nope") is not registered in Consul');
  assert.equal((await run({ consulService: { name: 'db', passing: 1 } })).summary, 'service "db" is not registered in Consul');
});

test('kvValue: equals, matches, exists', async () => {
  const r = await run({ kvValue: { key: 'kitchen/cache/maxmemory', equals: '128mb' } });
  assert.deepEqual([r.ok, r.summary], [false, 'Consul KV key "kitchen/cache/maxmemory" is "64mb", expected "128mb"']);
  assert.equal((await run({ kvValue: { key: 'kitchen/cache/maxmemory', matches: '^\\d+mb$' } })).ok, true);
  const unset = await run({ kvValue: { key: 'kitchen/welcome', equals: 'hi' } });
  assert.equal(unset.summary, 'Consul KV key "kitchen/welcome" is not set yet');
  assert.deepEqual(unset.details, ['set it: consul kv put kitchen/welcome hi']);
  assert.equal((await run({ kvValue: { key: 'kitchen/welcome', exists: false } })).ok, true);
  assert.equal((await run({ kvValue: { key: 'kitchen/cache/maxmemory', exists: true } })).ok, true);
});

test('fileContains and fileMatches read workspace files', async () => {
  const c = await run({ fileContains: { path: 'jobs/menu.nomad.hcl', text: 'menu-api:1.4.1' } });
  assert.deepEqual([c.ok, c.summary], [false, 'jobs/menu.nomad.hcl does not contain "menu-api:1.4.1" yet']);
  const m = await run({ fileMatches: { path: 'jobs/menu.nomad.hcl', pattern: 'image\\s*=\\s*"[^"]+:1\\.4"' } });
  assert.deepEqual([m.ok, m.summary], [true, 'jobs/menu.nomad.hcl matches /image\\s*=\\s*"[^"]+:1\\.4"/ (line 5: "image = \\"openkitchen/menu-api:1.4\\"")']);
  assert.equal((await run({ fileMatches: { path: 'jobs/nope.hcl', pattern: 'x' } })).summary, 'jobs/nope.hcl does not exist');
});

test('jobImagePinned: moving tags fail with the reason, full versions and digests pass', async () => {
  const running = await run({ jobImagePinned: { job: 'menu' } });
  assert.equal(running.ok, false);
  assert.equal(running.summary, 'job "menu" runs openkitchen/menu-api:1.4, a moving tag');
  assert.match(running.details[0], /^task "api": "openkitchen\/menu-api:1\.4" uses the tag "1\.4", which upstream re-pushes with every 1\.4\.x release/);
  assert.equal((await run({ jobImagePinned: { job: 'pinned' } })).summary, 'job "pinned" pins its image (openkitchen/menu-api:1.4.1) to a version');
  assert.equal((await run({ jobImagePinned: { file: 'jobs/menu.nomad.hcl' } })).ok, false);
  assert.equal((await run({ jobImagePinned: { file: 'jobs/consul.nomad.hcl' } })).ok, true, 'var.consul_image resolves to its default');

  assert.equal(judgeImage('nginx').pinned, false);
  assert.match(judgeImage('nginx').reason, /no tag/);
  assert.equal(judgeImage('nginx:latest').pinned, false);
  assert.equal(judgeImage('registry:5000/team/app').pinned, false, 'a registry port is not a tag');
  assert.equal(judgeImage('registry:5000/team/app:2.0.1').pinned, true);
  assert.equal(judgeImage('redis:7.2.5-alpine').pinned, true);
  assert.equal(judgeImage('nginx:stable').pinned, false);
  assert.equal(judgeImage('app@sha256:abc').pinned, true);
  assert.deepEqual(imagesInJobFile(files['jobs/menu.nomad.hcl']), [{ task: 'api', image: 'openkitchen/menu-api:1.4' }]);
});

test('all / any / not compose, and the explanation lists what is missing and what is done', async () => {
  const all = await run({
    all: [{ jobStatus: { job: 'web', status: 'running' } }, { runningAllocs: { job: 'web', count: 3 } }, { kvValue: { key: 'kitchen/welcome', exists: true } }],
  });
  assert.equal(all.ok, false);
  assert.equal(all.summary, 'job "web" has 1 of 3 allocations running; Consul KV key "kitchen/welcome" is not set yet');
  assert.ok(all.details.includes('done: job "web" is running'));
  assert.equal(all.children?.length, 3);

  const any = await run({ any: [{ runningAllocs: { job: 'web', zone: zoneC, min: 1 } }, { runningAllocs: { job: 'web', zone: zoneB, min: 1 } }] });
  assert.equal(any.ok, true);
  const none = await run({ any: [{ jobStatus: { job: 'a', status: 'running' } }, { jobStatus: { job: 'b', status: 'running' } }] });
  assert.equal(none.summary, 'none of 2 alternatives holds yet');
  assert.deepEqual(none.details, ['either: job "a" is not registered in Nomad yet', 'either: job "b" is not registered in Nomad yet']);

  const not = await run({ not: { fileMatches: { path: 'jobs/menu.nomad.hcl', pattern: ':latest"' } } });
  assert.deepEqual([not.ok, not.summary], [true, 'jobs/menu.nomad.hcl does not match /:latest"/']);
  const notFail = await run({ not: { jobStatus: { job: 'web', status: 'running' } } });
  assert.deepEqual([notFail.ok, notFail.summary], [false, 'this should not be so: job "web" is running']);
});

test('one evaluation reads each thing once; reader errors become a failed check, not an exception', async () => {
  const reader = fixtureReader();
  await evaluateCheck(check({ all: [{ runningAllocs: { job: 'web', count: 3 } }, { runningAllocs: { job: 'web', zone: zoneB, min: 1 } }, { jobStatus: { job: 'web', status: 'running' } }] }), reader);
  assert.deepEqual(reader.calls.sort(), ['allocs:web', 'job:web', 'nodes']);

  const broken = fixtureReader({
    getJob: async () => {
      throw new Error('Nomad GET /v1/job/web: Nomad cannot be reached (connection refused)');
    },
  });
  const r = await run({ jobStatus: { job: 'web', status: 'running' } }, broken);
  assert.deepEqual([r.ok, r.summary], [false, 'could not check: Nomad GET /v1/job/web: Nomad cannot be reached (connection refused)']);
});

test("jobFileValid: Nomad's own parse and validation errors, with the file named", async () => {
  const bad = await run({ jobFileValid: { path: 'jobs/old.nomad' } });
  assert.deepEqual([bad.ok, bad.summary], [false, 'jobs/old.nomad does not parse']);
  assert.deepEqual(bad.details, ['jobs/old.nomad:39,9-10: Invalid argument name; Argument names must not be quoted.']);
  const invalid = await run({ jobFileValid: { path: 'jobs/system.nomad.hcl' } });
  assert.deepEqual([invalid.ok, invalid.summary], [false, 'job "sys" in jobs/system.nomad.hcl does not validate']);
  const ok = await run({ jobFileValid: { path: 'jobs/menu.nomad.hcl' } });
  assert.deepEqual([ok.ok, ok.summary, ok.details], [true, 'jobs/menu.nomad.hcl parses and validates (job "menu")', ['1 warning(s): task network resources have been deprecated']]);
  assert.equal((await run({ jobFileValid: { path: 'jobs/none.hcl' } })).summary, 'jobs/none.hcl does not exist');
});
