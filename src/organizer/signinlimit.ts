/**
 * Limits failed sign-in attempts per client address. Only failures count: a room full of
 * attendees behind one conference NAT all redeem their invites in the same minute, and
 * they must not lock each other out, while someone guessing invite tokens fails every time.
 */
export interface SignInLimitOptions {
  /** Failed attempts allowed per address within the window. */
  max: number;
  timeWindowMs: number;
}

interface Bucket {
  failures: number;
  windowStart: number;
}

/** Bounds memory when many addresses fail once (e.g. a scan from many sources). */
const MAX_TRACKED = 10_000;

export class SignInLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly opts: SignInLimitOptions,
    private readonly now: () => number,
  ) {}

  /** Milliseconds until `key` may try again, or 0 when it may try now. */
  retryAfterMs(key: string): number {
    const b = this.current(key);
    if (!b || b.failures < this.opts.max) return 0;
    return Math.max(1, b.windowStart + this.opts.timeWindowMs - this.now());
  }

  recordFailure(key: string): void {
    const b = this.current(key);
    if (b) {
      b.failures++;
      return;
    }
    if (this.buckets.size >= MAX_TRACKED) this.prune();
    this.buckets.set(key, { failures: 1, windowStart: this.now() });
  }

  private current(key: string): Bucket | undefined {
    const b = this.buckets.get(key);
    if (b && this.now() - b.windowStart >= this.opts.timeWindowMs) {
      this.buckets.delete(key);
      return undefined;
    }
    return b;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, b] of this.buckets) if (now - b.windowStart >= this.opts.timeWindowMs) this.buckets.delete(k);
    // Still full: drop the oldest entries (Map keeps insertion order).
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < MAX_TRACKED) break;
      this.buckets.delete(k);
    }
  }
}
