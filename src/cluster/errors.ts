/**
 * Errors of the cluster clients. Each names the service, the request and what went wrong in
 * words a workshop attendee can act on; none of them crashes a view.
 */
import type { ZodIssue } from 'zod';

export type ClusterService = 'Nomad' | 'Consul';

export type ClusterErrorKind =
  /** The server answered with a non-2xx status. */
  | 'http'
  /** The server answered 2xx, but the body is not the documented shape. */
  | 'shape'
  /** Nothing answered: connection refused, tunnel down, forward refused, an answer cut off. */
  | 'unreachable'
  /** No complete answer within the call's time limit. */
  | 'timeout'
  /** The answer is larger than the client accepts. */
  | 'too-large'
  /** The request was cancelled by its caller. */
  | 'aborted';

export class ClusterError extends Error {
  override readonly name: string = 'ClusterError';
  constructor(
    message: string,
    readonly kind: ClusterErrorKind,
    readonly service: ClusterService,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Non-2xx answer. Message like the Go client's: `Nomad GET /v1/job/x: 404 job not found`. */
export class ClusterHttpError extends ClusterError {
  override readonly name = 'ClusterHttpError';
  constructor(
    service: ClusterService,
    readonly method: string,
    path: string,
    readonly status: number,
    readonly body: string,
  ) {
    const text = body.trim() || '(empty body)';
    super(`${service} ${method} ${path}: ${status} ${text.length > 500 ? text.slice(0, 500) + '…' : text}`, 'http', service, path);
  }
}

export interface ShapeProblem {
  /** Field path like `[3].TaskStates.web.State` (empty for the whole body). */
  field: string;
  message: string;
}

/** A 2xx body that does not match the schema: names the first wrong field. */
export class ResponseShapeError extends ClusterError {
  override readonly name = 'ResponseShapeError';
  constructor(
    service: ClusterService,
    path: string,
    readonly problems: ShapeProblem[],
  ) {
    const first = problems[0];
    const where = first ? (first.field ? `${first.field}: ${first.message}` : first.message) : 'unexpected response';
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    super(`${service} ${path}: ${where}${more}`, 'shape', service, path);
  }
}

/** `[3].TaskStates.web.State` from zod's path segments. */
export function formatFieldPath(path: (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function describeIssue(issue: ZodIssue): string {
  if (issue.code === 'invalid_type') {
    if (issue.received === 'undefined') return `missing (expected ${issue.expected})`;
    return `expected ${issue.expected}, received ${issue.received}`;
  }
  if (issue.code === 'invalid_enum_value') return `expected one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}, received ${JSON.stringify(issue.received)}`;
  return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
}

export function shapeProblems(issues: ZodIssue[]): ShapeProblem[] {
  return issues.map((i) => ({ field: formatFieldPath(i.path), message: describeIssue(i) }));
}
