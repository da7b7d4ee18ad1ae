/**
 * What the cluster model holds, as the views and commands read it: servers, nodes by datacenter
 * and zone, jobs, task groups and allocations with their counts, Consul members and services,
 * and what changed since the last change event.
 */
import type { Event } from '../common/events';

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
