/**
 * Watchers: a blocking-query loop (Nomad and Consul's long polls) and an NDJSON line reader
 * for Nomad's event stream. No fixed-interval polling: a loop asks again only when the
 * server answered (a change, or the wait ran out) or after an error's backoff.
 */
import type { Readable } from 'node:stream';
import { backoffDelay, defaultBackoff, type BackoffOptions } from '../common/backoff';
import type { QueryResult } from './http';

export interface BlockingWatchOptions<T> {
  /** One blocking read from `index` (0 = answer at once). */
  query: (index: number, signal: AbortSignal) => Promise<QueryResult<T>>;
  /** Called with the first answer and with every answer whose index moved. */
  onChange: (data: T, index: number) => void;
  /** Called for each failed read, with the delay before the next one. */
  onError?: (err: Error, attempt: number, retryInMs: number) => void;
  /** Called on the first good answer after errors. */
  onRecovered?: () => void;
  backoff?: BackoffOptions;
  signal?: AbortSignal;
}

export interface Watch {
  stop(): void;
  /** Settles when the loop has ended (after stop()). */
  readonly done: Promise<void>;
}

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

/**
 * Runs a blocking query in a loop. Follows the documented client rules: a return is not
 * proof of change (compare indexes), reset to 0 when the index goes backwards (a restored
 * or replaced server), never send an index below 1, back off with jitter on errors.
 */
export function watchBlocking<T>(opts: BlockingWatchOptions<T>): Watch {
  const controller = new AbortController();
  const outer = opts.signal;
  const onOuterAbort = () => controller.abort();
  if (outer?.aborted) controller.abort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = controller.signal;

  const done = (async () => {
    let index = 0;
    let first = true;
    let failures = 0;
    while (!signal.aborted) {
      const started = Date.now();
      let result: QueryResult<T>;
      try {
        result = await opts.query(index, signal);
      } catch (err) {
        if (signal.aborted) break;
        const delay = backoffDelay(opts.backoff ?? defaultBackoff, failures);
        failures++;
        opts.onError?.(err as Error, failures, delay);
        await sleep(delay, signal);
        continue;
      }
      if (signal.aborted) break;
      if (failures > 0) {
        failures = 0;
        opts.onRecovered?.();
      }
      const next = result.index;
      const wentBack = next < index;
      const changed = first || wentBack || next !== index || next === 0;
      first = false;
      if (changed) opts.onChange(result.data, next);
      // Backwards: start over from 0 so the next read answers at once with the current state.
      index = wentBack ? 0 : Math.max(next, 1);
      if (!changed && Date.now() - started < 50) {
        // An answer without change that came back at once means the server does not block:
        // do not spin.
        await sleep(1000, signal);
      }
      if (next === 0) {
        // The endpoint has no index to block on; asking again at once would be polling.
        await sleep(5000, signal);
      }
    }
    outer?.removeEventListener('abort', onOuterAbort);
  })();

  return { stop: () => controller.abort(), done };
}

/**
 * Splits a byte stream into lines and yields each parsed JSON value (NDJSON). A line that is
 * not JSON throws, naming the line.
 */
export async function* readNdjson(stream: Readable | NodeJS.ReadableStream): AsyncGenerator<unknown> {
  let buffer = '';
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      yield parseLine(line);
    }
  }
  const rest = buffer.trim();
  if (rest) yield parseLine(rest);
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new SyntaxError(`not a JSON line: ${JSON.stringify(line.slice(0, 80))}`);
  }
}
