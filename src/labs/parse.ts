/**
 * Parses one lab file (Markdown with YAML front matter; format in labs/README.md) into a Lab,
 * or into problems that name the file, the step and the line. Pure: no file system access;
 * the loader checks that referenced files exist.
 */
import * as path from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { durationMinutes, parseActions, parseApply, parseCheck, parseFrontMatter, type SchemaIssue, type YamlPath } from './schema';
import type { ApplyAction, Check, Lab, LabLink, LabProblem, LabStep, StepAction } from './types';

export interface ParseLabOptions {
  /** Workspace-relative path of the file, used in problems and to resolve relative links. */
  file: string;
}

export interface ParseLabResult {
  /** Undefined when the file has an error; `problems` says why. */
  lab?: Lab;
  problems: LabProblem[];
}

type BlockKind = 'check' | 'actions' | 'apply';

interface YamlBlock {
  kind: BlockKind;
  /** 1-based line of the opening fence. */
  line: number;
  text: string;
}

interface RawStep {
  title: string;
  explicitId?: string;
  line: number;
  section: 'instructions' | 'hints' | 'solution';
  instructions: string[];
  hints: { text: string[]; line: number }[];
  hintsPreamble: string[];
  solution: string[];
  blocks: YamlBlock[];
  links: LabLink[];
}

const STEP_HEADING = /^##\s+Step:\s*(.+?)\s*(?:\{#([^}]*)\})?\s*#*\s*$/i;
const H2 = /^##\s+\S/;
const H3 = /^###\s+(.+?)\s*#*\s*$/;
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})\s*([^`]*)$/;
const SPECIAL_INFO = /^(?:yaml\s+)?(check|actions|apply)\s*$/i;
const LIST_ITEM = /^(?:[-*+]|\d+[.)])\s+(.*)$/;
const LINK = /(?<!!)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;

export function slugify(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[`*_"'’]/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'step'
  );
}

/** Where a YAML path sits in the document, as a 1-based line relative to the YAML text. */
function lineOf(doc: Document, counter: LineCounter, p: YamlPath): number | undefined {
  for (let n = p.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(p.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

function yamlErrorText(message: string): string {
  return message.split('\n')[0].replace(/\s+at line \d+, column \d+:?\s*$/, '');
}

function formatPath(p: YamlPath): string {
  return p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** Parses YAML text that starts on `firstLine` of the file; schema problems get their lines. */
function parseYaml(text: string, firstLine: number): { value?: unknown; problems: { line: number; message: string }[]; locate: (p: YamlPath) => number } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true });
  const problems = doc.errors.map((e) => ({ line: firstLine - 1 + (e.linePos?.[0]?.line ?? 1), message: `YAML: ${yamlErrorText(e.message)}` }));
  const locate = (p: YamlPath) => firstLine - 1 + (lineOf(doc, counter, p) ?? 1);
  if (problems.length) return { problems, locate };
  return { value: doc.toJS(), problems, locate };
}

function classifyLink(text: string, target: string, line: number, fileDir: string): LabLink {
  if (target.startsWith('#')) return { text, target, kind: 'anchor', line };
  if (/^command:/i.test(target)) return { text, target, kind: 'command', line };
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return { text, target, kind: 'url', line };
  const bare = decodeURI(target.split('#')[0].split('?')[0]);
  return { text, target, kind: 'file', path: path.posix.normalize(path.posix.join(fileDir, bare)), line };
}

export function parseLab(text: string, opts: ParseLabOptions): ParseLabResult {
  const file = opts.file;
  const fileDir = path.posix.dirname(file.split(path.sep).join('/'));
  const problems: LabProblem[] = [];
  const error = (message: string, line?: number, step?: string) => problems.push({ file, step, line, message, severity: 'error' });
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);

  // ---- front matter
  if (lines[0]?.trim() !== '---') {
    error('no front matter: a lab file starts with a --- line, then id, title, duration (YAML), then ---', 1);
    return { problems };
  }
  const end = lines.findIndex((l, i) => i > 0 && (l.trim() === '---' || l.trim() === '...'));
  if (end < 0) {
    error('the front matter is never closed: add a --- line after it', 1);
    return { problems };
  }
  const fm = parseYaml(lines.slice(1, end).join('\n'), 2);
  for (const p of fm.problems) error(`front matter: ${p.message}`, p.line);
  let front: ReturnType<typeof parseFrontMatter>;
  if (!fm.problems.length) {
    const issues: SchemaIssue[] = [];
    front = parseFrontMatter(fm.value, issues);
    for (const i of issues) error(`front matter: ${i.path.length ? `${formatPath(i.path)}: ` : ''}${i.message}`, fm.locate(i.path));
  }

  // ---- body
  const intro: string[] = [];
  const outro: string[] = [];
  const steps: RawStep[] = [];
  let inOutro = false;
  let fence: { marker: string; line: number; special?: BlockKind; body: string[] } | undefined;

  const current = () => (inOutro ? undefined : steps[steps.length - 1]);
  const pushText = (line: string, lineNo: number, isCode: boolean) => {
    const step = current();
    if (!step) {
      (inOutro ? outro : intro).push(line);
      return;
    }
    if (!isCode) {
      for (const m of line.matchAll(LINK)) step.links.push(classifyLink(m[1], m[2], lineNo, fileDir));
    }
    if (step.section === 'instructions') step.instructions.push(line);
    else if (step.section === 'solution') step.solution.push(line);
    else {
      const item = isCode ? null : LIST_ITEM.exec(line);
      if (item && !/^\s/.test(line)) step.hints.push({ text: [item[1]], line: lineNo });
      else if (step.hints.length) step.hints[step.hints.length - 1].text.push(line.replace(/^ {1,4}/, ''));
      else step.hintsPreamble.push(line);
    }
  };

  for (let i = end + 1; i < lines.length; i++) {
    const line = lines[i];
    const lineNo = i + 1;
    if (fence) {
      const close = new RegExp(`^ {0,3}${fence.marker[0] === '`' ? '`' : '~'}{${fence.marker.length},}\\s*$`);
      if (close.test(line)) {
        if (fence.special) current()?.blocks.push({ kind: fence.special, line: fence.line, text: fence.body.join('\n') });
        else pushText(line, lineNo, true);
        fence = undefined;
      } else if (fence.special) fence.body.push(line);
      else pushText(line, lineNo, true);
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    if (open) {
      const special = SPECIAL_INFO.exec(open[2].trim())?.[1]?.toLowerCase() as BlockKind | undefined;
      fence = { marker: open[1], line: lineNo, special, body: [] };
      if (special && !current()) error(`a \`\`\`yaml ${special} block must sit inside a "## Step:" section`, lineNo);
      if (!special) pushText(line, lineNo, true);
      continue;
    }
    const stepHeading = STEP_HEADING.exec(line);
    if (stepHeading) {
      inOutro = false;
      steps.push({
        title: stepHeading[1].trim(),
        explicitId: stepHeading[2]?.trim(),
        line: lineNo,
        section: 'instructions',
        instructions: [],
        hints: [],
        hintsPreamble: [],
        solution: [],
        blocks: [],
        links: [],
      });
      continue;
    }
    if (H2.test(line) && steps.length) {
      inOutro = true;
      outro.push(line);
      continue;
    }
    const h3 = H3.exec(line);
    const step = current();
    if (h3 && step) {
      const heading = h3[1].replace(/:$/, '').trim().toLowerCase();
      if (heading === 'hint' || heading === 'hints') {
        step.section = 'hints';
        continue;
      }
      if (heading === 'solution') {
        step.section = 'solution';
        continue;
      }
    }
    pushText(line, lineNo, false);
  }
  if (fence) error(`the code block opened here (${fence.marker}) is never closed`, fence.line);
  if (!steps.length && !problems.length) error('the lab has no steps: add "## Step: <title>" sections', end + 2);

  // ---- steps
  const seen = new Map<string, number>();
  const out: LabStep[] = [];
  for (const raw of steps) {
    let id = raw.explicitId ?? slugify(raw.title);
    const label = raw.explicitId ?? raw.title;
    const stepError = (message: string, line?: number) => error(message, line ?? raw.line, label);
    if (raw.explicitId !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(raw.explicitId)) {
      stepError(`step id "${raw.explicitId}" must be lowercase letters, digits and dashes`);
      id = '';
    }
    if (id && seen.has(id)) stepError(`step id "${id}" is used twice (also on line ${seen.get(id)}); give one an explicit id with {#other-id}`);
    if (id) seen.set(id, raw.line);

    const checkBlocks = raw.blocks.filter((b) => b.kind === 'check');
    let check: Check | undefined;
    if (checkBlocks.length === 0) stepError('the step has no check: add a ```yaml check block (see labs/README.md)');
    else if (checkBlocks.length > 1) stepError('the step has more than one ```yaml check block; combine them with all: [...]', checkBlocks[1].line);
    else {
      const b = checkBlocks[0];
      const y = parseYaml(b.text, b.line + 1);
      for (const p of y.problems) stepError(`check: ${p.message}`, p.line);
      if (!y.problems.length) {
        if (y.value === null || y.value === undefined) stepError('check: the ```yaml check block is empty', b.line);
        else {
          const issues: SchemaIssue[] = [];
          check = parseCheck(y.value, issues);
          for (const i of issues) stepError(`check: ${i.path.length ? `${formatPath(i.path)}: ` : ''}${i.message}`, y.locate(i.path));
        }
      }
    }
    const actions: StepAction[] = [];
    const apply: ApplyAction[] = [];
    for (const b of raw.blocks.filter((x) => x.kind !== 'check')) {
      const y = parseYaml(b.text, b.line + 1);
      for (const p of y.problems) stepError(`${b.kind}: ${p.message}`, p.line);
      if (y.problems.length) continue;
      const issues: SchemaIssue[] = [];
      if (b.kind === 'actions') actions.push(...parseActions(y.value, issues));
      else apply.push(...parseApply(y.value, issues));
      for (const i of issues) stepError(`${b.kind}: ${i.path.length ? `${formatPath(i.path)}: ` : ''}${i.message}`, y.locate(i.path));
    }
    const hints = raw.hints.map((h) => h.text.join('\n').trim()).filter(Boolean);
    const preamble = raw.hintsPreamble.join('\n').trim();
    if (!hints.length && preamble) hints.push(preamble);
    if (check) {
      out.push({
        id,
        title: raw.title,
        instructions: raw.instructions.join('\n').trim(),
        actions,
        hints,
        solution: raw.solution.join('\n').trim(),
        apply,
        check,
        links: raw.links,
        line: raw.line,
      });
    }
  }

  if (problems.some((p) => p.severity === 'error') || !front) return { problems };
  return {
    lab: {
      id: front.id,
      title: front.title,
      duration: durationMinutes(front.duration),
      prerequisites: front.prerequisites,
      optional: front.optional,
      order: front.order ?? Number.MAX_SAFE_INTEGER,
      summary: front.summary,
      intro: intro.join('\n').trim(),
      outro: outro.join('\n').trim(),
      steps: out,
      file,
    },
    problems,
  };
}

/** `labs/02-consul.md:42: step "deploy": check: …` */
export function formatProblem(p: LabProblem): string {
  const where = p.line ? `${p.file}:${p.line}` : p.file;
  const step = p.step ? `step "${p.step}": ` : '';
  return `${where}: ${p.severity === 'warning' ? 'warning: ' : ''}${step}${p.message}`;
}
