/**
 * What the organizer sees in VS Code, as plain data (no `vscode`): the Organizer view's rows,
 * the stack counts a provisioning run reports, and the texts of the pre-flight confirmation,
 * the roster import report and the invite report. The VS Code glue in src/ui/organizer only
 * shows what this module returns, so all of it is tested without an editor.
 */
import { STACK_STATES, type AttendeeSummary, type PreflightResponse, type SendInvitesResponse, type StackStatus, type Workshop } from '../contract';
import type { ImportReport, StackRun } from '../organizerClient';
import type { OrganizerSnapshot } from '../organizerView/model';
import { contextValue } from './contextValue';
import { CommandId } from './ids';
import type { NodeIcon, ViewNode } from './node';
import { stateRows, type TreeRoots } from './states';

interface StatusLook {
  text: string;
  icon: NodeIcon;
}

/** Stack status as icon + word: colour alone is not enough (colour-blind organizers, high contrast themes). */
const STACK_ICON: Record<StackStatus | 'none', NodeIcon> = {
  none: { id: 'circle-outline' },
  pending: { id: 'circle-large-outline' },
  queued: { id: 'clock', color: 'charts.yellow' },
  provisioning: { id: 'sync~spin', color: 'charts.blue' },
  ready: { id: 'pass-filled', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  cancelled: { id: 'circle-slash', color: 'charts.orange' },
  destroying: { id: 'trash', color: 'charts.orange' },
  destroyed: { id: 'circle-slash' },
};

export const STACK_LOOK: Record<StackStatus | 'none', StatusLook> = {
  none: { text: 'No stack', icon: STACK_ICON.none },
  ...(Object.fromEntries(Object.entries(STACK_STATES).map(([status, info]) => [status, { text: info.label, icon: STACK_ICON[status as StackStatus] }])) as Record<StackStatus, StatusLook>),
};

const INVITE_TEXT: Record<AttendeeSummary['invite']['status'], string> = {
  none: 'not invited',
  sent: 'invite not opened',
  redeemed: 'signed in',
  expired: 'invite expired',
};

/** Attendees by the state of their stack (`none`: no stack row). */
export type StackCounts = Record<StackStatus | 'none', number>;

export function countStacks(attendees: readonly AttendeeSummary[]): StackCounts {
  const c = { none: 0, ...Object.fromEntries(Object.keys(STACK_STATES).map((k) => [k, 0])) } as StackCounts;
  for (const a of attendees) c[a.stack?.status ?? 'none']++;
  return c;
}

/** Stacks that exist (not destroyed, not missing). */
export function liveStacks(c: StackCounts): number {
  return (Object.keys(STACK_STATES) as StackStatus[]).filter((s) => s !== 'destroyed').reduce((n, s) => n + c[s], 0);
}

/** The progress notification's line while a run goes on: `2 ready · 0 failed · 1 provisioning · 1 queued of 4`. */
export function formatRunProgress(run: StackRun): string {
  const parts = run.counts().map(([status, n]) => `${n} ${status}`);
  return `${parts.join(' · ')} of ${run.total}`;
}

/**
 * What "Provision All Stacks" says when it ends (`stopped`: cancelled from the notification).
 * With the room's counts it speaks of the whole workshop (`All 4 stacks are ready.`), as the
 * organizer thinks of it; the run alone is what this request built.
 */
export function formatProvisionOutcome(run: StackRun, stopped: boolean, room?: StackCounts): { level: 'info' | 'warning'; message: string } {
  const total = room ? liveStacks(room) : run.total;
  const ready = room ? room.ready : run.withStatus('ready').length;
  const failed = room ? room.failed : run.failed().length;
  if (stopped || run.withStatus('cancelled').length) {
    return { level: 'warning', message: `Provisioning cancelled: ${ready} of ${total} stacks ready; the builds that had not finished were stopped.` };
  }
  if (failed) {
    return { level: 'warning', message: `${ready} of ${total} stacks ready, ${failed} failed. Retry a failed one from its row in the Organizer view, or run Provision All Stacks again.` };
  }
  if (!total) return { level: 'info', message: 'Nothing to provision: every stack is ready already.' };
  return { level: 'info', message: total === 1 ? 'The stack is ready.' : `All ${total} stacks are ready.` };
}

/** The Destroy All confirmation: the typed text must be the workshop's name. */
export function checkTypedWorkshopName(typed: string, workshopName: string): string | undefined {
  if (typed === workshopName) return undefined;
  return typed ? `That is not the workshop's name; type "${workshopName}" to destroy every stack.` : `Type "${workshopName}" to confirm.`;
}

// ---- relative times ----

export function formatLastSeen(iso: string | null, now: number): string {
  if (!iso) return 'never seen';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return 'seen just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `seen ${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `seen ${hours} h ago`;
  return `seen ${Math.round(hours / 24)} days ago`;
}

export function formatProgress(p: AttendeeSummary['progress']): string {
  if (!p.done && !p.current) return 'no lab progress';
  return `${p.done} ${p.done === 1 ? 'step' : 'steps'} done`;
}

export function formatInvite(invite: AttendeeSummary['invite']): string {
  if (invite.status === 'sent' && !invite.mailedAt) return 'invite not mailed';
  return INVITE_TEXT[invite.status];
}

// ---- the view ----

export interface OrganizerViewInput {
  workshop: Workshop;
  snapshot: OrganizerSnapshot;
  now: number;
}

const RELOAD = { command: CommandId.refreshOrganizer, title: 'Reload' };

function detail(id: string, label: string, value: string, icon: string): ViewNode {
  return { id, label, description: value, tooltip: `${label}: ${value}`, icon: { id: icon }, contextValue: contextValue('detail') };
}

/** One attendee: stack status first (what an organizer scans for), then invite, last seen, labs. */
export function attendeeNode(a: AttendeeSummary, now: number): ViewNode {
  const status = a.stack?.status ?? 'none';
  const look = STACK_LOOK[status];
  const invite = formatInvite(a.invite);
  const seen = formatLastSeen(a.lastSeenAt, now);
  const progress = formatProgress(a.progress);
  const stackLine = a.stack?.statusMessage ? `${look.text}: ${a.stack.statusMessage}` : look.text;
  const inviteLine =
    invite +
    (a.invite.mailedAt ? ` (mailed ${new Date(a.invite.mailedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC)` : '') +
    (a.invite.status === 'sent' && a.invite.expiresAt ? `, expires ${a.invite.expiresAt.slice(0, 16).replace('T', ' ')} UTC` : '');
  const progressLine = progress + (a.progress.current ? `, last: ${a.progress.current}` : '');
  return {
    id: `attendee/${a.id}`,
    label: a.name,
    description: `${look.text} · ${invite} · ${seen} · ${progress}`,
    tooltip: [`${a.name} <${a.email}>${a.team ? ` (team ${a.team})` : ''}`, `Stack: ${stackLine}`, `Invite: ${inviteLine}`, `Last seen: ${seen.replace(/^seen /, '')}`, `Labs: ${progressLine}`].join('\n'),
    icon: look.icon,
    contextValue: contextValue('attendee', status, { invite: a.invite.status }),
    target: { kind: 'attendee', attendeeId: a.id },
    collapsed: true,
    children: [
      detail(`attendee/${a.id}/email`, 'Email', a.email, 'mail'),
      ...(a.team ? [detail(`attendee/${a.id}/team`, 'Team', a.team, 'organization')] : []),
      detail(`attendee/${a.id}/stack`, 'Stack', stackLine, 'server-environment'),
      detail(`attendee/${a.id}/invite`, 'Invite', inviteLine, 'link'),
      detail(`attendee/${a.id}/seen`, 'Last seen', a.lastSeenAt ? `${seen.replace(/^seen /, '')} (${a.lastSeenAt.slice(0, 16).replace('T', ' ')} UTC)` : 'never', 'eye'),
      detail(`attendee/${a.id}/labs`, 'Labs', progressLine, 'beaker'),
    ],
  };
}

export function organizerRoots(input: OrganizerViewInput): TreeRoots {
  const { snapshot, workshop } = input;
  if (snapshot.state === 'loading') return { state: 'loading', label: `Loading the attendees of ${workshop.name}…` };
  if (snapshot.state === 'error') return { state: 'failed', label: 'Could not load the attendees', error: snapshot.message, retry: { command: CommandId.refreshOrganizer, title: 'Retry' } };
  const nodes: ViewNode[] = [];
  if (snapshot.streamError) {
    nodes.push({
      id: 'state/reconnecting',
      label: 'Live updates interrupted',
      description: `reconnecting… (${snapshot.streamError})`,
      tooltip: `${snapshot.streamError}\n\nThe view reconnects by itself; click to reload now.`,
      icon: { id: 'debug-disconnect', color: 'problemsWarningIcon.foreground' },
      contextValue: contextValue('state', 'reconnecting'),
      command: RELOAD,
    });
  }
  if (!snapshot.attendees.length) {
    nodes.push(
      ...stateRows({
        state: 'empty',
        label: 'No attendees yet',
        why: 'import a roster (CSV: email, name, team)',
        icon: { id: 'person-add' },
        command: { command: CommandId.importRoster, title: 'Import Roster' },
      }),
    );
    return nodes;
  }
  const c = countStacks(snapshot.attendees);
  const parts: string[] = [];
  for (const status of ['ready', 'provisioning', 'queued', 'pending', 'failed', 'cancelled', 'destroying', 'destroyed'] as const) {
    if (c[status]) parts.push(`${c[status]} ${STACK_STATES[status].label.toLowerCase()}`);
  }
  if (c.none) parts.push(`${c.none} without a stack`);
  if (!parts.length) parts.push('no stacks');
  nodes.push({
    id: 'summary',
    label: `${snapshot.attendees.length} ${snapshot.attendees.length === 1 ? 'attendee' : 'attendees'}`,
    description: parts.join(' · '),
    tooltip: `Workshop "${workshop.title}" (${workshop.name}), provider ${workshop.provider}\n${parts.join('\n')}`,
    icon: { id: 'organization' },
    contextValue: contextValue('summary'),
  });
  const sorted = [...snapshot.attendees].sort((a, b) => a.name.localeCompare(b.name) || a.email.localeCompare(b.email));
  for (const a of sorted) nodes.push(attendeeNode(a, input.now));
  return nodes;
}

// ---- reports ----

/** The Import Roster message: one line, and every row not imported by its line in the file. */
export function formatImportMessage(fileName: string, report: ImportReport): { message: string; detail: string } {
  const imported = report.imported.length;
  const bad = report.rejected;
  const rowsWord = (n: number) => `${n} ${n === 1 ? 'row' : 'rows'}`;
  const message = bad.length
    ? `Imported ${imported} ${imported === 1 ? 'attendee' : 'attendees'} from ${fileName}; ${rowsWord(bad.length)} not imported.`
    : `Imported ${imported} ${imported === 1 ? 'attendee' : 'attendees'} from ${fileName}.`;
  const detail = bad.map((b) => `Line ${b.line}${b.email ? ` (${b.email})` : ''}: ${b.reason}`).join('\n');
  return { message, detail };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The modal before provisioning: what will be created, the quotas, and anything in the way. */
export function formatPreflight(p: PreflightResponse): { message: string; detail: string; canProvision: boolean } {
  if (p.stacks === 0) {
    return { message: `All ${plural(p.ready, 'stack')} of "${p.workshop}" are ready already; nothing to provision.`, detail: '', canProvision: false };
  }
  const lines: string[] = [];
  lines.push(`Provider ${p.provider}: ${plural(p.stacks, 'stack')} to build${p.ready ? ` (${p.ready} ready, left alone)` : ''}.`);
  if (p.resources.length) {
    lines.push('', 'Will create:');
    for (const r of p.resources) {
      const unit = r.unit ? ` ${r.unit}` : '';
      lines.push(`• ${r.name}: ${r.total}${unit} (${r.perStack}${unit} per stack)`);
    }
  }
  if (p.quotas.length) {
    lines.push('', 'Quotas:');
    for (const q of p.quotas) {
      const free = q.limit - q.usage;
      lines.push(`• ${q.metric} (${q.scope}): needs ${q.needed}, ${free} free of ${q.limit}${q.ok ? '' : ' — NOT ENOUGH'}`);
    }
  }
  if (p.quotaNote) lines.push('', p.quotaNote);
  if (p.problems.length) {
    lines.push('', 'Provisioning would fail:');
    for (const problem of p.problems) lines.push(`• ${problem}`);
  }
  const canProvision = p.ok && p.problems.length === 0;
  const message = canProvision ? `Provision ${plural(p.stacks, 'stack')} for "${p.workshop}"?` : `Cannot provision "${p.workshop}" as it is.`;
  return { message, detail: lines.join('\n'), canProvision };
}

/** One line after Send Invites / Resend Invite. */
export function formatSendReport(r: SendInvitesResponse): { level: 'info' | 'warning'; message: string } {
  const where = r.transport === 'smtp' ? 'sent by mail' : r.outboxDir ? `written to ${r.outboxDir}` : 'written to the outbox folder';
  if (!r.sent.length && !r.failed.length) return { level: 'info', message: 'No invites to send: everyone chosen has one already.' };
  const sent = r.sent.length === 1 ? `Invite for ${r.sent[0]!.email} ${where}.` : `${r.sent.length} invites ${where}.`;
  if (!r.failed.length) return { level: 'info', message: sent };
  const failed = r.failed.map((f) => `${f.email}: ${f.reason}`).join('; ');
  return { level: 'warning', message: `${r.sent.length ? sent + ' ' : ''}${plural(r.failed.length, 'invite')} failed: ${failed}` };
}
