/** Exponential backoff with jitter, shared by the tunnel's reconnects and the cluster watchers. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  initialMs: number;
  /** Upper bound of the delay, in ms. */
  maxMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /**
   * Share of the delay that is random (0 … 1, default 0.5). Many attendees reconnect at the
   * same moment after a network blip; jitter spreads them out.
   */
  jitter?: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };

/** Delay before retry number `attempt` (0-based). `random` is injectable for tests. */
export function backoffDelay(opts: BackoffOptions, attempt: number, random: () => number = Math.random): number {
  const factor = opts.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
  const base = Math.min(opts.maxMs, opts.initialMs * Math.pow(factor, Math.min(attempt, 30)));
  return Math.round(base * (1 - jitter) + base * jitter * random());
}
