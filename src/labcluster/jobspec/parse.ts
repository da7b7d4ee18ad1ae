// HCL2 job file → Nomad API job JSON, shaped as `nomad job run -output` and POST /v1/jobs/parse
// return it (jobspec2 semantics: labels become names, constraint shorthands, ports split into
// reserved/dynamic, templates normalised, unknown runtime references kept verbatim).
//
// Pipeline: @cdktf/hcl2json (HashiCorp's real HCL2 parser, compiled to wasm) checks the syntax and
// gives block-structured values; scanHcl() adds the positions and source order hcl2json drops;
// the schema below decodes the blocks strictly, as Nomad's gohcl decoder does, so an unknown
// argument or block is reported at its line and column.
import { canonicalizeJob } from './canonicalize';
import { EvalScope, HclEvalError, HclValue, PendingLocal, evalDeep, typeName } from './expr';
import { SrcBlock, SrcPos, scanHcl } from './scanner';
import type { NomadJob, Port, Task, TaskGroup } from './types';

/**
 * @cdktf/hcl2json reads and inflates its wasm parser (about 20 MB) as soon as it is required, and
 * keeps it: required on the first parse instead, a lab cluster that never parses HCL (most stacks
 * until an attendee runs a job file) stays that much smaller (bench/README.md, provisioning).
 */
let hcl2jsonModule: Promise<typeof import('@cdktf/hcl2json')> | undefined;
async function hcl2json(filename: string, src: string): Promise<unknown> {
  hcl2jsonModule ??= import('@cdktf/hcl2json');
  const m = await hcl2jsonModule;
  // A CommonJS package through import(): its named exports, or module.exports as the default.
  return (m.parse ?? (m as unknown as { default: typeof m }).default.parse)(filename, src);
}

export interface ParseJobOptions {
  /** file name used in error positions; Nomad's /v1/jobs/parse uses "input.hcl" */
  filename?: string;
  /** apply the api-level canonical defaults (what /v1/jobs/parse does with `Canonicalize: true`) */
  canonicalize?: boolean;
  /** var-file text, e.g. `image = "nginx:1.25"\n` (what /v1/jobs/parse's `Variables` carries) */
  variables?: string;
}

export interface JobDiagnostic {
  summary: string;
  detail: string;
  filename: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** false when HCL reports the problem without a source range (Go prints the nil range as "<nil>") */
  hasSubject?: boolean;
}

/** A parse failure. `message` reads like Nomad's: `Failed to parse job: <file>:<l>,<c>-<c>: <summary>; <detail>`. */
export class JobParseError extends Error {
  readonly line: number;
  readonly column: number;
  readonly filename: string;
  constructor(
    readonly diagnostics: JobDiagnostic[],
    message?: string,
  ) {
    super(message ?? formatMessage(diagnostics));
    this.name = 'JobParseError';
    const first = diagnostics[0];
    this.line = first?.line ?? 1;
    this.column = first?.column ?? 1;
    this.filename = first?.filename ?? 'input.hcl';
  }
}

function rangeString(d: JobDiagnostic): string {
  if (d.hasSubject === false) return '<nil>';
  return d.endLine === d.line ? `${d.filename}:${d.line},${d.column}-${d.endColumn}` : `${d.filename}:${d.line},${d.column}-${d.endLine},${d.endColumn}`;
}

const diagText = (d: JobDiagnostic): string => `${rangeString(d)}: ${d.summary}; ${d.detail}`;

/** Decoding problems: jobspec2 joins every diagnostic with a newline. */
function formatMessage(diags: JobDiagnostic[]): string {
  return `Failed to parse job: ${diags.map(diagText).join('\n')}`;
}

/** Syntax problems: hcl.Diagnostics.Error() shows the first and counts the rest. */
function formatSyntaxMessage(diags: JobDiagnostic[]): string {
  const rest = diags.length > 1 ? `, and ${diags.length - 1} other diagnostic(s)` : '';
  return `Failed to parse job: ${diagText(diags[0])}${rest}`;
}

class Diag extends Error {
  constructor(
    readonly summary: string,
    readonly detail: string,
    readonly pos: SrcPos,
  ) {
    super(`${summary}; ${detail}`);
  }
}

// ---------------------------------------------------------------------------------------------
// hcl2json syntax errors look like "parse config: [f:3,13-4,1: Summary; Detail f:5,1-2: …]".

function syntaxDiagnostics(message: string, filename: string): JobDiagnostic[] {
  const esc = filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`${esc}:(\\d+),(\\d+)-(?:(\\d+),)?(\\d+): `, 'g');
  const starts: { index: number; end: number; m: RegExpExecArray }[] = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(message))) starts.push({ index: m.index, end: re.lastIndex, m });
  const out: JobDiagnostic[] = [];
  starts.forEach((s, i) => {
    let text = message.slice(s.end, i + 1 < starts.length ? starts[i + 1].index : undefined);
    text = text.replace(/\]\s*$/, '').trim();
    const semi = text.indexOf('; ');
    const line = Number(s.m[1]);
    out.push({
      summary: semi >= 0 ? text.slice(0, semi) : text,
      detail: semi >= 0 ? text.slice(semi + 2) : '',
      filename,
      line,
      column: Number(s.m[2]),
      endLine: s.m[3] ? Number(s.m[3]) : line,
      endColumn: Number(s.m[4]),
    });
  });
  if (out.length === 0) {
    out.push({ summary: 'Invalid HCL', detail: message.replace(/^parse config: \[?|\]$/g, ''), filename, line: 1, column: 1, endLine: 1, endColumn: 1 });
  }
  return out;
}

async function hclToJson(filename: string, src: string): Promise<Record<string, unknown>> {
  try {
    return (await hcl2json(filename, src)) as Record<string, unknown>;
  } catch (e) {
    const diags = syntaxDiagnostics(e instanceof Error ? e.message : String(e), filename);
    throw new JobParseError(diags, formatSyntaxMessage(diags));
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding context

type Raw = Record<string, unknown>;

interface Ctx {
  file: string;
  scope: EvalScope;
  diags: Diag[];
}

const acronyms: Record<string, string> = { id: 'ID', ttl: 'TTL', tls: 'TLS', url: 'URL', dns: 'DNS', cpu: 'CPU', ip: 'IP', http: 'HTTP', grpc: 'GRPC', mb: 'MB', cidr: 'CIDR', uid: 'UID', gid: 'GID', sni: 'SNI' };

/** snake_case → the Go field name style the API JSON uses, for the blocks decoded generically. */
export function pascalCase(key: string): string {
  return key
    .split('_')
    .map((p) => acronyms[p] ?? p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

type Kind = 'string' | 'int' | 'number' | 'bool' | 'duration' | 'strings' | 'stringmap' | 'any';

interface BlockDef {
  field: string;
  mode: 'single' | 'list' | 'labeled' | 'labeledMap';
  /** a Spec, or 'generic' (keys PascalCased), 'any' (kept as written, e.g. driver config), 'stringmap' */
  spec: Spec | 'generic' | 'any' | 'stringmap';
  /** the block may also be written as an attribute (`env = { … }`) */
  attrOk?: boolean;
  labelField?: string;
}

interface Spec {
  attrs: Record<string, [string, Kind]>;
  blocks: Record<string, BlockDef>;
  /** turns the decoded fields into the API shape (shorthands, defaults jobspec2 applies) */
  post?: (out: Raw, src: SrcBlock, ctx: Ctx) => Raw;
}

const durationUnits: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, returning nanoseconds. */
export function parseGoDuration(s: string): number {
  const orig = s;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration ${JSON.stringify(orig)}`);
  let total = 0;
  const re = /^([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length) {
    const m = re.exec(s);
    if (!m || m[1] === '' || m[1] === '.') {
      if (/^[0-9.]+$/.test(s)) throw new Error(`time: missing unit in duration ${JSON.stringify(orig)}`);
      const unit = /^[0-9.]*([^0-9.]*)/.exec(s)?.[1] ?? '';
      throw new Error(unit && /^[0-9.]/.test(s) ? `time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(orig)}` : `time: invalid duration ${JSON.stringify(orig)}`);
    }
    total += Number(m[1]) * durationUnits[m[2]];
    s = s.slice(m[0].length);
  }
  return sign * Math.round(total);
}

function attrPosOf(src: SrcBlock, name: string, expr = false): SrcPos {
  const a = src.attrs.get(name);
  if (!a) return src;
  return expr ? { line: a.exprLine, column: a.exprColumn, endColumn: a.exprColumn + 1 } : a;
}

function coerce(v: HclValue, kind: Kind, name: string): HclValue {
  const unsuitable = (what: string): never => {
    throw new HclEvalError('Unsuitable value type', `Unsuitable value: ${what}`);
  };
  if (v === null) return null;
  switch (kind) {
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      return unsuitable('string required');
    case 'int':
    case 'number': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : NaN;
      if (Number.isNaN(n)) return unsuitable('a number is required');
      if (kind === 'int' && !Number.isInteger(n)) return unsuitable(`value must be a whole number, between -9223372036854775808 and 9223372036854775807 inclusive`);
      return n;
    }
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      return unsuitable('a bool is required');
    case 'duration':
      if (typeof v === 'number') return v;
      if (typeof v === 'string') {
        try {
          return parseGoDuration(v);
        } catch (e) {
          throw new HclEvalError('Unsuitable value type', `Unsuitable duration value: ${(e as Error).message}`);
        }
      }
      throw new HclEvalError('Unsuitable value type', `Unsuitable value: expected a string but found ${typeName(v)}`);
    case 'strings':
      if (!Array.isArray(v)) return unsuitable('list of string required');
      return v.map((x) => coerce(x, 'string', name));
    case 'stringmap': {
      if (typeof v !== 'object' || Array.isArray(v)) return unsuitable('map of string required');
      const out: Record<string, HclValue> = {};
      for (const [k, x] of Object.entries(v)) out[k] = coerce(x, 'string', k);
      return out;
    }
    case 'any':
      return v;
  }
}

function record(ctx: Ctx, e: unknown, pos: SrcPos): void {
  if (e instanceof Diag) ctx.diags.push(e);
  else if (e instanceof HclEvalError) ctx.diags.push(new Diag(e.summary, e.detail, pos));
  else throw e;
}

/** Blocks of one type in source order, each paired with its hcl2json value. */
function blocksOf(raw: Raw, src: SrcBlock, type: string): { src: SrcBlock; raw: Raw }[] {
  const srcBlocks = src.blocks.filter((b) => b.type === type);
  const value = raw[type];
  const out: { src: SrcBlock; raw: Raw }[] = [];
  const seen = new Map<string, number>();
  for (const b of srcBlocks) {
    let v: unknown = value;
    for (const label of b.labels) v = v && typeof v === 'object' && !Array.isArray(v) ? (v as Raw)[label] : undefined;
    const key = b.labels.join('\u0000');
    const n = seen.get(key) ?? 0;
    seen.set(key, n + 1);
    const item = Array.isArray(v) ? v[n] : undefined;
    out.push({ src: b, raw: (item && typeof item === 'object' ? item : {}) as Raw });
  }
  return out;
}

function decodeBody(raw: Raw, src: SrcBlock, spec: Spec, ctx: Ctx): Raw {
  const out: Raw = {};
  for (const [name, a] of src.attrs) {
    const def = spec.attrs[name];
    const blockDef = spec.blocks[name];
    if (!def && !(blockDef && blockDef.attrOk)) {
      ctx.diags.push(
        new Diag(
          'Unsupported argument',
          blockDef ? `An argument named "${name}" is not expected here. Did you mean to define a block of type "${name}"?` : `An argument named "${name}" is not expected here.`,
          a,
        ),
      );
      continue;
    }
    try {
      const value = evalDeep(raw[name], ctx.scope);
      if (def) {
        const v = coerce(value, def[1], name);
        if (v !== null) out[def[0]] = v;
      } else if (blockDef) {
        out[blockDef.field] = blockDef.spec === 'stringmap' ? coerce(value, 'stringmap', name) : value;
      }
    } catch (e) {
      record(ctx, e, attrPosOf(src, name, true));
    }
  }
  const dynamicItems = expandDynamicBlocks(raw, src, spec, ctx);
  const firstOfType = new Map<string, SrcBlock>();
  for (const b of src.blocks) {
    if (b.type === 'dynamic') continue;
    const def = spec.blocks[b.type];
    if (!def) {
      ctx.diags.push(
        new Diag(
          'Unsupported block type',
          spec.attrs[b.type]
            ? `Blocks of type "${b.type}" are not expected here. Did you mean to define argument "${b.type}"? If so, use the equals sign to assign it a value.`
            : `Blocks of type "${b.type}" are not expected here.`,
          b,
        ),
      );
      continue;
    }
    const wantLabels = def.mode === 'labeled' || def.mode === 'labeledMap' ? 1 : 0;
    if (b.labels.length < wantLabels) {
      ctx.diags.push(new Diag(`Missing name for ${b.type}`, `All ${b.type} blocks must have 1 labels (name).`, b));
      continue;
    }
    if (b.labels.length > wantLabels) {
      ctx.diags.push(
        new Diag(
          `Extraneous label for ${b.type}`,
          wantLabels ? `Only 1 labels (name) are expected for ${b.type} blocks.` : `No labels are expected for ${b.type} blocks.`,
          b,
        ),
      );
      continue;
    }
    if (def.mode === 'single') {
      const prev = firstOfType.get(b.type);
      if (prev) {
        ctx.diags.push(new Diag(`Duplicate ${b.type} block`, `Only one ${b.type} block is allowed. Another was defined at ${posString(ctx.file, prev)}.`, b));
        continue;
      }
      if (src.attrs.has(b.type)) {
        const a = src.attrs.get(b.type) as SrcPos;
        ctx.diags.push(new Diag(`Duplicate ${b.type} block`, `${b.type} may not be defined more than once. Another definition is defined at ${posString(ctx.file, a)}.`, b));
        continue;
      }
      firstOfType.set(b.type, b);
    }
  }
  for (const [type, def] of Object.entries(spec.blocks)) {
    const items = [...blocksOf(raw, src, type).map((it) => ({ ...it, scope: ctx.scope })), ...(dynamicItems.get(type) ?? [])].filter(
      (it) => it.src.labels.length === (def.mode === 'labeled' || def.mode === 'labeledMap' ? 1 : 0),
    );
    if (items.length === 0) continue;
    const decoded = items.map((it) => {
      try {
        const body = decodeBlock(it.raw, it.src, def, it.scope === ctx.scope ? ctx : { ...ctx, scope: it.scope });
        return def.labelField ? { [def.labelField]: it.src.labels[0], ...body, [def.labelField]: it.src.labels[0] } : body;
      } catch (e) {
        record(ctx, e, it.src);
        return {};
      }
    });
    if (def.mode === 'single') out[def.field] = decoded[0];
    else if (def.mode === 'labeledMap') {
      const m: Raw = {};
      items.forEach((it, i) => (m[it.src.labels[0]] = decoded[i]));
      out[def.field] = m;
    } else out[def.field] = [...((out[def.field] as unknown[]) ?? []), ...decoded];
  }
  return spec.post ? spec.post(out, src, ctx) : out;
}

function posString(file: string, p: SrcPos): string {
  return `${file}:${p.line},${p.column}-${p.endColumn}`;
}

/**
 * `dynamic "<type>" { for_each, iterator, labels, content {…} }` (HCL's dynblock extension, which
 * jobspec2 applies): one block of <type> per element, decoded with the iterator in scope.
 */
function expandDynamicBlocks(raw: Raw, src: SrcBlock, spec: Spec, ctx: Ctx): Map<string, { src: SrcBlock; raw: Raw; scope: EvalScope }[]> {
  const out = new Map<string, { src: SrcBlock; raw: Raw; scope: EvalScope }[]>();
  for (const { src: dyn, raw: body } of blocksOf(raw, src, 'dynamic')) {
    const type = dyn.labels[0];
    if (dyn.labels.length !== 1) {
      ctx.diags.push(new Diag('Missing name for dynamic', 'All dynamic blocks must have 1 labels (name).', dyn));
      continue;
    }
    if (!spec.blocks[type]) {
      ctx.diags.push(new Diag('Unsupported block type', `Blocks of type "${type}" are not expected here.`, dyn));
      continue;
    }
    for (const [name, a] of dyn.attrs) {
      if (!['for_each', 'iterator', 'labels'].includes(name)) ctx.diags.push(new Diag('Unsupported argument', `An argument named "${name}" is not expected here.`, a));
    }
    const content = dyn.blocks.find((b) => b.type === 'content');
    if (!content) {
      ctx.diags.push(new Diag('Missing content block', 'A dynamic block must have a nested block of type "content" to describe the body of each generated block.', dyn));
      continue;
    }
    const contentRaw = ((body.content as Raw[] | undefined) ?? [])[0] ?? {};
    try {
      const forEach = evalDeep(body.for_each, ctx.scope);
      const iterName = typeof body.iterator === 'string' ? body.iterator.replace(/^\$\{|\}$/g, '') : type;
      const entries: [HclValue, HclValue][] = Array.isArray(forEach)
        ? forEach.map((v, i) => [i, v])
        : forEach && typeof forEach === 'object'
          ? Object.keys(forEach)
              .sort()
              .map((k) => [k, (forEach as Record<string, HclValue>)[k]])
          : (() => {
              throw new HclEvalError('Invalid dynamic for_each value', `Cannot use a ${typeName(forEach)} value in for_each. An iterable collection is required.`);
            })();
      for (const [key, value] of entries) {
        const scope: EvalScope = { ...ctx.scope, iter: { ...(ctx.scope.iter ?? {}), [iterName]: { key, value } } };
        const labels = body.labels === undefined ? [] : evalDeep(body.labels, scope);
        const synthetic: SrcBlock = { ...content, type, labels: Array.isArray(labels) ? labels.map((l) => String(l)) : [] };
        const list = out.get(type) ?? [];
        list.push({ src: synthetic, raw: contentRaw, scope });
        out.set(type, list);
      }
    } catch (e) {
      record(ctx, e, attrPosOf(dyn, 'for_each', true));
    }
  }
  return out;
}

function decodeBlock(raw: Raw, src: SrcBlock, def: BlockDef, ctx: Ctx): Raw {
  if (def.spec === 'any') return evalDeep(raw, ctx.scope) as Raw;
  if (def.spec === 'stringmap') {
    const nested = src.blocks[0];
    if (nested) throw new Diag('Unsupported block type', `Blocks of type "${nested.type}" are not expected here.`, nested);
    const out: Raw = {};
    for (const [k, v] of Object.entries(raw)) {
      try {
        out[k] = coerce(evalDeep(v, ctx.scope), 'string', k);
      } catch (e) {
        record(ctx, e, attrPosOf(src, k, true));
      }
    }
    return out;
  }
  if (def.spec === 'generic') return generic(raw, ctx);
  return decodeBody(raw, src, def.spec, ctx);
}

// Blocks decoded generically (connect, identity, ui, multiregion…): nested blocks are single
// structs in the API except these repeatable ones; these keys hold free-form maps.
const genericListBlocks = new Set(['upstreams', 'path', 'listener', 'service', 'link', 'region', 'volume_mount']);
const genericFreeMaps = new Set(['config', 'meta', 'env', 'options', 'policy', 'headers']);

function generic(raw: Raw, ctx: Ctx): Raw {
  const out: Raw = {};
  for (const [k, v] of Object.entries(raw)) {
    const value = evalDeep(v, ctx.scope);
    const isBlockList = Array.isArray(value) && value.length > 0 && value.every((x) => x && typeof x === 'object' && !Array.isArray(x));
    if (genericFreeMaps.has(k)) {
      out[pascalCase(k)] = isBlockList ? Object.assign({}, ...(value as Raw[])) : value;
    } else if (isBlockList) {
      const items = (value as Raw[]).map((x) => generic(x, ctx));
      out[pascalCase(k)] = genericListBlocks.has(k) || items.length > 1 ? items : items[0];
    } else {
      out[pascalCase(k)] = value;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The jobspec schema (Nomad 1.6–1.9 api package field names)

const S = (field: string, spec: BlockDef['spec'], extra: Partial<BlockDef> = {}): BlockDef => ({ field, mode: 'single', spec, ...extra });
const L = (field: string, spec: BlockDef['spec'], extra: Partial<BlockDef> = {}): BlockDef => ({ field, mode: 'list', spec, ...extra });
const NAMED = (field: string, spec: BlockDef['spec'], labelField = 'Name'): BlockDef => ({ field, mode: 'labeled', spec, labelField });
const MAP = { mode: 'single' as const, spec: 'stringmap' as const, attrOk: true };

const constraintSpec: Spec = {
  attrs: {
    attribute: ['attribute', 'string'],
    value: ['value', 'string'],
    operator: ['operator', 'string'],
    distinct_property: ['distinct_property', 'string'],
    distinct_hosts: ['distinct_hosts', 'bool'],
    regexp: ['regexp', 'string'],
    version: ['version', 'string'],
    semver: ['semver', 'string'],
    set_contains: ['set_contains', 'string'],
    set_contains_all: ['set_contains_all', 'string'],
    set_contains_any: ['set_contains_any', 'string'],
    is_set: ['is_set', 'string'],
    is_not_set: ['is_not_set', 'string'],
  },
  blocks: {},
  post: (o) => {
    const s = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
    const c = { LTarget: s('attribute'), RTarget: s('value'), Operand: s('operator') };
    for (const op of ['version', 'semver', 'regexp', 'set_contains']) {
      if (s(op)) {
        c.Operand = op;
        c.RTarget = s(op);
      }
    }
    if (o.distinct_hosts === true) c.Operand = 'distinct_hosts';
    if (s('distinct_property')) {
      c.Operand = 'distinct_property';
      c.LTarget = s('distinct_property');
    }
    if (!c.Operand) c.Operand = '=';
    return c;
  },
};

const affinitySpec: Spec = {
  attrs: {
    attribute: ['attribute', 'string'],
    value: ['value', 'string'],
    operator: ['operator', 'string'],
    weight: ['weight', 'int'],
    version: ['version', 'string'],
    semver: ['semver', 'string'],
    regexp: ['regexp', 'string'],
    set_contains: ['set_contains', 'string'],
    set_contains_all: ['set_contains_all', 'string'],
    set_contains_any: ['set_contains_any', 'string'],
  },
  blocks: {},
  post: (o) => {
    const s = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
    const a: Raw = { LTarget: s('attribute'), RTarget: s('value'), Operand: s('operator') };
    if (typeof o.weight === 'number') a.Weight = o.weight;
    for (const op of ['version', 'semver', 'regexp', 'set_contains_any', 'set_contains_all', 'set_contains']) {
      if (s(op)) {
        a.Operand = op;
        a.RTarget = s(op);
      }
    }
    if (!a.Operand) a.Operand = '=';
    return a;
  },
};

const spreadSpec: Spec = {
  attrs: { attribute: ['Attribute', 'string'], weight: ['Weight', 'int'] },
  blocks: { target: NAMED('SpreadTarget', { attrs: { percent: ['Percent', 'int'] }, blocks: {} }, 'Value') },
  post: (o) => ({ Attribute: o.Attribute ?? '', Weight: o.Weight ?? null, SpreadTarget: o.SpreadTarget ?? null }),
};

const portSpec: Spec = {
  attrs: { static: ['Value', 'int'], to: ['To', 'int'], host_network: ['HostNetwork', 'string'], ignore_collision: ['IgnoreCollision', 'bool'] },
  blocks: {},
  post: (o) => ({ Label: '', Value: o.Value ?? 0, To: o.To ?? 0, HostNetwork: o.HostNetwork ?? '', ...(o.IgnoreCollision !== undefined ? { IgnoreCollision: o.IgnoreCollision } : {}) }),
};

const networkSpec: Spec = {
  attrs: { mode: ['Mode', 'string'], device: ['Device', 'string'], cidr: ['CIDR', 'string'], ip: ['IP', 'string'], hostname: ['Hostname', 'string'], mbits: ['MBits', 'int'] },
  blocks: {
    port: NAMED('DynamicPorts', portSpec, 'Label'),
    dns: S('DNS', { attrs: { servers: ['Servers', 'strings'], searches: ['Searches', 'strings'], options: ['Options', 'strings'] }, blocks: {} }),
    cni: S('CNI', 'generic'),
  },
  post: (o) => {
    // jobspec2 normalizeNetworkPorts: ports with a static value are reserved, the rest dynamic.
    const ports = (o.DynamicPorts as Port[] | undefined) ?? [];
    const reserved = ports.filter((p) => p.Value > 0);
    const dynamic = ports.filter((p) => !(p.Value > 0));
    const n: Raw = { Mode: o.Mode ?? '', ...o, ReservedPorts: reserved.length ? reserved : null, DynamicPorts: dynamic.length ? dynamic : null };
    return n;
  },
};

const checkRestartSpec: Spec = { attrs: { limit: ['Limit', 'int'], grace: ['Grace', 'duration'], ignore_warnings: ['IgnoreWarnings', 'bool'] }, blocks: {} };

const checkSpec: Spec = {
  attrs: {
    name: ['Name', 'string'],
    type: ['Type', 'string'],
    command: ['Command', 'string'],
    args: ['Args', 'strings'],
    path: ['Path', 'string'],
    protocol: ['Protocol', 'string'],
    port: ['PortLabel', 'string'],
    expose: ['Expose', 'bool'],
    address_mode: ['AddressMode', 'string'],
    advertise: ['Advertise', 'string'],
    interval: ['Interval', 'duration'],
    timeout: ['Timeout', 'duration'],
    initial_status: ['InitialStatus', 'string'],
    notes: ['Notes', 'string'],
    tls_server_name: ['TLSServerName', 'string'],
    tls_skip_verify: ['TLSSkipVerify', 'bool'],
    method: ['Method', 'string'],
    grpc_service: ['GRPCService', 'string'],
    grpc_use_tls: ['GRPCUseTLS', 'bool'],
    task: ['TaskName', 'string'],
    success_before_passing: ['SuccessBeforePassing', 'int'],
    failures_before_critical: ['FailuresBeforeCritical', 'int'],
    failures_before_warning: ['FailuresBeforeWarning', 'int'],
    body: ['Body', 'string'],
    on_update: ['OnUpdate', 'string'],
  },
  blocks: { header: { field: 'Header', mode: 'single', spec: 'any', attrOk: true }, check_restart: S('CheckRestart', checkRestartSpec) },
};

const serviceSpec: Spec = {
  attrs: {
    name: ['Name', 'string'],
    tags: ['Tags', 'strings'],
    canary_tags: ['CanaryTags', 'strings'],
    enable_tag_override: ['EnableTagOverride', 'bool'],
    port: ['PortLabel', 'string'],
    address_mode: ['AddressMode', 'string'],
    address: ['Address', 'string'],
    task: ['TaskName', 'string'],
    on_update: ['OnUpdate', 'string'],
    provider: ['Provider', 'string'],
    cluster: ['Cluster', 'string'],
  },
  blocks: {
    check: L('Checks', checkSpec),
    check_restart: S('CheckRestart', checkRestartSpec),
    connect: S('Connect', 'generic'),
    meta: { field: 'Meta', ...MAP },
    canary_meta: { field: 'CanaryMeta', ...MAP },
    tagged_addresses: { field: 'TaggedAddresses', ...MAP },
    weights: S('Weights', { attrs: { passing: ['Passing', 'int'], warning: ['Warning', 'int'] }, blocks: {} }),
    identity: S('Identity', 'generic'),
  },
};

const restartSpec: Spec = {
  attrs: { interval: ['Interval', 'duration'], attempts: ['Attempts', 'int'], delay: ['Delay', 'duration'], mode: ['Mode', 'string'], render_templates: ['RenderTemplates', 'bool'] },
  blocks: {},
};

const rescheduleSpec: Spec = {
  attrs: {
    attempts: ['Attempts', 'int'],
    interval: ['Interval', 'duration'],
    delay: ['Delay', 'duration'],
    delay_function: ['DelayFunction', 'string'],
    max_delay: ['MaxDelay', 'duration'],
    unlimited: ['Unlimited', 'bool'],
  },
  blocks: {},
};

const updateSpec: Spec = {
  attrs: {
    stagger: ['Stagger', 'duration'],
    max_parallel: ['MaxParallel', 'int'],
    health_check: ['HealthCheck', 'string'],
    min_healthy_time: ['MinHealthyTime', 'duration'],
    healthy_deadline: ['HealthyDeadline', 'duration'],
    progress_deadline: ['ProgressDeadline', 'duration'],
    canary: ['Canary', 'int'],
    auto_revert: ['AutoRevert', 'bool'],
    auto_promote: ['AutoPromote', 'bool'],
  },
  blocks: {},
};

const migrateSpec: Spec = {
  attrs: { max_parallel: ['MaxParallel', 'int'], health_check: ['HealthCheck', 'string'], min_healthy_time: ['MinHealthyTime', 'duration'], healthy_deadline: ['HealthyDeadline', 'duration'] },
  blocks: {},
};

const vaultSpec: Spec = {
  attrs: {
    policies: ['Policies', 'strings'],
    role: ['Role', 'string'],
    namespace: ['Namespace', 'string'],
    cluster: ['Cluster', 'string'],
    env: ['Env', 'bool'],
    disable_file: ['DisableFile', 'bool'],
    change_mode: ['ChangeMode', 'string'],
    change_signal: ['ChangeSignal', 'string'],
    allow_token_expiration: ['AllowTokenExpiration', 'bool'],
  },
  blocks: {},
  // jobspec2 normalizeVault
  post: (o) => ({ ...o, Env: o.Env ?? true, ChangeMode: o.ChangeMode ?? 'restart' }),
};

const consulSpec: Spec = { attrs: { namespace: ['Namespace', 'string'], cluster: ['Cluster', 'string'], partition: ['Partition', 'string'] }, blocks: {} };

const resourcesSpec: Spec = {
  attrs: { cpu: ['CPU', 'int'], cores: ['Cores', 'int'], memory: ['MemoryMB', 'int'], memory_max: ['MemoryMaxMB', 'int'], disk: ['DiskMB', 'int'], iops: ['IOPS', 'int'] },
  blocks: {
    network: L('Networks', networkSpec),
    device: NAMED('Devices', { attrs: { count: ['Count', 'int'] }, blocks: { constraint: L('Constraints', constraintSpec), affinity: L('Affinities', affinitySpec) } }),
    numa: S('NUMA', 'generic'),
  },
};

const templateSpec: Spec = {
  attrs: {
    source: ['SourcePath', 'string'],
    destination: ['DestPath', 'string'],
    data: ['EmbeddedTmpl', 'string'],
    change_mode: ['ChangeMode', 'string'],
    change_signal: ['ChangeSignal', 'string'],
    splay: ['Splay', 'duration'],
    perms: ['Perms', 'string'],
    uid: ['Uid', 'int'],
    gid: ['Gid', 'int'],
    left_delimiter: ['LeftDelim', 'string'],
    right_delimiter: ['RightDelim', 'string'],
    env: ['Envvars', 'bool'],
    vault_grace: ['VaultGrace', 'duration'],
    error_on_missing_key: ['ErrMissingKey', 'bool'],
    once: ['Once', 'bool'],
  },
  blocks: {
    change_script: S('ChangeScript', { attrs: { command: ['Command', 'string'], args: ['Args', 'strings'], timeout: ['Timeout', 'duration'], fail_on_error: ['FailOnError', 'bool'] }, blocks: {} }),
    wait: S('Wait', { attrs: { min: ['Min', 'duration'], max: ['Max', 'duration'] }, blocks: {} }),
  },
  // jobspec2 normalizeTemplates
  post: (o) => ({ ...o, ChangeMode: o.ChangeMode ?? 'restart', Perms: o.Perms ?? '0644', Splay: o.Splay ?? 5e9, ErrMissingKey: o.ErrMissingKey ?? false }),
};

const taskSpec: Spec = {
  attrs: {
    driver: ['Driver', 'string'],
    user: ['User', 'string'],
    kill_timeout: ['KillTimeout', 'duration'],
    leader: ['Leader', 'bool'],
    shutdown_delay: ['ShutdownDelay', 'duration'],
    kill_signal: ['KillSignal', 'string'],
    kind: ['Kind', 'string'],
  },
  blocks: {
    config: S('Config', 'any'),
    constraint: L('Constraints', constraintSpec),
    affinity: L('Affinities', affinitySpec),
    env: { field: 'Env', ...MAP },
    meta: { field: 'Meta', ...MAP },
    service: L('Services', serviceSpec),
    resources: S('Resources', resourcesSpec),
    restart: S('RestartPolicy', restartSpec),
    logs: S('LogConfig', { attrs: { max_files: ['MaxFiles', 'int'], max_file_size: ['MaxFileSizeMB', 'int'], disabled: ['Disabled', 'bool'], enabled: ['Enabled', 'bool'] }, blocks: {} }),
    artifact: L('Artifacts', {
      attrs: { source: ['GetterSource', 'string'], destination: ['RelativeDest', 'string'], mode: ['GetterMode', 'string'], chown: ['Chown', 'bool'] },
      blocks: { options: { field: 'GetterOptions', ...MAP }, headers: { field: 'GetterHeaders', ...MAP } },
    }),
    vault: S('Vault', vaultSpec),
    consul: S('Consul', consulSpec),
    template: L('Templates', templateSpec),
    dispatch_payload: S('DispatchPayload', { attrs: { file: ['File', 'string'] }, blocks: {} }),
    volume_mount: L('VolumeMounts', {
      attrs: { volume: ['Volume', 'string'], destination: ['Destination', 'string'], read_only: ['ReadOnly', 'bool'], propagation_mode: ['PropagationMode', 'string'], selinux_label: ['SELinuxLabel', 'string'] },
      blocks: {},
    }),
    csi_plugin: S('CSIPluginConfig', 'generic'),
    lifecycle: S('Lifecycle', { attrs: { hook: ['Hook', 'string'], sidecar: ['Sidecar', 'bool'] }, blocks: {} }),
    scaling: NAMED('ScalingPolicies', 'generic', 'Type'),
    identity: L('Identities', 'generic'),
    action: NAMED('Actions', 'generic'),
    schedule: S('Schedule', 'generic'),
  },
  post: (o) => {
    if (Array.isArray(o.ScalingPolicies)) {
      o.ScalingPolicies = (o.ScalingPolicies as Raw[]).map((p) => ({ ...p, Type: p.Type === 'cpu' ? 'vertical_cpu' : p.Type === 'mem' ? 'vertical_mem' : p.Type }));
    }
    return o;
  },
};

const groupSpec: Spec = {
  attrs: {
    count: ['Count', 'int'],
    shutdown_delay: ['ShutdownDelay', 'duration'],
    stop_after_client_disconnect: ['StopAfterClientDisconnect', 'duration'],
    max_client_disconnect: ['MaxClientDisconnect', 'duration'],
    prevent_reschedule_on_lost: ['PreventRescheduleOnLost', 'bool'],
  },
  blocks: {
    constraint: L('Constraints', constraintSpec),
    affinity: L('Affinities', affinitySpec),
    spread: L('Spreads', spreadSpec),
    task: NAMED('Tasks', taskSpec),
    volume: {
      field: 'Volumes',
      mode: 'labeledMap',
      labelField: 'Name',
      spec: {
        attrs: {
          type: ['Type', 'string'],
          source: ['Source', 'string'],
          read_only: ['ReadOnly', 'bool'],
          access_mode: ['AccessMode', 'string'],
          attachment_mode: ['AttachmentMode', 'string'],
          per_alloc: ['PerAlloc', 'bool'],
          sticky: ['Sticky', 'bool'],
        },
        blocks: { mount_options: S('MountOptions', { attrs: { fs_type: ['FSType', 'string'], mount_flags: ['MountFlags', 'strings'] }, blocks: {} }) },
        post: (o) => ({ Name: '', Type: o.Type ?? '', Source: o.Source ?? '', ReadOnly: o.ReadOnly ?? false, ...o }),
      },
    },
    restart: S('RestartPolicy', restartSpec),
    reschedule: S('ReschedulePolicy', rescheduleSpec),
    ephemeral_disk: S('EphemeralDisk', { attrs: { sticky: ['Sticky', 'bool'], migrate: ['Migrate', 'bool'], size: ['SizeMB', 'int'] }, blocks: {} }),
    update: S('Update', updateSpec),
    migrate: S('Migrate', migrateSpec),
    network: L('Networks', networkSpec),
    meta: { field: 'Meta', ...MAP },
    service: L('Services', serviceSpec),
    scaling: S('Scaling', {
      attrs: { min: ['Min', 'int'], max: ['Max', 'int'], enabled: ['Enabled', 'bool'], type: ['Type', 'string'] },
      blocks: { policy: { field: 'Policy', mode: 'single', spec: 'any', attrOk: true } },
      post: (o) => ({ ...o, Type: o.Type ?? 'horizontal' }),
    }),
    consul: S('Consul', consulSpec),
    vault: S('Vault', vaultSpec),
    disconnect: S('Disconnect', {
      attrs: { lost_after: ['LostAfter', 'duration'], replace: ['Replace', 'bool'], reconcile: ['Reconcile', 'string'], stop_on_client_after: ['StopOnClientAfter', 'duration'] },
      blocks: {},
    }),
  },
  post: (o) => {
    // A group-level vault block applies to each task that has none of its own.
    if (o.Vault) {
      for (const t of (o.Tasks as Raw[] | undefined) ?? []) if (!t.Vault) t.Vault = o.Vault;
      delete o.Vault;
    }
    return o;
  },
};

const jobSpec: Spec = {
  attrs: {
    region: ['Region', 'string'],
    namespace: ['Namespace', 'string'],
    id: ['ID', 'string'],
    name: ['Name', 'string'],
    type: ['Type', 'string'],
    priority: ['Priority', 'int'],
    all_at_once: ['AllAtOnce', 'bool'],
    datacenters: ['Datacenters', 'strings'],
    node_pool: ['NodePool', 'string'],
    consul_token: ['ConsulToken', 'string'],
    vault_token: ['VaultToken', 'string'],
  },
  blocks: {
    constraint: L('Constraints', constraintSpec),
    affinity: L('Affinities', affinitySpec),
    spread: L('Spreads', spreadSpec),
    group: NAMED('TaskGroups', groupSpec),
    task: NAMED('__Tasks', taskSpec),
    update: S('Update', updateSpec),
    multiregion: S('Multiregion', 'generic'),
    periodic: S('Periodic', {
      attrs: { cron: ['Spec', 'string'], crons: ['Specs', 'strings'], prohibit_overlap: ['ProhibitOverlap', 'bool'], time_zone: ['TimeZone', 'string'], enabled: ['Enabled', 'bool'] },
      blocks: {},
      post: (o) => (o.Spec !== undefined || o.Specs !== undefined ? { ...o, SpecType: 'cron' } : o),
    }),
    parameterized: S('ParameterizedJob', { attrs: { payload: ['Payload', 'string'], meta_required: ['MetaRequired', 'strings'], meta_optional: ['MetaOptional', 'strings'] }, blocks: {} }),
    reschedule: S('Reschedule', rescheduleSpec),
    migrate: S('Migrate', migrateSpec),
    meta: { field: 'Meta', ...MAP },
    ui: S('UI', 'generic'),
    vault: S('__Vault', vaultSpec),
  },
};

// ---------------------------------------------------------------------------------------------
// Variables and locals

async function collectScope(raw: Raw, root: SrcBlock, opts: ParseJobOptions, ctx: Ctx): Promise<void> {
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

// ---------------------------------------------------------------------------------------------

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
  const ctx: Ctx = { file: filename, scope: { vars: {}, locals: {} }, diags: [] };

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

function toError(diags: Diag[], filename: string): JobParseError {
  return new JobParseError(
    diags.map((d) => ({ summary: d.summary, detail: d.detail, filename, line: d.pos.line, column: d.pos.column, endLine: d.pos.line, endColumn: d.pos.endColumn })),
  );
}

/** jobspec2 normalizeJob: label → ID/Name, top-level tasks become their own groups. */
function normalizeJob(o: Raw, jobID: string): NomadJob {
  const job = { ...o } as Raw;
  if (job.Name === undefined) job.Name = jobID;
  if (job.ID === undefined) job.ID = jobID;
  const groups = ((job.TaskGroups as TaskGroup[] | undefined) ?? []).slice();
  const loose = (job.__Tasks as Task[] | undefined) ?? [];
  delete job.__Tasks;
  const vault = job.__Vault;
  delete job.__Vault;
  job.TaskGroups = [...loose.map((t) => ({ Name: t.Name, Tasks: [t] }) as TaskGroup), ...groups];
  for (const g of job.TaskGroups as TaskGroup[]) {
    if (!g.Tasks) g.Tasks = [];
    for (const t of g.Tasks) {
      if (t.Config === undefined) t.Config = null;
      if (vault && !t.Vault) t.Vault = vault;
    }
  }
  // Field order like Nomad's output: identity first, groups last.
  const ordered: Raw = { ID: job.ID, Name: job.Name };
  for (const [k, v] of Object.entries(job)) if (k !== 'TaskGroups' && !(k in ordered)) ordered[k] = v;
  ordered.TaskGroups = job.TaskGroups;
  return ordered as NomadJob;
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
