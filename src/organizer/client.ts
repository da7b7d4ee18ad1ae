/**
 * A small client for the organizer endpoints, used by the headless CLI. Responses are
 * checked against the contract so a mismatched server fails loudly, not halfway.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import type { ZodTypeAny, z } from 'zod';
import {
  ApiError,
  AttendeeInput,
  CreateInvitesResponse,
  ImportAttendeesResponse,
  ListAttendeesResponse,
  ListStacksResponse,
  ListWorkshopsResponse,
  PreflightResponse,
  SendInvitesResponse,
  Workshop,
  WorkshopEvent,
  type CreateInvitesRequest,
  type SendInvitesRequest,
  type CreateWorkshopRequest,
} from '../contract';

export class OrganizerApiError extends Error {
  override name = 'OrganizerApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { path: string; message: string }[],
  ) {
    super(message);
  }
}

export class OrganizerClient {
  private readonly base: string;

  constructor(baseUrl: string, private readonly token: string) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  private async call<S extends ZodTypeAny>(method: string, path: string, schema: S | null, body?: unknown): Promise<z.output<S>> {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new OrganizerApiError(0, 'unreachable', `Cannot reach the organizer API at ${this.base}: ${cause}`);
    }
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // handled below
    }
    if (!res.ok) {
      const e = ApiError.safeParse(json);
      if (e.success) throw new OrganizerApiError(res.status, e.data.error.code, e.data.error.message, e.data.error.details);
      throw new OrganizerApiError(res.status, 'http_error', `${method} ${path} failed with HTTP ${res.status}`);
    }
    if (!schema) return undefined as z.output<S>;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new OrganizerApiError(res.status, 'bad_response', `Unexpected response from ${method} ${path}: ${parsed.error.message}`);
    }
    return parsed.data;
  }

  listWorkshops(): Promise<ListWorkshopsResponse> {
    return this.call('GET', '/v1/workshops', ListWorkshopsResponse);
  }

  createWorkshop(req: Partial<CreateWorkshopRequest> & Pick<CreateWorkshopRequest, 'name' | 'title'>): Promise<Workshop> {
    return this.call('POST', '/v1/workshops', Workshop, req);
  }

  importAttendees(workshop: string, attendees: unknown[]): Promise<ImportAttendeesResponse> {
    return this.call('POST', `/v1/workshops/${encodeURIComponent(workshop)}/attendees`, ImportAttendeesResponse, { attendees });
  }

  listAttendees(workshop: string): Promise<ListAttendeesResponse> {
    return this.call('GET', `/v1/workshops/${encodeURIComponent(workshop)}/attendees`, ListAttendeesResponse);
  }

  createInvites(workshop: string, req: Partial<CreateInvitesRequest>): Promise<CreateInvitesResponse> {
    return this.call('POST', `/v1/workshops/${encodeURIComponent(workshop)}/invites`, CreateInvitesResponse, req);
  }

  provisionStacks(workshop: string, attendeeIds?: string[]): Promise<ListStacksResponse> {
    return this.call('POST', `/v1/workshops/${encodeURIComponent(workshop)}/stacks`, ListStacksResponse, attendeeIds ? { attendeeIds } : {});
  }

  listStacks(workshop: string): Promise<ListStacksResponse> {
    return this.call('GET', `/v1/workshops/${encodeURIComponent(workshop)}/stacks`, ListStacksResponse);
  }

  destroyStacks(workshop: string, attendeeIds?: string[]): Promise<ListStacksResponse> {
    const query = attendeeIds?.length ? `?attendeeIds=${attendeeIds.map(encodeURIComponent).join(',')}` : '';
    return this.call('DELETE', `/v1/workshops/${encodeURIComponent(workshop)}/stacks${query}`, ListStacksResponse);
  }

  /** Unqueues builds that have not started and aborts running ones (they are cleaned up). */
  cancelStacks(workshop: string, attendeeIds?: string[]): Promise<ListStacksResponse> {
    return this.call('POST', `/v1/workshops/${encodeURIComponent(workshop)}/stacks/cancel`, ListStacksResponse, attendeeIds ? { attendeeIds } : {});
  }

  preflight(workshop: string): Promise<PreflightResponse> {
    return this.call('GET', `/v1/workshops/${encodeURIComponent(workshop)}/preflight`, PreflightResponse);
  }

  sendInvites(workshop: string, req: Partial<SendInvitesRequest> = {}): Promise<SendInvitesResponse> {
    return this.call('POST', `/v1/workshops/${encodeURIComponent(workshop)}/invites/send`, SendInvitesResponse, req);
  }

  /**
   * Follows the workshop's event stream (a snapshot, then one event per stack change) until
   * `signal` aborts or the server ends the stream. Rejects with OrganizerApiError when the
   * stream cannot be opened or sends something that is not a WorkshopEvent.
   */
  async watchWorkshop(workshop: string, onEvent: (e: WorkshopEvent) => void, signal: AbortSignal): Promise<void> {
    const path = `/v1/workshops/${encodeURIComponent(workshop)}/events`;
    let res: Response;
    try {
      res = await fetch(this.base + path, { headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' }, signal });
    } catch (err) {
      if (signal.aborted) return;
      const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new OrganizerApiError(0, 'unreachable', `Cannot reach the organizer API at ${this.base}: ${cause}`);
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      let parsed: ReturnType<typeof ApiError.safeParse> | undefined;
      try {
        parsed = ApiError.safeParse(JSON.parse(text));
      } catch {
        parsed = undefined;
      }
      if (parsed?.success) throw new OrganizerApiError(res.status, parsed.data.error.code, parsed.data.error.message);
      throw new OrganizerApiError(res.status, 'http_error', `GET ${path} failed with HTTP ${res.status}`);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
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
            throw new OrganizerApiError(200, 'bad_response', `The event stream sent something that is not JSON: ${data.slice(0, 80)}`);
          }
          const event = WorkshopEvent.safeParse(json);
          if (!event.success) throw new OrganizerApiError(200, 'bad_response', `Unexpected event from ${path}: ${event.error.message}`);
          onEvent(event.data);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
  }
}

export interface RosterRow {
  /** 1-based line in the file. */
  line: number;
  input: unknown;
}

export interface RosterProblem {
  line: number;
  email: string | null;
  reason: string;
}

/**
 * Reads a roster CSV with a header row naming `email`, `name` and optionally `team`
 * (any order, any case). Rows that are plainly wrong are reported with their line numbers;
 * the rest go to the server, which reports duplicates the same way.
 */
export function parseRosterCsv(text: string): { rows: RosterRow[]; problems: RosterProblem[] } {
  const records = parseCsv(text, { bom: true, skip_empty_lines: true, relax_column_count: true, trim: true, info: true }) as unknown as {
    record: string[];
    info: { lines: number };
  }[];
  if (!records.length) return { rows: [], problems: [{ line: 1, email: null, reason: 'the file is empty' }] };
  const header = records[0].record.map((h) => h.toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const [emailCol, nameCol, teamCol] = [col('email'), col('name'), col('team')];
  if (emailCol < 0 || nameCol < 0) {
    return {
      rows: [],
      problems: [{ line: 1, email: null, reason: `the header must name the columns "email" and "name" (found: ${header.join(', ')})` }],
    };
  }
  const rows: RosterRow[] = [];
  const problems: RosterProblem[] = [];
  for (const { record, info } of records.slice(1)) {
    const input = {
      email: record[emailCol] ?? '',
      name: record[nameCol] ?? '',
      ...(teamCol >= 0 && record[teamCol] ? { team: record[teamCol] } : {}),
    };
    const check = AttendeeInput.safeParse(input);
    if (!check.success) {
      problems.push({
        line: info.lines,
        email: input.email || null,
        reason: check.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      });
      continue;
    }
    rows.push({ line: info.lines, input });
  }
  return { rows, problems };
}
