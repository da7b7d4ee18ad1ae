/**
 * VS Code has no API to read another extension's tree. But a test file inside the extension's
 * folder gets the same `vscode` API object as the extension itself, so wrapping
 * `window.createTreeView` before the extension activates lets the tests keep each view's
 * TreeDataProvider and ask it for its items, exactly as the workbench does.
 */
import * as vscode from 'vscode';

/**
 * Kept on globalThis: the runner and each test file are bundled separately, so a module-level
 * Map would exist once per bundle.
 */
const spyState = ((globalThis as { __openKitchenTreeSpy?: { providers: Map<string, vscode.TreeDataProvider<unknown>>; installed: boolean } })
  .__openKitchenTreeSpy ??= { providers: new Map(), installed: false });
const providers = spyState.providers;

export function installTreeSpy(): void {
  if (spyState.installed) return;
  spyState.installed = true;
  const original = vscode.window.createTreeView.bind(vscode.window);
  (vscode.window as { createTreeView: typeof vscode.window.createTreeView }).createTreeView = <T>(
    viewId: string,
    options: vscode.TreeViewOptions<T>,
  ): vscode.TreeView<T> => {
    providers.set(viewId, options.treeDataProvider as vscode.TreeDataProvider<unknown>);
    return original(viewId, options);
  };
}

export function treeProvider(viewId: string): vscode.TreeDataProvider<unknown> {
  const p = providers.get(viewId);
  if (!p) {
    throw new Error(
      `no tree provider seen for ${viewId} (seen: ${[...providers.keys()].join(', ') || 'none'}); was the extension active before the suite started?`,
    );
  }
  return p;
}

export function seenViews(): string[] {
  return [...providers.keys()];
}

export interface ItemView {
  /** The provider's own element, e.g. to pass to a command as the context menu would. */
  element: unknown;
  label: string;
  description?: string;
  contextValue?: string;
  children: ItemView[];
}

function labelOf(item: vscode.TreeItem): string {
  const l = item.label;
  return typeof l === 'string' ? l : (l?.label ?? '');
}

/** The tree as the workbench would render it (expanded nodes' children included, to `depth`). */
export async function readTree(viewId: string, depth = 2): Promise<ItemView[]> {
  const provider = treeProvider(viewId);
  const walk = async (element: unknown, level: number): Promise<ItemView[]> => {
    const children = (await provider.getChildren(element)) ?? [];
    const out: ItemView[] = [];
    for (const child of children) {
      const item = await provider.getTreeItem(child);
      out.push({
        element: child,
        label: labelOf(item),
        description: typeof item.description === 'string' ? item.description : undefined,
        contextValue: item.contextValue,
        children: level < depth && item.collapsibleState !== vscode.TreeItemCollapsibleState.None ? await walk(child, level + 1) : [],
      });
    }
    return out;
  };
  return walk(undefined, 1);
}

/** Resolves when the view's provider fires onDidChangeTreeData and `ok` holds, or at once if it already does. */
export async function waitForTree(viewId: string, ok: (tree: ItemView[]) => boolean, timeoutMs = 60_000): Promise<ItemView[]> {
  const provider = treeProvider(viewId);
  const now = await readTree(viewId);
  if (ok(now)) return now;
  if (!provider.onDidChangeTreeData) throw new Error(`${viewId} never changes`);
  return new Promise((resolve, reject) => {
    let last = now;
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`${viewId} did not reach the expected state in ${timeoutMs / 1000} s; last: ${JSON.stringify(last)}`));
    }, timeoutMs);
    const sub = provider.onDidChangeTreeData!(() => {
      void readTree(viewId).then((tree) => {
        last = tree;
        if (ok(tree)) {
          clearTimeout(timer);
          sub.dispose();
          resolve(tree);
        }
      });
    });
  });
}

/**
 * Error messages the extension shows (`window.showErrorMessage`), recorded the same way: what
 * a person would read when a command fails. Installed with the tree spy, before activation.
 */
const messageState = ((globalThis as { __openKitchenMessages?: { errors: string[]; installed: boolean } }).__openKitchenMessages ??= { errors: [], installed: false });

export function installMessageSpy(): void {
  if (messageState.installed) return;
  messageState.installed = true;
  const original = vscode.window.showErrorMessage.bind(vscode.window) as (...args: unknown[]) => Thenable<unknown>;
  (vscode.window as { showErrorMessage: unknown }).showErrorMessage = (message: string, ...rest: unknown[]) => {
    messageState.errors.push(message);
    return original(message, ...rest);
  };
}

/** The error messages shown since the last call. */
export function takeErrorMessages(): string[] {
  return messageState.errors.splice(0);
}
