// A task's environment (NOMAD_ALLOC_ID, NOMAD_TASK_NAME, … over the task's env block) and the
// interpolation of ${NOMAD_*}, ${node.*}, ${attr.*} and ${meta.*} in its config. Nomad's
// client/taskenv/env.go, simplified.
import type { Task } from '../../jobspec';
import { resolveTarget } from '../../constraints';
import type { LabNode } from '../../topology';
import { REGION, type LabAlloc } from '../structs';

/** The tasks of an allocation's group, in the version of the job it runs. */
export function tasksOf(a: LabAlloc): Task[] {
  return a.job.TaskGroups.find((g) => g.Name === a.TaskGroup)?.Tasks ?? [];
}

export function taskEnv(nodes: ReadonlyMap<string, LabNode>, a: LabAlloc, t: Task): Record<string, string> {
  const node = nodes.get(a.NodeID);
  return { ...(t.Env ?? {}), NOMAD_ALLOC_NAME: a.Name, NOMAD_ALLOC_ID: a.ID, NOMAD_TASK_NAME: t.Name, NOMAD_JOB_NAME: a.JobID, NOMAD_DC: node?.Datacenter ?? '', HOSTNAME: a.ID.slice(0, 12) };
}

export function interpolate(nodes: ReadonlyMap<string, LabNode>, a: LabAlloc, s: string): string {
  const node = nodes.get(a.NodeID);
  return s.replace(/\$\{([^}]+)\}/g, (m, k: string) => {
    if (k.startsWith('NOMAD_')) return taskEnv(nodes, a, tasksOf(a)[0] as Task)[k] ?? m;
    if (!node) return m;
    const [v, ok] = resolveTarget(`\${${k}}`, node, REGION);
    return ok ? v : m;
  });
}
