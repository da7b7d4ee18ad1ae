// A raft-like index shared by every table of one simulated agent (Nomad or Consul): every write
// bumps the global index and stamps the tables it touched, and blocking queries wait on exactly
// those tables. Waiting is event-driven: a waiter is a promise resolved by the write that
// changes its tables, plus one timer for its `wait` deadline, so idle watchers cost no CPU.

export interface StreamEvent {
  Topic: string;
  Type: string;
  Key: string;
  Namespace: string;
  FilterKeys: string[] | null;
  Index: number;
  Payload: Record<string, unknown>;
}

interface Waiter {
  tables: string[];
  index: number;
  resolve: () => void;
}

export class IndexStore {
  /** On a new cluster the index starts at 1 (Nomad docs, "Blocking Queries"). */
  index = 1;
  private readonly tables = new Map<string, number>();
  private readonly waiters = new Set<Waiter>();
  private readonly eventBuffer: { index: number; events: StreamEvent[] }[] = [];
  private readonly subscribers = new Set<(batch: { index: number; events: StreamEvent[] }) => void>();
  /** How many write batches the event buffer keeps for `?index=` replays. */
  private readonly bufferSize = 2048;

  /** Bump the index for a write touching `tables`; wake the waiters of those tables. */
  write(tables: string[], events: Omit<StreamEvent, 'Index'>[] = []): number {
    const index = ++this.index;
    for (const t of tables) this.tables.set(t, index);
    for (const w of [...this.waiters]) {
      if (w.tables.some((t) => (this.tables.get(t) ?? 0) > w.index)) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
    if (events.length) {
      const batch = { index, events: events.map((e) => ({ ...e, Index: index })) };
      this.eventBuffer.push(batch);
      if (this.eventBuffer.length > this.bufferSize) this.eventBuffer.shift();
      for (const s of [...this.subscribers]) s(batch);
    }
    return index;
  }

  /** The highest index of the given tables (at least 1). */
  tableIndex(tables: string[]): number {
    let max = 1;
    for (const t of tables) max = Math.max(max, this.tables.get(t) ?? 1);
    return max;
  }

  /**
   * Resolves when one of `tables` moves past `index`, after `waitMs`, or when `signal` aborts,
   * whichever comes first.
   */
  waitForChange(tables: string[], index: number, waitMs: number, signal?: AbortSignal): Promise<void> {
    if (this.tableIndex(tables) > index || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const waiter: Waiter = { tables, index, resolve: done };
      const timer = setTimeout(done, waitMs);
      this.waiters.add(waiter);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Buffered event batches after `index` (for the event stream's `?index=`). */
  eventsSince(index: number): { index: number; events: StreamEvent[] }[] {
    return this.eventBuffer.filter((b) => b.index > index);
  }

  subscribe(fn: (batch: { index: number; events: StreamEvent[] }) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Release every waiter (on shutdown). */
  releaseAll(): void {
    for (const w of [...this.waiters]) w.resolve();
    this.waiters.clear();
    this.subscribers.clear();
  }
}
