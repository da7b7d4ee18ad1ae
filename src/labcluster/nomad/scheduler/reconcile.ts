// What the scheduler would do for a job now: which allocations stop (job stopped, group gone,
// node down, node draining, surplus), which are updated in place or destructively (max_parallel
// at a time under a deployment), which names need a placement, and whether a failed allocation
// may be rescheduled. The plan is returned, not applied (../planApply applies it). Nomad's
// scheduler/reconcile.go and reconcile_util.go, with the service and batch scheduling of
// scheduler/generic_sched.go, simplified; system and sysbatch groups go to ./system.
import type { TaskGroup } from '../../jobspec';
import { allocIndex, emptyUpdates, isTerminal, SECOND, type AllocMetric, type LabAlloc, type StoredJob } from '../structs';
import { PlanState, type PlanResult, type SchedulerState } from './context';
import { select } from './rank';
import { reconcileSystem } from './system';
import { tgSpec } from './util';

/** Compute what the scheduler would do for `job` now (used by evals and by plan). */
export function reconcile(state: SchedulerState, job: StoredJob, salt: string): PlanResult {
  const result: PlanResult = { place: [], stop: [], inPlace: [], failed: {}, queued: {}, desired: {}, pendingUpdates: 0 };
  const all = state.jobAllocs(job.Namespace, job.ID);
  const plan = new PlanState(state.allocs.values(), job, result.place, salt);
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
    const node = state.nodes.get(a.NodeID);
    if (node && node.Status === 'down') stop(a, 'alloc is lost since its node is down', 'lost');
  }
  const deployment = state.activeDeployment(job);
  for (const tg of job.TaskGroups) {
    const u = (result.desired[tg.Name] ??= emptyUpdates());
    const mine = all.filter((a) => a.TaskGroup === tg.Name);
    if (job.Type === 'system' || job.Type === 'sysbatch') {
      reconcileSystem(state, job, tg, mine, result, plan, stop, fail);
      continue;
    }
    const count = tg.Count ?? 1;
    const live = mine.filter((a) => !isTerminal(a) && !stopping.has(a.ID));
    // Draining nodes: migrate.
    for (const a of live) {
      const node = state.nodes.get(a.NodeID);
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
    const failedDeployment = [...state.deployments.values()].some((d) => d.JobID === job.ID && d.Namespace === job.Namespace && d.JobVersion === job.Version && d.Status === 'failed');
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
        const picked = select(state, job, tg, plan);
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
      if (previous && previous.ClientStatus === 'failed' && previous.DesiredStatus === 'run' && !mayReschedule(job, tg, previous)) continue;
      if (previous?.ClientStatus === 'failed' && failedDeployment) continue;
      const picked = select(state, job, tg, plan);
      if ('node' in picked) {
        result.place.push({ tg, name, nodeId: picked.node.ID, previous, ports: picked.ports, metric: picked.metric });
        if (previous && stopping.has(previous.ID) && result.stop.find((s) => s.alloc.ID === previous.ID)?.description.includes('migrat')) continue;
        u.Place++;
      } else fail(tg, picked.metric);
    }
  }
  return result;
}

/** Whether the reschedule policy (or the job type's default) allows another attempt after `prev` failed. */
function mayReschedule(job: StoredJob, tg: TaskGroup, prev: LabAlloc): boolean {
  const policy = tg.ReschedulePolicy ?? (job.Type === 'service' ? { Unlimited: true } : job.Type === 'batch' ? { Attempts: 1, Interval: 24 * 3600 * SECOND } : null);
  if (!policy) return false;
  if (policy.Unlimited) return true;
  const attempts = prev.RescheduleTracker?.Events.length ?? 0;
  return attempts < (policy.Attempts ?? 0);
}
