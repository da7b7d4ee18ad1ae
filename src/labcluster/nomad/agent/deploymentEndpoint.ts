// /v1/deployments and /v1/deployment/:id: the deployment list, one deployment, its allocations,
// and failing it (which may roll the job back). Nomad's command/agent/deployment_endpoint.go,
// simplified.
import { block, HttpError, sendJson } from '../../http';
import { metaHeaders, notFound, nsMatch, paginate, type NomadApiOptions, type Route } from './request';

/** /v1/deployments, /v1/deployment/… */
export async function deploymentEndpoint(o: NomadApiOptions, { ctx, seg, is, write, invalid }: Route): Promise<void> {
  const nomad = o.nomad;
  const [a0, a1, a2] = seg;
  if (a0 === 'deployments' && !a1) {
    if (!is('GET')) return invalid();
    const index = await block(ctx, nomad.store, ['deployment']);
    const prefix = ctx.query.get('prefix') ?? '';
    const headers = metaHeaders(index);
    const list = [...nomad.deployments.values()].filter((d) => nsMatch(ctx, d.Namespace) && d.ID.startsWith(prefix)).sort((x, y) => x.CreateIndex - y.CreateIndex);
    return sendJson(ctx, 200, paginate(ctx, list, (d) => d.ID, headers), headers);
  }
  if (a0 === 'deployment' && a1 === 'fail' && a2) {
    if (!is(write)) return invalid();
    const d = nomad.deployments.get(a2);
    if (!d) throw new HttpError(404, 'deployment not found');
    if (d.Status !== 'running' && d.Status !== 'paused') throw new HttpError(500, `can't fail terminal deployment`);
    const r = nomad.failDeployment(d);
    return sendJson(ctx, 200, { EvalID: r.evalId, EvalCreateIndex: r.index, DeploymentModifyIndex: d.ModifyIndex, RevertedJobVersion: r.revertedTo, Index: r.index });
  }
  if (a0 === 'deployment' && a1) {
    if (!is('GET')) return invalid();
    if (a1 === 'allocations' && a2) {
      const index = await block(ctx, nomad.store, ['allocs']);
      return sendJson(ctx, 200, [...nomad.allocs.values()].filter((x) => x.DeploymentID === a2).map((x) => nomad.allocStub(x)), metaHeaders(index));
    }
    const index = await block(ctx, nomad.store, ['deployment']);
    const d = nomad.deployments.get(a1);
    if (!d) throw new HttpError(404, 'deployment not found');
    return sendJson(ctx, 200, d, metaHeaders(index));
  }
  return notFound(ctx);
}
