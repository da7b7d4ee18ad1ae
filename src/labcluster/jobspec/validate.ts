// Job validation with the wording of Nomad's server (nomad/structs Job.Validate, TaskGroup.Validate,
// Task.Validate, Constraint.Validate and Job.Warnings). Like POST /v1/validate/job, the job is
// canonicalised first (server defaults included), so e.g. a missing name defaults to the ID and
// missing datacenters become ["*"] instead of failing.
import { canonicalizeJob } from './canonicalize';
import type { Constraint, NetworkResource, NomadJob, Service, Task, TaskGroup } from './types';

export interface JobValidation {
  /** one entry per top-level error, nested errors in go-multierror's text format */
  errors: string[];
  warnings: string[];
}

/** go-multierror's default format ("1 error occurred:\n\t* …\n\n"). */
export function formatMultiError(errors: string[]): string {
  if (errors.length === 1) return `1 error occurred:\n\t* ${errors[0]}\n\n`;
  return `${errors.length} errors occurred:\n\t${errors.map((e) => `* ${e}`).join('\n\t')}\n\n`;
}

/** The `Warnings` string of register/validate responses (helper.MergeMultierrorWarnings). */
export function formatWarnings(warnings: string[]): string {
  if (warnings.length === 0) return '';
  return `${warnings.length} warning(s):\n${warnings.map((w) => `\n* ${w}`).join('')}`;
}

const knownJobTypes = ['service', 'batch', 'system', 'sysbatch', '_core'];
const rtargetOperators = ['=', '==', 'is', '!=', 'not', '<', '<=', '>', '>='];

function constraintErrors(c: Constraint): string[] {
  const errs: string[] = [];
  let requireLTarget = true;
  if (!c.Operand) errs.push('Missing constraint operand');
  switch (c.Operand) {
    case '':
    case undefined:
      break;
    case 'distinct_hosts':
      requireLTarget = false;
      break;
    case 'set_contains':
    case 'set_contains_all':
    case 'set_contains_any':
      if (!c.RTarget) errs.push('Set contains constraint requires an RTarget');
      break;
    case 'regexp':
      try {
        new RegExp(c.RTarget);
      } catch (e) {
        errs.push(`Regular expression failed to compile: ${(e as Error).message}`);
      }
      break;
    case 'version':
    case 'semver':
      if (!/^\s*([<>=!~]{0,2}\s*v?\d+(\.\d+){0,2}[-+\w.]*\s*,?\s*)+$/.test(c.RTarget)) errs.push(`Version constraint is invalid: Malformed constraint: ${c.RTarget}`);
      break;
    case 'distinct_property':
      if (c.RTarget && !/^\d+$/.test(c.RTarget)) errs.push(`Failed to convert RTarget ${JSON.stringify(c.RTarget)} to uint64: strconv.ParseUint: parsing ${JSON.stringify(c.RTarget)}: invalid syntax`);
      break;
    case 'is_set':
    case 'is_not_set':
      if (c.RTarget) errs.push(`Operator ${JSON.stringify(c.Operand)} does not support an RTarget`);
      break;
    default:
      if (rtargetOperators.includes(c.Operand)) {
        if (!c.RTarget) errs.push(`Operator ${JSON.stringify(c.Operand)} requires an RTarget`);
      } else errs.push(`Unknown constraint type ${JSON.stringify(c.Operand)}`);
  }
  if (requireLTarget && !c.LTarget) errs.push('No LTarget provided but is required by constraint');
  return errs;
}

function constraintsErrors(cs: Constraint[] | null | undefined, taskLevel = false): string[] {
  const out: string[] = [];
  (cs ?? []).forEach((c, i) => {
    const errs = constraintErrors(c);
    if (errs.length) out.push(`Constraint ${i + 1} validation failed: ${formatMultiError(errs)}`);
    if (taskLevel && (c.Operand === 'distinct_hosts' || c.Operand === 'distinct_property')) {
      out.push(`Constraint ${i + 1} has disallowed Operand at task level: ${c.Operand}`);
    }
  });
  return out;
}

/** Go's time.Duration String() for the values checks use (ns → "500ms", "1.5s", "1m30s"). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${ns / 1e3}µs`;
  if (ns < 1e9) return `${ns / 1e6}ms`;
  let rest = ns / 1e9;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const sec = `${Number(rest.toFixed(9))}s`;
  return h ? `${h}h${m}m${sec}` : m ? `${m}m${sec}` : sec;
}

const rfc1123Label = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]{0,61}[a-zA-Z0-9])$/;

function serviceErrors(services: Service[] | null | undefined, portLabels: Set<string>, taskNames: Set<string> | null): string[] {
  const out: string[] = [];
  const byPort = new Map<string, Set<string>>();
  const seen = new Set<string>();
  (services ?? []).forEach((s, i) => {
    const errs: string[] = [];
    // Runtime interpolations are checked after the client interpolates them.
    if (s.Name && !s.Name.includes('${') && !rfc1123Label.test(s.Name)) {
      errs.push(`Service name must be valid per RFC 1123 and can contain only alphanumeric characters or dashes: ${JSON.stringify(s.Name)}`);
    }
    const provider = s.Provider || 'consul';
    if (provider !== 'consul' && provider !== 'nomad') errs.push(`Service provider must be one of "consul", "nomad"; got ${JSON.stringify(provider)}`);
    for (const c of s.Checks ?? []) {
      // structs ServiceCheck.validate stops at the first problem of each check
      let problem = '';
      if (c.Type === 'http' && !c.Path) problem = 'http type must have http path set';
      else if (!c.Interval) problem = 'missing required value interval. Interval cannot be less than 1s';
      else if (c.Interval < 1e9) problem = `interval (${goDuration(c.Interval)}) cannot be lower than 1s`;
      else if (!c.Timeout) problem = 'missing required value timeout. Timeout cannot be less than 1s';
      else if (c.Timeout < 1e9) problem = `timeout (${goDuration(c.Timeout)}) is lower than required minimum timeout 1s`;
      if (c.Type && !['script', 'http', 'tcp', 'grpc'].includes(c.Type)) problem = `invalid type (${JSON.stringify(c.Type)}), must be one of "http", "tcp", "script", "grpc"`;
      if (problem) errs.push(`Check ${c.Name} invalid: ${problem}`);
      if (taskNames && c.TaskName && !taskNames.has(c.TaskName)) errs.push(`Check ${c.Name} invalid: refers to non-existent task ${c.TaskName}`);
      if (c.PortLabel && !/^\d+$/.test(c.PortLabel) && !portLabels.has(c.PortLabel)) {
        const set = byPort.get(c.PortLabel) ?? new Set<string>();
        set.add(`${s.Name}/${c.Name || 'check'}`);
        byPort.set(c.PortLabel, set);
      }
    }
    if (errs.length) out.push(`service[${i}] ${JSON.stringify(s.Name)} validation failed: ${formatMultiError(errs)}`);
    const key = `${s.Name}\u0000${s.PortLabel ?? ''}`;
    if (seen.has(key)) out.push(`Service ${s.Name} is duplicate`);
    seen.add(key);
    if (s.PortLabel && !/^\d+$/.test(s.PortLabel) && !s.PortLabel.includes('${') && !portLabels.has(s.PortLabel)) {
      const set = byPort.get(s.PortLabel) ?? new Set<string>();
      set.add(s.Name);
      byPort.set(s.PortLabel, set);
    }
  });
  for (const label of [...byPort.keys()].sort()) {
    const names = [...(byPort.get(label) ?? [])].sort();
    out.push(`port label ${JSON.stringify(label)} referenced by services ${names.join(', ')} does not exist`);
  }
  return out;
}

function networkErrors(networks: NetworkResource[] | null | undefined, labels: Map<string, string>, statics: Map<number, string>, owner: string): string[] {
  const out: string[] = [];
  for (const n of networks ?? []) {
    for (const p of [...(n.ReservedPorts ?? []), ...(n.DynamicPorts ?? [])]) {
      if (labels.has(p.Label)) out.push(`Port label ${p.Label} already in use`);
      else labels.set(p.Label, owner);
      if (p.Value > 65535) out.push(`Port ${p.Label} (${p.Value}) cannot be greater than 65535`);
      if (p.To > 65535) out.push(`Port ${p.Label} mapped to ${p.To} cannot be greater than 65535`);
      if (p.Value > 0) {
        const other = statics.get(p.Value);
        if (other) out.push(`Static port ${p.Value} already reserved by ${other}`);
        else statics.set(p.Value, `${owner}:${p.Label}`);
      }
    }
  }
  return out;
}

function taskErrors(t: Task, g: TaskGroup, job: NomadJob, portLabels: Set<string>): string[] {
  const errs: string[] = [];
  if (!t.Name) errs.push('Missing task name');
  if (/[/\\]/.test(t.Name ?? '')) errs.push('Task name cannot include slashes');
  else if ((t.Name ?? '').includes('\0')) errs.push('Task name cannot include null characters');
  if (!t.Driver) errs.push('Missing task driver');
  if ((t.KillTimeout ?? 0) < 0) errs.push('KillTimeout must be a positive value');
  if ((t.ShutdownDelay ?? 0) < 0) errs.push('ShutdownDelay must be a positive value');
  const r = t.Resources;
  if (!r) errs.push('Missing task resources');
  else {
    const min: string[] = [];
    if ((r.Cores ?? 0) > 0 && (r.CPU ?? 0) > 0) errs.push("Task can only ask for 'cpu' or 'cores' resource, not both.");
    if ((r.CPU ?? 0) < 1 && !(r.Cores && r.Cores > 0)) min.push(`minimum CPU value is 1; got ${r.CPU ?? 0}`);
    if ((r.MemoryMB ?? 0) < 10) min.push(`minimum MemoryMB value is 10; got ${r.MemoryMB ?? 0}`);
    if (min.length) errs.push(formatMultiError(min));
    if (r.MemoryMaxMB && r.MemoryMB !== undefined && r.MemoryMaxMB < r.MemoryMB) {
      errs.push(`MemoryMaxMB value (${r.MemoryMaxMB}) should be larger than MemoryMB value (${r.MemoryMB})`);
    }
  }
  errs.push(...constraintsErrors(t.Constraints, true));
  if (job.Type === 'system' && t.Affinities) errs.push('System jobs may not have an affinity block');
  errs.push(...serviceErrors(t.Services, portLabels, null));
  const log = t.LogConfig;
  const disk = g.EphemeralDisk;
  if (log && disk && disk.SizeMB !== undefined) {
    const usage = (log.MaxFiles ?? 10) * (log.MaxFileSizeMB ?? 10);
    if (disk.SizeMB <= usage) errs.push(`log storage (${usage} MB) must be less than requested disk capacity (${disk.SizeMB} MB)`);
  }
  (t.Templates ?? []).forEach((tm, i) => {
    const te: string[] = [];
    if (!tm.SourcePath && !tm.EmbeddedTmpl) te.push('Must specify a source path or have an embedded template');
    if (!tm.DestPath) te.push('Must specify a destination for the template');
    const modes = ['noop', 'restart', 'signal', 'script'];
    if (tm.ChangeMode && !modes.includes(tm.ChangeMode)) te.push('Invalid change mode. Must be one of the following: noop, signal, script, restart');
    if (tm.ChangeMode === 'signal' && !tm.ChangeSignal) te.push('Must specify signal value when change mode is signal');
    if (tm.Perms && !/^[0-7]{3,4}$/.test(tm.Perms)) te.push(`Failed to parse ${JSON.stringify(tm.Perms)} as octal: strconv.ParseUint: parsing ${JSON.stringify(tm.Perms)}: invalid syntax`);
    if (te.length) errs.push(`Template ${i + 1} validation failed: ${formatMultiError(te)}`);
  });
  for (const [i, m] of (t.VolumeMounts ?? []).entries()) {
    if (!m.Volume) errs.push(`Task ${t.Name} has a volume mount (${i}) referencing an empty volume`);
  }
  return errs;
}

function groupErrors(g: TaskGroup, job: NomadJob): string[] {
  const errs: string[] = [];
  if (!g.Name) errs.push('Missing task group name');
  if ((g.Count ?? 0) < 0) errs.push("Task group count can't be negative");
  if (!g.Tasks || g.Tasks.length === 0) errs.push('Missing tasks for task group');
  errs.push(...constraintsErrors(g.Constraints));
  if (job.Type === 'system') {
    if (g.Affinities) errs.push('System jobs may not have an affinity block');
    if (g.Spreads) errs.push('System jobs may not have a spread block');
    if (g.ReschedulePolicy) errs.push('System jobs should not have a reschedule policy');
  } else {
    (g.Spreads ?? []).forEach((s, i) => {
      const se: string[] = [];
      if (!s.Attribute) se.push('Missing spread attribute');
      if (s.Weight !== null && s.Weight !== undefined && (s.Weight <= 0 || s.Weight > 100)) se.push('Spread block must have a positive weight from 0 to 100');
      const sum = (s.SpreadTarget ?? []).reduce((a, t) => a + (t.Percent ?? 0), 0);
      if (sum > 100) se.push(`Sum of spread target percentages must not be greater than 100%; got ${sum}%`);
      if (se.length) errs.push(`Spread ${i + 1} validation failed: ${formatMultiError(se)}`);
    });
  }
  if (!g.RestartPolicy) errs.push(`Task Group ${g.Name} should have a restart policy`);
  else if (g.RestartPolicy.Mode && !['delay', 'fail'].includes(g.RestartPolicy.Mode)) {
    errs.push(formatMultiError([`Unsupported restart mode: ${JSON.stringify(g.RestartPolicy.Mode)}`]));
  }
  if (!g.EphemeralDisk) errs.push(`Task Group ${g.Name} should have an ephemeral disk object`);
  if (g.Update && job.Type !== 'service' && job.Type !== 'system') errs.push(`Job type ${JSON.stringify(job.Type)} does not allow update block`);
  if (g.Migrate && job.Type !== 'service') errs.push(`Job type ${JSON.stringify(job.Type)} does not allow migrate block`);

  const taskIdx = new Map<string, number>();
  let leaders = 0;
  (g.Tasks ?? []).forEach((t, i) => {
    if (!t.Name) errs.push(`Task ${i + 1} missing name`);
    else if (taskIdx.has(t.Name)) errs.push(`Task ${i + 1} redefines '${t.Name}' from task ${(taskIdx.get(t.Name) ?? 0) + 1}`);
    else taskIdx.set(t.Name, i);
    if (t.Leader) leaders++;
  });
  if (leaders > 1) errs.push('Only one task may be marked as leader');

  for (const [name, v] of Object.entries(g.Volumes ?? {})) {
    const ve: string[] = [];
    if (!['host', 'csi'].includes(v.Type)) ve.push(`volume has unrecognized type ${v.Type}`);
    if (!v.Source) ve.push('volume has an empty source');
    if (ve.length) errs.push(`Task group volume validation for ${name} failed: ${formatMultiError(ve)}`);
  }

  const labels = new Map<string, string>();
  const statics = new Map<number, string>();
  errs.push(...networkErrors(g.Networks, labels, statics, 'taskgroup network'));
  for (const t of g.Tasks ?? []) errs.push(...networkErrors(t.Resources?.Networks, labels, statics, t.Name));
  const portLabels = new Set(labels.keys());
  errs.push(...serviceErrors(g.Services, portLabels, new Set(taskIdx.keys())));

  for (const t of g.Tasks ?? []) {
    for (const [i, m] of (t.VolumeMounts ?? []).entries()) {
      if (m.Volume && !(g.Volumes && m.Volume in g.Volumes)) errs.push(`Task ${t.Name} has a volume mount (${i}) referencing undefined volume ${m.Volume}`);
    }
    const te = taskErrors(t, g, job, portLabels);
    if (te.length) errs.push(`Task ${t.Name} validation failed: ${formatMultiError(te)}`);
  }
  return errs;
}

function groupWarnings(g: TaskGroup): string[] {
  const w: string[] = [];
  const count = g.Count ?? 1;
  if (g.Update && count > 1 && (g.Update.MaxParallel ?? 0) > count) {
    w.push(
      `Update max parallel count is greater than task group count (${g.Update.MaxParallel} > ${count}). A destructive change would result in the simultaneous replacement of all allocations.`,
    );
  }
  if ((g.Networks?.[0]?.MBits ?? 0) > 0) w.push('mbits has been deprecated as of Nomad 0.12.0. Please remove mbits from the network block');
  for (const t of g.Tasks ?? []) {
    const tw: string[] = [];
    if (t.Resources?.IOPS) tw.push('IOPS has been deprecated as of Nomad 0.9.0. Please remove IOPS from resource block.');
    if (t.Resources?.Networks && t.Resources.Networks.length) tw.push('task network resources have been deprecated as of Nomad 0.12.0. Please configure networking via group network block.');
    // multierror.Prefix puts the prefix in front of each error
    w.push(...tw.map((x) => `Task ${JSON.stringify(t.Name)}: ${x}`));
  }
  return w;
}

/** Validate a job the way POST /v1/validate/job does. */
export function validateJob(input: NomadJob): JobValidation {
  const job = canonicalizeJob(input, { server: true });
  const errors: string[] = [];
  if (!job.Region && !job.Multiregion) errors.push('Missing job region');
  if (!job.ID) errors.push('Missing job ID');
  else if (job.ID.includes(' ')) errors.push('Job ID contains a space');
  else if (job.ID.includes('\0')) errors.push('Job ID contains a null character');
  if (!job.Name) errors.push('Missing job name');
  else if (job.Name.includes('\0')) errors.push('Job Name contains a null character');
  if (!job.Namespace) errors.push('Job must be in a namespace');
  if (!knownJobTypes.includes(job.Type ?? '')) errors.push(`Invalid job type: ${JSON.stringify(job.Type)}`);
  if ((job.Priority ?? 50) < 1 || (job.Priority ?? 50) > 100) errors.push('Job priority must be between [1, 100]');
  if (!job.Datacenters || job.Datacenters.length === 0) errors.push('Missing job datacenters');
  else if (job.Datacenters.some((d) => !d)) errors.push('Job datacenter must be non-empty string');
  if (!job.TaskGroups || job.TaskGroups.length === 0) errors.push('Missing job task groups');
  errors.push(...constraintsErrors(job.Constraints));
  if (job.Type === 'system' && job.Affinities) errors.push('System jobs may not have an affinity block');
  if (job.Type === 'system' && job.Spreads) errors.push('System jobs may not have a spread block');

  const groupIdx = new Map<string, number>();
  (job.TaskGroups ?? []).forEach((g, i) => {
    if (!g.Name) errors.push(`Job task group ${i + 1} missing name`);
    else if (groupIdx.has(g.Name)) errors.push(`Job task group ${i + 1} redefines '${g.Name}' from group ${(groupIdx.get(g.Name) ?? 0) + 1}`);
    else groupIdx.set(g.Name, i);
    if (job.Type === 'system' && (g.Count ?? 1) > 1) {
      errors.push(`Job task group ${g.Name} has count ${g.Count}. Count cannot exceed 1 with system scheduler`);
    }
  });
  for (const g of job.TaskGroups ?? []) {
    const ge = groupErrors(g, job);
    if (ge.length) errors.push(`Task group ${g.Name} validation failed: ${formatMultiError(ge)}`);
  }
  if (job.Periodic && (job.Periodic as { Enabled?: boolean }).Enabled !== false && job.Type !== 'batch' && job.Type !== 'sysbatch') {
    errors.push(`Periodic can only be used with "batch" or "sysbatch" scheduler`);
  }
  if (job.ParameterizedJob && job.Type !== 'batch' && job.Type !== 'sysbatch') {
    errors.push(`Parameterized job can only be used with "batch" or "sysbatch" scheduler`);
  }

  const warnings: string[] = [];
  for (const g of job.TaskGroups ?? []) {
    const gw = groupWarnings(g);
    if (gw.length) warnings.push(`Group ${JSON.stringify(g.Name)} has warnings: ${formatMultiError(gw)}`);
  }
  const autoPromote = (job.TaskGroups ?? []).map((g) => g.Update?.AutoPromote === true);
  if (autoPromote.some(Boolean) && !autoPromote.every(Boolean)) warnings.push('auto_promote must be true for all groups to enable automatic promotion');
  return { errors, warnings };
}
