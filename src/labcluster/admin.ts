// The lab's admin API on the Nomad port, /_lab/… (lab-only, no Nomad counterpart): the cluster
// summary, nodes and zones taken down and brought back, the docker plugin's volumes and
// privileged settings, fault injection, and the image registry's moving tags.
import { noFaults } from './faults';
import { HttpError, sendJson, type Ctx } from './http';
import type { NomadApiOptions } from './nomad/agent/request';
import { refreshDockerAttributes, type LabNode } from './topology';

export async function labAdmin(o: NomadApiOptions, ctx: Ctx): Promise<void> {
  const nomad = o.nomad;
  const parts = ctx.path.split('/').filter(Boolean).slice(1);
  const [section, id, action] = parts;
  const body = ctx.method === 'GET' || ctx.method === 'DELETE' ? null : ((await ctx.body()) as Record<string, unknown> | null);
  const nodeById = (x: string | undefined): LabNode => {
    const n = x ? nomad.findNode(x) : undefined;
    if (!n) throw new HttpError(404, 'node not found');
    return n;
  };
  const summary = () => ({
    name: o.name,
    nodes: [...nomad.nodes.values()].map((n) => ({ id: n.ID, name: n.Name, datacenter: n.Datacenter, zone: n.zone, status: n.Status, eligibility: n.SchedulingEligibility, dockerVolumes: n.dockerVolumes, dockerPrivileged: n.dockerPrivileged, server: n.isServer })),
    zones: [...new Set([...nomad.nodes.values()].map((n) => n.zone))],
    faults: o.faults,
    consul: o.admin.consulSummary(),
  });
  if (!section && ctx.method === 'GET') return sendJson(ctx, 200, summary());
  if (section === 'node' && (action === 'down' || action === 'up') && ctx.method === 'POST') {
    const n = nodeById(id);
    nomad.setNodeStatus(n, action === 'down' ? 'down' : 'ready', `lab: node ${action}`);
    return sendJson(ctx, 200, summary());
  }
  if (section === 'node' && action === 'docker' && ctx.method === 'POST') {
    const n = nodeById(id);
    nomad.setDockerPlugin(n, body?.volumes === true, body?.privileged === true, refreshDockerAttributes);
    return sendJson(ctx, 200, summary());
  }
  if (section === 'docker' && ctx.method === 'POST') {
    // Every client of a datacenter (default: all nodes) with the docker plugin settings given.
    for (const n of nomad.nodes.values()) {
      if (typeof body?.datacenter === 'string' && n.Datacenter !== body.datacenter) continue;
      nomad.setDockerPlugin(n, body?.volumes === true, body?.privileged === true, refreshDockerAttributes);
    }
    return sendJson(ctx, 200, summary());
  }
  if (section === 'zone' && id && action === 'outage') {
    const nodes = [...nomad.nodes.values()].filter((n) => n.zone === id && (n.Datacenter !== 'sys1' || body?.includeServers === true || ctx.query.has('include_servers')));
    if (nodes.length === 0) throw new HttpError(404, `no nodes in zone ${id}`);
    const down = ctx.method !== 'DELETE';
    for (const n of nodes) nomad.setNodeStatus(n, down ? 'down' : 'ready', `lab: zone ${id} ${down ? 'outage' : 'restored'}`);
    return sendJson(ctx, 200, summary());
  }
  if (section === 'faults') {
    if (ctx.method === 'DELETE') Object.assign(o.faults, noFaults());
    else if (ctx.method === 'POST' || ctx.method === 'PUT') {
      const f = body ?? {};
      if (f.delayMs !== undefined && (typeof f.delayMs !== 'number' || f.delayMs < 0 || f.delayMs > 600_000)) throw new HttpError(400, 'delayMs must be a number of milliseconds between 0 and 600000');
      if (f.errorRate !== undefined && (typeof f.errorRate !== 'number' || f.errorRate < 0 || f.errorRate > 1)) throw new HttpError(400, 'errorRate must be a number between 0 and 1');
      if (f.status !== undefined && (typeof f.status !== 'number' || f.status < 400 || f.status > 599)) throw new HttpError(400, 'status must be an HTTP error status (400-599)');
      if (f.target !== undefined && !['nomad', 'consul', 'both'].includes(f.target as string)) throw new HttpError(400, 'target must be nomad, consul or both');
      Object.assign(o.faults, noFaults(), Object.fromEntries(Object.entries(f).filter(([k]) => k in noFaults())));
    }
    return sendJson(ctx, 200, o.faults);
  }
  if (section === 'images' && id === 'advance' && ctx.method === 'POST') return sendJson(ctx, 200, { Moved: nomad.advanceMovingTags() });
  if (section === 'images' && id === 'reset' && ctx.method === 'POST') {
    nomad.registry.reset();
    return sendJson(ctx, 200, { Reset: true });
  }
  throw new HttpError(404, `no lab admin route ${ctx.method} ${ctx.path}`);
}
