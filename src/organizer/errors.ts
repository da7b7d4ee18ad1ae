/**
 * What the organizer refuses, and why: one error class carrying the contract's stable error
 * code (src/contract/api.ts), a message for people, and field details. The store and the stack
 * service raise it knowing nothing of HTTP; the server answers with the status its code means.
 */
import type { ZodError, ZodTypeAny, z } from 'zod';
import type { ApiError, ErrorCode } from '../contract';

export type ErrorDetail = { path: string; message: string };

/** The HTTP status each error code is answered with (the server's business alone). */
export const STATUS_OF: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invite_used: 410,
  invite_expired: 410,
  invite_invalid: 401,
  rate_limited: 429,
  internal: 500,
};

export class ApiFailure extends Error {
  override name = 'ApiFailure';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }

  get statusCode(): number {
    return STATUS_OF[this.code];
  }

  toBody(): ApiError {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const unauthorized = (message: string) => new ApiFailure('unauthorized', message);
export const forbidden = (message: string) => new ApiFailure('forbidden', message);
export const notFound = (message: string) => new ApiFailure('not_found', message);
export const conflict = (message: string) => new ApiFailure('conflict', message);

export function zodDetails(err: ZodError): ErrorDetail[] {
  return err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

/** Validates a request body against a contract schema; 422 naming each bad field otherwise. */
export function parseBody<S extends ZodTypeAny>(schema: S, body: unknown): z.output<S> {
  if (body === undefined || body === null) {
    throw new ApiFailure('validation_failed', 'The request needs a JSON body (Content-Type: application/json).', [
      { path: '', message: 'Required' },
    ]);
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const details = zodDetails(r.error);
  const summary = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ');
  throw new ApiFailure('validation_failed', `Invalid request body: ${summary}`, details);
}
