// The lab cluster's Nomad objects: jobs as stored, allocations, evaluations, deployments and the
// scheduler's metrics, with the small helpers Nomad defines on them (terminal status, the index
// in an allocation's name, a new evaluation). Nomad's nomad/structs/structs.go, simplified;
// field names and wording follow the shared nomad-consul-api reference (§2–§4).
import { randomUUID } from 'node:crypto';
import type { NomadJob, TaskGroup } from '../jobspec';
import { nowNs, type TaskState } from '../tasks';
import type { LabTopology } from '../topology';

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

/** One task log file of an allocation (alloc/logs/<task>.<type>.0, which logmon writes in Nomad). */
export interface LogStream {
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

export const SECOND = 1e9;
export const terminalClient = new Set(['complete', 'failed', 'lost']);
export const isTerminal = (a: LabAlloc): boolean => a.DesiredStatus !== 'run' || terminalClient.has(a.ClientStatus);
/** An allocation still holding resources on its node. */
export const isLive = (a: LabAlloc): boolean => !terminalClient.has(a.ClientStatus) && !(a.DesiredStatus !== 'run' && a.ClientStatus === 'pending' && !a.TaskStates);

/** The key of a job in the job tables: its namespaced ID (structs.NamespacedID). */
export const jobKey = (ns: string, id: string): string => `${ns}/${id}`;

/** The allocations of one job, stopped ones included (the state store's AllocsByJob). */
export function allocsOfJob(allocs: ReadonlyMap<string, LabAlloc>, ns: string, id: string): LabAlloc[] {
  return [...allocs.values()].filter((a) => a.Namespace === ns && a.JobID === id);
}

export function emptyMetric(): AllocMetric {
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

export const emptyUpdates = (): DesiredUpdates => ({ Ignore: 0, Place: 0, Migrate: 0, Stop: 0, InPlaceUpdate: 0, DestructiveUpdate: 0, Canary: 0, Preemptions: 0 });

/** The index in an allocation's name, `<job>.<group>[<index>]` (Allocation.Index()). */
export function allocIndex(name: string): number {
  const m = /\[(\d+)\]$/.exec(name);
  return m ? Number(m[1]) : 0;
}

/** What one allocation of `tg` asks of its node, with Nomad's defaults (100 MHz, 300 MB per task). */
export function tgResources(tg: TaskGroup): { cpu: number; mem: number } {
  let cpu = 0;
  let mem = 0;
  for (const t of tg.Tasks ?? []) {
    cpu += t.Resources?.CPU ?? 100;
    mem += t.Resources?.MemoryMB ?? 300;
  }
  return { cpu, mem };
}

/** A new evaluation of `job`, pending unless `extra` says otherwise. */
export function newEvaluation(job: { ID: string; Namespace: string; Type: string; Priority?: number; JobModifyIndex?: number }, triggeredBy: string, extra: Partial<Evaluation> = {}): Evaluation {
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
