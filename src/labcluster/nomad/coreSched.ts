// Garbage collection of a job's history: terminal allocations and finished evaluations beyond
// the newest few go. Nomad's nomad/core_sched.go (jobGC, evalGC), simplified: Nomad collects by
// age (job_gc_threshold, eval_gc_threshold), the lab by count, after each applied plan.
import { allocsOfJob, isTerminal, terminalClient, type Evaluation, type LabAlloc, type StoredJob } from './structs';

/** Terminal allocations and finished evaluations beyond the newest few per job go (Nomad's GC). */
export function gcJob(tables: { allocs: Map<string, LabAlloc>; evals: Map<string, Evaluation> }, job: StoredJob): void {
  const keep = 30;
  const done = allocsOfJob(tables.allocs, job.Namespace, job.ID).filter((a) => isTerminal(a) && terminalClient.has(a.ClientStatus)).sort((a, b) => b.ModifyIndex - a.ModifyIndex);
  for (const a of done.slice(keep)) tables.allocs.delete(a.ID);
  const evals = [...tables.evals.values()].filter((e) => e.JobID === job.ID && e.Namespace === job.Namespace && (e.Status === 'complete' || e.Status === 'canceled')).sort((a, b) => b.ModifyIndex - a.ModifyIndex);
  for (const e of evals.slice(keep)) tables.evals.delete(e.ID);
}
