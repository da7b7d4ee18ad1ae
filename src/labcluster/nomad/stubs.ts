// The JSON the API serves for jobs and allocations: list stubs, full objects, the job summary and
// the job status derived from its allocations and evaluations. Nomad's Job.Stub() and
// Allocation.Stub() (nomad/structs/structs.go), the api package's shapes (api/jobs.go,
// api/allocations.go), and the state store's getJobStatus and job summary
// (nomad/state/state_store.go), simplified.
import type { LabNode } from '../topology';
import { allocsOfJob, isTerminal, jobKey, type Evaluation, type LabAlloc, type StoredJob } from './structs';

/** What the JSON views read of the cluster state. */
export interface StubState {
  readonly nodes: ReadonlyMap<string, LabNode>;
  readonly allocs: ReadonlyMap<string, LabAlloc>;
  readonly evals: ReadonlyMap<string, Evaluation>;
  /** the queued allocations per task group of each job's latest evaluation, by jobKey */
  readonly queued: ReadonlyMap<string, Record<string, number>>;
}

export function jobStatus(s: StubState, job: StoredJob): string {
  const allocs = allocsOfJob(s.allocs, job.Namespace, job.ID);
  if (job.Type === 'system' || job.Periodic || job.ParameterizedJob) return job.Stop ? 'dead' : 'running';
  if (allocs.some((a) => !isTerminal(a))) return 'running';
  const evals = [...s.evals.values()].filter((e) => e.JobID === job.ID && e.Namespace === job.Namespace);
  if (evals.some((e) => e.Status === 'pending' || e.Status === 'blocked')) return 'pending';
  if (evals.length || allocs.length || job.Stop) return 'dead';
  return 'pending';
}

export function jobSummary(s: StubState, job: StoredJob): Record<string, unknown> {
  const summary: Record<string, Record<string, number>> = {};
  const queued = s.queued.get(jobKey(job.Namespace, job.ID)) ?? {};
  for (const tg of job.TaskGroups) summary[tg.Name] = { Queued: queued[tg.Name] ?? 0, Complete: 0, Failed: 0, Running: 0, Starting: 0, Lost: 0, Unknown: 0 };
  let modify = job.CreateIndex;
  for (const a of allocsOfJob(s.allocs, job.Namespace, job.ID)) {
    const sum = (summary[a.TaskGroup] ??= { Queued: 0, Complete: 0, Failed: 0, Running: 0, Starting: 0, Lost: 0, Unknown: 0 });
    modify = Math.max(modify, a.ModifyIndex);
    if (a.ClientStatus === 'pending') sum.Starting = (sum.Starting ?? 0) + 1;
    else if (a.ClientStatus === 'running') sum.Running = (sum.Running ?? 0) + 1;
    else if (a.ClientStatus === 'complete') sum.Complete = (sum.Complete ?? 0) + 1;
    else if (a.ClientStatus === 'failed') sum.Failed = (sum.Failed ?? 0) + 1;
    else if (a.ClientStatus === 'lost') sum.Lost = (sum.Lost ?? 0) + 1;
    else sum.Unknown = (sum.Unknown ?? 0) + 1;
  }
  return { JobID: job.ID, Namespace: job.Namespace, Summary: summary, Children: { Pending: 0, Running: 0, Dead: 0 }, CreateIndex: job.CreateIndex, ModifyIndex: modify };
}

export function jobJson(s: StubState, job: StoredJob): Record<string, unknown> {
  return { ...job, Status: jobStatus(s, job) };
}

export function jobStub(s: StubState, job: StoredJob, withMeta: boolean): Record<string, unknown> {
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
    Status: jobStatus(s, job),
    StatusDescription: job.StatusDescription ?? '',
    JobSummary: jobSummary(s, job),
    CreateIndex: job.CreateIndex,
    ModifyIndex: job.ModifyIndex,
    JobModifyIndex: job.JobModifyIndex,
    SubmitTime: job.SubmitTime,
    ...(withMeta ? { Meta: job.Meta ?? null } : {}),
  };
}

export function allocStub(s: StubState, a: LabAlloc, withResources = false, withTaskStates = true): Record<string, unknown> {
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
    ...(withResources ? { AllocatedResources: allocatedResources(s, a) } : {}),
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

export function allocatedResources(s: StubState, a: LabAlloc): Record<string, unknown> {
  const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup);
  const node = s.nodes.get(a.NodeID);
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
        ? [{ Mode: 'host', Device: 'ens4', IP: node?.Address ?? '', MBits: 0, ReservedPorts: a.ports.filter((p) => isStatic(a, p.Label)).map((p) => ({ Label: p.Label, Value: p.Value, To: p.To, HostNetwork: 'default' })), DynamicPorts: a.ports.filter((p) => !isStatic(a, p.Label)).map((p) => ({ Label: p.Label, Value: p.Value, To: p.To, HostNetwork: 'default' })) }]
        : null,
      DiskMB: tg?.EphemeralDisk?.SizeMB ?? 300,
      Ports: ports,
    },
  };
}

function isStatic(a: LabAlloc, label: string): boolean {
  const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup);
  return !!tg?.Networks?.some((n) => n.ReservedPorts?.some((p) => p.Label === label));
}

export function allocJson(s: StubState, a: LabAlloc, withJob = true): Record<string, unknown> {
  const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup);
  const services = [...(tg?.Services ?? []), ...(tg?.Tasks ?? []).flatMap((t) => t.Services ?? [])];
  // Appended to the stub rather than spread into a new literal: spreading its ~30 fields and
  // adding a dozen more made V8 build every allocation's JSON in dictionary mode (20 µs each;
  // 2,000 of them when a 2,000-allocation job is placed, for the event stream).
  const out = allocStub(s, a);
  if (withJob) out['Job'] = a.job;
  return Object.assign(out, {
    Resources: { CPU: a.cpu, MemoryMB: a.memoryMB, DiskMB: tg?.EphemeralDisk?.SizeMB ?? 300, IOPS: 0, Networks: null, Devices: null },
    SharedResources: { CPU: 0, MemoryMB: 0, DiskMB: tg?.EphemeralDisk?.SizeMB ?? 300, Networks: null },
    TaskResources: Object.fromEntries((tg?.Tasks ?? []).map((t) => [t.Name, { CPU: t.Resources?.CPU ?? 100, MemoryMB: t.Resources?.MemoryMB ?? 300, DiskMB: 0, IOPS: 0, Networks: null }])),
    AllocatedResources: allocatedResources(s, a),
    Services: Object.fromEntries(services.map((sv) => [sv.Name, ''])),
    Metrics: a.Metrics,
    DeploymentID: a.DeploymentID,
    PreviousAllocation: a.PreviousAllocation,
    AllocModifyIndex: a.AllocModifyIndex,
    NetworkStatus: null,
    SignedIdentities: null,
  });
}
