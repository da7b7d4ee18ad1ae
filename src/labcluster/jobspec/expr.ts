// Evaluation of the HCL expressions hcl2json leaves as "${…}" strings. Nomad's jobspec2 evaluates
// `var.*`, `local.*`, literals, operators and functions at parse time, and keeps every other
// reference (`${node.datacenter}`, `${attr.kernel.name}`, `${NOMAD_PORT_http}`, …) verbatim for the
// client to interpolate at run time. This module does the same for the subset the workshop needs.

export type HclValue = string | number | boolean | null | HclValue[] | { [key: string]: HclValue };

/** An error HCL would report as a diagnostic: summary; detail. */
export class HclEvalError extends Error {
  constructor(
    readonly summary: string,
    readonly detail: string,
  ) {
    super(`${summary}; ${detail}`);
  }
}

/** Thrown inside evaluation when a reference is a runtime one: the segment is kept verbatim. */
class RuntimeReference extends Error {}

export interface EvalScope {
  vars: Record<string, HclValue>;
  locals: Record<string, HclValue>;
  /** true while locals are still being resolved (an unknown local is then a retry, not an error) */
  localsPending?: boolean;
  /** iteration variables of an enclosing `for` expression */
  iter?: Record<string, HclValue>;
}

export class PendingLocal extends Error {}

interface Segment {
  literal?: string;
  expr?: string;
  raw?: string;
}

/** Index just past the `}` closing a `${` / `%{` opened before `start`. */
function matchBrace(s: string, start: number): number {
  let depth = 1;
  let i = start;
  while (i < s.length) {
    const ch = s[i];
    if (ch === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\') i++;
        else if ((s[i] === '$' || s[i] === '%') && s[i + 1] === '{') {
          i = matchBrace(s, i + 2) - 1;
        }
        i++;
      }
      i++;
      continue;
    }
    if (ch === '{') depth++;
    else if (ch === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return -1;
}

function segments(s: string): Segment[] {
  const out: Segment[] = [];
  let lit = '';
  let i = 0;
  while (i < s.length) {
    if ((s[i] === '$' || s[i] === '%') && s[i + 1] === s[i] && s[i + 2] === '{') {
      lit += s[i] + '{';
      i += 3;
      continue;
    }
    if ((s[i] === '$' || s[i] === '%') && s[i + 1] === '{') {
      const end = matchBrace(s, i + 2);
      if (end < 0) {
        lit += s.slice(i);
        break;
      }
      if (lit) out.push({ literal: lit });
      lit = '';
      const raw = s.slice(i, end);
      // Template directives (%{if}…) are kept as written: Nomad jobs rarely use them.
      out.push(s[i] === '$' ? { expr: s.slice(i + 2, end - 1), raw } : { literal: raw });
      i = end;
      continue;
    }
    lit += s[i];
    i++;
  }
  if (lit || out.length === 0) out.push({ literal: lit });
  return out;
}

/** Evaluate a string as hcl2json rendered it: literal text with `${expr}` interpolations. */
export function evalTemplate(s: string, scope: EvalScope): HclValue {
  if (!s.includes('{')) return s;
  const segs = segments(s);
  if (segs.length === 1 && segs[0].expr !== undefined) {
    try {
      return evalExpr(segs[0].expr, scope);
    } catch (e) {
      if (e instanceof RuntimeReference) return segs[0].raw ?? '';
      throw e;
    }
  }
  let out = '';
  for (const seg of segs) {
    if (seg.literal !== undefined) {
      out += seg.literal;
      continue;
    }
    try {
      out += toStringValue(evalExpr(seg.expr ?? '', scope));
    } catch (e) {
      if (e instanceof RuntimeReference) out += seg.raw;
      else throw e;
    }
  }
  return out;
}

/** Evaluate every string inside a value tree. */
export function evalDeep(v: unknown, scope: EvalScope): HclValue {
  if (typeof v === 'string') return evalTemplate(v, scope);
  if (Array.isArray(v)) return v.map((x) => evalDeep(x, scope));
  if (v && typeof v === 'object') {
    const out: Record<string, HclValue> = {};
    for (const [k, x] of Object.entries(v)) out[k] = evalDeep(x, scope);
    return out;
  }
  return (v ?? null) as HclValue;
}

export function typeName(v: HclValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'tuple';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

export function toStringValue(v: HclValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) throw new HclEvalError('Invalid template interpolation value', 'The expression result is null. Cannot include a null value in a string template.');
  throw new HclEvalError('Invalid template interpolation value', `Cannot include the given value in a string template: string required.`);
}

// ---- tokenizer + recursive-descent parser over the expression text ----

type Tok = { t: 'num'; v: number } | { t: 'str'; v: string } | { t: 'id'; v: string } | { t: 'op'; v: string };

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(ch)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i));
      const text = m ? m[0] : ch;
      toks.push({ t: 'num', v: Number(text) });
      i += text.length;
      continue;
    }
    if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i));
      const text = m ? m[0] : ch;
      toks.push({ t: 'id', v: text });
      i += text.length;
      continue;
    }
    if (ch === '"') {
      // Keep the raw template text (with its ${…}) so nested interpolations evaluate later.
      let j = i + 1;
      let raw = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') {
          const e = src[j + 1];
          raw += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          j += 2;
          continue;
        }
        if ((src[j] === '$' || src[j] === '%') && src[j + 1] === '{') {
          const end = matchBrace(src, j + 2);
          raw += src.slice(j, end);
          j = end;
          continue;
        }
        raw += src[j];
        j++;
      }
      toks.push({ t: 'str', v: raw });
      i = j + 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||', '=>'].includes(two)) {
      toks.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if (src.startsWith('...', i)) {
      toks.push({ t: 'op', v: '...' });
      i += 3;
      continue;
    }
    toks.push({ t: 'op', v: ch });
    i++;
  }
  return toks;
}

const functions: Record<string, (args: HclValue[]) => HclValue> = {
  upper: ([s]) => str(s).toUpperCase(),
  lower: ([s]) => str(s).toLowerCase(),
  title: ([s]) => str(s).replace(/\b\w/g, (m) => m.toUpperCase()),
  trimspace: ([s]) => str(s).trim(),
  tostring: ([s]) => str(s),
  tonumber: ([s]) => num(s),
  tobool: ([s]) => (s === true || s === 'true' ? true : s === false || s === 'false' ? false : fail('Invalid function argument', 'a bool is required')),
  length: ([v]) => (typeof v === 'string' ? [...v].length : Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : fail('Invalid function argument', 'collection must be a list, a map or a tuple')),
  join: ([sep, ...lists]) => lists.flatMap((l) => list(l)).map(str).join(str(sep)),
  split: ([sep, s]) => str(s).split(str(sep)),
  concat: (lists) => lists.flatMap((l) => list(l)),
  min: (ns) => Math.min(...ns.map(num)),
  max: (ns) => Math.max(...ns.map(num)),
  abs: ([n]) => Math.abs(num(n)),
  ceil: ([n]) => Math.ceil(num(n)),
  floor: ([n]) => Math.floor(num(n)),
  replace: ([s, a, b]) => str(s).split(str(a)).join(str(b)),
  substr: ([s, off, len]) => [...str(s)].slice(num(off), num(len) < 0 ? undefined : num(off) + num(len)).join(''),
  contains: ([l, v]) => list(l).some((x) => JSON.stringify(x) === JSON.stringify(v)),
  element: ([l, i]) => {
    const a = list(l);
    return a.length ? a[num(i) % a.length] : fail('Invalid function argument', 'cannot use element function with an empty list');
  },
  lookup: ([m, k, d]) => {
    const o = m && typeof m === 'object' && !Array.isArray(m) ? m : {};
    const key = str(k);
    if (key in o) return o[key];
    if (d !== undefined) return d;
    return fail('Invalid function argument', `lookup failed to find key ${JSON.stringify(key)}`);
  },
  coalesce: (vs) => vs.find((v) => v !== null && v !== '') ?? fail('Invalid function argument', 'no non-null, non-empty-string arguments'),
  format: ([f, ...args]) => {
    let n = 0;
    return str(f).replace(/%([-+ 0#]*\d*(?:\.\d+)?)([sdvqf%])/g, (_m, _flags: string, verb: string) => {
      if (verb === '%') return '%';
      const a = args[n++];
      if (verb === 'd') return String(Math.trunc(num(a)));
      if (verb === 'f') return num(a).toFixed(6);
      if (verb === 'q') return JSON.stringify(str(a));
      return typeof a === 'object' && a !== null ? JSON.stringify(a) : str(a);
    });
  },
  jsonencode: ([v]) => JSON.stringify(v),
  keys: ([m]) => Object.keys(m && typeof m === 'object' ? m : {}).sort(),
  values: ([m]) => {
    const o = (m && typeof m === 'object' && !Array.isArray(m) ? m : {}) as Record<string, HclValue>;
    return Object.keys(o)
      .sort()
      .map((k) => o[k]);
  },
  range: (args) => {
    const [start, end, step] = args.length === 1 ? [0, num(args[0]), 1] : [num(args[0]), num(args[1]), args[2] === undefined ? 1 : num(args[2])];
    const out: number[] = [];
    for (let i = start; step > 0 ? i < end : i > end; i += step) out.push(i);
    return out;
  },
};

function fail(summary: string, detail: string): never {
  throw new HclEvalError(summary, detail);
}

function str(v: HclValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return fail('Invalid function argument', 'a string is required');
}

function num(v: HclValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return fail('Invalid operand', 'Unsuitable value for operand: a number is required.');
}

function list(v: HclValue): HclValue[] {
  if (Array.isArray(v)) return v;
  return fail('Invalid function argument', 'a list is required');
}

class Parser {
  private p = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly scope: EvalScope,
  ) {}

  parse(): HclValue {
    const v = this.ternary();
    if (this.p < this.toks.length) fail('Extra characters after expression', 'An expression was successfully parsed, but extra characters were found after it.');
    return v;
  }

  private peek(): Tok | undefined {
    return this.toks[this.p];
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t?.t === 'op' && t.v === v;
  }
  private expectOp(v: string): void {
    if (!this.isOp(v)) fail('Invalid expression', `Expected "${v}".`);
    this.p++;
  }

  private ternary(): HclValue {
    const c = this.binary(0);
    if (this.isOp('?')) {
      this.p++;
      const a = this.ternary();
      this.expectOp(':');
      const b = this.ternary();
      if (typeof c !== 'boolean') fail('Incorrect condition type', 'The condition expression must be of type bool.');
      return c ? a : b;
    }
    return c;
  }

  private static readonly levels = [['||'], ['&&'], ['==', '!='], ['<', '<=', '>', '>='], ['+', '-'], ['*', '/', '%']];

  private binary(level: number): HclValue {
    if (level >= Parser.levels.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t?.t !== 'op' || !Parser.levels[level].includes(t.v)) return left;
      this.p++;
      const right = this.binary(level + 1);
      left = applyOp(t.v, left, right);
    }
  }

  private unary(): HclValue {
    if (this.isOp('!')) {
      this.p++;
      const v = this.unary();
      if (typeof v !== 'boolean') fail('Invalid operand', 'Unsuitable value for unary operand: bool required.');
      return !v;
    }
    if (this.isOp('-')) {
      this.p++;
      return -num(this.unary());
    }
    return this.postfix();
  }

  private postfix(): HclValue {
    let v = this.primary();
    for (;;) {
      if (this.isOp('.')) {
        this.p++;
        const t = this.toks[this.p++];
        const key = t?.t === 'id' ? t.v : t?.t === 'num' ? String(t.v) : fail('Invalid attribute name', 'An attribute name is required after a dot.');
        v = index(v, key);
      } else if (this.isOp('[')) {
        this.p++;
        const k = this.ternary();
        this.expectOp(']');
        v = index(v, k);
      } else {
        return v;
      }
    }
  }

  private primary(): HclValue {
    const t = this.toks[this.p++];
    if (!t) return fail('Invalid expression', 'Expected the start of an expression, but found the end of the expression.');
    if (t.t === 'num') return t.v;
    if (t.t === 'str') return evalTemplate(t.v, this.scope);
    if (t.t === 'op') {
      if (t.v === '(') {
        const v = this.ternary();
        this.expectOp(')');
        return v;
      }
      if (t.v === '[' && this.isId('for')) return this.forExpr(']');
      if (t.v === '{' && this.isId('for')) return this.forExpr('}');
      if (t.v === '[') {
        const out: HclValue[] = [];
        while (!this.isOp(']')) {
          out.push(this.ternary());
          if (this.isOp(',')) this.p++;
          else if (!this.isOp(']')) fail('Missing item separator', 'Expected a comma to mark the beginning of the next item.');
        }
        this.p++;
        return out;
      }
      if (t.v === '{') {
        const out: Record<string, HclValue> = {};
        while (!this.isOp('}')) {
          const kt = this.toks[this.p++];
          const key = kt?.t === 'id' || kt?.t === 'str' ? kt.v : kt?.t === 'num' ? String(kt.v) : fail('Invalid object key', 'A key is required.');
          if (this.isOp('=') || this.isOp(':')) this.p++;
          else fail('Missing key/value separator', 'Expected an equals sign ("=") to mark the beginning of the attribute value.');
          out[key] = this.ternary();
          if (this.isOp(',')) this.p++;
        }
        this.p++;
        return out;
      }
      return fail('Invalid expression', `Expected the start of an expression, but found "${t.v}".`);
    }
    // identifier
    if (this.scope.iter && t.v in this.scope.iter) return this.scope.iter[t.v];
    if (t.v === 'true') return true;
    if (t.v === 'false') return false;
    if (t.v === 'null') return null;
    if (this.isOp('(')) {
      this.p++;
      const args: HclValue[] = [];
      while (!this.isOp(')')) {
        const a = this.ternary();
        if (this.isOp('...')) {
          this.p++;
          args.push(...list(a));
        } else args.push(a);
        if (this.isOp(',')) this.p++;
        else if (!this.isOp(')')) fail('Missing argument separator', 'A comma is required to separate each function argument from the next.');
      }
      this.p++;
      const fn = functions[t.v];
      if (!fn) fail('Call to unknown function', `There is no function named "${t.v}".`);
      return fn(args);
    }
    if (t.v === 'var') return this.attrOf(this.scope.vars, 'var');
    if (t.v === 'local') return this.attrOf(this.scope.locals, 'local');
    // node.*, attr.*, meta.*, NOMAD_*, env … : a runtime reference the client interpolates.
    throw new RuntimeReference(t.v);
  }

  private isId(v: string): boolean {
    const t = this.peek();
    return t?.t === 'id' && t.v === v;
  }

  /** Index of the first token at bracket depth 0 from `from` that is one of `stops`. */
  private findAtDepth0(from: number, stops: string[]): number {
    let depth = 0;
    for (let i = from; i < this.toks.length; i++) {
      const t = this.toks[i];
      if (t.t === 'op' && ['(', '[', '{'].includes(t.v)) depth++;
      else if (t.t === 'op' && [')', ']', '}'].includes(t.v)) {
        if (depth === 0 && stops.includes(t.v)) return i;
        depth--;
      } else if (depth === 0 && (t.t === 'op' || t.t === 'id') && stops.includes(t.v)) return i;
    }
    return fail('Invalid for expression', 'The for expression is not closed.');
  }

  private sub(from: number, to: number, iter: Record<string, HclValue>): HclValue {
    return new Parser(this.toks.slice(from, to), { ...this.scope, iter: { ...(this.scope.iter ?? {}), ...iter } }).parse();
  }

  /** `[for k, v in coll : expr if cond]` and `{for k, v in coll : key => value if cond}` */
  private forExpr(close: ']' | '}'): HclValue {
    this.p++; // for
    const first = this.toks[this.p++];
    let keyVar: string | undefined;
    let valueVar = first?.t === 'id' ? first.v : fail('Invalid for expression', 'A variable name is required after "for".');
    if (this.isOp(',')) {
      this.p++;
      const second = this.toks[this.p++];
      keyVar = valueVar;
      valueVar = second?.t === 'id' ? second.v : fail('Invalid for expression', 'A variable name is required after the comma.');
    }
    if (!this.isId('in')) fail('Invalid for expression', 'The "in" keyword is required after the variable names.');
    this.p++;
    const coll = this.ternary();
    this.expectOp(':');
    const bodyStart = this.p;
    const keyEnd = close === '}' ? this.findAtDepth0(bodyStart, ['=>']) : -1;
    const valueStart = close === '}' ? keyEnd + 1 : bodyStart;
    const valueEnd = this.findAtDepth0(valueStart, ['if', close]);
    let condEnd = valueEnd;
    if (this.toks[valueEnd]?.t === 'id') condEnd = this.findAtDepth0(valueEnd + 1, [close]);
    this.p = condEnd + 1;
    const entries: [HclValue, HclValue][] = Array.isArray(coll)
      ? coll.map((v, i) => [i, v])
      : coll && typeof coll === 'object'
        ? Object.keys(coll)
            .sort()
            .map((k) => [k, (coll as Record<string, HclValue>)[k]])
        : fail('Iteration over non-iterable value', 'A value of type ' + typeName(coll) + ' cannot be used as the collection in a \'for\' expression.');
    const listOut: HclValue[] = [];
    const objOut: Record<string, HclValue> = {};
    for (const [k, v] of entries) {
      const iter: Record<string, HclValue> = { [valueVar]: v };
      if (keyVar) iter[keyVar] = k;
      if (condEnd !== valueEnd && this.sub(valueEnd + 1, condEnd, iter) !== true) continue;
      if (close === ']') listOut.push(this.sub(valueStart, valueEnd, iter));
      else objOut[toStringValue(this.sub(bodyStart, keyEnd, iter))] = this.sub(valueStart, valueEnd, iter);
    }
    return close === ']' ? listOut : objOut;
  }

  private attrOf(obj: Record<string, HclValue>, root: string): HclValue {
    this.expectOp('.');
    const t = this.toks[this.p++];
    if (t?.t !== 'id') return fail('Invalid attribute name', 'An attribute name is required after a dot.');
    if (!(t.v in obj)) {
      if (root === 'local' && this.scope.localsPending) throw new PendingLocal(t.v);
      return fail('Unsupported attribute', `This object does not have an attribute named "${t.v}".`);
    }
    return obj[t.v];
  }
}

function index(v: HclValue, k: HclValue): HclValue {
  if (Array.isArray(v)) {
    const i = num(k);
    if (i < 0 || i >= v.length) fail('Invalid index', 'The given key does not identify an element in this collection value.');
    return v[i];
  }
  if (v && typeof v === 'object') {
    const key = str(k);
    if (!(key in v)) fail('Unsupported attribute', `This object does not have an attribute named "${key}".`);
    return v[key];
  }
  return fail('Unsupported attribute', 'Can\'t access attributes on a primitive-typed value.');
}

function applyOp(op: string, a: HclValue, b: HclValue): HclValue {
  switch (op) {
    case '+':
      return num(a) + num(b);
    case '-':
      return num(a) - num(b);
    case '*':
      return num(a) * num(b);
    case '/':
      return num(a) / num(b);
    case '%':
      return num(a) % num(b);
    case '<':
      return num(a) < num(b);
    case '<=':
      return num(a) <= num(b);
    case '>':
      return num(a) > num(b);
    case '>=':
      return num(a) >= num(b);
    case '==':
      return JSON.stringify(a) === JSON.stringify(b);
    case '!=':
      return JSON.stringify(a) !== JSON.stringify(b);
    case '&&':
    case '||':
      if (typeof a !== 'boolean' || typeof b !== 'boolean') fail('Invalid operand', 'Unsuitable value for operand: bool required.');
      return op === '&&' ? a && b : a || b;
    default:
      return fail('Invalid expression', `Unsupported operator "${op}".`);
  }
}

export function evalExpr(src: string, scope: EvalScope): HclValue {
  return new Parser(tokenize(src), scope).parse();
}
