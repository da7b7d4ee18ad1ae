// The client side of an allocation: tasks received, set up, their images pulled and containers
// started as the docker driver would (or failing as it would), restarted within the restart
// policy, killed when the servers stop the allocation, re-rendered when a Consul key their
// templates read changes, and the allocation's health reported for its deployment. Nomad's
// client/allocrunner/alloc_runner.go, client/allocrunner/taskrunner/task_runner.go,
// taskrunner/restarts/restarts.go, taskrunner/template/template.go (change_mode),
// client/allochealth/tracker.go and drivers/docker/driver.go, simplified.
import { dockerErrors, hostPathVolumes, type DockerRegistryModel, type Task, type TaskGroup } from '../../jobspec';
import { events as ev, goDurationString, runCommand } from '../../tasks';
import type { LabNode } from '../../topology';
import type { DeploymentWatcher } from '../deploymentWatcher';
import type { LabState } from '../state';
import { BadRequest, isTerminal, newEvaluation, SECOND, terminalClient, type LabAlloc } from '../structs';
import { appendLog } from './logmon';
import { interpolate, taskEnv, tasksOf } from './taskEnv';
import { templateDeps, templatesReading } from './template';

/** What the client needs of the cluster: its state, the image registry, and the servers' evaluation calls. */
export type ClientHost = LabState & {
  readonly registry: DockerRegistryModel;
  /** whether templates can read Consul */
  consulAvailable(): boolean;
  processEval(evalId: string): void;
  unblock(): void;
};

function restartPolicy(tg: TaskGroup, task: Task, jobType: string) {
  const p = { ...(tg.RestartPolicy ?? {}), ...(task.RestartPolicy ?? {}) };
  const batch = jobType === 'batch' || jobType === 'sysbatch';
  return {
    Attempts: p.Attempts ?? (batch ? 3 : 2),
    Interval: p.Interval ?? (batch ? 24 * 3600 * SECOND : 30 * 60 * SECOND),
    Delay: p.Delay ?? 15 * SECOND,
    Mode: p.Mode ?? 'fail',
  };
}

export class LabClient {
  constructor(
    private readonly cluster: ClientHost,
    private readonly deployments: DeploymentWatcher,
  ) {}

  /**
   * A Consul key changed: tasks whose templates read it re-render and, per change_mode, restart
   * or get signalled (the cache job's lesson).
   */
  templatesChanged(key: string): void {
    for (const a of this.cluster.allocs.values()) {
      if (a.ClientStatus !== 'running' || a.DesiredStatus !== 'run') continue;
      for (const t of tasksOf(a)) {
        const reads = templatesReading(t, key);
        const ts = a.TaskStates?.[t.Name];
        if (!reads.length || !ts || ts.State !== 'running') continue;
        if (reads.some((tm) => (tm.ChangeMode ?? 'restart') === 'restart')) {
          this.restartTask(a, t, ev.restartSignaledBy('Template with change_mode restart re-rendered'));
        } else if (reads.some((tm) => tm.ChangeMode === 'signal')) {
          const sig = reads.find((tm) => tm.ChangeMode === 'signal')?.ChangeSignal ?? 'SIGHUP';
          this.addEvent(a, t.Name, ev.signaling(sig, 'Template re-rendered'));
        }
      }
      this.cluster.updateAlloc(a);
    }
  }

  private addEvent(a: LabAlloc, task: string, event: ReturnType<typeof ev.started>): void {
    const ts = a.TaskStates?.[task];
    if (!ts) return;
    ts.Events = [...ts.Events, event].slice(-10);
  }

  private log(a: LabAlloc, task: string, type: 'stdout' | 'stderr', lines: string[]): void {
    this.cluster.emit('log', a.ID, appendLog(a, task, type, lines));
  }

  /** The servers placed `a` on this client: receive it, set it up, start its tasks. */
  startAlloc(a: LabAlloc): void {
    const step = this.cluster.opts.stepMs;
    this.cluster.later(step, () => {
      if (a.DesiredStatus !== 'run' || a.ClientStatus !== 'pending') return;
      a.TaskStates = {};
      for (const t of tasksOf(a)) {
        a.TaskStates[t.Name] = { State: 'pending', Failed: false, Restarts: 0, LastRestart: null, StartedAt: null, FinishedAt: null, Events: [ev.received()], TaskHandle: null };
        this.log(a, t.Name, 'stdout', []);
        this.log(a, t.Name, 'stderr', []);
      }
      a.ClientDescription = 'No tasks have started';
      this.cluster.updateAlloc(a);
      this.cluster.later(step, () => {
        if (a.DesiredStatus !== 'run') return;
        for (const t of tasksOf(a)) this.addEvent(a, t.Name, ev.setup());
        this.cluster.updateAlloc(a);
        for (const t of tasksOf(a)) this.cluster.later(step, () => this.runTask(a, t), a.timers);
      }, a.timers);
    }, a.timers);
  }

  /** Pull the image and start the container, as the docker driver would. */
  private runTask(a: LabAlloc, t: Task): void {
    if (a.DesiredStatus !== 'run' || isTerminal(a)) return;
    const ts = a.TaskStates?.[t.Name];
    if (!ts) return;
    const node = this.cluster.nodes.get(a.NodeID) as LabNode;
    // Templates that read Consul block until Consul answers (consul-template's "Missing: …").
    const deps = templateDeps(t);
    if (deps.length && !this.cluster.consulAvailable()) {
      const missing = `Missing: ${deps.join(', ')}`;
      if (ts.Events.at(-1)?.DisplayMessage !== missing) {
        this.addEvent(a, t.Name, ev.template(missing));
        this.cluster.updateAlloc(a);
      }
      const retry = () => {
        if (isTerminal(a)) {
          this.cluster.off('consul', retry);
          return;
        }
        if (!this.cluster.consulAvailable()) return;
        this.cluster.off('consul', retry);
        this.cluster.later(this.cluster.opts.stepMs, () => this.runTask(a, t), a.timers);
      };
      this.cluster.on('consul', retry);
      return;
    }
    if (t.Driver !== 'docker') {
      this.taskStarted(a, t, { kind: 'serve', stdout: [], stderr: [] });
      return;
    }
    const image = typeof t.Config?.image === 'string' ? (t.Config.image as string) : '';
    const resolved = this.cluster.registry.resolve(interpolate(this.cluster.nodes, a, image));
    this.addEvent(a, t.Name, ev.downloading(image));
    this.cluster.updateAlloc(a);
    this.cluster.later(this.cluster.opts.stepMs, () => {
      if (a.DesiredStatus !== 'run' || isTerminal(a)) return;
      if (!resolved.ok) {
        this.addEvent(a, t.Name, ev.driverFailure(resolved.error));
        this.taskExited(a, t, 1, resolved.error, true);
        return;
      }
      const hostVolumes = hostPathVolumes(t.Config);
      let configError = '';
      if (hostVolumes.length && !node.dockerVolumes) configError = dockerErrors.volumesDisabled(hostVolumes[0] as string);
      else if (t.Config?.privileged === true && !node.dockerPrivileged) configError = dockerErrors.privilegedDisabled;
      if (configError) {
        const msg = dockerErrors.containerConfigFailed(image, resolved.digest, configError);
        this.addEvent(a, t.Name, ev.driverFailure(msg));
        this.taskExited(a, t, 1, msg, false, 'Error was unrecoverable');
        return;
      }
      const behaviour = resolved.behaviour;
      if (behaviour.kind === 'command') {
        const run = runCommand(t.Config?.command, (t.Config?.args as unknown[] | undefined)?.map((x) => interpolate(this.cluster.nodes, a, String(x))), taskEnv(this.cluster.nodes, a, t));
        this.taskStarted(a, t, { kind: 'command', stdout: run.stdout, stderr: [] });
        if (Number.isFinite(run.seconds)) this.cluster.later(Math.max(this.cluster.opts.stepMs, run.seconds * 1000 * this.cluster.opts.timeScale), () => this.taskExited(a, t, run.exitCode, ''), a.timers);
        return;
      }
      const args = ((t.Config?.args as unknown[] | undefined) ?? []).map((x) => interpolate(this.cluster.nodes, a, String(x)));
      const stdout = [...behaviour.stdout];
      if (resolved.image === 'hashicorp/http-echo') {
        const text = args[args.indexOf('-text') + 1];
        if (text && args.includes('-text')) stdout.push(`[INFO] serving text: ${text}`);
      }
      this.taskStarted(a, t, { ...behaviour, stdout, ...(behaviour.heartbeat ? { heartbeat: behaviour.heartbeat } : {}) });
      if (behaviour.kind === 'crash') this.cluster.later(this.cluster.opts.stepMs, () => this.taskExited(a, t, behaviour.exitCode ?? 1, ''), a.timers);
    }, a.timers);
  }

  private taskStarted(a: LabAlloc, t: Task, b: { kind: string; stdout: string[]; stderr: string[]; heartbeat?: string }): void {
    const ts = a.TaskStates?.[t.Name];
    if (!ts || a.DesiredStatus !== 'run' || isTerminal(a)) return;
    ts.State = 'running';
    ts.StartedAt = new Date().toISOString();
    ts.FinishedAt = null;
    this.addEvent(a, t.Name, ev.started());
    this.log(a, t.Name, 'stdout', b.stdout);
    this.log(a, t.Name, 'stderr', b.stderr);
    const s = a.logs.get(`${t.Name}.stdout`);
    if (s && b.heartbeat) {
      s.heartbeat = b.heartbeat;
      s.heartbeatFrom = Date.now() - s.heartbeatCount * 5000;
    }
    const states = Object.values(a.TaskStates ?? {});
    if (states.every((x) => x.State === 'running' || (x.State === 'dead' && !x.Failed))) {
      a.ClientStatus = 'running';
      a.ClientDescription = 'Tasks are running';
    }
    this.cluster.updateAlloc(a);
    this.watchHealth(a);
  }

  /** The deployment health of a new allocation: healthy once its tasks ran long enough. */
  private watchHealth(a: LabAlloc): void {
    if (!a.DeploymentID || a.DeploymentStatus?.Healthy !== undefined && a.DeploymentStatus !== null) return;
    if (a.healthTimer) clearTimeout(a.healthTimer);
    a.healthTimer = setTimeout(() => {
      a.healthTimer = undefined;
      if (this.cluster.isClosed || a.ClientStatus !== 'running' || a.DesiredStatus !== 'run') return;
      this.deployments.allocHealth(a, true);
    }, this.cluster.opts.healthyAfterMs);
  }

  /** The container exited (or could not start): restart within policy, or fail the task. */
  private taskExited(a: LabAlloc, t: Task, exitCode: number, _why: string, recoverable = true, notRestartingReason = ''): void {
    const ts = a.TaskStates?.[t.Name];
    if (!ts || a.DesiredStatus !== 'run' || isTerminal(a)) return;
    if (ts.State === 'running' || exitCode !== 1 || !_why) this.addEvent(a, t.Name, ev.terminated(exitCode));
    if (ts.State === 'running' && a.DeploymentID && a.DeploymentStatus === null && a.healthTimer) {
      clearTimeout(a.healthTimer);
      a.healthTimer = undefined;
    }
    const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup) as TaskGroup;
    const batch = a.JobType === 'batch' || a.JobType === 'sysbatch';
    if (exitCode === 0 && batch) {
      ts.State = 'dead';
      ts.FinishedAt = new Date().toISOString();
      this.finishAlloc(a);
      return;
    }
    const policy = restartPolicy(tg, t, a.JobType);
    const times = (a.restartTimes.get(t.Name) ?? []).filter((x) => Date.now() - x < this.cluster.scaled(policy.Interval) || policy.Interval === 0);
    if (recoverable && times.length < policy.Attempts) {
      times.push(Date.now());
      a.restartTimes.set(t.Name, times);
      const delay = policy.Delay + Math.floor(Math.random() * 0.25 * policy.Delay);
      ts.State = 'pending';
      this.addEvent(a, t.Name, ev.restarting(delay));
      this.cluster.updateAlloc(a);
      this.cluster.later(this.cluster.scaled(delay), () => {
        if (a.DesiredStatus !== 'run' || isTerminal(a)) return;
        ts.Restarts++;
        ts.LastRestart = new Date().toISOString();
        this.runTask(a, t);
      }, a.timers);
      return;
    }
    const reason = notRestartingReason || `Exceeded allowed attempts ${policy.Attempts} in interval ${goDurationString(policy.Interval)} and mode is "${policy.Mode}"`;
    this.addEvent(a, t.Name, ev.notRestarting(reason));
    ts.State = 'dead';
    ts.Failed = true;
    ts.FinishedAt = new Date().toISOString();
    for (const other of tasksOf(a)) {
      const os = a.TaskStates?.[other.Name];
      if (!os || other.Name === t.Name || os.State === 'dead') continue;
      this.addEvent(a, other.Name, ev.siblingFailed(t.Name));
      this.addEvent(a, other.Name, ev.killing(5 * SECOND));
      this.addEvent(a, other.Name, ev.killed());
      os.State = 'dead';
      os.FinishedAt = new Date().toISOString();
    }
    this.finishAlloc(a);
  }

  private finishAlloc(a: LabAlloc): void {
    const states = Object.values(a.TaskStates ?? {});
    if (!states.every((s) => s.State === 'dead')) {
      this.cluster.updateAlloc(a);
      return;
    }
    this.stopRuntime(a);
    const failed = states.some((s) => s.Failed);
    a.ClientStatus = failed ? 'failed' : 'complete';
    a.ClientDescription = failed ? 'Failed tasks' : 'All tasks have completed';
    if (failed && a.DeploymentID && a.DeploymentStatus === null) {
      this.cluster.updateAlloc(a);
      this.deployments.allocHealth(a, false);
    } else this.cluster.updateAlloc(a);
    const job = this.cluster.getJob(a.Namespace, a.JobID);
    if (failed && job && !job.Stop && a.DesiredStatus === 'run' && (a.JobType === 'service' || a.JobType === 'batch')) {
      // Reschedule after the policy's delay (scaled to lab time), via a follow-up evaluation.
      const tg = job.TaskGroups.find((g) => g.Name === a.TaskGroup);
      const base = tg?.ReschedulePolicy?.Delay ?? (a.JobType === 'service' ? 30 * SECOND : 5 * SECOND);
      const n = a.RescheduleTracker?.Events.length ?? 0;
      const fn = tg?.ReschedulePolicy?.DelayFunction ?? (a.JobType === 'service' ? 'exponential' : 'constant');
      const maxDelay = tg?.ReschedulePolicy?.MaxDelay || 3600 * SECOND;
      const delay = fn === 'constant' ? base : Math.min(maxDelay, base * 2 ** n);
      const follow = newEvaluation(job, 'alloc-failure', { Status: 'pending', Wait: delay, WaitUntil: new Date(Date.now() + delay / 1e6).toISOString(), PreviousEval: a.EvalID });
      a.FollowupEvalID = follow.ID;
      this.cluster.evals.set(follow.ID, follow);
      this.cluster.commit({ evals: [follow], allocs: [{ a, type: 'AllocationUpdated' }] });
      this.cluster.later(this.cluster.scaled(delay), () => this.cluster.processEval(follow.ID));
    } else this.cluster.unblock();
  }

  /** The allocation's tasks are gone: its timers, health watch and log heartbeats stop. */
  stopRuntime(a: LabAlloc): void {
    this.cluster.cancelTimers(a.timers);
    if (a.healthTimer) clearTimeout(a.healthTimer);
    a.healthTimer = undefined;
    for (const s of a.logs.values()) s.heartbeat = undefined;
    this.cluster.emit('log-closed', a.ID);
  }

  /** The client stops an allocation the servers told to stop. */
  killAlloc(a: LabAlloc): void {
    const wasRunning = a.ClientStatus === 'running' || a.ClientStatus === 'pending';
    this.cluster.later(this.cluster.opts.stepMs, () => {
      if (terminalClient.has(a.ClientStatus)) {
        this.stopRuntime(a);
        return;
      }
      for (const t of tasksOf(a)) {
        const ts = a.TaskStates?.[t.Name];
        if (!ts || ts.State === 'dead') continue;
        this.addEvent(a, t.Name, ev.killing(t.KillTimeout ?? 5 * SECOND));
        if (ts.State === 'running') this.addEvent(a, t.Name, ev.terminated(0, 15));
        this.addEvent(a, t.Name, ev.killed());
        ts.State = 'dead';
        ts.FinishedAt = new Date().toISOString();
      }
      this.stopRuntime(a);
      if (wasRunning) {
        a.ClientStatus = 'complete';
        a.ClientDescription = 'All tasks have completed';
      }
      this.cluster.updateAlloc(a);
      this.cluster.unblock();
    });
  }

  /** POST /v1/client/allocation/:id/restart. */
  restartAlloc(a: LabAlloc, task: string | undefined): void {
    if (a.ClientStatus !== 'running') throw new BadRequest('Task not running');
    for (const t of tasksOf(a)) {
      if (task && t.Name !== task) continue;
      this.restartTask(a, t, ev.restartSignaled());
    }
    this.cluster.updateAlloc(a);
  }

  private restartTask(a: LabAlloc, t: Task, why: ReturnType<typeof ev.restartSignaled>): void {
    const ts = a.TaskStates?.[t.Name];
    if (!ts || ts.State !== 'running') return;
    this.addEvent(a, t.Name, why);
    this.addEvent(a, t.Name, ev.terminated(0, 15));
    this.addEvent(a, t.Name, ev.restarting(0, why.RestartReason || why.DisplayMessage));
    ts.State = 'pending';
    ts.Restarts++;
    ts.LastRestart = new Date().toISOString();
    this.cluster.later(this.cluster.opts.stepMs, () => this.runTask(a, t), a.timers);
  }
}
