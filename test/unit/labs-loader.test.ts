import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { formatProblem, loadLabs, parseLab, type LabProblem } from '../../src/labs';

const good = `---
id: first
title: First lab
duration: 10m
order: 1
---

Intro text.

## Step: Run web {#run-web}

Open [the job](../jobs/web.nomad.hcl) and [docs](https://example.com).

\`\`\`yaml actions
- runJob: jobs/web.nomad.hcl
- openUi: nomad
\`\`\`

\`\`\`yaml check
all:
  - jobStatus: { job: web, status: running }
  - runningAllocs: { job: web, count: 3 }
\`\`\`

### Hints

- First hint
  continues here.
- Second hint

### Solution

Run it.

\`\`\`yaml apply
- runJob: jobs/web.nomad.hcl
\`\`\`

## Step: Second step

\`\`\`bash
## Step: not a heading inside a code block
\`\`\`

\`\`\`yaml check
kvValue: { key: a/b, equals: 1 }
\`\`\`

## Wrap-up

Done.
`;

/** A lab file with one line replaced or the text changed by `edit`. */
function variant(edit: (s: string) => string): string {
  const out = edit(good);
  assert.notEqual(out, good, 'the variant must differ from the good file');
  return out;
}

function only(problems: LabProblem[]): LabProblem {
  const errors = problems.filter((p) => p.severity === 'error');
  assert.equal(errors.length, 1, `expected one error, got: ${problems.map(formatProblem).join('\n')}`);
  return errors[0];
}

function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

test('a good lab parses into steps with instructions, actions, hints, solution, apply and check', () => {
  const { lab, problems } = parseLab(good, { file: 'labs/01-first.md' });
  assert.deepEqual(problems, []);
  assert.ok(lab);
  assert.equal(lab.id, 'first');
  assert.equal(lab.duration, 10);
  assert.equal(lab.optional, false);
  assert.equal(lab.intro, 'Intro text.');
  assert.equal(lab.outro, '## Wrap-up\n\nDone.');
  assert.deepEqual(lab.steps.map((s) => s.id), ['run-web', 'second-step']);
  const [s1, s2] = lab.steps;
  assert.equal(s1.title, 'Run web');
  assert.match(s1.instructions, /^Open \[the job\]/);
  assert.doesNotMatch(s1.instructions, /yaml/, 'the yaml blocks are taken out of the instructions');
  assert.deepEqual(s1.actions, [{ kind: 'runJob', file: 'jobs/web.nomad.hcl', label: undefined }, { kind: 'openUi', ui: 'nomad' }]);
  assert.deepEqual(s1.hints, ['First hint\ncontinues here.', 'Second hint']);
  assert.equal(s1.solution, 'Run it.');
  assert.deepEqual(s1.apply, [{ kind: 'runJob', file: 'jobs/web.nomad.hcl', variables: undefined }]);
  assert.deepEqual(s1.check, {
    kind: 'all',
    checks: [
      { kind: 'jobStatus', job: 'web', status: 'running' },
      { kind: 'runningAllocs', job: 'web', count: 3 },
    ],
  });
  assert.deepEqual(
    s1.links.map((l) => [l.kind, l.path ?? l.target]),
    [
      ['file', 'jobs/web.nomad.hcl'],
      ['url', 'https://example.com'],
    ],
  );
  assert.match(s2.instructions, /## Step: not a heading inside a code block/);
  assert.deepEqual(s2.check, { kind: 'kvValue', key: 'a/b', equals: '1' });
});

test('each kind of broken lab file gives a specific error with file, step and line', () => {
  const file = 'labs/01-first.md';
  const cases: { name: string; text: string; message: RegExp; step?: string; line?: number }[] = [
    { name: 'no front matter', text: good.replace(/^---\n/, ''), message: /no front matter/, line: 1 },
    { name: 'front matter not closed', text: good.replace('order: 1\n---', 'order: 1\n'), message: /never closed/ },
    { name: 'front matter YAML', text: variant((s) => s.replace('title: First lab', 'title: [First lab')), message: /front matter: YAML/ },
    { name: 'front matter missing title', text: variant((s) => s.replace('title: First lab\n', '')), message: /front matter: title: is required/ },
    { name: 'front matter unknown field', text: variant((s) => s.replace('order: 1', 'ordr: 1')), message: /unknown field "ordr" \(did you mean "order"\?\)/, line: 5 },
    { name: 'bad duration', text: variant((s) => s.replace('duration: 10m', 'duration: soon')), message: /duration/, line: 4 },
    { name: 'bad id', text: variant((s) => s.replace('id: first', 'id: First Lab')), message: /id must be lowercase/, line: 2 },
    {
      name: 'unknown check kind',
      text: variant((s) => s.replace('- jobStatus: { job: web', '- jobstatus: { job: web')),
      message: /check: all\[0\]\.jobstatus: unknown check kind "jobstatus" \(did you mean "jobStatus"\?\)/,
      step: 'run-web',
      line: lineOf(good, '- jobStatus: { job: web'),
    },
    {
      name: 'unknown field in a check',
      text: variant((s) => s.replace('runningAllocs: { job: web, count: 3 }', 'runningAllocs: { job: web, cuont: 3 }')),
      message: /check: all\[1\]\.runningAllocs\.cuont: unknown field "cuont" \(did you mean "count"\?\)/,
      step: 'run-web',
      line: lineOf(good, 'runningAllocs: { job: web'),
    },
    {
      name: 'wrong enum value',
      text: variant((s) => s.replace('status: running }', 'status: up }')),
      message: /status: must be one of "pending", "running", "dead", "absent", not "up"/,
      step: 'run-web',
    },
    {
      name: 'count and min together',
      text: variant((s) => s.replace('{ job: web, count: 3 }', '{ job: web, count: 3, min: 1 }')),
      message: /count \(exactly\) or min\/max, not both/,
      step: 'run-web',
    },
    {
      name: 'two kinds in one check',
      text: variant((s) => s.replace('kvValue: { key: a/b, equals: 1 }', 'kvValue: { key: a/b, equals: 1 }\nconsulLeader: {}')),
      message: /has exactly one kind, this one has 2 \(kvValue, consulLeader\); combine several with all/,
      step: 'Second step',
    },
    {
      name: 'step without check',
      text: variant((s) => s.replace('```yaml check\nkvValue: { key: a/b, equals: 1 }\n```\n', '')),
      message: /the step has no check/,
      step: 'Second step',
      line: lineOf(good, '## Step: Second step'),
    },
    {
      name: 'YAML syntax in a check',
      text: variant((s) => s.replace('kvValue: { key: a/b, equals: 1 }', 'kvValue: { key: a/b, equals: 1')),
      message: /check: YAML:/,
      step: 'Second step',
    },
    {
      name: 'unknown action',
      text: variant((s) => s.replace('- openUi: nomad', '- openUI: nomad')),
      message: /actions: \[1\]\.openUI: unknown action "openUI" \(did you mean "openUi"\?\)/,
      step: 'run-web',
      line: lineOf(good, '- openUi: nomad'),
    },
    {
      name: 'unknown solution step',
      text: variant((s) => s.replace('```yaml apply\n- runJob: jobs/web.nomad.hcl', '```yaml apply\n- runJobs: jobs/web.nomad.hcl')),
      message: /apply: \[0\]\.runJobs: unknown solution step "runJobs" \(did you mean "runJob"\?\)/,
      step: 'run-web',
    },
    {
      name: 'duplicate step id',
      text: variant((s) => s.replace('## Step: Second step', '## Step: Second step {#run-web}')),
      message: /step id "run-web" is used twice \(also on line \d+\)/,
      step: 'run-web',
    },
    {
      name: 'unclosed code block',
      text: variant((s) => s.replace('Done.\n', 'Done.\n\n```bash\nls\n')),
      message: /never closed/,
    },
    { name: 'bad regex', text: variant((s) => s.replace('kvValue: { key: a/b, equals: 1 }', "fileMatches: { path: a, pattern: '(' }")), message: /not a valid regular expression/ },
  ];
  for (const c of cases) {
    const { lab, problems } = parseLab(c.text, { file });
    assert.equal(lab, undefined, `${c.name}: the lab must not load`);
    const p = only(problems);
    assert.equal(p.file, file, c.name);
    assert.match(p.message, c.message, `${c.name}: ${formatProblem(p)}`);
    if (c.step) assert.equal(p.step, c.step, `${c.name}: step`);
    if (c.line) assert.equal(p.line, c.line, `${c.name}: line of ${formatProblem(p)}`);
  }
});

test('formatProblem names the file, line and step', () => {
  const { problems } = parseLab(good.replace('- jobStatus:', '- jobStatuz:'), { file: 'labs/x.md' });
  assert.match(formatProblem(problems[0]), /^labs\/x\.md:\d+: step "run-web": check: all\[0\]\.jobStatuz: unknown check kind/);
});

test('loadLabs: broken files are reported and the others still load', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'labs-loader-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'labs'));
  mkdirSync(path.join(root, 'jobs'));
  writeFileSync(path.join(root, 'jobs', 'web.nomad.hcl'), 'job "web" {}\n');
  const w = (name: string, text: string) => writeFileSync(path.join(root, 'labs', name), text);
  w('README.md', '# not a lab\n');
  w('01-first.md', good);
  w('02-second.md', good.replace('id: first', 'id: second').replace('order: 1', 'order: 2\nprerequisites: [first]'));
  w('03-broken.md', good.replace('id: first', 'id: broken').replace('- jobStatus:', '- jobStatuz:'));
  w('04-missing-file.md', good.replace('id: first', 'id: missing-file').replace('- runJob: jobs/web.nomad.hcl\n- openUi', '- runJob: jobs/nope.nomad.hcl\n- openUi'));
  w('05-orphan.md', good.replace('id: first', 'id: orphan').replace('order: 1', 'prerequisites: [nope]'));
  w('06-dup.md', good);
  w('07-cycle-a.md', good.replace('id: first', 'id: cycle-a').replace('order: 1', 'prerequisites: [cycle-b]'));
  w('08-cycle-b.md', good.replace('id: first', 'id: cycle-b').replace('order: 1', 'prerequisites: [cycle-a]'));
  w('09-bad-link.md', good.replace('id: first', 'id: bad-link').replace('../jobs/web.nomad.hcl', '../jobs/gone.nomad.hcl'));

  const { labs, problems } = await loadLabs({ dir: path.join(root, 'labs') });
  assert.deepEqual(labs.map((l) => l.id), ['bad-link', 'first', 'second'], 'sorted by order, then id');
  assert.equal(labs[1].file, 'labs/01-first.md');
  const byFile = (f: string) => problems.filter((p) => p.file === `labs/${f}`);
  assert.match(byFile('03-broken.md')[0].message, /unknown check kind "jobStatuz"/);
  assert.equal(byFile('03-broken.md')[0].step, 'run-web');
  assert.match(byFile('04-missing-file.md')[0].message, /jobs\/nope\.nomad\.hcl does not exist in the workspace/);
  assert.equal(byFile('04-missing-file.md')[0].step, 'run-web');
  assert.match(byFile('05-orphan.md')[0].message, /prerequisite "nope" is not a loaded lab/);
  assert.match(byFile('06-dup.md')[0].message, /lab id "first" is already used by labs\/01-first\.md/);
  assert.match(byFile('07-cycle-a.md')[0].message, /prerequisites form a cycle: cycle-a → cycle-b → cycle-a/);
  const link = byFile('09-bad-link.md')[0];
  assert.equal(link.severity, 'warning');
  assert.match(link.message, /points at jobs\/gone\.nomad\.hcl, which does not exist/);
  assert.equal(problems.filter((p) => p.file === 'labs/README.md').length, 0);
});

test('loadLabs: a missing folder is one clear problem, not an exception', async () => {
  const { labs, problems } = await loadLabs({ dir: path.join(tmpdir(), 'no-such-labs-folder-xyz') });
  assert.deepEqual(labs, []);
  assert.match(problems[0].message, /cannot read the labs folder/);
});
