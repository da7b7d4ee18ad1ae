import * as vscode from 'vscode';
import type { EnvNode } from '../../attendee';
import type { ClusterChange } from '../../cluster';
import {
  affectedJobs,
  ALLOCATION_PAGE,
  allocationNode,
  allocationRoots,
  allocNodeId,
  groupAllocations,
  groupNode,
  jobGroups,
  jobMatches,
  jobNode,
  moreNode,
  type AllocationFilter,
  type AllocationsSource,
  type ConnectionView,
} from '../../cluster/presentation';
import { CommandId } from '../ids';
import { toTreeItem } from '../views/presentedTree';

/**
 * A row of the Allocations view. Rows are handles (what they stand for, by id); what they show is
 * read from the model when VS Code asks, so a change re-renders only the rows it touched. The same
 * object is handed out for an id every time, as VS Code needs to refresh one element.
 * Commands get these as their argument; `id` has the presented node's format (`alloc/<id>`, `job/<key>`).
 */
export type AllocationElement =
  | { kind: 'state'; id: string; node: EnvNode }
  | { kind: 'job'; id: string; jobKey: string }
  | { kind: 'group'; id: string; jobKey: string; group: string }
  | { kind: 'alloc'; id: string; allocId: string }
  | { kind: 'more'; id: string; jobKey: string; group: string };

export interface AllocationsInput {
  connection: ConnectionView;
  /** Undefined while signed out or before the first connect. */
  source: AllocationsSource | undefined;
  /** Signed out: the tree stays empty so that the view's welcome content explains it. */
  signedOut?: boolean;
}

/**
 * Lazy, incrementally refreshed tree over the cluster model: children are computed only for rows
 * that are unfolded, and a model change refreshes the job rows it names (their task groups and
 * allocations follow), not the whole tree. Changes are coalesced (one refresh per 100 ms) and held
 * back while the view is hidden.
 */
export class AllocationsTreeProvider implements vscode.TreeDataProvider<AllocationElement>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<AllocationElement | AllocationElement[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly elements = new Map<string, AllocationElement>();
  /** How many allocations each task group shows (grows with "Show more"). */
  private readonly limits = new Map<string, number>();
  /** Job keys at the top of the view after the last full render. */
  private shownJobs = new Set<string>();
  /** Where each allocation seen was, for changes that remove it. */
  private readonly allocationJob = new Map<string, string>();
  private filter: AllocationFilter = {};
  private pendingFull = false;
  private readonly pendingJobs = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private visible = false;

  constructor(
    private readonly viewId: string,
    private readonly input: () => AllocationsInput,
    private readonly now: () => number = Date.now,
  ) {}

  get currentFilter(): AllocationFilter {
    return this.filter;
  }

  setFilter(filter: AllocationFilter): void {
    this.filter = filter;
    this.limits.clear();
    this.refreshAll();
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    if (visible && (this.pendingFull || this.pendingJobs.size)) this.schedule();
  }

  /** Everything may have changed (connection, sign-in, filter, ages). */
  refreshAll(): void {
    this.pendingFull = true;
    this.schedule();
  }

  /** A model change: remembers which job rows it touches, to refresh just those. */
  modelChanged(change: ClusterChange): void {
    const source = this.input().source;
    if (!source) return this.refreshAll();
    const { full, jobKeys } = affectedJobs(change, source, (id) => this.allocationJob.get(id));
    for (const id of change.allocations?.removed ?? []) {
      this.allocationJob.delete(id);
      this.elements.delete(allocNodeId.alloc(id));
    }
    if (full) this.pendingFull = true;
    for (const key of jobKeys) this.pendingJobs.add(key);
    if (full || jobKeys.size) this.schedule();
  }

  /** The next page of a long task group. */
  showMore(element: AllocationElement | undefined): void {
    if (element?.kind !== 'more') return;
    const groupId = allocNodeId.group(element.jobKey, element.group);
    this.limits.set(groupId, (this.limits.get(groupId) ?? ALLOCATION_PAGE) + ALLOCATION_PAGE);
    const group = this.elements.get(groupId);
    this.changed.fire(group);
  }

  private schedule(): void {
    if (!this.visible || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, 100);
  }

  private flush(): void {
    if (!this.visible) return;
    const source = this.input().source;
    let full = this.pendingFull || !source;
    const rows: AllocationElement[] = [];
    if (!full) {
      for (const key of this.pendingJobs) {
        const job = source!.getJob(key);
        // A job that comes into or drops out of the filter changes the top level itself.
        if (Boolean(job && jobMatches(job, this.filter)) !== this.shownJobs.has(key)) {
          full = true;
          break;
        }
        const row = this.elements.get(allocNodeId.job(key));
        if (row) rows.push(row);
      }
    }
    this.pendingFull = false;
    this.pendingJobs.clear();
    if (full) this.changed.fire(undefined);
    else if (rows.length) this.changed.fire(rows);
  }

  getChildren(element?: AllocationElement): AllocationElement[] {
    const { connection, source, signedOut } = this.input();
    if (!element) {
      if (signedOut) {
        this.shownJobs = new Set();
        return [];
      }
      const roots = allocationRoots(connection, source, this.filter);
      if (roots.kind === 'state') {
        this.shownJobs = new Set();
        return roots.nodes.map((node) => this.element({ kind: 'state', id: `state/${node.id}`, node }));
      }
      this.shownJobs = new Set(roots.jobs.map((j) => j.key));
      return roots.jobs.map((j) => this.element({ kind: 'job', id: allocNodeId.job(j.key), jobKey: j.key }));
    }
    if (!source) return [];
    switch (element.kind) {
      case 'job': {
        const job = source.getJob(element.jobKey);
        if (!job) return [];
        return jobGroups(source, job, this.filter).map((group) => this.element({ kind: 'group', id: allocNodeId.group(job.key, group), jobKey: job.key, group }));
      }
      case 'group': {
        const { shown, hidden } = groupAllocations(source, element.jobKey, element.group, this.filter, this.limits.get(element.id));
        const rows: AllocationElement[] = shown.map((a) => {
          this.allocationJob.set(a.id, a.jobKey);
          return this.element({ kind: 'alloc', id: allocNodeId.alloc(a.id), allocId: a.id });
        });
        if (hidden) rows.push(this.element({ kind: 'more', id: allocNodeId.more(element.jobKey, element.group), jobKey: element.jobKey, group: element.group }));
        return rows;
      }
      default:
        return [];
    }
  }

  getTreeItem(element: AllocationElement): vscode.TreeItem {
    const { source } = this.input();
    const gone = (what: string): vscode.TreeItem => toTreeItem({ id: element.id, label: what, description: 'no longer in the cluster', icon: { id: 'circle-slash' }, contextValue: 'alloc:gone' }, this.viewId);
    const None = vscode.TreeItemCollapsibleState.None;
    switch (element.kind) {
      case 'state':
        return toTreeItem(element.node, this.viewId);
      case 'job': {
        const job = source?.getJob(element.jobKey);
        if (!job) return gone(element.jobKey.slice(element.jobKey.indexOf('/') + 1));
        const item = toTreeItem(jobNode(job), this.viewId);
        item.collapsibleState = job.taskGroups.length ? vscode.TreeItemCollapsibleState.Expanded : None;
        return item;
      }
      case 'group': {
        const allocs = source?.getAllocations(element.jobKey, element.group) ?? [];
        const node = groupNode(element.jobKey, element.group, allocs);
        const item = toTreeItem(node, this.viewId);
        item.collapsibleState = allocs.length === 0 ? None : node.collapsed ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded;
        return item;
      }
      case 'alloc': {
        const alloc = source?.getAllocation(element.allocId);
        if (!alloc) return gone(element.allocId.slice(0, 8));
        return toTreeItem(allocationNode(alloc, this.now()), this.viewId);
      }
      case 'more': {
        const { hidden } = source ? groupAllocations(source, element.jobKey, element.group, this.filter, this.limits.get(allocNodeId.group(element.jobKey, element.group))) : { hidden: 0 };
        const item = toTreeItem(moreNode(element.jobKey, element.group, hidden), this.viewId);
        item.command = { command: CommandId.showMoreAllocations, title: 'Show More', arguments: [element] };
        return item;
      }
    }
  }

  getParent(element: AllocationElement): AllocationElement | undefined {
    switch (element.kind) {
      case 'group':
      case 'more':
        return this.elements.get(allocNodeId.job(element.jobKey)) ?? this.element({ kind: 'job', id: allocNodeId.job(element.jobKey), jobKey: element.jobKey });
      case 'alloc': {
        const alloc = this.input().source?.getAllocation(element.allocId);
        return alloc ? this.element({ kind: 'group', id: allocNodeId.group(alloc.jobKey, alloc.taskGroup), jobKey: alloc.jobKey, group: alloc.taskGroup }) : undefined;
      }
      default:
        return undefined;
    }
  }

  private element<E extends AllocationElement>(fresh: E): E {
    const known = this.elements.get(fresh.id);
    if (known && known.kind === fresh.kind) {
      // State rows carry their presentation; keep the object, take the new content.
      if (known.kind === 'state') known.node = (fresh as Extract<AllocationElement, { kind: 'state' }>).node;
      return known as E;
    }
    this.elements.set(fresh.id, fresh);
    return fresh;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}
