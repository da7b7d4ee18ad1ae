// The defaults Nomad fills into a job. `canonicalizeJob(job)` is the api package's
// Job.Canonicalize (what /v1/jobs/parse does with `Canonicalize: true` and what the CLI sends on
// `job run`); `{ server: true }` adds what only the server fills in on registration (Datacenters
// ["*"] since 1.5, NodePool "default" since 1.6), which the lab cluster's scheduler needs.
import type { NomadJob, ReschedulePolicy, RestartPolicy, Service, Task, TaskGroup, UpdateStrategy } from './types';

const SECOND = 1e9;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export interface CanonicalizeOptions {
  /** also apply the server-side registration defaults (Datacenters ["*"], NodePool "default") */
  server?: boolean;
}

export const defaultUpdateStrategy = (): UpdateStrategy => ({
  Stagger: 30 * SECOND,
  MaxParallel: 1,
  HealthCheck: 'checks',
  MinHealthyTime: 10 * SECOND,
  HealthyDeadline: 5 * MINUTE,
  ProgressDeadline: 10 * MINUTE,
  Canary: 0,
  AutoRevert: false,
  AutoPromote: false,
});

export function defaultRestartPolicy(jobType: string): RestartPolicy {
  return jobType === 'batch' || jobType === 'sysbatch'
    ? { Delay: 15 * SECOND, Attempts: 3, Interval: 24 * HOUR, Mode: 'fail', RenderTemplates: false }
    : { Delay: 15 * SECOND, Attempts: 2, Interval: 30 * MINUTE, Mode: 'fail', RenderTemplates: false };
}

export function defaultReschedulePolicy(jobType: string): ReschedulePolicy | null {
  if (jobType === 'service') return { Attempts: 0, Interval: 0, Delay: 30 * SECOND, DelayFunction: 'exponential', MaxDelay: 1 * HOUR, Unlimited: true };
  if (jobType === 'batch') return { Attempts: 1, Interval: 24 * HOUR, Delay: 5 * SECOND, DelayFunction: 'constant', MaxDelay: 0, Unlimited: false };
  return null;
}

function merge<T extends object>(base: T, over: T | null | undefined): T {
  const out = { ...base } as Record<string, unknown>;
  if (over) for (const [k, v] of Object.entries(over)) if (v !== undefined && v !== null) out[k] = v;
  return out as T;
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function canonicalizeService(s: Service, defaultName: string): Service {
  const out: Service = {
    ...s,
    Name: s.Name || defaultName,
    AddressMode: s.AddressMode || 'auto',
    Provider: s.Provider || 'consul',
    OnUpdate: s.OnUpdate || 'require_healthy',
    Tags: s.Tags ?? null,
    CanaryTags: s.CanaryTags ?? null,
    PortLabel: s.PortLabel ?? '',
    Checks: s.Checks ?? null,
  };
  if (out.Checks) {
    out.Checks = out.Checks.map((c) => ({
      ...c,
      OnUpdate: c.OnUpdate || out.OnUpdate,
      SuccessBeforePassing: c.SuccessBeforePassing ?? 0,
      FailuresBeforeCritical: c.FailuresBeforeCritical ?? 0,
    }));
  }
  return out;
}

function canonicalAffinity<T extends { Weight?: number }>(a: T): T {
  return { ...a, Weight: a.Weight ?? 50 };
}

function canonicalSpread<T extends { Weight?: number | null }>(sp: T): T {
  return { ...sp, Weight: sp.Weight ?? 50 };
}

function canonicalizeTask(t: Task, g: TaskGroup, job: NomadJob): Task {
  const out: Task = { ...t };
  const r = { ...(t.Resources ?? {}) };
  if (r.Cores && r.Cores > 0) r.CPU = 0;
  else if (r.CPU === undefined) r.CPU = 100;
  if (r.Cores === undefined) r.Cores = 0;
  if (r.MemoryMB === undefined) r.MemoryMB = 300;
  out.Resources = r;
  if (out.KillTimeout === undefined) out.KillTimeout = 5 * SECOND;
  out.LogConfig = merge({ MaxFiles: 10, MaxFileSizeMB: 10, Disabled: false }, t.LogConfig);
  out.RestartPolicy = merge(g.RestartPolicy ?? defaultRestartPolicy(job.Type ?? 'service'), t.RestartPolicy);
  if (t.Templates) {
    out.Templates = t.Templates.map((tm) => {
      const changeMode = tm.ChangeMode ?? 'restart';
      return {
        ...tm,
        SourcePath: tm.SourcePath ?? '',
        DestPath: tm.DestPath ?? '',
        EmbeddedTmpl: tm.EmbeddedTmpl ?? '',
        ChangeMode: changeMode,
        ChangeSignal: tm.ChangeSignal ? tm.ChangeSignal.toUpperCase() : changeMode === 'signal' ? 'SIGHUP' : '',
        Splay: tm.Splay ?? 5 * SECOND,
        Perms: tm.Perms ?? '0644',
        LeftDelim: tm.LeftDelim ?? '{{',
        RightDelim: tm.RightDelim ?? '}}',
        Envvars: tm.Envvars ?? false,
        ErrMissingKey: tm.ErrMissingKey ?? false,
      };
    });
  }
  if (t.Services) out.Services = t.Services.map((s) => canonicalizeService(s, `${job.Name}-${g.Name}-${t.Name}`));
  if (t.Vault) out.Vault = { ChangeSignal: 'SIGHUP', ...(t.Vault as object), Env: (t.Vault as { Env?: boolean }).Env ?? true, ChangeMode: (t.Vault as { ChangeMode?: string }).ChangeMode ?? 'restart' };
  if (out.Lifecycle && !out.Lifecycle.Hook) out.Lifecycle = null;
  if (t.Affinities) out.Affinities = t.Affinities.map(canonicalAffinity);
  if (t.VolumeMounts) out.VolumeMounts = t.VolumeMounts.map((m) => ({ ...m, ReadOnly: m.ReadOnly ?? false, PropagationMode: m.PropagationMode || 'private' }));
  if (Array.isArray(t.Artifacts)) {
    out.Artifacts = (t.Artifacts as Record<string, unknown>[]).map((a) => {
      const mode = typeof a.GetterMode === 'string' ? a.GetterMode : 'any';
      const source = typeof a.GetterSource === 'string' ? a.GetterSource : '';
      const base = source.split('?')[0].split('/').pop() ?? '';
      return { ...a, GetterSource: source, GetterMode: mode, RelativeDest: a.RelativeDest ?? (mode === 'file' ? `local/${base}` : 'local/') };
    });
  }
  return out;
}

/** Fill Nomad's defaults into a job (returns a new object; the input is not modified). */
export function canonicalizeJob(input: NomadJob, opts: CanonicalizeOptions = {}): NomadJob {
  const job: NomadJob = clone(input);
  job.ID = job.ID ?? '';
  if (!job.Name) job.Name = job.ID;
  job.ParentID = job.ParentID ?? '';
  job.Namespace = job.Namespace || 'default';
  job.Region = job.Region || 'global';
  job.Type = job.Type || 'service';
  job.Priority = job.Priority ?? 50;
  job.AllAtOnce = job.AllAtOnce ?? false;
  job.Stop = job.Stop ?? false;
  job.NodePool = job.NodePool ?? '';
  job.ConsulToken = job.ConsulToken ?? '';
  job.VaultToken = job.VaultToken ?? '';
  job.Status = job.Status ?? '';
  job.StatusDescription = job.StatusDescription ?? '';
  job.Stable = job.Stable ?? false;
  job.Version = job.Version ?? 0;
  job.CreateIndex = job.CreateIndex ?? 0;
  job.ModifyIndex = job.ModifyIndex ?? 0;
  job.JobModifyIndex = job.JobModifyIndex ?? 0;
  if (job.Datacenters === undefined) job.Datacenters = null;
  if (job.Constraints === undefined) job.Constraints = null;
  job.Affinities = job.Affinities ? job.Affinities.map(canonicalAffinity) : null;
  job.Spreads = job.Spreads ? job.Spreads.map(canonicalSpread) : null;
  if (job.Meta === undefined) job.Meta = null;
  if (job.Periodic && typeof job.Periodic === 'object') {
    const p = job.Periodic as Record<string, unknown>;
    job.Periodic = { Enabled: true, SpecType: 'cron', ProhibitOverlap: false, TimeZone: 'UTC', ...p };
  }
  if (job.ParameterizedJob && typeof job.ParameterizedJob === 'object') {
    job.ParameterizedJob = { Payload: 'optional', ...(job.ParameterizedJob as object) };
  }
  // The job-level update block is the default for every group; service jobs get one even if unset.
  if (job.Update) job.Update = merge(defaultUpdateStrategy(), job.Update);
  else if (job.Type === 'service') job.Update = defaultUpdateStrategy();
  else job.Update = null;

  job.TaskGroups = (job.TaskGroups ?? []).map((g) => {
    const out: TaskGroup = { ...g, Name: g.Name ?? '' };
    const scalingMin = (g.Scaling as { Min?: number } | undefined)?.Min;
    if (out.Count === undefined || out.Count === null) out.Count = typeof scalingMin === 'number' ? scalingMin : 1;
    out.Constraints = g.Constraints ?? null;
    out.Affinities = g.Affinities ? g.Affinities.map(canonicalAffinity) : null;
    out.Spreads = g.Spreads ? g.Spreads.map(canonicalSpread) : null;
    out.Meta = g.Meta ?? null;
    out.Services = g.Services ? g.Services.map((s) => canonicalizeService(s, `${job.Name}-${out.Name}`)) : null;
    out.Networks = g.Networks ?? null;
    out.Volumes = g.Volumes ?? null;
    out.EphemeralDisk = merge({ Sticky: false, Migrate: false, SizeMB: 300 }, g.EphemeralDisk);
    if (job.Update && g.Update) out.Update = merge(job.Update, g.Update);
    else if (job.Update) out.Update = { ...job.Update };
    else if (g.Update) out.Update = merge(defaultUpdateStrategy(), g.Update);
    else out.Update = null;
    out.RestartPolicy = merge(defaultRestartPolicy(job.Type ?? 'service'), g.RestartPolicy);
    const resched = defaultReschedulePolicy(job.Type ?? 'service');
    const jobResched = (job as { Reschedule?: ReschedulePolicy }).Reschedule;
    // system and sysbatch jobs have no reschedule policy; the api drops one if given
    out.ReschedulePolicy = resched ? merge(merge(resched, jobResched), g.ReschedulePolicy) : null;
    if (job.Type === 'service' || g.Migrate) {
      out.Migrate = merge({ MaxParallel: 1, HealthCheck: 'checks', MinHealthyTime: 10 * SECOND, HealthyDeadline: 5 * MINUTE }, (g.Migrate ?? job.Migrate) as object | undefined);
    }
    out.Tasks = (g.Tasks ?? []).map((t) => canonicalizeTask(t, out, job));
    return out;
  });

  if (opts.server) {
    if (!job.Datacenters || job.Datacenters.length === 0) job.Datacenters = ['*'];
    // structs ServiceCheck.Canonicalize names unnamed checks after their service
    const nameChecks = (services: Service[] | null | undefined): void => {
      for (const sv of services ?? []) for (const c of sv.Checks ?? []) if (!c.Name) c.Name = `service: ${JSON.stringify(sv.Name)} check`;
    };
    for (const g of job.TaskGroups) {
      nameChecks(g.Services);
      for (const t of g.Tasks) nameChecks(t.Services);
    }
    if (!job.NodePool) job.NodePool = 'default';
    // The server pushes the update strategy into the groups and keeps only Stagger and
    // MaxParallel at job level (command/agent ApiJobToStructJob); GET /v1/job/:id shows that.
    const u = job.Update;
    job.Update = {
      Stagger: u && (u.MaxParallel ?? 0) > 0 ? (u.Stagger ?? 0) : 0,
      MaxParallel: u && (u.MaxParallel ?? 0) > 0 ? (u.MaxParallel ?? 0) : 0,
      HealthCheck: '',
      MinHealthyTime: 0,
      HealthyDeadline: 0,
      ProgressDeadline: 0,
      Canary: 0,
      AutoRevert: false,
      AutoPromote: false,
    };
  }
  return job;
}
