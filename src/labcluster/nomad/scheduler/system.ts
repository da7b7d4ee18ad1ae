// System and sysbatch task groups: one allocation per eligible node that matches, stopped on
// nodes that no longer match or drain (unless the drain ignores system jobs), updated in place
// when only the job version moved, not rescheduled when failed; and, when no node at all could
// take the group, the metric saying why. Nomad's scheduler/system_sched.go and
// scheduler/system_util.go (diffSystemAllocs), simplified.
import type { TaskGroup } from '../../jobspec';
import { emptyMetric, emptyUpdates, isTerminal, type AllocMetric, type LabAlloc, type StoredJob } from '../structs';
import type { FailFn, PlanResult, PlanState, SchedulerState, StopFn } from './context';
import { tryNode, tryNodeFeasible } from './feasible';
import { select } from './rank';
import { candidateNodes, globMatch, tgSpec } from './util';

export function reconcileSystem(state: SchedulerState, job: StoredJob, tg: TaskGroup, mine: LabAlloc[], result: PlanResult, plan: PlanState, stop: StopFn, fail: FailFn): void {
  const u = (result.desired[tg.Name] ??= emptyUpdates());
  const dcs = job.Datacenters && job.Datacenters.length ? job.Datacenters : ['*'];
  const live = mine.filter((a) => !isTerminal(a) && !plan.stopping.has(a.ID));
  let placedOrKept = 0;
  let lastMetric: AllocMetric | undefined;
  for (const node of [...state.nodes.values()].sort((a, b) => a.Name.localeCompare(b.Name))) {
    const onNode = live.filter((a) => a.NodeID === node.ID);
    const inDc = dcs.some((d) => globMatch(d, node.Datacenter));
    if (node.DrainStrategy && !node.DrainStrategy.DrainSpec.IgnoreSystemJobs) {
      for (const a of onNode) stop(a, 'alloc not needed as node is tainted');
      continue;
    }
    if (node.Status === 'down') continue;
    // Is this node (still) a match? Constraints and drivers only, not resources.
    const probe = emptyMetric();
    const matches = inDc && node.Status === 'ready' && tryNodeFeasible(job, tg, node, probe);
    if (!matches) {
      for (const a of onNode) if (!inDc || !tryNodeFeasible(job, tg, node, emptyMetric())) stop(a, 'alloc not needed due to job update');
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
    const picked = select(state, job, tg, plan, node);
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
    const { nodes, available, inPool } = candidateNodes(state.nodes, job);
    metric.NodesAvailable = available;
    metric.NodesInPool = inPool;
    for (const n of nodes) tryNode(state, job, tg, n, metric, plan);
    if (nodes.length === 0 || metric.NodesFiltered + metric.NodesExhausted > 0) fail(tg, lastMetric ?? metric);
  }
}
