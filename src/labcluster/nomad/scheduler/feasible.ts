// Whether a node can take one more allocation of a task group: drivers, constraints,
// distinct_hosts and distinct_property, then whether its CPU, memory and ports fit, recording why
// a node was filtered or exhausted in the AllocMetric. Nomad's scheduler/feasible.go
// (DriverChecker, ConstraintChecker, DistinctHostsIterator, DistinctPropertyIterator), the fit
// check of scheduler/rank.go (BinPackIterator) and port assignment (structs/network.go's
// NetworkIndex), simplified.
import type { Constraint, NomadJob, TaskGroup } from '../../jobspec';
import { checkConstraint, constraintString, resolveTarget } from '../../constraints';
import type { LabNode } from '../../topology';
import { isLive, isTerminal, REGION, tgResources, type AllocMetric, type AllocPort, type LabAlloc, type StoredJob } from '../structs';
import type { Placement, PlanState, SchedulerState } from './context';
import { hashScore } from './util';

export function allConstraints(job: NomadJob, tg: TaskGroup): Constraint[] {
  return [...(job.Constraints ?? []), ...(tg.Constraints ?? []), ...tg.Tasks.flatMap((t) => t.Constraints ?? [])];
}

/**
 * Feasibility and fit of one node for one task group, recording why in `metric` as Nomad's
 * AllocationMetric does. Returns the ports it would get, or null.
 */
export function tryNode(state: SchedulerState, job: StoredJob, tg: TaskGroup, node: LabNode, metric: AllocMetric, plan: PlanState): AllocPort[] | null {
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
  const constraints = allConstraints(job, tg);
  for (const c of constraints) {
    if (!checkConstraint(c, node, REGION)) return filter(constraintString(c));
  }
  const siblings = (sameGroup: boolean): (LabAlloc | Placement)[] => [
    ...[...state.allocs.values()].filter((a) => a.JobID === job.ID && a.Namespace === job.Namespace && isLive(a) && !isTerminal(a) && !plan.stopping.has(a.ID) && (!sameGroup || a.TaskGroup === tg.Name)),
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
      const other = state.nodes.get(nodeOf(x));
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

/** Drivers and constraints only, not resources: is the node (still) a match for a system job? */
export function tryNodeFeasible(job: StoredJob, tg: TaskGroup, node: LabNode, metric: AllocMetric): boolean {
  for (const t of tg.Tasks) {
    const d = node.Drivers[t.Driver];
    if (!d || !d.Detected || !d.Healthy) return false;
  }
  void metric;
  return allConstraints(job, tg).every((c) => checkConstraint(c, node, REGION));
}
