import * as vscode from 'vscode';
import { buildAllocationNodes, buildClusterNodes, type AllocationFilter, type ConnectionView } from '../../cluster/presentation';
import type { ClusterModel } from '../../cluster';
import { setContext } from '../context';
import { ContextKey, ViewId } from '../ids';
import type { Feature, Services } from '../services';
import { PresentedTreeProvider } from '../views/presentedTree';
import { allocationCommands } from './allocationCommands';

/**
 * The Cluster and Allocations views. Both render snapshots of the one ClusterModel that the
 * connection owns; they never fetch. Model changes are coalesced (one render per 100 ms at
 * most), and a view that is not visible is brought up to date when it becomes visible.
 */
export class ClusterViewsFeature implements Feature {
  private filter: AllocationFilter = {};

  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const { cluster } = this.services;
    const clusterTree = new PresentedTreeProvider(ViewId.cluster);
    const allocTree = new PresentedTreeProvider(ViewId.allocations);
    const clusterView = vscode.window.createTreeView(ViewId.cluster, { treeDataProvider: clusterTree, showCollapseAll: true });
    const allocView = vscode.window.createTreeView(ViewId.allocations, { treeDataProvider: allocTree, showCollapseAll: true });

    const connectionView = (): ConnectionView => ({ state: cluster.state, error: cluster.lastError });
    const dirty = { cluster: true, allocations: true };
    const render = () => {
      // Signed out: empty trees, so the views' welcome content explains them.
      const signedIn = this.services.sessionContext.current.kind === 'signedIn';
      const snapshot = signedIn ? cluster.model?.snapshot() : undefined;
      if (!signedIn) {
        if (clusterView.visible) clusterTree.setRoots([]);
        if (allocView.visible) allocTree.setRoots([]);
        dirty.cluster = dirty.allocations = true;
        return;
      }
      if (clusterView.visible && dirty.cluster) {
        clusterTree.setRoots(buildClusterNodes(connectionView(), snapshot));
        dirty.cluster = false;
      }
      if (allocView.visible && dirty.allocations) {
        allocTree.setRoots(buildAllocationNodes(connectionView(), snapshot, this.filter));
        allocView.description = this.filterDescription();
        dirty.allocations = false;
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const schedule = (what: { cluster?: boolean; allocations?: boolean }) => {
      if (what.cluster) dirty.cluster = true;
      if (what.allocations) dirty.allocations = true;
      timer ??= setTimeout(() => {
        timer = undefined;
        render();
      }, 100);
    };

    let modelSub: { dispose(): void } | undefined;
    let watched: ClusterModel | undefined;
    const follow = () => {
      if (cluster.model !== watched) {
        modelSub?.dispose();
        watched = cluster.model;
        modelSub = watched?.onDidChange((change) => {
          const s = new Set(change.sections);
          schedule({
            cluster: s.has('servers') || s.has('nodes') || s.has('consul') || s.has('nomad') || s.has('connection'),
            allocations: s.has('jobs') || s.has('allocations') || s.has('nomad') || s.has('connection') || s.has('nodes'),
          });
        });
      }
      schedule({ cluster: true, allocations: true });
    };

    const commands = allocationCommands(this.services, {
      getFilter: () => this.filter,
      setFilter: (filter) => {
        this.filter = filter;
        void setContext(ContextKey.allocationsFiltered, Boolean(filter.jobKey || filter.statuses?.length));
        schedule({ allocations: true });
      },
    });

    context.subscriptions.push(
      clusterTree,
      allocTree,
      clusterView,
      allocView,
      ...commands,
      cluster.onDidChange(follow),
      this.services.sessionContext.onDidChange(() => schedule({ cluster: true, allocations: true })),
      clusterView.onDidChangeVisibility(() => render()),
      allocView.onDidChangeVisibility(() => render()),
      // Ages in descriptions ("4m") go stale; refresh them while the view is on screen.
      disposableInterval(() => allocView.visible && cluster.state === 'connected' && schedule({ allocations: true }), 30_000),
      { dispose: () => (modelSub?.dispose(), timer && clearTimeout(timer)) },
    );
    follow();
  }

  private filterDescription(): string | undefined {
    const parts = [this.filter.jobKey ? `job ${this.filter.jobKey.slice(this.filter.jobKey.indexOf('/') + 1)}` : '', this.filter.statuses?.length ? this.filter.statuses.join(', ') : ''].filter(Boolean);
    return parts.length ? `filtered: ${parts.join('; ')}` : undefined;
  }
}

function disposableInterval(fn: () => unknown, ms: number): vscode.Disposable {
  const handle = setInterval(fn, ms);
  return { dispose: () => clearInterval(handle) };
}
