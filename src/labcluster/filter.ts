// `?filter=` on list endpoints: the go-bexpr expression language Nomad and Consul use, evaluated
// against the full object (nomad-consul-api reference §1 "Filtering"). Supported: selectors
// (`Status`, `Job.Meta.owner`, `Attributes["platform.gce.zone"]`), ==, !=, contains, not contains,
// in, not in, matches, not matches, is empty, is not empty, and, or, not, parentheses.
import { HttpError } from './http';

type Tok = { t: 'str' | 'num' | 'id' | 'op' | 'lp' | 'rp' | 'lb' | 'rb' | 'dot'; v: string };

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === '`') {
      let j = i + 1;
      let v = '';
      while (j < src.length && src[j] !== c) {
        if (c === '"' && src[j] === '\\' && j + 1 < src.length) j++;
        v += src[j];
        j++;
      }
      if (j >= src.length) throw new HttpError(400, `failed to read filter expression: unterminated string at ${i + 1}`);
      out.push({ t: 'str', v });
      i = j + 1;
      continue;
    }
    if (src.startsWith('==', i) || src.startsWith('!=', i)) {
      out.push({ t: 'op', v: src.slice(i, i + 2) });
      i += 2;
      continue;
    }
    const single: Record<string, Tok['t']> = { '(': 'lp', ')': 'rp', '[': 'lb', ']': 'rb', '.': 'dot' };
    if (single[c]) {
      out.push({ t: single[c] as Tok['t'], v: c });
      i++;
      continue;
    }
    const m = /^(-?\d+(?:\.\d+)?)|^([A-Za-z_][\w-]*)/.exec(src.slice(i));
    if (!m) throw new HttpError(400, `failed to read filter expression: unexpected ${JSON.stringify(c)} at ${i + 1}`);
    out.push(m[1] !== undefined ? { t: 'num', v: m[1] } : { t: 'id', v: m[2] as string });
    i += m[0].length;
  }
  return out;
}

type Node = { k: 'and' | 'or'; a: Node; b: Node } | { k: 'not'; a: Node } | { k: 'match'; sel: string[]; op: string; value?: string };

export function compileFilter(src: string): (obj: unknown) => boolean {
  const toks = lex(src);
  let p = 0;
  const peek = (o = 0): Tok | undefined => toks[p + o];
  const word = (w: string, o = 0) => peek(o)?.t === 'id' && peek(o)?.v === w;
  const fail = (what: string): never => {
    throw new HttpError(400, `failed to read filter expression: ${what} at token ${p + 1}`);
  };
  const selector = (): string[] => {
    const first = peek();
    if (first?.t !== 'id') fail('expected a selector');
    p++;
    const parts = [(first as Tok).v];
    for (;;) {
      if (peek()?.t === 'dot' && peek(1)?.t === 'id') {
        parts.push((peek(1) as Tok).v);
        p += 2;
      } else if (peek()?.t === 'lb' && peek(1)?.t === 'str' && peek(2)?.t === 'rb') {
        parts.push((peek(1) as Tok).v);
        p += 3;
      } else return parts;
    }
  };
  const value = (): string => {
    const t = peek();
    if (!t || !['str', 'num', 'id'].includes(t.t)) fail('expected a value');
    p++;
    return (t as Tok).v;
  };
  const primary = (): Node => {
    if (peek()?.t === 'lp') {
      p++;
      const e = or();
      if (peek()?.t !== 'rp') fail('expected )');
      p++;
      return e;
    }
    if (word('not')) {
      p++;
      return { k: 'not', a: primary() };
    }
    // value in selector / value not in selector
    if ((peek()?.t === 'str' || peek()?.t === 'num') && (word('in', 1) || (word('not', 1) && word('in', 2)))) {
      const v = value();
      const negate = word('not');
      p += negate ? 2 : 1;
      const sel = selector();
      return { k: 'match', sel, op: negate ? 'not in' : 'in', value: v };
    }
    const sel = selector();
    if (word('is')) {
      p++;
      const negate = word('not');
      if (negate) p++;
      if (!word('empty')) fail('expected empty');
      p++;
      return { k: 'match', sel, op: negate ? 'is not empty' : 'is empty' };
    }
    const t = peek();
    if (t?.t === 'op') {
      p++;
      return { k: 'match', sel, op: t.v, value: value() };
    }
    for (const op of ['contains', 'matches']) {
      if (word(op)) {
        p++;
        return { k: 'match', sel, op, value: value() };
      }
      if (word('not') && word(op, 1)) {
        p += 2;
        return { k: 'match', sel, op: `not ${op}`, value: value() };
      }
    }
    return fail('expected an operator');
  };
  const and = (): Node => {
    let a = primary();
    while (word('and')) {
      p++;
      a = { k: 'and', a, b: primary() };
    }
    return a;
  };
  const or = (): Node => {
    let a = and();
    while (word('or')) {
      p++;
      a = { k: 'or', a, b: and() };
    }
    return a;
  };
  const tree = or();
  if (p < toks.length) fail('unexpected input');
  return (obj) => evaluate(tree, obj);
}

function lookup(obj: unknown, sel: string[]): { found: boolean; value: unknown } {
  let cur: unknown = obj;
  for (const part of sel) {
    if (cur === null || typeof cur !== 'object' || !(part in (cur as Record<string, unknown>))) return { found: false, value: undefined };
    cur = (cur as Record<string, unknown>)[part];
  }
  return { found: true, value: cur };
}

const scalar = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

function evaluate(n: Node, obj: unknown): boolean {
  switch (n.k) {
    case 'and':
      return evaluate(n.a, obj) && evaluate(n.b, obj);
    case 'or':
      return evaluate(n.a, obj) || evaluate(n.b, obj);
    case 'not':
      return !evaluate(n.a, obj);
    case 'match': {
      const { value } = lookup(obj, n.sel);
      const v = n.value ?? '';
      const collection = Array.isArray(value) ? value.map(scalar) : value && typeof value === 'object' ? Object.keys(value) : null;
      switch (n.op) {
        case '==':
          return scalar(value) === v;
        case '!=':
          return scalar(value) !== v;
        case 'is empty':
          return value === null || value === undefined || value === '' || (collection !== null && collection.length === 0);
        case 'is not empty':
          return !(value === null || value === undefined || value === '' || (collection !== null && collection.length === 0));
        case 'in':
        case 'contains':
          return collection ? collection.includes(v) : scalar(value).includes(v);
        case 'not in':
        case 'not contains':
          return !(collection ? collection.includes(v) : scalar(value).includes(v));
        case 'matches':
        case 'not matches': {
          let ok = false;
          try {
            ok = new RegExp(v).test(scalar(value));
          } catch {
            throw new HttpError(400, `failed to read filter expression: invalid regular expression ${JSON.stringify(v)}`);
          }
          return n.op === 'matches' ? ok : !ok;
        }
      }
      return false;
    }
  }
}
