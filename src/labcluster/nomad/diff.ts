// The Diff of a job plan (POST /v1/job/:id/plan with Diff): the job's, task groups' and tasks'
// changed fields and objects, with the scheduler's desired updates per group and the
// annotations the CLI shows ("forces create/destroy update"). Nomad's nomad/structs/diff.go
// and the annotations of scheduler/annotate.go, simplified.
import type { NomadJob } from '../jobspec';
import type { PlanResult } from './scheduler/context';
import { emptyUpdates, type StoredJob } from './structs';

interface FieldDiff {
  Type: string;
  Name: string;
  Old: string;
  New: string;
  Annotations: string[] | null;
}
interface ObjectDiff {
  Type: string;
  Name: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
}

function flat(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (x: unknown, p: string) => {
    if (x === null || x === undefined) return;
    if (Array.isArray(x)) x.forEach((y, i) => walk(y, `${p}[${i}]`));
    else if (typeof x === 'object') for (const [k, y] of Object.entries(x as Record<string, unknown>)) walk(y, p ? `${p}.${k}` : k);
    else out[p] = String(x);
  };
  walk(v, '');
  return out;
}

function fieldDiffs(oldV: unknown, newV: unknown, contextual: boolean): FieldDiff[] {
  const o = flat(oldV);
  const n = flat(newV);
  const names = [...new Set([...Object.keys(o), ...Object.keys(n)])].sort();
  const out: FieldDiff[] = [];
  for (const name of names) {
    const a = o[name];
    const b = n[name];
    if (a === b) {
      if (contextual) out.push({ Type: 'None', Name: name, Old: a ?? '', New: b ?? '', Annotations: null });
      continue;
    }
    out.push({ Type: a === undefined ? 'Added' : b === undefined ? 'Deleted' : 'Edited', Name: name, Old: a ?? '', New: b ?? '', Annotations: null });
  }
  return out;
}

function diffType(a: unknown, b: unknown, fields: FieldDiff[]): string {
  if (a === undefined) return 'Added';
  if (b === undefined) return 'Deleted';
  return fields.some((f) => f.Type !== 'None') ? 'Edited' : 'None';
}

function objectDiff(name: string, a: unknown, b: unknown): ObjectDiff | null {
  const fields = fieldDiffs(a ?? undefined, b ?? undefined, false);
  if (!fields.length) return null;
  return { Type: a === undefined || a === null ? 'Added' : b === undefined || b === null ? 'Deleted' : 'Edited', Name: name, Fields: fields, Objects: null };
}

export function jobDiff(prev: StoredJob | undefined, job: StoredJob, plan: PlanResult): Record<string, unknown> {
  const topFields = ['Type', 'Priority', 'Datacenters', 'NodePool', 'AllAtOnce', 'Stop', 'Namespace', 'Region', 'Name'];
  const pick = (j: NomadJob | undefined) => (j ? Object.fromEntries(topFields.map((f) => [f, j[f]])) : undefined);
  const fields = fieldDiffs(pick(prev), pick(job), false);
  const objects = [objectDiff('Constraint', prev?.Constraints, job.Constraints), objectDiff('Meta', prev?.Meta, job.Meta)].filter((x): x is ObjectDiff => !!x);
  const tgNames = [...new Set([...(prev?.TaskGroups ?? []).map((g) => g.Name), ...job.TaskGroups.map((g) => g.Name)])];
  const taskGroups = tgNames.map((name) => {
    const a = prev?.TaskGroups.find((g) => g.Name === name);
    const b = job.TaskGroups.find((g) => g.Name === name);
    const u = plan.desired[name] ?? emptyUpdates();
    const updates: Record<string, number> = {};
    if (u.Place) updates.create = u.Place;
    if (u.Stop) updates.destroy = u.Stop;
    if (u.DestructiveUpdate) updates['create/destroy update'] = u.DestructiveUpdate;
    if (u.InPlaceUpdate) updates['in-place update'] = u.InPlaceUpdate;
    if (u.Ignore) updates.ignore = u.Ignore;
    if (u.Migrate) updates.migrate = u.Migrate;
    const tgFields = fieldDiffs(a ? { Count: a.Count } : undefined, b ? { Count: b.Count } : undefined, false);
    const taskNames = [...new Set([...(a?.Tasks ?? []).map((t) => t.Name), ...(b?.Tasks ?? []).map((t) => t.Name)])];
    const tasks = taskNames.map((tn) => {
      const ta = a?.Tasks.find((t) => t.Name === tn);
      const tb = b?.Tasks.find((t) => t.Name === tn);
      const tf = fieldDiffs(ta ? { Driver: ta.Driver, User: ta.User, KillTimeout: ta.KillTimeout } : undefined, tb ? { Driver: tb.Driver, User: tb.User, KillTimeout: tb.KillTimeout } : undefined, false);
      const tObjects = [objectDiff('Config', ta?.Config, tb?.Config), objectDiff('Resources', ta?.Resources, tb?.Resources), objectDiff('Env', ta?.Env, tb?.Env), objectDiff('Template', ta?.Templates, tb?.Templates), objectDiff('Service', ta?.Services, tb?.Services)].filter(
        (x): x is ObjectDiff => !!x,
      );
      const type = !ta ? 'Added' : !tb ? 'Deleted' : tf.length || tObjects.length ? 'Edited' : 'None';
      const annotations = type === 'Added' ? ['forces create'] : type === 'Deleted' ? ['forces destroy'] : type === 'Edited' ? ['forces create/destroy update'] : null;
      return { Type: type, Name: tn, Fields: tf.length ? tf : null, Objects: tObjects.length ? tObjects : null, Annotations: annotations };
    });
    const tgObjects = [objectDiff('Network', a?.Networks, b?.Networks), objectDiff('Service', a?.Services, b?.Services), objectDiff('Constraint', a?.Constraints, b?.Constraints), objectDiff('Spread', a?.Spreads, b?.Spreads)].filter((x): x is ObjectDiff => !!x);
    const changed = tgFields.length || tgObjects.length || tasks.some((t) => t.Type !== 'None');
    return { Type: !a ? 'Added' : !b ? 'Deleted' : changed ? 'Edited' : 'None', Name: name, Fields: tgFields.length ? tgFields : null, Objects: tgObjects.length ? tgObjects : null, Tasks: tasks, Updates: Object.keys(updates).length ? updates : null };
  });
  const type = !prev ? 'Added' : diffType(prev, job, fields) === 'Edited' || objects.length || taskGroups.some((g) => g.Type !== 'None') ? 'Edited' : 'None';
  return { Type: type, ID: job.ID, Fields: fields.length ? fields : null, Objects: objects.length ? objects : null, TaskGroups: taskGroups };
}
