/**
 * Job files against a real lab cluster over HTTP, as the editor commands use them: a syntax
 * error lands on its line and column, a job too big for the nodes plans as a placement failure
 * in `nomad job plan` wording, and a valid file runs and places its allocations.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClusterHttpError, ClusterModel, NomadClient } from '../../src/cluster';
import { allocationNode, allocationRoots, groupAllocations, jobGroups, jobNode } from '../../src/views';
import { formatPlan, isJobFile, jobBlockLine, problemsFromParseError, problemsFromValidation } from '../../src/jobs';
import { startLabCluster, type LabCluster } from '../../src/labcluster';

const jobText = (name: string) => fs.readFileSync(path.join(__dirname, '..', '..', 'jobs', name), 'utf8');

async function parseError(nomad: NomadClient, hcl: string): Promise<string> {
  try {
    await nomad.parseJob(hcl);
  } catch (err) {
    assert.ok(err instanceof ClusterHttpError, String(err));
    assert.equal(err.status, 400);
    return err.body;
  }
  assert.fail('the job parsed');
}

describe('job files against the lab cluster', () => {
  let lab: LabCluster;
  let nomad: NomadClient;
  before(async () => {
    lab = await startLabCluster({ host: '127.0.0.1', nomadPort: 0, consulPort: 0, consulJob: false });
    nomad = new NomadClient({ baseUrl: lab.nomadUrl });
  });
  after(() => lab?.close());

  test('a syntax error lands on its line and column (1-based in Nomad, 0-based for the editor)', async () => {
    const broken = jobText('web.nomad.hcl').replace(/count = 3/, 'count = ');
    const line = broken.split('\n').findIndex((l) => /count = $/.test(l));
    const problems = problemsFromParseError(await parseError(nomad, broken));
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.line, line, JSON.stringify(problems[0]));
    assert.match(problems[0]!.message, /^Invalid expression/);
  });

  test('an unknown argument is reported where it is written', async () => {
    const broken = jobText('web.nomad.hcl').replace(/count = 3/, 'cuont = 3');
    const line = broken.split('\n').findIndex((l) => l.includes('cuont'));
    const [problem] = problemsFromParseError(await parseError(nomad, broken));
    assert.equal(problem!.line, line);
    assert.equal(problem!.column, broken.split('\n')[line]!.indexOf('cuont'));
    assert.match(problem!.message, /Unsupported argument; An argument named "cuont"/);
  });

  test('validation errors sit on the job line', async () => {
    const job = await nomad.parseJob(jobText('web.nomad.hcl'));
    (job as unknown as { TaskGroups: { Tasks: { Driver: string }[] }[] }).TaskGroups[0]!.Tasks[0]!.Driver = '';
    const problems = problemsFromValidation(await nomad.validateJob(job), 3);
    assert.ok(problems.some((p) => p.severity === 'error' && /driver/i.test(p.message)), JSON.stringify(problems));
    assert.ok(problems.every((p) => p.line === 3));
  });

  test('a job too big for every node plans as a placement failure, worded like nomad job plan', async () => {
    const huge = jobText('web.nomad.hcl').replace(/memory\s*=\s*64/, 'memory = 900000');
    const job = await nomad.parseJob(huge);
    const text = formatPlan(job.ID, await nomad.planJob(job, { diff: true })).text;
    assert.match(text, /^\+ Job: "web"/);
    assert.match(text, /- WARNING: Failed to place all allocations\./);
    assert.match(text, /\n {2}Task Group "web" \(failed to place 3 allocations\):\n {4}\* Resources exhausted on \d+ nodes\n {4}\* Dimension "memory" exhausted on \d+ nodes\n/);
  });

  test('a valid file plans cleanly, runs, shows in the Allocations view, and a change plans as a destructive update', async (t) => {
    const model = new ClusterModel({ nomad, useEventStream: true });
    model.start();
    t.after(() => model.dispose());
    const job = await nomad.parseJob(jobText('web.nomad.hcl'));
    const first = formatPlan(job.ID, await nomad.planJob(job, { diff: true }));
    assert.match(first.text, /^\+ Job: "web"\n\+ Task Group: "web" \(3 create\)\n {2}\+ Task: "http-echo" \(forces create\)\n/);
    assert.match(first.text, /- All tasks successfully allocated\./);
    assert.equal(first.disruptive, 0);
    await nomad.registerJob(job, { enforceIndex: (await nomad.planJob(job)).JobModifyIndex });
    // The view's rows come from the model, which follows the cluster by itself.
    await model.waitFor((m) => m.getAllocations('default/web').filter((a) => a.clientStatus === 'running').length === 3, 'three running web allocations');
    const roots = allocationRoots({ state: 'connected' }, model);
    assert.equal(roots.kind, 'jobs');
    const web = model.getJob('default/web')!;
    assert.equal(jobNode(web).description, 'service · running · 3 running');
    assert.deepEqual(jobGroups(model, web, {}), ['web']);
    const rows = groupAllocations(model, 'default/web', 'web', {}).shown.map((a) => allocationNode(a, Date.now()));
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.equal(row.contextValue, 'alloc:running');
      assert.match(row.description!, /^running · \S+ · europe-west1-[bc] · \d+s$/);
    }
    const changed = await nomad.parseJob(jobText('web.nomad.hcl').replace(/memory\s*=\s*64/, 'memory = 96'));
    const second = formatPlan(changed.ID, await nomad.planJob(changed, { diff: true }));
    assert.match(second.text, /^\+\/- Job: "web"\n\+\/- Task Group: "web" \(3 create\/destroy update\)\n/);
    assert.match(second.text, /\+\/- Resources \{\n.*MemoryMB: "64" => "96"/s);
    assert.equal(second.disruptive, 3, second.text);
  });

  test('job files are recognised by name, and the job block is found', () => {
    assert.ok(isJobFile('jobs/web.nomad.hcl') && isJobFile('old.nomad') && !isJobFile('main.tf'));
    assert.equal(jobBlockLine('# comment\n\njob "web" {\n}\n'), 2);
  });
});
