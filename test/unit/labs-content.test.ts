import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { formatProblem, loadLabs, type Check } from '../../src/labs';

const root = path.resolve(__dirname, '..', '..');

function kinds(c: Check): string[] {
  if (c.kind === 'all' || c.kind === 'any') return c.checks.flatMap(kinds);
  if (c.kind === 'not') return kinds(c.check);
  return [c.kind];
}

test("the workshop's labs load without problems and cover the workshop", async () => {
  const { labs, problems } = await loadLabs({ dir: path.join(root, 'labs') });
  assert.deepEqual(problems.map(formatProblem), []);
  assert.ok(labs.length >= 8, `expected at least 8 labs, got ${labs.length}`);
  assert.deepEqual(
    labs.map((l) => l.id),
    ['connect-and-explore', 'consul-system-job', 'services-in-consul', 'zone-outage', 'pin-image-versions', 'inject-configuration', 'job-syntax', 'next-steps'],
  );
  assert.deepEqual(labs.filter((l) => l.optional).map((l) => l.id), ['next-steps']);
  for (const lab of labs) {
    assert.ok(lab.steps.length >= 2, `${lab.id} has at least two steps`);
    for (const step of lab.steps) {
      assert.ok(step.apply.length > 0, `${lab.id}/${step.id} has a machine-applicable solution`);
      assert.ok(step.instructions.length > 0, `${lab.id}/${step.id} has instructions`);
    }
  }
  const used = new Set(labs.flatMap((l) => l.steps.flatMap((s) => kinds(s.check))));
  for (const k of ['jobStatus', 'runningAllocs', 'allocations', 'nodeEligibility', 'nodeCount', 'nodeAttribute', 'consulMembers', 'consulLeader', 'consulService', 'kvValue', 'fileContains', 'fileMatches', 'jobImagePinned', 'jobFileValid']) {
    assert.ok(used.has(k), `some lab uses the ${k} check`);
  }
});
