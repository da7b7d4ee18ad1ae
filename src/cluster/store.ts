/**
 * The cluster model's store: the one shared picture of an attendee's cluster that every view
 * renders, kept incrementally by ID (thousands of allocations stay cheap), with running counts
 * per job, task group and node, the status of each source, and change events that say exactly
 * what changed (one event per tick), so a view refreshes only that. It fetches nothing: the
 * model (./model.ts) feeds it from blocking queries and the event stream, and the benchmarks
 * feed it directly.
 */
import { Emitter, type Event } from '../common/events';
import { silentLogger, type Logger } from '../common/logger';
import { consulMemberStatus } from './consul';
import { ClusterError, ClusterHttpError, ResponseShapeError, shapeProblems } from './errors';
import {
  nomadAllocationSchema,
  type ConsulHealthCheck,
  type ConsulMember,
  type NomadAllocation,
  type NomadJobStub,
  type NomadMembers,
  type NomadNodeStub,
} from './schemas';
import type {
  AllocationCounts,
  AllocationInfo,
  ClusterChange,
  ClusterSection,
  ClusterSnapshot,
  ConnectionStatus,
  ConsulMemberInfo,
  ConsulServiceInfo,
  ConsulStatus,
  DatacenterGroup,
  IdChanges,
  JobInfo,
  NodeInfo,
  SectionStatus,
  ServerInfo,
  TaskEventInfo,
  TaskGroupInfo,
  TaskSummary,
} from './types';


/**
 * Orders names as people read them (`web[2]` before `web[10]`). One shared collator: sorting
 * 10,000 allocations compares names on every tie of their start times, and `localeCompare`
 * looks up its collator on each call (bench/README.md, scale).
 */
export function compareNames(a: string, b: string): number {
  // Made on first use: creating a collator loads ICU data, which activation need not pay for.
  return (collator ??= new Intl.Collator('en', { numeric: true })).compare(a, b);
}
let collator: Intl.Collator | undefined;

// ------------------------------------------------------------------ helpers

const ALLOCATION_STATUSES = ['pending', 'running', 'complete', 'failed', 'lost', 'unknown'] as const;

export function emptyCounts(): AllocationCounts {
  return { total: 0, pending: 0, running: 0, complete: 0, failed: 0, lost: 0, unknown: 0 };
}

const isCountedStatus = (status: string): status is (typeof ALLOCATION_STATUSES)[number] => (ALLOCATION_STATUSES as readonly string[]).includes(status);

/** Adds (sign 1) or takes away (sign -1) one allocation in `status`. */
function tally(counts: AllocationCounts, status: string, sign: 1 | -1): void {
  counts.total += sign;
  counts[isCountedStatus(status) ? status : 'unknown'] += sign;
}

/** A job's allocation counts, in all and per task group. */
interface JobCounts {
  all: AllocationCounts;
  groups: Map<string, AllocationCounts>;
}

export function jobKeyOf(namespace: string | undefined | null, id: string): string {
  return `${namespace || 'default'}/${id}`;
}

/** Unix ns (beyond float precision, so round rather than floor) → ms. */
const nsToMs = (ns: number): number => Math.round(ns / 1e6);

function lastTaskEvent(a: NomadAllocation): TaskEventInfo | undefined {
  let best: TaskEventInfo | undefined;
  let bestFailed = false;
  for (const [task, state] of Object.entries(a.TaskStates ?? {})) {
    const events = state.Events ?? [];
    const last = events[events.length - 1];
    if (!last) continue;
    const info: TaskEventInfo = {
      task,
      type: last.Type,
      message: last.DisplayMessage || last.Message || last.Details?.['fails_task'] || last.Type,
      time: nsToMs(last.Time),
    };
    // A failed task's story beats a sibling that was merely killed because of it.
    if (!best || (state.Failed && !bestFailed) || (state.Failed === bestFailed && info.time > best.time)) {
      best = info;
      bestFailed = state.Failed;
    }
  }
  return best;
}

export function toAllocationInfo(a: NomadAllocation, zone: string | undefined): AllocationInfo {
  // Plain loops: this runs for every allocation of a load (10,000 in bench/README.md, scale).
  const tasks: TaskSummary[] = [];
  let restarts = 0;
  let taskFailed = false;
  const states = a.TaskStates ?? {};
  for (const name in states) {
    const s = states[name]!;
    tasks.push({ name, state: s.State, failed: s.Failed, restarts: s.Restarts });
    restarts += s.Restarts;
    if (s.Failed) taskFailed = true;
  }
  const troubled = a.ClientStatus === 'failed' || a.ClientStatus === 'lost' || taskFailed;
  const lastEvent = troubled ? lastTaskEvent(a) : undefined;
  return {
    id: a.ID,
    shortId: a.ID.slice(0, 8),
    name: a.Name,
    namespace: a.Namespace || 'default',
    jobId: a.JobID,
    jobKey: jobKeyOf(a.Namespace, a.JobID),
    taskGroup: a.TaskGroup,
    nodeId: a.NodeID,
    nodeName: a.NodeName || undefined,
    zone,
    clientStatus: a.ClientStatus,
    desiredStatus: a.DesiredStatus,
    clientDescription: a.ClientDescription || undefined,
    createTime: nsToMs(a.CreateTime),
    modifyTime: nsToMs(a.ModifyTime),
    restarts,
    tasks,
    lastEvent,
    reason: troubled ? lastEvent?.message || a.ClientDescription || undefined : undefined,
    modifyIndex: a.ModifyIndex,
  };
}

/** Collects added/updated/removed ids between two change events. */
class IdChangeSet {
  readonly added = new Set<string>();
  readonly updated = new Set<string>();
  readonly removed = new Set<string>();

  add(id: string): void {
    if (this.removed.delete(id)) this.updated.add(id);
    else this.added.add(id);
  }
  update(id: string): void {
    if (!this.added.has(id)) this.updated.add(id);
  }
  remove(id: string): void {
    if (this.added.delete(id)) return;
    this.updated.delete(id);
    this.removed.add(id);
  }
  get empty(): boolean {
    return !this.added.size && !this.updated.size && !this.removed.size;
  }
  take(): IdChanges {
    const out = { added: [...this.added], updated: [...this.updated], removed: [...this.removed] };
    this.added.clear();
    this.updated.clear();
    this.removed.clear();
    return out;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}


type NomadSource = 'servers' | 'nodes' | 'jobs' | 'allocations';
type ConsulSource = 'members' | 'services' | 'health';

export interface ClusterStoreOptions {
  /** Node attribute that names the zone (default `platform.gce.zone`). */
  zoneAttribute?: string;
  /** The stack has Consul to watch (default true); without it, its section reports `disabled`. */
  consul?: boolean;
  log?: Logger;
}

export class ClusterStore {

  protected readonly changeEmitter = new Emitter<ClusterChange>();
  /** Fires (at most once per tick) with what changed. */
  readonly onDidChange: Event<ClusterChange> = this.changeEmitter.event;

  protected readonly log: Logger;
  protected readonly zoneAttribute: string;

  // state
  protected servers: ServerInfo[] = [];
  protected readonly nodes = new Map<string, Omit<NodeInfo, 'allocations'>>();
  protected readonly zoneById = new Map<string, string | null>();
  protected readonly zoneFetches = new Set<string>();
  protected readonly jobs = new Map<string, Omit<JobInfo, 'allocations' | 'taskGroups'> & { summaryGroups: string[] }>();
  protected readonly allocs = new Map<string, AllocationInfo>();
  protected readonly allocsByJob = new Map<string, Set<string>>();
  protected readonly allocsByNode = new Map<string, Set<string>>();
  /**
   * Counts per job (and task group) and per node, kept as running sums as allocations come and
   * go: every job and node row shows them, and recounting a job's allocations for each row made
   * one allocation update cost a pass over all 10,000 (bench/README.md, scale).
   */
  protected readonly countsByJob = new Map<string, JobCounts>();
  protected readonly countsByNode = new Map<string, AllocationCounts>();
  protected consulMembers: ConsulMemberInfo[] = [];
  protected consulServiceTags: Record<string, string[]> = {};
  /** Instances per service name: which node runs which service id. */
  protected consulInstances: Record<string, { node: string; serviceId: string }[]> = {};
  protected consulChecks: ConsulHealthCheck[] = [];
  protected consulLeader = '';

  // status
  protected readonly nomadLoaded = new Set<NomadSource>();
  protected readonly nomadErrors = new Map<NomadSource, string>();
  protected readonly consulLoaded = new Set<ConsulSource>();
  protected readonly consulErrors = new Map<ConsulSource, { state: 'not-running' | 'error'; message: string }>();
  protected lastNomadStatus = '';
  protected lastConsulStatus = '';

  // pending change
  protected readonly pendingSections = new Set<ClusterSection>();
  protected readonly pendingNodes = new IdChangeSet();
  protected readonly pendingJobs = new IdChangeSet();
  protected readonly pendingAllocs = new IdChangeSet();
  protected flushScheduled = false;
  protected disposed = false;
  private readonly consulEnabled: boolean;

  constructor(options: ClusterStoreOptions = {}) {
    this.log = options.log ?? silentLogger;
    this.zoneAttribute = options.zoneAttribute ?? 'platform.gce.zone';
    this.consulEnabled = options.consul ?? true;
  }

  // ---------------------------------------------------------------- reads

  /** The connection underneath; `direct` in the store (the model knows the tunnel). */
  get connectionStatus(): ConnectionStatus {
    return { state: 'direct' };
  }


  get nomadStatus(): SectionStatus {
    const error = this.nomadErrors.values().next().value as string | undefined;
    if (error) return { state: 'error', error };
    return { state: this.nomadLoaded.size === 4 ? 'ready' : 'loading' };
  }

  get consulStatus(): ConsulStatus {
    if (!this.consulEnabled) return { state: 'disabled' };
    const first = this.consulErrors.values().next().value as { state: 'not-running' | 'error'; message: string } | undefined;
    if (first) return { state: first.state, error: first.message };
    return { state: this.consulLoaded.size === 3 ? 'ready' : 'loading' };
  }

  getServers(): ServerInfo[] {
    return this.servers.slice();
  }

  getNode(id: string): NodeInfo | undefined {
    const n = this.nodes.get(id);
    const counts = this.countsByNode.get(id);
    return n ? { ...n, allocations: counts ? { ...counts } : emptyCounts() } : undefined;
  }

  getNodes(): NodeInfo[] {
    return [...this.nodes.keys()].map((id) => this.getNode(id)!).sort((a, b) => compareNames(a.name, b.name));
  }

  /** Nodes grouped datacenter → zone, sorted by name at each level. */
  getDatacenters(): DatacenterGroup[] {
    const byDc = new Map<string, Map<string, NodeInfo[]>>();
    for (const node of this.getNodes()) {
      const zones = byDc.get(node.datacenter) ?? new Map<string, NodeInfo[]>();
      byDc.set(node.datacenter, zones);
      const zone = node.zone ?? '';
      const list = zones.get(zone);
      if (list) list.push(node);
      else zones.set(zone, [node]);
    }
    return [...byDc.entries()]
      .sort(([a], [b]) => compareNames(a, b))
      .map(([datacenter, zones]) => ({
        datacenter,
        zones: [...zones.entries()].sort(([a], [b]) => compareNames(a, b)).map(([zone, nodes]) => ({ zone, nodes })),
      }));
  }

  getJob(key: string): JobInfo | undefined {
    const j = this.jobs.get(key);
    if (!j) return undefined;
    const { summaryGroups, ...rest } = j;
    const counts = this.countsByJob.get(key);
    const groups = new Set(summaryGroups);
    for (const g of counts?.groups.keys() ?? []) groups.add(g);
    return { ...rest, taskGroups: [...groups].sort(), allocations: counts ? { ...counts.all } : emptyCounts() };
  }

  getJobs(): JobInfo[] {
    return [...this.jobs.keys()].sort().map((k) => this.getJob(k)!);
  }

  getTaskGroups(jobKey: string): TaskGroupInfo[] {
    const job = this.getJob(jobKey);
    if (!job) return [];
    const counts = this.countsByJob.get(jobKey);
    return job.taskGroups.map((name) => {
      const group = counts?.groups.get(name);
      return { jobKey, name, allocations: group ? { ...group } : emptyCounts() };
    });
  }

  /** A job's allocations (of one task group if given), newest first. */
  getAllocations(jobKey: string, taskGroup?: string): AllocationInfo[] {
    const out: AllocationInfo[] = [];
    for (const id of this.allocsByJob.get(jobKey) ?? []) {
      const a = this.allocs.get(id)!;
      if (taskGroup === undefined || a.taskGroup === taskGroup) out.push(a);
    }
    return out.sort((a, b) => b.createTime - a.createTime || compareNames(a.name, b.name));
  }

  getAllocation(id: string): AllocationInfo | undefined {
    return this.allocs.get(id);
  }

  /** Number of allocations known (all jobs). */
  get allocationCount(): number {
    return this.allocs.size;
  }

  getConsulMembers(): ConsulMemberInfo[] {
    return this.consulMembers.slice();
  }

  /**
   * Services with their instance count and check counts the way Consul's UI adds them up:
   * each instance's own checks plus the checks of the node it runs on (a failed node makes
   * its services critical).
   */
  getConsulServices(): ConsulServiceInfo[] {
    const serviceChecks = new Map<string, ConsulHealthCheck[]>();
    const nodeChecks = new Map<string, ConsulHealthCheck[]>();
    for (const check of this.consulChecks) {
      const key = check.ServiceID ? `${check.Node}\0${check.ServiceID}` : check.Node;
      const map = check.ServiceID ? serviceChecks : nodeChecks;
      map.set(key, [...(map.get(key) ?? []), check]);
    }
    return Object.keys(this.consulServiceTags)
      .sort()
      .map((name) => {
        const checks = { passing: 0, warning: 0, critical: 0 };
        const instances = this.consulInstances[name] ?? [];
        for (const inst of instances) {
          for (const check of [...(serviceChecks.get(`${inst.node}\0${inst.serviceId}`) ?? []), ...(nodeChecks.get(inst.node) ?? [])]) {
            if (check.Status === 'passing') checks.passing++;
            else if (check.Status === 'warning') checks.warning++;
            else checks.critical++;
          }
        }
        return { name, tags: this.consulServiceTags[name] ?? [], instances: instances.length, checks };
      });
  }

  /** Everything at once (tests, simple views). Views with many allocations should use the getters. */
  snapshot(): ClusterSnapshot {
    return {
      connection: this.connectionStatus,
      nomad: this.nomadStatus,
      consul: this.consulStatus,
      servers: this.getServers(),
      datacenters: this.getDatacenters(),
      jobs: this.getJobs(),
      allocations: [...this.allocs.values()],
      consulMembers: this.getConsulMembers(),
      consulServices: this.getConsulServices(),
    };
  }

  protected setServers(members: NomadMembers, leader: string, peers: string[]): void {
    const peerSet = new Set(peers);
    const servers = (members.Members ?? [])
      .map((m): ServerInfo => {
        const tags = m.Tags ?? {};
        const rpcAddress = `${tags['rpc_addr'] || m.Addr}:${tags['port'] || '4647'}`;
        return {
          name: m.Name,
          address: m.Addr,
          rpcAddress,
          status: m.Status,
          datacenter: tags['dc'],
          region: tags['region'],
          version: tags['build'],
          leader: !!leader && rpcAddress === leader,
          raftPeer: peerSet.has(rpcAddress),
        };
      })
      .sort((a, b) => compareNames(a.name, b.name));
    if (JSON.stringify(servers) !== JSON.stringify(this.servers)) {
      this.servers = servers;
      this.markSection('servers');
    }
  }

  // ---------------------------------------------------------------- Nomad: nodes

  protected replaceNodes(stubs: NomadNodeStub[]): void {
    const seen = new Set<string>();
    for (const stub of stubs) {
      seen.add(stub.ID);
      const attrZone = stub.Attributes?.[this.zoneAttribute];
      if (attrZone !== undefined) this.setZone(stub.ID, attrZone);
      const zone = this.zoneById.get(stub.ID) ?? undefined;
      const next: Omit<NodeInfo, 'allocations'> = {
        id: stub.ID,
        name: stub.Name,
        address: stub.Address,
        datacenter: stub.Datacenter,
        zone,
        nodePool: stub.NodePool,
        status: stub.Status,
        statusDescription: stub.StatusDescription || undefined,
        eligibility: stub.SchedulingEligibility,
        drain: stub.Drain,
        version: stub.Version,
      };
      const prev = this.nodes.get(stub.ID);
      if (!prev) {
        this.nodes.set(stub.ID, next);
        this.pendingNodes.add(stub.ID);
        this.markSection('nodes');
      } else if (JSON.stringify(prev) !== JSON.stringify(next)) {
        this.nodes.set(stub.ID, next);
        this.pendingNodes.update(stub.ID);
        this.markSection('nodes');
      }
      // The list stub carries only some attributes; the zone needs the full node, once.
      if (!this.zoneById.has(stub.ID)) this.zoneUnknown(stub.ID);
    }
    for (const id of [...this.nodes.keys()]) {
      if (seen.has(id)) continue;
      this.nodes.delete(id);
      this.zoneById.delete(id);
      this.pendingNodes.remove(id);
      this.markSection('nodes');
    }
  }

  /** A node whose zone the list did not say: the model reads the node in full (the store cannot). */
  protected zoneUnknown(_nodeId: string): void {
    // nothing to fetch with
  }


  protected setZone(nodeId: string, zone: string | null): void {
    if (this.zoneById.get(nodeId) === zone) return;
    this.zoneById.set(nodeId, zone);
    const node = this.nodes.get(nodeId);
    if (node && node.zone !== (zone ?? undefined)) {
      node.zone = zone ?? undefined;
      this.pendingNodes.update(nodeId);
      this.markSection('nodes');
    }
    for (const allocId of this.allocsByNode.get(nodeId) ?? []) {
      const a = this.allocs.get(allocId)!;
      a.zone = zone ?? undefined;
      this.pendingAllocs.update(allocId);
      this.markSection('allocations');
    }
  }

  // ---------------------------------------------------------------- Nomad: jobs

  protected replaceJobs(stubs: NomadJobStub[]): void {
    const seen = new Set<string>();
    for (const stub of stubs) {
      const key = jobKeyOf(stub.Namespace, stub.ID);
      seen.add(key);
      const next = {
        key,
        id: stub.ID,
        namespace: stub.Namespace || 'default',
        name: stub.Name,
        type: stub.Type,
        status: stub.Status,
        stop: stub.Stop,
        datacenters: stub.Datacenters ?? [],
        summaryGroups: Object.keys(stub.JobSummary?.Summary ?? {}).sort(),
        modifyIndex: stub.ModifyIndex,
      };
      const prev = this.jobs.get(key);
      if (!prev) {
        this.jobs.set(key, next);
        this.pendingJobs.add(key);
        this.markSection('jobs');
      } else if (JSON.stringify(prev) !== JSON.stringify(next)) {
        this.jobs.set(key, next);
        this.pendingJobs.update(key);
        this.markSection('jobs');
      }
    }
    for (const key of [...this.jobs.keys()]) {
      if (seen.has(key)) continue;
      this.jobs.delete(key);
      this.pendingJobs.remove(key);
      this.markSection('jobs');
    }
  }

  // ---------------------------------------------------------------- Nomad: allocations


  protected applyAllocationEvents(events: { Topic: string; Type: string; Key: string; Payload: Record<string, unknown> }[]): void {
    for (const event of events) {
      if (event.Topic !== 'Allocation') continue;
      const parsed = nomadAllocationSchema.safeParse(event.Payload['Allocation']);
      if (!parsed.success) {
        const err = new ResponseShapeError(
          'Nomad',
          `/v1/event/stream (${event.Type} ${event.Key})`,
          shapeProblems(parsed.error.issues.map((i) => ({ ...i, path: ['Payload', 'Allocation', ...i.path] }))),
        );
        this.nomadError('allocations', err);
        continue;
      }
      this.upsertAllocation(parsed.data);
    }
  }

  protected replaceAllocations(list: NomadAllocation[]): void {
    // The first load has nothing to remove: skip the bookkeeping of what was seen.
    const seen = this.allocs.size ? new Set<string>() : undefined;
    for (const a of list) {
      seen?.add(a.ID);
      this.upsertAllocation(a);
    }
    if (seen) for (const id of [...this.allocs.keys()]) if (!seen.has(id)) this.removeAllocation(id);
  }

  protected upsertAllocation(raw: NomadAllocation): void {
    const prev = this.allocs.get(raw.ID);
    // Events may repeat what the list already showed; only newer versions count.
    if (prev && prev.modifyIndex >= raw.ModifyIndex) return;
    const info = toAllocationInfo(raw, this.zoneById.get(raw.NodeID) ?? undefined);
    if (prev && (prev.jobKey !== info.jobKey || prev.nodeId !== info.nodeId)) this.unindex(prev);
    if (prev) this.count(prev, -1);
    this.allocs.set(info.id, info);
    this.index(this.allocsByJob, info.jobKey, info.id);
    this.index(this.allocsByNode, info.nodeId, info.id);
    this.count(info, 1);
    if (prev) this.pendingAllocs.update(info.id);
    else this.pendingAllocs.add(info.id);
    this.markSection('allocations');
    // Counts on jobs and nodes move with their allocations.
    if (!prev || prev.clientStatus !== info.clientStatus || prev.taskGroup !== info.taskGroup) {
      if (this.jobs.has(info.jobKey)) {
        this.pendingJobs.update(info.jobKey);
        this.markSection('jobs');
      }
      if (this.nodes.has(info.nodeId)) {
        this.pendingNodes.update(info.nodeId);
        this.markSection('nodes');
      }
    }
  }

  protected removeAllocation(id: string): void {
    const prev = this.allocs.get(id);
    if (!prev) return;
    this.allocs.delete(id);
    this.unindex(prev);
    this.count(prev, -1);
    this.pendingAllocs.remove(id);
    this.markSection('allocations');
    if (this.jobs.has(prev.jobKey)) {
      this.pendingJobs.update(prev.jobKey);
      this.markSection('jobs');
    }
    if (this.nodes.has(prev.nodeId)) {
      this.pendingNodes.update(prev.nodeId);
      this.markSection('nodes');
    }
  }

  protected index(map: Map<string, Set<string>>, key: string, id: string): void {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(id);
  }

  protected unindex(a: AllocationInfo): void {
    for (const [map, key] of [
      [this.allocsByJob, a.jobKey],
      [this.allocsByNode, a.nodeId],
    ] as const) {
      const set = map.get(key);
      set?.delete(a.id);
      if (set && !set.size) map.delete(key);
    }
  }

  /** Moves `a` into (sign 1) or out of (sign -1) its job's, task group's and node's counts. */
  protected count(a: AllocationInfo, sign: 1 | -1): void {
    let job = this.countsByJob.get(a.jobKey);
    if (!job) this.countsByJob.set(a.jobKey, (job = { all: emptyCounts(), groups: new Map() }));
    tally(job.all, a.clientStatus, sign);
    let group = job.groups.get(a.taskGroup);
    if (!group) job.groups.set(a.taskGroup, (group = emptyCounts()));
    tally(group, a.clientStatus, sign);
    if (!group.total) job.groups.delete(a.taskGroup);
    if (!job.all.total) this.countsByJob.delete(a.jobKey);
    let node = this.countsByNode.get(a.nodeId);
    if (!node) this.countsByNode.set(a.nodeId, (node = emptyCounts()));
    tally(node, a.clientStatus, sign);
    if (!node.total) this.countsByNode.delete(a.nodeId);
  }

  // ---------------------------------------------------------------- Consul


  protected setConsulMembers(members: ConsulMember[]): void {
    const list = members
      .map((m): ConsulMemberInfo => {
        const tags = m.Tags ?? {};
        const role = tags['role'] === 'consul' ? 'server' : 'client';
        return {
          name: m.Name,
          address: m.Addr,
          role,
          status: consulMemberStatus[m.Status] ?? `status ${m.Status}`,
          datacenter: tags['dc'],
          leader: role === 'server' && !!this.consulLeader && `${m.Addr}:${tags['port'] || '8300'}` === this.consulLeader,
        };
      })
      .sort((a, b) => (a.role === b.role ? compareNames(a.name, b.name) : a.role === 'server' ? -1 : 1));
    if (JSON.stringify(list) !== JSON.stringify(this.consulMembers)) {
      this.consulMembers = list;
      this.markSection('consul');
    }
  }

  // ---------------------------------------------------------------- status + change events

  protected loaded(source: NomadSource): void {
    this.nomadLoaded.add(source);
    this.clearNomadError(source);
    this.updateStatus();
  }

  protected clearNomadError(source: NomadSource): void {
    if (this.nomadErrors.delete(source)) this.updateStatus();
  }

  protected nomadError(source: NomadSource, err: Error, attempt?: number, retryInMs?: number): void {
    const retry = retryInMs !== undefined ? ` (retry ${attempt} in ${retryInMs} ms)` : '';
    this.log.warn(`cluster model: ${source}: ${err.message}${retry}`);
    this.nomadErrors.set(source, err.message);
    this.updateStatus();
  }

  protected consulSourceLoaded(source: ConsulSource): void {
    this.consulLoaded.add(source);
    this.consulErrors.delete(source);
    this.updateStatus();
  }

  protected consulError(source: ConsulSource, err: Error, attempt?: number, retryInMs?: number): void {
    const retry = retryInMs !== undefined ? ` (retry ${attempt} in ${retryInMs} ms)` : '';
    this.log.warn(`cluster model: consul ${source}: ${err.message}${retry}`);
    this.consulErrors.set(source, classifyConsulError(err));
    this.updateStatus();
  }

  protected updateStatus(): void {
    const nomad = JSON.stringify(this.nomadStatus);
    if (nomad !== this.lastNomadStatus) {
      this.lastNomadStatus = nomad;
      this.markSection('nomad');
    }
    const consul = JSON.stringify(this.consulStatus);
    if (consul !== this.lastConsulStatus) {
      this.lastConsulStatus = consul;
      this.markSection('consul');
    }
  }

  protected markSection(section: ClusterSection): void {
    this.pendingSections.add(section);
    if (this.flushScheduled || this.disposed) return;
    this.flushScheduled = true;
    // One event per tick: a list of 10,000 allocations is one change, not 10,000.
    setImmediate(() => this.flush());
  }

  protected flush(): void {
    this.flushScheduled = false;
    if (!this.pendingSections.size) return;
    const change: ClusterChange = { sections: [...this.pendingSections] };
    this.pendingSections.clear();
    if (!this.pendingNodes.empty) change.nodes = this.pendingNodes.take();
    if (!this.pendingJobs.empty) change.jobs = this.pendingJobs.take();
    if (!this.pendingAllocs.empty) change.allocations = this.pendingAllocs.take();
    try {
      this.changeEmitter.fire(change);
    } catch (err) {
      this.log.error(`a cluster model listener failed: ${describe(err)}`);
    }
  }
}
/** Nothing listening, or no leader yet, is "Consul is not running (yet)"; anything else is an error. */
function classifyConsulError(err: Error): { state: 'not-running' | 'error'; message: string } {
  // Refused by the target (directly or at the bastion's end of the tunnel), not a dead tunnel.
  const refused = /ECONNREFUSED|connection refused|could not open a connection|open failed|connect failed/i;
  if (err instanceof ClusterError && err.kind === 'unreachable' && refused.test(err.message)) {
    return {
      state: 'not-running',
      message: `Consul is not running yet: nothing answers at its address (${err.message}). In this workshop Consul is started by a Nomad job.`,
    };
  }
  if (err instanceof ClusterHttpError && err.status >= 500 && /no (cluster )?leader/i.test(err.body)) {
    return {
      state: 'not-running',
      message: `Consul has no leader yet: its servers are not running or have not elected one (${err.message}). In this workshop Consul's servers are started by a Nomad job.`,
    };
  }
  return { state: 'error', message: err.message };
}
