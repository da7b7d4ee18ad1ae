/**
 * Validation of the YAML a lab author writes (front matter, `yaml check`, `yaml actions`,
 * `yaml apply`) into the typed forms of ./types. Every problem carries the path inside the
 * YAML value, so the loader can point at the line.
 */
import { z } from 'zod';
import type { ApplyAction, Check, LabFault, StepAction } from './types';

export type YamlPath = (string | number)[];

export interface SchemaIssue {
  path: YamlPath;
  message: string;
}

const name = z.string().min(1);
const count = z.number().int().min(0);
const countSpec = { count: count.optional(), min: count.optional(), max: count.optional() };
const allocScope = { job: name, group: name.optional(), datacenter: name.optional(), zone: name.optional(), node: name.optional() };

const regexString = z.string().min(1).superRefine((s, ctx) => {
  try {
    new RegExp(s);
  } catch (err) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a valid regular expression: ${(err as Error).message}` });
  }
});

const needsCount = <T extends z.ZodRawShape>(shape: T) =>
  z.object(shape).strict();

/** Argument schemas of the leaf check kinds (all/any/not are handled by the walker). */
const checkArgs = {
  jobStatus: z.object({ job: name, status: z.enum(['pending', 'running', 'dead', 'absent']) }).strict(),
  runningAllocs: needsCount({ ...allocScope, ...countSpec }),
  allocations: needsCount({
    ...allocScope,
    status: z.enum(['pending', 'running', 'complete', 'failed', 'lost', 'unknown']),
    ...countSpec,
  }),
  nodeEligibility: z.object({ node: name, eligible: z.boolean() }).strict(),
  nodeCount: needsCount({
    status: z.enum(['initializing', 'ready', 'down', 'disconnected']).optional(),
    datacenter: name.optional(),
    zone: name.optional(),
    eligible: z.boolean().optional(),
    ...countSpec,
  }),
  nodeAttribute: z
    .object({ attribute: name, equals: z.coerce.string().optional(), matches: regexString.optional(), datacenter: name.optional(), zone: name.optional(), ...countSpec })
    .strict(),
  consulMembers: z
    .object({ role: z.enum(['server', 'client']), alive: count.optional(), min: count.optional(), job: name.optional(), group: name.optional() })
    .strict()
    .refine((v) => v.alive !== undefined || v.min !== undefined, { message: 'give alive: <n> (exactly n alive) or min: <n> (at least n alive)' }),
  consulLeader: z.union([z.null(), z.object({}).strict()]),
  consulService: z.object({ name, passing: count.default(1), tag: name.optional() }).strict(),
  kvValue: z
    .object({ key: name, equals: z.coerce.string().optional(), matches: regexString.optional(), exists: z.boolean().optional() })
    .strict()
    .refine((v) => v.equals !== undefined || v.matches !== undefined || v.exists !== undefined, {
      message: 'give equals: <value>, matches: <regex> or exists: true|false',
    }),
  fileContains: z.object({ path: name, text: z.string().min(1) }).strict(),
  fileMatches: z
    .object({ path: name, pattern: regexString, flags: z.string().regex(/^[imsu]*$/, 'flags may only use i, m, s and u').optional() })
    .strict(),
  jobFileValid: z.object({ path: name }).strict(),
  jobImagePinned: z
    .object({ job: name.optional(), file: name.optional() })
    .strict()
    .refine((v) => (v.job === undefined) !== (v.file === undefined), { message: 'give either job: <job id> (the running job) or file: <job file>' }),
} as const;

export const checkKinds = ['all', 'any', 'not', ...Object.keys(checkArgs)] as const;

const actionArgs = {
  runJob: z.union([name, z.object({ file: name, label: z.string().optional() }).strict()]),
  stopJob: z.union([name, z.object({ job: name, label: z.string().optional() }).strict()]),
  openFile: z.union([name, z.object({ file: name, label: z.string().optional() }).strict()]),
  openUi: z.union([z.enum(['nomad', 'consul']), z.object({ ui: z.enum(['nomad', 'consul']), path: z.string().optional(), label: z.string().optional() }).strict()]),
  command: z.object({ id: name, args: z.array(z.unknown()).optional(), label: name }).strict(),
  terminal: z.union([name, z.object({ text: name, label: z.string().optional() }).strict()]),
} as const;

const faultArgs = z.union([
  z.object({ zoneOutage: name }).strict(),
  z.object({ zoneRestore: name }).strict(),
  z.object({ nodeDown: name }).strict(),
  z.object({ nodeUp: name }).strict(),
  z.object({ advanceImageTags: z.literal(true) }).strict(),
  z.object({ dockerVolumes: z.object({ enabled: z.boolean(), datacenter: name.optional(), node: name.optional() }).strict() }).strict(),
  z.object({ raw: z.object({ method: z.enum(['GET', 'POST', 'PUT', 'DELETE']), path: name, body: z.unknown().optional() }).strict() }).strict(),
]);

const applyArgs = {
  runJob: z.union([name, z.object({ file: name, variables: z.record(z.coerce.string()).optional() }).strict()]),
  stopJob: z.union([name, z.object({ job: name, purge: z.boolean().optional() }).strict()]),
  nodeEligibility: z.object({ node: name, eligible: z.boolean() }).strict(),
  nodeDrain: z.object({ node: name, enable: z.boolean() }).strict(),
  kvPut: z.object({ key: name, value: z.coerce.string() }).strict(),
  editFile: z
    .object({ path: name, replace: z.array(z.object({ find: z.string().min(1), with: z.string() }).strict()).min(1).optional(), content: z.string().optional() })
    .strict()
    .refine((v) => (v.replace === undefined) !== (v.content === undefined), { message: 'give either replace: [{find, with}] or content: <text>' }),
  labFault: faultArgs,
} as const;

// ------------------------------------------------------------------ helpers

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function levenshtein(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/** "did you mean …" for a misspelt kind, or the list of known ones. */
export function suggest(word: string, known: readonly string[]): string {
  const lower = word.toLowerCase();
  const best = known
    .map((k) => ({ k, d: k.toLowerCase() === lower ? 0 : levenshtein(lower, k.toLowerCase()) }))
    .sort((x, y) => x.d - y.d)[0];
  if (best && best.d <= Math.max(2, Math.floor(word.length / 3))) return `did you mean "${best.k}"?`;
  return `known: ${known.join(', ')}`;
}

function zodIssues(err: z.ZodError, base: YamlPath, known?: string[]): SchemaIssue[] {
  return err.issues.map((i) => {
    if (i.code === z.ZodIssueCode.unrecognized_keys) {
      const keys = i.keys.map((k) => `"${k}"`).join(', ');
      const hint = known ? ` (${i.keys.length === 1 ? suggest(i.keys[0], known) : `known: ${known.join(', ')}`})` : '';
      return { path: [...base, ...i.path, i.keys[0]], message: `unknown field ${keys}${hint}` };
    }
    if (i.code === z.ZodIssueCode.invalid_union) {
      // A union's own message ("Invalid input") says nothing; the first branch's reason does.
      const first = i.unionErrors.map((e) => e.issues).find((list) => list.length > 0 && list[0].code !== z.ZodIssueCode.invalid_type) ?? i.unionErrors[0]?.issues;
      if (first?.length) return { path: [...base, ...first[0].path], message: describeZodIssue(first[0]) };
    }
    return { path: [...base, ...i.path], message: describeZodIssue(i) };
  });
}

/** The problem in words; the caller prefixes the field path. */
function describeZodIssue(i: z.ZodIssue): string {
  if (i.code === z.ZodIssueCode.invalid_type && i.received === 'undefined') return 'is required';
  if (i.code === z.ZodIssueCode.invalid_type) return `expected ${i.expected}, got ${i.received}`;
  if (i.code === z.ZodIssueCode.invalid_enum_value) return `must be one of ${i.options.map((o) => JSON.stringify(o)).join(', ')}, not ${JSON.stringify(i.received)}`;
  if (i.code === z.ZodIssueCode.unrecognized_keys) return `unknown field ${i.keys.map((k) => `"${k}"`).join(', ')}`;
  return i.message;
}

function knownKeys(schema: z.ZodTypeAny): string[] | undefined {
  let s: z.ZodTypeAny = schema;
  while (s instanceof z.ZodEffects) s = s.innerType();
  return s instanceof z.ZodObject ? Object.keys(s.shape as z.ZodRawShape) : undefined;
}

/** Splits `{ kind: args }` into its one key, or explains why the object is not of that form. */
function singleKey(raw: unknown, path: YamlPath, what: string, example: string, issues: SchemaIssue[]): [string, unknown] | undefined {
  if (!isPlainObject(raw)) {
    issues.push({ path, message: `a ${what} must be a mapping with one key naming its kind, e.g. ${example}` });
    return undefined;
  }
  const keys = Object.keys(raw);
  if (keys.length !== 1) {
    issues.push({
      path,
      message: keys.length === 0 ? `empty ${what}; e.g. ${example}` : `a ${what} has exactly one kind, this one has ${keys.length} (${keys.join(', ')})${what === 'check' ? '; combine several with all: [...]' : ''}`,
    });
    return undefined;
  }
  return [keys[0], raw[keys[0]]];
}

// ------------------------------------------------------------------ checks

export function parseCheck(raw: unknown, issues: SchemaIssue[], path: YamlPath = []): Check | undefined {
  const entry = singleKey(raw, path, 'check', '{ jobStatus: { job: web, status: running } }', issues);
  if (!entry) return undefined;
  const [kind, args] = entry;
  const at = [...path, kind];
  if (kind === 'all' || kind === 'any') {
    if (!Array.isArray(args) || args.length === 0) {
      issues.push({ path: at, message: `${kind} needs a non-empty list of checks` });
      return undefined;
    }
    const checks = args.map((c, i) => parseCheck(c, issues, [...at, i]));
    if (checks.some((c) => c === undefined)) return undefined;
    return { kind, checks: checks as Check[] };
  }
  if (kind === 'not') {
    const check = parseCheck(args, issues, at);
    return check ? { kind: 'not', check } : undefined;
  }
  const schema = (checkArgs as Record<string, z.ZodTypeAny>)[kind];
  if (!schema) {
    issues.push({ path: at, message: `unknown check kind "${kind}" (${suggest(kind, checkKinds)})` });
    return undefined;
  }
  const parsed = schema.safeParse(args === undefined || args === null ? (kind === 'consulLeader' ? null : args) : args);
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, at, knownKeys(schema)));
    return undefined;
  }
  if (kind === 'consulLeader') return { kind };
  const value = parsed.data as Record<string, unknown>;
  const countChecked = ['runningAllocs', 'allocations', 'nodeCount', 'nodeAttribute'];
  if (countChecked.includes(kind) && value.count !== undefined && (value.min !== undefined || value.max !== undefined)) {
    issues.push({ path: at, message: 'give count (exactly) or min/max, not both' });
    return undefined;
  }
  if (kind === 'nodeAttribute' && value.equals === undefined && value.matches === undefined) {
    issues.push({ path: at, message: 'give equals: <value> or matches: <regex>' });
    return undefined;
  }
  return { kind, ...value } as Check;
}

// ------------------------------------------------------------------ actions

export const actionKinds = Object.keys(actionArgs);

export function parseActions(raw: unknown, issues: SchemaIssue[]): StepAction[] {
  if (!Array.isArray(raw)) {
    issues.push({ path: [], message: 'actions must be a list, e.g. - runJob: jobs/web.nomad.hcl' });
    return [];
  }
  const out: StepAction[] = [];
  raw.forEach((item, i) => {
    const entry = singleKey(item, [i], 'action', '{ runJob: jobs/web.nomad.hcl }', issues);
    if (!entry) return;
    const [kind, args] = entry;
    const schema = (actionArgs as Record<string, z.ZodTypeAny>)[kind];
    if (!schema) {
      issues.push({ path: [i, kind], message: `unknown action "${kind}" (${suggest(kind, actionKinds)})` });
      return;
    }
    const parsed = schema.safeParse(args);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, [i, kind]));
      return;
    }
    const v = parsed.data as string | Record<string, unknown>;
    const obj = typeof v === 'string' ? undefined : v;
    switch (kind) {
      case 'runJob':
      case 'openFile':
        out.push({ kind, file: typeof v === 'string' ? v : (obj!.file as string), label: obj?.label as string | undefined });
        break;
      case 'stopJob':
        out.push({ kind, job: typeof v === 'string' ? v : (obj!.job as string), label: obj?.label as string | undefined });
        break;
      case 'openUi':
        out.push(typeof v === 'string' ? { kind, ui: v as 'nomad' | 'consul' } : { kind, ui: obj!.ui as 'nomad' | 'consul', path: obj!.path as string | undefined, label: obj!.label as string | undefined });
        break;
      case 'command':
        out.push({ kind, command: obj!.id as string, args: obj!.args as unknown[] | undefined, label: obj!.label as string });
        break;
      case 'terminal':
        out.push({ kind, text: typeof v === 'string' ? v : (obj!.text as string), label: obj?.label as string | undefined });
        break;
    }
  });
  return out;
}

// ------------------------------------------------------------------ apply (machine-applicable solutions)

export const applyKinds = Object.keys(applyArgs);

function toFault(v: Record<string, unknown>): LabFault {
  if ('zoneOutage' in v) return { type: 'zoneOutage', zone: v.zoneOutage as string };
  if ('zoneRestore' in v) return { type: 'zoneRestore', zone: v.zoneRestore as string };
  if ('nodeDown' in v) return { type: 'nodeDown', node: v.nodeDown as string };
  if ('nodeUp' in v) return { type: 'nodeUp', node: v.nodeUp as string };
  if ('advanceImageTags' in v) return { type: 'advanceImageTags' };
  if ('dockerVolumes' in v) return { type: 'dockerVolumes', ...(v.dockerVolumes as { enabled: boolean; datacenter?: string; node?: string }) };
  const raw = v.raw as { method: string; path: string; body?: unknown };
  return { type: 'raw', method: raw.method, path: raw.path, body: raw.body };
}

export function parseApply(raw: unknown, issues: SchemaIssue[]): ApplyAction[] {
  const list = Array.isArray(raw) ? raw : [raw];
  const out: ApplyAction[] = [];
  list.forEach((item, i) => {
    const base: YamlPath = Array.isArray(raw) ? [i] : [];
    const entry = singleKey(item, base, 'solution step', '{ runJob: jobs/web.nomad.hcl }', issues);
    if (!entry) return;
    const [kind, args] = entry;
    const schema = (applyArgs as Record<string, z.ZodTypeAny>)[kind];
    if (!schema) {
      issues.push({ path: [...base, kind], message: `unknown solution step "${kind}" (${suggest(kind, applyKinds)})` });
      return;
    }
    const parsed = schema.safeParse(args);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, [...base, kind], knownKeys(schema)));
      return;
    }
    const v = parsed.data as string | Record<string, unknown>;
    const obj = typeof v === 'string' ? undefined : v;
    switch (kind) {
      case 'runJob':
        out.push({ kind, file: typeof v === 'string' ? v : (obj!.file as string), variables: obj?.variables as Record<string, string> | undefined });
        break;
      case 'stopJob':
        out.push({ kind, job: typeof v === 'string' ? v : (obj!.job as string), purge: obj?.purge as boolean | undefined });
        break;
      case 'labFault':
        out.push({ kind, fault: toFault(obj!) });
        break;
      default:
        out.push({ kind, ...obj } as ApplyAction);
    }
  });
  return out;
}

// ------------------------------------------------------------------ front matter

const durationText = z.union([
  z.number().int().positive(),
  z.string().regex(/^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*(?:m|min|mins|minutes)?)?\s*$/i, 'write a duration like 20m, 1h or 1h30m'),
]);

export const frontMatterSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'id must be lowercase letters, digits and dashes (e.g. connect-and-explore)'),
    title: z.string().min(1),
    duration: durationText,
    prerequisites: z.array(z.string().min(1)).default([]),
    optional: z.boolean().default(false),
    order: z.number().int().optional(),
    summary: z.string().optional(),
  })
  .strict();

export function durationMinutes(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*(?:m|min|mins|minutes)?)?\s*$/i.exec(v);
  return Number(m?.[1] ?? 0) * 60 + Number(m?.[2] ?? 0);
}

export function parseFrontMatter(raw: unknown, issues: SchemaIssue[]): z.infer<typeof frontMatterSchema> | undefined {
  if (!isPlainObject(raw)) {
    issues.push({ path: [], message: 'the front matter must be a YAML mapping (id, title, duration, prerequisites, optional, order)' });
    return undefined;
  }
  const parsed = frontMatterSchema.safeParse(raw);
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, [], knownKeys(frontMatterSchema)));
    return undefined;
  }
  if (durationMinutes(parsed.data.duration) <= 0) {
    issues.push({ path: ['duration'], message: 'duration must be more than 0 minutes' });
    return undefined;
  }
  return parsed.data;
}
