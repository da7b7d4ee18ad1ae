/**
 * The one shared picture of an attendee's cluster that every view renders: Nomad servers,
 * client nodes by datacenter and zone, jobs → task groups → allocations, Consul members and
 * services. It keeps itself current with blocking queries and Nomad's event stream (never a
 * fixed-interval poll), applies changes incrementally by ID (thousands of allocations stay
 * cheap), and tells listeners exactly what changed so a view refreshes only that.
 */
import { setMaxListeners } from 'node:events';
import { Emitter, type Event } from '../common/events';
import { silentLogger, type Logger } from '../common/logger';
import { backoffDelay, defaultBackoff, type BackoffOptions } from '../common/backoff';
import type { ConsulClient } from './consul';
import { consulMemberStatus } from './consul';
import { ClusterError, ClusterHttpError, ResponseShapeError, shapeProblems } from './errors';
import type { NomadClient } from './nomad';
import {
  nomadAllocationSchema,
  type ConsulHealthCheck,
  type ConsulMember,
  type NomadAllocation,
  type NomadJobStub,
  type NomadMembers,
  type NomadNodeStub,
} from './schemas';
import { sleep, watchBlocking, type Watch } from './watch';

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

// ------------------------------------------------------------------ public shapes

export type ClusterSection = 'connection' | 'nomad' | 'servers' | 'nodes' | 'jobs' | 'allocations' | 'consul';

/**
 * What the model needs of the connection underneath (a TunnelManager fits); structural, so
 * this module does not depend on the tunnel.
 */
export interface ConnectionSource {
  readonly state: string;
  readonly lastError?: { message: string };
  readonly onDidChangeState: Event<{ state: string; previous: string }>;
}

export interface ConnectionStatus {
  /** The tunnel's state (disconnected | connecting | connected | reconnecting | failed), or `direct` without one. */
  state: string;
  error?: string;
}

export interface SectionStatus {
  state: 'loading' | 'ready' | 'error';
  /** What is wrong, in one sentence (state `error`). */
  error?: string;
}

export interface ConsulStatus {
  /** `not-running`: nothing answers at Consul's address yet, or it has no leader. `disabled`: no Consul client given. */
  state: 'loading' | 'ready' | 'not-running' | 'error' | 'disabled';
  error?: string;
}

export interface AllocationCounts {
  total: number;
  pending: number;
  running: number;
  complete: number;
  failed: number;
  lost: number;
  unknown: number;
}

export interface ServerInfo {
  name: string;
  /** Serf address. */
  address: string;
  /** RPC address (`ip:4647`), the form /v1/status/leader and /peers use. */
  rpcAddress: string;
  /** alive | leaving | left | failed | none */
  status: string;
  datacenter?: string;
  region?: string;
  version?: string;
  leader: boolean;
  raftPeer: boolean;
}

export interface NodeInfo {
  id: string;
  name: string;
  address?: string;
  datacenter: string;
  /** `platform.gce.zone` (or the configured attribute); undefined when the node has none. */
  zone?: string;
  nodePool?: string;
  /** initializing | ready | down | disconnected */
  status: string;
  statusDescription?: string;
  /** eligible | ineligible */
  eligibility: string;
  drain: boolean;
  version?: string;
  allocations: AllocationCounts;
}

export interface ZoneGroup {
  /** '' for nodes without a zone attribute. */
  zone: string;
  nodes: NodeInfo[];
}

export interface DatacenterGroup {
  datacenter: string;
  zones: ZoneGroup[];
}

export interface JobInfo {
  /** `<namespace>/<id>`: unique across namespaces, and a stable tree-node id. */
  key: string;
  id: string;
  namespace: string;
  name: string;
  /** service | batch | system | sysbatch */
  type: string;
  /** pending | running | dead */
  status: string;
  stop: boolean;
  datacenters: string[];
  taskGroups: string[];
  allocations: AllocationCounts;
  modifyIndex: number;
}

export interface TaskGroupInfo {
  jobKey: string;
  name: string;
  allocations: AllocationCounts;
}

export interface TaskSummary {
  name: string;
  /** pending | running | dead */
  state: string;
  failed: boolean;
  restarts: number;
}

export interface TaskEventInfo {
  task: string;
  type: string;
  message: string;
  /** Unix ms. */
  time: number;
}

export interface AllocationInfo {
  id: string;
  shortId: string;
  /** `<job>.<group>[<index>]` */
  name: string;
  namespace: string;
  jobId: string;
  jobKey: string;
  taskGroup: string;
  nodeId: string;
  nodeName?: string;
  zone?: string;
  /** pending | running | complete | failed | lost | unknown */
  clientStatus: string;
  /** run | stop | evict */
  desiredStatus: string;
  clientDescription?: string;
  /** Unix ms; age = now - createTime. */
  createTime: number;
  modifyTime: number;
  restarts: number;
  tasks: TaskSummary[];
  /** For failed or lost allocations (or ones with a failed task): the last task event, the likely reason. */
  lastEvent?: TaskEventInfo;
  /** One line why it failed: the last event's message, else the client's description. */
  reason?: string;
  modifyIndex: number;
}

export interface ConsulMemberInfo {
  name: string;
  address: string;
  /** Consul servers carry role `consul`, client agents role `node`. */
  role: 'server' | 'client';
  /** alive | leaving | left | failed | none */
  status: string;
  datacenter?: string;
  leader: boolean;
}

export interface ConsulServiceInfo {
  name: string;
  tags: string[];
  /** Service instances that have at least one check. */
  instances: number;
  checks: { passing: number; warning: number; critical: number };
}

export interface IdChanges {
  added: string[];
  updated: string[];
  removed: string[];
}

/** What changed since the last event; a view refreshes only the sections (and ids) named. */
export interface ClusterChange {
  sections: ClusterSection[];
  nodes?: IdChanges;
  jobs?: IdChanges;
  allocations?: IdChanges;
}

export interface ClusterSnapshot {
  connection: ConnectionStatus;
  nomad: SectionStatus;
  consul: ConsulStatus;
  servers: ServerInfo[];
  datacenters: DatacenterGroup[];
  jobs: JobInfo[];
  allocations: AllocationInfo[];
  consulMembers: ConsulMemberInfo[];
  consulServices: ConsulServiceInfo[];
}

export interface ClusterModelOptions {
  nomad: NomadClient;
  /** Leave out to run without Consul (its section then reports `disabled`). */
  consul?: ConsulClient;
  /** Node attribute that names the zone (default `platform.gce.zone`). */
  zoneAttribute?: string;
  /** Use /v1/event/stream for allocations (default true); falls back to blocking queries when refused. */
  useEventStream?: boolean;
  /** An event stream without a line (heartbeats included) for this long is reopened (default 95 s). */
  streamIdleTimeoutMs?: number;
  /** Longest server-side wait of a blocking query, in seconds (default 300). */
  waitSeconds?: number;
  backoff?: BackoffOptions;
  /** The tunnel the clients ride: its state is reported, and a reconnect triggers a full re-read. */
  connection?: ConnectionSource;
  log?: Logger;
}

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

/** An HTTP status that says "this server does not offer the event stream to us". */
function streamRefused(err: unknown): boolean {
  return err instanceof ClusterHttpError && [400, 403, 404, 405, 501].includes(err.status);
}

type NomadSource = 'servers' | 'nodes' | 'jobs' | 'allocations';
type ConsulSource = 'members' | 'services' | 'health';

// ------------------------------------------------------------------ the model

export class ClusterModel {
  private readonly changeEmitter = new Emitter<ClusterChange>();
  /** Fires (at most once per tick) with what changed. */
  readonly onDidChange: Event<ClusterChange> = this.changeEmitter.event;

  readonly nomadClient: NomadClient;
  readonly consulClient: ConsulClient | undefined;
  private readonly log: Logger;
  private readonly zoneAttribute: string;
  private readonly backoff: BackoffOptions;

  // state
  private servers: ServerInfo[] = [];
  private readonly nodes = new Map<string, Omit<NodeInfo, 'allocations'>>();
  private readonly zoneById = new Map<string, string | null>();
  private readonly zoneFetches = new Set<string>();
  private readonly jobs = new Map<string, Omit<JobInfo, 'allocations' | 'taskGroups'> & { summaryGroups: string[] }>();
  private readonly allocs = new Map<string, AllocationInfo>();
  private readonly allocsByJob = new Map<string, Set<string>>();
  private readonly allocsByNode = new Map<string, Set<string>>();
  /**
   * Counts per job (and task group) and per node, kept as running sums as allocations come and
   * go: every job and node row shows them, and recounting a job's allocations for each row made
   * one allocation update cost a pass over all 10,000 (bench/README.md, scale).
   */
  private readonly countsByJob = new Map<string, JobCounts>();
  private readonly countsByNode = new Map<string, AllocationCounts>();
  private consulMembers: ConsulMemberInfo[] = [];
  private consulServiceTags: Record<string, string[]> = {};
  /** Instances per service name: which node runs which service id. */
  private consulInstances: Record<string, { node: string; serviceId: string }[]> = {};
  private consulChecks: ConsulHealthCheck[] = [];
  private consulLeader = '';

  // status
  private readonly nomadLoaded = new Set<NomadSource>();
  private readonly nomadErrors = new Map<NomadSource, string>();
  private readonly consulLoaded = new Set<ConsulSource>();
  private readonly consulErrors = new Map<ConsulSource, { state: 'not-running' | 'error'; message: string }>();
  private lastNomadStatus = '';
  private lastConsulStatus = '';

  // pending change
  private readonly pendingSections = new Set<ClusterSection>();
  private readonly pendingNodes = new IdChangeSet();
  private readonly pendingJobs = new IdChangeSet();
  private readonly pendingAllocs = new IdChangeSet();
  private flushScheduled = false;

  // loops
  private abort: AbortController | undefined;
  private watches: Watch[] = [];
  private loops: Promise<void>[] = [];
  private serversRefreshedAt = 0;
  private serversRefreshing: Promise<void> | undefined;
  private membersRefreshedAt = 0;
  private membersRefreshing: Promise<void> | undefined;
  private disposed = false;
  private readonly connectionSub: { dispose(): void } | undefined;

  constructor(private readonly options: ClusterModelOptions) {
    this.nomadClient = options.nomad;
    this.consulClient = options.consul;
    this.log = options.log ?? silentLogger;
    this.zoneAttribute = options.zoneAttribute ?? 'platform.gce.zone';
    this.backoff = options.backoff ?? defaultBackoff;
    this.connectionSub = options.connection?.onDidChangeState((e) => {
      this.markSection('connection');
      // Back after a cut: re-read everything now instead of waiting out the watchers' backoff.
      if (e.state === 'connected' && e.previous === 'reconnecting' && this.abort) {
        this.log.info('cluster model: connection is back; re-reading the cluster');
        void this.refresh();
      }
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts watching. Safe to call again after stop(). */
  start(): void {
    if (this.disposed) throw new Error('the cluster model was disposed');
    if (this.abort) return;
    const abort = (this.abort = new AbortController());
    const signal = abort.signal;
    // Every request of the model listens on this one signal (a dozen at once is normal:
    // watchers, server reads, one zone read per new node).
    setMaxListeners(0, signal);
    const wait = this.options.waitSeconds ?? 300;
    const nomad = this.nomadClient;

    this.loops.push(this.refreshServers(true));
    this.watches.push(
      watchBlocking({
        query: (index, s) => nomad.nodes({ index, waitSeconds: wait, signal: s }),
        onChange: (data) => {
          this.replaceNodes(data);
          this.loaded('nodes');
          void this.refreshServers(false);
        },
        onError: (err, attempt, delay) => this.nomadError('nodes', err, attempt, delay),
        onRecovered: () => void this.refreshServers(true),
        backoff: this.backoff,
        signal,
      }),
      watchBlocking({
        query: (index, s) => nomad.jobs({ index, waitSeconds: wait, signal: s }),
        onChange: (data) => {
          this.replaceJobs(data);
          this.loaded('jobs');
        },
        onError: (err, attempt, delay) => this.nomadError('jobs', err, attempt, delay),
        backoff: this.backoff,
        signal,
      }),
    );
    this.loops.push(this.runAllocations(signal, wait));

    if (this.consulClient) this.startConsul(this.consulClient, signal, wait);
    else this.markSection('consul');
    this.updateStatus();
  }

  /** Stops watching; the last known state stays readable. */
  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    this.abort = undefined;
    abort.abort();
    const watches = this.watches;
    const loops = this.loops;
    this.watches = [];
    this.loops = [];
    await Promise.all([...watches.map((w) => w.done), ...loops]);
  }

  /** Re-reads everything now (a "Retry" action, or after the tunnel reconnected). */
  async refresh(): Promise<void> {
    await this.stop();
    this.nomadErrors.clear();
    this.consulErrors.clear();
    this.start();
  }

  async dispose(): Promise<void> {
    this.connectionSub?.dispose();
    await this.stop();
    this.disposed = true;
    this.changeEmitter.dispose();
  }

  /**
   * Resolves once `predicate` holds, re-checking after every change; rejects after
   * `timeoutMs` (default 10 s) with `what` in the message.
   */
  waitFor(predicate: (model: ClusterModel) => boolean, what = 'the cluster model', timeoutMs = 10_000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const sub = this.onDidChange(() => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        sub.dispose();
        resolve();
      });
    });
  }

  // ---------------------------------------------------------------- reads

  get connectionStatus(): ConnectionStatus {
    const c = this.options.connection;
    if (!c) return { state: 'direct' };
    return c.state === 'connected' || !c.lastError ? { state: c.state } : { state: c.state, error: c.lastError.message };
  }

  get nomadStatus(): SectionStatus {
    const error = this.nomadErrors.values().next().value as string | undefined;
    if (error) return { state: 'error', error };
    return { state: this.nomadLoaded.size === 4 ? 'ready' : 'loading' };
  }

  get consulStatus(): ConsulStatus {
    if (!this.consulClient) return { state: 'disabled' };
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

  // ---------------------------------------------------------------- Nomad: servers

  private refreshServers(force: boolean): Promise<void> {
    // Servers have no blocking endpoint: re-read them when something else moved, at most every 5 s.
    if (this.serversRefreshing) return this.serversRefreshing;
    if (!force && Date.now() - this.serversRefreshedAt < 5000) return Promise.resolve();
    const signal = this.abort?.signal;
    this.serversRefreshing = (async () => {
      try {
        const [members, leader, peers] = await Promise.all([
          this.nomadClient.members(signal),
          this.nomadClient.leader(signal),
          this.nomadClient.peers(signal),
        ]);
        if (signal?.aborted) return;
        this.serversRefreshedAt = Date.now();
        this.setServers(members, leader, peers);
        this.loaded('servers');
      } catch (err) {
        if (signal?.aborted) return;
        this.nomadError('servers', err as Error);
      } finally {
        this.serversRefreshing = undefined;
      }
    })();
    return this.serversRefreshing;
  }

  private setServers(members: NomadMembers, leader: string, peers: string[]): void {
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

  private replaceNodes(stubs: NomadNodeStub[]): void {
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
      if (!this.zoneById.has(stub.ID)) void this.fetchZone(stub.ID);
    }
    for (const id of [...this.nodes.keys()]) {
      if (seen.has(id)) continue;
      this.nodes.delete(id);
      this.zoneById.delete(id);
      this.pendingNodes.remove(id);
      this.markSection('nodes');
    }
  }

  private async fetchZone(id: string): Promise<void> {
    if (this.zoneFetches.has(id)) return;
    this.zoneFetches.add(id);
    try {
      const node = await this.nomadClient.node(id, this.abort?.signal);
      this.setZone(id, node.Attributes?.[this.zoneAttribute] ?? null);
    } catch (err) {
      if (!(err instanceof ClusterError && err.kind === 'aborted')) this.log.warn(`cannot read the zone of node ${id}: ${describe(err)}`);
    } finally {
      this.zoneFetches.delete(id);
    }
  }

  private setZone(nodeId: string, zone: string | null): void {
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

  private replaceJobs(stubs: NomadJobStub[]): void {
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

  /**
   * The full list once, then the event stream from the list's index on; after a broken
   * stream, a full re-read (diffed by ID) and a new stream. Servers that refuse the stream
   * get a blocking query on the list instead.
   */
  private async runAllocations(signal: AbortSignal, wait: number): Promise<void> {
    let failures = 0;
    let streamWorked = false;
    while (!signal.aborted) {
      let phase: 'list' | 'stream' = 'list';
      try {
        const list = await this.nomadClient.allocations({ signal });
        if (signal.aborted) break;
        this.replaceAllocations(list.data);
        this.loaded('allocations');
        if (this.options.useEventStream === false) break;
        phase = 'stream';
        // Nomad sends a heartbeat every 30 s; a stream silent for longer is dead even if
        // no socket error says so (a half-open connection).
        const idleMs = this.options.streamIdleTimeoutMs ?? 95_000;
        const streamAbort = new AbortController();
        const onAbort = () => streamAbort.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        let idle = false;
        let watchdog = setTimeout(() => ((idle = true), streamAbort.abort()), idleMs);
        try {
          for await (const batch of this.nomadClient.events({ topics: ['Allocation'], index: list.index + 1, signal: streamAbort.signal })) {
            clearTimeout(watchdog);
            watchdog = setTimeout(() => ((idle = true), streamAbort.abort()), idleMs);
            if (!streamWorked) {
              streamWorked = true;
              this.log.info('Nomad event stream open: allocations update live');
            }
            if (failures) {
              failures = 0;
              this.clearNomadError('allocations');
            }
            if (!batch.heartbeat) this.applyAllocationEvents(batch.events);
          }
        } finally {
          clearTimeout(watchdog);
          signal.removeEventListener('abort', onAbort);
        }
        if (signal.aborted) break;
        this.log.info(idle ? `Nomad event stream silent for ${idleMs} ms; reopening it` : 'Nomad event stream ended; re-reading allocations');
      } catch (err) {
        if (signal.aborted) break;
        if (phase === 'stream' && !streamWorked && streamRefused(err)) {
          this.log.warn(`Nomad refused the event stream (${describe(err)}); watching allocations with blocking queries instead`);
          break;
        }
        const delay = backoffDelay(this.backoff, failures);
        failures++;
        this.nomadError('allocations', err as Error, failures, delay);
        await sleep(delay, signal);
      }
    }
    if (signal.aborted) return;
    // Fallback: a blocking query on the whole list, diffed by ID.
    const watch = watchBlocking({
      query: (index, s) => this.nomadClient.allocations({ index, waitSeconds: wait, signal: s }),
      onChange: (data) => {
        this.replaceAllocations(data);
        this.loaded('allocations');
      },
      onError: (err, attempt, delay) => this.nomadError('allocations', err, attempt, delay),
      backoff: this.backoff,
      signal,
    });
    await watch.done;
  }

  private applyAllocationEvents(events: { Topic: string; Type: string; Key: string; Payload: Record<string, unknown> }[]): void {
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

  private replaceAllocations(list: NomadAllocation[]): void {
    // The first load has nothing to remove: skip the bookkeeping of what was seen.
    const seen = this.allocs.size ? new Set<string>() : undefined;
    for (const a of list) {
      seen?.add(a.ID);
      this.upsertAllocation(a);
    }
    if (seen) for (const id of [...this.allocs.keys()]) if (!seen.has(id)) this.removeAllocation(id);
  }

  private upsertAllocation(raw: NomadAllocation): void {
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

  private removeAllocation(id: string): void {
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

  private index(map: Map<string, Set<string>>, key: string, id: string): void {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(id);
  }

  private unindex(a: AllocationInfo): void {
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
  private count(a: AllocationInfo, sign: 1 | -1): void {
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

  private startConsul(consul: ConsulClient, signal: AbortSignal, wait: number): void {
    this.loops.push(this.refreshConsulMembers(true));
    this.watches.push(
      watchBlocking({
        // The catalog's index moves with every instance change, so the instances are re-read with it.
        query: async (index, s) => {
          const res = await consul.services({ index, waitSeconds: wait, signal: s });
          if (res.index === index && index !== 0) return { ...res, data: undefined };
          const names = Object.keys(res.data);
          const lists = await Promise.all(names.map((n) => consul.service(n, { signal: s })));
          const instances: Record<string, { node: string; serviceId: string }[]> = {};
          names.forEach((n, i) => (instances[n] = lists[i]!.data.map((e) => ({ node: e.Node, serviceId: e.ServiceID }))));
          return { ...res, data: { services: res.data, instances } };
        },
        onChange: (data) => {
          if (!data) return;
          const tags: Record<string, string[]> = {};
          for (const [name, t] of Object.entries(data.services)) tags[name] = t ?? [];
          const next = JSON.stringify([tags, data.instances]);
          if (next !== JSON.stringify([this.consulServiceTags, this.consulInstances])) {
            this.consulServiceTags = tags;
            this.consulInstances = data.instances;
            this.markSection('consul');
          }
          this.consulSourceLoaded('services');
        },
        onError: (err, attempt, delay) => this.consulError('services', err, attempt, delay),
        onRecovered: () => void this.refreshConsulMembers(true),
        backoff: this.backoff,
        signal,
      }),
      watchBlocking({
        query: (index, s) => consul.healthState('any', { index, waitSeconds: wait, signal: s }),
        onChange: (data) => {
          this.consulChecks = data;
          this.markSection('consul');
          this.consulSourceLoaded('health');
          // A member joining, leaving or failing changes its serfHealth check: re-read members then.
          void this.refreshConsulMembers(false);
        },
        onError: (err, attempt, delay) => this.consulError('health', err, attempt, delay),
        backoff: this.backoff,
        signal,
      }),
    );
  }

  private refreshConsulMembers(force: boolean): Promise<void> {
    const consul = this.consulClient;
    if (!consul) return Promise.resolve();
    if (this.membersRefreshing) return this.membersRefreshing;
    if (!force && Date.now() - this.membersRefreshedAt < 1000) return Promise.resolve();
    const signal = this.abort?.signal;
    this.membersRefreshing = (async () => {
      try {
        const [members, leader] = await Promise.all([consul.members(signal), consul.leader(signal)]);
        if (signal?.aborted) return;
        this.membersRefreshedAt = Date.now();
        this.consulLeader = leader;
        this.setConsulMembers(members);
        this.consulSourceLoaded('members');
      } catch (err) {
        if (signal?.aborted) return;
        this.consulError('members', err as Error);
      } finally {
        this.membersRefreshing = undefined;
      }
    })();
    return this.membersRefreshing;
  }

  private setConsulMembers(members: ConsulMember[]): void {
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

  private loaded(source: NomadSource): void {
    this.nomadLoaded.add(source);
    this.clearNomadError(source);
    this.updateStatus();
  }

  private clearNomadError(source: NomadSource): void {
    if (this.nomadErrors.delete(source)) this.updateStatus();
  }

  private nomadError(source: NomadSource, err: Error, attempt?: number, retryInMs?: number): void {
    const retry = retryInMs !== undefined ? ` (retry ${attempt} in ${retryInMs} ms)` : '';
    this.log.warn(`cluster model: ${source}: ${err.message}${retry}`);
    this.nomadErrors.set(source, err.message);
    this.updateStatus();
  }

  private consulSourceLoaded(source: ConsulSource): void {
    this.consulLoaded.add(source);
    this.consulErrors.delete(source);
    this.updateStatus();
  }

  private consulError(source: ConsulSource, err: Error, attempt?: number, retryInMs?: number): void {
    const retry = retryInMs !== undefined ? ` (retry ${attempt} in ${retryInMs} ms)` : '';
    this.log.warn(`cluster model: consul ${source}: ${err.message}${retry}`);
    this.consulErrors.set(source, classifyConsulError(err));
    this.updateStatus();
  }

  private updateStatus(): void {
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

  private markSection(section: ClusterSection): void {
    this.pendingSections.add(section);
    if (this.flushScheduled || this.disposed) return;
    this.flushScheduled = true;
    // One event per tick: a list of 10,000 allocations is one change, not 10,000.
    setImmediate(() => this.flush());
  }

  private flush(): void {
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
