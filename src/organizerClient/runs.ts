/**
 * Following one run (provision, destroy or cancel of some stacks) from the workshop's stack
 * changes, the same way in the CLI (`stacks provision --wait`) and in VS Code (the progress
 * notification of Provision All Stacks): which stacks the run is about, their newest states,
 * and when it is over, by the one rule of src/contract/stacks.ts.
 */
import type { Event } from '../common/events';
import { RUN_STARTS, runEnded, type RunKind, type StackStatus, type StackSummary } from '../contract';

export type { RunKind } from '../contract';

/** Count labels in display order; the first two (the outcomes) are always shown. */
const LABELS: Record<RunKind, StackStatus[]> = {
  provision: ['ready', 'failed', 'provisioning', 'queued', 'cancelled', 'pending', 'destroying', 'destroyed'],
  destroy: ['destroyed', 'failed', 'destroying', 'provisioning', 'queued', 'ready', 'cancelled', 'pending'],
  cancel: ['cancelled', 'failed', 'provisioning', 'queued', 'ready', 'pending', 'destroying', 'destroyed'],
};

export interface RunView {
  /** What is going on: `Provisioning`, `Destroying`, `Cancelling`. */
  title: string;
  /** Stacks this run is about. */
  total: number;
  /** How many of them are done (the bar's fill). */
  done: number;
  /** Labelled counts in display order, e.g. `[['ready', 3], ['failed', 1], ['provisioning', 4]]`. */
  counts: [StackStatus, number][];
}

/**
 * One run's stacks. States may arrive out of order (the request's answer and the event stream
 * race), so each stack keeps its newest state by `updatedAt`; at equal times the later arrival
 * wins.
 */
export class StackRun {
  private readonly latest = new Map<string, StackSummary>();
  private targets: Set<string> | null = null;
  /** Changes that arrived before the request was answered (the work may start before its answer arrives). */
  private early: StackSummary[] = [];

  constructor(readonly kind: RunKind) {}

  /**
   * Records a stack's state; true when it is a stack of this run and its status or message
   * changed. `live` changes (not a stream's opening snapshot) that arrive before `start()` are
   * kept, and `start()` hands back those of the run's stacks.
   */
  apply(s: StackSummary, live = true): boolean {
    const before = this.latest.get(s.id);
    if (before && Date.parse(before.updatedAt) > Date.parse(s.updatedAt)) return false;
    this.latest.set(s.id, s);
    const changed = !before || before.status !== s.status || before.statusMessage !== s.statusMessage;
    if (changed && live && this.targets === null) this.early.push(s);
    return changed && this.isTarget(s.id);
  }

  /**
   * Takes the request's answer (all the workshop's stacks): the run is about the stacks of
   * `attendeeIds` (all when omitted) that the request left under way. Returns the changes of
   * those stacks that came in while the request was on its way, in order, to be reported.
   */
  start(answer: StackSummary[], attendeeIds?: string[]): StackSummary[] {
    for (const s of answer) this.apply(s, false);
    const wanted = attendeeIds ? new Set(attendeeIds) : null;
    const started = RUN_STARTS[this.kind];
    // The answer says what the request left under way, even if newer changes arrived first.
    this.targets = new Set(answer.filter((s) => (!wanted || wanted.has(s.attendeeId)) && started.includes(s.status)).map((s) => s.id));
    const early = this.early.filter((s) => this.isTarget(s.id));
    this.early = [];
    return early;
  }

  get started(): boolean {
    return this.targets !== null;
  }

  isTarget(id: string): boolean {
    return this.targets?.has(id) ?? false;
  }

  /** The run's stacks in their newest known state. */
  stacks(): StackSummary[] {
    return [...(this.targets ?? [])].map((id) => this.latest.get(id)!).filter(Boolean);
  }

  get total(): number {
    return this.targets?.size ?? 0;
  }

  isEnded(s: StackSummary): boolean {
    return runEnded(this.kind, s.status);
  }

  /** True once the run started and each of its stacks is done. */
  get done(): boolean {
    return this.targets !== null && this.stacks().every((s) => this.isEnded(s));
  }

  /** Stacks of the run in this state. */
  withStatus(status: StackStatus): StackSummary[] {
    return this.stacks().filter((s) => s.status === status);
  }

  failed(): StackSummary[] {
    return this.withStatus('failed');
  }

  /** Counts by state: the outcomes first and always, the rest only when present. */
  counts(): [StackStatus, number][] {
    const by = new Map<StackStatus, number>();
    for (const s of this.stacks()) by.set(s.status, (by.get(s.status) ?? 0) + 1);
    return LABELS[this.kind].filter((label, i) => i < 2 || by.has(label)).map((label) => [label, by.get(label) ?? 0]);
  }

  view(): RunView {
    const title = this.kind === 'provision' ? 'Provisioning' : this.kind === 'destroy' ? 'Destroying' : 'Cancelling';
    return { title, total: this.total, done: this.stacks().filter((s) => this.isEnded(s)).length, counts: this.counts() };
  }
}

/** A source of the workshop's stack changes: `live` is false for the states of an opening snapshot. */
export type StackFeed = Event<{ stack: StackSummary; live: boolean }>;

export interface FollowRunOptions {
  kind: RunKind;
  /** The workshop's stack changes, subscribed before the request is sent so none is missed. */
  feed: StackFeed;
  /** Sends the run's request; resolves with the workshop's stacks as the service answered. */
  request: () => Promise<StackSummary[]>;
  attendeeIds?: string[];
  /** Each change of one of the run's stacks (and once when it starts). */
  onChange?: (run: StackRun, stack?: StackSummary) => void;
  /** Stops following (the run goes on in the service); resolves with `stopped`. */
  signal?: AbortSignal;
}

/** Sends a run's request and follows it until every one of its stacks is done, or `signal` stops it. */
export async function followRun(opts: FollowRunOptions): Promise<{ run: StackRun; stopped: boolean }> {
  const run = new StackRun(opts.kind);
  let resolveDone!: (stopped: boolean) => void;
  const ended = new Promise<boolean>((resolve) => (resolveDone = resolve));
  const sub = opts.feed(({ stack, live }) => {
    if (run.apply(stack, live)) opts.onChange?.(run, stack);
    if (run.done) resolveDone(false);
  });
  const onAbort = () => resolveDone(true);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const answer = await opts.request();
    const early = run.start(answer, opts.attendeeIds);
    opts.onChange?.(run);
    for (const s of early) opts.onChange?.(run, s);
    if (run.done) resolveDone(false);
    if (opts.signal?.aborted) resolveDone(true);
    return { run, stopped: await ended };
  } finally {
    sub.dispose();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
