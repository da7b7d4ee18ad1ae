// The Nomad HTTP API of the lab cluster (paths, status codes, bodies and headers per the
// nomad-consul-api reference §1–§2): fault injection, the ACL token check and the "No cluster
// leader" answer in front of every /v1 route, then the route to the endpoint file that serves
// it; besides /v1, the /ui/ page and the lab's /_lab/ admin API. Nomad's
// command/agent/http.go (registerHandlers, the ACL token and UI handlers), simplified.
import { labAdmin } from '../../admin';
import { faultGate } from '../../faults';
import { HttpError, sendText, type Ctx } from '../../http';
import { renderUi, type UiAllocation, type UiJob, type UiNode } from '../../ui';
import { nodeJson } from '../../topology';
import { BadRequest, NotFound, REGION } from '../structs';
import { agentEndpoint, leaderAddr, member, regionsEndpoint, statusEndpoint } from './agentEndpoint';
import { allocEndpoint } from './allocEndpoint';
import { deploymentEndpoint } from './deploymentEndpoint';
import { evalEndpoint } from './evalEndpoint';
import { eventEndpoint } from './eventEndpoint';
import { fsEndpoint } from './fsEndpoint';
import { jobEndpoint } from './jobEndpoint';
import { nodeEndpoint } from './nodeEndpoint';
import { notFound, type Endpoint, type NomadApiOptions } from './request';

export type { NomadApiOptions } from './request';

/** The endpoint file serving each first path segment after /v1/ (registerHandlers' mux). */
const routes = new Map<string, Endpoint>([
  ['status', statusEndpoint],
  ['regions', regionsEndpoint],
  ['agent', agentEndpoint],
  ['nodes', nodeEndpoint],
  ['node', nodeEndpoint],
  ['jobs', jobEndpoint],
  ['validate', jobEndpoint],
  ['job', jobEndpoint],
  ['allocations', allocEndpoint],
  ['allocation', allocEndpoint],
  // /v1/client/allocation/… is alloc_endpoint.go's, /v1/client/fs/… fs_endpoint.go's.
  ['client', (o, r) => (r.seg[1] === 'fs' ? fsEndpoint(o, r) : allocEndpoint(o, r))],
  ['evaluations', evalEndpoint],
  ['evaluation', evalEndpoint],
  ['deployments', deploymentEndpoint],
  ['deployment', deploymentEndpoint],
  ['event', eventEndpoint],
]);

function tokenOf(ctx: Ctx): string {
  const h = ctx.req.headers['x-nomad-token'];
  if (typeof h === 'string' && h) return h;
  const auth = ctx.req.headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  return ctx.query.get('token') ?? '';
}

export function createNomadHandler(o: NomadApiOptions): (ctx: Ctx) => Promise<void> {
  const nomad = o.nomad;

  const uiPage = (ctx: Ctx) => {
    const r = renderUi({
      path: ctx.path,
      clusterName: o.name,
      region: REGION,
      leader: leaderAddr(nomad),
      // The page reads the same JSON the API serves.
      jobs: [...nomad.jobs.values()].map((j) => nomad.jobJson(j) as unknown as UiJob),
      allocations: [...nomad.allocs.values()].map((a) => nomad.allocStub(a) as unknown as UiAllocation),
      nodes: [...nomad.nodes.values()].map((n) => nodeJson(n) as unknown as UiNode),
      servers: nomad.servers().map((n) => member(nomad, n)),
    });
    ctx.res.writeHead(r.status, { 'Content-Type': r.contentType });
    ctx.res.end(r.body);
  };

  return async (ctx: Ctx) => {
    const { method, path } = ctx;
    if (path === '/' && method === 'GET') {
      ctx.res.writeHead(307, { Location: '/ui/' });
      ctx.res.end();
      return;
    }
    if (path === '/ui' || path.startsWith('/ui/')) return uiPage(ctx);
    if (path === '/_lab' || path.startsWith('/_lab/')) return labAdmin(o, ctx);
    if (!path.startsWith('/v1/')) {
      ctx.res.writeHead(404);
      ctx.res.end();
      return;
    }
    if (await faultGate(ctx, o.faults, 'nomad')) return;
    if (o.aclToken && !['/v1/status/leader', '/v1/status/peers', '/v1/regions'].includes(path)) {
      const token = tokenOf(ctx);
      if (!token) throw new HttpError(403, 'Permission denied');
      if (token !== o.aclToken) throw new HttpError(403, 'ACL token not found');
    }
    // Without a raft quorum there is no leader: status/leader and every forwarded RPC fail.
    if (!nomad.leader() && !path.startsWith('/v1/agent/') && path !== '/v1/status/peers' && path !== '/v1/regions') throw new HttpError(500, 'No cluster leader');
    const seg = path.split('/').filter(Boolean).slice(1);
    const is = (m: string | string[]) => (Array.isArray(m) ? m.includes(method) : method === m);
    const write = ['PUT', 'POST'];
    const invalid = () => sendText(ctx, 405, 'Invalid method');
    const endpoint = routes.get(seg[0] ?? '');
    if (endpoint) return endpoint(o, { ctx, seg, is, write, invalid });
    notFound(ctx);
  };
}

/** Turn model errors into Nomad's plain-text error responses. */
export function nomadError(ctx: Ctx, err: unknown): void {
  if (err instanceof HttpError) return sendText(ctx, err.status, err.message);
  if (err instanceof NotFound) return sendText(ctx, 404, err.message);
  if (err instanceof BadRequest) return sendText(ctx, 400, err.message);
  sendText(ctx, 500, (err as Error)?.message ?? String(err));
}
