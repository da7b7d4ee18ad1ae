// /v1/jobs, /v1/job/:id and its sub-resources (plan, allocations, evaluations, summary,
// deployments, versions, submission, scale, revert, evaluate), /v1/jobs/parse and
// /v1/validate/job: registration with EnforceIndex and the job source, validation errors and
// warnings worded as Nomad's. Nomad's command/agent/job_endpoint.go, simplified.
import { formatMultiError, formatWarnings, JobParseError, parseJobHCL, validateJob, type NomadJob } from '../../jobspec';
import { block, HttpError, queryBool, sendJson, type Ctx } from '../../http';
import { isTerminal } from '../structs';
import { metaHeaders, notFound, nsMatch, nsOf, paginate, type NomadApiOptions, type Route } from './request';

async function parseJobBody(ctx: Ctx): Promise<{ job: NomadJob; body: Record<string, unknown> }> {
  const body = (await ctx.body()) as Record<string, unknown> | null;
  if (!body || typeof body !== 'object' || !body.Job || typeof body.Job !== 'object') throw new HttpError(400, 'Job must be specified');
  const job = body.Job as NomadJob;
  if (!job.ID) throw new HttpError(400, "Job ID hasn't been provided");
  return { job, body };
}

function requestNamespace(ctx: Ctx, job: NomadJob): string {
  const ns = ctx.query.get('namespace') || job.Namespace || 'default';
  if (job.Namespace && ns !== job.Namespace) throw new HttpError(400, 'mismatched request namespace');
  if (ns !== 'default') throw new HttpError(400, `nonexistent namespace "${ns}"`);
  return ns;
}

async function register(o: NomadApiOptions, ctx: Ctx, pathId?: string): Promise<void> {
  const nomad = o.nomad;
  const { job, body } = await parseJobBody(ctx);
  if (pathId !== undefined && job.ID !== pathId) throw new HttpError(400, 'Job ID does not match name');
  const ns = requestNamespace(ctx, job);
  const v = validateJob(job);
  if (v.errors.length) throw new HttpError(500, formatMultiError(v.errors));
  const existing = nomad.getJob(ns, job.ID);
  if (body.EnforceIndex === true) {
    const want = Number(body.JobModifyIndex ?? 0);
    if (want === 0 && existing) throw new HttpError(500, `Enforcing job modify index ${want}: job already exists`);
    if (want !== 0 && !existing) throw new HttpError(500, `Enforcing job modify index ${want}: job does not exist`);
    if (existing && want !== existing.JobModifyIndex) throw new HttpError(500, `Enforcing job modify index ${want}: job exists with conflicting job modify index: ${existing.JobModifyIndex}`);
  }
  const r = nomad.registerJob(job, ns);
  const sub = body.Submission as { Source?: unknown; Format?: unknown; VariableFlags?: unknown; Variables?: unknown } | null | undefined;
  if (sub && typeof sub.Source === 'string') {
    nomad.submissions.set(`${ns}/${job.ID}@${r.job.Version}`, { Source: sub.Source, Format: typeof sub.Format === 'string' ? sub.Format : 'hcl2', VariableFlags: (sub.VariableFlags as Record<string, string> | null) ?? null, Variables: typeof sub.Variables === 'string' ? sub.Variables : '', JobIndex: r.job.JobModifyIndex });
  }
  sendJson(ctx, 200, { EvalID: r.evalId, EvalCreateIndex: r.index, JobModifyIndex: r.job.JobModifyIndex, Warnings: formatWarnings(v.warnings), Index: r.index, LastContact: 0, KnownLeader: false, NextToken: '' }, { 'X-Nomad-Index': String(r.index) });
}

/** /v1/jobs, /v1/jobs/parse, /v1/validate/job, /v1/job/… */
export async function jobEndpoint(o: NomadApiOptions, { ctx, seg, is, write, invalid }: Route): Promise<void> {
  const nomad = o.nomad;
  const [a0, a1, a2] = seg;
  if (a0 === 'jobs' && !a1) {
    if (is('GET')) {
      const index = await block(ctx, nomad.store, ['jobs', 'job_summary']);
      const prefix = ctx.query.get('prefix') ?? '';
      const list = [...nomad.jobs.values()].filter((j) => nsMatch(ctx, j.Namespace) && j.ID.startsWith(prefix)).sort((x, y) => x.ID.localeCompare(y.ID));
      const headers = metaHeaders(index);
      const page = paginate(ctx, list, (j) => j.ID, headers, (j) => nomad.jobJson(j));
      return sendJson(ctx, 200, page.map((j) => nomad.jobStub(j, queryBool(ctx.query, 'meta'))), headers);
    }
    if (is(write)) return register(o, ctx);
    return invalid();
  }
  if (a0 === 'jobs' && a1 === 'parse') {
    if (!is(write)) return invalid();
    const body = (await ctx.body()) as { JobHCL?: string; Canonicalize?: boolean; Variables?: string } | null;
    try {
      const job = await parseJobHCL(body?.JobHCL ?? '', { canonicalize: !!body?.Canonicalize, variables: body?.Variables });
      return sendJson(ctx, 200, job);
    } catch (err) {
      if (err instanceof JobParseError) throw new HttpError(400, err.message);
      throw err;
    }
  }
  if (a0 === 'validate' && a1 === 'job') {
    if (!is(write)) return invalid();
    const { job } = await parseJobBody(ctx);
    const v = validateJob(job);
    return sendJson(ctx, 200, { DriverConfigValidated: true, ValidationErrors: v.errors.length ? v.errors : null, Error: v.errors.length ? formatMultiError(v.errors) : '', Warnings: formatWarnings(v.warnings) });
  }
  if (a0 === 'job' && a1) {
    const ns = nsOf(ctx);
    const job = nomad.getJob(ns, a1);
    if (!a2) {
      if (is('GET')) {
        const index = await block(ctx, nomad.store, ['jobs']);
        const j = nomad.getJob(ns, a1);
        if (!j) throw new HttpError(404, 'job not found');
        return sendJson(ctx, 200, nomad.jobJson(j), metaHeaders(index));
      }
      if (is(write)) return register(o, ctx, a1);
      if (is('DELETE')) {
        const r = nomad.deregisterJob(ns, a1, queryBool(ctx.query, 'purge'));
        const j = nomad.getJob(ns, a1);
        return sendJson(ctx, 200, { EvalID: r.evalId, EvalCreateIndex: r.index, JobModifyIndex: j?.JobModifyIndex ?? r.index, VolumeEvalID: '', VolumeEvalIndex: 0, Index: r.index, LastContact: 0, KnownLeader: false, NextToken: '' }, { 'X-Nomad-Index': String(r.index) });
      }
      return invalid();
    }
    if (a2 === 'plan') {
      if (!is(write)) return invalid();
      const { job: j, body } = await parseJobBody(ctx);
      if (j.ID !== a1) throw new HttpError(400, 'Job ID does not match');
      const planNs = requestNamespace(ctx, j);
      const v = validateJob(j);
      if (v.errors.length) throw new HttpError(500, formatMultiError(v.errors));
      return sendJson(ctx, 200, { ...nomad.plan(j, planNs, body.Diff === true), Warnings: formatWarnings(v.warnings) });
    }
    if (a2 === 'allocations') {
      if (!is('GET')) return invalid();
      const index = await block(ctx, nomad.store, ['allocs']);
      const all = queryBool(ctx.query, 'all');
      const j = nomad.getJob(ns, a1);
      const list = nomad.jobAllocs(ns, a1).filter((x) => all || !j || x.job.CreateIndex === j.CreateIndex);
      return sendJson(ctx, 200, list.sort((x, y) => x.CreateIndex - y.CreateIndex).map((x) => nomad.allocStub(x)), metaHeaders(index));
    }
    if (a2 === 'evaluations') {
      if (!is('GET')) return invalid();
      const index = await block(ctx, nomad.store, ['evals']);
      return sendJson(ctx, 200, [...nomad.evals.values()].filter((e) => e.JobID === a1 && e.Namespace === ns), metaHeaders(index));
    }
    if (a2 === 'summary') {
      if (!is('GET')) return invalid();
      const index = await block(ctx, nomad.store, ['job_summary']);
      const j = nomad.getJob(ns, a1);
      if (!j) throw new HttpError(404, 'job not found');
      return sendJson(ctx, 200, nomad.jobSummary(j), metaHeaders(index));
    }
    if (a2 === 'deployments') {
      if (!is('GET')) return invalid();
      const index = await block(ctx, nomad.store, ['deployment']);
      return sendJson(ctx, 200, [...nomad.deployments.values()].filter((d) => d.JobID === a1 && d.Namespace === ns).sort((x, y) => y.CreateIndex - x.CreateIndex), metaHeaders(index));
    }
    if (a2 === 'deployment') {
      if (!is('GET')) return invalid();
      const index = await block(ctx, nomad.store, ['deployment']);
      return sendJson(ctx, 200, nomad.latestDeployment(ns, a1) ?? null, metaHeaders(index));
    }
    if (a2 === 'versions') {
      if (!is('GET')) return invalid();
      const index = await block(ctx, nomad.store, ['jobs']);
      if (!job) throw new HttpError(404, 'job versions not found');
      const versions = (nomad.jobVersions.get(`${ns}/${a1}`) ?? [job]).map((v) => ({ ...v, Status: nomad.jobStatus(v), Stable: v.Stable }));
      return sendJson(ctx, 200, { Versions: versions, Diffs: null }, metaHeaders(index));
    }
    if (a2 === 'submission') {
      if (!is('GET')) return invalid();
      const v = ctx.query.get('version');
      const version = v !== null && /^\d+$/.test(v) ? Number(v) : job?.Version;
      const sub = version === undefined ? undefined : nomad.submissions.get(`${ns}/${a1}@${version}`);
      if (!sub) throw new HttpError(404, 'job source not found');
      return sendJson(ctx, 200, sub);
    }
    if (a2 === 'scale') {
      if (!job) throw new HttpError(404, 'job not found');
      if (is('GET')) {
        const allocs = nomad.jobAllocs(ns, a1).filter((x) => !isTerminal(x));
        const groups = Object.fromEntries(
          job.TaskGroups.map((g) => {
            const mine = allocs.filter((x) => x.TaskGroup === g.Name);
            return [g.Name, { Desired: g.Count ?? 1, Placed: mine.length, Running: mine.filter((x) => x.ClientStatus === 'running').length, Healthy: mine.filter((x) => x.DeploymentStatus?.Healthy === true).length, Unhealthy: mine.filter((x) => x.DeploymentStatus?.Healthy === false).length, Events: null }];
          }),
        );
        return sendJson(ctx, 200, { JobID: job.ID, Namespace: ns, JobCreateIndex: job.CreateIndex, JobModifyIndex: job.JobModifyIndex, JobStopped: job.Stop, TaskGroups: groups });
      }
      if (!is(write)) return invalid();
      const body = (await ctx.body()) as { Count?: number | null; Target?: Record<string, string>; Message?: string } | null;
      const group = body?.Target?.Group;
      if (!group) throw new HttpError(400, 'missing task group name for scaling action');
      const tg = job.TaskGroups.find((g) => g.Name === group);
      if (!tg) throw new HttpError(400, `task group "${group}" specified for scaling does not exist in job`);
      if (typeof body?.Count !== 'number' || body.Count < 0) throw new HttpError(400, 'scaling action count can\'t be negative');
      if (job.Type === 'system' && body.Count > 1) throw new HttpError(400, 'task group count for system jobs cannot exceed 1');
      const scaled = JSON.parse(JSON.stringify(job)) as typeof job;
      (scaled.TaskGroups.find((g) => g.Name === group) as typeof tg).Count = body.Count;
      const r = nomad.registerJob(scaled, ns);
      return sendJson(ctx, 200, { EvalID: r.evalId, EvalCreateIndex: r.index, JobModifyIndex: r.job.JobModifyIndex, Warnings: '', Index: r.index });
    }
    if (a2 === 'revert') {
      if (!is(write)) return invalid();
      const body = (await ctx.body()) as { JobID?: string; JobVersion?: number; EnforcePriorVersion?: number | null } | null;
      if (typeof body?.JobVersion !== 'number') throw new HttpError(400, 'missing job version');
      if (typeof body.EnforcePriorVersion === 'number' && job && job.Version !== body.EnforcePriorVersion) throw new HttpError(400, `Current job has version ${job.Version}; enforcing version ${body.EnforcePriorVersion}`);
      const r = nomad.revertJob(ns, a1, body.JobVersion);
      return sendJson(ctx, 200, { EvalID: r.evalId, EvalCreateIndex: r.index, JobModifyIndex: r.job.JobModifyIndex, Warnings: '', Index: r.index });
    }
    if (a2 === 'evaluate') {
      if (!is(write)) return invalid();
      if (!job) throw new HttpError(404, 'job not found');
      const e = nomad.enqueueEval(job, 'job-register');
      return sendJson(ctx, 200, { EvalID: e.ID, EvalCreateIndex: e.CreateIndex, JobModifyIndex: job.JobModifyIndex, Index: e.CreateIndex });
    }
  }
  return notFound(ctx);
}
