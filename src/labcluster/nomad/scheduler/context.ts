// What the scheduler reads (the cluster state) and what one evaluation's plan holds while it is
// built: the allocations told to stop, the placements made, and the per-node usage that follows
// from them. Nomad's scheduler/scheduler.go (the State interface), scheduler/context.go
// (EvalContext and ProposedAllocs) and the plan of nomad/structs (Plan, DesiredUpdates),
// simplified.
import type { TaskGroup } from '../../jobspec';
import type { LabNode } from '../../topology';
import { isLive, isTerminal, tgResources, type AllocMetric, type AllocPort, type Deployment, type DesiredUpdates, type LabAlloc, type StoredJob } from '../structs';
import { hashScore } from './util';

/** The cluster state as the scheduler reads it (Nomad's scheduler.State: a state snapshot). */
export interface SchedulerState {
  readonly nodes: ReadonlyMap<string, LabNode>;
  readonly allocs: ReadonlyMap<string, LabAlloc>;
  readonly deployments: ReadonlyMap<string, Deployment>;
  jobAllocs(ns: string, id: string): LabAlloc[];
  activeDeployment(job: StoredJob): Deployment | undefined;
}

export interface Placement {
  tg: TaskGroup;
  name: string;
  nodeId: string;
  previous?: LabAlloc;
  ports: AllocPort[];
  metric: AllocMetric;
}

export interface PlanResult {
  place: Placement[];
  stop: { alloc: LabAlloc; description: string; clientStatus?: LabAlloc['ClientStatus'] }[];
  inPlace: LabAlloc[];
  failed: Record<string, AllocMetric>;
  queued: Record<string, number>;
  desired: Record<string, DesiredUpdates>;
  /** destructive updates held back by the update block's max_parallel */
  pendingUpdates: number;
}

/** Records an allocation the plan stops (once), with the description and client status it gets. */
export type StopFn = (a: LabAlloc, description: string, clientStatus?: LabAlloc['ClientStatus']) => void;
/** Records a placement that found no node, coalescing the group's failures as Nomad does. */
export type FailFn = (tg: TaskGroup, metric: AllocMetric) => void;

/** Resources one node holds in a plan being built; `ports` counts holders per port. */
interface NodeUsage {
  cpu: number;
  mem: number;
  ports: Map<number, number>;
}

/**
 * What one reconcile has decided so far (allocations told to stop, placements made) and the
 * per-node totals that follow from it, kept as running sums. The scheduler asks "what does this
 * node hold, and how many of this group are on it?" for every candidate node of every
 * placement; rescanning all allocations for each answer made placing a 2,000-allocation job
 * quadratic (bench/README.md, lab cluster). Reconcile only reads the allocations, so the sums
 * taken at its start stay true until the plan is applied.
 */
export class PlanState {
  readonly stopping = new Set<string>();
  private readonly usage = new Map<string, NodeUsage>();
  /** Allocations counted in `usage` (live, desired run), so a stop releases only what was counted. */
  private readonly counted = new Set<string>();
  /** Per task group of the job, per node: its non-terminal allocations (stopping or not, as scoring counts them). */
  private readonly groups = new Map<string, Map<string, number>>();
  /** How many of `placed` are in the sums. */
  private seen = 0;
  /** The job's candidate nodes: nodes do not change while a plan is built. */
  candidates: { nodes: LabNode[]; available: Record<string, number>; inPool: number } | undefined;
  private readonly tieBreaks = new Map<string, number>();

  constructor(
    allocs: Iterable<LabAlloc>,
    job: StoredJob,
    readonly placed: Placement[],
    private readonly salt: string,
  ) {
    for (const a of allocs) {
      // As Nomad's AllocsFit: an allocation told to stop (or evict) no longer counts, even while
      // its tasks are still shutting down, so a job stopped and run again places at once.
      if (isLive(a) && a.DesiredStatus === 'run') {
        this.counted.add(a.ID);
        this.add(a.NodeID, a.cpu, a.memoryMB, a.ports, 1);
      }
      if (a.JobID === job.ID && a.Namespace === job.Namespace && !isTerminal(a)) this.bump(a.TaskGroup, a.NodeID);
    }
  }

  /** Marks `a` as stopping; false if it already was. */
  stop(a: LabAlloc): boolean {
    if (this.stopping.has(a.ID)) return false;
    this.stopping.add(a.ID);
    if (this.counted.delete(a.ID)) this.add(a.NodeID, a.cpu, a.memoryMB, a.ports, -1);
    return true;
  }

  /** What `nodeId` holds: its live allocations not stopping, plus this plan's placements on it. */
  nodeUsage(nodeId: string): { cpu: number; mem: number; ports: ReadonlyMap<number, number> } {
    this.sync();
    return this.usage.get(nodeId) ?? { cpu: 0, mem: 0, ports: new Map() };
  }

  /** The job's allocations of `group` on `nodeId` (non-terminal ones and this plan's placements). */
  groupOnNode(group: string, nodeId: string): number {
    this.sync();
    return this.groups.get(group)?.get(nodeId) ?? 0;
  }

  /** The job's allocations of `group` per node, as groupOnNode counts them. */
  groupByNode(group: string): ReadonlyMap<string, number> {
    this.sync();
    return this.groups.get(group) ?? new Map();
  }

  /** The evaluation's stable pseudo-random tie-break for a node (the same for every placement of the plan). */
  tieBreak(nodeId: string): number {
    let h = this.tieBreaks.get(nodeId);
    if (h === undefined) this.tieBreaks.set(nodeId, (h = hashScore(this.salt, nodeId)));
    return h;
  }

  /** Placements are only ever appended to `placed`: fold in the new ones. */
  private sync(): void {
    for (; this.seen < this.placed.length; this.seen++) {
      const p = this.placed[this.seen]!;
      const r = tgResources(p.tg);
      this.add(p.nodeId, r.cpu, r.mem, p.ports, 1);
      this.bump(p.tg.Name, p.nodeId);
    }
  }

  private add(nodeId: string, cpu: number, mem: number, ports: AllocPort[], sign: 1 | -1): void {
    let u = this.usage.get(nodeId);
    if (!u) this.usage.set(nodeId, (u = { cpu: 0, mem: 0, ports: new Map() }));
    u.cpu += sign * cpu;
    u.mem += sign * mem;
    for (const p of ports) {
      const n = (u.ports.get(p.Value) ?? 0) + sign;
      if (n > 0) u.ports.set(p.Value, n);
      else u.ports.delete(p.Value);
    }
  }

  private bump(group: string, nodeId: string): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Map()));
    g.set(nodeId, (g.get(nodeId) ?? 0) + 1);
  }
}
