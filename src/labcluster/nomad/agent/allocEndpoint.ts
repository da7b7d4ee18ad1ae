// /v1/allocations, /v1/allocation/:id and /v1/client/allocation/:id: the allocation list (stubs,
// prefix, reverse, pagination, filter), one allocation, stopping it, and the client's restart,
// signal and stats. Nomad's command/agent/alloc_endpoint.go, simplified.
import { block, HttpError, queryBool, sendJson } from '../../http';
import { metaHeaders, notFound, nsMatch, paginate, type NomadApiOptions, type Route } from './request';

/** /v1/allocations, /v1/allocation/…, /v1/client/allocation/… */
export async function allocEndpoint(o: NomadApiOptions, { ctx, seg, is, write, invalid }: Route): Promise<void> {
  const nomad = o.nomad;
  const [a0, a1, a2, a3] = seg;
  if (a0 === 'allocations' && !a1) {
    if (!is('GET')) return invalid();
    const index = await block(ctx, nomad.store, ['allocs']);
    const prefix = ctx.query.get('prefix') ?? '';
    const withStates = ctx.query.get('task_states') !== 'false';
    let list = [...nomad.allocs.values()].filter((x) => nsMatch(ctx, x.Namespace) && x.ID.startsWith(prefix));
    list = prefix ? list.sort((x, y) => x.ID.localeCompare(y.ID)) : list.sort((x, y) => x.CreateIndex - y.CreateIndex);
    if (queryBool(ctx.query, 'reverse')) list.reverse();
    const headers = metaHeaders(index);
    // Tokens are zero-padded create indexes (or IDs under a prefix) so they sort like the list.
    const page = paginate(ctx, list, (x) => (prefix ? x.ID : String(x.CreateIndex).padStart(12, '0') + '.' + x.ID), headers, (x) => nomad.allocJson(x));
    return sendJson(ctx, 200, page.map((x) => nomad.allocStub(x, queryBool(ctx.query, 'resources'), withStates)), headers);
  }
  if (a0 === 'allocation' && a1) {
    if (!a2) {
      if (!is('GET')) return invalid();
      const index = await block(ctx, nomad.store, ['allocs']);
      const x = nomad.allocs.get(a1);
      if (!x) throw new HttpError(404, 'alloc not found');
      return sendJson(ctx, 200, nomad.allocJson(x), metaHeaders(index));
    }
    if (a2 === 'stop') {
      if (!is(write)) return invalid();
      const x = nomad.allocs.get(a1);
      if (!x) throw new HttpError(404, 'alloc not found');
      const r = nomad.stopAlloc(x);
      return sendJson(ctx, 200, { EvalID: r.evalId, Index: r.index }, { 'X-Nomad-Index': String(r.index) });
    }
    if (a2 === 'services' || a2 === 'checks') return is('GET') ? sendJson(ctx, 200, a2 === 'services' ? [] : {}) : invalid();
  }
  if (a0 === 'client' && a1 === 'allocation' && a2) {
    const x = nomad.allocs.get(a2);
    if (!x) throw new HttpError(404, 'Unknown allocation "' + a2 + '"');
    if (a3 === 'restart') {
      if (!is(write)) return invalid();
      const body = (await ctx.body()) as { TaskName?: string; AllTasks?: boolean } | null;
      if (body?.TaskName && !nomad.hasTask(x, body.TaskName)) throw new HttpError(400, `Failed to restart task "${body.TaskName}": task not found`);
      nomad.restartAlloc(x, body?.AllTasks ? undefined : body?.TaskName || undefined);
      return sendJson(ctx, 200, {});
    }
    if (a3 === 'signal') return is(write) ? sendJson(ctx, 200, {}) : invalid();
    if (a3 === 'stats') return is('GET') ? sendJson(ctx, 200, { ResourceUsage: { MemoryStats: { RSS: x.memoryMB * 300_000, Usage: x.memoryMB * 400_000, Measured: ['RSS', 'Cache', 'Swap', 'Usage', 'Max Usage'] }, CpuStats: { Percent: 1.2, TotalTicks: 52.8, Measured: ['Throttled Periods', 'Throttled Time', 'Percent'] } }, Tasks: {}, Timestamp: Date.now() * 1e6 }) : invalid();
  }
  return notFound(ctx);
}
