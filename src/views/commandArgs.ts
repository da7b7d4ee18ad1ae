/**
 * What each command accepts, declared once, and how its arguments are read. VS Code hands a
 * command whatever its caller passed: nothing from the palette or a view's title bar, the row
 * from a context menu or an inline action, an id from a walkthrough or a webview button, a
 * file's URI from a CodeLens. Each command names the forms it takes (`accepts`) and one decoder
 * turns them into the one value the handler works with; test/unit/manifest.test.ts checks every
 * menu of package.json against these declarations, so a menu cannot pass a row its command
 * does not understand (the old "Start Lab from a row started another lab").
 */
import type { RowKind } from './contextValue';
import { CommandId } from './ids';
import type { RowTarget, ViewNode } from './node';

export type ArgKind =
  /** No argument: the palette, a view's title bar, a welcome link. */
  | 'none'
  /** A tree row of this kind (the row itself). */
  | `row:${RowKind}`
  | 'labId'
  | 'labId+stepId'
  | 'attendeeId'
  /** An invite link (sign-in). */
  | 'link'
  /** A path in the Nomad UI (`/ui/jobs/web`). */
  | 'uiPath'
  /** A file's URI (`vscode.Uri`, checked by the command). */
  | 'uri'
  /** Options for scripted use and tests inside VS Code (`{ confirm: false }`…). */
  | 'options'
  /** Which attendees Send Invites mails (`unsent`, `unopened`). */
  | 'which';

export interface ArgSpec<T> {
  accepts: readonly ArgKind[];
  decode(args: readonly unknown[]): T;
}

function spec<T>(accepts: readonly ArgKind[], decode: (args: readonly unknown[]) => T): ArgSpec<T> {
  return { accepts, decode };
}

/** The target of a row passed as an argument, if it is a row of one of `kinds`. */
function rowTarget<K extends RowTarget['kind']>(arg: unknown, ...kinds: K[]): Extract<RowTarget, { kind: K }> | undefined {
  const target = (arg as Partial<ViewNode> | undefined)?.target;
  return target && (kinds as string[]).includes(target.kind) ? (target as Extract<RowTarget, { kind: K }>) : undefined;
}

const isString = (v: unknown): v is string => typeof v === 'string';

const none = spec(['none'], () => undefined);

/** A lab: its id, or a lab row, or a step row of it. */
const lab = spec(['none', 'labId', 'row:lab', 'row:step'], ([a]): string | undefined => (isString(a) ? a : rowTarget(a, 'lab', 'step')?.labId));

const alloc = spec(['row:alloc'], ([a]): string | undefined => rowTarget(a, 'alloc')?.allocId);

const attendee = spec(['attendeeId', 'row:attendee'], ([a]): string | undefined => (isString(a) ? a : rowTarget(a, 'attendee')?.attendeeId));

const uri = spec(['none', 'uri'], ([a]): unknown => a);

/** A row that carries a value to copy. */
const copyable = spec(['row:detail', 'row:bastion'], ([a]): { label: string; value: string } | undefined => {
  const n = a as Partial<ViewNode> | undefined;
  return n && isString(n.copyValue) && isString(n.label) ? { label: n.label, value: n.copyValue } : undefined;
});

/** Every command, with what it accepts. */
export const COMMAND_ARGS = {
  [CommandId.signIn]: spec(['none', 'link'], ([a]): string | undefined => (isString(a) ? a : undefined)),
  [CommandId.signOut]: spec(['none', 'options'], ([a]) => ({ confirm: (a as { confirm?: unknown } | undefined)?.confirm !== false })),
  [CommandId.refreshEnvironment]: spec(['none', 'row:stack', 'row:state'], () => undefined),
  [CommandId.copySshCommand]: spec(['none', 'row:bastion'], () => undefined),
  [CommandId.copyValue]: copyable,
  [CommandId.showLog]: none,
  [CommandId.openSettings]: none,
  [CommandId.connect]: none,
  [CommandId.disconnect]: none,
  [CommandId.retryConnection]: none,
  [CommandId.connectionActions]: none,
  [CommandId.openTerminal]: none,
  [CommandId.openNomadUi]: spec(['none', 'uiPath'], ([a]): string => (isString(a) && a.startsWith('/ui/') ? a : '/ui/')),
  [CommandId.openConsulUi]: none,
  [CommandId.showAllocationLogs]: alloc,
  [CommandId.restartAllocation]: alloc,
  [CommandId.stopAllocation]: alloc,
  [CommandId.stopJob]: spec(['none', 'row:job'], ([a]): string | undefined => rowTarget(a, 'job')?.jobKey),
  [CommandId.openAllocationInNomadUi]: spec(['row:alloc', 'row:job'], ([a]) => rowTarget(a, 'alloc', 'job')),
  [CommandId.filterAllocations]: none,
  [CommandId.clearAllocationFilter]: none,
  [CommandId.showMoreAllocations]: spec(['row:more'], ([a]) => rowTarget(a, 'more')),
  [CommandId.validateJobFile]: uri,
  [CommandId.planJobFile]: uri,
  [CommandId.runJobFile]: uri,
  [CommandId.stopJobFile]: uri,
  [CommandId.startLab]: lab,
  [CommandId.openLabStep]: spec(['labId+stepId', 'row:step'], ([a, b]): { labId: string; stepId: string } | undefined => {
    if (isString(a) && isString(b)) return { labId: a, stepId: b };
    const t = rowTarget(a, 'step');
    return t ? { labId: t.labId, stepId: t.stepId } : undefined;
  }),
  [CommandId.checkStep]: lab,
  [CommandId.showHint]: lab,
  [CommandId.showSolution]: lab,
  [CommandId.nextStep]: lab,
  [CommandId.resetLab]: lab,
  [CommandId.simulateZoneOutage]: none,
  [CommandId.restoreZone]: none,
  [CommandId.repushImageTags]: none,
  [CommandId.enableDockerVolumes]: none,
  [CommandId.connectOrganizer]: spec(['none', 'options'], ([a]) => (a && typeof a === 'object' ? (a as { apiUrl?: string; token?: string; workshop?: string }) : undefined)),
  [CommandId.disconnectOrganizer]: none,
  [CommandId.switchWorkshop]: none,
  [CommandId.refreshOrganizer]: none,
  [CommandId.importRoster]: uri,
  [CommandId.provisionAllStacks]: none,
  [CommandId.sendInvites]: spec(['none', 'which'], ([a]): 'unsent' | 'unopened' | undefined => (a === 'unsent' || a === 'unopened' ? a : undefined)),
  [CommandId.destroyAllStacks]: none,
  [CommandId.retryStack]: attendee,
  [CommandId.destroyStack]: attendee,
  [CommandId.resendInvite]: attendee,
  [CommandId.copyInviteLink]: attendee,
} as const satisfies Record<CommandId, ArgSpec<unknown>>;

/** The value a command's handler receives. */
export type CommandArg<K extends CommandId> = ReturnType<(typeof COMMAND_ARGS)[K]['decode']>;
