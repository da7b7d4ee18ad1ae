import * as vscode from 'vscode';
import type { ClusterModel } from '../../cluster';
import { isFiltered, type AllocationFilter } from '../../cluster/presentation';
import { setContext } from '../context';
import { CommandId, ContextKey, ViewId } from '../ids';
import type { Feature, Services } from '../services';
import { allocationCommands } from './allocationCommands';
import { AllocationsTreeProvider, type AllocationElement } from './allocationsTreeProvider';

/**
 * The Allocations view: jobs → task groups → allocations of the one ClusterModel the connection
 * owns (it never fetches), with the context actions and filters. Model changes refresh only the
 * job rows they name, and only while the view is visible.
 */
export class AllocationsFeature implements Feature {
  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const { cluster, sessionContext } = this.services;
    const tree = new AllocationsTreeProvider(ViewId.allocations, () => {
      if (sessionContext.current.kind !== 'signedIn') return { connection: { state: 'idle' }, source: undefined, signedOut: true };
      return { connection: { state: cluster.state, error: cluster.lastError }, source: cluster.model };
    });
    const view = vscode.window.createTreeView(ViewId.allocations, { treeDataProvider: tree, showCollapseAll: true });

    const setFilter = (filter: AllocationFilter) => {
      tree.setFilter(filter);
      view.description = filterDescription(filter);
      void setContext(ContextKey.allocationsFiltered, isFiltered(filter));
    };

    let modelSub: vscode.Disposable | undefined;
    let watched: ClusterModel | undefined;
    const follow = () => {
      if (cluster.model !== watched) {
        modelSub?.dispose();
        watched = cluster.model;
        modelSub = watched?.onDidChange((change) => tree.modelChanged(change));
      }
      tree.refreshAll();
    };

    tree.setVisible(view.visible);
    context.subscriptions.push(
      tree,
      view,
      ...allocationCommands(this.services, { getFilter: () => tree.currentFilter, setFilter }),
      this.services.commands.register(CommandId.showMoreAllocations, (row?: AllocationElement) => tree.showMore(row)),
      cluster.onDidChange(follow),
      sessionContext.onDidChange(() => tree.refreshAll()),
      view.onDidChangeVisibility((e) => tree.setVisible(e.visible)),
      // Ages in descriptions ("4m") go stale; re-render them while the view is on screen.
      disposableInterval(() => view.visible && cluster.state === 'connected' && tree.refreshAll(), 30_000),
      { dispose: () => modelSub?.dispose() },
    );
    follow();
  }
}

function filterDescription(filter: AllocationFilter): string | undefined {
  const parts = [filter.jobKey ? `job ${filter.jobKey.slice(filter.jobKey.indexOf('/') + 1)}` : '', filter.statuses?.length ? filter.statuses.join(', ') : ''].filter(Boolean);
  return parts.length ? `filtered: ${parts.join('; ')}` : undefined;
}

function disposableInterval(fn: () => unknown, ms: number): vscode.Disposable {
  const handle = setInterval(fn, ms);
  return { dispose: () => clearInterval(handle) };
}
