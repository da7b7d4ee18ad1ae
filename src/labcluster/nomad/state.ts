// The simulated cluster's state: the tables (nodes, jobs and their versions, allocations,
// evaluations, deployments), the lookups on them, and commit(), which stamps a write's raft
// index on the objects it touched and publishes their events on the event stream. Nomad's
// nomad/state/state_store.go and nomad/state/events.go, simplified; plus the lab's clock
// (timers that die with the cluster, lab time scaled from Nomad's durations).
import { EventEmitter } from 'node:events';
import { IndexStore, type StreamEvent } from '../store';
import { nowNs } from '../tasks';
import { nodeJson, type LabNode } from '../topology';
import { allocsOfJob, jobKey, type Deployment, type Evaluation, type LabAlloc, type LabNomadOptions, type StoredJob } from './structs';
import { allocatedResources, allocJson, allocStub, jobJson, jobStatus, jobStub, jobSummary } from './stubs';

/** One write: the objects it changed, each with the event type it publishes. */
export interface Changes {
  allocs?: { a: LabAlloc; type: string }[];
  evals?: Evaluation[];
  jobs?: { j: StoredJob; type: string }[];
  nodes?: { n: LabNode; type: string }[];
  deployments?: { d: Deployment; type: string }[];
}

/**
 * The state store. Events on the emitter: 'allocs' and 'nodes' after a write that changed them,
 * 'log' and 'log-closed' from the client's log files, 'closing' on close(); the Consul model
 * emits 'kv' and 'consul' here for the templates that read it.
 */
export class LabState extends EventEmitter {
  readonly store = new IndexStore();
  readonly nodes = new Map<string, LabNode>();
  readonly jobs = new Map<string, StoredJob>();
  readonly jobVersions = new Map<string, StoredJob[]>();
  readonly allocs = new Map<string, LabAlloc>();
  readonly evals = new Map<string, Evaluation>();
  readonly deployments = new Map<string, Deployment>();
  /** job sources sent with registrations (GET /v1/job/:id/submission), by `ns/id@version` */
  readonly submissions = new Map<string, { Source: string; Format: string; VariableFlags: Record<string, string> | null; Variables: string; JobIndex: number }>();
  /** the queued allocations per task group of each job's latest evaluation (the job summary's Queued), by jobKey */
  readonly queued = new Map<string, Record<string, number>>();
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly opts: LabNomadOptions) {
    super();
    this.setMaxListeners(0);
  }

  // ------------------------------------------------------------------ the clock

  /** A timer that dies with the cluster. */
  later(ms: number, fn: () => void, owner?: Set<NodeJS.Timeout>): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      owner?.delete(t);
      if (!this.closed) fn();
    }, Math.max(0, ms));
    this.timers.add(t);
    owner?.add(t);
  }

  /** Cancels the timers `owner` holds (an allocation's), started with later(). */
  cancelTimers(owner: Set<NodeJS.Timeout>): void {
    for (const t of owner) {
      clearTimeout(t);
      this.timers.delete(t);
    }
    owner.clear();
  }

  scaled(ns: number): number {
    return (ns / 1e6) * this.opts.timeScale;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.emit('closing');
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const a of this.allocs.values()) if (a.healthTimer) clearTimeout(a.healthTimer);
    this.store.releaseAll();
    this.removeAllListeners();
  }

  // ------------------------------------------------------------------ lookups

  getJob(ns: string, id: string): StoredJob | undefined {
    return this.jobs.get(jobKey(ns, id));
  }

  jobAllocs(ns: string, id: string): LabAlloc[] {
    return allocsOfJob(this.allocs, ns, id);
  }

  findNode(id: string): LabNode | undefined {
    return this.nodes.get(id) ?? [...this.nodes.values()].find((n) => n.Name === id);
  }

  activeDeployment(job: StoredJob): Deployment | undefined {
    return [...this.deployments.values()].find((d) => d.JobID === job.ID && d.Namespace === job.Namespace && d.JobVersion === job.Version && d.Status === 'running');
  }

  latestDeployment(ns: string, id: string): Deployment | undefined {
    return [...this.deployments.values()].filter((d) => d.JobID === id && d.Namespace === ns).sort((a, b) => b.CreateIndex - a.CreateIndex)[0];
  }

  // ------------------------------------------------------------------ JSON views (./stubs)

  jobStatus(job: StoredJob): string {
    return jobStatus(this, job);
  }

  jobSummary(job: StoredJob): Record<string, unknown> {
    return jobSummary(this, job);
  }

  jobJson(job: StoredJob): Record<string, unknown> {
    return jobJson(this, job);
  }

  jobStub(job: StoredJob, withMeta: boolean): Record<string, unknown> {
    return jobStub(this, job, withMeta);
  }

  allocStub(a: LabAlloc, withResources = false, withTaskStates = true): Record<string, unknown> {
    return allocStub(this, a, withResources, withTaskStates);
  }

  allocatedResources(a: LabAlloc): Record<string, unknown> {
    return allocatedResources(this, a);
  }

  allocJson(a: LabAlloc, withJob = true): Record<string, unknown> {
    return allocJson(this, a, withJob);
  }

  // ------------------------------------------------------------------ events (nomad/state/events.go)

  /** The event payload form of an allocation: the full allocation without its Job. */
  allocEvent(a: LabAlloc, type: string): Omit<StreamEvent, 'Index'> {
    return { Topic: 'Allocation', Type: type, Key: a.ID, Namespace: a.Namespace, FilterKeys: [a.JobID, a.DeploymentID].filter(Boolean), Payload: { Allocation: this.allocJson(a, false) } };
  }

  evalEvent(e: Evaluation): Omit<StreamEvent, 'Index'> {
    return { Topic: 'Evaluation', Type: 'EvaluationUpdated', Key: e.ID, Namespace: e.Namespace, FilterKeys: [e.JobID, e.DeploymentID].filter(Boolean), Payload: { Evaluation: { ...e } } };
  }

  jobEvent(j: StoredJob, type: string): Omit<StreamEvent, 'Index'> {
    return { Topic: 'Job', Type: type, Key: j.ID, Namespace: j.Namespace, FilterKeys: null, Payload: { Job: this.jobJson(j) } };
  }

  nodeEvent(n: LabNode, type: string): Omit<StreamEvent, 'Index'> {
    return { Topic: 'Node', Type: type, Key: n.ID, Namespace: '', FilterKeys: null, Payload: { Node: nodeJson(n) } };
  }

  deploymentEvent(d: Deployment, type: string): Omit<StreamEvent, 'Index'> {
    return { Topic: 'Deployment', Type: type, Key: d.ID, Namespace: d.Namespace, FilterKeys: [d.JobID], Payload: { Deployment: { ...d } } };
  }

  // ------------------------------------------------------------------ writes

  /** Apply one write: stamps the index on the objects and publishes their events. */
  commit(changes: Changes): number {
    const idx = this.store.index + 1;
    const tables = new Set<string>();
    const out: Omit<StreamEvent, 'Index'>[] = [];
    const now = nowNs();
    for (const { j, type } of changes.jobs ?? []) {
      j.ModifyIndex = idx;
      tables.add('jobs').add('job_summary');
      out.push(this.jobEvent(j, type));
    }
    for (const e of changes.evals ?? []) {
      e.ModifyIndex = idx;
      e.ModifyTime = now;
      if (!e.CreateIndex) e.CreateIndex = idx;
      tables.add('evals').add('jobs');
      out.push(this.evalEvent(e));
    }
    for (const { a, type } of changes.allocs ?? []) {
      a.ModifyIndex = idx;
      a.ModifyTime = now;
      if (!a.CreateIndex) a.CreateIndex = idx;
      tables.add('allocs').add('job_summary').add('jobs');
      out.push(this.allocEvent(a, type));
    }
    for (const { n, type } of changes.nodes ?? []) {
      n.ModifyIndex = idx;
      tables.add('nodes');
      out.push(this.nodeEvent(n, type));
    }
    for (const { d, type } of changes.deployments ?? []) {
      d.ModifyIndex = idx;
      if (!d.CreateIndex) d.CreateIndex = idx;
      tables.add('deployment');
      out.push(this.deploymentEvent(d, type));
    }
    const written = this.store.write([...tables], out);
    if (changes.allocs?.length) this.emit('allocs', changes.allocs.map((x) => x.a));
    if (changes.nodes?.length) this.emit('nodes', changes.nodes.map((x) => x.n));
    return written;
  }

  /** One allocation changed (the client's updates, Node.UpdateAlloc). */
  updateAlloc(a: LabAlloc, type = 'AllocationUpdated'): void {
    this.commit({ allocs: [{ a, type }] });
  }
}
