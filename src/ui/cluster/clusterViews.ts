import * as vscode from 'vscode';
import { buildClusterNodes, type ConnectionView } from '../../cluster/presentation';
import type { ClusterModel } from '../../cluster';
import { ViewId } from '../ids';
import type { Feature, Services } from '../services';
import { PresentedTreeProvider } from '../views/presentedTree';

/**
 * The Cluster view. It renders snapshots of the one ClusterModel that the connection owns; it
 * never fetches. Model changes are coalesced (one render per 100 ms at most), and a view that is
 * not visible is brought up to date when it becomes visible. (The Allocations view, which must
 * stay fast with thousands of allocations, renders lazily: src/ui/allocations.)
 */
export class ClusterViewsFeature implements Feature {
  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const { cluster } = this.services;
    const clusterTree = new PresentedTreeProvider(ViewId.cluster);
    const clusterView = vscode.window.createTreeView(ViewId.cluster, { treeDataProvider: clusterTree, showCollapseAll: true });

    const connectionView = (): ConnectionView => ({ state: cluster.state, error: cluster.lastError });
    const dirty = { cluster: true };
    const render = () => {
      // Signed out: empty trees, so the views' welcome content explains them.
      const signedIn = this.services.sessionContext.current.kind === 'signedIn';
      const snapshot = signedIn ? cluster.model?.snapshot() : undefined;
      if (!signedIn) {
        if (clusterView.visible) clusterTree.setRoots([]);
        dirty.cluster = true;
        return;
      }
      if (clusterView.visible && dirty.cluster) {
        clusterTree.setRoots(buildClusterNodes(connectionView(), snapshot));
        dirty.cluster = false;
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const schedule = (what: { cluster?: boolean }) => {
      if (what.cluster) dirty.cluster = true;
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
          schedule({ cluster: s.has('servers') || s.has('nodes') || s.has('consul') || s.has('nomad') || s.has('connection') });
        });
      }
      schedule({ cluster: true });
    };

    context.subscriptions.push(
      clusterTree,
      clusterView,
      cluster.onDidChange(follow),
      this.services.sessionContext.onDidChange(() => schedule({ cluster: true })),
      clusterView.onDidChangeVisibility(() => render()),
      { dispose: () => (modelSub?.dispose(), timer && clearTimeout(timer)) },
    );
    follow();
  }
}
