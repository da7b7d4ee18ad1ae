/**
 * What the headless organizer commands print: the progress line of a stack run, the
 * pre-flight table, the roster import report, stack and invite listings. Plain functions of
 * their inputs (no I/O, no clock) so they are tested without a terminal.
 */
import type { PreflightResponse, SendInvitesResponse, StackStatus, StackSummary } from '../contract';
import type { ImportReport, RunView, StackRun } from '../organizerClient';

// ---- durations and tables ----

/** `0:07`, `12:34`, `1:02:03`: elapsed time as a terminal user reads it. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * Left-aligned columns separated by two spaces; columns listed in `right` are right-aligned
 * (numbers). The last column is not padded, so lines carry no trailing blanks.
 */
export function formatTable(header: string[], rows: string[][], right: number[] = []): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, c) => {
          if (c === r.length - 1 && !right.includes(c)) return cell;
          return right.includes(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Cuts `text` to `width` columns, marking the cut with an ellipsis. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  return width === 1 ? '…' : text.slice(0, width - 1) + '…';
}

// ---- progress ----

/** A run's progress as the terminal shows it: the run's view and how long it has taken. */
export interface ProgressView extends RunView {
  elapsedMs: number;
}

export const BAR_MIN = 10;
export const BAR_MAX = 40;

/** `[██████░░░░]`: `done` of `total` filled; full only when everything is done. */
export function renderBar(done: number, total: number, width: number): string {
  const inner = Math.max(1, width - 2);
  const filled = total <= 0 ? inner : Math.min(inner, Math.floor((done / total) * inner));
  return '[' + '█'.repeat(filled) + '░'.repeat(inner - filled) + ']';
}

/**
 * One line for a terminal `columns` wide (kept one column short so the cursor never wraps):
 * `Provisioning [█████░░░░░] 3/10  ready 2  failed 1  provisioning 4  queued 3  0:42`.
 * The bar shrinks on a narrow terminal and is left out when even a short bar does not fit;
 * what still does not fit is cut.
 */
export function renderProgress(v: ProgressView, columns: number): string {
  const width = Math.max(1, columns - 1);
  const counts = v.counts.map(([label, n]) => `${label} ${n}`).join('  ');
  const tail = `${v.done}/${v.total}  ${counts}  ${formatDuration(v.elapsedMs)}`;
  const room = width - v.title.length - tail.length - 2;
  if (room >= BAR_MIN) return `${v.title} ${renderBar(v.done, v.total, Math.min(BAR_MAX, room))} ${tail}`;
  return truncate(`${v.title} ${tail}`, width);
}

// ---- reports ----

/** Who a stack belongs to, for humans: the attendee's email where known. */
export type AttendeeNames = ReadonlyMap<string, string>;

function who(s: { attendeeId: string }, names: AttendeeNames): string {
  return names.get(s.attendeeId) ?? s.attendeeId;
}

/** A stack change as one plain line (logs, pipes): `0:12 ada@example.com ready: Ready.` */
export function formatStackLine(s: StackSummary, names: AttendeeNames, elapsedMs: number): string {
  return `${formatDuration(elapsedMs)} ${who(s, names)} ${s.status}${s.statusMessage ? `: ${s.statusMessage}` : ''}`;
}

export function formatStacks(stacks: StackSummary[], names: AttendeeNames): string {
  if (!stacks.length) return 'No stacks yet: `stacks provision` creates them.';
  const table = formatTable(
    ['ATTENDEE', 'STACK', 'STATUS', 'MESSAGE'],
    stacks.map((s) => [who(s, names), s.id, s.status, s.statusMessage ?? '']),
  );
  return `${table}\n${summarizeStatuses(stacks)}`;
}

/** `2 ready, 1 failed` (in a fixed order). */
export function summarizeStatuses(stacks: { status: StackStatus }[]): string {
  const order: StackStatus[] = ['ready', 'failed', 'provisioning', 'queued', 'pending', 'cancelled', 'destroying', 'destroyed'];
  return order
    .map((st) => [st, stacks.filter((s) => s.status === st).length] as const)
    .filter(([, n]) => n > 0)
    .map(([st, n]) => `${n} ${st}`)
    .join(', ');
}

/** The end of a run: its counts, then each failed stack with its message. */
export function formatRunResult(run: StackRun, names: AttendeeNames, elapsedMs: number): string {
  const [outcome, verb] =
    run.kind === 'provision' ? (['ready', 'Provisioned'] as const) : run.kind === 'destroy' ? (['destroyed', 'Destroyed'] as const) : (['cancelled', 'Cancelled'] as const);
  const cancelled = run.withStatus('cancelled').length;
  const extra = run.kind === 'provision' && cancelled ? `, ${cancelled} cancelled` : '';
  const lines = [
    `${verb} ${run.withStatus(outcome).length} of ${run.total} stack${run.total === 1 ? '' : 's'} in ${formatDuration(elapsedMs)}; ${run.failed().length} failed${extra}.`,
  ];
  for (const s of run.failed()) lines.push(`  ${who(s, names)} (${s.id}): ${s.statusMessage ?? 'failed'}`);
  return lines.join('\n');
}

function resourceName(r: { name: string; unit: string | null }): string {
  return r.unit ? `${r.name} (${r.unit})` : r.name;
}

/** The pre-flight table: what provisioning creates, the quotas it needs, what stands in the way. */
export function formatPreflight(p: PreflightResponse): string {
  const lines = [
    `Pre-flight for workshop ${p.workshop} (provider ${p.provider}): ${p.stacks} stack${p.stacks === 1 ? '' : 's'} to build, ${p.ready} ready already.`,
  ];
  if (p.resources.length) {
    lines.push(
      '',
      indent(
        formatTable(
          ['RESOURCE', 'PER STACK', 'TOTAL'],
          p.resources.map((r) => [resourceName(r), String(r.perStack), String(r.total)]),
          [1, 2],
        ),
      ),
    );
  }
  if (p.quotas.length) {
    lines.push(
      '',
      indent(
        formatTable(
          ['QUOTA', 'SCOPE', 'NEEDED', 'IN USE', 'LIMIT', ''],
          p.quotas.map((q) => [
            q.metric,
            q.scope,
            String(q.needed),
            String(q.usage),
            String(q.limit),
            q.ok ? 'ok' : `SHORT by ${q.needed - (q.limit - q.usage)}`,
          ]),
          [2, 3, 4],
        ),
      ),
    );
  }
  if (p.quotaNote) lines.push('', `Quotas: ${p.quotaNote}`);
  if (p.problems.length) {
    lines.push('', 'Problems (provisioning would fail):');
    for (const problem of p.problems) lines.push(`  - ${problem}`);
  }
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? '  ' + l : l))
    .join('\n');
}

export function formatImportReport(report: ImportReport): string {
  const n = report.imported.length;
  const lines = [`Imported ${n} attendee${n === 1 ? '' : 's'}; ${report.rejected.length} row${report.rejected.length === 1 ? '' : 's'} not imported.`];
  for (const r of report.rejected) lines.push(`  line ${r.line}${r.email ? ` (${r.email})` : ''}: ${r.reason}`);
  return lines.join('\n');
}

/** Per attendee sent or failed, then how the mail went out. */
export function formatSendInvites(res: SendInvitesResponse): string {
  if (!res.sent.length && !res.failed.length) return 'Nobody to send to: every attendee chosen has been mailed (use --unopened or --attendee to send again).';
  const rows = [
    ...res.sent.map((s) => [s.email, 'sent', '']),
    ...res.failed.map((f) => [f.email, 'FAILED', f.reason]),
  ];
  const where =
    res.transport === 'smtp'
      ? 'Sent over SMTP.'
      : `Written as .eml files to ${res.outboxDir ?? "the organizer's outbox folder (serve --outbox)"}; no SMTP host is set.`;
  return `${formatTable(['ATTENDEE', 'RESULT', 'REASON'], rows)}\n${res.sent.length} sent, ${res.failed.length} failed. ${where}`;
}
