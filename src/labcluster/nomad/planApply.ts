// Applying an evaluation's plan: allocations told to stop (or marked lost), updated in place,
// created on their nodes; the evaluation completed with its failed placements and a blocked
// evaluation to place them later; then the job's history collected, its deployment checked, and
// the clients told to stop and start allocations. Nomad's nomad/plan_apply.go and the
// evaluation updates of nomad/worker.go, with the blocked evaluation of
// scheduler/generic_sched.go (createBlockedEval), simplified.
import { randomUUID } from 'node:crypto';
import { nowNs } from '../tasks';
import type { LabNode } from '../topology';
import type { LabClient } from './client/allocRunner';
import { gcJob } from './coreSched';
import type { DeploymentWatcher } from './deploymentWatcher';
import type { PlanResult } from './scheduler/context';
import type { LabState } from './state';
import { jobKey, newEvaluation, SECOND, tgResources, type Evaluation, type LabAlloc, type StoredJob } from './structs';

export function applyPlan(state: LabState, client: LabClient, deployments: DeploymentWatcher, job: StoredJob, plan: PlanResult, e: Evaluation): void {
  const changed: { a: LabAlloc; type: string }[] = [];
  const deployment = job.Type === 'service' ? state.activeDeployment(job) : undefined;
  for (const s of plan.stop) {
    const a = s.alloc;
    a.DesiredStatus = 'stop';
    a.DesiredDescription = s.description;
    if (s.clientStatus === 'lost') {
      a.ClientStatus = 'lost';
      a.ClientDescription = 'alloc is lost since its node is down';
      client.stopRuntime(a);
    }
    changed.push({ a, type: 'AllocationUpdateDesiredStatus' });
  }
  for (const a of plan.inPlace) {
    a.JobVersion = job.Version;
    a.job = job;
    a.AllocModifyIndex = state.store.index + 1;
    changed.push({ a, type: 'AllocationUpdated' });
  }
  const created: LabAlloc[] = [];
  for (const p of plan.place) {
    const node = state.nodes.get(p.nodeId) as LabNode;
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
      AllocModifyIndex: state.store.index + 1,
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
    state.allocs.set(a.ID, a);
    created.push(a);
    changed.push({ a, type: 'AllocationCreated' });
  }
  state.queued.set(jobKey(job.Namespace, job.ID), plan.queued);
  e.Status = 'complete';
  e.FailedTGAllocs = Object.keys(plan.failed).length ? plan.failed : null;
  e.QueuedAllocations = Object.fromEntries(job.TaskGroups.map((g) => [g.Name, plan.queued[g.Name] ?? 0]));
  e.DeploymentID = deployment?.ID ?? '';
  const evalsChanged: Evaluation[] = [e];
  if (e.FailedTGAllocs && job.Type !== 'system') {
    const blocked = newEvaluation(job, 'queued-allocs', { Status: 'blocked', StatusDescription: 'created to place remaining allocations', PreviousEval: e.ID, ClassEligibility: {}, EscapedComputedClass: false });
    // Replace an older blocked eval of the same job.
    for (const old of state.evals.values()) {
      if (old.JobID === job.ID && old.Namespace === job.Namespace && old.Status === 'blocked') {
        old.Status = 'canceled';
        old.StatusDescription = 'evaluation is outdated';
        evalsChanged.push(old);
      }
    }
    state.evals.set(blocked.ID, blocked);
    e.BlockedEval = blocked.ID;
    evalsChanged.push(blocked);
  }
  state.commit({ evals: evalsChanged, allocs: changed });
  gcJob(state, job);
  if (deployment) deployments.check(deployment);
  for (const s of plan.stop) if (s.clientStatus !== 'lost') client.killAlloc(s.alloc);
  for (const a of created) client.startAlloc(a);
}
