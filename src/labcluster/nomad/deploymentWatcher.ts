// Deployments of service jobs with an update block: created when a new version is registered,
// counting the health its allocations report, failed (and auto-reverted to the last stable
// version) on an unhealthy allocation or on request, successful once every group runs the new
// version healthy, and asking for the next evaluation while old allocations remain. Nomad's
// nomad/deploymentwatcher/deployment_watcher.go and deployments_watcher.go, with deployment
// creation from scheduler/reconcile.go, simplified.
import { randomUUID } from 'node:crypto';
import type { NomadJob } from '../jobspec';
import type { LabState } from './state';
import { isTerminal, jobKey, SECOND, type Deployment, type Evaluation, type LabAlloc, type StoredJob } from './structs';

/** What the watcher asks of the servers (Nomad's deploymentwatcher.DeploymentRaftEndpoints). */
export interface DeploymentServer {
  enqueueEval(job: StoredJob, triggeredBy: string, extra?: Partial<Evaluation>): Evaluation;
  registerJob(input: NomadJob, ns: string): { job: StoredJob; evalId: string; index: number };
}

export class DeploymentWatcher {
  constructor(
    private readonly state: LabState,
    private readonly server: DeploymentServer,
  ) {}

  /** Cancels the job's running deployments, saying why. */
  cancelRunning(ns: string, id: string, description: string): void {
    for (const d of this.state.deployments.values()) {
      if (d.JobID === id && d.Namespace === ns && d.Status === 'running') {
        d.Status = 'cancelled';
        d.StatusDescription = description;
        this.state.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }] });
      }
    }
  }

  /** A new version of `job` was registered: a deployment for it, if its update block asks for one. */
  create(job: StoredJob): void {
    const update = job.Update;
    if (!update || !update.MaxParallel) return;
    this.cancelRunning(job.Namespace, job.ID, 'Cancelled due to newer version of job');
    const groups: Deployment['TaskGroups'] = {};
    for (const tg of job.TaskGroups) {
      const u = { ...update, ...(tg.Update ?? {}) };
      groups[tg.Name] = {
        AutoRevert: !!u.AutoRevert,
        AutoPromote: !!u.AutoPromote,
        ProgressDeadline: u.ProgressDeadline ?? 600 * SECOND,
        RequireProgressBy: new Date(Date.now() + (u.ProgressDeadline ?? 600 * SECOND) / 1e6).toISOString(),
        Promoted: false,
        PlacedCanaries: null,
        DesiredCanaries: u.Canary ?? 0,
        DesiredTotal: tg.Count ?? 1,
        PlacedAllocs: 0,
        HealthyAllocs: 0,
        UnhealthyAllocs: 0,
      };
    }
    const d: Deployment = {
      ID: randomUUID(),
      Namespace: job.Namespace,
      JobID: job.ID,
      JobVersion: job.Version,
      JobModifyIndex: job.JobModifyIndex,
      JobSpecModifyIndex: job.JobModifyIndex,
      JobCreateIndex: job.CreateIndex,
      IsMultiregion: false,
      TaskGroups: groups,
      Status: 'running',
      StatusDescription: 'Deployment is running',
      EvalPriority: job.Priority ?? 50,
      CreateIndex: 0,
      ModifyIndex: 0,
    };
    this.state.deployments.set(d.ID, d);
    this.state.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }] });
  }

  /** The client reported an allocation healthy or unhealthy: count it in its deployment. */
  allocHealth(a: LabAlloc, healthy: boolean): void {
    if (a.DeploymentStatus?.Healthy !== undefined && a.DeploymentStatus !== null && a.DeploymentStatus.Healthy !== null) return;
    a.DeploymentStatus = { Healthy: healthy, Timestamp: new Date().toISOString(), Canary: false, ModifyIndex: this.state.store.index + 1 };
    const d = this.state.deployments.get(a.DeploymentID);
    if (d) {
      const g = d.TaskGroups[a.TaskGroup];
      if (g) {
        if (healthy) g.HealthyAllocs++;
        else g.UnhealthyAllocs++;
      }
    }
    this.state.commit({ allocs: [{ a, type: 'AllocationUpdated' }], ...(d ? { deployments: [{ d, type: 'DeploymentAllocHealth' }] } : {}) });
    if (d) this.check(d);
  }

  /** POST /v1/deployment/fail/:id: mark it failed (rolling back when auto_revert is set). */
  fail(d: Deployment): { evalId: string; index: number; revertedTo: number | null } {
    const job = this.state.getJob(d.Namespace, d.JobID);
    d.Status = 'failed';
    d.StatusDescription = 'Deployment marked as failed';
    const stable = job && Object.values(d.TaskGroups).some((g) => g.AutoRevert) ? this.stableBefore(job) : undefined;
    if (stable) d.StatusDescription = `Deployment marked as failed - rolling back to job version ${stable.Version}`;
    this.state.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }] });
    if (stable && job) {
      const r = this.server.registerJob({ ...stable, Stop: false }, job.Namespace);
      return { evalId: r.evalId, index: r.index, revertedTo: stable.Version };
    }
    if (!job) return { evalId: '', index: this.state.store.index, revertedTo: null };
    const e = this.server.enqueueEval(job, 'deployment-watcher', { DeploymentID: d.ID });
    return { evalId: e.ID, index: e.CreateIndex, revertedTo: null };
  }

  /** After a plan or a health report: has the deployment failed, succeeded, or does it need the next evaluation? */
  check(d: Deployment): void {
    if (d.Status !== 'running') return;
    const job = this.state.getJob(d.Namespace, d.JobID);
    if (!job) return;
    const groups = Object.values(d.TaskGroups);
    if (groups.some((g) => g.UnhealthyAllocs > 0)) {
      d.Status = 'failed';
      d.StatusDescription = 'Failed due to unhealthy allocations';
      const stable = groups.some((g) => g.AutoRevert) ? this.stableBefore(job) : undefined;
      if (stable) d.StatusDescription = `Failed due to unhealthy allocations - rolling back to job version ${stable.Version}`;
      this.state.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }] });
      if (stable) this.state.later(0, () => this.server.registerJob({ ...stable, Stop: false }, job.Namespace));
      return;
    }
    const current = this.state.jobAllocs(job.Namespace, job.ID).filter((a) => !isTerminal(a));
    const done = job.TaskGroups.every((tg) => {
      const mine = current.filter((a) => a.TaskGroup === tg.Name);
      return mine.length >= (tg.Count ?? 1) && mine.every((a) => a.JobVersion === job.Version && (a.DeploymentID !== d.ID || a.DeploymentStatus?.Healthy === true));
    });
    if (done) {
      d.Status = 'successful';
      d.StatusDescription = 'Deployment completed successfully';
      job.Stable = true;
      this.state.commit({ deployments: [{ d, type: 'DeploymentStatusUpdate' }], jobs: [{ j: job, type: 'JobRegistered' }] });
      return;
    }
    // More old allocations to replace: the deployment watcher creates the next evaluation.
    const pending = current.some((a) => a.JobVersion !== job.Version);
    const inFlight = current.some((a) => a.DeploymentID === d.ID && a.DeploymentStatus?.Healthy !== true);
    if (pending && !inFlight) this.server.enqueueEval(job, 'deployment-watcher', { DeploymentID: d.ID });
  }

  /** The newest stable version of `job` older than the current one (what auto_revert rolls back to). */
  private stableBefore(job: StoredJob): StoredJob | undefined {
    return (this.state.jobVersions.get(jobKey(job.Namespace, job.ID)) ?? []).find((v) => v.Stable && v.Version < job.Version);
  }
}
