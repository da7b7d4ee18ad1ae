// Constraint checking as Nomad's scheduler does it (scheduler/feasible.go checkConstraint and
// resolveTarget): targets `${node.*}`, `${attr.*}`, `${meta.*}` or literals, and the real operators.
import type { Constraint } from './jobspec';
import type { LabNode } from './topology';

/** Resolve an LTarget/RTarget against a node: [value, found]. */
export function resolveTarget(target: string, node: LabNode, region = 'global'): [string, boolean] {
  if (!target.startsWith('${')) return [target, true];
  const m = /^\$\{(.+)\}$/.exec(target);
  if (!m) return ['', false];
  const key = m[1] as string;
  switch (key) {
    case 'node.unique.id':
      return [node.ID, true];
    case 'node.datacenter':
      return [node.Datacenter, true];
    case 'node.unique.name':
      return [node.Name, true];
    case 'node.class':
      return [node.NodeClass, true];
    case 'node.pool':
      return [node.NodePool, true];
    case 'node.region':
      return [region, true];
  }
  if (key.startsWith('attr.')) {
    const v = node.Attributes[key.slice(5)];
    return v === undefined ? ['', false] : [v, true];
  }
  if (key.startsWith('meta.')) {
    const v = node.Meta[key.slice(5)];
    return v === undefined ? ['', false] : [v, true];
  }
  return ['', false];
}

/** The key Nomad uses in ConstraintFiltered (structs.Constraint.String()). */
export function constraintString(c: Constraint): string {
  return `${c.LTarget} ${c.Operand} ${c.RTarget}`;
}

function parseVersion(v: string): number[] | null {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$/.exec(v.trim());
  if (!m) return null;
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function cmpVersion(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/** go-version style constraints: ">= 1.2, < 2.0", "~> 1.4", "= 1.9.7". */
export function checkVersion(value: string, constraint: string): boolean {
  const v = parseVersion(value);
  if (!v) return false;
  for (const part of constraint.split(',')) {
    const m = /^\s*(>=|<=|!=|~>|>|<|=)?\s*(\S+)\s*$/.exec(part);
    if (!m) return false;
    const op = m[1] ?? '=';
    const target = parseVersion(m[2] as string);
    if (!target) return false;
    const c = cmpVersion(v, target);
    const ok =
      op === '>=' ? c >= 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : op === '<' ? c < 0 : op === '!=' ? c !== 0 : op === '~>' ? pessimistic(v, target, m[2] as string) : c === 0;
    if (!ok) return false;
  }
  return true;
}

function pessimistic(v: number[], t: number[], raw: string): boolean {
  const segments = raw.replace(/^v/, '').split('.').length;
  if (cmpVersion(v, t) < 0) return false;
  const prefix = Math.max(1, segments - 1);
  for (let i = 0; i < prefix; i++) if (v[i] !== t[i]) return false;
  return true;
}

function lexicalOrNumeric(op: string, l: string, r: string): boolean {
  const ln = Number(l);
  const rn = Number(r);
  const numeric = l.trim() !== '' && r.trim() !== '' && !Number.isNaN(ln) && !Number.isNaN(rn);
  const c = numeric ? ln - rn : l < r ? -1 : l > r ? 1 : 0;
  return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
}

const splitSet = (s: string): string[] => s.split(',').map((x) => x.trim()).filter(Boolean);

/**
 * Whether `node` satisfies constraint `c` on its own. `distinct_hosts` and `distinct_property`
 * depend on other allocations and are checked by the scheduler; here they pass.
 */
export function checkConstraint(c: Constraint, node: LabNode, region = 'global'): boolean {
  const op = c.Operand || '=';
  if (op === 'distinct_hosts' || op === 'distinct_property') return true;
  const [l, lOk] = resolveTarget(c.LTarget ?? '', node, region);
  const [r, rOk] = resolveTarget(c.RTarget ?? '', node, region);
  switch (op) {
    case 'is_set':
      return lOk;
    case 'is_not_set':
      return !lOk;
  }
  if (!lOk || !rOk) return op === '!=' || op === 'not' ? lOk !== rOk : false;
  switch (op) {
    case '=':
    case '==':
    case 'is':
      return l === r;
    case '!=':
    case 'not':
      return l !== r;
    case '<':
    case '<=':
    case '>':
    case '>=':
      return lexicalOrNumeric(op, l, r);
    case 'regexp':
      try {
        return new RegExp(r).test(l);
      } catch {
        return false;
      }
    case 'version':
    case 'semver':
      return checkVersion(l, r);
    case 'set_contains':
    case 'set_contains_all': {
      const have = new Set(splitSet(l));
      return splitSet(r).every((x) => have.has(x));
    }
    case 'set_contains_any': {
      const have = new Set(splitSet(l));
      return splitSet(r).some((x) => have.has(x));
    }
    default:
      return false;
  }
}
