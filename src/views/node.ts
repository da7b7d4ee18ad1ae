/**
 * The one node type of every tree the extension shows, as plain data: what a row says (label,
 * description, tooltip, icon), what it is for the menus (`contextValue`, built by
 * ./contextValue.ts), what it stands for when a command is run on it (`target`), and what
 * clicking it does. The editor maps a node to a TreeItem one to one (src/ui/views/viewTree.ts);
 * the presenters in this folder build them, so all of it is tested without an editor.
 */
import type { CommandId } from './ids';
import type { ContextValue } from './contextValue';

export interface NodeIcon {
  /** Codicon id, e.g. `pass-filled`, `sync~spin`. */
  id: string;
  /** Theme colour id, e.g. `testing.iconPassed`. */
  color?: string;
}

/** What a row stands for; commands run on the row receive this (./commandArgs.ts). */
export type RowTarget =
  | { kind: 'lab'; labId: string }
  | { kind: 'step'; labId: string; stepId: string }
  | { kind: 'job'; jobKey: string }
  | { kind: 'group'; jobKey: string; group: string }
  | { kind: 'alloc'; allocId: string }
  | { kind: 'more'; jobKey: string; group: string }
  | { kind: 'node'; nodeId: string }
  | { kind: 'attendee'; attendeeId: string };

export interface NodeCommand {
  command: CommandId;
  title: string;
  arguments?: unknown[];
}

export interface ViewNode {
  /** Stable within its view, so VS Code keeps what was unfolded across refreshes. */
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  icon?: NodeIcon;
  contextValue: ContextValue;
  target?: RowTarget;
  /** What Copy Value puts on the clipboard. */
  copyValue?: string;
  /** Run on click. */
  command?: NodeCommand;
  /** Children shown unfolded unless `collapsed`. Lazy trees leave this out and set `expandable`. */
  children?: ViewNode[];
  collapsed?: boolean;
  /** A row whose children the tree's source computes when it is unfolded. */
  expandable?: boolean;
}

/** The first line of a message: a row has room for one. */
export function firstLine(s: string): string {
  return s.split('\n', 1)[0]!;
}
