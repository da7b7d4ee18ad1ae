/**
 * The labs of one signed-in attendee, live, without the editor: the loaded labs and their
 * problems, the attendee's progress (LabController), the last check result of every step, and
 * the auto-check: when the cluster changes, the current step of each lab in progress is checked
 * again (debounced), and a step that passes by itself is announced. The Labs view and the step
 * panel (src/ui/labs) only show what this says and call it.
 */
import { Emitter, type Disposable, type Event } from '../common/events';
import { silentLogger, type Logger } from '../common/logger';
import { LabController, type LabControllerOptions } from './controller';
import type { CheckResult, Lab, LabProblem, LabStep } from './types';

export interface LabSessionOptions extends Omit<LabControllerOptions, 'labs'> {
  labs: Lab[];
  problems?: LabProblem[];
  /** Fires when the cluster may have changed (the connection's cluster changes and state). */
  onDidChangeCluster: Event<unknown>;
  /** Whether there is a cluster to check against right now. */
  connected(): boolean;
  log?: Logger;
  /** Quiet time after the last cluster change before the auto-check runs (default 1.5 s). */
  autoCheckDelayMs?: number;
}

export interface StepPassed {
  lab: Lab;
  step: LabStep;
  result: CheckResult;
}

export class LabSession implements Disposable {
  readonly controller: LabController;
  readonly labs: Lab[];
  readonly problems: LabProblem[];
  private readonly results = new Map<string, CheckResult>();
  private readonly changed = new Emitter<{ labId: string }>();
  /** Progress or a check result of a lab changed. */
  readonly onDidChange: Event<{ labId: string }> = this.changed.event;
  private readonly passed = new Emitter<StepPassed>();
  /** A step passed by the auto-check, without the attendee pressing Check. */
  readonly onDidPassByItself: Event<StepPassed> = this.passed.event;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private readonly subs: Disposable[];
  private autoChecking: Promise<void> | undefined;
  private disposed = false;

  constructor(private readonly opts: LabSessionOptions) {
    this.labs = opts.labs;
    this.problems = opts.problems ?? [];
    this.log = opts.log ?? silentLogger;
    this.controller = new LabController({ ...opts, labs: opts.labs });
    this.subs = [
      this.controller.onDidChange((labId) => this.changed.fire({ labId })),
      opts.onDidChangeCluster(() => this.scheduleAutoCheck()),
    ];
    // Reports that waited in the outbox (offline at the last change) go out now.
    void this.controller.flush();
  }

  /** The last check of a step (by hand or by itself) in this session. */
  lastResult(labId: string, stepId: string): CheckResult | undefined {
    return this.results.get(`${labId}/${stepId}`);
  }

  /** Checks a step (default: the lab's current one) and records the result for that step. */
  async check(labId: string, stepId?: string): Promise<{ step: LabStep; result: CheckResult }> {
    const step = stepId ? this.controller.lab(labId).steps.find((s) => s.id === stepId) : this.controller.current(labId)?.step;
    if (!step) {
      throw new Error(stepId ? `lab "${labId}" has no step "${stepId}"` : `"${this.controller.lab(labId).title}" has no step to check: start it first`);
    }
    const result = await this.controller.check(labId, step.id);
    this.results.set(`${labId}/${step.id}`, result);
    this.changed.fire({ labId });
    return { step, result };
  }

  /** Runs the auto-check now (what a cluster change schedules); resolves when it is done. */
  autoCheck(): Promise<void> {
    this.autoChecking ??= this.runAutoCheck().finally(() => (this.autoChecking = undefined));
    return this.autoChecking;
  }

  private scheduleAutoCheck(): void {
    if (this.disposed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.autoCheck();
    }, this.opts.autoCheckDelayMs ?? 1500);
  }

  private async runAutoCheck(): Promise<void> {
    if (!this.opts.connected() || this.disposed) return;
    const c = this.controller;
    for (const lab of this.labs) {
      if (c.status(lab.id) !== 'in-progress') continue;
      try {
        const { step, result } = await this.check(lab.id);
        if (result.ok) {
          this.log.info(`Lab "${lab.title}": step "${step.title}" passed by itself (${result.summary})`);
          this.passed.fire({ lab, step, result });
        }
      } catch (err) {
        this.log.debug(`auto-check of ${lab.id}: ${(err as Error).message}`);
      }
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.subs) s.dispose();
    this.changed.dispose();
    this.passed.dispose();
  }
}
