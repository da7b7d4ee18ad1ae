/**
 * What the headless organizer commands print: the progress line of a stack run, the
 * pre-flight table, the roster import report, stack and invite listings. Plain functions of
 * their inputs (no I/O, no clock) so they are tested without a terminal.
 */
import type {
  ImportAttendeesResponse,
  PreflightResponse,
  SendInvitesResponse,
  StackStatus,
  StackSummary,
} from '../contract';
import type { RosterProblem, RosterRow } from '../organizer/client';

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

export interface ProgressView {
  /** What is going on: `Provisioning`, `Destroying`. */
  title: string;
  /** Stacks this run is about. */
  total: number;
  /** How many of them reached an end state (the bar's fill). */
  done: number;
  /** Labelled counts in display order, e.g. `[['ready', 3], ['failed', 1], ['provisioning', 4]]`. */
  counts: [string, number][];
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

// ---- following a stack run ----

export type RunKind = 'provision' | 'destroy' | 'cancel';

/**
 * A cancelled build goes back to `pending` with this message (stacks.ts CANCELLED); the
 * summary has no other sign of it, and a provision run must not wait for it forever.
 */
export function isCancelled(s: StackSummary): boolean {
  return s.status === 'pending' && /^Cancelled\b/.test(s.statusMessage ?? '');
}

/**
 * Whether a stack of the run reached an end state. A provision ends ready, failed or
 * cancelled (or destroyed when someone tore it down meanwhile); a teardown ends destroyed,
 * failed (the teardown failed) or pending (never built, so only unqueued); a cancel ends when
 * the build stopped and was cleaned up (pending), or had finished anyway.
 */
function ended(kind: RunKind, s: StackSummary): boolean {
  switch (kind) {
    case 'provision':
      return s.status === 'ready' || s.status === 'failed' || s.status === 'destroyed' || isCancelled(s);
    case 'destroy':
      return s.status === 'destroyed' || s.status === 'failed' || s.status === 'pending';
    case 'cancel':
      return s.status !== 'provisioning';
  }
}

/** What a run waits for: the stacks its request left in one of these states. */
const STARTED_STATES: Record<RunKind, StackStatus[]> = {
  provision: ['pending', 'provisioning'],
  destroy: ['destroying', 'provisioning'],
  cancel: ['provisioning'],
};

/** Count labels in display order; the first two (the outcomes) are always shown. */
const LABELS: Record<RunKind, string[]> = {
  provision: ['ready', 'failed', 'provisioning', 'queued', 'cancelled', 'destroying', 'destroyed'],
  destroy: ['destroyed', 'failed', 'destroying', 'provisioning', 'ready', 'pending'],
  cancel: ['cancelled', 'failed', 'provisioning', 'ready', 'destroying', 'destroyed'],
};

function labelOf(kind: RunKind, s: StackSummary): string {
  if (s.status !== 'pending') return s.status;
  if (isCancelled(s) || kind === 'cancel') return 'cancelled';
  return kind === 'provision' ? 'queued' : 'pending';
}

/**
 * Follows the stacks of one run (provision, destroy, cancel) from the workshop's events.
 * Stack states may arrive out of order (the request's answer and the event stream race), so
 * each stack keeps its newest state by `updatedAt`; at equal times the later arrival wins.
 */
export class StackRun {
  private readonly latest = new Map<string, StackSummary>();
  private targets: Set<string> | null = null;
  /** Changes that arrived before the request was answered (the work may start before its answer arrives). */
  private early: StackSummary[] = [];

  constructor(readonly kind: RunKind) {}

  /**
   * Records a stack's state; true when it is a stack of this run and its status or message
   * changed. `live` changes (not the stream's opening snapshot) that arrive before `start()`
   * are kept, and `start()` hands back those of the run's stacks.
   */
  apply(s: StackSummary, live = true): boolean {
    const before = this.latest.get(s.id);
    if (before && Date.parse(before.updatedAt) > Date.parse(s.updatedAt)) return false;
    this.latest.set(s.id, s);
    const changed = !before || before.status !== s.status || before.statusMessage !== s.statusMessage;
    if (changed && live && this.targets === null) this.early.push(s);
    return changed && this.isTarget(s.id);
  }

  /**
   * Takes the request's answer (all the workshop's stacks): the run is about the stacks of
   * `attendeeIds` (all when omitted) that the request left under way. Returns the changes of
   * those stacks that came in while the request was on its way, in order, to be reported.
   */
  start(answer: StackSummary[], attendeeIds?: string[]): StackSummary[] {
    for (const s of answer) this.apply(s, false);
    const wanted = attendeeIds ? new Set(attendeeIds) : null;
    const started = STARTED_STATES[this.kind];
    // The answer says what the request left under way, even if newer changes arrived first.
    this.targets = new Set(answer.filter((s) => (!wanted || wanted.has(s.attendeeId)) && started.includes(s.status)).map((s) => s.id));
    const early = this.early.filter((s) => this.isTarget(s.id));
    this.early = [];
    return early;
  }

  isTarget(id: string): boolean {
    return this.targets?.has(id) ?? false;
  }

  /** The run's stacks in their newest known state. */
  stacks(): StackSummary[] {
    return [...(this.targets ?? [])].map((id) => this.latest.get(id)!).filter(Boolean);
  }

  get total(): number {
    return this.targets?.size ?? 0;
  }

  isEnded(s: StackSummary): boolean {
    return ended(this.kind, s);
  }

  /** True once the run started and each of its stacks reached an end state. */
  get done(): boolean {
    return this.targets !== null && this.stacks().every((s) => this.isEnded(s));
  }

  failed(): StackSummary[] {
    return this.stacks().filter((s) => s.status === 'failed');
  }

  /** Stacks of the run with this count label (`ready`, `cancelled`, …). */
  labelled(label: string): StackSummary[] {
    return this.stacks().filter((s) => labelOf(this.kind, s) === label);
  }

  /** Counts by label: the outcomes first and always, the rest only when present. */
  counts(): [string, number][] {
    const by = new Map<string, number>();
    for (const s of this.stacks()) by.set(labelOf(this.kind, s), (by.get(labelOf(this.kind, s)) ?? 0) + 1);
    return LABELS[this.kind].filter((label, i) => i < 2 || by.has(label)).map((label) => [label, by.get(label) ?? 0]);
  }

  view(elapsedMs: number): ProgressView {
    const title = this.kind === 'provision' ? 'Provisioning' : this.kind === 'destroy' ? 'Destroying' : 'Cancelling';
    return {
      title,
      total: this.total,
      done: this.stacks().filter((s) => this.isEnded(s)).length,
      counts: this.counts(),
      elapsedMs,
    };
  }
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
  const order: StackStatus[] = ['ready', 'failed', 'provisioning', 'pending', 'destroying', 'destroyed'];
  return order
    .map((st) => [st, stacks.filter((s) => s.status === st).length] as const)
    .filter(([, n]) => n > 0)
    .map(([st, n]) => `${n} ${st}`)
    .join(', ');
}

/** The end of a run: its counts, then each failed stack with its message. */
export function formatRunResult(run: StackRun, names: AttendeeNames, elapsedMs: number): string {
  const [outcome, verb] =
    run.kind === 'provision' ? ['ready', 'Provisioned'] : run.kind === 'destroy' ? ['destroyed', 'Destroyed'] : ['cancelled', 'Cancelled'];
  const extra = run.kind === 'provision' && run.labelled('cancelled').length ? `, ${run.labelled('cancelled').length} cancelled` : '';
  const lines = [
    `${verb} ${run.labelled(outcome).length} of ${run.total} stack${run.total === 1 ? '' : 's'} in ${formatDuration(elapsedMs)}; ${run.failed().length} failed${extra}.`,
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

export interface ImportReport {
  imported: { id: string; email: string; line: number | null }[];
  /** Every row not imported, by line: what the CSV reader refused and what the server refused. */
  rejected: RosterProblem[];
}

/**
 * Joins what the CSV reader refused with the server's answer for the rows it was sent. The
 * server names rows by their index in the request (`rejected[].index`, and `attendees.N` in
 * its reasons); both are turned back into lines of the file.
 */
export function buildImportReport(rows: RosterRow[], problems: RosterProblem[], result: ImportAttendeesResponse): ImportReport {
  const lineOf = (index: number) => rows[index]?.line;
  const lineOfEmail = new Map<string, number>();
  for (const r of [...rows].reverse()) lineOfEmail.set(((r.input as { email?: string }).email ?? '').toLowerCase(), r.line);
  const rejected = [
    ...problems,
    ...result.rejected.map((r) => ({
      line: lineOf(r.index) ?? 0,
      email: r.email,
      reason: r.reason.replace(/\battendees\.(\d+)\b/g, (m, n: string) => {
        const line = lineOf(Number(n));
        return line === undefined ? m : `line ${line}`;
      }),
    })),
  ].sort((a, b) => a.line - b.line);
  const imported = result.imported.map((a) => ({ ...a, line: lineOfEmail.get(a.email.toLowerCase()) ?? null }));
  return { imported, rejected };
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
