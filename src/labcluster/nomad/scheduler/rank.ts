// Ranking the feasible nodes for one placement and picking the best: job anti-affinity (fewer
// of the group on a node is better), spread, node affinities, and a stable tie-break. Nomad's
// scheduler/rank.go (JobAntiAffinityIterator, NodeAffinityIterator), scheduler/spread.go,
// scheduler/select.go (MaxScoreIterator) and scheduler/stack.go (GenericStack.Select),
// simplified.
import type { TaskGroup } from '../../jobspec';
import { checkConstraint, resolveTarget } from '../../constraints';
import type { LabNode } from '../../topology';
import { emptyMetric, REGION, type AllocMetric, type AllocPort, type StoredJob } from '../structs';
import type { PlanState, SchedulerState } from './context';
import { tryNode } from './feasible';
import { candidateNodes } from './util';

function score(state: SchedulerState, job: StoredJob, tg: TaskGroup, node: LabNode, plan: PlanState): number {
  let s = -plan.groupOnNode(tg.Name, node.ID) * 10;
  for (const sp of [...(job.Spreads ?? []), ...(tg.Spreads ?? [])]) {
    const [value] = resolveTarget(sp.Attribute, node, REGION);
    let count = 0;
    for (const [id, n] of plan.groupByNode(tg.Name)) {
      const other = state.nodes.get(id);
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
export function select(state: SchedulerState, job: StoredJob, tg: TaskGroup, plan: PlanState, only?: LabNode): { node: LabNode; ports: AllocPort[]; metric: AllocMetric } | { metric: AllocMetric } {
  const started = process.hrtime.bigint();
  const metric = emptyMetric();
  const { nodes, available, inPool } = (plan.candidates ??= candidateNodes(state.nodes, job));
  metric.NodesAvailable = { ...available };
  metric.NodesInPool = inPool;
  let best: { node: LabNode; ports: AllocPort[]; score: number } | undefined;
  for (const node of only ? nodes.filter((n) => n.ID === only.ID) : nodes) {
    const ports = tryNode(state, job, tg, node, metric, plan);
    if (!ports) continue;
    const s = score(state, job, tg, node, plan);
    if (!best || s > best.score) best = { node, ports, score: s };
  }
  metric.AllocationTime = Number(process.hrtime.bigint() - started);
  if (best) metric.Scores = { [`${best.node.ID}.binpack`]: +(0.5 + plan.tieBreak(best.node.ID) / 3).toFixed(3) };
  return best ? { node: best.node, ports: best.ports, metric } : { metric };
}
