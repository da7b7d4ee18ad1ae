/**
 * The stack service: one state machine per stack (the transitions of src/contract/stacks.ts),
 * stored in the `stacks` table, driven by a queue with bounded concurrency. What the organizer asked for is written to the row (`desired`)
 * before any work starts, so a restart resumes queued work, and `reconcile()` tidies up
 * what an interrupted run left behind.
 */
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { utils as sshUtils } from 'ssh2';
import type { PreflightResponse, StackSummary } from '../contract';
import type { Provider, StackKeys, StackSpec, StackTopology } from './providers/types';
import { Store, type StackRow, type WorkshopRow } from './store';

export type ProviderFactory = (name: string, opts: { dataDir: string }) => Provider | Promise<Provider>;
export type KeyGenerator = () => StackKeys | Promise<StackKeys>;

export interface RetryPolicy {
  /** Total tries per provision request, including the first. */
  attempts: number;
  /** Wait before the second try; doubles for each further try. */
  backoffMs: number;
}

export interface StackServiceOptions {
  store: Store;
  /** The organizer's data folder; each stack gets `<dataDir>/stacks/<stackId>`. */
  dataDir: string;
  providerFactory: ProviderFactory;
  generateKeys: KeyGenerator;
  concurrency?: number;
  retry?: RetryPolicy;
  /** Upper bound for one `check()` during reconcile. */
  checkTimeoutMs?: number;
  /** How long `close()` waits for running work to stop after aborting it. */
  closeTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface ReconcileReport {
  checked: number;
  lost: string[];
  resumed: string[];
}

export interface StackChange extends StackSummary {
  workshopId: string;
}

export const LOST_AFTER_RESTART =
  'Lost after organizer restart: the provider no longer finds this stack; provision it again to rebuild it.';

/** Errors a provider marks with `retryable = false` fail at once (e.g. a bad configuration). */
function isRetryable(err: unknown): boolean {
  return !(err && typeof err === 'object' && (err as { retryable?: unknown }).retryable === false);
}

/** Tries before giving up on a key generator that keeps producing unusable keys. */
const KEYGEN_TRIES = 5;

/**
 * Every key must parse before it is stored: stored keys are reused on each retry, so one bad
 * key would fail the stack forever. (ssh2's ed25519 generator drops a leading zero byte of
 * the public key about once in 256 keys.)
 */
function unusableKey(keys: StackKeys): string | null {
  for (const field of ['hostPrivateKey', 'hostPublicKey', 'attendeePrivateKey', 'attendeePublicKey'] as const) {
    const parsed = sshUtils.parseKey(keys[field]);
    if (parsed instanceof Error) return `${field}: ${parsed.message}`;
  }
  return null;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${Math.round(ms / 1000)}s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

interface ActiveJob {
  op: 'ready' | 'destroyed';
  controller: AbortController;
  done: Promise<void>;
  /** The organizer cancelled this build: what it started is destroyed before the slot is freed. */
  cancelled?: boolean;
}

export class StackService extends EventEmitter {
  readonly concurrency: number;
  private readonly store: Store;
  private readonly retry: RetryPolicy;
  private readonly queue: string[] = [];
  private readonly active = new Map<string, ActiveJob>();
  private readonly providers = new Map<string, Promise<Provider>>();
  /** Stacks whose earlier build was interrupted: clean up its remains before building again. */
  private readonly needsCleanup = new Set<string>();
  private closing = false;

  constructor(private readonly opts: StackServiceOptions) {
    super();
    this.store = opts.store;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.retry = opts.retry ?? { attempts: 3, backoffMs: 2000 };
  }

  /**
   * Queues provisioning. Without ids: every stack of the workshop that is not ready.
   * Ready stacks and stacks already being built are left alone, so running it twice
   * builds nothing twice. Returns the workshop's stacks after queueing.
   */
  provision(workshop: WorkshopRow, attendeeIds?: string[]): StackSummary[] {
    const stacks = this.selectStacks(workshop, attendeeIds);
    for (const s of stacks) {
      if (s.status === 'ready' && s.desired !== 'destroyed') continue;
      const job = this.active.get(s.id);
      if (job?.op === 'ready' && s.desired === 'ready') continue;
      this.store.setDesired(s.id, 'ready');
      if (!job && s.status !== 'provisioning' && s.status !== 'queued') this.change(this.store.moveStack(s.id, 'provision'));
      this.enqueue(s.id);
    }
    return this.summaries(workshop);
  }

  /**
   * Queues teardown. Without ids: every stack of the workshop that is not destroyed.
   * A running build is aborted first; a stack that was never built is simply unqueued.
   */
  destroy(workshop: WorkshopRow, attendeeIds?: string[]): StackSummary[] {
    const stacks = this.selectStacks(workshop, attendeeIds);
    for (const s of stacks) {
      if (s.status === 'destroyed') continue;
      const job = this.active.get(s.id);
      if (!job && (s.status === 'pending' || s.status === 'queued' || s.status === 'cancelled') && s.attempts === 0 && !s.handle) {
        this.store.setDesired(s.id, null);
        this.dequeue(s.id);
        if (s.status !== 'pending') this.change(this.store.moveStack(s.id, 'unqueue'));
        continue;
      }
      this.store.setDesired(s.id, 'destroyed');
      if (job?.op === 'ready') job.controller.abort(new Error('destroy requested'));
      else if (!job && s.status !== 'destroying') this.change(this.store.moveStack(s.id, 'destroy'));
      this.enqueue(s.id);
    }
    return this.summaries(workshop);
  }

  /**
   * Stops builds. Queued ones are unqueued and marked cancelled; running ones are aborted,
   * and what they started is destroyed before their slot is freed (the stack shows
   * "Cancelling…" until then, then cancelled). Teardowns and finished stacks are left alone.
   * Without ids: every build of the workshop. Returns the workshop's stacks right away.
   */
  cancel(workshop: WorkshopRow, attendeeIds?: string[]): StackSummary[] {
    for (const s of this.selectStacks(workshop, attendeeIds)) {
      if (s.desired !== 'ready') continue;
      // Cleared first: the request the build works for is gone, also for a restart from here.
      this.store.setDesired(s.id, null);
      const job = this.active.get(s.id);
      if (job?.op === 'ready') {
        job.cancelled = true;
        job.controller.abort(new Error('cancelled by the organizer'));
        this.change(this.store.moveStack(s.id, 'progress', 'Cancelling: stopping the build and cleaning up what it started.'));
      } else {
        this.dequeue(s.id);
        // A teardown under way (asked to build afterwards) just goes on.
        if (s.status === 'queued') this.change(this.store.moveStack(s.id, 'cancel'));
      }
    }
    if (this.isIdle()) this.emit('idle');
    return this.summaries(workshop);
  }

  /**
   * What "provision all" would build now (every stack not ready) and whether the provider
   * sees a quota in the way. A provider that cannot be loaded is reported as a problem.
   */
  async preflight(workshop: WorkshopRow): Promise<PreflightResponse> {
    const all = this.store.stacksOf(workshop.id);
    const ready = all.filter((s) => s.status === 'ready' && s.desired !== 'destroyed').length;
    const count = all.length - ready;
    const base = { workshop: workshop.name, provider: workshop.provider, stacks: count, ready };
    let estimate;
    try {
      const provider = await this.providerFor(workshop.provider);
      estimate = await provider.preflight(JSON.parse(workshop.topology) as StackTopology, count);
    } catch (err) {
      return { ...base, resources: [], quotas: [], quotaNote: null, problems: [messageOf(err)], ok: false };
    }
    return { ...base, ...estimate, ok: estimate.problems.length === 0 };
  }

  /**
   * After a start: builds interrupted by a stop or crash are cleaned up and started again,
   * teardowns are finished, queued work is resumed, and every ready stack is checked with
   * its provider; one that is gone is marked failed.
   */
  async reconcile(): Promise<ReconcileReport> {
    const report: ReconcileReport = { checked: 0, lost: [], resumed: [] };
    for (const s of this.store.stacksWithStatus(['provisioning'])) {
      if (s.desired === null) {
        // Cancelled, and the organizer stopped before the cleanup was done: finish it now.
        this.start(s.id, 'cleanup');
        continue;
      }
      this.needsCleanup.add(s.id);
      this.store.setDesired(s.id, 'ready');
      this.change(this.store.moveStack(s.id, 'interrupted'));
      report.resumed.push(s.id);
    }
    for (const s of this.store.stacksWithStatus(['destroying'])) {
      this.store.setDesired(s.id, 'destroyed');
      report.resumed.push(s.id);
    }
    const ready = this.store.stacksWithStatus(['ready']).filter((s) => s.desired !== 'destroyed');
    const checkOne = async (s: StackRow) => {
      if (this.closing) return;
      report.checked++;
      let verdict: 'alive' | 'lost';
      let why: string;
      try {
        const provider = await this.providerFor(s.provider);
        verdict = await withTimeout(
          provider.check(this.specFor(s), s.handle ? (JSON.parse(s.handle) as Record<string, unknown>) : {}),
          this.opts.checkTimeoutMs ?? 30_000,
          `the ${s.provider} provider's check`,
        );
        why = LOST_AFTER_RESTART;
      } catch (err) {
        verdict = 'lost';
        why = `Could not check this stack after organizer restart: ${messageOf(err)}`;
      }
      if (verdict === 'lost' && !this.closing) {
        this.change(this.store.moveStack(s.id, 'lost', why));
        report.lost.push(s.id);
      }
    };
    for (let i = 0; i < ready.length; i += this.concurrency) {
      await Promise.all(ready.slice(i, i + this.concurrency).map(checkOne));
    }
    for (const s of this.store.stacksDesired()) {
      if (!report.resumed.includes(s.id) && s.status !== 'provisioning') report.resumed.push(s.id);
      this.enqueue(s.id);
    }
    return report;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.once('idle', resolve));
  }

  /** Number of stacks being worked on right now. */
  get runningCount(): number {
    return this.active.size;
  }

  /**
   * Stops taking work and aborts running builds. Their rows stay `provisioning` (or
   * `destroying`) with their `desired` state, so the next start picks them up again.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.queue.length = 0;
    const running = [...this.active.values()];
    for (const job of running) job.controller.abort(new Error('organizer shutting down'));
    if (running.length) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(running.map((j) => j.done)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.opts.closeTimeoutMs ?? 10_000);
        }),
      ]);
      clearTimeout(timer);
    }
  }

  // ---- internals ----

  private selectStacks(workshop: WorkshopRow, attendeeIds?: string[]): StackRow[] {
    const all = this.store.stacksOf(workshop.id);
    if (!attendeeIds) return all;
    const wanted = new Set(this.store.attendeesOf(workshop.id, attendeeIds).map((a) => a.id));
    return all.filter((s) => wanted.has(s.attendee_id));
  }

  private summaries(workshop: WorkshopRow): StackSummary[] {
    return this.store.stacksOf(workshop.id).map(Store.toStackSummary);
  }

  private change(row: StackRow): void {
    this.emit('change', { ...Store.toStackSummary(row), workshopId: row.workshop_id } satisfies StackChange);
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.active.size === 0;
  }

  private enqueue(id: string): void {
    if (this.closing || this.queue.includes(id)) return;
    // A running job re-reads `desired` when it ends and queues itself again if needed.
    if (this.active.has(id)) return;
    this.queue.push(id);
    this.pump();
  }

  private dequeue(id: string): void {
    const i = this.queue.indexOf(id);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private pump(): void {
    while (!this.closing && this.active.size < this.concurrency && this.queue.length) {
      const id = this.queue.shift()!;
      if (this.active.has(id)) continue;
      this.start(id);
    }
    if (this.isIdle()) this.emit('idle');
  }

  /** Runs the stack's pending request; `cleanup` only finishes a cancellation (see reconcile). */
  private start(id: string, mode: 'request' | 'cleanup' = 'request'): void {
    const row = this.store.getStack(id);
    if (!row || (mode === 'request' && !row.desired)) return;
    if (row.desired === row.status) {
      // Already there (e.g. the organizer stopped between recording the outcome and clearing the request).
      this.finish(id, row.desired, row);
      return;
    }
    const controller = new AbortController();
    const job: ActiveJob = { op: row.desired ?? 'ready', controller, done: Promise.resolve(), cancelled: mode === 'cleanup' };
    this.active.set(id, job);
    job.done = (async () => {
      try {
        if (mode === 'cleanup') {
          await this.cleanUpCancelled(id);
        } else if (job.op === 'ready') {
          await this.build(row, controller.signal);
          if (job.cancelled && !this.closing) await this.cleanUpCancelled(id);
        } else {
          await this.teardown(row);
        }
      } catch (err) {
        // Only reached when the store itself failed (e.g. closed during shutdown).
        this.log(`stack ${id}: ${messageOf(err)}`);
      } finally {
        this.active.delete(id);
        if (!this.closing) {
          const after = this.store.getStack(id);
          // Asked for something else meanwhile (destroy during a build, provision during a
          // teardown, or provision again after a build was aborted): go on with it.
          if (after?.desired && after.desired !== after.status) {
            if (after.desired === 'destroyed' && after.status === 'provisioning') {
              // The aborted build no longer holds a slot; it must not count as one being built.
              this.change(this.store.moveStack(id, 'destroy', 'Build stopped; queued for teardown.'));
            } else if (after.desired === 'ready' && after.status !== 'queued') {
              this.change(this.store.moveStack(id, 'provision'));
            }
            this.queue.push(id);
          }
        }
        this.pump();
      }
    })();
  }

  private async build(initial: StackRow, signal: AbortSignal): Promise<void> {
    const id = initial.id;
    let row = initial;
    const spec = this.specFor(row);
    let provider: Provider;
    try {
      provider = await this.providerFor(row.provider);
    } catch (err) {
      this.finish(id, 'ready', this.store.moveStack(id, 'buildFailed', messageOf(err)));
      return;
    }
    // The first status change of the build is its start (queued → provisioning), every later one progress.
    let started = false;
    const enter = (message: string, extra?: Parameters<Store['moveStack']>[3]): StackRow => {
      const moved = this.store.moveStack(id, started ? 'progress' : 'start', message, extra);
      started = true;
      return moved;
    };
    // Progress reports are only recorded while a provider call is under way.
    let listening = true;
    const progress = (message: string) => {
      if (listening && !signal.aborted && !this.closing) this.change(this.store.moveStack(id, 'progress', message));
    };
    if (this.needsCleanup.has(id) || row.handle) {
      // Remains of an earlier build (interrupted, lost or failed) would clash with a new one.
      this.change(enter('Cleaning up the previous attempt.'));
      try {
        await provider.destroy(spec, row.handle ? (JSON.parse(row.handle) as Record<string, unknown>) : null, progress);
      } catch (err) {
        this.log(`stack ${id}: cleanup before provisioning failed: ${messageOf(err)}`);
      }
      this.needsCleanup.delete(id);
      row = enter('Cleaned up the previous attempt.', { handle: null });
    }
    if (signal.aborted) return;
    const { attempts, backoffMs } = this.retry;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (signal.aborted) return;
      row = enter(attempt === 1 ? 'Provisioning started.' : `Provisioning again (attempt ${attempt} of ${attempts}).`, { attempts: row.attempts + 1 });
      this.change(row);
      try {
        let keys = this.store.openKeys(row);
        if (!keys) {
          // Generated once per stack and reused on retries, so the pinned host key stays the same.
          keys = await this.newKeys();
          row = this.store.moveStack(id, 'progress', 'Generated the bastion host key and the attendee key.', {
            keys_sealed: this.store.sealKeys(id, keys),
          });
          this.change(row);
        }
        listening = true;
        const built = await provider.provision(spec, keys, progress, signal).finally(() => {
          listening = false;
        });
        if (this.closing) return;
        const ready = this.store.moveStack(id, 'built', null, this.store.sealProvisioned(id, built));
        if (signal.aborted) {
          // Destroy was asked for while the build finished: the teardown job that follows needs the handle.
          this.change(ready);
          return;
        }
        this.finish(id, 'ready', ready);
        return;
      } catch (err) {
        if (signal.aborted || this.closing) return;
        const message = messageOf(err);
        if (attempt < attempts && isRetryable(err)) {
          const delay = backoffMs * 2 ** (attempt - 1);
          this.change(this.store.moveStack(id, 'progress', `Attempt ${attempt} failed: ${message}. Retrying in ${formatMs(delay)}.`));
          await sleep(delay, signal);
          continue;
        }
        const suffix = attempt > 1 ? ` (after ${attempt} attempts)` : '';
        this.finish(id, 'ready', this.store.moveStack(id, 'buildFailed', message + suffix));
        return;
      }
    }
  }

  private async teardown(row: StackRow): Promise<void> {
    const id = row.id;
    this.change(this.store.moveStack(id, 'destroy', 'Destroying.'));
    try {
      const provider = await this.providerFor(row.provider);
      await provider.destroy(this.specFor(row), row.handle ? (JSON.parse(row.handle) as Record<string, unknown>) : null, (m) => {
        if (!this.closing) this.change(this.store.moveStack(id, 'teardownProgress', m));
      });
      if (this.closing) return;
      this.needsCleanup.delete(id);
      this.finish(
        id,
        'destroyed',
        this.store.moveStack(id, 'destroyed', null, {
          handle: null,
          connection: null,
          secrets_sealed: null,
          keys_sealed: null,
        }),
      );
    } catch (err) {
      if (this.closing) return;
      this.finish(id, 'destroyed', this.store.moveStack(id, 'destroyFailed', `Destroy failed: ${messageOf(err)}`));
    }
  }

  /**
   * Destroys what a cancelled build started and marks the stack cancelled. When that
   * fails the stack is marked failed, and the next build cleans up first.
   */
  private async cleanUpCancelled(id: string): Promise<void> {
    const row = this.store.getStack(id);
    if (!row) return;
    if (row.desired !== null) {
      // Destroy or provision was asked for meanwhile: the teardown, or the build's cleanup step, removes the remains.
      this.needsCleanup.add(id);
      return;
    }
    try {
      const provider = await this.providerFor(row.provider);
      await provider.destroy(this.specFor(row), row.handle ? (JSON.parse(row.handle) as Record<string, unknown>) : null, (m) => {
        if (!this.closing) this.change(this.store.moveStack(id, 'progress', `Cancelling: ${m}`));
      });
      if (this.closing) return;
      this.needsCleanup.delete(id);
      this.change(this.store.moveStack(id, 'cancel', null, { handle: null, connection: null, secrets_sealed: null }));
    } catch (err) {
      if (this.closing) return;
      this.needsCleanup.add(id);
      this.change(
        this.store.moveStack(id, 'buildFailed', `Cancelled, but cleaning up the build failed: ${messageOf(err)}. Provisioning again cleans up first; destroying removes it.`),
      );
    }
  }

  /** Records the outcome and clears the request it satisfied (unless a newer one replaced it). */
  private finish(id: string, satisfied: 'ready' | 'destroyed', row: StackRow): void {
    this.store.db.prepare('UPDATE stacks SET desired = NULL WHERE id = ? AND desired = ?').run(id, satisfied);
    this.change(row);
  }

  private async newKeys(): Promise<StackKeys> {
    let problem = '';
    for (let i = 0; i < KEYGEN_TRIES; i++) {
      const keys = await this.opts.generateKeys();
      const bad = unusableKey(keys);
      if (!bad) return keys;
      problem = bad;
      this.log(`generated an unusable key (${bad}); generating again`);
    }
    throw Object.assign(new Error(`The key generator keeps producing unusable keys (${problem}).`), { retryable: false });
  }

  private specFor(row: StackRow): StackSpec {
    const workshop = this.store.findWorkshop(row.workshop_id);
    return {
      stackId: row.id,
      workshopName: workshop.name,
      attendeeId: row.attendee_id,
      name: row.name,
      topology: JSON.parse(workshop.topology) as StackTopology,
      dataDir: path.join(this.opts.dataDir, 'stacks', row.id),
    };
  }

  private providerFor(name: string): Promise<Provider> {
    let p = this.providers.get(name);
    if (!p) {
      p = Promise.resolve().then(() => this.opts.providerFactory(name, { dataDir: this.opts.dataDir }));
      // A factory that fails (e.g. unknown provider) is asked again next time.
      p.catch(() => this.providers.delete(name));
      this.providers.set(name, p);
    }
    return p;
  }

  private log(message: string): void {
    this.opts.log?.(message);
  }
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
