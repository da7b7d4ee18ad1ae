import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConsulClient, NomadClient } from '../../src/cluster';
import { createSolutionApplier, faultRequest, varFileText, workspacePath } from '../../src/labs';

test('faults map onto the lab cluster admin API', () => {
  assert.deepEqual(faultRequest({ type: 'zoneOutage', zone: 'europe-west1-c' }), { method: 'POST', path: '/zone/europe-west1-c/outage' });
  assert.deepEqual(faultRequest({ type: 'zoneRestore', zone: 'europe-west1-c' }), { method: 'DELETE', path: '/zone/europe-west1-c/outage' });
  assert.deepEqual(faultRequest({ type: 'nodeDown', node: 'nomad-client-b-1' }), { method: 'POST', path: '/node/nomad-client-b-1/down' });
  assert.deepEqual(faultRequest({ type: 'advanceImageTags' }), { method: 'POST', path: '/images/advance' });
  assert.deepEqual(faultRequest({ type: 'dockerVolumes', enabled: true, datacenter: 'dc1' }), {
    method: 'POST',
    path: '/docker',
    body: { volumes: true, privileged: true, datacenter: 'dc1' },
  });
  assert.deepEqual(faultRequest({ type: 'dockerVolumes', enabled: false, node: 'n1' }), { method: 'POST', path: '/node/n1/docker', body: { volumes: false, privileged: false } });
  assert.equal(varFileText({ consul_image: 'hashicorp/consul:1.19.2' }), 'consul_image = "hashicorp/consul:1.19.2"\n');
});

test('editFile replaces text or writes a file inside the workspace, and says clearly when it cannot', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'labs-apply-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'jobs'));
  writeFileSync(path.join(root, 'jobs', 'web.nomad.hcl'), 'count = 3\n');
  // Nothing listens on port 9: the file actions must not need the cluster.
  const applier = createSolutionApplier({ nomad: new NomadClient({ baseUrl: 'http://127.0.0.1:9' }), consul: new ConsulClient({ baseUrl: 'http://127.0.0.1:9' }), workspaceRoot: root });
  assert.equal(await applier.apply({ kind: 'editFile', path: 'jobs/web.nomad.hcl', replace: [{ find: 'count = 3', with: 'count = 5' }] }), 'edited jobs/web.nomad.hcl');
  assert.equal(readFileSync(path.join(root, 'jobs', 'web.nomad.hcl'), 'utf8'), 'count = 5\n');
  await applier.apply({ kind: 'editFile', path: 'jobs/new/x.nomad.hcl', content: 'job "x" {}\n' });
  assert.equal(readFileSync(path.join(root, 'jobs', 'new', 'x.nomad.hcl'), 'utf8'), 'job "x" {}\n');
  await assert.rejects(applier.apply({ kind: 'editFile', path: 'jobs/web.nomad.hcl', replace: [{ find: 'count = 9', with: 'x' }] }), /does not contain "count = 9"/);
  await assert.rejects(applier.apply({ kind: 'editFile', path: '../outside.txt', content: 'x' }), /outside the workspace/);
  await assert.rejects(applier.apply({ kind: 'labFault', fault: { type: 'advanceImageTags' } }), /no lab admin API/);
  await assert.rejects(applier.apply({ kind: 'runJob', file: 'jobs/nope.nomad.hcl' }), /jobs\/nope\.nomad\.hcl does not exist/);
  assert.throws(() => workspacePath(root, '/etc/passwd'), /outside the workspace/);
});
