// Variables and locals of a job file: `variable` blocks with their defaults and types, values
// from a var file (those the job does not declare are ignored), and `locals` evaluated in any
// order they depend on each other, into the scope the job block is evaluated in. Nomad's
// jobspec2/types.config.go and jobspec2/types.variables.go, simplified.
import { blocksOf, attrPosOf, record, type DecodeCtx, type Raw } from './decode';
import { Diag, JobParseError, formatSyntaxMessage } from './diagnostics';
import { type HclValue, PendingLocal, evalDeep } from './expr';
import { hcl2json, syntaxDiagnostics } from './hcl2json';
import type { SrcBlock, SrcPos } from './scanner';

/** Fills `ctx.scope` with the file's variables and locals, recording problems in `ctx.diags`. */
export async function collectScope(raw: Raw, root: SrcBlock, opts: { variables?: string }, ctx: DecodeCtx): Promise<void> {
  const declared = new Map<string, { value?: HclValue; type?: string; src: SrcBlock }>();
  for (const { src, raw: body } of blocksOf(raw, root, 'variable')) {
    if (src.labels.length !== 1) {
      ctx.diags.push(new Diag('Missing name for variable', 'All variable blocks must have 1 labels (name).', src));
      continue;
    }
    for (const [name, a] of src.attrs) {
      if (!['default', 'type', 'description', 'sensitive'].includes(name)) ctx.diags.push(new Diag('Unsupported argument', `An argument named "${name}" is not expected here.`, a));
    }
    const name = src.labels[0];
    if (declared.has(name)) {
      ctx.diags.push(new Diag('Duplicate variable', `Duplicate ${name} variable definition found.`, src));
      continue;
    }
    const type = typeof body.type === 'string' ? body.type.replace(/^\$\{|\}$/g, '') : undefined;
    declared.set(name, { src, type, ...('default' in body ? { value: evalDeep(body.default, { vars: {}, locals: {} }) } : {}) });
  }
  for (const { src, raw: body } of blocksOf(raw, root, 'variables')) {
    for (const [name] of src.attrs) declared.set(name, { src, value: evalDeep(body[name], { vars: {}, locals: {} }) });
  }
  if (opts.variables && opts.variables.trim()) {
    const varsFile = 'variables.hcl';
    let parsed: Raw;
    try {
      parsed = (await hcl2json(varsFile, opts.variables)) as Raw;
    } catch (e) {
      const d = syntaxDiagnostics(e instanceof Error ? e.message : String(e), varsFile);
      throw new JobParseError(d, formatSyntaxMessage(d));
    }
    for (const [k, v] of Object.entries(parsed)) {
      const d = declared.get(k);
      // Values for variables the job does not declare are ignored, so one var file can serve several jobs.
      if (d) d.value = evalDeep(v, { vars: {}, locals: {} });
    }
  }
  for (const [name, d] of declared) {
    if (d.value === undefined) {
      ctx.diags.push(new Diag(`Unset variable "${name}"`, 'A used variable must be set or have a default value; see https://packer.io/docs/configuration/from-1.5/syntax for details.', d.src));
      continue;
    }
    let v = d.value;
    if (d.type === 'number' && typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) v = Number(v);
    if (d.type === 'bool' && (v === 'true' || v === 'false')) v = v === 'true';
    if (d.type === 'string' && (typeof v === 'number' || typeof v === 'boolean')) v = String(v);
    if (d.type === 'number' && typeof v !== 'number') {
      ctx.diags.push(new Diag('Invalid default value for variable', `This default value is not compatible with the variable's type constraint: a number is required.`, d.src));
    }
    ctx.scope.vars[name] = v;
  }
  // locals may refer to each other in any order; evaluate until no progress is made
  const pending: { name: string; value: unknown; src: SrcBlock }[] = [];
  for (const { src, raw: body } of blocksOf(raw, root, 'locals')) {
    for (const [name] of src.attrs) {
      if (pending.some((p) => p.name === name)) {
        ctx.diags.push(new Diag('Duplicate value in locals', `Duplicate ${name} definition found.`, src.attrs.get(name) as SrcPos));
        continue;
      }
      pending.push({ name, value: body[name], src });
    }
  }
  let progress = true;
  while (pending.length && progress) {
    progress = false;
    for (const p of [...pending]) {
      try {
        ctx.scope.locals[p.name] = evalDeep(p.value, { ...ctx.scope, localsPending: true });
        pending.splice(pending.indexOf(p), 1);
        progress = true;
      } catch (e) {
        if (!(e instanceof PendingLocal)) {
          record(ctx, e, attrPosOf(p.src, p.name, true));
          pending.splice(pending.indexOf(p), 1);
        }
      }
    }
  }
  for (const p of pending) {
    try {
      ctx.scope.locals[p.name] = evalDeep(p.value, ctx.scope);
    } catch (e) {
      record(ctx, e, attrPosOf(p.src, p.name, true));
    }
  }
}
