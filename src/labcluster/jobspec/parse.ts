// HCL2 job file → Nomad API job JSON, shaped as `nomad job run -output` and POST /v1/jobs/parse
// return it (jobspec2 semantics: labels become names, constraint shorthands, ports split into
// reserved/dynamic, templates normalised, unknown runtime references kept verbatim).
//
// Pipeline: @cdktf/hcl2json (HashiCorp's real HCL2 parser, compiled to wasm) checks the syntax and
// gives block-structured values (./hcl2json); scanHcl() adds the positions and source order
// hcl2json drops; variables and locals make the scope (./variables); the schema (./schema) is
// decoded strictly (./decode), as Nomad's gohcl decoder does, so an unknown argument or block is
// reported at its line and column. Nomad's jobspec2/parse.go (Parse, ParseWithConfig), simplified.
import { canonicalizeJob } from './canonicalize';
import { blocksOf, decodeBody, type DecodeCtx } from './decode';
import { Diag, JobParseError, posString, toError } from './diagnostics';
import { hclToJson } from './hcl2json';
import { jobSpec, normalizeJob } from './schema';
import { scanHcl } from './scanner';
import type { NomadJob } from './types';
import { collectScope } from './variables';

export interface ParseJobOptions {
  /** file name used in error positions; Nomad's /v1/jobs/parse uses "input.hcl" */
  filename?: string;
  /** apply the api-level canonical defaults (what /v1/jobs/parse does with `Canonicalize: true`) */
  canonicalize?: boolean;
  /** var-file text, e.g. `image = "nginx:1.25"\n` (what /v1/jobs/parse's `Variables` carries) */
  variables?: string;
}

/**
 * Parse an HCL2 job file into the Nomad API job JSON (the bare job, as /v1/jobs/parse returns it).
 * Throws JobParseError with the position of the first problem.
 */
export async function parseJobHCL(hcl: string, opts: ParseJobOptions = {}): Promise<NomadJob> {
  const filename = opts.filename ?? 'input.hcl';
  if (hcl === '') {
    // /v1/jobs/parse answers an empty JobHCL with 400 "Job spec is empty" (no parse attempted).
    throw new JobParseError([{ summary: 'Job spec is empty', detail: '', filename, line: 1, column: 1, endLine: 1, endColumn: 1 }], 'Job spec is empty');
  }
  if (hcl.trimStart().startsWith('{')) {
    return parseJobJSON(hcl, filename, opts);
  }
  const raw = await hclToJson(filename, hcl);
  const root = scanHcl(hcl);
  const ctx: DecodeCtx = { file: filename, scope: { vars: {}, locals: {} }, diags: [] };

  for (const [name, a] of root.attrs) ctx.diags.push(new Diag('Unsupported argument', `An argument named "${name}" is not expected here.`, a));
  for (const b of root.blocks) {
    if (!['job', 'variable', 'variables', 'locals'].includes(b.type)) ctx.diags.push(new Diag('Unsupported block type', `Blocks of type "${b.type}" are not expected here.`, b));
  }
  await collectScope(raw, root, opts, ctx);
  if (ctx.diags.length) throw toError(ctx.diags, filename);

  const jobs = blocksOf(raw, root, 'job');
  if (jobs.length === 0) {
    throw new JobParseError([{ summary: 'Missing job block', detail: 'A job block is required', filename, line: 1, column: 1, endLine: 1, endColumn: 1, hasSubject: false }]);
  }
  if (jobs.length > 1) {
    const prev = jobs[0].src;
    ctx.diags.push(new Diag('Duplicate job block', `Only one block of type "job" is allowed. Previous definition was at ${posString(filename, prev)}.`, jobs[1].src));
    throw toError(ctx.diags, filename);
  }
  const { src: jobSrc, raw: jobRaw } = jobs[0];
  if (jobSrc.labels.length !== 1) {
    ctx.diags.push(
      jobSrc.labels.length === 0
        ? new Diag('Missing name for job', 'All job blocks must have 1 labels (name).', jobSrc)
        : new Diag('Extraneous label for job', 'Only 1 labels (name) are expected for job blocks.', jobSrc),
    );
    throw toError(ctx.diags, filename);
  }
  const decoded = decodeBody(jobRaw, jobSrc, jobSpec, ctx);
  if (ctx.diags.length) throw toError(ctx.diags, filename);

  const jobID = jobSrc.labels[0];
  const job = normalizeJob(decoded, jobID);
  return opts.canonicalize ? canonicalizeJob(job) : job;
}

/** A JSON job file (`{"Job": {...}}` or a bare job), as `nomad job run` accepts with -json. */
function parseJobJSON(text: string, filename: string, opts: ParseJobOptions): NomadJob {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const offset = m ? Number(m[1]) : 0;
    const before = text.slice(0, offset).split('\n');
    const line = before.length;
    const column = (before[before.length - 1] ?? '').length + 1;
    throw new JobParseError([{ summary: 'Invalid JSON', detail: (e as Error).message, filename, line, column, endLine: line, endColumn: column + 1 }]);
  }
  if (v && typeof v === 'object' && 'job' in v && !('Job' in v)) {
    // HCL's JSON syntax ({"job": {"name": {…}}}) is a different format from the API JSON.
    throw new JobParseError([
      { summary: 'Unsupported format', detail: 'HCL JSON syntax is not supported by the lab cluster; write the job in HCL, or as API JSON ({"Job": {…}})', filename, line: 1, column: 1, endLine: 1, endColumn: 2 },
    ]);
  }
  const job = (v && typeof v === 'object' && 'Job' in v ? (v as { Job: unknown }).Job : v) as NomadJob;
  if (!job || typeof job !== 'object' || Array.isArray(job)) {
    throw new JobParseError([{ summary: 'Invalid job', detail: 'the JSON document is not a job object', filename, line: 1, column: 1, endLine: 1, endColumn: 2 }]);
  }
  if (!Array.isArray(job.TaskGroups)) job.TaskGroups = [];
  return opts.canonicalize ? canonicalizeJob(job) : job;
}
