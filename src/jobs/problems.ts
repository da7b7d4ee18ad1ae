/**
 * Nomad's parse and validation errors as editor problems (plain code, no `vscode`).
 */
import type { NomadValidateResponse } from '../cluster/schemas';

/** Zero-based, like editor positions; the end is exclusive. */
export interface JobProblem {
  severity: 'error' | 'warning';
  message: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

/** Job files are the ones Nomad's own tooling recognises. */
export function isJobFile(fileName: string): boolean {
  return /\.nomad(\.hcl)?$/i.test(fileName);
}

/** `input.hcl:3,13-4,1: ` or `input.hcl:3,13-20: ` or `input.hcl:3,13: ` at the start of a line (or of the text). */
const POSITION = /(?:^|\n)[ \t]*[^\s:][^:\n]*:(\d+),(\d+)(?:-(?:(\d+),)?(\d+))?: ([^\n]*)/g;

/**
 * Problems from the body of a failed `POST /v1/jobs/parse` (400), e.g.
 * `Failed to parse job: input.hcl:3,13-4,1: Invalid expression; Expected the start of an expression…`.
 * Each `file:line,col[-[line,]col]: summary; detail` becomes a problem at that place (Nomad's
 * positions are 1-based, the editor's 0-based). Syntax errors name the first problem and count the
 * rest (`, and 2 other diagnostic(s)`); decoding errors list one per line. A body without a
 * position (`<nil>: …`) becomes one problem on the first line.
 */
export function problemsFromParseError(body: string): JobProblem[] {
  const text = body.replace(/^\s*Failed to parse job:\s*/i, '').trim();
  const problems: JobProblem[] = [];
  for (const m of text.matchAll(POSITION)) {
    const line = Number(m[1]) - 1;
    const column = Number(m[2]) - 1;
    const endLine = m[3] ? Number(m[3]) - 1 : line;
    const endColumn = m[4] ? Number(m[4]) - 1 : column + 1;
    problems.push({
      severity: 'error',
      message: m[5]!.replace(/, and \d+ other diagnostic\(s\)$/, '').trim(),
      line,
      column,
      endLine,
      // An empty range would be invisible in the editor: mark at least one character.
      endColumn: endLine === line ? Math.max(endColumn, column + 1) : endColumn,
    });
  }
  if (problems.length === 0) {
    const message = text.replace(/^<nil>:\s*/, '') || 'Nomad could not parse this job file.';
    problems.push({ severity: 'error', message, line: 0, column: 0, endLine: 0, endColumn: 1 });
  }
  return problems;
}

/** Validation errors and warnings of `/v1/validate/job`: they carry no position, so they sit on the `job` line. */
export function problemsFromValidation(res: NomadValidateResponse, jobLine: number): JobProblem[] {
  const at = { line: jobLine, column: 0, endLine: jobLine, endColumn: 200 };
  const errors = res.ValidationErrors?.length ? res.ValidationErrors : res.Error ? splitMulti(res.Error) : [];
  const warnings = res.Warnings ? splitMulti(res.Warnings) : [];
  return [...errors.map((message) => ({ severity: 'error' as const, message, ...at })), ...warnings.map((message) => ({ severity: 'warning' as const, message, ...at }))];
}

/** Go's multierror text: "2 errors occurred:\n\t* a\n\t* b\n\n". */
function splitMulti(text: string): string[] {
  const items = [...text.matchAll(/^\s*\*\s+(.+)$/gm)].map((m) => m[1]!.trim());
  return items.length ? items : [text.trim()];
}

/** The zero-based line of the `job "name" {` block, for lenses and position-less problems. */
export function jobBlockLine(text: string): number {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => /^\s*job\s+"[^"]*"\s*\{/.test(l));
  return i < 0 ? 0 : i;
}
