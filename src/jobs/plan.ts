/**
 * A job plan as text, the way `nomad job plan` prints it (command/job_plan.go, without colour):
 * the job diff (markers `+`, `-`, `+/-`, fields aligned), the scheduler dry run with placement
 * failures (command/alloc_status.go's formatAllocMetrics), warnings and the modify index.
 */
import type { NomadAllocationMetric, NomadPlanResponse } from '../cluster/schemas';

export interface PlanSummary {
  /** Allocations that would stop or be replaced: running work an attendee loses. */
  disruptive: number;
  /** Task groups that cannot be placed (fully or partly). */
  failedGroups: string[];
  text: string;
}

// The structured diff Nomad returns with `Diff: true` (api.JobDiff and friends).
interface FieldDiff {
  Type: string;
  Name: string;
  Old?: string;
  New?: string;
  Annotations?: string[] | null;
}
interface ObjectDiff {
  Type: string;
  Name: string;
  Fields?: FieldDiff[] | null;
  Objects?: ObjectDiff[] | null;
}
interface TaskDiff extends ObjectDiff {
  Annotations?: string[] | null;
}
interface TaskGroupDiff extends ObjectDiff {
  Tasks?: TaskDiff[] | null;
  Updates?: Record<string, number> | null;
}
interface JobDiff {
  Type: string;
  ID?: string;
  Fields?: FieldDiff[] | null;
  Objects?: ObjectDiff[] | null;
  TaskGroups?: TaskGroupDiff[] | null;
}

type DesiredUpdates = Partial<Record<'Place' | 'DestructiveUpdate' | 'InPlaceUpdate' | 'Stop' | 'Migrate' | 'Canary' | 'Ignore', number>>;

/** DesiredTGUpdates' counters under the names Nomad prints (scheduler.UpdateType*). */
const UPDATE_NAMES: [keyof DesiredUpdates, string][] = [
  ['Place', 'create'],
  ['DestructiveUpdate', 'create/destroy update'],
  ['InPlaceUpdate', 'in-place update'],
  ['Stop', 'destroy'],
  ['Migrate', 'migrate'],
  ['Canary', 'canary'],
  ['Ignore', 'ignore'],
];

function marker(type: string): string {
  return type === 'Added' ? '+ ' : type === 'Deleted' ? '- ' : type === 'Edited' ? '+/- ' : '';
}

const spaces = (n: number) => ' '.repeat(Math.max(0, n));
/** Go's %q for the plain strings Nomad shows. */
const quote = (s: string | undefined) => JSON.stringify(s ?? '');

function longestPrefixes(fields: FieldDiff[], objects: ObjectDiff[]): { field: number; marker: number } {
  let field = 0;
  let mark = 0;
  for (const f of fields) {
    field = Math.max(field, f.Name.length);
    mark = Math.max(mark, marker(f.Type).length);
  }
  for (const o of objects) mark = Math.max(mark, marker(o.Type).length);
  return { field, marker: mark };
}

function formatField(f: FieldDiff, start: number, keyPad: number, valuePad: number): string {
  const value = f.Type === 'Added' ? quote(f.New) : f.Type === 'Deleted' ? quote(f.Old) : f.Type === 'Edited' ? `${quote(f.Old)} => ${quote(f.New)}` : quote(f.New);
  return `${spaces(start)}${marker(f.Type)}${spaces(keyPad)}${f.Name}: ${spaces(valuePad)}${value}${f.Annotations?.length ? ` (${f.Annotations.join(', ')})` : ''}`;
}

function formatObject(o: ObjectDiff, start: number, keyPad: number): string[] {
  const fields = o.Fields ?? [];
  const objects = o.Objects ?? [];
  const longest = longestPrefixes(fields, objects);
  return [`${spaces(start)}${marker(o.Type)}${spaces(keyPad)}${o.Name} {`, ...aligned(fields, objects, start + keyPad + 2, longest), `${spaces(start + marker(o.Type).length + keyPad)}}`];
}

function aligned(fields: FieldDiff[], objects: ObjectDiff[], start: number, longest: { field: number; marker: number }): string[] {
  return [
    ...fields.map((f) => formatField(f, start, longest.marker - marker(f.Type).length, longest.field - f.Name.length)),
    ...objects.flatMap((o) => formatObject(o, start, longest.marker - marker(o.Type).length)),
  ];
}

function formatTask(t: TaskDiff, start: number, taskPad: number): string[] {
  const head = `${spaces(start)}${marker(t.Type)}${spaces(taskPad)}Task: ${quote(t.Name)}${t.Annotations?.length ? ` (${t.Annotations.join(', ')})` : ''}`;
  // Like Nomad without -verbose: an added or removed task is one line; an edited one shows what changed.
  if (t.Type !== 'Edited') return [head];
  const fields = t.Fields ?? [];
  const objects = t.Objects ?? [];
  return [head, ...aligned(fields, objects, start + 2, longestPrefixes(fields, objects))];
}

function updatesText(updates: Record<string, number> | null | undefined): string {
  const entries = Object.entries(updates ?? {})
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? ` (${entries.map(([k, n]) => `${n} ${k}`).join(', ')})` : '';
}

function formatTaskGroup(g: TaskGroupDiff, pad: number): string[] {
  const fields = g.Fields ?? [];
  const objects = g.Objects ?? [];
  const tasks = g.Tasks ?? [];
  const longest = longestPrefixes(fields, objects);
  for (const t of tasks) longest.marker = Math.max(longest.marker, marker(t.Type).length);
  const out = [`${marker(g.Type)}${spaces(pad)}Task Group: ${quote(g.Name)}${updatesText(g.Updates)}`];
  if (g.Type === 'Edited') out.push(...aligned(fields, objects, pad + 2, longest));
  for (const t of tasks) out.push(...formatTask(t, pad + 2, longest.marker - marker(t.Type).length));
  return out;
}

/** The diff part of `nomad job plan`. Task groups without a structured diff come from the scheduler's counts. */
export function formatJobDiff(jobId: string, diff: JobDiff | null | undefined, desired: Record<string, DesiredUpdates> = {}): string[] {
  const type = diff?.Type ?? 'None';
  const fields = diff?.Fields ?? [];
  const objects = diff?.Objects ?? [];
  const groups: TaskGroupDiff[] = diff?.TaskGroups?.length
    ? diff.TaskGroups.map((g) => (g.Updates ? g : { ...g, Updates: updatesFrom(desired[g.Name]) }))
    : Object.entries(desired).map(([name, u]) => ({ Type: type === 'Added' ? 'Added' : 'None', Name: name, Updates: updatesFrom(u) }));
  const longest = longestPrefixes(fields, objects);
  for (const g of groups) longest.marker = Math.max(longest.marker, marker(g.Type).length);
  const out = [`${marker(type)}Job: ${quote(diff?.ID ?? jobId)}`];
  if (type === 'Edited') out.push(...aligned(fields, objects, 0, longest));
  for (const g of groups) out.push(...formatTaskGroup(g, longest.marker - marker(g.Type).length));
  return out;
}

function updatesFrom(u: DesiredUpdates | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, name] of UPDATE_NAMES) if (u?.[key]) out[name] = u[key]!;
  return out;
}

/** Why allocations could not be placed, one `* …` line per reason (formatAllocMetrics). */
export function formatAllocMetrics(m: NomadAllocationMetric, prefix = '    '): string[] {
  const out: string[] = [];
  const sorted = (r: Record<string, number> | null | undefined) => Object.entries(r ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if ((m.NodesEvaluated ?? 0) === 0) out.push(`${prefix}* No nodes were eligible for evaluation`);
  for (const [dc, n] of sorted(m.NodesAvailable)) if (n === 0) out.push(`${prefix}* No nodes are available in datacenter ${quote(dc)}`);
  for (const [cls, n] of sorted(m.ClassFiltered)) out.push(`${prefix}* Class ${quote(cls)}: ${n} nodes excluded by filter`);
  for (const [constraint, n] of sorted(m.ConstraintFiltered)) out.push(`${prefix}* Constraint ${quote(constraint)}: ${n} nodes excluded by filter`);
  if (m.NodesExhausted) out.push(`${prefix}* Resources exhausted on ${m.NodesExhausted} nodes`);
  for (const [cls, n] of sorted(m.ClassExhausted)) out.push(`${prefix}* Class ${quote(cls)} exhausted on ${n} nodes`);
  for (const [dim, n] of sorted(m.DimensionExhausted)) out.push(`${prefix}* Dimension ${quote(dim)} exhausted on ${n} nodes`);
  return out;
}

/** The whole plan as `nomad job plan` prints it, and what Run needs to know before it asks. */
export function formatPlan(jobId: string, plan: NomadPlanResponse, opts: { jobType?: string } = {}): PlanSummary {
  const desired = (plan.Annotations?.DesiredTGUpdates ?? {}) as Record<string, DesiredUpdates>;
  const out = formatJobDiff(jobId, plan.Diff as JobDiff | null | undefined, desired);
  out.push('', 'Scheduler dry-run:');
  const failed = Object.entries(plan.FailedTGAllocs ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (failed.length === 0) {
    out.push('- All tasks successfully allocated.');
  } else {
    out.push(opts.jobType === 'system' ? '- WARNING: Failed to place allocations on all nodes.' : '- WARNING: Failed to place all allocations.');
    for (const [group, metric] of failed) {
      const count = 1 + (metric.CoalescedFailures ?? 0);
      out.push(`  Task Group ${quote(group)} (failed to place ${count} allocation${count > 1 ? 's' : ''}):`, ...formatAllocMetrics(metric), '');
    }
    out.pop();
  }
  if (plan.Warnings?.trim()) out.push('', 'Job Warnings:', plan.Warnings.trim());
  out.push(
    '',
    `Job Modify Index: ${plan.JobModifyIndex}`,
    'Run submits the job with this index, like `nomad job run -check-index`:',
    'if the job changed since this plan, the run is refused.',
  );
  let disruptive = 0;
  for (const u of Object.values(desired)) disruptive += (u.Stop ?? 0) + (u.DestructiveUpdate ?? 0);
  return { disruptive, failedGroups: failed.map(([g]) => g), text: out.join('\n') + '\n' };
}
