// Decoding a job file's blocks strictly against a schema, as Nomad's gohcl decoder does: every
// argument and block checked against the spec (an unknown one is reported at its line and
// column, with "Did you mean…" for an argument written as a block and back), values evaluated
// and coerced to the field's kind (Go durations included), labels checked, `dynamic` blocks
// expanded, and free-form blocks decoded generically. HCL's gohcl and ext/dynblock
// (hashicorp/hcl), with Nomad's jobspec2/hcl_conversions.go and jobspec2/hclutil/blockattrs.go,
// simplified.
import { Diag, posString } from './diagnostics';
import { type EvalScope, HclEvalError, type HclValue, evalDeep, typeName } from './expr';
import type { SrcBlock, SrcPos } from './scanner';

export type Raw = Record<string, unknown>;

export interface DecodeCtx {
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

export interface BlockDef {
  field: string;
  mode: 'single' | 'list' | 'labeled' | 'labeledMap';
  /** a Spec, or 'generic' (keys PascalCased), 'any' (kept as written, e.g. driver config), 'stringmap' */
  spec: Spec | 'generic' | 'any' | 'stringmap';
  /** the block may also be written as an attribute (`env = { … }`) */
  attrOk?: boolean;
  labelField?: string;
}

export interface Spec {
  attrs: Record<string, [string, Kind]>;
  blocks: Record<string, BlockDef>;
  /** turns the decoded fields into the API shape (shorthands, defaults jobspec2 applies) */
  post?: (out: Raw, src: SrcBlock, ctx: DecodeCtx) => Raw;
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

export function attrPosOf(src: SrcBlock, name: string, expr = false): SrcPos {
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

export function record(ctx: DecodeCtx, e: unknown, pos: SrcPos): void {
  if (e instanceof Diag) ctx.diags.push(e);
  else if (e instanceof HclEvalError) ctx.diags.push(new Diag(e.summary, e.detail, pos));
  else throw e;
}

/** Blocks of one type in source order, each paired with its hcl2json value. */
export function blocksOf(raw: Raw, src: SrcBlock, type: string): { src: SrcBlock; raw: Raw }[] {
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

export function decodeBody(raw: Raw, src: SrcBlock, spec: Spec, ctx: DecodeCtx): Raw {
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

/**
 * `dynamic "<type>" { for_each, iterator, labels, content {…} }` (HCL's dynblock extension, which
 * jobspec2 applies): one block of <type> per element, decoded with the iterator in scope.
 */
function expandDynamicBlocks(raw: Raw, src: SrcBlock, spec: Spec, ctx: DecodeCtx): Map<string, { src: SrcBlock; raw: Raw; scope: EvalScope }[]> {
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

function decodeBlock(raw: Raw, src: SrcBlock, def: BlockDef, ctx: DecodeCtx): Raw {
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

function generic(raw: Raw, ctx: DecodeCtx): Raw {
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
