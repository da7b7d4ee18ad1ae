/**
 * The one client of the organizer API, for the extension (attendee sign-in, environment, lab
 * progress; the Organizer view) and the headless CLI alike. Every route of `routes` in
 * src/contract, every response checked against the contract (a server that drifts fails with
 * an error naming the field, not somewhere in a view), every request through the common HTTP
 * layer: one time limit, one size cap, one log line (method, path, status, duration).
 */
import type { ZodTypeAny, z } from 'zod';
import { HttpClient, HttpTransportError, type HttpResponse } from '../common/http';
import { silentLogger, type Logger } from '../common/logger';
import {
  ApiError,
  CreateInvitesResponse,
  Environment,
  ImportAttendeesResponse,
  ListAttendeesResponse,
  ListStacksResponse,
  ListWorkshopsResponse,
  Me,
  PreflightResponse,
  ProgressResponse,
  RedeemResponse,
  routes,
  SendInvitesResponse,
  Workshop,
  WorkshopEvent,
  type CreateInvitesRequest,
  type CreateWorkshopRequest,
  type ProgressRequest,
  type SendInvitesRequest,
} from '../contract';
import { checkApiUrl } from './apiUrlPolicy';
import { ApiUnreachableError, MalformedResponseError, OrganizerApiError, SessionExpiredError } from './errors';

export interface OrganizerApiOptions {
  /** Organizer API base URL; checked against the URL policy (https, or http on loopback). */
  apiUrl: string;
  /** Session token (attendee routes) or organizer token (organizer routes); none for redeem. */
  token?: string;
  log?: Logger;
  /** Time limit of one call (default 15 s; sending invites gets longer). */
  timeoutMs?: number;
  /** Sent as User-Agent, e.g. `open-kitchen/0.1.0 vscode/1.100.3`. */
  userAgent?: string;
}

type RouteName = keyof typeof routes;

interface CallOptions {
  params?: Record<string, string>;
  body?: unknown;
  query?: Record<string, string | undefined>;
  /** Attendee routes: a 401 means the session has ended. */
  session?: boolean;
  /** Needs a token (all routes but redeem and health). */
  authenticated?: boolean;
  timeoutMs?: number;
}

/** Substitutes `:name` parameters of a route path, each escaped. */
function routePath(name: RouteName, params: Record<string, string> = {}): { method: string; path: string; label: string } {
  const [method, template] = routes[name].split(' ') as [string, string];
  const path = template.replace(/:([a-z]+)/gi, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`route ${name} needs :${key}`);
    return encodeURIComponent(value);
  });
  return { method, path, label: `${method} ${template}` };
}

export class OrganizerApi {
  readonly apiUrl: string;
  private readonly http: HttpClient;
  private readonly hasToken: boolean;

  constructor(opts: OrganizerApiOptions) {
    this.apiUrl = checkApiUrl(opts.apiUrl);
    this.hasToken = !!opts.token;
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.userAgent) headers['user-agent'] = opts.userAgent;
    this.http = new HttpClient({
      baseUrl: this.apiUrl,
      headers,
      timeoutMs: opts.timeoutMs ?? 15_000,
      maxBytes: 32 * 1024 * 1024,
      service: 'Organizer API',
      log: opts.log ?? silentLogger,
      logLevel: 'info',
    });
  }

  // ---------------------------------------------------------------- attendee routes

  /** Exchanges a single-use invite token for a session. */
  redeem(invite: string): Promise<RedeemResponse> {
    return this.call('redeem', RedeemResponse, { body: { invite }, authenticated: false });
  }

  me(): Promise<Me> {
    return this.call('me', Me, { session: true });
  }

  environment(): Promise<Environment> {
    return this.call('environment', Environment, { session: true });
  }

  reportProgress(req: ProgressRequest): Promise<ProgressResponse> {
    return this.call('reportProgress', ProgressResponse, { body: req, session: true });
  }

  listProgress(): Promise<ProgressResponse> {
    return this.call('listProgress', ProgressResponse, { session: true });
  }

  /** Revokes the session on the server. */
  async signOut(): Promise<void> {
    await this.call('signOut', null, { session: true, timeoutMs: 5_000 });
  }

  // ---------------------------------------------------------------- organizer routes

  listWorkshops(): Promise<ListWorkshopsResponse> {
    return this.call('listWorkshops', ListWorkshopsResponse);
  }

  createWorkshop(req: Partial<CreateWorkshopRequest> & Pick<CreateWorkshopRequest, 'name' | 'title'>): Promise<Workshop> {
    return this.call('createWorkshop', Workshop, { body: req });
  }

  importAttendees(workshop: string, attendees: unknown[]): Promise<ImportAttendeesResponse> {
    return this.call('importAttendees', ImportAttendeesResponse, { params: { workshop }, body: { attendees } });
  }

  listAttendees(workshop: string): Promise<ListAttendeesResponse> {
    return this.call('listAttendees', ListAttendeesResponse, { params: { workshop } });
  }

  createInvites(workshop: string, req: Partial<CreateInvitesRequest>): Promise<CreateInvitesResponse> {
    return this.call('createInvites', CreateInvitesResponse, { params: { workshop }, body: req });
  }

  provisionStacks(workshop: string, attendeeIds?: string[]): Promise<ListStacksResponse> {
    return this.call('provisionStacks', ListStacksResponse, { params: { workshop }, body: attendeeIds ? { attendeeIds } : {} });
  }

  listStacks(workshop: string): Promise<ListStacksResponse> {
    return this.call('listStacks', ListStacksResponse, { params: { workshop } });
  }

  destroyStacks(workshop: string, attendeeIds?: string[]): Promise<ListStacksResponse> {
    return this.call('destroyStacks', ListStacksResponse, { params: { workshop }, query: { attendeeIds: attendeeIds?.length ? attendeeIds.join(',') : undefined } });
  }

  /** Unqueues builds that have not started and aborts running ones (they are cleaned up). */
  cancelStacks(workshop: string, attendeeIds?: string[]): Promise<ListStacksResponse> {
    return this.call('cancelStacks', ListStacksResponse, { params: { workshop }, body: attendeeIds ? { attendeeIds } : {} });
  }

  preflight(workshop: string): Promise<PreflightResponse> {
    return this.call('preflight', PreflightResponse, { params: { workshop }, timeoutMs: 60_000 });
  }

  sendInvites(workshop: string, req: Partial<SendInvitesRequest> = {}): Promise<SendInvitesResponse> {
    // Mail goes out two at a time over SMTP; a room of hundreds takes a while.
    return this.call('sendInvites', SendInvitesResponse, { params: { workshop }, body: req, timeoutMs: 10 * 60_000 });
  }

  /**
   * Follows the workshop's event stream (a snapshot, then one event per change) until `signal`
   * aborts or the server ends the stream. Rejects with OrganizerApiError when the stream cannot
   * be opened or sends something that is not a WorkshopEvent.
   */
  async watchWorkshop(workshop: string, onEvent: (e: WorkshopEvent) => void, signal: AbortSignal): Promise<void> {
    const { method, path, label } = routePath('workshopEvents', { workshop });
    let res: HttpResponse;
    try {
      res = await this.http.request(method, path, { accept: 'text/event-stream', stream: true, signal });
    } catch (err) {
      if (signal.aborted) return;
      throw this.unreachable(err);
    }
    if (res.status < 200 || res.status >= 300) throw await this.httpError(res, label, false);
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (!data) continue; // a `: ping` comment
          let json: unknown;
          try {
            json = JSON.parse(data);
          } catch {
            throw new MalformedResponseError(`The event stream sent something that is not JSON: ${data.slice(0, 80)}`, label, []);
          }
          const event = WorkshopEvent.safeParse(json);
          if (!event.success) throw this.malformed(label, event.error.issues);
          onEvent(event.data);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof OrganizerApiError) throw err;
      throw new ApiUnreachableError(`The event stream of ${workshop} at ${this.apiUrl} broke off: ${(err as Error).message}`);
    } finally {
      res.body.destroy();
    }
  }

  // ---------------------------------------------------------------- the call

  private async call<S extends ZodTypeAny>(name: RouteName, schema: S | null, opts: CallOptions = {}): Promise<z.output<S>> {
    const { method, path, label } = routePath(name, opts.params);
    if (opts.authenticated !== false && !this.hasToken) throw new SessionExpiredError('there is no session token');
    let res: HttpResponse;
    let text: string;
    try {
      res = await this.http.request(method, path, { body: opts.body, query: opts.query, timeoutMs: opts.timeoutMs });
      text = await res.text();
    } catch (err) {
      throw this.unreachable(err);
    }
    if (res.status < 200 || res.status >= 300) throw this.errorOf(res.status, text, label, !!opts.session);
    if (!schema) return undefined as z.output<S>;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch (err) {
      throw new MalformedResponseError(`The organizer API sent a response to ${label} that is not JSON: ${(err as Error).message}`, label, [], res.status);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw this.malformed(label, parsed.error.issues);
    return parsed.data;
  }

  private unreachable(err: unknown): OrganizerApiError {
    if (err instanceof OrganizerApiError) return err;
    const reason = err instanceof HttpTransportError ? err.message.replace(/^[^:]*: /, '') : (err as Error).message;
    return new ApiUnreachableError(`Cannot reach the organizer API at ${this.apiUrl}: ${reason}`);
  }

  private async httpError(res: HttpResponse, label: string, session: boolean): Promise<OrganizerApiError> {
    const text = await res.text().catch(() => '');
    return this.errorOf(res.status, text, label, session);
  }

  private errorOf(status: number, text: string, label: string, session: boolean): OrganizerApiError {
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const parsed = ApiError.safeParse(json);
    const message = parsed.success ? parsed.data.error.message : `${label} failed with HTTP ${status}`;
    if (status === 401 && session) return new SessionExpiredError(message);
    if (parsed.success) return new OrganizerApiError(message, status, parsed.data.error.code, parsed.data.error.details);
    return new OrganizerApiError(message, status, 'http_error');
  }

  private malformed(label: string, zodIssues: z.ZodIssue[]): MalformedResponseError {
    const issues = zodIssues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
    const summary = issues
      .slice(0, 3)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ');
    this.http.log.error(`${label}: response does not match the contract: ${summary}`);
    return new MalformedResponseError(
      `The organizer API sent an unexpected response to ${label} (${summary}). The organizer and the extension may be different versions.`,
      label,
      issues,
    );
  }
}
