import type * as vscode from 'vscode';
import { AllocationsTree, isFiltered, type AllocationFilter } from '../../views';
import { setContext } from '../context';
import { CommandId, ContextKey, ViewId } from '../../views/ids';
import type { Feature, Services } from '../services';
import { showView } from '../views/viewTree';
import { allocationCommands } from './allocationCommands';

/**
 * The Allocations view: jobs → task groups → allocations of the connection's model, lazily
 * (src/views/allocations.ts), with the context actions and filters. A model change redraws only
 * the job rows it touched, and only while the view is visible; ages ("4m") follow the refresh
 * manager's clock.
 */
export class AllocationsFeature implements Feature {
  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const { cluster, sessionContext, refresh } = this.services;
    const rows = new AllocationsTree(() => ({
      connection: { state: cluster.state, error: cluster.lastError },
      source: cluster.model,
      signedOut: sessionContext.current.kind !== 'signedIn',
    }));
    const { view } = showView(context, refresh, ViewId.allocations, rows, { ages: true });

    const setFilter = (filter: AllocationFilter) => {
      rows.setFilter(filter);
      view.description = filterDescription(filter);
      void setContext(ContextKey.allocationsFiltered, isFiltered(filter));
      refresh.mark(ViewId.allocations);
    };

    context.subscriptions.push(
      ...allocationCommands(this.services, { getFilter: () => rows.filter, setFilter }),
      this.services.commands.register(CommandId.showMoreAllocations, (more) => {
        if (more) refresh.mark(ViewId.allocations, [rows.showMore(more.jobKey, more.group)]);
      }),
      cluster.onDidChange(() => refresh.mark(ViewId.allocations)),
      sessionContext.onDidChange(() => refresh.mark(ViewId.allocations)),
      cluster.onDidChangeCluster((change) => {
        const { full, ids } = rows.changed(change);
        if (full) refresh.mark(ViewId.allocations);
        else if (ids.length) refresh.mark(ViewId.allocations, ids);
      }),
    );
  }
}

function filterDescription(filter: AllocationFilter): string | undefined {
  const parts = [filter.jobKey ? `job ${filter.jobKey.slice(filter.jobKey.indexOf('/') + 1)}` : '', filter.statuses?.length ? filter.statuses.join(', ') : ''].filter(Boolean);
  return parts.length ? `filtered: ${parts.join('; ')}` : undefined;
}
