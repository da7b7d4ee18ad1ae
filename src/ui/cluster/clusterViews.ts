import type * as vscode from 'vscode';
import { clusterRoots } from '../../views';
import { ViewId } from '../../views/ids';
import type { Feature, Services } from '../services';
import { showView } from '../views/viewTree';

/**
 * The Cluster view: servers, clients by datacenter and zone, Consul. It renders snapshots of the
 * connection's current model (src/views/cluster.ts); it never fetches, and it redraws when the
 * refresh manager says (coalesced, only while visible).
 */
export class ClusterViewsFeature implements Feature {
  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const { cluster, sessionContext, refresh } = this.services;
    showView(context, refresh, ViewId.cluster, {
      roots: () => {
        // Signed out: nothing, so the welcome content explains the view.
        if (sessionContext.current.kind !== 'signedIn') return { state: 'welcome' };
        return clusterRoots({ state: cluster.state, error: cluster.lastError }, cluster.model?.snapshot());
      },
    });
    context.subscriptions.push(
      cluster.onDidChange(() => refresh.mark(ViewId.cluster)),
      sessionContext.onDidChange(() => refresh.mark(ViewId.cluster)),
      cluster.onDidChangeCluster((change) => {
        if (change.sections.some((s) => s === 'servers' || s === 'nodes' || s === 'consul' || s === 'nomad' || s === 'connection')) refresh.mark(ViewId.cluster);
      }),
    );
  }
}
