/**
 * The attendee's client for the organizer API. Every response is validated against the contract
 * in `src/contract/`, so a server that drifts from it fails with an error naming the field rather
 * than a crash somewhere in a view. Every request is logged once, here: method, path, status, time.
 */
import fetch, { type Response } from 'node-fetch';
import type { ZodTypeAny, z } from 'zod';
import {
  ApiError,
  Environment,
  Me,
  ProgressResponse,
  RedeemResponse,
  routes,
  type ProgressRequest,
} from '../contract/api';
import { checkApiUrl } from './apiUrlPolicy';
import {
  ApiUnreachableError,
  MalformedResponseError,
  OrganizerApiError,
  SessionExpiredError,
} from './errors';
import { silentLogger, type Logger } from './logger';

export interface OrganizerApiClientOptions {
  /** Organizer API base URL; checked against the URL policy. */
  apiUrl: string;
  /** Session token for the attendee routes; not needed for redeem. */
  token?: string;
  logger?: Logger;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Sent as User-Agent, e.g. `open-kitchen/0.1.0 vscode/1.100.3`. */
  userAgent?: string;
}

type RouteName = keyof typeof routes;

export class OrganizerApiClient {
  readonly apiUrl: string;
  private readonly logger: Logger;
  private readonly timeoutMs: number;

  constructor(private readonly opts: OrganizerApiClientOptions) {
    this.apiUrl = checkApiUrl(opts.apiUrl);
    this.logger = opts.logger ?? silentLogger;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  /** Exchanges a single-use invite token for a session. */
  redeem(invite: string): Promise<RedeemResponse> {
    return this.call('redeem', RedeemResponse, { invite }, false);
  }

  me(): Promise<Me> {
    return this.call('me', Me);
  }

  environment(): Promise<Environment> {
    return this.call('environment', Environment);
  }

  reportProgress(req: ProgressRequest): Promise<ProgressResponse> {
    return this.call('reportProgress', ProgressResponse, req);
  }

  listProgress(): Promise<ProgressResponse> {
    return this.call('listProgress', ProgressResponse);
  }

  /** Revokes the session on the server. */
  async signOut(): Promise<void> {
    await this.call('signOut', null, undefined);
  }

  private async call<S extends ZodTypeAny>(
    name: RouteName,
    schema: S | null,
    body?: unknown,
    authenticated = true,
  ): Promise<z.output<S>> {
    const [method, path] = routes[name].split(' ');
    const label = `${method} ${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.userAgent) headers['user-agent'] = this.opts.userAgent;
    if (authenticated) {
      if (!this.opts.token) throw new SessionExpiredError('there is no session token');
      headers.authorization = `Bearer ${this.opts.token}`;
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    const payload = body !== undefined ? JSON.stringify(body) : undefined;

    const started = Date.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.apiUrl + path, { method, headers, body: payload, signal: abort.signal });
      text = await res.text();
    } catch (err) {
      const reason = abort.signal.aborted ? `no answer within ${this.timeoutMs / 1000} s` : (err as Error).message;
      this.logger.warn(`${label} failed after ${Date.now() - started} ms: ${reason}`);
      throw new ApiUnreachableError(`Cannot reach the organizer API at ${this.apiUrl}: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
    this.logger.info(`${label} → ${res.status} (${Date.now() - started} ms)`);

    let json: unknown;
    let jsonError: string | undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch (err) {
      jsonError = (err as Error).message;
    }

    if (!res.ok) {
      const parsed = ApiError.safeParse(json);
      const message = parsed.success ? parsed.data.error.message : `${label} failed with HTTP ${res.status}`;
      if (res.status === 401 && authenticated) throw new SessionExpiredError(message);
      if (parsed.success) {
        throw new OrganizerApiError(message, res.status, parsed.data.error.code, parsed.data.error.details);
      }
      throw new OrganizerApiError(message, res.status, 'http_error');
    }

    if (!schema) return undefined as z.output<S>;
    if (jsonError !== undefined) {
      throw new MalformedResponseError(`The organizer API sent a response to ${label} that is not JSON: ${jsonError}`, label, []);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i: z.ZodIssue) => ({ path: i.path.join('.') || '(root)', message: i.message }));
      const summary = issues.slice(0, 3).map((i: { path: string; message: string }) => `${i.path}: ${i.message}`).join('; ');
      this.logger.error(`${label}: response does not match the contract: ${summary}`);
      throw new MalformedResponseError(
        `The organizer API sent an unexpected response to ${label} (${summary}). The organizer and the extension may be different versions.`,
        label,
        issues,
      );
    }
    return parsed.data;
  }
}
