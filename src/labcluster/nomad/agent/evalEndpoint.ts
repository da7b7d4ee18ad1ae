// /v1/evaluations and /v1/evaluation/:id: the evaluation list (prefix, job and status filters,
// pagination), one evaluation, and the allocations it placed. Nomad's
// command/agent/eval_endpoint.go, simplified.
import { block, HttpError, sendJson } from '../../http';
import { metaHeaders, notFound, nsMatch, paginate, type NomadApiOptions, type Route } from './request';

/** /v1/evaluations, /v1/evaluation/… */
export async function evalEndpoint(o: NomadApiOptions, { ctx, seg, is, invalid }: Route): Promise<void> {
  const nomad = o.nomad;
  const [a0, a1, a2] = seg;
  if (a0 === 'evaluations' && !a1) {
    if (!is('GET')) return invalid();
    const index = await block(ctx, nomad.store, ['evals']);
    const prefix = ctx.query.get('prefix') ?? '';
    const jobFilter = ctx.query.get('job');
    const status = ctx.query.get('status');
    const list = [...nomad.evals.values()].filter((e) => nsMatch(ctx, e.Namespace) && e.ID.startsWith(prefix) && (!jobFilter || e.JobID === jobFilter) && (!status || e.Status === status));
    const headers = metaHeaders(index);
    return sendJson(ctx, 200, paginate(ctx, list.sort((x, y) => x.CreateIndex - y.CreateIndex), (e) => e.ID, headers), headers);
  }
  if (a0 === 'evaluation' && a1) {
    if (!is('GET')) return invalid();
    if (!a2) {
      const index = await block(ctx, nomad.store, ['evals']);
      const e = nomad.evals.get(a1);
      if (!e) throw new HttpError(404, 'eval not found');
      return sendJson(ctx, 200, e, metaHeaders(index));
    }
    if (a2 === 'allocations') {
      const index = await block(ctx, nomad.store, ['allocs']);
      return sendJson(ctx, 200, [...nomad.allocs.values()].filter((x) => x.EvalID === a1).map((x) => nomad.allocStub(x)), metaHeaders(index));
    }
  }
  return notFound(ctx);
}
