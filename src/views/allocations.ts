/**
 * What the Allocations view shows: jobs → task groups → allocations with status, node, zone,
 * age and restarts; failed allocations carry the last task event as their reason.
 *
 * The view renders lazily from the live model (`AllocationsSource`, which ClusterModel is): one
 * function per level, so the tree asks only for what is unfolded and re-renders only the job
 * rows a change touched (`AllocationsTree.changed`). `buildAllocationNodes` expands the same
 * functions eagerly over a snapshot, for tests and small callers.
 */
import { compareNames, type AllocationCounts, type AllocationInfo, type ClusterChange, type ClusterSnapshot, type JobInfo, type SectionStatus } from '../cluster';
import { allocSummary, connectionState, type ConnectionView } from './cluster';
import { contextValue } from './contextValue';
import { CommandId } from './ids';
import type { NodeIcon, ViewNode } from './node';
import { stateRows, type TreeRoots, type TreeState } from './states';

export interface AllocationFilter {
  /** Only this job (its key, `<namespace>/<id>`). */
  jobKey?: string;
  /** Only allocations whose client status is one of these. */
  statuses?: string[];
}

/** The part of ClusterModel the view reads; a snapshot can stand in for it (`snapshotSource`). */
export interface AllocationsSource {
  readonly nomadStatus: SectionStatus;
  getJobs(): JobInfo[];
  getJob(key: string): JobInfo | undefined;
  /** A job's allocations, of one task group if given. */
  getAllocations(jobKey: string, taskGroup?: string): AllocationInfo[];
  getAllocation(id: string): AllocationInfo | undefined;
  readonly allocationCount: number;
}

export const ALLOC_ICONS: Record<string, NodeIcon> = {
  running: { id: 'pass-filled', color: 'testing.iconPassed' },
  pending: { id: 'clock', color: 'charts.yellow' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  lost: { id: 'question', color: 'charts.orange' },
  complete: { id: 'circle-large-outline', color: 'disabledForeground' },
  unknown: { id: 'question' },
};

/** A task group with more allocations than this starts folded, so a big job does not flood the view. */
export const FOLD_GROUP_ABOVE = 20;
/** Allocations shown per task group before a "Show more" node; VS Code slows down past a few thousand rows. */
export const ALLOCATION_PAGE = 200;

/** `3s`, `4m`, `2h`, `5d`: the age column of `nomad job status`. */
export function age(fromMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - fromMs) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function isFiltered(filter: AllocationFilter): boolean {
  return Boolean(filter.jobKey || filter.statuses?.length);
}

/** Node ids, stable across refreshes so that what the attendee unfolded stays unfolded. */
export const allocNodeId = {
  job: (jobKey: string) => `job/${jobKey}`,
  group: (jobKey: string, group: string) => `job/${jobKey}/group/${group}`,
  more: (jobKey: string, group: string) => `job/${jobKey}/group/${group}/more`,
  alloc: (id: string) => `alloc/${id}`,
};

/** What the top of the view holds: a state that explains it, or the jobs to show. */
export type AllocationRoots = { kind: 'state'; state: TreeState } | { kind: 'jobs'; jobs: JobInfo[] };

const RETRY = { command: CommandId.retryConnection, title: 'Retry' };

/**
 * The view's top level. A state (waiting, not connected, failed, loading, cannot read, no jobs,
 * nothing matches) explains an empty view; otherwise the jobs that pass the filter.
 */
export function allocationRoots(connection: ConnectionView, source: AllocationsSource | undefined, filter: AllocationFilter = {}): AllocationRoots {
  const early = connectionState(connection, !!source, 'This view');
  if (early) return { kind: 'state', state: early };
  if (!source) return { kind: 'state', state: { state: 'connecting', label: 'Connecting…', why: 'opening the SSH tunnel through your bastion', icon: { id: 'sync~spin' } } };
  const status = source.nomadStatus;
  const all = source.getJobs();
  if (status.state === 'error' && all.length === 0) return { kind: 'state', state: { state: 'failed', label: 'Cannot read the jobs', error: status.error ?? 'error', retry: RETRY } };
  if (status.state === 'loading' && all.length === 0) return { kind: 'state', state: { state: 'loading', label: 'Loading jobs…' } };
  const jobs = all.filter((j) => jobMatches(j, filter));
  if (jobs.length === 0) return { kind: 'state', state: emptyState(filter) };
  return { kind: 'jobs', jobs };
}

/** Whether a job belongs in the filtered view: it is the chosen job, and has allocations in a chosen status. */
export function jobMatches(job: JobInfo, filter: AllocationFilter): boolean {
  if (filter.jobKey && job.key !== filter.jobKey) return false;
  if (filter.statuses?.length && !filter.statuses.some((s) => countOf(job.allocations, s) > 0)) return false;
  return true;
}

function countOf(counts: AllocationCounts, status: string): number {
  return (counts as unknown as Record<string, number>)[status] ?? 0;
}

function emptyState(filter: AllocationFilter): TreeState {
  return isFiltered(filter)
    ? { state: 'empty', label: 'Nothing matches the filter', why: 'clear the filter to see all jobs', icon: { id: 'filter' }, command: { command: CommandId.clearAllocationFilter, title: 'Clear Filter' } }
    : { state: 'empty', label: 'No jobs yet', why: 'run a job file (e.g. jobs/web.nomad.hcl) to see its allocations here' };
}

/** A job row, without its children (see `jobGroups`). */
export function jobNode(j: JobInfo): ViewNode {
  const failed = j.allocations.failed > 0 && j.allocations.running === 0;
  return {
    id: allocNodeId.job(j.key),
    label: j.namespace === 'default' ? j.id : `${j.id} (${j.namespace})`,
    description: `${j.type} · ${j.stop ? 'stopped' : j.status} · ${jobSummary(j.allocations)}`,
    tooltip: `Job ${j.id} (${j.type}) in namespace ${j.namespace}\nStatus: ${j.status}${j.stop ? ' (stopped)' : ''}\nDatacenters: ${j.datacenters.join(', ') || '*'}\nAllocations: ${allocSummary(j.allocations)}${j.allocations.complete ? `, ${j.allocations.complete} complete` : ''}`,
    icon: j.status === 'dead' ? { id: 'debug-stop', color: 'disabledForeground' } : failed ? { id: 'error', color: 'testing.iconFailed' } : j.status === 'pending' ? { id: 'clock', color: 'charts.yellow' } : { id: 'package' },
    contextValue: contextValue('job', jobState(j.status), { stopped: j.stop }),
    target: { kind: 'job', jobKey: j.key },
    copyValue: j.id,
  };
}

/** What runs, else what is left: a stopped or finished job still lists its complete allocations below. */
function jobSummary(c: AllocationCounts): string {
  const live = allocSummary(c);
  return live === 'no allocations' && c.complete > 0 ? `${c.complete} complete` : live;
}

/** The task groups shown under a job: all of them, or those with allocations in a chosen status. */
export function jobGroups(source: AllocationsSource, job: JobInfo, filter: AllocationFilter): string[] {
  if (!filter.statuses?.length) return job.taskGroups;
  const wanted = new Set(source.getAllocations(job.key).filter((a) => filter.statuses!.includes(a.clientStatus)).map((a) => a.taskGroup));
  return job.taskGroups.filter((g) => wanted.has(g));
}

/** A task group row with what it needs to know about its allocations (see `groupAllocations`). */
export function groupNode(jobKey: string, group: string, allocs: AllocationInfo[]): ViewNode {
  return {
    id: allocNodeId.group(jobKey, group),
    label: group,
    description: `task group · ${allocs.filter((a) => a.clientStatus === 'running').length} running of ${allocs.filter((a) => a.desiredStatus === 'run').length} wanted`,
    icon: { id: 'symbol-namespace' },
    contextValue: contextValue('group'),
    target: { kind: 'group', jobKey, group },
    collapsed: allocs.length > FOLD_GROUP_ABOVE,
  };
}

/**
 * A task group's allocations in the order an attendee looks for them (running, pending, failed,
 * then the rest; newest first within each), the filter applied, at most `limit` of them.
 */
export function groupAllocations(source: AllocationsSource, jobKey: string, group: string, filter: AllocationFilter, limit = ALLOCATION_PAGE): { all: AllocationInfo[]; shown: AllocationInfo[]; hidden: number } {
  const all = source.getAllocations(jobKey, group).sort(byInterest);
  const matching = filter.statuses?.length ? all.filter((a) => filter.statuses!.includes(a.clientStatus)) : all;
  const shown = matching.slice(0, limit);
  return { all, shown, hidden: matching.length - shown.length };
}

/** The last row of a long task group: how many are not shown yet. Clicking it shows the next page. */
export function moreNode(jobKey: string, group: string, hidden: number): ViewNode {
  return {
    id: allocNodeId.more(jobKey, group),
    label: `Show ${Math.min(hidden, ALLOCATION_PAGE)} more…`,
    description: `${hidden} allocation${hidden === 1 ? '' : 's'} not shown; a filter narrows the list`,
    icon: { id: 'ellipsis' },
    contextValue: contextValue('more'),
    target: { kind: 'more', jobKey, group },
  };
}

const interestRank = (x: AllocationInfo): number => (x.clientStatus === 'running' ? 0 : x.clientStatus === 'pending' ? 1 : x.clientStatus === 'failed' ? 2 : 3);

function byInterest(a: AllocationInfo, b: AllocationInfo): number {
  return interestRank(a) - interestRank(b) || b.createTime - a.createTime || compareNames(a.name, b.name);
}

/** The non-empty parts joined by `sep` (a loop: this runs for every allocation row). */
function joinPresent(sep: string, parts: (string | undefined)[]): string {
  let out = '';
  for (const p of parts) if (p) out = out ? out + sep + p : p;
  return out;
}

export function allocationNode(a: AllocationInfo, nowMs: number): ViewNode {
  const stopping = a.desiredStatus !== 'run' && (a.clientStatus === 'running' || a.clientStatus === 'pending');
  const where = joinPresent(' · ', [a.nodeName ?? a.nodeId.slice(0, 8), a.zone]);
  const restarts = a.restarts ? `${a.restarts} restart${a.restarts === 1 ? '' : 's'}` : '';
  const reason = a.reason ?? (a.clientStatus === 'failed' || a.clientStatus === 'lost' ? a.clientDescription : undefined);
  let tasks = '';
  for (const t of a.tasks) tasks += `${tasks ? '; ' : ''}${t.name} ${t.state}${t.failed ? ' (failed)' : ''}${t.restarts ? `, ${t.restarts} restarts` : ''}`;
  return {
    id: allocNodeId.alloc(a.id),
    label: `${a.shortId} ${a.name.slice(a.name.lastIndexOf('['))}`,
    description: joinPresent(' · ', [stopping ? 'stopping' : a.clientStatus, where, age(a.createTime, nowMs), restarts, reason ? `— ${reason}` : '']),
    tooltip:
      `${a.name} (${a.id})\n` +
      `Status: ${a.clientStatus} (desired ${a.desiredStatus})${a.clientDescription ? ` — ${a.clientDescription}` : ''}\n` +
      `Node: ${a.nodeName ?? a.nodeId}${a.zone ? ` in ${a.zone}` : ''}\n` +
      `Tasks: ${tasks || 'none yet'}` +
      (a.lastEvent ? `\nLast event: ${a.lastEvent.type} (${a.lastEvent.task}): ${a.lastEvent.message}` : ''),
    icon: stopping ? { id: 'debug-pause', color: 'charts.yellow' } : (ALLOC_ICONS[a.clientStatus] ?? ALLOC_ICONS.unknown!),
    contextValue: contextValue('alloc', allocState(a.clientStatus), { stopping }),
    target: { kind: 'alloc', allocId: a.id },
    copyValue: a.id,
  };
}

/**
 * Which job nodes a model change touches. `full` when the top level itself changes (the
 * connection or Nomad's state, jobs added or removed); otherwise the keys of the jobs whose
 * row or allocations changed. `jobOfAllocation` remembers where a removed allocation was.
 */
export function affectedJobs(change: ClusterChange, source: AllocationsSource, jobOfAllocation: (id: string) => string | undefined): { full: boolean; jobKeys: Set<string> } {
  const sections = new Set(change.sections);
  const jobKeys = new Set<string>();
  const full = sections.has('connection') || sections.has('nomad') || Boolean(change.jobs?.added.length || change.jobs?.removed.length) || (sections.has('jobs') && !change.jobs);
  for (const key of change.jobs?.updated ?? []) jobKeys.add(key);
  const allocs = change.allocations;
  if (allocs) {
    for (const id of [...allocs.added, ...allocs.updated]) {
      const key = source.getAllocation(id)?.jobKey ?? jobOfAllocation(id);
      if (key) jobKeys.add(key);
    }
    for (const id of allocs.removed) {
      const key = jobOfAllocation(id);
      if (key) jobKeys.add(key);
    }
  }
  // Allocations changed without saying which: nothing to narrow it down to.
  return { full: full || (sections.has('allocations') && !allocs), jobKeys };
}

/** The whole tree at once over a snapshot: the same functions the lazy view uses, expanded. */
export function buildAllocationNodes(connection: ConnectionView, snapshot: ClusterSnapshot | undefined, filter: AllocationFilter = {}, nowMs = Date.now()): ViewNode[] {
  const source = snapshot && snapshotSource(snapshot);
  const roots = allocationRoots(connection, source, filter);
  if (roots.kind === 'state') return stateRows(roots.state);
  return roots.jobs.map((j) => ({
    ...jobNode(j),
    children: jobGroups(source!, j, filter).map((g) => {
      const { all, shown, hidden } = groupAllocations(source!, j.key, g, filter);
      return { ...groupNode(j.key, g, all), children: [...shown.map((a) => allocationNode(a, nowMs)), ...(hidden ? [moreNode(j.key, g, hidden)] : [])] };
    }),
  }));
}

/** A snapshot as an AllocationsSource. */
export function snapshotSource(snapshot: ClusterSnapshot): AllocationsSource {
  const byJob = new Map<string, AllocationInfo[]>();
  for (const a of snapshot.allocations) {
    let list = byJob.get(a.jobKey);
    if (!list) byJob.set(a.jobKey, (list = []));
    list.push(a);
  }
  // By id only when asked (an eager tree build never asks).
  let byId: Map<string, AllocationInfo> | undefined;
  return {
    nomadStatus: snapshot.nomad,
    getJobs: () => snapshot.jobs,
    getJob: (key) => snapshot.jobs.find((j) => j.key === key),
    getAllocations: (jobKey, taskGroup) => (byJob.get(jobKey) ?? []).filter((a) => taskGroup === undefined || a.taskGroup === taskGroup),
    getAllocation: (id) => (byId ??= new Map(snapshot.allocations.map((a) => [a.id, a]))).get(id),
    allocationCount: snapshot.allocations.length,
  };
}

const JOB_STATES = ['pending', 'running', 'dead'] as const;
const jobState = (s: string) => ((JOB_STATES as readonly string[]).includes(s) ? (s as (typeof JOB_STATES)[number]) : 'pending');
const ALLOC_STATES = ['pending', 'running', 'complete', 'failed', 'lost', 'unknown'] as const;
const allocState = (s: string) => ((ALLOC_STATES as readonly string[]).includes(s) ? (s as (typeof ALLOC_STATES)[number]) : 'unknown');

/** A row whose job or allocation left the cluster while it was on screen. */
function goneNode(id: string, label: string): ViewNode {
  return { id, label, description: 'no longer in the cluster', icon: { id: 'circle-slash' }, contextValue: contextValue('gone') };
}

/**
 * The Allocations view's rows, lazily, over the live model: children are computed only for rows
 * that are unfolded, a row's look is read from the model when it is drawn, and `changed` tells
 * which job rows a model change touches (their task groups and allocations follow), so the view
 * re-renders those and not the whole tree. Plain: the editor's tree (src/ui/views/viewTree.ts)
 * asks it, the refresh manager decides when.
 */
export class AllocationsTree {
  /** How many allocations each task group shows (grows with "Show more"). */
  private readonly limits = new Map<string, number>();
  /** Job keys at the top of the view after the last full render. */
  private shownJobs = new Set<string>();
  /** Where each allocation seen was, for changes that remove it. */
  private readonly allocationJob = new Map<string, string>();
  private filterValue: AllocationFilter = {};

  constructor(
    private readonly input: () => { connection: ConnectionView; source: AllocationsSource | undefined; signedOut: boolean },
    private readonly now: () => number = Date.now,
  ) {}

  get filter(): AllocationFilter {
    return this.filterValue;
  }

  setFilter(filter: AllocationFilter): void {
    this.filterValue = filter;
    this.limits.clear();
  }

  /** The next page of a long task group; returns the id of the group row to re-render. */
  showMore(jobKey: string, group: string): string {
    const groupId = allocNodeId.group(jobKey, group);
    this.limits.set(groupId, (this.limits.get(groupId) ?? ALLOCATION_PAGE) + ALLOCATION_PAGE);
    return groupId;
  }

  roots(): TreeRoots {
    const { connection, source, signedOut } = this.input();
    if (signedOut) {
      this.shownJobs = new Set();
      return { state: 'welcome' };
    }
    const roots = allocationRoots(connection, source, this.filterValue);
    if (roots.kind === 'state') {
      this.shownJobs = new Set();
      return roots.state;
    }
    this.shownJobs = new Set(roots.jobs.map((j) => j.key));
    return roots.jobs.map((j) => this.jobRow(j));
  }

  children(node: ViewNode): ViewNode[] {
    const source = this.input().source;
    const t = node.target;
    if (!source || !t) return [];
    if (t.kind === 'job') {
      const job = source.getJob(t.jobKey);
      if (!job) return [];
      return jobGroups(source, job, this.filterValue).map((g) => this.groupRow(source, job.key, g));
    }
    if (t.kind === 'group') {
      const groupId = allocNodeId.group(t.jobKey, t.group);
      const { shown, hidden } = groupAllocations(source, t.jobKey, t.group, this.filterValue, this.limits.get(groupId));
      const rows = shown.map((a) => {
        this.allocationJob.set(a.id, a.jobKey);
        return allocationNode(a, this.now());
      });
      if (hidden) rows.push({ ...moreNode(t.jobKey, t.group, hidden), command: { command: CommandId.showMoreAllocations, title: 'Show More' } });
      return rows;
    }
    return [];
  }

  /** A row as it looks now (it may have changed or left the cluster since it was listed). */
  current(node: ViewNode): ViewNode {
    const source = this.input().source;
    const t = node.target;
    if (!source || !t) return node;
    switch (t.kind) {
      case 'job': {
        const job = source.getJob(t.jobKey);
        return job ? this.jobRow(job) : goneNode(node.id, t.jobKey.slice(t.jobKey.indexOf('/') + 1));
      }
      case 'group':
        return this.groupRow(source, t.jobKey, t.group);
      case 'alloc': {
        const a = source.getAllocation(t.allocId);
        return a ? allocationNode(a, this.now()) : goneNode(node.id, t.allocId.slice(0, 8));
      }
      case 'more': {
        const { hidden } = groupAllocations(source, t.jobKey, t.group, this.filterValue, this.limits.get(allocNodeId.group(t.jobKey, t.group)));
        return { ...moreNode(t.jobKey, t.group, hidden), command: { command: CommandId.showMoreAllocations, title: 'Show More' } };
      }
      default:
        return node;
    }
  }

  /**
   * What a model change means for the view: a full re-render, or the ids of the job rows it
   * touched. A job that comes into or drops out of the filter changes the top level itself.
   */
  changed(change: ClusterChange): { full: boolean; ids: string[] } {
    const source = this.input().source;
    if (!source) return { full: true, ids: [] };
    const { full, jobKeys } = affectedJobs(change, source, (id) => this.allocationJob.get(id));
    for (const id of change.allocations?.removed ?? []) this.allocationJob.delete(id);
    if (full) return { full, ids: [] };
    for (const key of jobKeys) {
      const job = source.getJob(key);
      if (Boolean(job && jobMatches(job, this.filterValue)) !== this.shownJobs.has(key)) return { full: true, ids: [] };
    }
    return { full: false, ids: [...jobKeys].map(allocNodeId.job) };
  }

  private jobRow(job: JobInfo): ViewNode {
    return { ...jobNode(job), expandable: job.taskGroups.length > 0 };
  }

  private groupRow(source: AllocationsSource, jobKey: string, group: string): ViewNode {
    const allocs = source.getAllocations(jobKey, group);
    return { ...groupNode(jobKey, group, allocs), expandable: allocs.length > 0 };
  }
}

