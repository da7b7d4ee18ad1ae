import * as vscode from 'vscode';
import { isTreeState, stateRows, type RefreshManager, type TreeSource, type ViewNode } from '../../views';

/**
 * The one tree provider of the extension: it shows what a plain source (src/views) gives —
 * rows, or the state rows that explain an empty view (loading, empty and why, failed with
 * Retry, or nothing so the welcome content shows) — and maps each node to a TreeItem. The same
 * object is handed out for a row's id every time, as VS Code needs to redraw one row; ids are
 * stable, so what the attendee unfolded stays unfolded across refreshes.
 */
export class ViewTree implements vscode.TreeDataProvider<ViewNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ViewNode | ViewNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly known = new Map<string, ViewNode>();
  private readonly parents = new Map<string, ViewNode>();

  constructor(
    readonly viewId: string,
    private readonly source: TreeSource,
  ) {}

  /** Redraws everything, or just the rows with these ids (and what is below them). */
  refresh(full: boolean, ids: ReadonlySet<string>): void {
    if (full) return this.changed.fire(undefined);
    const rows = [...ids].map((id) => this.known.get(id)).filter((n): n is ViewNode => !!n);
    if (rows.length) this.changed.fire(rows);
  }

  getChildren(node?: ViewNode): ViewNode[] {
    if (!node) {
      const roots = this.source.roots();
      return (isTreeState(roots) ? stateRows(roots) : roots).map((n) => this.intern(n, undefined));
    }
    const children = node.expandable && this.source.children ? this.source.children(node) : (node.children ?? []);
    return children.map((n) => this.intern(n, node));
  }

  getTreeItem(node: ViewNode): vscode.TreeItem {
    return toTreeItem(this.source.current?.(node) ?? node, this.viewId);
  }

  getParent(node: ViewNode): ViewNode | undefined {
    return this.parents.get(node.id);
  }

  /** One object per id: the known one takes the fresh content. */
  private intern(fresh: ViewNode, parent: ViewNode | undefined): ViewNode {
    const known = this.known.get(fresh.id);
    if (parent) this.parents.set(fresh.id, parent);
    else this.parents.delete(fresh.id);
    if (!known) {
      this.known.set(fresh.id, fresh);
      return fresh;
    }
    for (const key of Object.keys(known) as (keyof ViewNode)[]) if (!(key in fresh)) delete known[key];
    Object.assign(known, fresh);
    return known;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export function toTreeItem(node: ViewNode, viewId: string): vscode.TreeItem {
  const hasChildren = node.expandable || !!node.children?.length;
  const state = hasChildren ? (node.collapsed ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded) : vscode.TreeItemCollapsibleState.None;
  const item = new vscode.TreeItem(node.label, state);
  // Unique per view, as VS Code requires.
  item.id = `${viewId}/${node.id}`;
  item.description = node.description;
  item.tooltip = node.tooltip;
  item.contextValue = node.contextValue;
  if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon.id, node.icon.color ? new vscode.ThemeColor(node.icon.color) : undefined);
  if (node.command) {
    // A row's own command gets the row unless it names its arguments (e.g. a lab id and a step id).
    item.command = { command: node.command.command, title: node.command.title, arguments: node.command.arguments ?? [node] };
  }
  return item;
}

/**
 * A view on screen: its tree over `source`, registered with the refresh manager (which redraws
 * it only while visible); `ages` for rows whose text ages ("4m"), redrawn on the manager's clock.
 */
export function showView(
  context: vscode.ExtensionContext,
  refresh: RefreshManager,
  viewId: string,
  source: TreeSource,
  opts: { ages?: boolean; showCollapseAll?: boolean } = {},
): { tree: ViewTree; view: vscode.TreeView<ViewNode> } {
  const tree = new ViewTree(viewId, source);
  const view = vscode.window.createTreeView(viewId, { treeDataProvider: tree, showCollapseAll: opts.showCollapseAll ?? true });
  context.subscriptions.push(
    tree,
    view,
    refresh.register(viewId, { visible: () => view.visible, refresh: (full, ids) => tree.refresh(full, ids) }, { ages: opts.ages }),
    view.onDidChangeVisibility(() => refresh.visibilityChanged(viewId)),
  );
  return { tree, view };
}
