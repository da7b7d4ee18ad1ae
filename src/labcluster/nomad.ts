// The simulated Nomad cluster: jobs, evaluations, allocations, deployments and nodes in one
// state store, the scheduler (service/system/batch placement with constraints, spread and bin
// packing) and the client side (task lifecycle, restarts, the docker driver model, logs).
// Field names and wording follow the shared nomad-consul-api reference (§2–§4).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { canonicalizeJob, DockerRegistryModel, dockerErrors, hostPathVolumes, type NomadJob, type TaskGroup, type Task, type Constraint, type Service } from './jobspec';
import { checkConstraint, constraintString, resolveTarget } from './constraints';
import { IndexStore, type StreamEvent } from './store';
import { events as ev, goDurationString, nowNs, runCommand, type TaskState } from './tasks';
import { buildNodes, nodeJson, type LabNode, type LabTopology } from './topology';

export const REGION = 'global';

export interface StoredJob extends NomadJob {
  Namespace: string;
  Type: string;
  Status: string;
  Version: number;
  Stop: boolean;
  SubmitTime: number;
  CreateIndex: number;
  ModifyIndex: number;
  JobModifyIndex: number;
}

export interface AllocPort {
  Label: string;
  Value: number;
  To: number;
  HostIP: string;
}

interface LogStream {
  data: Buffer;
  heartbeat?: string;
  heartbeatFrom?: number;
  heartbeatCount: number;
}

export interface LabAlloc {
  ID: string;
  EvalID: string;
  Name: string;
  Namespace: string;
  NodeID: string;
  NodeName: string;
  JobID: string;
  JobType: string;
  JobVersion: number;
  TaskGroup: string;
  DesiredStatus: 'run' | 'stop' | 'evict';
  DesiredDescription: string;
  ClientStatus: 'pending' | 'running' | 'complete' | 'failed' | 'lost' | 'unknown';
  ClientDescription: string;
  DesiredTransition: { Migrate: boolean | null; Reschedule: boolean | null; ForceReschedule: boolean | null; NoShutdownDelay: boolean | null };
  TaskStates: Record<string, TaskState> | null;
  DeploymentID: string;
  DeploymentStatus: { Healthy: boolean | null; Timestamp: string; Canary: boolean; ModifyIndex: number } | null;
  FollowupEvalID: string;
  NextAllocation: string;
  PreviousAllocation: string;
  RescheduleTracker: { Events: { RescheduleTime: number; PrevAllocID: string; PrevNodeID: string; Delay: number }[] } | null;
  CreateIndex: number;
  ModifyIndex: number;
  AllocModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
  Metrics: Record<string, unknown>;
  job: StoredJob;
  cpu: number;
  memoryMB: number;
  ports: AllocPort[];
  logs: Map<string, LogStream>;
  timers: Set<NodeJS.Timeout>;
  restartTimes: Map<string, number[]>;
  healthTimer?: NodeJS.Timeout;
}

export interface Evaluation {
  ID: string;
  Namespace: string;
  Priority: number;
  Type: string;
  TriggeredBy: string;
  JobID: string;
  JobModifyIndex: number;
  NodeID: string;
  NodeModifyIndex: number;
  DeploymentID: string;
  Status: 'pending' | 'complete' | 'failed' | 'blocked' | 'canceled';
  StatusDescription: string;
  Wait: number;
  WaitUntil: string;
  NextEval: string;
  PreviousEval: string;
  BlockedEval: string;
  RelatedEvals: null;
  FailedTGAllocs: Record<string, AllocMetric> | null;
  ClassEligibility: Record<string, boolean> | null;
  EscapedComputedClass: boolean;
  QuotaLimitReached: string;
  AnnotatePlan: boolean;
  QueuedAllocations: Record<string, number> | null;
  SnapshotIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
}

export interface Deployment {
  ID: string;
  Namespace: string;
  JobID: string;
  JobVersion: number;
  JobModifyIndex: number;
  JobSpecModifyIndex: number;
  JobCreateIndex: number;
  IsMultiregion: boolean;
  TaskGroups: Record<
    string,
    { AutoRevert: boolean; AutoPromote: boolean; ProgressDeadline: number; RequireProgressBy: string; Promoted: boolean; PlacedCanaries: string[] | null; DesiredCanaries: number; DesiredTotal: number; PlacedAllocs: number; HealthyAllocs: number; UnhealthyAllocs: number }
  >;
  Status: string;
  StatusDescription: string;
  EvalPriority: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface AllocMetric {
  NodesEvaluated: number;
  NodesFiltered: number;
  NodesInPool: number;
  NodesAvailable: Record<string, number>;
  ClassFiltered: Record<string, number> | null;
  ConstraintFiltered: Record<string, number> | null;
  NodesExhausted: number;
  ClassExhausted: Record<string, number> | null;
  DimensionExhausted: Record<string, number> | null;
  QuotaExhausted: string[] | null;
  ResourcesExhausted: Record<string, unknown> | null;
  Scores: Record<string, number> | null;
  ScoreMetaData: unknown[] | null;
  AllocationTime: number;
  CoalescedFailures: number;
}

export interface DesiredUpdates {
  Ignore: number;
  Place: number;
  Migrate: number;
  Stop: number;
  InPlaceUpdate: number;
  DestructiveUpdate: number;
  Canary: number;
  Preemptions: number;
}

interface Placement {
  tg: TaskGroup;
  name: string;
  nodeId: string;
  previous?: LabAlloc;
  ports: AllocPort[];
  metric: AllocMetric;
}

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
class PlanState {
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

export interface LabNomadOptions {
  topology: LabTopology;
  name: string;
  /** real seconds per simulated second for restart/reschedule delays and task lifetimes */
  timeScale: number;
  /** how long a started task must run before the lab counts it healthy (ms) */
  healthyAfterMs: number;
  /** delay of each client step (received → setup → driver → started) in ms */
  stepMs: number;
}

export class NotFound extends Error {}
export class BadRequest extends Error {}

const SECOND = 1e9;
const terminalClient = new Set(['complete', 'failed', 'lost']);
export const isTerminal = (a: LabAlloc): boolean => a.DesiredStatus !== 'run' || terminalClient.has(a.ClientStatus);
/** An allocation still holding resources on its node. */
const isLive = (a: LabAlloc): boolean => !terminalClient.has(a.ClientStatus) && !(a.DesiredStatus !== 'run' && a.ClientStatus === 'pending' && !a.TaskStates);

function hashScore(a: string, b: string): number {
  let h = 2166136261;
  for (const c of a + '|' + b) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return (h >>> 0) / 2 ** 32;
}

function emptyMetric(): AllocMetric {
  return {
    NodesEvaluated: 0,
    NodesFiltered: 0,
    NodesInPool: 0,
    NodesAvailable: {},
    ClassFiltered: null,
    ConstraintFiltered: null,
    NodesExhausted: 0,
    ClassExhausted: null,
    DimensionExhausted: null,
    QuotaExhausted: null,
    ResourcesExhausted: null,
    Scores: null,
    ScoreMetaData: null,
    AllocationTime: 0,
    CoalescedFailures: 0,
  };
}

const emptyUpdates = (): DesiredUpdates => ({ Ignore: 0, Place: 0, Migrate: 0, Stop: 0, InPlaceUpdate: 0, DestructiveUpdate: 0, Canary: 0, Preemptions: 0 });

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return re.test(value);
}

/** The parts of a task group that force a destructive update when they change. */
function tgSpec(tg: TaskGroup): string {
  const { Count: _c, Meta: _m, ...rest } = tg;
  return JSON.stringify(rest);
}

export function allocIndex(name: string): number {
  const m = /\[(\d+)\]$/.exec(name);
  return m ? Number(m[1]) : 0;
}

function tgResources(tg: TaskGroup): { cpu: number; mem: number } {
  let cpu = 0;
  let mem = 0;
  for (const t of tg.Tasks ?? []) {
    cpu += t.Resources?.CPU ?? 100;
    mem += t.Resources?.MemoryMB ?? 300;
  }
  return { cpu, mem };
}

function restartPolicy(tg: TaskGroup, task: Task, jobType: string) {
  const p = { ...(tg.RestartPolicy ?? {}), ...(task.RestartPolicy ?? {}) };
  const batch = jobType === 'batch' || jobType === 'sysbatch';
  return {
    Attempts: p.Attempts ?? (batch ? 3 : 2),
    Interval: p.Interval ?? (batch ? 24 * 3600 * SECOND : 30 * 60 * SECOND),
    Delay: p.Delay ?? 15 * SECOND,
    Mode: p.Mode ?? 'fail',
  };
}

export class LabNomad extends EventEmitter {
  readonly store = new IndexStore();
  readonly nodes = new Map<string, LabNode>();
  readonly jobs = new Map<string, StoredJob>();
  readonly jobVersions = new Map<string, StoredJob[]>();
  readonly allocs = new Map<string, LabAlloc>();
  readonly evals = new Map<string, Evaluation>();
  readonly deployments = new Map<string, Deployment>();
  readonly registry = new DockerRegistryModel();
  /** whether templates can read Consul (set by the cluster once its Consul model exists) */
  consulAvailable: () => boolean = () => false;
  /** job sources sent with registrations (GET /v1/job/:id/submission), by `ns/id@version` */
  readonly submissions = new Map<string, { Source: string; Format: string; VariableFlags: Record<string, string> | null; Variables: string; JobIndex: number }>();
  private readonly queued = new Map<string, Record<string, number>>();
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  leaderIndex = 0;

  constructor(readonly opts: LabNomadOptions) {
    super();
    this.setMaxListeners(0);
    for (const n of buildNodes(opts.topology, opts.name, 1)) this.nodes.set(n.ID, n);
    this.on('kv', (key: string) => this.templatesChanged(key));
  }

  /**
   * A Consul key changed: tasks whose templates read it re-render and, per change_mode, restart
   * or get signalled (the cache job's lesson).
   */
  private templatesChanged(key: string): void {
    for (const a of this.allocs.values()) {
      if (a.ClientStatus !== 'running' || a.DesiredStatus !== 'run') continue;
      for (const t of this.tasksOf(a)) {
        const reads = (t.Templates ?? []).filter((tm) => [...String(tm.EmbeddedTmpl ?? '').matchAll(/\b(?:key|keyOrDefault|ls|tree)\s+"([^"]*)"/g)].some((m) => m[1] === key || (m[1] && key.startsWith(m[1].replace(/\/?$/, '/')))));
        const ts = a.TaskStates?.[t.Name];
        if (!reads.length || !ts || ts.State !== 'running') continue;
        if (reads.some((tm) => (tm.ChangeMode ?? 'restart') === 'restart')) {
          this.restartTask(a, t, ev.restartSignaledBy('Template with change_mode restart re-rendered'));
        } else if (reads.some((tm) => tm.ChangeMode === 'signal')) {
          const sig = reads.find((tm) => tm.ChangeMode === 'signal')?.ChangeSignal ?? 'SIGHUP';
          this.addEvent(a, t.Name, ev.signaling(sig, 'Template re-rendered'));
        }
      }
      this.update(a);
    }
  }

  // ------------------------------------------------------------------ helpers

  private key(ns: string, id: string): string {
    return `${ns}/${id}`;
  }

  /** A timer that dies with the cluster. */
  later(ms: number, fn: () => void, owner?: Set<NodeJS.Timeout>): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      owner?.delete(t);
      if (!this.closed) fn();
    }, Math.max(0, ms));
    this.timers.add(t);
    owner?.add(t);
  }

  scaled(ns: number): number {
    return (ns / 1e6) * this.opts.timeScale;
  }

  close(): void {
    this.closed = true;
    this.emit('closing');
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const a of this.allocs.values()) if (a.healthTimer) clearTimeout(a.healthTimer);
    this.store.releaseAll();
    this.removeAllListeners();
  }

  servers(): LabNode[] {
    return [...this.nodes.values()].filter((n) => n.isServer);
  }

  /** The leader is the first server (by name) whose node is up; the others follow it. */
  leader(): LabNode | undefined {
    const servers = this.servers().sort((a, b) => a.Name.localeCompare(b.Name));
    const up = servers.filter((s) => s.Status !== 'down');
    if (up.length * 2 <= servers.length) return undefined;
    return up[this.leaderIndex % up.length];
  }

  getJob(ns: string, id: string): StoredJob | undefined {
    return this.jobs.get(this.key(ns, id));
  }

  jobAllocs(ns: string, id: string): LabAlloc[] {
    return [...this.allocs.values()].filter((a) => a.Namespace === ns && a.JobID === id);
  }

  findNode(id: string): LabNode | undefined {
    return this.nodes.get(id) ?? [...this.nodes.values()].find((n) => n.Name === id);
  }

  // ------------------------------------------------------------------ JSON views

  jobStatus(job: StoredJob): string {
    const allocs = this.jobAllocs(job.Namespace, job.ID);
    if (job.Type === 'system' || job.Periodic || job.ParameterizedJob) return job.Stop ? 'dead' : 'running';
    if (allocs.some((a) => !isTerminal(a))) return 'running';
    const evals = [...this.evals.values()].filter((e) => e.JobID === job.ID && e.Namespace === job.Namespace);
    if (evals.some((e) => e.Status === 'pending' || e.Status === 'blocked')) return 'pending';
    if (evals.length || allocs.length || job.Stop) return 'dead';
    return 'pending';
  }

  jobSummary(job: StoredJob): Record<string, unknown> {
    const summary: Record<string, Record<string, number>> = {};
    const queued = this.queued.get(this.key(job.Namespace, job.ID)) ?? {};
    for (const tg of job.TaskGroups) summary[tg.Name] = { Queued: queued[tg.Name] ?? 0, Complete: 0, Failed: 0, Running: 0, Starting: 0, Lost: 0, Unknown: 0 };
    let modify = job.CreateIndex;
    for (const a of this.jobAllocs(job.Namespace, job.ID)) {
      const s = (summary[a.TaskGroup] ??= { Queued: 0, Complete: 0, Failed: 0, Running: 0, Starting: 0, Lost: 0, Unknown: 0 });
      modify = Math.max(modify, a.ModifyIndex);
      if (a.ClientStatus === 'pending') s.Starting = (s.Starting ?? 0) + 1;
      else if (a.ClientStatus === 'running') s.Running = (s.Running ?? 0) + 1;
      else if (a.ClientStatus === 'complete') s.Complete = (s.Complete ?? 0) + 1;
      else if (a.ClientStatus === 'failed') s.Failed = (s.Failed ?? 0) + 1;
      else if (a.ClientStatus === 'lost') s.Lost = (s.Lost ?? 0) + 1;
      else s.Unknown = (s.Unknown ?? 0) + 1;
    }
    return { JobID: job.ID, Namespace: job.Namespace, Summary: summary, Children: { Pending: 0, Running: 0, Dead: 0 }, CreateIndex: job.CreateIndex, ModifyIndex: modify };
  }

  jobJson(job: StoredJob): Record<string, unknown> {
    return { ...job, Status: this.jobStatus(job) };
  }

  jobStub(job: StoredJob, withMeta: boolean): Record<string, unknown> {
    return {
      ID: job.ID,
      ParentID: job.ParentID ?? '',
      Name: job.Name,
      Namespace: job.Namespace,
      Datacenters: job.Datacenters ?? [],
      NodePool: job.NodePool || 'default',
      Multiregion: null,
      Type: job.Type,
      Priority: job.Priority ?? 50,
      Periodic: !!job.Periodic,
      ParameterizedJob: !!job.ParameterizedJob,
      Stop: job.Stop,
      Status: this.jobStatus(job),
      StatusDescription: job.StatusDescription ?? '',
      JobSummary: this.jobSummary(job),
      CreateIndex: job.CreateIndex,
      ModifyIndex: job.ModifyIndex,
      JobModifyIndex: job.JobModifyIndex,
      SubmitTime: job.SubmitTime,
      ...(withMeta ? { Meta: job.Meta ?? null } : {}),
    };
  }

  allocStub(a: LabAlloc, withResources = false, withTaskStates = true): Record<string, unknown> {
    return {
      ID: a.ID,
      EvalID: a.EvalID,
      Name: a.Name,
      Namespace: a.Namespace,
      NodeID: a.NodeID,
      NodeName: a.NodeName,
      JobID: a.JobID,
      JobType: a.JobType,
      JobVersion: a.JobVersion,
      TaskGroup: a.TaskGroup,
      ...(withResources ? { AllocatedResources: this.allocatedResources(a) } : {}),
      DesiredStatus: a.DesiredStatus,
      DesiredDescription: a.DesiredDescription,
      ClientStatus: a.ClientStatus,
      ClientDescription: a.ClientDescription,
      DesiredTransition: a.DesiredTransition,
      TaskStates: withTaskStates ? a.TaskStates : null,
      DeploymentStatus: a.DeploymentStatus,
      FollowupEvalID: a.FollowupEvalID,
      NextAllocation: a.NextAllocation,
      RescheduleTracker: a.RescheduleTracker,
      PreemptedAllocations: null,
      PreemptedByAllocation: '',
      CreateIndex: a.CreateIndex,
      ModifyIndex: a.ModifyIndex,
      CreateTime: a.CreateTime,
      ModifyTime: a.ModifyTime,
    };
  }

  allocatedResources(a: LabAlloc): Record<string, unknown> {
    const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup);
    const node = this.nodes.get(a.NodeID);
    const tasks: Record<string, unknown> = {};
    for (const t of tg?.Tasks ?? []) {
      tasks[t.Name] = { Cpu: { CpuShares: t.Resources?.CPU ?? 100, ReservedCores: null }, Memory: { MemoryMB: t.Resources?.MemoryMB ?? 300, MemoryMaxMB: t.Resources?.MemoryMaxMB ?? 0 }, Networks: null, Devices: null };
    }
    const ports = a.ports.length ? a.ports : null;
    return {
      Tasks: tasks,
      TaskLifecycles: Object.fromEntries((tg?.Tasks ?? []).map((t) => [t.Name, t.Lifecycle ?? null])),
      Shared: {
        Networks: a.ports.length
          ? [{ Mode: 'host', Device: 'ens4', IP: node?.Address ?? '', MBits: 0, ReservedPorts: a.ports.filter((p) => this.isStatic(a, p.Label)).map((p) => ({ Label: p.Label, Value: p.Value, To: p.To, HostNetwork: 'default' })), DynamicPorts: a.ports.filter((p) => !this.isStatic(a, p.Label)).map((p) => ({ Label: p.Label, Value: p.Value, To: p.To, HostNetwork: 'default' })) }]
          : null,
        DiskMB: tg?.EphemeralDisk?.SizeMB ?? 300,
        Ports: ports,
      },
    };
  }

  private isStatic(a: LabAlloc, label: string): boolean {
    const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup);
    return !!tg?.Networks?.some((n) => n.ReservedPorts?.some((p) => p.Label === label));
  }

  allocJson(a: LabAlloc, withJob = true): Record<string, unknown> {
    const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup);
    const services = [...(tg?.Services ?? []), ...(tg?.Tasks ?? []).flatMap((t) => t.Services ?? [])];
    // Appended to the stub rather than spread into a new literal: spreading its ~30 fields and
    // adding a dozen more made V8 build every allocation's JSON in dictionary mode (20 µs each;
    // 2,000 of them when a 2,000-allocation job is placed, for the event stream).
    const out = this.allocStub(a);
    if (withJob) out['Job'] = a.job;
    return Object.assign(out, {
      Resources: { CPU: a.cpu, MemoryMB: a.memoryMB, DiskMB: tg?.EphemeralDisk?.SizeMB ?? 300, IOPS: 0, Networks: null, Devices: null },
      SharedResources: { CPU: 0, MemoryMB: 0, DiskMB: tg?.EphemeralDisk?.SizeMB ?? 300, Networks: null },
      TaskResources: Object.fromEntries((tg?.Tasks ?? []).map((t) => [t.Name, { CPU: t.Resources?.CPU ?? 100, MemoryMB: t.Resources?.MemoryMB ?? 300, DiskMB: 0, IOPS: 0, Networks: null }])),
      AllocatedResources: this.allocatedResources(a),
      Services: Object.fromEntries(services.map((s) => [s.Name, ''])),
      Metrics: a.Metrics,
      DeploymentID: a.DeploymentID,
      PreviousAllocation: a.PreviousAllocation,
      AllocModifyIndex: a.AllocModifyIndex,
      NetworkStatus: null,
      SignedIdentities: null,
    });
  }

  /** The event payload form of an allocation: the full allocation without its Job. */
  allocEvent(a: LabAlloc, type: string): Omit<StreamEvent, 'Index'> {
    return { Topic: 'Allocation', Type: type, Key: a.ID, Namespace: a.Namespace, FilterKeys: [a.JobID, a.DeploymentID].filter(Boolean), Payload: { Allocation: this.allocJson(a, false) } };
  }

  evalEvent(e: Evaluation): Omit<StreamEvent, 'Index'> {
    return { Topic: 'Evaluation', Type: 'EvaluationUpdated', Key: e.ID, Namespace: e.Namespace, FilterKeys: [e.JobID, e.DeploymentID].filter(Boolean), Payload: { Evaluation: { ...e } } };
  }

  jobEvent(j: StoredJob, type: string): Omit<StreamEvent, 'Index'> {
    return { Topic: 'Job', Type: type, Key: j.ID, Namespace: j.Namespace, FilterKeys: null, Payload: { Job: this.jobJson(j) } };
  }

  nodeEvent(n: LabNode, type: string): Omit<StreamEvent, 'Index'> {
    return { Topic: 'Node', Type: type, Key: n.ID, Namespace: '', FilterKeys: null, Payload: { Node: nodeJson(n) } };
  }

  deploymentEvent(d: Deployment, type: string): Omit<StreamEvent, 'Index'> {
    return { Topic: 'Deployment', Type: type, Key: d.ID, Namespace: d.Namespace, FilterKeys: [d.JobID], Payload: { Deployment: { ...d } } };
  }

  // ------------------------------------------------------------------ writes

  /** Apply one write: stamps the index on the objects and publishes their events. */
  private commit(changes: { allocs?: { a: LabAlloc; type: string }[]; evals?: Evaluation[]; jobs?: { j: StoredJob; type: string }[]; nodes?: { n: LabNode; type: string }[]; deployments?: { d: Deployment; type: string }[] }): number {
    const idx = this.store.index + 1;
    const tables = new Set<string>();
    const out: Omit<StreamEvent, 'Index'>[] = [];
    const now = nowNs();
    for (const { j, type } of changes.jobs ?? []) {
      j.ModifyIndex = idx;
      tables.add('jobs').add('job_summary');
      out.push(this.jobEvent(j, type));
    }
    for (const e of changes.evals ?? []) {
      e.ModifyIndex = idx;
      e.ModifyTime = now;
      if (!e.CreateIndex) e.CreateIndex = idx;
      tables.add('evals').add('jobs');
      out.push(this.evalEvent(e));
    }
    for (const { a, type } of changes.allocs ?? []) {
      a.ModifyIndex = idx;
      a.ModifyTime = now;
      if (!a.CreateIndex) a.CreateIndex = idx;
      tables.add('allocs').add('job_summary').add('jobs');
      out.push(this.allocEvent(a, type));
    }
    for (const { n, type } of changes.nodes ?? []) {
      n.ModifyIndex = idx;
      tables.add('nodes');
      out.push(this.nodeEvent(n, type));
    }
    for (const { d, type } of changes.deployments ?? []) {
      d.ModifyIndex = idx;
      if (!d.CreateIndex) d.CreateIndex = idx;
      tables.add('deployment');
      out.push(this.deploymentEvent(d, type));
    }
    const written = this.store.write([...tables], out);
    if (changes.allocs?.length) this.emit('allocs', changes.allocs.map((x) => x.a));
    if (changes.nodes?.length) this.emit('nodes', changes.nodes.map((x) => x.n));
    return written;
  }

  private newEval(job: { ID: string; Namespace: string; Type: string; Priority?: number; JobModifyIndex?: number }, triggeredBy: string, extra: Partial<Evaluation> = {}): Evaluation {
    const now = nowNs();
    return {
      ID: randomUUID(),
      Namespace: job.Namespace,
      Priority: job.Priority ?? 50,
      Type: job.Type,
      TriggeredBy: triggeredBy,
      JobID: job.ID,
      JobModifyIndex: job.JobModifyIndex ?? 0,
      NodeID: '',
      NodeModifyIndex: 0,
      DeploymentID: '',
      Status: 'pending',
      StatusDescription: '',
      Wait: 0,
      WaitUntil: '0001-01-01T00:00:00Z',
      NextEval: '',
      PreviousEval: '',
      BlockedEval: '',
      RelatedEvals: null,
      FailedTGAllocs: null,
      ClassEligibility: null,
      EscapedComputedClass: false,
      QuotaLimitReached: '',
      AnnotatePlan: false,
      QueuedAllocations: null,
      SnapshotIndex: 0,
      CreateIndex: 0,
      ModifyIndex: 0,
      CreateTime: now,
      ModifyTime: now,
      ...extra,
    };
  }

  /** Creates an evaluation and processes it on the next tick (the scheduler worker). */
  enqueueEval(job: StoredJob, triggeredBy: string, extra: Partial<Evaluation> = {}): Evaluation {
    const e = this.newEval(job, triggeredBy, extra);
    this.evals.set(e.ID, e);
    this.commit({ evals: [e] });
    this.later(this.opts.stepMs / 2, () => this.processEval(e.ID));
    return e;
  }

  // ------------------------------------------------------------------ jobs

  registerJob(input: NomadJob, ns: string): { job: StoredJob; evalId: string; index: number } {
    const canon = canonicalizeJob(input, { server: true });
    const k = this.key(ns, canon.ID);
    const prev = this.jobs.get(k);
    const spec = (j: NomadJob): string => {
      const { Status: _s, StatusDescription: _sd, Version: _v, SubmitTime: _st, CreateIndex: _ci, ModifyIndex: _mi, JobModifyIndex: _jmi, Stable: _sb, Stop: _sp, ...rest } = j;
      return JSON.stringify(rest);
    };
    const changed = !prev || spec(prev) !== spec(canon) || prev.Stop !== !!canon.Stop;
    const idx = this.store.index + 1;
    const job: StoredJob = {
      ...(canon as StoredJob),
      Namespace: ns,
      Type: canon.Type ?? 'service',
      Stop: !!canon.Stop,
      Status: 'pending',
      StatusDescription: '',
      Stable: false,
      Version: prev ? (changed ? prev.Version + 1 : prev.Version) : 0,
      SubmitTime: nowNs(),
      CreateIndex: prev?.CreateIndex ?? idx,
      ModifyIndex: idx,
      JobModifyIndex: changed || !prev ? idx : prev.JobModifyIndex,
    };
    this.jobs.set(k, job);
    if (changed) {
      const versions = this.jobVersions.get(k) ?? [];
      versions.unshift(job);
      this.jobVersions.set(k, versions.slice(0, 6));
    }
    const index = this.commit({ jobs: [{ j: job, type: 'JobRegistered' }] });
    if (changed && job.Type === 'service' && !job.Stop) this.createDeployment(job);
    const e = this.enqueueEval(job, 'job-register');
    return { job, evalId: e.ID, index: Math.max(index, e.CreateIndex) };
  }

  deregisterJob(ns: string, id: string, purge: boolean): { evalId: string; index: number } {
    const k = this.key(ns, id);
    const job = this.jobs.get(k);
    if (!job) throw new NotFound('job not found');
    for (const d of this.deployments.values()) {
      if (d.JobID === id && d.Namespace === ns && d.Status === 'running') {
        d.Status = 'cancelled';
        d.StatusDescription = 'Cancelled because job is stopped';
        this.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }] });
      }
    }
    if (purge) {
      this.jobs.delete(k);
      this.jobVersions.delete(k);
      this.commit({ jobs: [{ j: job, type: 'JobDeregistered' }] });
    } else {
      job.Stop = true;
      job.JobModifyIndex = this.store.index + 1;
      job.Version += 1;
      this.commit({ jobs: [{ j: job, type: 'JobDeregistered' }] });
    }
    const e = this.enqueueEval(job, 'job-deregister');
    return { evalId: e.ID, index: e.CreateIndex };
  }

  private createDeployment(job: StoredJob): void {
    const update = job.Update;
    if (!update || !update.MaxParallel) return;
    for (const d of this.deployments.values()) {
      if (d.JobID === job.ID && d.Namespace === job.Namespace && d.Status === 'running') {
        d.Status = 'cancelled';
        d.StatusDescription = 'Cancelled due to newer version of job';
        this.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }] });
      }
    }
    const groups: Deployment['TaskGroups'] = {};
    for (const tg of job.TaskGroups) {
      const u = { ...update, ...(tg.Update ?? {}) };
      groups[tg.Name] = {
        AutoRevert: !!u.AutoRevert,
        AutoPromote: !!u.AutoPromote,
        ProgressDeadline: u.ProgressDeadline ?? 600 * SECOND,
        RequireProgressBy: new Date(Date.now() + (u.ProgressDeadline ?? 600 * SECOND) / 1e6).toISOString(),
        Promoted: false,
        PlacedCanaries: null,
        DesiredCanaries: u.Canary ?? 0,
        DesiredTotal: tg.Count ?? 1,
        PlacedAllocs: 0,
        HealthyAllocs: 0,
        UnhealthyAllocs: 0,
      };
    }
    const d: Deployment = {
      ID: randomUUID(),
      Namespace: job.Namespace,
      JobID: job.ID,
      JobVersion: job.Version,
      JobModifyIndex: job.JobModifyIndex,
      JobSpecModifyIndex: job.JobModifyIndex,
      JobCreateIndex: job.CreateIndex,
      IsMultiregion: false,
      TaskGroups: groups,
      Status: 'running',
      StatusDescription: 'Deployment is running',
      EvalPriority: job.Priority ?? 50,
      CreateIndex: 0,
      ModifyIndex: 0,
    };
    this.deployments.set(d.ID, d);
    this.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }] });
  }

  activeDeployment(job: StoredJob): Deployment | undefined {
    return [...this.deployments.values()].find((d) => d.JobID === job.ID && d.Namespace === job.Namespace && d.JobVersion === job.Version && d.Status === 'running');
  }

  latestDeployment(ns: string, id: string): Deployment | undefined {
    return [...this.deployments.values()].filter((d) => d.JobID === id && d.Namespace === ns).sort((a, b) => b.CreateIndex - a.CreateIndex)[0];
  }

  // ------------------------------------------------------------------ scheduler

  private allConstraints(job: NomadJob, tg: TaskGroup): Constraint[] {
    return [...(job.Constraints ?? []), ...(tg.Constraints ?? []), ...tg.Tasks.flatMap((t) => t.Constraints ?? [])];
  }

  /**
   * Feasibility and fit of one node for one task group, recording why in `metric` as Nomad's
   * AllocationMetric does. Returns the ports it would get, or null.
   */
  private tryNode(job: StoredJob, tg: TaskGroup, node: LabNode, metric: AllocMetric, plan: PlanState): AllocPort[] | null {
    metric.NodesEvaluated++;
    const filter = (reason: string): null => {
      metric.NodesFiltered++;
      metric.ConstraintFiltered = { ...(metric.ConstraintFiltered ?? {}), [reason]: (metric.ConstraintFiltered?.[reason] ?? 0) + 1 };
      return null;
    };
    for (const t of tg.Tasks) {
      const d = node.Drivers[t.Driver];
      if (!d || !d.Detected || !d.Healthy) return filter('missing drivers');
    }
    const constraints = this.allConstraints(job, tg);
    for (const c of constraints) {
      if (!checkConstraint(c, node, REGION)) return filter(constraintString(c));
    }
    const siblings = (sameGroup: boolean): (LabAlloc | Placement)[] => [
      ...[...this.allocs.values()].filter((a) => a.JobID === job.ID && a.Namespace === job.Namespace && isLive(a) && !isTerminal(a) && !plan.stopping.has(a.ID) && (!sameGroup || a.TaskGroup === tg.Name)),
      ...plan.placed.filter((p) => !sameGroup || p.tg.Name === tg.Name),
    ];
    const nodeOf = (x: LabAlloc | Placement): string => ('nodeId' in x ? x.nodeId : x.NodeID);
    for (const c of job.Constraints ?? []) {
      if (c.Operand === 'distinct_hosts' && siblings(false).some((x) => nodeOf(x) === node.ID)) return filter('distinct_hosts');
    }
    for (const c of [...(tg.Constraints ?? [])]) {
      if (c.Operand === 'distinct_hosts' && siblings(true).some((x) => nodeOf(x) === node.ID)) return filter('distinct_hosts');
    }
    for (const [c, sameGroup] of [...(job.Constraints ?? []).map((c) => [c, false] as const), ...(tg.Constraints ?? []).map((c) => [c, true] as const)]) {
      if (c.Operand !== 'distinct_property') continue;
      const [value] = resolveTarget(c.LTarget, node, REGION);
      const limit = Number(c.RTarget) || 1;
      const used = siblings(sameGroup).filter((x) => {
        const other = this.nodes.get(nodeOf(x));
        return other && resolveTarget(c.LTarget, other, REGION)[0] === value;
      }).length;
      if (used >= limit) return filter('distinct_property');
    }
    const need = tgResources(tg);
    const used = plan.nodeUsage(node.ID);
    const exhaust = (dim: string): null => {
      metric.NodesExhausted++;
      metric.DimensionExhausted = { ...(metric.DimensionExhausted ?? {}), [dim]: (metric.DimensionExhausted?.[dim] ?? 0) + 1 };
      return null;
    };
    if (used.cpu + need.cpu > node.cpuMHz - node.reservedCpu) return exhaust('cpu');
    if (used.mem + need.mem > node.memoryMB - node.reservedMemory) return exhaust('memory');
    const ports: AllocPort[] = [];
    for (const net of tg.Networks ?? []) {
      for (const p of net.ReservedPorts ?? []) {
        if (used.ports.has(p.Value)) return exhaust(`network: reserved port collision ${p.Label}=${p.Value}`);
        ports.push({ Label: p.Label, Value: p.Value, To: p.To || 0, HostIP: node.Address });
      }
    }
    let next = 20000 + Math.floor(hashScore(node.ID, String(used.ports.size)) * 10000);
    for (const net of tg.Networks ?? []) {
      for (const p of net.DynamicPorts ?? []) {
        while (used.ports.has(next) || ports.some((x) => x.Value === next)) next++;
        ports.push({ Label: p.Label, Value: next, To: p.To || 0, HostIP: node.Address });
        next++;
      }
    }
    return ports;
  }

  private candidateNodes(job: StoredJob): { nodes: LabNode[]; available: Record<string, number>; inPool: number } {
    const dcs = job.Datacenters && job.Datacenters.length ? job.Datacenters : ['*'];
    const pool = job.NodePool || 'default';
    const available: Record<string, number> = {};
    let inPool = 0;
    const nodes: LabNode[] = [];
    for (const n of this.nodes.values()) {
      if (pool !== 'all' && n.NodePool !== pool) continue;
      inPool++;
      if (!dcs.some((d) => globMatch(d, n.Datacenter))) continue;
      if (n.Status !== 'ready' || n.DrainStrategy || n.SchedulingEligibility !== 'eligible') continue;
      available[n.Datacenter] = (available[n.Datacenter] ?? 0) + 1;
      nodes.push(n);
    }
    return { nodes, available, inPool };
  }

  private score(job: StoredJob, tg: TaskGroup, node: LabNode, plan: PlanState): number {
    let s = -plan.groupOnNode(tg.Name, node.ID) * 10;
    for (const sp of [...(job.Spreads ?? []), ...(tg.Spreads ?? [])]) {
      const [value] = resolveTarget(sp.Attribute, node, REGION);
      let count = 0;
      for (const [id, n] of plan.groupByNode(tg.Name)) {
        const other = this.nodes.get(id);
        if (other && resolveTarget(sp.Attribute, other, REGION)[0] === value) count += n;
      }
      s -= count * 5 * ((sp.Weight ?? 50) / 50);
    }
    for (const af of [...(job.Affinities ?? []), ...(tg.Affinities ?? [])]) {
      if (checkConstraint({ LTarget: af.LTarget, RTarget: af.RTarget, Operand: af.Operand }, node, REGION)) s += (af.Weight ?? 50) / 20;
    }
    return s + plan.tieBreak(node.ID);
  }

  /** Which node takes one more allocation of `tg`, or the failure metric. */
  private select(job: StoredJob, tg: TaskGroup, plan: PlanState, only?: LabNode): { node: LabNode; ports: AllocPort[]; metric: AllocMetric } | { metric: AllocMetric } {
    const started = process.hrtime.bigint();
    const metric = emptyMetric();
    const { nodes, available, inPool } = (plan.candidates ??= this.candidateNodes(job));
    metric.NodesAvailable = { ...available };
    metric.NodesInPool = inPool;
    let best: { node: LabNode; ports: AllocPort[]; score: number } | undefined;
    for (const node of only ? nodes.filter((n) => n.ID === only.ID) : nodes) {
      const ports = this.tryNode(job, tg, node, metric, plan);
      if (!ports) continue;
      const score = this.score(job, tg, node, plan);
      if (!best || score > best.score) best = { node, ports, score };
    }
    metric.AllocationTime = Number(process.hrtime.bigint() - started);
    if (best) metric.Scores = { [`${best.node.ID}.binpack`]: +(0.5 + plan.tieBreak(best.node.ID) / 3).toFixed(3) };
    return best ? { node: best.node, ports: best.ports, metric } : { metric };
  }

  /** Compute what the scheduler would do for `job` now (used by evals and by plan). */
  reconcile(job: StoredJob, salt: string): PlanResult {
    const result: PlanResult = { place: [], stop: [], inPlace: [], failed: {}, queued: {}, desired: {}, pendingUpdates: 0 };
    const all = this.jobAllocs(job.Namespace, job.ID);
    const plan = new PlanState(this.allocs.values(), job, result.place, salt);
    const stopping = plan.stopping;
    const stop = (a: LabAlloc, description: string, clientStatus?: LabAlloc['ClientStatus']) => {
      if (!plan.stop(a)) return;
      result.stop.push({ alloc: a, description, clientStatus });
      const u = (result.desired[a.TaskGroup] ??= emptyUpdates());
      if (description.includes('migrat')) u.Migrate++;
      else u.Stop++;
    };
    const fail = (tg: TaskGroup, metric: AllocMetric) => {
      const f = result.failed[tg.Name];
      if (f) f.CoalescedFailures++;
      else result.failed[tg.Name] = metric;
      result.queued[tg.Name] = (result.queued[tg.Name] ?? 0) + 1;
    };
    const groups = new Map(job.TaskGroups.map((g) => [g.Name, g]));
    // Allocations of groups that no longer exist, or of a stopped job, stop.
    for (const a of all) {
      if (isTerminal(a)) continue;
      if (job.Stop) stop(a, 'alloc not needed due to job update');
      else if (!groups.has(a.TaskGroup)) stop(a, 'alloc not needed due to job update');
    }
    if (job.Stop) return result;
    // Lost allocations (their node is down).
    for (const a of all) {
      if (isTerminal(a)) continue;
      const node = this.nodes.get(a.NodeID);
      if (node && node.Status === 'down') stop(a, 'alloc is lost since its node is down', 'lost');
    }
    const deployment = this.activeDeployment(job);
    for (const tg of job.TaskGroups) {
      const u = (result.desired[tg.Name] ??= emptyUpdates());
      const mine = all.filter((a) => a.TaskGroup === tg.Name);
      if (job.Type === 'system' || job.Type === 'sysbatch') {
        this.reconcileSystem(job, tg, mine, result, plan, stop, fail);
        continue;
      }
      const count = tg.Count ?? 1;
      const live = mine.filter((a) => !isTerminal(a) && !stopping.has(a.ID));
      // Draining nodes: migrate.
      for (const a of live) {
        const node = this.nodes.get(a.NodeID);
        if (node?.DrainStrategy || a.DesiredTransition.Migrate) stop(a, 'alloc is being migrated');
      }
      let keep = live.filter((a) => !stopping.has(a.ID)).sort((a, b) => allocIndex(a.Name) - allocIndex(b.Name) || a.CreateIndex - b.CreateIndex);
      // Duplicated or surplus names.
      const seen = new Set<number>();
      for (const a of keep) {
        const i = allocIndex(a.Name);
        if (i >= count || seen.has(i)) stop(a, 'alloc not needed due to job update');
        seen.add(i);
      }
      keep = keep.filter((a) => !stopping.has(a.ID));
      // Updates: same spec → in place; changed spec → destructive, max_parallel at a time.
      const update = { ...(job.Update ?? {}), ...(tg.Update ?? {}) };
      let budget = deployment && update.MaxParallel ? update.MaxParallel : Infinity;
      if (deployment && update.MaxParallel) {
        // Replacements of this version that are not yet healthy use up the budget.
        const inFlight = live.filter((a) => a.JobVersion === job.Version && a.DeploymentID === deployment.ID && a.DeploymentStatus?.Healthy !== true).length;
        budget = Math.max(0, update.MaxParallel - inFlight);
      }
      const failedDeployment = [...this.deployments.values()].some((d) => d.JobID === job.ID && d.Namespace === job.Namespace && d.JobVersion === job.Version && d.Status === 'failed');
      for (const a of keep) {
        if (a.JobVersion === job.Version) {
          u.Ignore++;
          continue;
        }
        const oldTg = a.job.TaskGroups.find((g) => g.Name === tg.Name);
        if (oldTg && tgSpec(oldTg) === tgSpec(tg)) {
          result.inPlace.push(a);
          u.InPlaceUpdate++;
        } else if (budget > 0 && !failedDeployment) {
          budget--;
          stop(a, 'alloc is being updated due to job update');
          u.Stop--;
          u.DestructiveUpdate++;
          const picked = this.select(job, tg, plan);
          if ('node' in picked) result.place.push({ tg, name: a.Name, nodeId: picked.node.ID, previous: a, ports: picked.ports, metric: picked.metric });
          else fail(tg, picked.metric);
        } else {
          u.Ignore++;
          result.pendingUpdates++;
        }
      }
      const taken = new Set([...keep.filter((a) => !stopping.has(a.ID)).map((a) => allocIndex(a.Name)), ...result.place.filter((p) => p.tg.Name === tg.Name).map((p) => allocIndex(p.name))]);
      // Batch allocations that completed are done; failed ones are rescheduled per policy.
      const finished = new Set(job.Type === 'batch' ? mine.filter((a) => a.ClientStatus === 'complete' && a.DesiredStatus === 'run' && a.JobVersion === job.Version).map((a) => allocIndex(a.Name)) : []);
      for (let i = 0; i < count; i++) {
        if (taken.has(i) || finished.has(i)) continue;
        const name = `${job.ID}.${tg.Name}[${i}]`;
        const previous = mine
          .filter((a) => allocIndex(a.Name) === i && !a.NextAllocation && (a.ClientStatus === 'failed' || a.ClientStatus === 'lost' || stopping.has(a.ID) || a.DesiredStatus !== 'run'))
          .sort((a, b) => b.CreateIndex - a.CreateIndex)[0];
        if (previous && previous.ClientStatus === 'failed' && previous.DesiredStatus === 'run' && !this.mayReschedule(job, tg, previous)) continue;
        if (previous?.ClientStatus === 'failed' && failedDeployment) continue;
        const picked = this.select(job, tg, plan);
        if ('node' in picked) {
          result.place.push({ tg, name, nodeId: picked.node.ID, previous, ports: picked.ports, metric: picked.metric });
          if (previous && stopping.has(previous.ID) && result.stop.find((s) => s.alloc.ID === previous.ID)?.description.includes('migrat')) continue;
          u.Place++;
        } else fail(tg, picked.metric);
      }
    }
    return result;
  }

  private mayReschedule(job: StoredJob, tg: TaskGroup, prev: LabAlloc): boolean {
    const policy = tg.ReschedulePolicy ?? (job.Type === 'service' ? { Unlimited: true } : job.Type === 'batch' ? { Attempts: 1, Interval: 24 * 3600 * SECOND } : null);
    if (!policy) return false;
    if (policy.Unlimited) return true;
    const attempts = prev.RescheduleTracker?.Events.length ?? 0;
    return attempts < (policy.Attempts ?? 0);
  }

  private reconcileSystem(
    job: StoredJob,
    tg: TaskGroup,
    mine: LabAlloc[],
    result: PlanResult,
    plan: PlanState,
    stop: (a: LabAlloc, d: string, c?: LabAlloc['ClientStatus']) => void,
    fail: (tg: TaskGroup, m: AllocMetric) => void,
  ): void {
    const u = (result.desired[tg.Name] ??= emptyUpdates());
    const dcs = job.Datacenters && job.Datacenters.length ? job.Datacenters : ['*'];
    const live = mine.filter((a) => !isTerminal(a) && !plan.stopping.has(a.ID));
    let placedOrKept = 0;
    let lastMetric: AllocMetric | undefined;
    for (const node of [...this.nodes.values()].sort((a, b) => a.Name.localeCompare(b.Name))) {
      const onNode = live.filter((a) => a.NodeID === node.ID);
      const inDc = dcs.some((d) => globMatch(d, node.Datacenter));
      if (node.DrainStrategy && !node.DrainStrategy.DrainSpec.IgnoreSystemJobs) {
        for (const a of onNode) stop(a, 'alloc not needed as node is tainted');
        continue;
      }
      if (node.Status === 'down') continue;
      // Is this node (still) a match? Constraints and drivers only, not resources.
      const probe = emptyMetric();
      const matches = inDc && node.Status === 'ready' && this.tryNodeFeasible(job, tg, node, probe);
      if (!matches) {
        for (const a of onNode) if (!inDc || !this.tryNodeFeasible(job, tg, node, emptyMetric())) stop(a, 'alloc not needed due to job update');
        continue;
      }
      const current = onNode.filter((a) => a.JobVersion === job.Version || tgSpec(a.job.TaskGroups.find((g) => g.Name === tg.Name) ?? tg) === tgSpec(tg));
      if (current.length) {
        placedOrKept++;
        for (const a of current) {
          if (a.JobVersion === job.Version) u.Ignore++;
          else {
            result.inPlace.push(a);
            u.InPlaceUpdate++;
          }
        }
        continue;
      }
      if (node.SchedulingEligibility !== 'eligible') continue;
      let previous: LabAlloc | undefined;
      if (onNode.length) {
        for (const a of onNode) stop(a, 'alloc is being updated due to job update');
        u.Stop -= onNode.length;
        u.DestructiveUpdate += onNode.length;
        previous = onNode[0];
      } else if (mine.some((a) => a.NodeID === node.ID && a.ClientStatus === 'failed' && a.DesiredStatus === 'run' && a.JobVersion === job.Version)) {
        // A failed system allocation is not rescheduled; the job must be updated.
        placedOrKept++;
        continue;
      } else if (job.Type === 'sysbatch' && mine.some((a) => a.NodeID === node.ID && a.ClientStatus === 'complete' && a.JobVersion === job.Version)) {
        placedOrKept++;
        continue;
      }
      const picked = this.select(job, tg, plan, node);
      lastMetric = picked.metric;
      if ('node' in picked) {
        result.place.push({ tg, name: `${job.ID}.${tg.Name}[0]`, nodeId: node.ID, previous, ports: picked.ports, metric: picked.metric });
        placedOrKept++;
        if (!previous) u.Place++;
      } else {
        fail(tg, picked.metric);
      }
    }
    if (placedOrKept === 0 && !result.failed[tg.Name]) {
      // No node at all could take the group: report why, as Nomad does.
      const metric = emptyMetric();
      const { nodes, available, inPool } = this.candidateNodes(job);
      metric.NodesAvailable = available;
      metric.NodesInPool = inPool;
      for (const n of nodes) this.tryNode(job, tg, n, metric, plan);
      if (nodes.length === 0 || metric.NodesFiltered + metric.NodesExhausted > 0) fail(tg, lastMetric ?? metric);
    }
  }

  private tryNodeFeasible(job: StoredJob, tg: TaskGroup, node: LabNode, metric: AllocMetric): boolean {
    for (const t of tg.Tasks) {
      const d = node.Drivers[t.Driver];
      if (!d || !d.Detected || !d.Healthy) return false;
    }
    void metric;
    return this.allConstraints(job, tg).every((c) => checkConstraint(c, node, REGION));
  }

  processEval(evalId: string): void {
    const e = this.evals.get(evalId);
    if (!e || e.Status !== 'pending') return;
    const job = this.getJob(e.Namespace, e.JobID);
    if (!job) {
      e.Status = 'complete';
      e.QueuedAllocations = {};
      this.commit({ evals: [e] });
      return;
    }
    const plan = this.reconcile(job, e.ID);
    this.applyPlan(job, plan, e);
  }

  private applyPlan(job: StoredJob, plan: PlanResult, e: Evaluation): void {
    const changed: { a: LabAlloc; type: string }[] = [];
    const deployment = job.Type === 'service' ? this.activeDeployment(job) : undefined;
    for (const s of plan.stop) {
      const a = s.alloc;
      a.DesiredStatus = 'stop';
      a.DesiredDescription = s.description;
      if (s.clientStatus === 'lost') {
        a.ClientStatus = 'lost';
        a.ClientDescription = 'alloc is lost since its node is down';
        this.stopRuntime(a);
      }
      changed.push({ a, type: 'AllocationUpdateDesiredStatus' });
    }
    for (const a of plan.inPlace) {
      a.JobVersion = job.Version;
      a.job = job;
      a.AllocModifyIndex = this.store.index + 1;
      changed.push({ a, type: 'AllocationUpdated' });
    }
    const created: LabAlloc[] = [];
    for (const p of plan.place) {
      const node = this.nodes.get(p.nodeId) as LabNode;
      const r = tgResources(p.tg);
      const a: LabAlloc = {
        ID: randomUUID(),
        EvalID: e.ID,
        Name: p.name,
        Namespace: job.Namespace,
        NodeID: node.ID,
        NodeName: node.Name,
        JobID: job.ID,
        JobType: job.Type,
        JobVersion: job.Version,
        TaskGroup: p.tg.Name,
        DesiredStatus: 'run',
        DesiredDescription: '',
        ClientStatus: 'pending',
        ClientDescription: '',
        DesiredTransition: { Migrate: null, Reschedule: null, ForceReschedule: null, NoShutdownDelay: null },
        TaskStates: null,
        DeploymentID: deployment?.ID ?? '',
        DeploymentStatus: null,
        FollowupEvalID: '',
        NextAllocation: '',
        PreviousAllocation: p.previous?.ID ?? '',
        RescheduleTracker:
          p.previous && p.previous.ClientStatus === 'failed'
            ? { Events: [...(p.previous.RescheduleTracker?.Events ?? []), { RescheduleTime: nowNs(), PrevAllocID: p.previous.ID, PrevNodeID: p.previous.NodeID, Delay: 30 * SECOND }] }
            : (p.previous?.RescheduleTracker ?? null),
        CreateIndex: 0,
        ModifyIndex: 0,
        AllocModifyIndex: this.store.index + 1,
        CreateTime: nowNs(),
        ModifyTime: nowNs(),
        Metrics: { ...p.metric },
        job,
        cpu: r.cpu,
        memoryMB: r.mem,
        ports: p.ports,
        logs: new Map(),
        timers: new Set(),
        restartTimes: new Map(),
      };
      if (p.previous) {
        p.previous.NextAllocation = a.ID;
        if (!changed.some((c) => c.a === p.previous)) changed.push({ a: p.previous, type: 'AllocationUpdated' });
      }
      if (deployment) {
        const g = deployment.TaskGroups[p.tg.Name];
        if (g) g.PlacedAllocs++;
      }
      this.allocs.set(a.ID, a);
      created.push(a);
      changed.push({ a, type: 'AllocationCreated' });
    }
    const key = this.key(job.Namespace, job.ID);
    this.queued.set(key, plan.queued);
    e.Status = 'complete';
    e.FailedTGAllocs = Object.keys(plan.failed).length ? plan.failed : null;
    e.QueuedAllocations = Object.fromEntries(job.TaskGroups.map((g) => [g.Name, plan.queued[g.Name] ?? 0]));
    e.DeploymentID = deployment?.ID ?? '';
    const evalsChanged: Evaluation[] = [e];
    if (e.FailedTGAllocs && job.Type !== 'system') {
      const blocked = this.newEval(job, 'queued-allocs', { Status: 'blocked', StatusDescription: 'created to place remaining allocations', PreviousEval: e.ID, ClassEligibility: {}, EscapedComputedClass: false });
      // Replace an older blocked eval of the same job.
      for (const old of this.evals.values()) {
        if (old.JobID === job.ID && old.Namespace === job.Namespace && old.Status === 'blocked') {
          old.Status = 'canceled';
          old.StatusDescription = 'evaluation is outdated';
          evalsChanged.push(old);
        }
      }
      this.evals.set(blocked.ID, blocked);
      e.BlockedEval = blocked.ID;
      evalsChanged.push(blocked);
    }
    this.commit({ evals: evalsChanged, allocs: changed });
    this.gc(job);
    if (deployment) this.checkDeployment(deployment);
    for (const s of plan.stop) if (s.clientStatus !== 'lost') this.killAlloc(s.alloc);
    for (const a of created) this.startAlloc(a);
  }

  /** Re-run blocked evaluations (capacity or nodes changed). */
  unblock(): void {
    for (const e of [...this.evals.values()]) {
      if (e.Status !== 'blocked') continue;
      const job = this.getJob(e.Namespace, e.JobID);
      e.Status = 'pending';
      e.StatusDescription = '';
      this.commit({ evals: [e] });
      if (job) this.later(this.opts.stepMs / 2, () => this.processEval(e.ID));
    }
  }

  /** A dry run of registering `input` (POST /v1/job/:id/plan). */
  plan(input: NomadJob, ns: string, withDiff: boolean): Record<string, unknown> {
    const canon = canonicalizeJob(input, { server: true });
    const prev = this.getJob(ns, canon.ID);
    const job: StoredJob = {
      ...(canon as StoredJob),
      Namespace: ns,
      Type: canon.Type ?? 'service',
      Stop: !!canon.Stop,
      Version: prev ? prev.Version + 1 : 0,
      Status: 'pending',
      SubmitTime: nowNs(),
      CreateIndex: prev?.CreateIndex ?? 0,
      ModifyIndex: 0,
      JobModifyIndex: 0,
    };
    const specOf = (j: NomadJob) => JSON.stringify(j.TaskGroups);
    if (prev && specOf(prev) === specOf(job) && prev.Stop === job.Stop) job.Version = prev.Version;
    const result = this.reconcile(job, 'plan');
    const failed = Object.keys(result.failed).length ? result.failed : null;
    const createdEvals = failed ? [this.newEval(job, 'queued-allocs', { Status: 'blocked', StatusDescription: 'created to place remaining allocations' })] : null;
    return {
      Annotations: { DesiredTGUpdates: result.desired, PreemptedAllocs: null },
      FailedTGAllocs: failed,
      JobModifyIndex: prev?.JobModifyIndex ?? 0,
      CreatedEvals: createdEvals,
      Diff: withDiff ? jobDiff(prev, job, result) : null,
      NextPeriodicLaunch: '0001-01-01T00:00:00Z',
      Warnings: '',
      Index: this.store.index,
    };
  }

  // ------------------------------------------------------------------ nodes and faults

  setNodeStatus(node: LabNode, status: 'ready' | 'down', why: string): void {
    if (node.Status === status) return;
    node.Status = status;
    node.StatusUpdatedAt = Math.floor(Date.now() / 1000);
    node.Events = [...node.Events, { Message: status === 'down' ? 'Node heartbeat missed' : 'Node reregistered by heartbeat', Subsystem: 'Cluster', Details: why ? { reason: why } : null, Timestamp: new Date().toISOString(), CreateIndex: this.store.index + 1 }].slice(-10);
    this.commit({ nodes: [{ n: node, type: 'NodeStreamEvent' }] });
    this.nodeUpdateEvals(node);
    if (status === 'ready') this.unblock();
  }

  /** Evaluate every job with allocations on the node, and system jobs that may want it. */
  nodeUpdateEvals(node: LabNode, trigger = 'node-update'): void {
    const jobs = new Set<string>();
    for (const a of this.allocs.values()) if (a.NodeID === node.ID && !isTerminal(a)) jobs.add(this.key(a.Namespace, a.JobID));
    for (const j of this.jobs.values()) if (j.Type === 'system' || j.Type === 'sysbatch') jobs.add(this.key(j.Namespace, j.ID));
    for (const k of jobs) {
      const job = this.jobs.get(k);
      if (job && !job.Stop) this.enqueueEval(job, trigger, { NodeID: node.ID, NodeModifyIndex: node.ModifyIndex });
    }
  }

  setEligibility(node: LabNode, eligible: boolean): number {
    node.SchedulingEligibility = eligible ? 'eligible' : 'ineligible';
    const idx = this.commit({ nodes: [{ n: node, type: 'NodeEligibility' }] });
    if (eligible) {
      this.unblock();
      this.nodeUpdateEvals(node);
    }
    return idx;
  }

  drainNode(node: LabNode, spec: { Deadline: number; IgnoreSystemJobs: boolean } | null, markEligible: boolean, meta: Record<string, string> | null): number {
    const now = new Date().toISOString();
    if (spec) {
      node.DrainStrategy = { DrainSpec: { Deadline: spec.Deadline, IgnoreSystemJobs: !!spec.IgnoreSystemJobs }, ForceDeadline: spec.Deadline > 0 ? new Date(Date.now() + spec.Deadline / 1e6).toISOString() : '0001-01-01T00:00:00Z', StartedAt: now };
      node.SchedulingEligibility = 'ineligible';
      node.LastDrain = { StartedAt: now, UpdatedAt: now, Status: 'draining', AccessorID: '', Meta: meta };
      const idx = this.commit({ nodes: [{ n: node, type: 'NodeDrain' }] });
      for (const a of this.allocs.values()) {
        if (a.NodeID === node.ID && !isTerminal(a)) a.DesiredTransition = { ...a.DesiredTransition, Migrate: true };
      }
      this.nodeUpdateEvals(node, 'node-drain');
      this.watchDrain(node);
      return idx;
    }
    node.DrainStrategy = null;
    if (node.LastDrain?.Status === 'draining') node.LastDrain = { ...node.LastDrain, Status: 'canceled', UpdatedAt: now };
    if (markEligible) node.SchedulingEligibility = 'eligible';
    const idx = this.commit({ nodes: [{ n: node, type: 'NodeDrain' }] });
    if (markEligible) this.unblock();
    return idx;
  }

  private watchDrain(node: LabNode): void {
    const check = () => {
      if (!node.DrainStrategy) {
        this.off('allocs', check);
        return;
      }
      const remaining = [...this.allocs.values()].filter((a) => a.NodeID === node.ID && isLive(a) && !(a.JobType === 'system' && node.DrainStrategy?.DrainSpec.IgnoreSystemJobs));
      if (remaining.length === 0) {
        node.DrainStrategy = null;
        node.LastDrain = { ...(node.LastDrain as NonNullable<LabNode['LastDrain']>), Status: 'complete', UpdatedAt: new Date().toISOString() };
        node.Events = [...node.Events, { Message: 'Node drain complete', Subsystem: 'Drain', Details: null, Timestamp: new Date().toISOString(), CreateIndex: this.store.index + 1 }].slice(-10);
        this.commit({ nodes: [{ n: node, type: 'NodeDrain' }] });
        this.off('allocs', check);
      }
    };
    this.on('allocs', check);
  }

  // ------------------------------------------------------------------ client: task lifecycle

  private update(a: LabAlloc, type = 'AllocationUpdated'): void {
    this.commit({ allocs: [{ a, type }] });
  }

  private addEvent(a: LabAlloc, task: string, event: ReturnType<typeof ev.started>): void {
    const ts = a.TaskStates?.[task];
    if (!ts) return;
    ts.Events = [...ts.Events, event].slice(-10);
  }

  private tasksOf(a: LabAlloc): Task[] {
    return a.job.TaskGroups.find((g) => g.Name === a.TaskGroup)?.Tasks ?? [];
  }

  private log(a: LabAlloc, task: string, type: 'stdout' | 'stderr', lines: string[]): void {
    const k = `${task}.${type}`;
    const s = a.logs.get(k) ?? { data: Buffer.alloc(0), heartbeatCount: 0 };
    if (lines.length) s.data = Buffer.concat([s.data, Buffer.from(lines.map((l) => l + '\n').join(''))]);
    a.logs.set(k, s);
    this.emit('log', a.ID, k);
  }

  /** A task's log file, with the lines a long-running container wrote since (materialised lazily). */
  logData(a: LabAlloc, task: string, type: 'stdout' | 'stderr'): Buffer {
    const k = `${task}.${type}`;
    const s = a.logs.get(k);
    if (!s) return Buffer.alloc(0);
    if (s.heartbeat && s.heartbeatFrom !== undefined) {
      const due = Math.min(500, Math.floor((Date.now() - s.heartbeatFrom) / 5000));
      if (due > s.heartbeatCount) {
        const lines: string[] = [];
        for (let i = s.heartbeatCount; i < due; i++) lines.push(s.heartbeat.replace(/^12:00:00/, new Date(s.heartbeatFrom + (i + 1) * 5000).toISOString().slice(11, 19)));
        s.heartbeatCount = due;
        s.data = Buffer.concat([s.data, Buffer.from(lines.map((l) => l + '\n').join(''))]);
      }
    }
    return s.data;
  }

  hasTask(a: LabAlloc, task: string): boolean {
    return this.tasksOf(a).some((t) => t.Name === task);
  }

  private startAlloc(a: LabAlloc): void {
    const step = this.opts.stepMs;
    this.later(step, () => {
      if (a.DesiredStatus !== 'run' || a.ClientStatus !== 'pending') return;
      a.TaskStates = {};
      for (const t of this.tasksOf(a)) {
        a.TaskStates[t.Name] = { State: 'pending', Failed: false, Restarts: 0, LastRestart: null, StartedAt: null, FinishedAt: null, Events: [ev.received()], TaskHandle: null };
        this.log(a, t.Name, 'stdout', []);
        this.log(a, t.Name, 'stderr', []);
      }
      a.ClientDescription = 'No tasks have started';
      this.update(a);
      this.later(step, () => {
        if (a.DesiredStatus !== 'run') return;
        for (const t of this.tasksOf(a)) this.addEvent(a, t.Name, ev.setup());
        this.update(a);
        for (const t of this.tasksOf(a)) this.later(step, () => this.runTask(a, t), a.timers);
      }, a.timers);
    }, a.timers);
  }

  private env(a: LabAlloc, t: Task): Record<string, string> {
    const node = this.nodes.get(a.NodeID);
    return { ...(t.Env ?? {}), NOMAD_ALLOC_NAME: a.Name, NOMAD_ALLOC_ID: a.ID, NOMAD_TASK_NAME: t.Name, NOMAD_JOB_NAME: a.JobID, NOMAD_DC: node?.Datacenter ?? '', HOSTNAME: a.ID.slice(0, 12) };
  }

  private interpolate(a: LabAlloc, s: string): string {
    const node = this.nodes.get(a.NodeID);
    return s.replace(/\$\{([^}]+)\}/g, (m, k: string) => {
      if (k.startsWith('NOMAD_')) return this.env(a, this.tasksOf(a)[0] as Task)[k] ?? m;
      if (!node) return m;
      const [v, ok] = resolveTarget(`\${${k}}`, node, REGION);
      return ok ? v : m;
    });
  }

  /** Pull the image and start the container, as the docker driver would. */
  /** The Consul dependencies of a task's templates, in consul-template's notation. */
  private templateDeps(t: Task): string[] {
    const deps: string[] = [];
    for (const tm of t.Templates ?? []) {
      const src = String(tm.EmbeddedTmpl ?? '');
      for (const m of src.matchAll(/\b(key|keyOrDefault)\s+"([^"]*)"/g)) deps.push(`kv.block(${m[2]})`);
      for (const m of src.matchAll(/\b(ls|tree)\s+"([^"]*)"/g)) deps.push(`kv.list(${m[2]})`);
      for (const m of src.matchAll(/\bservice\s+"([^"]*)"/g)) deps.push(`health.service(${m[1]}|passing)`);
    }
    return [...new Set(deps)];
  }

  private runTask(a: LabAlloc, t: Task): void {
    if (a.DesiredStatus !== 'run' || isTerminal(a)) return;
    const ts = a.TaskStates?.[t.Name];
    if (!ts) return;
    const node = this.nodes.get(a.NodeID) as LabNode;
    // Templates that read Consul block until Consul answers (consul-template's "Missing: …").
    const deps = this.templateDeps(t);
    if (deps.length && !this.consulAvailable()) {
      const missing = `Missing: ${deps.join(', ')}`;
      if (ts.Events.at(-1)?.DisplayMessage !== missing) {
        this.addEvent(a, t.Name, ev.template(missing));
        this.update(a);
      }
      const retry = () => {
        if (isTerminal(a)) {
          this.off('consul', retry);
          return;
        }
        if (!this.consulAvailable()) return;
        this.off('consul', retry);
        this.later(this.opts.stepMs, () => this.runTask(a, t), a.timers);
      };
      this.on('consul', retry);
      return;
    }
    if (t.Driver !== 'docker') {
      this.taskStarted(a, t, { kind: 'serve', stdout: [], stderr: [] });
      return;
    }
    const image = typeof t.Config?.image === 'string' ? (t.Config.image as string) : '';
    const resolved = this.registry.resolve(this.interpolate(a, image));
    this.addEvent(a, t.Name, ev.downloading(image));
    this.update(a);
    this.later(this.opts.stepMs, () => {
      if (a.DesiredStatus !== 'run' || isTerminal(a)) return;
      if (!resolved.ok) {
        this.addEvent(a, t.Name, ev.driverFailure(resolved.error));
        this.taskExited(a, t, 1, resolved.error, true);
        return;
      }
      const hostVolumes = hostPathVolumes(t.Config);
      let configError = '';
      if (hostVolumes.length && !node.dockerVolumes) configError = dockerErrors.volumesDisabled(hostVolumes[0] as string);
      else if (t.Config?.privileged === true && !node.dockerPrivileged) configError = dockerErrors.privilegedDisabled;
      if (configError) {
        const msg = dockerErrors.containerConfigFailed(image, resolved.digest, configError);
        this.addEvent(a, t.Name, ev.driverFailure(msg));
        this.taskExited(a, t, 1, msg, false, 'Error was unrecoverable');
        return;
      }
      const behaviour = resolved.behaviour;
      if (behaviour.kind === 'command') {
        const run = runCommand(t.Config?.command, (t.Config?.args as unknown[] | undefined)?.map((x) => this.interpolate(a, String(x))), this.env(a, t));
        this.taskStarted(a, t, { kind: 'command', stdout: run.stdout, stderr: [] });
        if (Number.isFinite(run.seconds)) this.later(Math.max(this.opts.stepMs, run.seconds * 1000 * this.opts.timeScale), () => this.taskExited(a, t, run.exitCode, ''), a.timers);
        return;
      }
      const args = ((t.Config?.args as unknown[] | undefined) ?? []).map((x) => this.interpolate(a, String(x)));
      const stdout = [...behaviour.stdout];
      if (resolved.image === 'hashicorp/http-echo') {
        const text = args[args.indexOf('-text') + 1];
        if (text && args.includes('-text')) stdout.push(`[INFO] serving text: ${text}`);
      }
      this.taskStarted(a, t, { ...behaviour, stdout, ...(behaviour.heartbeat ? { heartbeat: behaviour.heartbeat } : {}) });
      if (behaviour.kind === 'crash') this.later(this.opts.stepMs, () => this.taskExited(a, t, behaviour.exitCode ?? 1, ''), a.timers);
    }, a.timers);
  }

  private taskStarted(a: LabAlloc, t: Task, b: { kind: string; stdout: string[]; stderr: string[]; heartbeat?: string }): void {
    const ts = a.TaskStates?.[t.Name];
    if (!ts || a.DesiredStatus !== 'run' || isTerminal(a)) return;
    ts.State = 'running';
    ts.StartedAt = new Date().toISOString();
    ts.FinishedAt = null;
    this.addEvent(a, t.Name, ev.started());
    this.log(a, t.Name, 'stdout', b.stdout);
    this.log(a, t.Name, 'stderr', b.stderr);
    const s = a.logs.get(`${t.Name}.stdout`);
    if (s && b.heartbeat) {
      s.heartbeat = b.heartbeat;
      s.heartbeatFrom = Date.now() - s.heartbeatCount * 5000;
    }
    const states = Object.values(a.TaskStates ?? {});
    if (states.every((x) => x.State === 'running' || (x.State === 'dead' && !x.Failed))) {
      a.ClientStatus = 'running';
      a.ClientDescription = 'Tasks are running';
    }
    this.update(a);
    this.watchHealth(a);
  }

  /** The deployment health of a new allocation: healthy once its tasks ran long enough. */
  private watchHealth(a: LabAlloc): void {
    if (!a.DeploymentID || a.DeploymentStatus?.Healthy !== undefined && a.DeploymentStatus !== null) return;
    if (a.healthTimer) clearTimeout(a.healthTimer);
    a.healthTimer = setTimeout(() => {
      a.healthTimer = undefined;
      if (this.closed || a.ClientStatus !== 'running' || a.DesiredStatus !== 'run') return;
      this.setHealth(a, true);
    }, this.opts.healthyAfterMs);
  }

  private setHealth(a: LabAlloc, healthy: boolean): void {
    if (a.DeploymentStatus?.Healthy !== undefined && a.DeploymentStatus !== null && a.DeploymentStatus.Healthy !== null) return;
    a.DeploymentStatus = { Healthy: healthy, Timestamp: new Date().toISOString(), Canary: false, ModifyIndex: this.store.index + 1 };
    const d = this.deployments.get(a.DeploymentID);
    if (d) {
      const g = d.TaskGroups[a.TaskGroup];
      if (g) {
        if (healthy) g.HealthyAllocs++;
        else g.UnhealthyAllocs++;
      }
    }
    this.commit({ allocs: [{ a, type: 'AllocationUpdated' }], ...(d ? { deployments: [{ d, type: 'DeploymentAllocHealth' }] } : {}) });
    if (d) this.checkDeployment(d);
  }

  /** POST /v1/deployment/fail/:id: mark it failed (rolling back when auto_revert is set). */
  failDeployment(d: Deployment): { evalId: string; index: number; revertedTo: number | null } {
    const job = this.getJob(d.Namespace, d.JobID);
    d.Status = 'failed';
    d.StatusDescription = 'Deployment marked as failed';
    const stable = job && Object.values(d.TaskGroups).some((g) => g.AutoRevert) ? (this.jobVersions.get(this.key(job.Namespace, job.ID)) ?? []).find((v) => v.Stable && v.Version < job.Version) : undefined;
    if (stable) d.StatusDescription = `Deployment marked as failed - rolling back to job version ${stable.Version}`;
    this.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }] });
    if (stable && job) {
      const r = this.registerJob({ ...stable, Stop: false }, job.Namespace);
      return { evalId: r.evalId, index: r.index, revertedTo: stable.Version };
    }
    if (!job) return { evalId: '', index: this.store.index, revertedTo: null };
    const e = this.enqueueEval(job, 'deployment-watcher', { DeploymentID: d.ID });
    return { evalId: e.ID, index: e.CreateIndex, revertedTo: null };
  }

  private checkDeployment(d: Deployment): void {
    if (d.Status !== 'running') return;
    const job = this.getJob(d.Namespace, d.JobID);
    if (!job) return;
    const groups = Object.values(d.TaskGroups);
    if (groups.some((g) => g.UnhealthyAllocs > 0)) {
      d.Status = 'failed';
      d.StatusDescription = 'Failed due to unhealthy allocations';
      const stable = groups.some((g) => g.AutoRevert) ? (this.jobVersions.get(this.key(job.Namespace, job.ID)) ?? []).find((v) => v.Stable && v.Version < job.Version) : undefined;
      if (stable) d.StatusDescription = `Failed due to unhealthy allocations - rolling back to job version ${stable.Version}`;
      this.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }] });
      if (stable) this.later(0, () => this.registerJob({ ...stable, Stop: false }, job.Namespace));
      return;
    }
    const current = this.jobAllocs(job.Namespace, job.ID).filter((a) => !isTerminal(a));
    const done = job.TaskGroups.every((tg) => {
      const mine = current.filter((a) => a.TaskGroup === tg.Name);
      return mine.length >= (tg.Count ?? 1) && mine.every((a) => a.JobVersion === job.Version && (a.DeploymentID !== d.ID || a.DeploymentStatus?.Healthy === true));
    });
    if (done) {
      d.Status = 'successful';
      d.StatusDescription = 'Deployment completed successfully';
      job.Stable = true;
      this.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }], jobs: [{ j: job, type: 'JobRegistered' }] });
      return;
    }
    // More old allocations to replace: the deployment watcher creates the next evaluation.
    const pending = current.some((a) => a.JobVersion !== job.Version);
    const inFlight = current.some((a) => a.DeploymentID === d.ID && a.DeploymentStatus?.Healthy !== true);
    if (pending && !inFlight) this.enqueueEval(job, 'deployment-watcher', { DeploymentID: d.ID });
  }

  /** The container exited (or could not start): restart within policy, or fail the task. */
  private taskExited(a: LabAlloc, t: Task, exitCode: number, _why: string, recoverable = true, notRestartingReason = ''): void {
    const ts = a.TaskStates?.[t.Name];
    if (!ts || a.DesiredStatus !== 'run' || isTerminal(a)) return;
    if (ts.State === 'running' || exitCode !== 1 || !_why) this.addEvent(a, t.Name, ev.terminated(exitCode));
    if (ts.State === 'running' && a.DeploymentID && a.DeploymentStatus === null && a.healthTimer) {
      clearTimeout(a.healthTimer);
      a.healthTimer = undefined;
    }
    const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup) as TaskGroup;
    const batch = a.JobType === 'batch' || a.JobType === 'sysbatch';
    if (exitCode === 0 && batch) {
      ts.State = 'dead';
      ts.FinishedAt = new Date().toISOString();
      this.finishAlloc(a);
      return;
    }
    const policy = restartPolicy(tg, t, a.JobType);
    const times = (a.restartTimes.get(t.Name) ?? []).filter((x) => Date.now() - x < this.scaled(policy.Interval) || policy.Interval === 0);
    if (recoverable && times.length < policy.Attempts) {
      times.push(Date.now());
      a.restartTimes.set(t.Name, times);
      const delay = policy.Delay + Math.floor(Math.random() * 0.25 * policy.Delay);
      ts.State = 'pending';
      this.addEvent(a, t.Name, ev.restarting(delay));
      this.update(a);
      this.later(this.scaled(delay), () => {
        if (a.DesiredStatus !== 'run' || isTerminal(a)) return;
        ts.Restarts++;
        ts.LastRestart = new Date().toISOString();
        this.runTask(a, t);
      }, a.timers);
      return;
    }
    const reason = notRestartingReason || `Exceeded allowed attempts ${policy.Attempts} in interval ${goDurationString(policy.Interval)} and mode is "${policy.Mode}"`;
    this.addEvent(a, t.Name, ev.notRestarting(reason));
    ts.State = 'dead';
    ts.Failed = true;
    ts.FinishedAt = new Date().toISOString();
    for (const other of this.tasksOf(a)) {
      const os = a.TaskStates?.[other.Name];
      if (!os || other.Name === t.Name || os.State === 'dead') continue;
      this.addEvent(a, other.Name, ev.siblingFailed(t.Name));
      this.addEvent(a, other.Name, ev.killing(5 * SECOND));
      this.addEvent(a, other.Name, ev.killed());
      os.State = 'dead';
      os.FinishedAt = new Date().toISOString();
    }
    this.finishAlloc(a);
  }

  private finishAlloc(a: LabAlloc): void {
    const states = Object.values(a.TaskStates ?? {});
    if (!states.every((s) => s.State === 'dead')) {
      this.update(a);
      return;
    }
    this.stopRuntime(a);
    const failed = states.some((s) => s.Failed);
    a.ClientStatus = failed ? 'failed' : 'complete';
    a.ClientDescription = failed ? 'Failed tasks' : 'All tasks have completed';
    if (failed && a.DeploymentID && a.DeploymentStatus === null) {
      this.update(a);
      this.setHealth(a, false);
    } else this.update(a);
    const job = this.getJob(a.Namespace, a.JobID);
    if (failed && job && !job.Stop && a.DesiredStatus === 'run' && (a.JobType === 'service' || a.JobType === 'batch')) {
      // Reschedule after the policy's delay (scaled to lab time), via a follow-up evaluation.
      const tg = job.TaskGroups.find((g) => g.Name === a.TaskGroup);
      const base = tg?.ReschedulePolicy?.Delay ?? (a.JobType === 'service' ? 30 * SECOND : 5 * SECOND);
      const n = a.RescheduleTracker?.Events.length ?? 0;
      const fn = tg?.ReschedulePolicy?.DelayFunction ?? (a.JobType === 'service' ? 'exponential' : 'constant');
      const maxDelay = tg?.ReschedulePolicy?.MaxDelay || 3600 * SECOND;
      const delay = fn === 'constant' ? base : Math.min(maxDelay, base * 2 ** n);
      const follow = this.newEval(job, 'alloc-failure', { Status: 'pending', Wait: delay, WaitUntil: new Date(Date.now() + delay / 1e6).toISOString(), PreviousEval: a.EvalID });
      a.FollowupEvalID = follow.ID;
      this.evals.set(follow.ID, follow);
      this.commit({ evals: [follow], allocs: [{ a, type: 'AllocationUpdated' }] });
      this.later(this.scaled(delay), () => this.processEval(follow.ID));
    } else this.unblock();
  }

  private stopRuntime(a: LabAlloc): void {
    for (const t of a.timers) {
      clearTimeout(t);
      this.timers.delete(t);
    }
    a.timers.clear();
    if (a.healthTimer) clearTimeout(a.healthTimer);
    a.healthTimer = undefined;
    for (const s of a.logs.values()) s.heartbeat = undefined;
    this.emit('log-closed', a.ID);
  }

  /** The client stops an allocation the servers told to stop. */
  private killAlloc(a: LabAlloc): void {
    const wasRunning = a.ClientStatus === 'running' || a.ClientStatus === 'pending';
    this.later(this.opts.stepMs, () => {
      if (terminalClient.has(a.ClientStatus)) {
        this.stopRuntime(a);
        return;
      }
      for (const t of this.tasksOf(a)) {
        const ts = a.TaskStates?.[t.Name];
        if (!ts || ts.State === 'dead') continue;
        this.addEvent(a, t.Name, ev.killing(t.KillTimeout ?? 5 * SECOND));
        if (ts.State === 'running') this.addEvent(a, t.Name, ev.terminated(0, 15));
        this.addEvent(a, t.Name, ev.killed());
        ts.State = 'dead';
        ts.FinishedAt = new Date().toISOString();
      }
      this.stopRuntime(a);
      if (wasRunning) {
        a.ClientStatus = 'complete';
        a.ClientDescription = 'All tasks have completed';
      }
      this.update(a);
      this.unblock();
    });
  }

  /** POST /v1/allocation/:id/stop: stop it and let the scheduler place a replacement. */
  stopAlloc(a: LabAlloc): { evalId: string; index: number } {
    a.DesiredTransition = { ...a.DesiredTransition, Migrate: true };
    const job = this.getJob(a.Namespace, a.JobID);
    if (!job) throw new NotFound('job not found');
    const e = this.enqueueEval(job, 'alloc-stop');
    return { evalId: e.ID, index: e.CreateIndex };
  }

  /** POST /v1/client/allocation/:id/restart. */
  restartAlloc(a: LabAlloc, task: string | undefined): void {
    if (a.ClientStatus !== 'running') throw new BadRequest('Task not running');
    for (const t of this.tasksOf(a)) {
      if (task && t.Name !== task) continue;
      this.restartTask(a, t, ev.restartSignaled());
    }
    this.update(a);
  }

  private restartTask(a: LabAlloc, t: Task, why: ReturnType<typeof ev.restartSignaled>): void {
    const ts = a.TaskStates?.[t.Name];
    if (!ts || ts.State !== 'running') return;
    this.addEvent(a, t.Name, why);
    this.addEvent(a, t.Name, ev.terminated(0, 15));
    this.addEvent(a, t.Name, ev.restarting(0, why.RestartReason || why.DisplayMessage));
    ts.State = 'pending';
    ts.Restarts++;
    ts.LastRestart = new Date().toISOString();
    this.later(this.opts.stepMs, () => this.runTask(a, t), a.timers);
  }

  /** POST /v1/job/:id/revert: register an earlier version again (as a new version). */
  revertJob(ns: string, id: string, version: number): { job: StoredJob; evalId: string; index: number } {
    const versions = this.jobVersions.get(this.key(ns, id));
    if (!versions) throw new NotFound('job not found');
    const old = versions.find((v) => v.Version === version);
    if (!old) throw new BadRequest(`job "${id}" in namespace "${ns}" at version ${version} not found`);
    const current = this.getJob(ns, id);
    if (current && current.Version === version) throw new BadRequest(`can't revert to current version`);
    return this.registerJob({ ...old, Stop: false }, ns);
  }

  /** Terminal allocations and finished evaluations beyond the newest few per job go (Nomad's GC). */
  private gc(job: StoredJob): void {
    const keep = 30;
    const done = this.jobAllocs(job.Namespace, job.ID).filter((a) => isTerminal(a) && terminalClient.has(a.ClientStatus)).sort((a, b) => b.ModifyIndex - a.ModifyIndex);
    for (const a of done.slice(keep)) this.allocs.delete(a.ID);
    const evals = [...this.evals.values()].filter((e) => e.JobID === job.ID && e.Namespace === job.Namespace && (e.Status === 'complete' || e.Status === 'canceled')).sort((a, b) => b.ModifyIndex - a.ModifyIndex);
    for (const e of evals.slice(keep)) this.evals.delete(e.ID);
  }

  // ------------------------------------------------------------------ admin

  /** Upstream re-pushes its moving tags (the pin-your-images lesson). */
  advanceMovingTags(): { image: string; tag: string; from: string; to: string }[] {
    return this.registry.advanceMovingTags();
  }

  setDockerPlugin(node: LabNode, volumes: boolean, privileged: boolean, refresh: (n: LabNode) => void): void {
    node.dockerVolumes = volumes;
    node.dockerPrivileged = privileged;
    refresh(node);
    this.commit({ nodes: [{ n: node, type: 'NodeRegistration' }] });
  }

  nodeJsonOf(n: LabNode): Record<string, unknown> {
    return nodeJson(n);
  }

  allocNodes(a: LabAlloc): LabNode | undefined {
    return this.nodes.get(a.NodeID);
  }

  servicesOf(a: LabAlloc): { service: Service; task: string }[] {
    const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup);
    return [...(tg?.Services ?? []).map((s) => ({ service: s, task: `group-${a.TaskGroup}` })), ...(tg?.Tasks ?? []).flatMap((t) => (t.Services ?? []).map((s) => ({ service: s, task: t.Name })))];
  }

  interpolateFor(a: LabAlloc, s: string): string {
    return this.interpolate(a, s);
  }
}

// ------------------------------------------------------------------ plan diff (structs/diff.go, simplified)

interface FieldDiff {
  Type: string;
  Name: string;
  Old: string;
  New: string;
  Annotations: string[] | null;
}
interface ObjectDiff {
  Type: string;
  Name: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
}

function flat(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (x: unknown, p: string) => {
    if (x === null || x === undefined) return;
    if (Array.isArray(x)) x.forEach((y, i) => walk(y, `${p}[${i}]`));
    else if (typeof x === 'object') for (const [k, y] of Object.entries(x as Record<string, unknown>)) walk(y, p ? `${p}.${k}` : k);
    else out[p] = String(x);
  };
  walk(v, '');
  return out;
}

function fieldDiffs(oldV: unknown, newV: unknown, contextual: boolean): FieldDiff[] {
  const o = flat(oldV);
  const n = flat(newV);
  const names = [...new Set([...Object.keys(o), ...Object.keys(n)])].sort();
  const out: FieldDiff[] = [];
  for (const name of names) {
    const a = o[name];
    const b = n[name];
    if (a === b) {
      if (contextual) out.push({ Type: 'None', Name: name, Old: a ?? '', New: b ?? '', Annotations: null });
      continue;
    }
    out.push({ Type: a === undefined ? 'Added' : b === undefined ? 'Deleted' : 'Edited', Name: name, Old: a ?? '', New: b ?? '', Annotations: null });
  }
  return out;
}

function diffType(a: unknown, b: unknown, fields: FieldDiff[]): string {
  if (a === undefined) return 'Added';
  if (b === undefined) return 'Deleted';
  return fields.some((f) => f.Type !== 'None') ? 'Edited' : 'None';
}

function objectDiff(name: string, a: unknown, b: unknown): ObjectDiff | null {
  const fields = fieldDiffs(a ?? undefined, b ?? undefined, false);
  if (!fields.length) return null;
  return { Type: a === undefined || a === null ? 'Added' : b === undefined || b === null ? 'Deleted' : 'Edited', Name: name, Fields: fields, Objects: null };
}

function jobDiff(prev: StoredJob | undefined, job: StoredJob, plan: PlanResult): Record<string, unknown> {
  const topFields = ['Type', 'Priority', 'Datacenters', 'NodePool', 'AllAtOnce', 'Stop', 'Namespace', 'Region', 'Name'];
  const pick = (j: NomadJob | undefined) => (j ? Object.fromEntries(topFields.map((f) => [f, j[f]])) : undefined);
  const fields = fieldDiffs(pick(prev), pick(job), false);
  const objects = [objectDiff('Constraint', prev?.Constraints, job.Constraints), objectDiff('Meta', prev?.Meta, job.Meta)].filter((x): x is ObjectDiff => !!x);
  const tgNames = [...new Set([...(prev?.TaskGroups ?? []).map((g) => g.Name), ...job.TaskGroups.map((g) => g.Name)])];
  const taskGroups = tgNames.map((name) => {
    const a = prev?.TaskGroups.find((g) => g.Name === name);
    const b = job.TaskGroups.find((g) => g.Name === name);
    const u = plan.desired[name] ?? emptyUpdates();
    const updates: Record<string, number> = {};
    if (u.Place) updates.create = u.Place;
    if (u.Stop) updates.destroy = u.Stop;
    if (u.DestructiveUpdate) updates['create/destroy update'] = u.DestructiveUpdate;
    if (u.InPlaceUpdate) updates['in-place update'] = u.InPlaceUpdate;
    if (u.Ignore) updates.ignore = u.Ignore;
    if (u.Migrate) updates.migrate = u.Migrate;
    const tgFields = fieldDiffs(a ? { Count: a.Count } : undefined, b ? { Count: b.Count } : undefined, false);
    const taskNames = [...new Set([...(a?.Tasks ?? []).map((t) => t.Name), ...(b?.Tasks ?? []).map((t) => t.Name)])];
    const tasks = taskNames.map((tn) => {
      const ta = a?.Tasks.find((t) => t.Name === tn);
      const tb = b?.Tasks.find((t) => t.Name === tn);
      const tf = fieldDiffs(ta ? { Driver: ta.Driver, User: ta.User, KillTimeout: ta.KillTimeout } : undefined, tb ? { Driver: tb.Driver, User: tb.User, KillTimeout: tb.KillTimeout } : undefined, false);
      const tObjects = [objectDiff('Config', ta?.Config, tb?.Config), objectDiff('Resources', ta?.Resources, tb?.Resources), objectDiff('Env', ta?.Env, tb?.Env), objectDiff('Template', ta?.Templates, tb?.Templates), objectDiff('Service', ta?.Services, tb?.Services)].filter(
        (x): x is ObjectDiff => !!x,
      );
      const type = !ta ? 'Added' : !tb ? 'Deleted' : tf.length || tObjects.length ? 'Edited' : 'None';
      const annotations = type === 'Added' ? ['forces create'] : type === 'Deleted' ? ['forces destroy'] : type === 'Edited' ? ['forces create/destroy update'] : null;
      return { Type: type, Name: tn, Fields: tf.length ? tf : null, Objects: tObjects.length ? tObjects : null, Annotations: annotations };
    });
    const tgObjects = [objectDiff('Network', a?.Networks, b?.Networks), objectDiff('Service', a?.Services, b?.Services), objectDiff('Constraint', a?.Constraints, b?.Constraints), objectDiff('Spread', a?.Spreads, b?.Spreads)].filter((x): x is ObjectDiff => !!x);
    const changed = tgFields.length || tgObjects.length || tasks.some((t) => t.Type !== 'None');
    return { Type: !a ? 'Added' : !b ? 'Deleted' : changed ? 'Edited' : 'None', Name: name, Fields: tgFields.length ? tgFields : null, Objects: tgObjects.length ? tgObjects : null, Tasks: tasks, Updates: Object.keys(updates).length ? updates : null };
  });
  const type = !prev ? 'Added' : diffType(prev, job, fields) === 'Edited' || objects.length || taskGroups.some((g) => g.Type !== 'None') ? 'Edited' : 'None';
  return { Type: type, ID: job.ID, Fields: fields.length ? fields : null, Objects: objects.length ? objects : null, TaskGroups: taskGroups };
}
