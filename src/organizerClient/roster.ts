/** The roster CSV an organizer imports: what is plainly wrong is reported by line before anything is sent. */
import { parse as parseCsv } from 'csv-parse/sync';
import { AttendeeInput, type ImportAttendeesResponse } from '../contract';

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

export interface ImportReport {
  /** Attendees the service imported, with their line in the file where it can be told. */
  imported: { id: string; email: string; line: number | null }[];
  /** Every row not imported, by line: what the CSV reader refused and what the service refused, in file order. */
  rejected: RosterProblem[];
}

/**
 * Joins what the CSV reader refused with the service's answer for the rows it was sent (null
 * when no row was good enough to send). The service names rows by their index in the request
 * (`rejected[].index`, and `attendees.N` in its reasons); both are turned back into lines.
 */
export function buildImportReport(parsed: { rows: RosterRow[]; problems: RosterProblem[] }, result: ImportAttendeesResponse | null): ImportReport {
  const { rows, problems } = parsed;
  const lineOf = (index: number) => rows[index]?.line;
  const lineOfEmail = new Map<string, number>();
  for (const r of [...rows].reverse()) lineOfEmail.set(((r.input as { email?: string }).email ?? '').toLowerCase(), r.line);
  const rejected = [
    ...problems,
    ...(result?.rejected ?? []).map((r) => ({
      line: lineOf(r.index) ?? 0,
      email: r.email,
      reason: r.reason.replace(/\battendees\.(\d+)\b/g, (m, n: string) => {
        const line = lineOf(Number(n));
        return line === undefined ? m : `line ${line}`;
      }),
    })),
  ].sort((a, b) => a.line - b.line);
  const imported = (result?.imported ?? []).map((a) => ({ ...a, line: lineOfEmail.get(a.email.toLowerCase()) ?? null }));
  return { imported, rejected };
}
