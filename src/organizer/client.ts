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
  Workshop,
  type CreateInvitesRequest,
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

  destroyStacks(workshop: string): Promise<ListStacksResponse> {
    return this.call('DELETE', `/v1/workshops/${encodeURIComponent(workshop)}/stacks`, ListStacksResponse);
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
