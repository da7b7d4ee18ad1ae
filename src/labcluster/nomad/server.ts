// The simulated Nomad cluster, as one agent running servers and clients (`nomad agent -dev`
// style): the state (./state), the endpoints that change it (job register, deregister, revert
// and plan; node status, eligibility and drain; allocation stop and restart), the evaluation
// queue feeding the scheduler (./scheduler) and the plan applier (./planApply), the deployment
// watcher, the drainer and the client side (./client). Nomad's nomad/server.go with the RPC
// endpoints of nomad/job_endpoint.go, node_endpoint.go and alloc_endpoint.go, the eval broker
// and blocked evaluations (nomad/eval_broker.go, blocked_evals.go) and nomad/worker.go,
// simplified.
import { canonicalizeJob, DockerRegistryModel, type NomadJob, type Service } from '../jobspec';
import { nowNs } from '../tasks';
import { buildNodes, nodeJson, type LabNode } from '../topology';
import { LabClient } from './client/allocRunner';
import { logData } from './client/logmon';
import { interpolate, tasksOf } from './client/taskEnv';
import { DeploymentWatcher } from './deploymentWatcher';
import { jobDiff } from './diff';
import { drainNode } from './drainer';
import { applyPlan } from './planApply';
import type { PlanResult } from './scheduler/context';
import { reconcile } from './scheduler/reconcile';
import { LabState } from './state';
import { BadRequest, isTerminal, jobKey, newEvaluation, NotFound, type Deployment, type Evaluation, type LabAlloc, type LabNomadOptions, type StoredJob } from './structs';

export class LabNomad extends LabState {
  readonly registry = new DockerRegistryModel();
  /** whether templates can read Consul (set by the cluster once its Consul model exists) */
  consulAvailable: () => boolean = () => false;
  leaderIndex = 0;
  private readonly deploymentWatcher = new DeploymentWatcher(this, this);
  private readonly client = new LabClient(this, this.deploymentWatcher);

  constructor(opts: LabNomadOptions) {
    super(opts);
    for (const n of buildNodes(opts.topology, opts.name, 1)) this.nodes.set(n.ID, n);
    this.on('kv', (key: string) => this.client.templatesChanged(key));
  }

  servers(): LabNode[] {
    return [...this.nodes.values()].filter((n) => n.isServer);
  }

  /** The leader is the first server (by name) whose node is up; the others follow it. */
  leader(): LabNode | undefined {
    const servers = this.servers().sort((a, b) => a.Name.localeCompare(b.Name));
    const up = servers.filter((s) => s.Status !== 'down');
    if (up.length * 2 <= servers.length) return undefined;
    return up[this.leaderIndex % up.length];
  }

  // ------------------------------------------------------------------ evaluations

  /** Creates an evaluation and processes it on the next tick (the scheduler worker). */
  enqueueEval(job: StoredJob, triggeredBy: string, extra: Partial<Evaluation> = {}): Evaluation {
    const e = newEvaluation(job, triggeredBy, extra);
    this.evals.set(e.ID, e);
    this.commit({ evals: [e] });
    this.later(this.opts.stepMs / 2, () => this.processEval(e.ID));
    return e;
  }

  /** Compute what the scheduler would do for `job` now (used by evals and by plan). */
  reconcile(job: StoredJob, salt: string): PlanResult {
    return reconcile(this, job, salt);
  }

  /** The worker: run the scheduler for a pending evaluation and apply its plan. */
  processEval(evalId: string): void {
    const e = this.evals.get(evalId);
    if (!e || e.Status !== 'pending') return;
    const job = this.getJob(e.Namespace, e.JobID);
    if (!job) {
      e.Status = 'complete';
      e.QueuedAllocations = {};
      this.commit({ evals: [e] });
      return;
    }
    const plan = this.reconcile(job, e.ID);
    applyPlan(this, this.client, this.deploymentWatcher, job, plan, e);
  }

  /** Re-run blocked evaluations (capacity or nodes changed). */
  unblock(): void {
    for (const e of [...this.evals.values()]) {
      if (e.Status !== 'blocked') continue;
      const job = this.getJob(e.Namespace, e.JobID);
      e.Status = 'pending';
      e.StatusDescription = '';
      this.commit({ evals: [e] });
      if (job) this.later(this.opts.stepMs / 2, () => this.processEval(e.ID));
    }
  }

  // ------------------------------------------------------------------ jobs

  registerJob(input: NomadJob, ns: string): { job: StoredJob; evalId: string; index: number } {
    const canon = canonicalizeJob(input, { server: true });
    const k = jobKey(ns, canon.ID);
    const prev = this.jobs.get(k);
    const spec = (j: NomadJob): string => {
      const { Status: _s, StatusDescription: _sd, Version: _v, SubmitTime: _st, CreateIndex: _ci, ModifyIndex: _mi, JobModifyIndex: _jmi, Stable: _sb, Stop: _sp, ...rest } = j;
      return JSON.stringify(rest);
    };
    const changed = !prev || spec(prev) !== spec(canon) || prev.Stop !== !!canon.Stop;
    const idx = this.store.index + 1;
    const job: StoredJob = {
      ...(canon as StoredJob),
      Namespace: ns,
      Type: canon.Type ?? 'service',
      Stop: !!canon.Stop,
      Status: 'pending',
      StatusDescription: '',
      Stable: false,
      Version: prev ? (changed ? prev.Version + 1 : prev.Version) : 0,
      SubmitTime: nowNs(),
      CreateIndex: prev?.CreateIndex ?? idx,
      ModifyIndex: idx,
      JobModifyIndex: changed || !prev ? idx : prev.JobModifyIndex,
    };
    this.jobs.set(k, job);
    if (changed) {
      const versions = this.jobVersions.get(k) ?? [];
      versions.unshift(job);
      this.jobVersions.set(k, versions.slice(0, 6));
    }
    const index = this.commit({ jobs: [{ j: job, type: 'JobRegistered' }] });
    if (changed && job.Type === 'service' && !job.Stop) this.deploymentWatcher.create(job);
    const e = this.enqueueEval(job, 'job-register');
    return { job, evalId: e.ID, index: Math.max(index, e.CreateIndex) };
  }

  deregisterJob(ns: string, id: string, purge: boolean): { evalId: string; index: number } {
    const k = jobKey(ns, id);
    const job = this.jobs.get(k);
    if (!job) throw new NotFound('job not found');
    this.deploymentWatcher.cancelRunning(ns, id, 'Cancelled because job is stopped');
    if (purge) {
      this.jobs.delete(k);
      this.jobVersions.delete(k);
      this.commit({ jobs: [{ j: job, type: 'JobDeregistered' }] });
    } else {
      job.Stop = true;
      job.JobModifyIndex = this.store.index + 1;
      job.Version += 1;
      this.commit({ jobs: [{ j: job, type: 'JobDeregistered' }] });
    }
    const e = this.enqueueEval(job, 'job-deregister');
    return { evalId: e.ID, index: e.CreateIndex };
  }

  /** POST /v1/job/:id/revert: register an earlier version again (as a new version). */
  revertJob(ns: string, id: string, version: number): { job: StoredJob; evalId: string; index: number } {
    const versions = this.jobVersions.get(jobKey(ns, id));
    if (!versions) throw new NotFound('job not found');
    const old = versions.find((v) => v.Version === version);
    if (!old) throw new BadRequest(`job "${id}" in namespace "${ns}" at version ${version} not found`);
    const current = this.getJob(ns, id);
    if (current && current.Version === version) throw new BadRequest(`can't revert to current version`);
    return this.registerJob({ ...old, Stop: false }, ns);
  }

  /** A dry run of registering `input` (POST /v1/job/:id/plan). */
  plan(input: NomadJob, ns: string, withDiff: boolean): Record<string, unknown> {
    const canon = canonicalizeJob(input, { server: true });
    const prev = this.getJob(ns, canon.ID);
    const job: StoredJob = {
      ...(canon as StoredJob),
      Namespace: ns,
      Type: canon.Type ?? 'service',
      Stop: !!canon.Stop,
      Version: prev ? prev.Version + 1 : 0,
      Status: 'pending',
      SubmitTime: nowNs(),
      CreateIndex: prev?.CreateIndex ?? 0,
      ModifyIndex: 0,
      JobModifyIndex: 0,
    };
    const specOf = (j: NomadJob) => JSON.stringify(j.TaskGroups);
    if (prev && specOf(prev) === specOf(job) && prev.Stop === job.Stop) job.Version = prev.Version;
    const result = this.reconcile(job, 'plan');
    const failed = Object.keys(result.failed).length ? result.failed : null;
    const createdEvals = failed ? [newEvaluation(job, 'queued-allocs', { Status: 'blocked', StatusDescription: 'created to place remaining allocations' })] : null;
    return {
      Annotations: { DesiredTGUpdates: result.desired, PreemptedAllocs: null },
      FailedTGAllocs: failed,
      JobModifyIndex: prev?.JobModifyIndex ?? 0,
      CreatedEvals: createdEvals,
      Diff: withDiff ? jobDiff(prev, job, result) : null,
      NextPeriodicLaunch: '0001-01-01T00:00:00Z',
      Warnings: '',
      Index: this.store.index,
    };
  }

  // ------------------------------------------------------------------ deployments

  /** POST /v1/deployment/fail/:id: mark it failed (rolling back when auto_revert is set). */
  failDeployment(d: Deployment): { evalId: string; index: number; revertedTo: number | null } {
    return this.deploymentWatcher.fail(d);
  }

  // ------------------------------------------------------------------ nodes and faults

  setNodeStatus(node: LabNode, status: 'ready' | 'down', why: string): void {
    if (node.Status === status) return;
    node.Status = status;
    node.StatusUpdatedAt = Math.floor(Date.now() / 1000);
    node.Events = [...node.Events, { Message: status === 'down' ? 'Node heartbeat missed' : 'Node reregistered by heartbeat', Subsystem: 'Cluster', Details: why ? { reason: why } : null, Timestamp: new Date().toISOString(), CreateIndex: this.store.index + 1 }].slice(-10);
    this.commit({ nodes: [{ n: node, type: 'NodeStreamEvent' }] });
    this.nodeUpdateEvals(node);
    if (status === 'ready') this.unblock();
  }

  /** Evaluate every job with allocations on the node, and system jobs that may want it. */
  nodeUpdateEvals(node: LabNode, trigger = 'node-update'): void {
    const jobs = new Set<string>();
    for (const a of this.allocs.values()) if (a.NodeID === node.ID && !isTerminal(a)) jobs.add(jobKey(a.Namespace, a.JobID));
    for (const j of this.jobs.values()) if (j.Type === 'system' || j.Type === 'sysbatch') jobs.add(jobKey(j.Namespace, j.ID));
    for (const k of jobs) {
      const job = this.jobs.get(k);
      if (job && !job.Stop) this.enqueueEval(job, trigger, { NodeID: node.ID, NodeModifyIndex: node.ModifyIndex });
    }
  }

  setEligibility(node: LabNode, eligible: boolean): number {
    node.SchedulingEligibility = eligible ? 'eligible' : 'ineligible';
    const idx = this.commit({ nodes: [{ n: node, type: 'NodeEligibility' }] });
    if (eligible) {
      this.unblock();
      this.nodeUpdateEvals(node);
    }
    return idx;
  }

  drainNode(node: LabNode, spec: { Deadline: number; IgnoreSystemJobs: boolean } | null, markEligible: boolean, meta: Record<string, string> | null): number {
    return drainNode(this, node, spec, markEligible, meta);
  }

  setDockerPlugin(node: LabNode, volumes: boolean, privileged: boolean, refresh: (n: LabNode) => void): void {
    node.dockerVolumes = volumes;
    node.dockerPrivileged = privileged;
    refresh(node);
    this.commit({ nodes: [{ n: node, type: 'NodeRegistration' }] });
  }

  nodeJsonOf(n: LabNode): Record<string, unknown> {
    return nodeJson(n);
  }

  // ------------------------------------------------------------------ allocations

  /** POST /v1/allocation/:id/stop: stop it and let the scheduler place a replacement. */
  stopAlloc(a: LabAlloc): { evalId: string; index: number } {
    a.DesiredTransition = { ...a.DesiredTransition, Migrate: true };
    const job = this.getJob(a.Namespace, a.JobID);
    if (!job) throw new NotFound('job not found');
    const e = this.enqueueEval(job, 'alloc-stop');
    return { evalId: e.ID, index: e.CreateIndex };
  }

  /** POST /v1/client/allocation/:id/restart. */
  restartAlloc(a: LabAlloc, task: string | undefined): void {
    this.client.restartAlloc(a, task);
  }

  /** A task's log file, with the lines a long-running container wrote since (materialised lazily). */
  logData(a: LabAlloc, task: string, type: 'stdout' | 'stderr'): Buffer {
    return logData(a, task, type);
  }

  hasTask(a: LabAlloc, task: string): boolean {
    return tasksOf(a).some((t) => t.Name === task);
  }

  allocNodes(a: LabAlloc): LabNode | undefined {
    return this.nodes.get(a.NodeID);
  }

  servicesOf(a: LabAlloc): { service: Service; task: string }[] {
    const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup);
    return [...(tg?.Services ?? []).map((s) => ({ service: s, task: `group-${a.TaskGroup}` })), ...(tg?.Tasks ?? []).flatMap((t) => (t.Services ?? []).map((s) => ({ service: s, task: t.Name })))];
  }

  interpolateFor(a: LabAlloc, s: string): string {
    return interpolate(this.nodes, a, s);
  }

  // ------------------------------------------------------------------ admin

  /** Upstream re-pushes its moving tags (the pin-your-images lesson). */
  advanceMovingTags(): { image: string; tag: string; from: string; to: string }[] {
    return this.registry.advanceMovingTags();
  }
}
