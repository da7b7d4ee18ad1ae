/**
 * Unit tests of the lab cluster's building blocks: constraint operators as Nomad's
 * scheduler/feasible.go checks them, Go duration parsing for `wait`, the index store's
 * event-driven blocking, and the workshop topology (nomad-consul-api reference §1.1, §2.2, §4).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConstraint, checkVersion, constraintString } from '../../src/labcluster/constraints';
import { parseBlocking, parseGoDurationMs, HttpError } from '../../src/labcluster/http';
import { IndexStore } from '../../src/labcluster/store';
import { buildNodes, defaultTopology } from '../../src/labcluster/topology';
import { goDurationString, runCommand } from '../../src/labcluster/tasks';
import { compileFilter } from '../../src/labcluster/filter';

const nodes = buildNodes(defaultTopology, 'unit', 1);
const client = nodes.find((n) => n.Datacenter === 'dc1')!;
const server = nodes.find((n) => n.Datacenter === 'sys1')!;
const c = (LTarget: string, Operand: string, RTarget = '') => ({ LTarget, Operand, RTarget });

describe('lab cluster topology', () => {
  test('3 servers in sys1 and 3 clients per zone in dc1, zones in platform.gce.zone', () => {
    assert.equal(nodes.filter((n) => n.Datacenter === 'sys1').length, 3);
    assert.equal(nodes.filter((n) => n.Datacenter === 'dc1').length, 6);
    const zones = nodes.filter((n) => n.Datacenter === 'dc1').map((n) => n.Attributes['platform.gce.zone']);
    assert.equal(zones.filter((z) => z === 'europe-west1-b').length, 3);
    assert.equal(zones.filter((z) => z === 'europe-west1-c').length, 3);
    assert.equal(new Set(nodes.map((n) => n.ID)).size, nodes.length);
    assert.deepEqual(buildNodes(defaultTopology, 'unit', 1).map((n) => n.ID), nodes.map((n) => n.ID), 'node IDs are stable for a stack name');
  });
});

describe('constraints (scheduler/feasible.go checkConstraint)', () => {
  test('targets resolve node fields, attributes and meta', () => {
    assert.ok(checkConstraint(c('${node.datacenter}', '=', 'dc1'), client));
    assert.ok(!checkConstraint(c('${node.datacenter}', '=', 'dc1'), server));
    assert.ok(checkConstraint(c('${node.unique.name}', '==', client.Name), client));
    assert.ok(checkConstraint(c('${attr.kernel.name}', 'is', 'linux'), client));
    assert.ok(checkConstraint(c('${meta.role}', '!=', 'client'), server));
    assert.ok(checkConstraint(c('${node.class}', '!=', 'gpu'), client));
  });
  test('ordering, regexp, version/semver and sets', () => {
    assert.ok(checkConstraint(c('${attr.cpu.numcores}', '>=', '2'), client));
    assert.ok(!checkConstraint(c('${attr.cpu.numcores}', '>', '2'), client));
    assert.ok(checkConstraint(c('${attr.platform.gce.zone}', 'regexp', '^europe-west1-[bc]$'), client));
    assert.ok(checkConstraint(c('${attr.nomad.version}', 'version', '>= 1.6, < 2.0'), client));
    assert.ok(!checkConstraint(c('${attr.nomad.version}', 'semver', '< 1.9.0'), client));
    assert.ok(checkVersion('1.4.2', '~> 1.4'));
    assert.ok(!checkVersion('2.0.0', '~> 1.4'));
    assert.ok(checkConstraint(c('${attr.driver.docker.runtimes}', 'set_contains', 'runc'), client));
    assert.ok(checkConstraint(c('${attr.driver.docker.runtimes}', 'set_contains_any', 'crun,runc'), client));
    assert.ok(!checkConstraint(c('${attr.driver.docker.runtimes}', 'set_contains', 'crun,runc'), client));
  });
  test('is_set / is_not_set and missing attributes', () => {
    assert.ok(checkConstraint(c('${attr.platform.gce.zone}', 'is_set'), client));
    assert.ok(checkConstraint(c('${attr.driver.docker.volumes.enabled}', 'is_not_set'), client));
    assert.ok(!checkConstraint(c('${attr.driver.docker.volumes.enabled}', '=', 'true'), client));
    assert.equal(constraintString(c('${attr.kernel.name}', '=', 'windows')), '${attr.kernel.name} = windows');
  });
});

describe('blocking query parameters (§1.1)', () => {
  test('Go durations', () => {
    assert.equal(parseGoDurationMs('5m'), 300_000);
    assert.equal(parseGoDurationMs('1m30s'), 90_000);
    assert.equal(parseGoDurationMs('250ms'), 250);
    assert.equal(parseGoDurationMs('10'), null);
    assert.equal(parseGoDurationMs('abc'), null);
    assert.equal(goDurationString(15e9), '15s');
    assert.equal(goDurationString(30 * 60e9), '30m0s');
  });
  test('defaults 5m, caps at 10m, rejects bad values with Nomad’s messages', () => {
    assert.deepEqual(parseBlocking(new URLSearchParams('')), { index: 0, waitMs: 300_000 });
    assert.deepEqual(parseBlocking(new URLSearchParams('index=7&wait=1h')), { index: 7, waitMs: 600_000 });
    assert.throws(() => parseBlocking(new URLSearchParams('wait=soon')), (e: HttpError) => e.status === 400 && e.message === 'Invalid wait time');
    assert.throws(() => parseBlocking(new URLSearchParams('index=-1')), (e: HttpError) => e.message === 'Invalid index');
  });
});

describe('index store', () => {
  test('a waiter wakes on a write to its table, not on other tables, and times out otherwise', async () => {
    const store = new IndexStore();
    const start = store.tableIndex(['jobs']);
    let woke = false;
    const waiting = store.waitForChange(['jobs'], start, 60_000).then(() => (woke = true));
    store.write(['nodes']);
    await new Promise((r) => setImmediate(r));
    assert.equal(woke, false, 'a write to another table does not wake it');
    const idx = store.write(['jobs']);
    await waiting;
    assert.equal(store.tableIndex(['jobs']), idx);
    await store.waitForChange(['jobs'], idx, 20);
    assert.equal(store.tableIndex(['jobs']), idx, 'timed out without a change');
  });
  test('events are buffered for replay from an index and delivered to subscribers', () => {
    const store = new IndexStore();
    const got: number[] = [];
    const off = store.subscribe((b) => got.push(b.index));
    const i1 = store.write(['allocs'], [{ Topic: 'Allocation', Type: 'AllocationUpdated', Key: 'a', Namespace: 'default', FilterKeys: null, Payload: {} }]);
    off();
    store.write(['allocs'], [{ Topic: 'Allocation', Type: 'AllocationUpdated', Key: 'b', Namespace: 'default', FilterKeys: null, Payload: {} }]);
    assert.deepEqual(got, [i1]);
    assert.deepEqual(store.eventsSince(i1).map((b) => b.events[0]?.Key), ['b']);
  });
});

describe('command containers', () => {
  test('a shell script echoes and runs for its sleeps; loops keep running', () => {
    const run = runCommand('sh', ['-c', 'echo counting on $(hostname); sleep 5; echo done'], { HOSTNAME: 'abc' });
    assert.deepEqual(run.stdout, ['counting on abc', 'done']);
    assert.equal(run.seconds, 5);
    assert.equal(runCommand('sh', ['-c', 'while true; do sleep 1; done'], {}).seconds, Infinity);
    assert.equal(runCommand('sh', ['-c', 'exit 3'], {}).exitCode, 3);
  });
});

describe('?filter= expressions (go-bexpr subset)', () => {
  const alloc = { ClientStatus: 'running', JobID: 'web', Job: { Meta: { owner: 'ana' } }, Tags: ['a', 'b'], TaskStates: {}, Attributes: { 'platform.gce.zone': 'europe-west1-b' } };
  const f = (expr: string) => compileFilter(expr)(alloc);
  test('comparisons, collections, regexps and boolean logic', () => {
    assert.ok(f('ClientStatus == "running"'));
    assert.ok(!f('ClientStatus != running'));
    assert.ok(f('Job.Meta.owner == "ana" and JobID matches "^we"'));
    assert.ok(f('Attributes["platform.gce.zone"] == "europe-west1-b"'));
    assert.ok(f('"a" in Tags and Tags not contains "c"'));
    assert.ok(f('TaskStates is empty or not (JobID == "web")'));
    assert.ok(f('Missing is empty'));
  });
  test('a malformed expression is a 400', () => {
    assert.throws(() => compileFilter('ClientStatus =='), (e: HttpError) => e.status === 400 && /^failed to read filter expression/.test(e.message));
    assert.throws(() => compileFilter('(JobID == "x"'), (e: HttpError) => e.status === 400);
  });
});
