/**
 * Lab progress: per lab, each step is locked, current, done or failed (the current step whose
 * last check failed). Pure functions over a plain JSON value, so the extension persists it as is
 * and reports each change to the organizer API as a ProgressRequest (src/contract/api.ts).
 */
import { z } from 'zod';
import { ProgressEntry, ProgressRequest } from '../contract/api';
import type { CheckResult, Lab } from './types';

export type StepStatus = 'locked' | 'current' | 'done' | 'failed';

const stepProgressSchema = z.object({
  status: z.enum(['locked', 'current', 'done', 'failed']),
  lastCheck: z.object({ ok: z.boolean(), summary: z.string(), at: z.string() }).optional(),
  hintsShown: z.number().int().min(0).optional(),
  solutionShown: z.boolean().optional(),
});
export type StepProgress = z.infer<typeof stepProgressSchema>;

const labProgressSchema = z.object({
  labId: z.string(),
  startedAt: z.string().optional(),
  completedAt: z.string().optional(),
  steps: z.record(stepProgressSchema),
});
export type LabProgress = z.infer<typeof labProgressSchema>;

export const progressStoreSchema = z.object({
  version: z.literal(1),
  labs: z.record(labProgressSchema),
});
export type ProgressStore = z.infer<typeof progressStoreSchema>;

/** What a progress change sends to the organizer (POST /v1/me/progress). */
export type ProgressReport = ProgressRequest;

export interface ProgressUpdate {
  progress: LabProgress;
  /** The organizer report for this change, when there is one. */
  report?: ProgressReport;
}

export type LabStatus = 'locked' | 'not-started' | 'in-progress' | 'done';

export function emptyProgressStore(): ProgressStore {
  return { version: 1, labs: {} };
}

export function initialLabProgress(lab: Lab): LabProgress {
  return { labId: lab.id, steps: Object.fromEntries(lab.steps.map((s) => [s.id, { status: 'locked' as const }])) };
}

/** The lab's progress from the store, fitted to the lab's current steps (content may have changed). */
export function labProgress(store: ProgressStore, lab: Lab): LabProgress {
  const saved = store.labs[lab.id];
  return saved ? reconcile(saved, lab) : initialLabProgress(lab);
}

export function withLabProgress(store: ProgressStore, progress: LabProgress): ProgressStore {
  return { ...store, labs: { ...store.labs, [progress.labId]: progress } };
}

/**
 * Fits saved progress to the lab's steps: unknown steps are dropped, new ones are locked, and a
 * started, unfinished lab has exactly one current (or failed) step: the first not done.
 */
export function reconcile(saved: LabProgress, lab: Lab): LabProgress {
  const steps: Record<string, StepProgress> = {};
  for (const s of lab.steps) steps[s.id] = saved.steps[s.id] ?? { status: 'locked' };
  const out: LabProgress = { ...saved, labId: lab.id, steps };
  if (!out.startedAt) {
    for (const s of lab.steps) if (steps[s.id].status !== 'done') steps[s.id] = { ...steps[s.id], status: 'locked' };
    return out;
  }
  const firstOpen = lab.steps.find((s) => steps[s.id].status !== 'done');
  for (const s of lab.steps) {
    const st = steps[s.id];
    if (st.status === 'done') continue;
    if (s === firstOpen) steps[s.id] = { ...st, status: st.status === 'failed' ? 'failed' : 'current' };
    else steps[s.id] = { ...st, status: 'locked' };
  }
  if (firstOpen) delete out.completedAt;
  else out.completedAt ??= saved.startedAt;
  return out;
}

/** The step to work on (current or failed), or undefined when not started or complete. */
export function currentStepId(progress: LabProgress, lab: Lab): string | undefined {
  return lab.steps.find((s) => {
    const st = progress.steps[s.id]?.status;
    return st === 'current' || st === 'failed';
  })?.id;
}

export function stepStatus(progress: LabProgress, stepId: string): StepStatus {
  return progress.steps[stepId]?.status ?? 'locked';
}

export function startLab(progress: LabProgress, lab: Lab, now: Date = new Date()): ProgressUpdate {
  if (progress.startedAt) return { progress: reconcile(progress, lab) };
  const started = reconcile({ ...progress, startedAt: now.toISOString() }, lab);
  const first = currentStepId(started, lab) ?? lab.steps[0]?.id;
  return { progress: started, report: first ? { labId: lab.id, stepId: first, status: 'started' } : undefined };
}

/**
 * Records a check of a step. A passing check of the current step marks it done and opens the
 * next; a failing one marks it failed. Checks of locked steps change nothing; re-checking a
 * done step keeps it done (the attendee may have moved on and changed the cluster since).
 */
export function recordCheck(progress: LabProgress, lab: Lab, stepId: string, result: CheckResult, now: Date = new Date()): ProgressUpdate {
  const index = lab.steps.findIndex((s) => s.id === stepId);
  if (index < 0) throw new Error(`lab "${lab.id}" has no step "${stepId}"`);
  let p = progress.startedAt ? reconcile(progress, lab) : startLab(progress, lab, now).progress;
  const st = p.steps[stepId];
  const lastCheck = { ok: result.ok, summary: result.summary, at: now.toISOString() };
  if (st.status === 'locked') return { progress: p };
  if (st.status === 'done') {
    p = { ...p, steps: { ...p.steps, [stepId]: { ...st, lastCheck } } };
    return { progress: p };
  }
  const detail = [result.summary, ...result.details].join('\n').slice(0, 2000);
  if (!result.ok) {
    p = { ...p, steps: { ...p.steps, [stepId]: { ...st, status: 'failed', lastCheck } } };
    return { progress: p, report: { labId: lab.id, stepId, status: 'failed', detail } };
  }
  const steps = { ...p.steps, [stepId]: { ...st, status: 'done' as const, lastCheck } };
  const next = lab.steps.slice(index + 1).find((s) => steps[s.id].status !== 'done');
  if (next) steps[next.id] = { ...steps[next.id], status: 'current' };
  p = { ...p, steps };
  if (!lab.steps.some((s) => steps[s.id].status !== 'done')) p.completedAt = now.toISOString();
  return { progress: p, report: { labId: lab.id, stepId, status: 'done', detail: result.summary.slice(0, 2000) } };
}

export function markHintShown(progress: LabProgress, stepId: string): LabProgress {
  const st = progress.steps[stepId];
  if (!st) return progress;
  return { ...progress, steps: { ...progress.steps, [stepId]: { ...st, hintsShown: (st.hintsShown ?? 0) + 1 } } };
}

export function markSolutionShown(progress: LabProgress, stepId: string): LabProgress {
  const st = progress.steps[stepId];
  if (!st) return progress;
  return { ...progress, steps: { ...progress.steps, [stepId]: { ...st, solutionShown: true } } };
}

export function resetLab(lab: Lab): LabProgress {
  return initialLabProgress(lab);
}

/** Locked while a prerequisite lab is not done. */
export function labStatus(store: ProgressStore, lab: Lab): LabStatus {
  const p = labProgress(store, lab);
  if (p.completedAt) return 'done';
  if (p.startedAt) return 'in-progress';
  const prereqsDone = lab.prerequisites.every((id) => Boolean(store.labs[id]?.completedAt));
  return prereqsDone ? 'not-started' : 'locked';
}

/** The organizer's per-attendee summary (AttendeeSummary.progress): steps done, and `lab/step` now. */
export function summarizeProgress(store: ProgressStore, labs: Lab[]): { done: number; current: string | null } {
  let done = 0;
  let current: string | null = null;
  for (const lab of labs) {
    const p = labProgress(store, lab);
    done += lab.steps.filter((s) => p.steps[s.id].status === 'done').length;
    const step = currentStepId(p, lab);
    if (step && !current) current = `${lab.id}/${step}`;
  }
  return { done, current };
}

/** Rebuilds progress from the organizer's record (GET /v1/me/progress), oldest entry first. */
export function progressFromReports(entries: z.infer<typeof ProgressEntry>[], labs: Lab[]): ProgressStore {
  let store = emptyProgressStore();
  const sorted = [...entries].sort((a, b) => a.at.localeCompare(b.at));
  for (const e of sorted) {
    const lab = labs.find((l) => l.id === e.labId);
    if (!lab || !lab.steps.some((s) => s.id === e.stepId)) continue;
    let p = labProgress(store, lab);
    const at = new Date(e.at);
    if (!p.startedAt) p = startLab(p, lab, at).progress;
    if (e.status === 'done' && p.steps[e.stepId].status !== 'done') {
      // Done on the server means done here, even if steps before it were skipped in this record.
      for (const s of lab.steps) {
        p.steps[s.id] = { ...p.steps[s.id], status: 'done' };
        if (s.id === e.stepId) break;
      }
      p = reconcile(p, lab);
      if (!lab.steps.some((s) => p.steps[s.id].status !== 'done')) p.completedAt = e.at;
    } else if (e.status === 'failed' && p.steps[e.stepId].status === 'current') {
      p = { ...p, steps: { ...p.steps, [e.stepId]: { ...p.steps[e.stepId], status: 'failed' } } };
    }
    store = withLabProgress(store, p);
  }
  return store;
}

export function serializeProgress(store: ProgressStore): string {
  return JSON.stringify(store);
}

/** Parses saved progress; anything unreadable gives an empty store and the reason. */
export function parseProgress(text: string | undefined): { store: ProgressStore; error?: string } {
  if (!text) return { store: emptyProgressStore() };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { store: emptyProgressStore(), error: `saved lab progress is not JSON: ${(err as Error).message}` };
  }
  const parsed = progressStoreSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { store: emptyProgressStore(), error: `saved lab progress is unreadable at ${i.path.join('.') || '(root)'}: ${i.message}` };
  }
  return { store: parsed.data };
}

/** Validates a report against the organizer contract before it is sent. */
export function toProgressRequest(report: ProgressReport): ProgressRequest {
  return ProgressRequest.parse(report);
}
