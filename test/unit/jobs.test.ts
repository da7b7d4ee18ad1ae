/**
 * Job files without a cluster: Nomad's error texts mapped to editor ranges (0-based, end
 * exclusive), validation results as problems, and plans printed like `nomad job plan`.
 * The error texts are the ones Nomad's HCL2 jobspec parser writes (and the lab cluster copies).
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NomadPlanResponse } from '../../src/cluster/schemas';
import { formatAllocMetrics, formatPlan, isJobFile, jobBlockLine, problemsFromParseError, problemsFromValidation } from '../../src/jobs';

describe('parse errors become problems at their place', () => {
  test('a syntax error spanning into the next line: Nomad is 1-based, the editor 0-based', () => {
    const [p, ...rest] = problemsFromParseError('Failed to parse job: input.hcl:10,13-11,1: Invalid expression; Expected the start of an expression, but found an invalid expression token.');
    assert.equal(rest.length, 0);
    assert.deepEqual(p, {
      severity: 'error',
      message: 'Invalid expression; Expected the start of an expression, but found an invalid expression token.',
      line: 9,
      column: 12,
      endLine: 10,
      endColumn: 0,
    });
  });

  test('a range on one line keeps its columns; the count of further diagnostics is dropped from the message', () => {
    const [p] = problemsFromParseError('Failed to parse job: web.nomad.hcl:7,5-10: Unsupported argument; An argument named "cuont" is not expected here., and 2 other diagnostic(s)');
    assert.equal(p!.line, 6);
    assert.equal(p!.column, 4);
    assert.equal(p!.endLine, 6);
    assert.equal(p!.endColumn, 9);
    assert.equal(p!.message, 'Unsupported argument; An argument named "cuont" is not expected here.');
  });

  test('decoding errors, one per line, each become a problem', () => {
    const problems = problemsFromParseError(
      [
        'Failed to parse job: input.hcl:3,3-8: Missing required argument; The argument "driver" is required, but no definition was found.',
        'input.hcl:12,7-13: Unsupported block type; Blocks of type "netwrk" are not expected here.',
      ].join('\n'),
    );
    assert.deepEqual(
      problems.map((p) => [p.line, p.column, p.endColumn, p.message.split(';')[0]]),
      [
        [2, 2, 7, 'Missing required argument'],
        [11, 6, 12, 'Unsupported block type'],
      ],
    );
  });

  test('a single position (no end) still marks one character, so the squiggle is visible', () => {
    const [p] = problemsFromParseError('Failed to parse job: input.hcl:4,9: Argument or block definition required; An argument or block definition is required here.');
    assert.deepEqual([p!.line, p!.column, p!.endLine, p!.endColumn], [3, 8, 3, 9]);
  });

  test('an error without a position sits on the first line with the whole text', () => {
    const [p] = problemsFromParseError('Failed to parse job: <nil>: Invalid job; the job has no task groups');
    assert.deepEqual([p!.line, p!.column, p!.endLine, p!.endColumn], [0, 0, 0, 1]);
    assert.equal(p!.message, 'Invalid job; the job has no task groups');
    const [q] = problemsFromParseError('');
    assert.equal(q!.message, 'Nomad could not parse this job file.');
  });

  test('a position mentioned inside the detail text is not a second problem', () => {
    const problems = problemsFromParseError('Failed to parse job: input.hcl:2,1-4: Duplicate job block; Only one job is allowed, the first was defined at input.hcl:1,1-4: here.');
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.line, 1);
  });
});

describe('validation results become problems on the job line', () => {
  test('errors from the list, warnings from the multierror text', () => {
    const problems = problemsFromValidation({ ValidationErrors: ['Task group web validation failed: missing driver'], Warnings: '1 warning:\n\n* Group "web" has no update strategy\n\n' }, 4);
    assert.deepEqual(
      problems.map((p) => [p.severity, p.message, p.line]),
      [
        ['error', 'Task group web validation failed: missing driver', 4],
        ['warning', 'Group "web" has no update strategy', 4],
      ],
    );
  });

  test('a Go multierror in Error is split into its items; a valid job has no problems', () => {
    const problems = problemsFromValidation({ Error: '2 errors occurred:\n\t* Missing job datacenters\n\t* Job must be in a region\n\n' }, 0);
    assert.deepEqual(problems.map((p) => p.message), ['Missing job datacenters', 'Job must be in a region']);
    assert.deepEqual(problemsFromValidation({ ValidationErrors: [], Error: '', Warnings: '' }, 0), []);
  });
});

describe('job files and their job block', () => {
  test('file names Nomad recognises', () => {
    assert.deepEqual(['jobs/web.nomad.hcl', 'old.nomad', 'X.NOMAD.HCL', 'main.tf', 'web.hcl', 'nomad.hcl.bak'].map(isJobFile), [true, true, true, false, false, false]);
  });

  test('the job block line, past comments and variables', () => {
    assert.equal(jobBlockLine('# web\nvariable "v" {\n  default = 1\n}\n\njob "web" {\n}\n'), 5);
    assert.equal(jobBlockLine('no job here'), 0);
  });
});

const basePlan = (extra: Partial<NomadPlanResponse>): NomadPlanResponse => ({ JobModifyIndex: 0, ...extra }) as NomadPlanResponse;

describe('plans read like nomad job plan', () => {
  test('a new job: markers, creates per task group, all placed', () => {
    const plan = basePlan({
      Annotations: { DesiredTGUpdates: { web: { Place: 3 } } },
      Diff: {
        Type: 'Added',
        ID: 'web',
        TaskGroups: [{ Type: 'Added', Name: 'web', Updates: { create: 3 }, Tasks: [{ Type: 'Added', Name: 'nginx', Annotations: ['forces create'] }] }],
      },
    });
    const { text, disruptive, failedGroups } = formatPlan('web', plan);
    assert.equal(disruptive, 0);
    assert.deepEqual(failedGroups, []);
    assert.equal(
      text.split('\nJob Modify Index')[0],
      ['+ Job: "web"', '+ Task Group: "web" (3 create)', '  + Task: "nginx" (forces create)', '', 'Scheduler dry-run:', '- All tasks successfully allocated.', ''].join('\n'),
    );
    assert.match(text, /^Job Modify Index: 0$/m);
  });

  test('an edited job shows the changed fields, aligned, and counts the destructive updates', () => {
    const plan = basePlan({
      JobModifyIndex: 42,
      Annotations: { DesiredTGUpdates: { web: { DestructiveUpdate: 3 }, cache: { Stop: 1, Ignore: 1 } } },
      Diff: {
        Type: 'Edited',
        ID: 'web',
        TaskGroups: [
          {
            Type: 'Edited',
            Name: 'web',
            Updates: { 'create/destroy update': 3 },
            Tasks: [
              {
                Type: 'Edited',
                Name: 'nginx',
                Annotations: ['forces create/destroy update'],
                Objects: [
                  {
                    Type: 'Edited',
                    Name: 'Config',
                    Fields: [
                      { Type: 'Edited', Name: 'image', Old: 'nginx:1.25', New: 'nginx:1.27' },
                      { Type: 'None', Name: 'ports[0]', Old: 'http', New: 'http' },
                    ],
                  },
                ],
              },
            ],
          },
          { Type: 'Edited', Name: 'cache', Updates: { destroy: 1, ignore: 1 }, Fields: [{ Type: 'Edited', Name: 'Count', Old: '2', New: '1' }], Tasks: [{ Type: 'None', Name: 'redis' }] },
        ],
      },
    });
    const { text, disruptive } = formatPlan('web', plan);
    assert.equal(disruptive, 4);
    assert.equal(
      text.split('\n\nScheduler dry-run:')[0],
      [
        '+/- Job: "web"',
        '+/- Task Group: "web" (3 create/destroy update)',
        '  +/- Task: "nginx" (forces create/destroy update)',
        '    +/- Config {',
        '      +/- image:    "nginx:1.25" => "nginx:1.27"',
        '          ports[0]: "http"',
        '        }',
        '+/- Task Group: "cache" (1 destroy, 1 ignore)',
        '  +/- Count: "2" => "1"',
        '      Task: "redis"',
      ].join('\n'),
    );
    assert.match(text, /^Job Modify Index: 42$/m);
  });

  test('placement failures name the task group and every reason, like the scheduler dry run', () => {
    const plan = basePlan({
      Annotations: { DesiredTGUpdates: { web: { Place: 3 } } },
      Diff: { Type: 'Added', ID: 'web', TaskGroups: [{ Type: 'Added', Name: 'web', Updates: { create: 3 } }] },
      FailedTGAllocs: {
        web: {
          NodesEvaluated: 6,
          NodesAvailable: { dc1: 6, dc2: 0 },
          ConstraintFiltered: { '${attr.platform.gce.zone} = europe-west1-d': 2 },
          NodesExhausted: 4,
          DimensionExhausted: { memory: 4 },
          CoalescedFailures: 2,
        },
      },
      Warnings: 'Group "web" has no update block',
    });
    const { text, failedGroups } = formatPlan('web', plan);
    assert.deepEqual(failedGroups, ['web']);
    assert.ok(
      text.includes(
        [
          'Scheduler dry-run:',
          '- WARNING: Failed to place all allocations.',
          '  Task Group "web" (failed to place 3 allocations):',
          '    * No nodes are available in datacenter "dc2"',
          '    * Constraint "${attr.platform.gce.zone} = europe-west1-d": 2 nodes excluded by filter',
          '    * Resources exhausted on 4 nodes',
          '    * Dimension "memory" exhausted on 4 nodes',
          '',
          'Job Warnings:',
          'Group "web" has no update block',
        ].join('\n'),
      ),
      text,
    );
  });

  test('a system job that cannot go everywhere says so; no eligible node says that', () => {
    const plan = basePlan({ FailedTGAllocs: { agent: { NodesEvaluated: 0 } } });
    assert.match(formatPlan('sysdig', plan, { jobType: 'system' }).text, /- WARNING: Failed to place allocations on all nodes\.\n {2}Task Group "agent" \(failed to place 1 allocation\):\n {4}\* No nodes were eligible for evaluation/);
    assert.deepEqual(formatAllocMetrics({ NodesEvaluated: 3, ClassFiltered: { gpu: 3 } }, '  '), ['  * Class "gpu": 3 nodes excluded by filter']);
  });

  test('without a structured diff the task groups come from the scheduler counts', () => {
    const text = formatPlan('web', basePlan({ Annotations: { DesiredTGUpdates: { web: { Ignore: 3 } } } })).text;
    assert.match(text, /^Job: "web"\nTask Group: "web" \(3 ignore\)\n/);
  });
});
