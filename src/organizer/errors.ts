/** API errors: one class carrying the HTTP status and the contract's stable error code. */
import type { ZodError, ZodTypeAny, z } from 'zod';
import type { ApiError, ErrorCode } from '../contract';

export type ErrorDetail = { path: string; message: string };

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }

  toBody(): ApiError {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const unauthorized = (message: string) => new HttpError(401, 'unauthorized', message);
export const forbidden = (message: string) => new HttpError(403, 'forbidden', message);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);
export const conflict = (message: string) => new HttpError(409, 'conflict', message);

export function zodDetails(err: ZodError): ErrorDetail[] {
  return err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

/** Validates a request body against a contract schema; 422 naming each bad field otherwise. */
export function parseBody<S extends ZodTypeAny>(schema: S, body: unknown): z.output<S> {
  if (body === undefined || body === null) {
    throw new HttpError(422, 'validation_failed', 'The request needs a JSON body (Content-Type: application/json).', [
      { path: '', message: 'Required' },
    ]);
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const details = zodDetails(r.error);
  const summary = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ');
  throw new HttpError(422, 'validation_failed', `Invalid request body: ${summary}`, details);
}
