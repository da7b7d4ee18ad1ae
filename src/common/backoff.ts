/**
 * The one backoff of the code base: exponential delays with jitter, for every loop that waits
 * before trying again (the tunnel's reconnects, the cluster watchers, the environment poll, the
 * organizer's event stream, the provisioning engine's retries).
 */
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

/**
 * A loop's position in its backoff: `next()` gives the delay before the next try and counts the
 * attempt; `reset()` after a success starts again from the first delay.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions = defaultBackoff,
    private readonly random: () => number = Math.random,
  ) {}

  /** Tries that failed since the last reset. */
  get failures(): number {
    return this.attempt;
  }

  next(): number {
    return backoffDelay(this.opts, this.attempt++, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
