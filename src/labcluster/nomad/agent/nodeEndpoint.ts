// /v1/nodes and /v1/node/:id: the node list (stubs, pagination, filter), one node, its
// allocations, scheduling eligibility, drain and a forced evaluation. Nomad's
// command/agent/node_endpoint.go, simplified.
import { block, HttpError, queryBool, sendJson } from '../../http';
import { nodeJson, nodeStubJson } from '../../topology';
import { metaHeaders, notFound, paginate, type NomadApiOptions, type Route } from './request';

/** /v1/nodes, /v1/node/… */
export async function nodeEndpoint(o: NomadApiOptions, { ctx, seg, is, write, invalid }: Route): Promise<void> {
  const nomad = o.nomad;
  const [a0, a1, a2] = seg;
  if (a0 === 'nodes' && !a1) {
    if (!is('GET')) return invalid();
    const index = await block(ctx, nomad.store, ['nodes']);
    const prefix = ctx.query.get('prefix') ?? '';
    const list = [...nomad.nodes.values()].filter((n) => n.ID.startsWith(prefix)).sort((x, y) => x.ID.localeCompare(y.ID));
    const headers = metaHeaders(index);
    const page = paginate(ctx, list, (n) => n.ID, headers, (n) => nodeJson(n));
    return sendJson(ctx, 200, page.map((n) => nodeStubJson(n, { os: queryBool(ctx.query, 'os'), resources: queryBool(ctx.query, 'resources') })), headers);
  }
  if (a0 === 'node' && a1) {
    const n = nomad.nodes.get(a1) ?? [...nomad.nodes.values()].find((x) => x.ID.startsWith(a1) && a1.length >= 8 && !a2);
    if (!a2) {
      if (!is('GET')) return invalid();
      const index = await block(ctx, nomad.store, ['nodes']);
      if (!n) throw new HttpError(404, 'node not found');
      return sendJson(ctx, 200, nodeJson(n), metaHeaders(index));
    }
    if (!n) throw new HttpError(404, 'node not found');
    if (a2 === 'allocations') {
      if (!is('GET')) return invalid();
      const index = await block(ctx, nomad.store, ['allocs']);
      return sendJson(ctx, 200, [...nomad.allocs.values()].filter((x) => x.NodeID === n.ID).map((x) => nomad.allocJson(x)), metaHeaders(index));
    }
    if (a2 === 'eligibility') {
      if (!is(write)) return invalid();
      const body = (await ctx.body()) as { Eligibility?: string } | null;
      if (!body?.Eligibility || !['eligible', 'ineligible'].includes(body.Eligibility)) throw new HttpError(400, 'invalid scheduling eligibility');
      if (n.DrainStrategy && body.Eligibility === 'eligible') throw new HttpError(400, 'can not set node\'s scheduling eligibility to eligible while it is draining');
      const idx = nomad.setEligibility(n, body.Eligibility === 'eligible');
      return sendJson(ctx, 200, { EvalIDs: null, EvalCreateIndex: 0, NodeModifyIndex: idx, Index: idx, LastContact: 0, KnownLeader: false });
    }
    if (a2 === 'drain') {
      if (!is(write)) return invalid();
      const body = (await ctx.body()) as { DrainSpec?: { Deadline?: number; IgnoreSystemJobs?: boolean } | null; MarkEligible?: boolean; Meta?: Record<string, string> } | null;
      if (!body) throw new HttpError(400, 'missing request body');
      const spec = body.DrainSpec ? { Deadline: Number(body.DrainSpec.Deadline ?? 0), IgnoreSystemJobs: !!body.DrainSpec.IgnoreSystemJobs } : null;
      const idx = nomad.drainNode(n, spec, !!body.MarkEligible, body.Meta ?? null);
      const evalIds = [...nomad.evals.values()].filter((e) => e.NodeID === n.ID && e.CreateIndex >= idx).map((e) => e.ID);
      return sendJson(ctx, 200, { EvalIDs: evalIds.length ? evalIds : null, EvalCreateIndex: evalIds.length ? nomad.store.index : 0, NodeModifyIndex: idx, Index: idx, LastContact: 0, KnownLeader: false });
    }
    if (a2 === 'evaluate') {
      if (!is(write)) return invalid();
      nomad.nodeUpdateEvals(n);
      const evalIds = [...nomad.evals.values()].filter((e) => e.NodeID === n.ID && e.Status === 'pending').map((e) => e.ID);
      return sendJson(ctx, 200, { EvalIDs: evalIds, EvalCreateIndex: nomad.store.index, NodeModifyIndex: n.ModifyIndex, Index: nomad.store.index });
    }
  }
  return notFound(ctx);
}
