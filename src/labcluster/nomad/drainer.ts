// Node drain: a drain strategy makes the node ineligible and marks its allocations to migrate
// (the scheduler then replaces them elsewhere); the drain completes once nothing it drains
// still runs there; cancelling it may make the node eligible again. Nomad's node endpoint
// UpdateDrain (nomad/node_endpoint.go) and nomad/drainer (drainer.go, watch_nodes.go),
// simplified: every allocation migrates at once, and the deadline is recorded, not enforced.
import type { LabState } from './state';
import { isLive, isTerminal } from './structs';
import type { LabNode } from '../topology';

/** What a drain asks of the servers: evaluations for the node's jobs, and blocked ones re-run. */
export type DrainHost = LabState & {
  nodeUpdateEvals(node: LabNode, trigger?: string): void;
  unblock(): void;
};

/** PUT /v1/node/:id/drain: start a drain (`spec`) or cancel one (null). Returns the write's index. */
export function drainNode(host: DrainHost, node: LabNode, spec: { Deadline: number; IgnoreSystemJobs: boolean } | null, markEligible: boolean, meta: Record<string, string> | null): number {
  const now = new Date().toISOString();
  if (spec) {
    node.DrainStrategy = { DrainSpec: { Deadline: spec.Deadline, IgnoreSystemJobs: !!spec.IgnoreSystemJobs }, ForceDeadline: spec.Deadline > 0 ? new Date(Date.now() + spec.Deadline / 1e6).toISOString() : '0001-01-01T00:00:00Z', StartedAt: now };
    node.SchedulingEligibility = 'ineligible';
    node.LastDrain = { StartedAt: now, UpdatedAt: now, Status: 'draining', AccessorID: '', Meta: meta };
    const idx = host.commit({ nodes: [{ n: node, type: 'NodeDrain' }] });
    for (const a of host.allocs.values()) {
      if (a.NodeID === node.ID && !isTerminal(a)) a.DesiredTransition = { ...a.DesiredTransition, Migrate: true };
    }
    host.nodeUpdateEvals(node, 'node-drain');
    watchDrain(host, node);
    return idx;
  }
  node.DrainStrategy = null;
  if (node.LastDrain?.Status === 'draining') node.LastDrain = { ...node.LastDrain, Status: 'canceled', UpdatedAt: now };
  if (markEligible) node.SchedulingEligibility = 'eligible';
  const idx = host.commit({ nodes: [{ n: node, type: 'NodeDrain' }] });
  if (markEligible) host.unblock();
  return idx;
}

/** Completes the drain once no allocation it drains is live on the node (checked after every allocation write). */
function watchDrain(host: LabState, node: LabNode): void {
  const check = () => {
    if (!node.DrainStrategy) {
      host.off('allocs', check);
      return;
    }
    const remaining = [...host.allocs.values()].filter((a) => a.NodeID === node.ID && isLive(a) && !(a.JobType === 'system' && node.DrainStrategy?.DrainSpec.IgnoreSystemJobs));
    if (remaining.length === 0) {
      node.DrainStrategy = null;
      node.LastDrain = { ...(node.LastDrain as NonNullable<LabNode['LastDrain']>), Status: 'complete', UpdatedAt: new Date().toISOString() };
      node.Events = [...node.Events, { Message: 'Node drain complete', Subsystem: 'Drain', Details: null, Timestamp: new Date().toISOString(), CreateIndex: host.store.index + 1 }].slice(-10);
      host.commit({ nodes: [{ n: node, type: 'NodeDrain' }] });
      host.off('allocs', check);
    }
  };
  host.on('allocs', check);
}
