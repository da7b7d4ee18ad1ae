/**
 * Loads every lab in a folder. A broken file is reported (file, step, line, problem) and left
 * out; the other labs still load. Cross-file rules live here: unique ids, known prerequisites
 * without cycles, and files the labs point at must exist in the workspace.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { formatProblem, parseLab } from './parse';
import type { ApplyAction, Check, Lab, LabProblem, StepAction } from './types';

export interface LoadLabsOptions {
  /** Folder of the lab files (e.g. `<workspace>/labs`). */
  dir: string;
  /** Root the lab's paths are relative to (default: the parent of `dir`). */
  workspaceRoot?: string;
}

export interface LoadLabsResult {
  /** Valid labs, sorted by `order`, then id. */
  labs: Lab[];
  /** Errors (the lab was left out) and warnings (it loaded), in file order. */
  problems: LabProblem[];
}

/** Files a lab file is not: the format description and hidden files. */
function isLabFile(name: string): boolean {
  return name.endsWith('.md') && !name.startsWith('.') && name.toLowerCase() !== 'readme.md';
}

function checkFiles(check: Check): string[] {
  switch (check.kind) {
    case 'all':
    case 'any':
      return check.checks.flatMap(checkFiles);
    case 'not':
      return checkFiles(check.check);
    case 'jobImagePinned':
      return check.file ? [check.file] : [];
    case 'jobFileValid':
      return [check.path];
    default:
      return [];
  }
}

/** Files that must exist before the step starts (fileContains targets may be created by the attendee). */
function referencedFiles(actions: StepAction[], apply: ApplyAction[], check: Check): string[] {
  const out: string[] = [];
  for (const a of actions) if (a.kind === 'runJob' || a.kind === 'openFile') out.push(a.file);
  for (const a of apply) if (a.kind === 'runJob') out.push(a.file);
  for (const a of apply) if (a.kind === 'editFile' && a.replace) out.push(a.path);
  out.push(...checkFiles(check));
  return out;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

export async function loadLabs(opts: LoadLabsOptions): Promise<LoadLabsResult> {
  const dir = path.resolve(opts.dir);
  const root = path.resolve(opts.workspaceRoot ?? path.dirname(dir));
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  const problems: LabProblem[] = [];
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter(isLabFile).sort();
  } catch (err) {
    return { labs: [], problems: [{ file: rel(dir) || '.', message: `cannot read the labs folder: ${(err as Error).message}`, severity: 'error' }] };
  }

  const parsed: Lab[] = [];
  for (const name of names) {
    const file = rel(path.join(dir, name));
    let text: string;
    try {
      text = await fs.readFile(path.join(dir, name), 'utf8');
    } catch (err) {
      problems.push({ file, message: `cannot read the file: ${(err as Error).message}`, severity: 'error' });
      continue;
    }
    const result = parseLab(text, { file });
    problems.push(...result.problems);
    if (!result.lab) continue;
    const lab = result.lab;
    let broken = false;
    for (const step of lab.steps) {
      for (const f of referencedFiles(step.actions, step.apply, step.check)) {
        if (!(await exists(path.join(root, f)))) {
          problems.push({ file, step: step.id, line: step.line, message: `${f} does not exist in the workspace`, severity: 'error' });
          broken = true;
        }
      }
      for (const link of step.links) {
        if (link.kind !== 'file' || !link.path) continue;
        if (link.path.startsWith('..')) {
          problems.push({ file, step: step.id, line: link.line, message: `link "${link.target}" points outside the workspace`, severity: 'warning' });
        } else if (!(await exists(path.join(root, link.path)))) {
          problems.push({ file, step: step.id, line: link.line, message: `link "${link.target}" points at ${link.path}, which does not exist`, severity: 'warning' });
        }
      }
    }
    if (!broken) parsed.push(lab);
  }

  // Unique ids: the first file (by name) keeps the id.
  const byId = new Map<string, Lab>();
  for (const lab of parsed) {
    const other = byId.get(lab.id);
    if (other) {
      problems.push({ file: lab.file, line: 2, message: `lab id "${lab.id}" is already used by ${other.file}`, severity: 'error' });
      continue;
    }
    byId.set(lab.id, lab);
  }

  // Prerequisites must name loaded labs, without cycles; drop labs that fail, repeatedly,
  // since dropping one can orphan another.
  let changed = true;
  while (changed) {
    changed = false;
    for (const lab of [...byId.values()]) {
      const missing = lab.prerequisites.filter((p) => !byId.has(p));
      if (missing.length) {
        problems.push({
          file: lab.file,
          message: `prerequisite${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not a loaded lab`,
          severity: 'error',
        });
        byId.delete(lab.id);
        changed = true;
      }
    }
  }
  for (const lab of [...byId.values()]) {
    const cycle = findCycle(lab.id, byId);
    if (cycle) {
      problems.push({ file: lab.file, message: `prerequisites form a cycle: ${cycle.join(' → ')}`, severity: 'error' });
    }
  }
  const inCycle = new Set(problems.filter((p) => p.message.startsWith('prerequisites form a cycle')).map((p) => p.file));
  const labs = [...byId.values()].filter((l) => !inCycle.has(l.file)).sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
  return { labs, problems };
}

function findCycle(start: string, labs: Map<string, Lab>): string[] | undefined {
  const walk = (id: string, trail: string[]): string[] | undefined => {
    for (const p of labs.get(id)?.prerequisites ?? []) {
      if (p === start) return [...trail, p];
      if (trail.includes(p)) continue;
      const found = walk(p, [...trail, p]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(start, [start]);
}

export { formatProblem };
