/**
 * What the Allocations view shows, as plain data (no `vscode`): jobs → task groups →
 * allocations with status, node, zone, age and restarts; failed allocations carry the last
 * task event as their reason. Context values (`alloc:running`, `job:dead`, …) drive the menus.
 */
import type { EnvNode, NodeIcon } from '../../attendee/environmentPresentation';
import type { AllocationInfo, ClusterSnapshot, JobInfo } from '../model';
import { allocSummary, connectionNodes, type ConnectionView } from './clusterTree';

export interface AllocationFilter {
  /** Only this job (its key, `<namespace>/<id>`). */
  jobKey?: string;
  /** Only allocations whose client status is one of these. */
  statuses?: string[];
}

export const ALLOC_ICONS: Record<string, NodeIcon> = {
  running: { id: 'pass-filled', color: 'testing.iconPassed' },
  pending: { id: 'clock', color: 'charts.yellow' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  lost: { id: 'question', color: 'charts.orange' },
  complete: { id: 'circle-large-outline', color: 'disabledForeground' },
  unknown: { id: 'question' },
};

/** `3s`, `4m`, `2h`, `5d`: the age column of `nomad job status`. */
export function age(fromMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - fromMs) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function buildAllocationNodes(connection: ConnectionView, snapshot: ClusterSnapshot | undefined, filter: AllocationFilter = {}, nowMs = Date.now()): EnvNode[] {
  const early = connectionNodes(connection, snapshot, 'This view');
  if (early) return early;
  if (!snapshot) return [];
  if (snapshot.nomad.state === 'error' && snapshot.jobs.length === 0) {
    return [{ id: 'error', label: 'Cannot read the jobs', description: snapshot.nomad.error?.split('\n', 1)[0], tooltip: snapshot.nomad.error, icon: { id: 'error', color: 'testing.iconFailed' }, contextValue: 'alloc:error', action: 'retryConnection' }];
  }
  if (snapshot.nomad.state === 'loading' && snapshot.jobs.length === 0) {
    return [{ id: 'loading', label: 'Loading jobs…', icon: { id: 'loading~spin' }, contextValue: 'alloc:loading' }];
  }
  const byJob = new Map<string, AllocationInfo[]>();
  for (const a of snapshot.allocations) {
    if (filter.statuses?.length && !filter.statuses.includes(a.clientStatus)) continue;
    let list = byJob.get(a.jobKey);
    if (!list) byJob.set(a.jobKey, (list = []));
    list.push(a);
  }
  const jobs = snapshot.jobs.filter((j) => (!filter.jobKey || j.key === filter.jobKey) && (!filter.statuses?.length || byJob.has(j.key)));
  if (jobs.length === 0) {
    const filtered = Boolean(filter.jobKey || filter.statuses?.length);
    return [
      {
        id: 'empty',
        label: filtered ? 'Nothing matches the filter' : 'No jobs yet',
        description: filtered ? 'clear the filter to see all jobs' : 'run a job file (e.g. jobs/web.nomad.hcl) to see its allocations here',
        icon: { id: filtered ? 'filter' : 'info' },
        contextValue: filtered ? 'alloc:filtered-empty' : 'alloc:empty',
      },
    ];
  }
  return jobs.map((j) => jobNode(j, byJob.get(j.key) ?? [], nowMs));
}

function jobNode(j: JobInfo, allocs: AllocationInfo[], nowMs: number): EnvNode {
  const failed = j.allocations.failed > 0 && j.allocations.running === 0;
  const groups = j.taskGroups.length ? j.taskGroups : [...new Set(allocs.map((a) => a.taskGroup))];
  return {
    id: `job/${j.key}`,
    label: j.namespace === 'default' ? j.id : `${j.id} (${j.namespace})`,
    description: `${j.type} · ${j.stop ? 'stopped' : j.status} · ${allocSummary(j.allocations)}`,
    tooltip: `Job ${j.id} (${j.type}) in namespace ${j.namespace}\nStatus: ${j.status}${j.stop ? ' (stopped)' : ''}\nDatacenters: ${j.datacenters.join(', ') || '*'}`,
    icon: j.status === 'dead' ? { id: 'debug-stop', color: 'disabledForeground' } : failed ? { id: 'error', color: 'testing.iconFailed' } : j.status === 'pending' ? { id: 'clock', color: 'charts.yellow' } : { id: 'package' },
    contextValue: `job:${j.status}${j.stop ? ' stopped' : ''}`,
    copyValue: j.id,
    children: groups.map((g) => {
      const mine = allocs.filter((a) => a.taskGroup === g).sort(byNewest);
      // Running first, then the rest by recency: what an attendee is looking for.
      return {
        id: `job/${j.key}/group/${g}`,
        label: g,
        description: `task group · ${mine.filter((a) => a.clientStatus === 'running').length} running of ${mine.filter((a) => a.desiredStatus === 'run').length} wanted`,
        icon: { id: 'symbol-namespace' },
        contextValue: 'alloc:group',
        collapsed: mine.length > 20,
        children: mine.map((a) => allocationNode(a, nowMs)),
      };
    }),
  };
}

function byNewest(a: AllocationInfo, b: AllocationInfo): number {
  const rank = (x: AllocationInfo) => (x.clientStatus === 'running' ? 0 : x.clientStatus === 'pending' ? 1 : x.clientStatus === 'failed' ? 2 : 3);
  return rank(a) - rank(b) || b.createTime - a.createTime;
}

export function allocationNode(a: AllocationInfo, nowMs: number): EnvNode {
  const stopping = a.desiredStatus !== 'run' && (a.clientStatus === 'running' || a.clientStatus === 'pending');
  const where = [a.nodeName ?? a.nodeId.slice(0, 8), a.zone].filter(Boolean).join(' · ');
  const parts = [stopping ? 'stopping' : a.clientStatus, where, age(a.createTime, nowMs), a.restarts ? `${a.restarts} restart${a.restarts === 1 ? '' : 's'}` : ''];
  const reason = a.reason ?? (a.clientStatus === 'failed' || a.clientStatus === 'lost' ? a.clientDescription : undefined);
  return {
    id: `alloc/${a.id}`,
    label: `${a.shortId} ${a.name.slice(a.name.lastIndexOf('['))}`,
    description: [...parts, reason ? `— ${reason}` : ''].filter(Boolean).join(' · '),
    tooltip: [
      `${a.name} (${a.id})`,
      `Status: ${a.clientStatus} (desired ${a.desiredStatus})${a.clientDescription ? ` — ${a.clientDescription}` : ''}`,
      `Node: ${a.nodeName ?? a.nodeId}${a.zone ? ` in ${a.zone}` : ''}`,
      `Tasks: ${a.tasks.map((t) => `${t.name} ${t.state}${t.failed ? ' (failed)' : ''}${t.restarts ? `, ${t.restarts} restarts` : ''}`).join('; ') || 'none yet'}`,
      ...(a.lastEvent ? [`Last event: ${a.lastEvent.type} (${a.lastEvent.task}): ${a.lastEvent.message}`] : []),
    ].join('\n'),
    icon: stopping ? { id: 'debug-pause', color: 'charts.yellow' } : (ALLOC_ICONS[a.clientStatus] ?? ALLOC_ICONS.unknown!),
    contextValue: `alloc:${a.clientStatus}${stopping ? ' stopping' : ''}`,
    copyValue: a.id,
  };
}
