// The Nomad HTTP API of the lab cluster (paths, status codes, bodies and headers per the
// nomad-consul-api reference §1–§2), the /ui/ page and the /_lab/ admin API.
import { JobParseError, parseJobHCL, validateJob, formatMultiError, formatWarnings, type NomadJob } from './jobspec';
import type { AllocFs } from './allocfs';
import { compileFilter } from './filter';
import { renderUi, type UiAllocation, type UiJob, type UiNode } from './ui';
import { block, HttpError, parseBlocking, queryBool, sendJson, sendText, type Ctx } from './http';
import { BadRequest, isTerminal, NotFound, REGION, type LabAlloc, type LabNomad } from './nomad';
import { nodeJson, nodeStubJson, NOMAD_REVISION, NOMAD_VERSION, refreshDockerAttributes, type LabNode } from './topology';
import type { StreamEvent } from './store';

export interface Faults {
  /** extra latency for every API request (ms) */
  delayMs: number;
  /** share of API requests (0..1) answered with `status` */
  errorRate: number;
  status: number;
  message: string;
  /** which listener(s) the faults apply to */
  target: 'nomad' | 'consul' | 'both';
  /** only paths starting with this */
  pathPrefix: string;
}

export const noFaults = (): Faults => ({ delayMs: 0, errorRate: 0, status: 500, message: 'lab fault injection: simulated server error', target: 'both', pathPrefix: '/v1/' });

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

const metaHeaders = (index: number): Record<string, string> => ({ 'X-Nomad-Index': String(index), 'X-Nomad-KnownLeader': 'true', 'X-Nomad-LastContact': '0' });

function nsOf(ctx: Ctx): string {
  return ctx.query.get('namespace') || 'default';
}

function nsMatch(ctx: Ctx, ns: string): boolean {
  const want = nsOf(ctx);
  return want === '*' || want === ns;
}

function tokenOf(ctx: Ctx): string {
  const h = ctx.req.headers['x-nomad-token'];
  if (typeof h === 'string' && h) return h;
  const auth = ctx.req.headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  return ctx.query.get('token') ?? '';
}

export async function faultGate(ctx: Ctx, faults: Faults, listener: 'nomad' | 'consul'): Promise<boolean> {
  if (faults.target !== 'both' && faults.target !== listener) return false;
  if (!ctx.path.startsWith(faults.pathPrefix)) return false;
  if (faults.delayMs > 0) await new Promise((r) => setTimeout(r, faults.delayMs));
  if (faults.errorRate > 0 && Math.random() < faults.errorRate) {
    sendText(ctx, faults.status, faults.message);
    return true;
  }
  return false;
}

/**
 * `?per_page=N&next_token=X` on list endpoints: the page starts at the item whose token is X and
 * `X-Nomad-NextToken` names the first item of the next page (only when there is one).
 */
function paginate<T>(ctx: Ctx, all: T[], token: (x: T) => string, headers: Record<string, string>, full?: (x: T) => unknown): T[] {
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
function untilClosed(ctx: Ctx, nomad: LabNomad): Promise<void> {
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

export function createNomadHandler(o: NomadApiOptions): (ctx: Ctx) => Promise<void> {
  const nomad = o.nomad;

  const leaderAddr = (): string => {
    const l = nomad.leader();
    return l ? `${l.Address}:4647` : '';
  };

  const member = (n: LabNode) => ({
    Name: `${n.Name}.${REGION}`,
    Addr: n.Address,
    Port: 4648,
    Status: n.Status === 'down' ? 'failed' : 'alive',
    Tags: {
      role: 'nomad',
      region: REGION,
      dc: n.Datacenter,
      build: NOMAD_VERSION,
      revision: NOMAD_REVISION,
      vsn: '1',
      raft_vsn: '3',
      id: n.ID,
      rpc_addr: n.Address,
      port: '4647',
      expect: String(nomad.servers().length),
      bootstrap: '0',
    },
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  });

  const findAlloc = (id: string): LabAlloc | undefined => nomad.allocs.get(id);

  const parseJobBody = async (ctx: Ctx): Promise<{ job: NomadJob; body: Record<string, unknown> }> => {
    const body = (await ctx.body()) as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || !body.Job || typeof body.Job !== 'object') throw new HttpError(400, 'Job must be specified');
    const job = body.Job as NomadJob;
    if (!job.ID) throw new HttpError(400, "Job ID hasn't been provided");
    return { job, body };
  };

  const requestNamespace = (ctx: Ctx, job: NomadJob): string => {
    const ns = ctx.query.get('namespace') || job.Namespace || 'default';
    if (job.Namespace && ns !== job.Namespace) throw new HttpError(400, 'mismatched request namespace');
    if (ns !== 'default') throw new HttpError(400, `nonexistent namespace "${ns}"`);
    return ns;
  };

  const register = async (ctx: Ctx, pathId?: string) => {
    const { job, body } = await parseJobBody(ctx);
    if (pathId !== undefined && job.ID !== pathId) throw new HttpError(400, 'Job ID does not match name');
    const ns = requestNamespace(ctx, job);
    const v = validateJob(job);
    if (v.errors.length) throw new HttpError(500, formatMultiError(v.errors));
    const existing = nomad.getJob(ns, job.ID);
    if (body.EnforceIndex === true) {
      const want = Number(body.JobModifyIndex ?? 0);
      if (want === 0 && existing) throw new HttpError(500, `Enforcing job modify index ${want}: job already exists`);
      if (want !== 0 && !existing) throw new HttpError(500, `Enforcing job modify index ${want}: job does not exist`);
      if (existing && want !== existing.JobModifyIndex) throw new HttpError(500, `Enforcing job modify index ${want}: job exists with conflicting job modify index: ${existing.JobModifyIndex}`);
    }
    const r = nomad.registerJob(job, ns);
    const sub = body.Submission as { Source?: unknown; Format?: unknown; VariableFlags?: unknown; Variables?: unknown } | null | undefined;
    if (sub && typeof sub.Source === 'string') {
      nomad.submissions.set(`${ns}/${job.ID}@${r.job.Version}`, { Source: sub.Source, Format: typeof sub.Format === 'string' ? sub.Format : 'hcl2', VariableFlags: (sub.VariableFlags as Record<string, string> | null) ?? null, Variables: typeof sub.Variables === 'string' ? sub.Variables : '', JobIndex: r.job.JobModifyIndex });
    }
    sendJson(ctx, 200, { EvalID: r.evalId, EvalCreateIndex: r.index, JobModifyIndex: r.job.JobModifyIndex, Warnings: formatWarnings(v.warnings), Index: r.index, LastContact: 0, KnownLeader: false, NextToken: '' }, { 'X-Nomad-Index': String(r.index) });
  };

  const uiPage = (ctx: Ctx) => {
    const r = renderUi({
      path: ctx.path,
      clusterName: o.name,
      region: REGION,
      leader: leaderAddr(),
      // The page reads the same JSON the API serves.
      jobs: [...nomad.jobs.values()].map((j) => nomad.jobJson(j) as unknown as UiJob),
      allocations: [...nomad.allocs.values()].map((a) => nomad.allocStub(a) as unknown as UiAllocation),
      nodes: [...nomad.nodes.values()].map((n) => nodeJson(n) as unknown as UiNode),
      servers: nomad.servers().map(member),
    });
    ctx.res.writeHead(r.status, { 'Content-Type': r.contentType });
    ctx.res.end(r.body);
  };

  const eventStream = async (ctx: Ctx) => {
    const topics = new Map<string, string[]>();
    for (const t of ctx.query.getAll('topic')) {
      const [name, key = '*'] = t.split(':');
      if (!name || !['*', 'Job', 'Allocation', 'Evaluation', 'Deployment', 'Node', 'NodePool', 'Service', 'ACLToken', 'ACLPolicy', 'ACLRole'].includes(name)) throw new HttpError(400, `Invalid topic query: Invalid topic format "${t}"`);
      topics.set(name, [...(topics.get(name) ?? []), key]);
    }
    if (topics.size === 0) topics.set('*', ['*']);
    const idxRaw = ctx.query.get('index');
    if (idxRaw && !/^\d+$/.test(idxRaw)) throw new HttpError(400, `Unable to parse index: strconv.ParseUint: parsing "${idxRaw}": invalid syntax`);
    const from = Number(idxRaw ?? 0);
    const matches = (e: StreamEvent): boolean => {
      if (e.Namespace && !nsMatch(ctx, e.Namespace) && e.Topic !== 'Node') return false;
      for (const [topic, keys] of topics) {
        if (topic !== '*' && topic !== e.Topic) continue;
        if (keys.includes('*') || keys.includes(e.Key) || (e.FilterKeys ?? []).some((k) => keys.includes(k))) return true;
      }
      return false;
    };
    const res = ctx.res;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    res.write('{}\n');
    const send = (batch: { index: number; events: StreamEvent[] }) => {
      const evs = batch.events.filter(matches);
      if (evs.length) res.write(JSON.stringify({ Index: batch.index, Events: evs }) + '\n');
    };
    if (from > 0) for (const b of nomad.store.eventsSince(from)) send(b);
    const unsubscribe = nomad.store.subscribe(send);
    const hb = setInterval(() => res.write('{}\n'), o.eventHeartbeatMs);
    await untilClosed(ctx, nomad);
    clearInterval(hb);
    unsubscribe();
    res.end();
  };

  const logs = async (ctx: Ctx, allocId: string) => {
    const q = ctx.query;
    const task = q.get('task') ?? '';
    if (!task) throw new HttpError(400, 'must provide task name');
    const type = q.get('type') ?? '';
    if (type !== 'stdout' && type !== 'stderr') throw new HttpError(400, 'must provide log type (stdout/stderr)');
    const origin = q.get('origin') || 'start';
    if (origin !== 'start' && origin !== 'end') throw new HttpError(400, 'origin must be start or end');
    const offRaw = q.get('offset') || '0';
    if (!/^\d+$/.test(offRaw)) throw new HttpError(400, `strconv.ParseInt: parsing "${offRaw}": invalid syntax`);
    const offset = Number(offRaw);
    const follow = queryBool(q, 'follow');
    const plain = queryBool(q, 'plain');
    const a = findAlloc(allocId);
    if (!a) throw new HttpError(404, `Unknown allocation "${allocId}"`);
    if (!nomad.hasTask(a, task)) throw new HttpError(400, `unknown task name "${task}"`);
    const file = `alloc/logs/${task}.${type}.0`;
    const res = ctx.res;
    const data0 = nomad.logData(a, task, type);
    let pos = origin === 'start' ? Math.min(offset, data0.length) : Math.max(0, data0.length - offset);
    res.writeHead(200, { 'Content-Type': plain ? 'text/plain; charset=utf-8' : 'application/json' });
    const flush = () => {
      const data = nomad.logData(a, task, type);
      if (data.length <= pos) return;
      for (let start = pos; start < data.length; start += 64 * 1024) {
        const chunk = data.subarray(start, Math.min(data.length, start + 64 * 1024));
        if (plain) res.write(chunk);
        else res.write(JSON.stringify({ Offset: start + chunk.length, Data: chunk.toString('base64'), File: file }));
      }
      pos = data.length;
    };
    flush();
    if (!follow) {
      res.end();
      return;
    }
    const onLog = (id: string, k: string) => {
      if (id === a.ID && k === `${task}.${type}`) flush();
    };
    nomad.on('log', onLog);
    // Long-running containers' repeated lines are materialised on read; a follower reads them on a timer.
    const tick = setInterval(() => {
      flush();
      if (!plain) res.write('{}');
    }, o.logHeartbeatMs);
    await untilClosed(ctx, nomad);
    clearInterval(tick);
    nomad.off('log', onLog);
    res.end();
  };

  const admin = async (ctx: Ctx): Promise<void> => {
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
  };

  return async (ctx: Ctx) => {
    const { method, path } = ctx;
    if (path === '/' && method === 'GET') {
      ctx.res.writeHead(307, { Location: '/ui/' });
      ctx.res.end();
      return;
    }
    if (path === '/ui' || path.startsWith('/ui/')) return uiPage(ctx);
    if (path === '/_lab' || path.startsWith('/_lab/')) return admin(ctx);
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
    const [a0, a1, a2, a3] = seg;

    // ---------------------------------------------------------------- status, agent
    if (a0 === 'status') {
      if (!is('GET')) return invalid();
      if (a1 === 'leader') return sendJson(ctx, 200, leaderAddr());
      if (a1 === 'peers') return sendJson(ctx, 200, nomad.servers().filter((s) => s.Status !== 'down').map((s) => `${s.Address}:4647`));
    }
    if (a0 === 'regions' && !a1) return is('GET') ? sendJson(ctx, 200, [REGION]) : invalid();
    if (a0 === 'agent') {
      if (!is('GET')) return invalid();
      const agentNode = nomad.leader() ?? nomad.servers()[0];
      if (a1 === 'members') {
        const l = agentNode as LabNode;
        return sendJson(ctx, 200, { ServerName: `${l.Name}.${REGION}`, ServerRegion: REGION, ServerDC: l.Datacenter, Members: nomad.servers().map(member) });
      }
      if (a1 === 'servers') return sendJson(ctx, 200, nomad.servers().filter((s) => s.Status !== 'down').map((s) => `${s.Address}:4647`));
      if (a1 === 'health') return sendJson(ctx, 200, { server: { ok: true, message: 'ok' }, client: { ok: true, message: 'ok' } });
      if (a1 === 'self') {
        const n = agentNode as LabNode;
        const leader = nomad.leader();
        return sendJson(ctx, 200, {
          config: {
            Region: REGION,
            Datacenter: n.Datacenter,
            NodeName: n.Name,
            DataDir: '/opt/nomad/data',
            BindAddr: '0.0.0.0',
            Version: { Version: NOMAD_VERSION, Revision: NOMAD_REVISION, Prerelease: '', Metadata: '', BuildDate: '2025-03-11T09:07:15Z' },
            Ports: { HTTP: 4646, RPC: 4647, Serf: 4648 },
            Addresses: { HTTP: '0.0.0.0', RPC: '0.0.0.0', Serf: '0.0.0.0' },
            AdvertiseAddrs: { HTTP: `${n.Address}:4646`, RPC: `${n.Address}:4647`, Serf: `${n.Address}:4648` },
            Server: { Enabled: true, BootstrapExpect: nomad.servers().length },
            Client: { Enabled: true, NodeClass: '', Meta: n.Meta },
            ACL: { Enabled: !!o.aclToken },
            UI: { Enabled: true },
            Telemetry: {},
          },
          member: member(n),
          stats: {
            nomad: { server: 'true', leader: String(leader?.ID === n.ID), leader_addr: leaderAddr(), bootstrap: 'false', known_regions: '1' },
            raft: { state: leader?.ID === n.ID ? 'Leader' : 'Follower', num_peers: String(nomad.servers().length - 1), applied_index: String(nomad.store.index), commit_index: String(nomad.store.index), last_log_index: String(nomad.store.index), protocol_version: '3' },
            client: { node_id: n.ID, known_servers: nomad.servers().map((s) => `${s.Address}:4647`).join(','), num_allocations: String([...nomad.allocs.values()].filter((x) => x.NodeID === n.ID && !isTerminal(x)).length), last_heartbeat: '10.2s', heartbeat_ttl: '16.5s' },
            serf: { members: String(nomad.servers().length), failed: String(nomad.servers().filter((s) => s.Status === 'down').length), left: '0', health_score: '0' },
            runtime: { arch: 'amd64', version: 'go1.22.11', max_procs: '2', goroutines: '312', cpu_count: '2', kernel_name: 'linux' },
          },
        });
      }
    }

    // ---------------------------------------------------------------- nodes
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

    // ---------------------------------------------------------------- jobs
    if (a0 === 'jobs' && !a1) {
      if (is('GET')) {
        const index = await block(ctx, nomad.store, ['jobs', 'job_summary']);
        const prefix = ctx.query.get('prefix') ?? '';
        const list = [...nomad.jobs.values()].filter((j) => nsMatch(ctx, j.Namespace) && j.ID.startsWith(prefix)).sort((x, y) => x.ID.localeCompare(y.ID));
        const headers = metaHeaders(index);
        const page = paginate(ctx, list, (j) => j.ID, headers, (j) => nomad.jobJson(j));
        return sendJson(ctx, 200, page.map((j) => nomad.jobStub(j, queryBool(ctx.query, 'meta'))), headers);
      }
      if (is(write)) return register(ctx);
      return invalid();
    }
    if (a0 === 'jobs' && a1 === 'parse') {
      if (!is(write)) return invalid();
      const body = (await ctx.body()) as { JobHCL?: string; Canonicalize?: boolean; Variables?: string } | null;
      try {
        const job = await parseJobHCL(body?.JobHCL ?? '', { canonicalize: !!body?.Canonicalize, variables: body?.Variables });
        return sendJson(ctx, 200, job);
      } catch (err) {
        if (err instanceof JobParseError) throw new HttpError(400, err.message);
        throw err;
      }
    }
    if (a0 === 'validate' && a1 === 'job') {
      if (!is(write)) return invalid();
      const { job } = await parseJobBody(ctx);
      const v = validateJob(job);
      return sendJson(ctx, 200, { DriverConfigValidated: true, ValidationErrors: v.errors.length ? v.errors : null, Error: v.errors.length ? formatMultiError(v.errors) : '', Warnings: formatWarnings(v.warnings) });
    }
    if (a0 === 'job' && a1) {
      const ns = nsOf(ctx);
      const job = nomad.getJob(ns, a1);
      if (!a2) {
        if (is('GET')) {
          const index = await block(ctx, nomad.store, ['jobs']);
          const j = nomad.getJob(ns, a1);
          if (!j) throw new HttpError(404, 'job not found');
          return sendJson(ctx, 200, nomad.jobJson(j), metaHeaders(index));
        }
        if (is(write)) return register(ctx, a1);
        if (is('DELETE')) {
          const r = nomad.deregisterJob(ns, a1, queryBool(ctx.query, 'purge'));
          const j = nomad.getJob(ns, a1);
          return sendJson(ctx, 200, { EvalID: r.evalId, EvalCreateIndex: r.index, JobModifyIndex: j?.JobModifyIndex ?? r.index, VolumeEvalID: '', VolumeEvalIndex: 0, Index: r.index, LastContact: 0, KnownLeader: false, NextToken: '' }, { 'X-Nomad-Index': String(r.index) });
        }
        return invalid();
      }
      if (a2 === 'plan') {
        if (!is(write)) return invalid();
        const { job: j, body } = await parseJobBody(ctx);
        if (j.ID !== a1) throw new HttpError(400, 'Job ID does not match');
        const planNs = requestNamespace(ctx, j);
        const v = validateJob(j);
        if (v.errors.length) throw new HttpError(500, formatMultiError(v.errors));
        return sendJson(ctx, 200, { ...nomad.plan(j, planNs, body.Diff === true), Warnings: formatWarnings(v.warnings) });
      }
      if (a2 === 'allocations') {
        if (!is('GET')) return invalid();
        const index = await block(ctx, nomad.store, ['allocs']);
        const all = queryBool(ctx.query, 'all');
        const j = nomad.getJob(ns, a1);
        const list = nomad.jobAllocs(ns, a1).filter((x) => all || !j || x.job.CreateIndex === j.CreateIndex);
        return sendJson(ctx, 200, list.sort((x, y) => x.CreateIndex - y.CreateIndex).map((x) => nomad.allocStub(x)), metaHeaders(index));
      }
      if (a2 === 'evaluations') {
        if (!is('GET')) return invalid();
        const index = await block(ctx, nomad.store, ['evals']);
        return sendJson(ctx, 200, [...nomad.evals.values()].filter((e) => e.JobID === a1 && e.Namespace === ns), metaHeaders(index));
      }
      if (a2 === 'summary') {
        if (!is('GET')) return invalid();
        const index = await block(ctx, nomad.store, ['job_summary']);
        const j = nomad.getJob(ns, a1);
        if (!j) throw new HttpError(404, 'job not found');
        return sendJson(ctx, 200, nomad.jobSummary(j), metaHeaders(index));
      }
      if (a2 === 'deployments') {
        if (!is('GET')) return invalid();
        const index = await block(ctx, nomad.store, ['deployment']);
        return sendJson(ctx, 200, [...nomad.deployments.values()].filter((d) => d.JobID === a1 && d.Namespace === ns).sort((x, y) => y.CreateIndex - x.CreateIndex), metaHeaders(index));
      }
      if (a2 === 'deployment') {
        if (!is('GET')) return invalid();
        const index = await block(ctx, nomad.store, ['deployment']);
        return sendJson(ctx, 200, nomad.latestDeployment(ns, a1) ?? null, metaHeaders(index));
      }
      if (a2 === 'versions') {
        if (!is('GET')) return invalid();
        const index = await block(ctx, nomad.store, ['jobs']);
        if (!job) throw new HttpError(404, 'job versions not found');
        const versions = (nomad.jobVersions.get(`${ns}/${a1}`) ?? [job]).map((v) => ({ ...v, Status: nomad.jobStatus(v), Stable: v.Stable }));
        return sendJson(ctx, 200, { Versions: versions, Diffs: null }, metaHeaders(index));
      }
      if (a2 === 'submission') {
        if (!is('GET')) return invalid();
        const v = ctx.query.get('version');
        const version = v !== null && /^\d+$/.test(v) ? Number(v) : job?.Version;
        const sub = version === undefined ? undefined : nomad.submissions.get(`${ns}/${a1}@${version}`);
        if (!sub) throw new HttpError(404, 'job source not found');
        return sendJson(ctx, 200, sub);
      }
      if (a2 === 'scale') {
        if (!job) throw new HttpError(404, 'job not found');
        if (is('GET')) {
          const allocs = nomad.jobAllocs(ns, a1).filter((x) => !isTerminal(x));
          const groups = Object.fromEntries(
            job.TaskGroups.map((g) => {
              const mine = allocs.filter((x) => x.TaskGroup === g.Name);
              return [g.Name, { Desired: g.Count ?? 1, Placed: mine.length, Running: mine.filter((x) => x.ClientStatus === 'running').length, Healthy: mine.filter((x) => x.DeploymentStatus?.Healthy === true).length, Unhealthy: mine.filter((x) => x.DeploymentStatus?.Healthy === false).length, Events: null }];
            }),
          );
          return sendJson(ctx, 200, { JobID: job.ID, Namespace: ns, JobCreateIndex: job.CreateIndex, JobModifyIndex: job.JobModifyIndex, JobStopped: job.Stop, TaskGroups: groups });
        }
        if (!is(write)) return invalid();
        const body = (await ctx.body()) as { Count?: number | null; Target?: Record<string, string>; Message?: string } | null;
        const group = body?.Target?.Group;
        if (!group) throw new HttpError(400, 'missing task group name for scaling action');
        const tg = job.TaskGroups.find((g) => g.Name === group);
        if (!tg) throw new HttpError(400, `task group "${group}" specified for scaling does not exist in job`);
        if (typeof body?.Count !== 'number' || body.Count < 0) throw new HttpError(400, 'scaling action count can\'t be negative');
        if (job.Type === 'system' && body.Count > 1) throw new HttpError(400, 'task group count for system jobs cannot exceed 1');
        const scaled = JSON.parse(JSON.stringify(job)) as typeof job;
        (scaled.TaskGroups.find((g) => g.Name === group) as typeof tg).Count = body.Count;
        const r = nomad.registerJob(scaled, ns);
        return sendJson(ctx, 200, { EvalID: r.evalId, EvalCreateIndex: r.index, JobModifyIndex: r.job.JobModifyIndex, Warnings: '', Index: r.index });
      }
      if (a2 === 'revert') {
        if (!is(write)) return invalid();
        const body = (await ctx.body()) as { JobID?: string; JobVersion?: number; EnforcePriorVersion?: number | null } | null;
        if (typeof body?.JobVersion !== 'number') throw new HttpError(400, 'missing job version');
        if (typeof body.EnforcePriorVersion === 'number' && job && job.Version !== body.EnforcePriorVersion) throw new HttpError(400, `Current job has version ${job.Version}; enforcing version ${body.EnforcePriorVersion}`);
        const r = nomad.revertJob(ns, a1, body.JobVersion);
        return sendJson(ctx, 200, { EvalID: r.evalId, EvalCreateIndex: r.index, JobModifyIndex: r.job.JobModifyIndex, Warnings: '', Index: r.index });
      }
      if (a2 === 'evaluate') {
        if (!is(write)) return invalid();
        if (!job) throw new HttpError(404, 'job not found');
        const e = nomad.enqueueEval(job, 'job-register');
        return sendJson(ctx, 200, { EvalID: e.ID, EvalCreateIndex: e.CreateIndex, JobModifyIndex: job.JobModifyIndex, Index: e.CreateIndex });
      }
    }

    // ---------------------------------------------------------------- allocations, evaluations, deployments
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
        const x = findAlloc(a1);
        if (!x) throw new HttpError(404, 'alloc not found');
        return sendJson(ctx, 200, nomad.allocJson(x), metaHeaders(index));
      }
      if (a2 === 'stop') {
        if (!is(write)) return invalid();
        const x = findAlloc(a1);
        if (!x) throw new HttpError(404, 'alloc not found');
        const r = nomad.stopAlloc(x);
        return sendJson(ctx, 200, { EvalID: r.evalId, Index: r.index }, { 'X-Nomad-Index': String(r.index) });
      }
      if (a2 === 'services' || a2 === 'checks') return is('GET') ? sendJson(ctx, 200, a2 === 'services' ? [] : {}) : invalid();
    }
    if (a0 === 'client' && a1 === 'allocation' && a2) {
      const x = findAlloc(a2);
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
    if (a0 === 'client' && a1 === 'fs' && (a2 === 'ls' || a2 === 'stat' || a2 === 'cat' || a2 === 'readat') && a3) {
      if (!is('GET')) return invalid();
      const x = findAlloc(a3);
      if (!x) throw new HttpError(404, `Unknown allocation "${a3}"`);
      const p = ctx.query.get('path') ?? '/';
      if (a2 === 'ls') {
        const list = o.fs.ls(x, p);
        if (!list) throw new HttpError(500, `open ${p}: no such file or directory`);
        return sendJson(ctx, 200, list);
      }
      if (a2 === 'stat') {
        const st = o.fs.stat(x, p);
        if (!st) throw new HttpError(500, `stat ${p}: no such file or directory`);
        return sendJson(ctx, 200, st);
      }
      const data = o.fs.cat(x, p);
      if (!data) throw new HttpError(500, `stat ${p}: no such file or directory`);
      const offset = Number(ctx.query.get('offset') ?? 0) || 0;
      const limit = ctx.query.get('limit');
      const slice = a2 === 'readat' ? data.subarray(offset, limit ? offset + (Number(limit) || 0) : undefined) : data;
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      ctx.res.end(slice);
      return;
    }
    if (a0 === 'client' && a1 === 'fs' && a2 === 'logs' && a3) {
      if (!is('GET')) return invalid();
      return logs(ctx, a3);
    }
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
    if (a0 === 'event' && a1 === 'stream') {
      if (!is('GET')) return invalid();
      return eventStream(ctx);
    }
    ctx.res.writeHead(404);
    ctx.res.end();
  };
}

/** Turn model errors into Nomad's plain-text error responses. */
export function nomadError(ctx: Ctx, err: unknown): void {
  if (err instanceof HttpError) return sendText(ctx, err.status, err.message);
  if (err instanceof NotFound) return sendText(ctx, 404, err.message);
  if (err instanceof BadRequest) return sendText(ctx, 400, err.message);
  sendText(ctx, 500, (err as Error)?.message ?? String(err));
}

export { parseBlocking };
