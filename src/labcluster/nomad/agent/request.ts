// What every endpoint file of the Nomad HTTP API shares: the agent's options, the routed
// request, the X-Nomad-* response headers, the namespace query, filter expressions and
// pagination of list endpoints, and waiting for a streaming client to go away. The helpers of
// Nomad's command/agent/http.go (setMeta, parseNamespace, parseFilter, parsePagination),
// simplified.
import type { AllocFs } from '../../allocfs';
import type { Faults } from '../../faults';
import { compileFilter } from '../../filter';
import { HttpError, type Ctx } from '../../http';
import type { LabNomad } from '../server';

export interface NomadApiOptions {
  nomad: LabNomad;
  aclToken?: string;
  name: string;
  faults: Faults;
  eventHeartbeatMs: number;
  logHeartbeatMs: number;
  fs: AllocFs;
  /** admin hooks that touch Consul */
  admin: { consulSummary(): unknown };
}

/** One /v1 request routed to an endpoint file: its path segments after /v1/ and the method tests. */
export interface Route {
  ctx: Ctx;
  seg: string[];
  is(m: string | string[]): boolean;
  /** the methods of a write (PUT or POST) */
  write: string[];
  /** 405 Invalid method */
  invalid(): void;
}

/** An endpoint file's handler: answers every request routed to it, 404 for the paths it does not serve. */
export type Endpoint = (o: NomadApiOptions, r: Route) => Promise<void>;

export const metaHeaders = (index: number): Record<string, string> => ({ 'X-Nomad-Index': String(index), 'X-Nomad-KnownLeader': 'true', 'X-Nomad-LastContact': '0' });

export function nsOf(ctx: Ctx): string {
  return ctx.query.get('namespace') || 'default';
}

export function nsMatch(ctx: Ctx, ns: string): boolean {
  const want = nsOf(ctx);
  return want === '*' || want === ns;
}

export function notFound(ctx: Ctx): void {
  ctx.res.writeHead(404);
  ctx.res.end();
}

/**
 * `?per_page=N&next_token=X` on list endpoints: the page starts at the item whose token is X and
 * `X-Nomad-NextToken` names the first item of the next page (only when there is one).
 */
export function paginate<T>(ctx: Ctx, all: T[], token: (x: T) => string, headers: Record<string, string>, full?: (x: T) => unknown): T[] {
  const expr = ctx.query.get('filter');
  let list = all;
  if (expr) {
    const match = compileFilter(expr);
    list = all.filter((x) => match(full ? full(x) : x));
  }
  const perRaw = ctx.query.get('per_page');
  const next = ctx.query.get('next_token') ?? '';
  let start = 0;
  if (next) {
    start = list.findIndex((x) => token(x) === next);
    if (start < 0) start = list.findIndex((x) => token(x) >= next);
    if (start < 0) start = list.length;
  }
  if (perRaw === null || perRaw === '') return list.slice(start);
  if (!/^\d+$/.test(perRaw)) throw new HttpError(400, 'Invalid per_page value');
  const per = Number(perRaw);
  if (per === 0) return list.slice(start);
  const page = list.slice(start, start + per);
  const following = list[start + per];
  if (following !== undefined) headers['X-Nomad-NextToken'] = token(following);
  return page;
}

/** Resolves when the client goes away or the cluster shuts down. */
export function untilClosed(ctx: Ctx, nomad: LabNomad): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    const done = () => {
      nomad.off('closing', done);
      ctx.signal.removeEventListener('abort', done);
      resolve();
    };
    ctx.signal.addEventListener('abort', done, { once: true });
    nomad.on('closing', done);
  });
}
