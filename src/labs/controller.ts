/**
 * The labs feature without the editor: loaded labs, the attendee's progress, checks against the
 * cluster, hints and solutions, persistence and reporting to the organizer. The Labs view and
 * the palette commands (src/ui) call this and render its state; they hold no logic of their own.
 *
 * Reports that cannot be sent (offline, organizer down) wait in an outbox that is persisted with
 * the progress, and go out with the next successful report, so nothing done is lost.
 */
import { z } from 'zod';
import { Emitter, type Event } from '../common/events';
import { ProgressRequest } from '../contract/api';
import { evaluateCheck } from './checks';
import {
  currentStepId,
  labProgress,
  labStatus,
  markHintShown,
  markSolutionShown,
  progressStoreSchema,
  recordCheck,
  resetLab,
  startLab,
  withLabProgress,
  type LabProgress,
  type LabStatus,
  type ProgressReport,
  type ProgressStore,
} from './progress';
import type { ClusterReader } from './reader';
import type { CheckResult, Lab, LabStep } from './types';

export interface LabControllerState {
  store: ProgressStore;
  /** Reports not yet accepted by the organizer, oldest first. */
  outbox: ProgressReport[];
}

const controllerStateSchema = z.object({ store: progressStoreSchema, outbox: z.array(ProgressRequest) });

/** Reads saved controller state; unreadable state gives a fresh one and the reason (never throws). */
export function parseLabControllerState(saved: unknown): { state: LabControllerState; error?: string } {
  if (saved === undefined || saved === null) return { state: { store: { version: 1, labs: {} }, outbox: [] } };
  const parsed = controllerStateSchema.safeParse(typeof saved === 'string' ? safeJson(saved) : saved);
  if (parsed.success) return { state: parsed.data };
  const i = parsed.error.issues[0];
  return { state: { store: { version: 1, labs: {} }, outbox: [] }, error: `saved lab progress is unreadable at ${i.path.join('.') || '(root)'}: ${i.message}` };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface LabControllerOptions {
  labs: Lab[];
  /** Saved state (from the extension's global state), if any. */
  state?: LabControllerState;
  /** The cluster as it is now, or undefined when not connected. */
  reader(): ClusterReader | undefined;
  /** Persists the state (called after every change). */
  save(state: LabControllerState): Promise<void>;
  /** Sends one report to the organizer (POST /v1/me/progress); rejects when it did not arrive. */
  report?(report: ProgressReport): Promise<void>;
  now?(): Date;
}

export interface StepView {
  lab: Lab;
  step: LabStep;
  progress: LabProgress;
}

export class LabController {
  private state: LabControllerState;
  private readonly changed = new Emitter<string>();
  /** Fires with the lab's id after its progress changed (and was saved). */
  readonly onDidChange: Event<string> = this.changed.event;
  private flushing: Promise<void> | undefined;

  constructor(private readonly opts: LabControllerOptions) {
    this.state = opts.state ?? { store: { version: 1, labs: {} }, outbox: [] };
  }

  get labs(): Lab[] {
    return this.opts.labs;
  }

  /** A copy of the persisted state. */
  snapshot(): LabControllerState {
    return JSON.parse(JSON.stringify(this.state)) as LabControllerState;
  }

  lab(labId: string): Lab {
    const lab = this.opts.labs.find((l) => l.id === labId);
    if (!lab) throw new Error(`there is no lab "${labId}"`);
    return lab;
  }

  progress(labId: string): LabProgress {
    return labProgress(this.state.store, this.lab(labId));
  }

  status(labId: string): LabStatus {
    return labStatus(this.state.store, this.lab(labId));
  }

  /** The step to work on now, if the lab is started and not complete. */
  current(labId: string): StepView | undefined {
    const lab = this.lab(labId);
    const progress = this.progress(labId);
    const id = currentStepId(progress, lab);
    const step = lab.steps.find((s) => s.id === id);
    return step ? { lab, step, progress } : undefined;
  }

  async start(labId: string): Promise<StepView | undefined> {
    const lab = this.lab(labId);
    if (this.status(labId) === 'locked') {
      const missing = lab.prerequisites.filter((id) => this.status(id) !== 'done').map((id) => `"${this.lab(id).title}"`);
      throw new Error(`finish ${missing.join(' and ')} first`);
    }
    const update = startLab(this.progress(labId), lab, this.now());
    await this.commit(update.progress, update.report);
    return this.current(labId);
  }

  /**
   * Checks a step (default: the current one) against the cluster and records the result.
   * Without a cluster connection the check fails with that reason and progress is unchanged.
   */
  async check(labId: string, stepId?: string): Promise<CheckResult> {
    const lab = this.lab(labId);
    const id = stepId ?? currentStepId(this.progress(labId), lab);
    const step = lab.steps.find((s) => s.id === id);
    if (!step) throw new Error(stepId ? `lab "${labId}" has no step "${stepId}"` : `lab "${lab.title}" has no step to check: start it first`);
    const reader = this.opts.reader();
    if (!reader) return { ok: false, summary: 'not connected to your cluster: connect first, then check again', details: [] };
    const result = await evaluateCheck(step.check, reader);
    const update = recordCheck(this.progress(labId), lab, step.id, result, this.now());
    await this.commit(update.progress, update.report);
    return result;
  }

  /** The next hint of the step (counting what was shown), or undefined when there is none left. */
  async nextHint(labId: string, stepId: string): Promise<{ hint: string; index: number; total: number } | undefined> {
    const step = this.step(labId, stepId);
    const shown = this.progress(labId).steps[stepId]?.hintsShown ?? 0;
    if (shown >= step.hints.length) return step.hints.length ? { hint: step.hints[step.hints.length - 1], index: step.hints.length - 1, total: step.hints.length } : undefined;
    await this.commit(markHintShown(this.progress(labId), stepId));
    return { hint: step.hints[shown], index: shown, total: step.hints.length };
  }

  /** The solution's Markdown; the UI asks before calling this. */
  async revealSolution(labId: string, stepId: string): Promise<string> {
    const step = this.step(labId, stepId);
    await this.commit(markSolutionShown(this.progress(labId), stepId));
    return step.solution;
  }

  async reset(labId: string): Promise<void> {
    const lab = this.lab(labId);
    const fresh = resetLab(lab);
    this.state = { ...this.state, store: { ...this.state.store, labs: { ...this.state.store.labs, [labId]: fresh } } };
    await this.opts.save(this.snapshot());
    this.emit(labId);
  }

  /** Sends what waits in the outbox; stops at the first failure (order matters to the organizer). */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      try {
        while (this.opts.report && this.state.outbox.length) {
          const next = this.state.outbox[0];
          try {
            await this.opts.report(next);
          } catch {
            return;
          }
          this.state = { ...this.state, outbox: this.state.outbox.slice(1) };
          await this.opts.save(this.snapshot());
        }
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  private step(labId: string, stepId: string): LabStep {
    const step = this.lab(labId).steps.find((s) => s.id === stepId);
    if (!step) throw new Error(`lab "${labId}" has no step "${stepId}"`);
    return step;
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  private async commit(progress: LabProgress, report?: ProgressReport): Promise<void> {
    this.state = {
      store: withLabProgress(this.state.store, progress),
      outbox: report && this.opts.report ? [...this.state.outbox, report] : this.state.outbox,
    };
    await this.opts.save(this.snapshot());
    this.emit(progress.labId);
    if (report) await this.flush();
  }

  private emit(labId: string): void {
    this.changed.fire(labId);
  }
}
