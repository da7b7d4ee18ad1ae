/**
 * The one refresh manager of the sidebar: views say what changed (`mark`), and it renders at
 * most once per `delayMs` for all of them together, only the views on screen (a hidden view is
 * brought up to date when it shows again), and, on one clock for all views, re-renders the
 * visible views whose rows show ages ("4m", "seen 3 min ago"). No view has a timer of its own.
 */
import type { Disposable } from '../common/events';

export interface RefreshTarget {
  visible(): boolean;
  /** Re-render: everything (`full`), or the rows with these ids. */
  refresh(full: boolean, ids: ReadonlySet<string>): void;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

interface Entry {
  target: RefreshTarget;
  /** Re-rendered by the clock while visible. */
  ages: boolean;
  full: boolean;
  ids: Set<string>;
}

export interface RefreshManagerOptions {
  /** Longest a change waits to be shown; changes within it are shown together (default 100 ms). */
  delayMs?: number;
  /** The clock for rows that show ages (default 30 s). */
  clockMs?: number;
  timers?: Timers;
}

export class RefreshManager implements Disposable {
  private readonly views = new Map<string, Entry>();
  private timer: unknown;
  private clock: unknown;
  private readonly timers: Timers;
  private readonly delayMs: number;
  private readonly clockMs: number;

  constructor(opts: RefreshManagerOptions = {}) {
    this.timers = opts.timers ?? realTimers;
    this.delayMs = opts.delayMs ?? 100;
    this.clockMs = opts.clockMs ?? 30_000;
  }

  /** Adds a view; it renders first on the next flush. */
  register(viewId: string, target: RefreshTarget, opts: { ages?: boolean } = {}): Disposable {
    this.views.set(viewId, { target, ages: opts.ages ?? false, full: true, ids: new Set() });
    this.updateClock();
    this.schedule();
    return {
      dispose: () => {
        this.views.delete(viewId);
        this.updateClock();
      },
    };
  }

  /** Something a view shows changed: all of it (no ids), or the rows with these ids. */
  mark(viewId: string, ids?: Iterable<string>): void {
    const e = this.views.get(viewId);
    if (!e) return;
    if (ids === undefined) e.full = true;
    else for (const id of ids) e.ids.add(id);
    this.schedule();
  }

  /** A view came into sight (or went out of it): what it missed is rendered now. */
  visibilityChanged(viewId: string): void {
    const e = this.views.get(viewId);
    if (e && e.target.visible() && (e.full || e.ids.size)) this.schedule();
    this.updateClock();
  }

  /** Renders what is pending now (tests; the timer calls it otherwise). */
  flush(): void {
    this.timer = undefined;
    for (const e of this.views.values()) {
      if (!(e.full || e.ids.size) || !e.target.visible()) continue;
      const full = e.full;
      const ids = e.ids;
      e.full = false;
      e.ids = new Set();
      e.target.refresh(full, ids);
    }
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = this.timers.setTimeout(() => this.flush(), this.delayMs);
  }

  /** The clock runs only while a view that shows ages is on screen. */
  private updateClock(): void {
    const wanted = [...this.views.values()].some((e) => e.ages && e.target.visible());
    if (wanted && this.clock === undefined) {
      this.clock = this.timers.setInterval(() => {
        for (const [id, e] of this.views) if (e.ages && e.target.visible()) this.mark(id);
        this.updateClock();
      }, this.clockMs);
    } else if (!wanted && this.clock !== undefined) {
      this.timers.clearInterval(this.clock);
      this.clock = undefined;
    }
  }

  dispose(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    if (this.clock !== undefined) this.timers.clearInterval(this.clock);
    this.views.clear();
  }
}
