/**
 * What a view shows when it has nothing to list, the same way in every view: loading (a spinner
 * and what is loading), empty (and why, with what to do about it), failed (the error, and a
 * click retries), or nothing at all so that the view's welcome content explains it (signed out).
 * A tree's source returns one of these instead of rows; src/ui/views/viewTree.ts renders it.
 */
import { contextValue } from './contextValue';
import type { NodeCommand, NodeIcon, ViewNode } from './node';
import { firstLine } from './node';

export type TreeState =
  /** No rows: the view's welcome content (package.json `viewsWelcome`) says what to do. */
  | { state: 'welcome' }
  | { state: 'loading'; label: string }
  | { state: 'empty'; label: string; why: string; icon?: NodeIcon; command?: NodeCommand }
  | { state: 'failed'; label: string; error: string; retry?: NodeCommand }
  /** Not there yet for a reason that is not an error (waiting for the stack, connecting…). */
  | { state: 'waiting' | 'disconnected' | 'connecting'; label: string; why: string; icon?: NodeIcon; command?: NodeCommand; tooltip?: string };

/** What a tree's source answers at the top: rows, or a state. */
export type TreeRoots = ViewNode[] | TreeState;

export function isTreeState(roots: TreeRoots): roots is TreeState {
  return !Array.isArray(roots);
}

/** The rows that show a state. */
export function stateRows(s: TreeState): ViewNode[] {
  switch (s.state) {
    case 'welcome':
      return [];
    case 'loading':
      return [{ id: 'state/loading', label: s.label, icon: { id: 'loading~spin' }, contextValue: contextValue('state', 'loading') }];
    case 'empty':
      return [{ id: 'state/empty', label: s.label, description: s.why, tooltip: s.why, icon: s.icon ?? { id: 'info' }, contextValue: contextValue('state', 'empty'), command: s.command }];
    case 'failed':
      return [
        {
          id: 'state/failed',
          label: s.label,
          description: firstLine(s.error),
          tooltip: `${s.error}${s.retry ? '\n\nClick to try again; the Open Kitchen log has details.' : ''}`,
          icon: { id: 'error', color: 'testing.iconFailed' },
          contextValue: contextValue('state', 'failed'),
          command: s.retry,
        },
      ];
    default:
      return [{ id: `state/${s.state}`, label: s.label, description: s.why, tooltip: s.tooltip ?? s.why, icon: s.icon, contextValue: contextValue('state', s.state), command: s.command }];
  }
}
