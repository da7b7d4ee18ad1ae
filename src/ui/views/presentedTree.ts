import * as vscode from 'vscode';
import type { EnvNode, NodeAction } from '../../attendee';
import { CommandId } from '../ids';

/**
 * The shape every view's plain presentation produces (see attendee/environmentPresentation.ts):
 * nodes that know their label, icon and context value; this module only maps them to TreeItems.
 */
export type PresentedNode = EnvNode;

const ACTIONS: Record<NodeAction, { command: CommandId; title: string }> = {
  refresh: { command: CommandId.refreshEnvironment, title: 'Refresh' },
  signIn: { command: CommandId.signIn, title: 'Sign In' },
  copySshCommand: { command: CommandId.copySshCommand, title: 'Copy SSH Command' },
  connect: { command: CommandId.connect, title: 'Connect' },
  retryConnection: { command: CommandId.retryConnection, title: 'Retry' },
};

/** `viewId` keeps TreeItem ids unique per view, as VS Code requires. */
export function toTreeItem(node: PresentedNode, viewId: string): vscode.TreeItem {
  const state = node.children?.length
    ? node.collapsed
      ? vscode.TreeItemCollapsibleState.Collapsed
      : vscode.TreeItemCollapsibleState.Expanded
    : vscode.TreeItemCollapsibleState.None;
  const item = new vscode.TreeItem(node.label, state);
  item.id = `${viewId}/${node.id}`;
  item.description = node.description;
  item.tooltip = node.tooltip;
  item.contextValue = node.contextValue;
  if (node.icon) {
    item.iconPath = new vscode.ThemeIcon(node.icon.id, node.icon.color ? new vscode.ThemeColor(node.icon.color) : undefined);
  }
  if (node.action) item.command = { ...ACTIONS[node.action] };
  if (node.command) item.command = { ...node.command };
  return item;
}

/** A tree over a list of presented nodes that the owner replaces wholesale. */
export class PresentedTreeProvider implements vscode.TreeDataProvider<PresentedNode>, vscode.Disposable {
  private roots: PresentedNode[] = [];
  private readonly changed = new vscode.EventEmitter<PresentedNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly viewId: string) {}

  setRoots(roots: PresentedNode[]): void {
    this.roots = roots;
    // Ids are stable, so a full refresh keeps what the attendee expanded or collapsed.
    this.changed.fire(undefined);
  }

  getTreeItem(node: PresentedNode): vscode.TreeItem {
    return toTreeItem(node, this.viewId);
  }

  getChildren(node?: PresentedNode): PresentedNode[] {
    return node ? (node.children ?? []) : this.roots;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
