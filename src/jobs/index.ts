/**
 * Job files (`*.nomad.hcl`, `*.nomad`) against the attendee's cluster, as plain code: Nomad's
 * parse errors turned into editor ranges, validation results, and `nomad job plan`-style text.
 * The UI (src/ui/jobs) turns these into diagnostics, documents and prompts.
 */
import type { NomadAllocationMetric, NomadPlanResponse, NomadValidateResponse } from '../cluster/schemas';

/** Zero-based, like editor positions; `endLine`/`endColumn` exclusive of nothing in particular. */
export interface JobProblem {
  severity: 'error' | 'warning';
  message: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** Job files are the ones Nomad's own tooling recognises. */
export function isJobFile(fileName: string): boolean {
  return /\.nomad(\.hcl)?$/i.test(fileName);
}

/**
 * Problems from the body of a failed `POST /v1/jobs/parse` (400), e.g.
 * `Failed to parse job: input.hcl:3,13-4,1: Invalid expression; Expected the start of an expression…`.
 * Each `file:line,col[-[line,]col]: summary; detail` becomes a problem at that place (Nomad's
 * positions are 1-based); a body without positions becomes one problem on the first line.
 */
export function problemsFromParseError(body: string): JobProblem[] {
  const text = body.replace(/^Failed to parse job:\s*/i, '').trim();
  const problems: JobProblem[] = [];
  const re = /(?:^|\n|, and \d+ other diagnostic\(s\)\s*)?\s*[^\s:]+:(\d+),(\d+)(?:-(?:(\d+),)?(\d+))?: ([^\n]*)/g;
  for (const m of text.matchAll(re)) {
    const line = Number(m[1]) - 1;
    const column = Number(m[2]) - 1;
    const endLine = m[3] ? Number(m[3]) - 1 : line;
    const endColumn = m[4] ? Number(m[4]) - 1 : column + 1;
    problems.push({ severity: 'error', message: m[5]!.replace(/, and \d+ other diagnostic\(s\)$/, '').trim(), line, column, endLine, endColumn: endLine === line ? Math.max(endColumn, column + 1) : endColumn });
  }
  if (problems.length === 0) problems.push({ severity: 'error', message: text || 'Nomad could not parse this job file.', line: 0, column: 0, endLine: 0, endColumn: 1 });
  return problems;
}

/** Validation errors and warnings of `/v1/validate/job`: they carry no position, so they sit on the `job` line. */
export function problemsFromValidation(res: NomadValidateResponse, jobLine: number): JobProblem[] {
  const at = { line: jobLine, column: 0, endLine: jobLine, endColumn: 200 };
  const errors = res.ValidationErrors?.length ? res.ValidationErrors : res.Error ? splitMulti(res.Error) : [];
  const warnings = res.Warnings ? splitMulti(res.Warnings) : [];
  return [...errors.map((message) => ({ severity: 'error' as const, message, ...at })), ...warnings.map((message) => ({ severity: 'warning' as const, message, ...at }))];
}

/** Go's multierror text: "2 errors occurred:\n\t* a\n\t* b\n\n". */
function splitMulti(text: string): string[] {
  const items = [...text.matchAll(/^\s*\*\s+(.+)$/gm)].map((m) => m[1]!.trim());
  return items.length ? items : [text.trim()];
}

/** The zero-based line of the `job "name" {` block, for lenses and position-less problems. */
export function jobBlockLine(text: string): number {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => /^\s*job\s+"[^"]*"\s*\{/.test(l));
  return i < 0 ? 0 : i;
}

export interface PlanSummary {
  /** Allocations that would stop or be replaced: running work an attendee loses. */
  disruptive: number;
  text: string;
}

const VERBS: [keyof Updates, string][] = [
  ['Place', 'create'],
  ['DestructiveUpdate', 'create/destroy update'],
  ['InPlaceUpdate', 'in-place update'],
  ['Stop', 'destroy'],
  ['Migrate', 'migrate'],
  ['Canary', 'canary'],
  ['Ignore', 'ignore'],
];
type Updates = { Place?: number; DestructiveUpdate?: number; InPlaceUpdate?: number; Stop?: number; Migrate?: number; Canary?: number; Ignore?: number };

/** The plan as `nomad job plan` prints it: the change per task group, then the dry run. */
export function formatPlan(jobId: string, plan: NomadPlanResponse): PlanSummary {
  const out: string[] = [];
  const diffType = plan.Diff?.Type ?? 'None';
  const sign = diffType === 'Added' ? '+' : diffType === 'Deleted' ? '-' : diffType === 'Edited' ? '+/-' : '';
  out.push(`${sign ? sign + ' ' : ''}Job: "${jobId}"${diffType === 'None' ? ' (no changes)' : ''}`);
  const updates = (plan.Annotations?.DesiredTGUpdates ?? {}) as Record<string, Updates>;
  let disruptive = 0;
  for (const [group, u] of Object.entries(updates)) {
    const parts = VERBS.filter(([k]) => (u[k] ?? 0) > 0).map(([k, verb]) => `${u[k]} ${verb}`);
    disruptive += (u.Stop ?? 0) + (u.DestructiveUpdate ?? 0);
    out.push(`    Task Group: "${group}" (${parts.join(', ') || 'no changes'})`);
  }
  out.push('', 'Scheduler dry-run:');
  const failed = Object.entries(plan.FailedTGAllocs ?? {});
  if (failed.length === 0) {
    out.push('- All tasks successfully allocated.');
  } else {
    out.push('- WARNING: Failed to place all allocations.');
    for (const [group, metric] of failed) out.push(...formatPlacementFailure(group, metric, updates[group]?.Place));
  }
  if (plan.Warnings) out.push('', `Job Warnings:\n${plan.Warnings.trim()}`);
  out.push('', `Job Modify Index: ${plan.JobModifyIndex}`);
  return { disruptive, text: out.join('\n') + '\n' };
}

function formatPlacementFailure(group: string, m: NomadAllocationMetric, wanted?: number): string[] {
  const lines = [`  Task Group "${group}" (failed to place ${1 + (m.CoalescedFailures ?? 0)}${wanted ? ` of ${wanted}` : ''} allocation${m.CoalescedFailures ? 's' : ''}):`];
  const evaluated = m.NodesEvaluated ?? 0;
  if (evaluated === 0) lines.push('    * No nodes were eligible for evaluation');
  for (const [dc, n] of Object.entries(m.NodesAvailable ?? {})) if (n === 0) lines.push(`    * No nodes are available in datacenter "${dc}"`);
  for (const [constraint, n] of Object.entries(m.ConstraintFiltered ?? {})) lines.push(`    * Constraint "${constraint}": ${n} nodes excluded by filter`);
  for (const [cls, n] of Object.entries(m.ClassFiltered ?? {})) lines.push(`    * Class "${cls}": ${n} nodes excluded by filter`);
  if (m.NodesExhausted) lines.push(`    * Resources exhausted on ${m.NodesExhausted} nodes`);
  for (const [dim, n] of Object.entries(m.DimensionExhausted ?? {})) lines.push(`    * Dimension "${dim}" exhausted on ${n} nodes`);
  return lines;
}
