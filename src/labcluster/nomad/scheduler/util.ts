// Scheduler helpers: the ready nodes a job may use, whether a task group changed destructively,
// and the stable pseudo-random numbers placement uses for tie-breaks and dynamic ports. Nomad's
// scheduler/util.go (readyNodesInDCsAndPool, tasksUpdated), simplified.
import type { TaskGroup } from '../../jobspec';
import type { LabNode } from '../../topology';
import type { StoredJob } from '../structs';

/** A number in [0, 1) that depends only on `a` and `b` (FNV-1a). */
export function hashScore(a: string, b: string): number {
  let h = 2166136261;
  for (const c of a + '|' + b) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return (h >>> 0) / 2 ** 32;
}

/** A datacenter pattern of a job (`*` globs) against a node's datacenter. */
export function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return re.test(value);
}

/** The parts of a task group that force a destructive update when they change. */
export function tgSpec(tg: TaskGroup): string {
  const { Count: _c, Meta: _m, ...rest } = tg;
  return JSON.stringify(rest);
}

/** The job's node pool and datacenters: the nodes that may take its allocations now, and the counts AllocMetric reports. */
export function candidateNodes(nodes: ReadonlyMap<string, LabNode>, job: StoredJob): { nodes: LabNode[]; available: Record<string, number>; inPool: number } {
  const dcs = job.Datacenters && job.Datacenters.length ? job.Datacenters : ['*'];
  const pool = job.NodePool || 'default';
  const available: Record<string, number> = {};
  let inPool = 0;
  const out: LabNode[] = [];
  for (const n of nodes.values()) {
    if (pool !== 'all' && n.NodePool !== pool) continue;
    inPool++;
    if (!dcs.some((d) => globMatch(d, n.Datacenter))) continue;
    if (n.Status !== 'ready' || n.DrainStrategy || n.SchedulingEligibility !== 'eligible') continue;
    available[n.Datacenter] = (available[n.Datacenter] ?? 0) + 1;
    out.push(n);
  }
  return { nodes: out, available, inPool };
}
