// Diagnostics of a job file and the message Nomad prints for them: positions as HCL's ranges
// ("input.hcl:3,5-9"), decoding problems joined one per line, a syntax error shown first with the
// count of the others. HCL's hcl.Diagnostic (hashicorp/hcl diagnostic.go) and the error
// formatting of Nomad's jobspec2/parse.go, simplified.
import type { SrcPos } from './scanner';

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
export function formatSyntaxMessage(diags: JobDiagnostic[]): string {
  const rest = diags.length > 1 ? `, and ${diags.length - 1} other diagnostic(s)` : '';
  return `Failed to parse job: ${diagText(diags[0])}${rest}`;
}

export class Diag extends Error {
  constructor(
    readonly summary: string,
    readonly detail: string,
    readonly pos: SrcPos,
  ) {
    super(`${summary}; ${detail}`);
  }
}

export function posString(file: string, p: SrcPos): string {
  return `${file}:${p.line},${p.column}-${p.endColumn}`;
}

export function toError(diags: Diag[], filename: string): JobParseError {
  return new JobParseError(
    diags.map((d) => ({ summary: d.summary, detail: d.detail, filename, line: d.pos.line, column: d.pos.column, endLine: d.pos.line, endColumn: d.pos.endColumn })),
  );
}

