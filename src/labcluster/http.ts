// Shared HTTP plumbing of the lab cluster's Nomad and Consul listeners: query parsing the way
// their agents do it (Go durations for `wait`, 5m default / 10m max plus up to wait/16 jitter),
// plain-text errors, and blocking reads on the index store.
import type * as http from 'node:http';
import type { IndexStore } from './store';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  /** aborts when the client goes away */
  signal: AbortSignal;
  body(): Promise<unknown>;
  rawBody(): Promise<Buffer>;
}

export function makeCtx(req: http.IncomingMessage, res: http.ServerResponse): Ctx {
  const url = new URL(req.url ?? '/', 'http://lab');
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  let raw: Promise<Buffer> | undefined;
  const rawBody = (): Promise<Buffer> =>
    (raw ??= new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 8 * 1024 * 1024) {
          reject(new HttpError(413, 'Request body too large'));
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    }));
  return {
    req,
    res,
    method: req.method ?? 'GET',
    path: decodeURIComponent(url.pathname),
    query: url.searchParams,
    signal: ac.signal,
    rawBody,
    body: async () => {
      const buf = await rawBody();
      if (buf.length === 0) return null;
      try {
        return JSON.parse(buf.toString('utf8')) as unknown;
      } catch (err) {
        throw new HttpError(400, `Failed to decode request body: ${(err as Error).message}`);
      }
    },
  };
}

/** `?pretty` pretty-prints, like both agents. */
export function sendJson(ctx: Ctx, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (ctx.res.headersSent) return;
  const text = ctx.query.has('pretty') ? JSON.stringify(body, null, 4) : JSON.stringify(body);
  ctx.res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  ctx.res.end(text);
}

export function sendText(ctx: Ctx, status: number, text: string, headers: Record<string, string> = {}): void {
  if (ctx.res.headersSent) {
    ctx.res.end();
    return;
  }
  ctx.res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  ctx.res.end(text);
}

const units: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds; null when invalid. */
export function parseGoDurationMs(s: string): number | null {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  if (!s) return null;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return null;
    total += Number(m[1]) * (units[m[2] as string] as number);
    pos = re.lastIndex;
  }
  return total;
}

export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

export function parseBlocking(q: URLSearchParams): { index: number; waitMs: number } {
  let waitMs = DEFAULT_WAIT_MS;
  const w = q.get('wait');
  if (w !== null && w !== '') {
    const ms = parseGoDurationMs(w);
    if (ms === null) throw new HttpError(400, 'Invalid wait time');
    waitMs = Math.min(ms, MAX_WAIT_MS);
  }
  let index = 0;
  const i = q.get('index');
  if (i !== null && i !== '') {
    if (!/^\d+$/.test(i)) throw new HttpError(400, 'Invalid index');
    index = Number(i);
  }
  return { index, waitMs };
}

/** Wait as a blocking query does: until the tables move past `index`, or wait + jitter ran out. */
export async function block(ctx: Ctx, store: IndexStore, tables: string[]): Promise<number> {
  const { index, waitMs } = parseBlocking(ctx.query);
  if (index > 0) {
    const jitter = Math.random() * (waitMs / 16);
    await store.waitForChange(tables, index, waitMs + jitter, ctx.signal);
  }
  return store.tableIndex(tables);
}

export function queryBool(q: URLSearchParams, name: string): boolean {
  if (!q.has(name)) return false;
  const v = q.get(name);
  return v === '' || v === 'true' || v === '1';
}
