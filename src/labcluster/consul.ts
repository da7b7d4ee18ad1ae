// The simulated Consul: it exists only through the Consul agents Nomad runs. Members are the
// nodes running a consul container (servers with `-server`, the datacenter from
// `-datacenter=`), a leader is elected once `-bootstrap-expect` servers run and kept while a
// quorum lives, and Nomad registers the `service` blocks of running allocations with checks.
// Shapes and errors follow the nomad-consul-api reference §5.
import { createHash } from 'node:crypto';
import type { TemplateSource } from './allocfs';
import { block, HttpError, queryBool, sendJson, sendText, type Ctx } from './http';
import { isTerminal, type LabAlloc, type LabNomad } from './nomad';
import { IndexStore } from './store';
import type { LabNode } from './topology';

export const CONSUL_VERSION_DEFAULT = '1.19.2';

interface Member {
  name: string;
  node: LabNode;
  server: boolean;
  dc: string;
  /** serf status: 1 alive, 3 left, 4 failed */
  status: 1 | 3 | 4;
  version: string;
  expect: number;
  allocId: string;
}

interface RegisteredService {
  id: string;
  name: string;
  tags: string[];
  port: number;
  address: string;
  meta: Record<string, string>;
  member: Member;
  checks: { id: string; name: string; type: string; status: 'passing' | 'critical' | 'warning'; output: string }[];
  createIndex: number;
  modifyIndex: number;
}

interface KvPair {
  Key: string;
  Value: Buffer | null;
  Flags: number;
  LockIndex: number;
  Session: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const isConsulImage = (image: string): boolean => /(^|\/)consul(:|@|$)/.test(image);

export class LabConsul {
  readonly store = new IndexStore();
  private readonly members = new Map<string, Member>();
  private services = new Map<string, RegisteredService>();
  readonly kv = new Map<string, KvPair>();
  private leaderName = '';
  private bootstrapped = false;
  private signature = '';
  private readonly nodeIndex = new Map<string, { create: number; modify: number }>();
  private syncing = false;

  constructor(private readonly nomad: LabNomad) {
    nomad.on('allocs', () => this.sync());
    nomad.on('nodes', () => this.sync());
  }

  private consulArgs(a: LabAlloc): { server: boolean; dc: string; name: string; expect: number; version: string } | null {
    const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup);
    for (const t of tg?.Tasks ?? []) {
      const image = typeof t.Config?.image === 'string' ? this.nomad.interpolateFor(a, t.Config.image as string) : '';
      if (t.Driver !== 'docker' || !isConsulImage(image)) continue;
      const args = (Array.isArray(t.Config?.args) ? (t.Config?.args as unknown[]) : []).map((x) => this.nomad.interpolateFor(a, String(x)));
      const flag = (name: string): string | undefined => {
        for (let i = 0; i < args.length; i++) {
          const x = args[i] as string;
          if (x === `-${name}` || x === `--${name}`) return args[i + 1];
          const m = new RegExp(`^--?${name}=(.*)$`).exec(x);
          if (m) return m[1];
        }
        return undefined;
      };
      const resolved = this.nomad.registry.resolve(image);
      const node = this.nomad.nodes.get(a.NodeID);
      return {
        server: args.includes('-server') || args.includes('--server') || args.includes('-dev'),
        dc: flag('datacenter') ?? 'dc1',
        name: flag('node') ?? node?.Name ?? a.NodeName,
        expect: Number(flag('bootstrap-expect') ?? (args.includes('-dev') ? 1 : 1)) || 1,
        version: resolved.ok ? resolved.version : CONSUL_VERSION_DEFAULT,
      };
    }
    return null;
  }

  /** Recompute membership, leadership and registrations from what Nomad runs. */
  sync(): void {
    if (this.syncing) return;
    this.syncing = true;
    try {
      this.syncInner();
    } finally {
      this.syncing = false;
    }
  }

  private syncInner(): void {
    const alive = new Map<string, Member>();
    for (const a of this.nomad.allocs.values()) {
      if (a.ClientStatus !== 'running' || a.DesiredStatus !== 'run') continue;
      const node = this.nomad.nodes.get(a.NodeID);
      if (!node || node.Status === 'down') continue;
      const c = this.consulArgs(a);
      if (!c) continue;
      alive.set(c.name, { name: c.name, node, server: c.server, dc: c.dc, status: 1, version: c.version, expect: c.expect, allocId: a.ID });
    }
    for (const [name, m] of this.members) {
      if (alive.has(name)) continue;
      if (m.status !== 1) continue;
      const alloc = this.nomad.allocs.get(m.allocId);
      // A stopped agent leaves gracefully; a lost node or crashed agent is failed.
      m.status = alloc && alloc.ClientStatus === 'complete' && alloc.DesiredStatus !== 'run' && m.node.Status !== 'down' ? 3 : 4;
    }
    for (const [name, m] of alive) this.members.set(name, m);
    // Leadership.
    const servers = [...this.members.values()].filter((m) => m.server && m.status !== 3).sort((a, b) => a.name.localeCompare(b.name));
    const aliveServers = servers.filter((m) => m.status === 1);
    const expect = Math.max(1, ...servers.map((s) => s.expect));
    if (!this.bootstrapped && aliveServers.length >= expect) this.bootstrapped = true;
    if (aliveServers.length === 0) this.bootstrapped = false;
    const quorum = this.bootstrapped && aliveServers.length * 2 > servers.length;
    if (!quorum) this.leaderName = '';
    else if (!aliveServers.some((s) => s.name === this.leaderName)) this.leaderName = aliveServers[0]?.name ?? '';
    // Services Nomad registers for running allocations on nodes with a live agent.
    const next = new Map<string, RegisteredService>();
    if (this.leaderName) {
      for (const m of this.members.values()) {
        if (m.status !== 1 || !m.server) continue;
        const id = 'consul';
        next.set(`${m.name}/${id}`, { id, name: 'consul', tags: [], port: 8300, address: m.node.Address, meta: { 'raft_version': '3', 'serf_protocol_current': '2', 'serf_protocol_max': '5', 'serf_protocol_min': '1', version: m.version }, member: m, checks: [], createIndex: 0, modifyIndex: 0 });
      }
      const agentOn = new Map([...this.members.values()].filter((m) => m.status === 1).map((m) => [m.node.ID, m]));
      for (const a of this.nomad.allocs.values()) {
        if (isTerminal(a) || !a.TaskStates) continue;
        const m = agentOn.get(a.NodeID);
        if (!m) continue;
        for (const { service, task } of this.nomad.servicesOf(a)) {
          if ((service.Provider ?? 'consul') !== 'consul') continue;
          const taskNames = task.startsWith('group-') ? Object.keys(a.TaskStates) : [task];
          const states = taskNames.map((t) => a.TaskStates?.[t]).filter((s) => !!s);
          if (!states.some((s) => s?.StartedAt)) continue;
          const running = states.every((s) => s?.State === 'running');
          const name = this.nomad.interpolateFor(a, service.Name);
          const portLabel = service.PortLabel ?? '';
          const port = a.ports.find((p) => p.Label === portLabel)?.Value ?? (Number(portLabel) || 0);
          const id = `_nomad-task-${a.ID}-${task}-${name}-${portLabel}`;
          const address = m.node.Address;
          const checks = (service.Checks ?? []).map((c) => {
            const checkName = c.Name || `service: "${name}" check`;
            const target = `${address}:${port}`;
            const status: 'passing' | 'critical' = running ? 'passing' : 'critical';
            const output =
              c.Type === 'http'
                ? running
                  ? `HTTP GET http://${target}${c.Path ?? '/'}: 200 OK Output: ok`
                  : `Get "http://${target}${c.Path ?? '/'}": dial tcp ${target}: connect: connection refused`
                : c.Type === 'tcp'
                  ? running
                    ? `TCP connect ${target}: Success`
                    : `dial tcp ${target}: connect: connection refused`
                  : running
                    ? 'ok'
                    : 'check failed';
            return { id: `_nomad-check-${createHash('sha1').update(id + checkName).digest('hex')}`, name: checkName, type: c.Type, status, output };
          });
          next.set(`${m.name}/${id}`, { id, name, tags: (service.Tags ?? []).map((t) => this.nomad.interpolateFor(a, t)), port, address, meta: { 'external-source': 'nomad', ...(service.Meta ?? {}) }, member: m, checks, createIndex: 0, modifyIndex: 0 });
        }
      }
    }
    const memberSig = JSON.stringify([...this.members.values()].map((m) => [m.name, m.status, m.dc, m.server]));
    const sig = JSON.stringify([memberSig, this.leaderName, [...next.entries()].map(([k, s]) => [k, s.tags, s.port, s.checks.map((c) => [c.id, c.status])])]);
    if (sig === this.signature) return;
    this.signature = sig;
    const idx = this.store.index + 1;
    for (const [k, s] of next) {
      const prev = this.services.get(k);
      s.createIndex = prev?.createIndex ?? idx;
      s.modifyIndex = prev && JSON.stringify([prev.tags, prev.port, prev.checks]) === JSON.stringify([s.tags, s.port, s.checks]) ? prev.modifyIndex : idx;
    }
    for (const m of this.members.values()) {
      const ni = this.nodeIndex.get(m.name);
      if (!ni) this.nodeIndex.set(m.name, { create: idx, modify: idx });
    }
    this.services = next;
    this.store.write(['members', 'catalog', 'health']);
    this.fingerprint();
    this.nomad.emit('consul');
  }

  /** Nomad's consul fingerprinter: consul.* node attributes where an agent runs. */
  private fingerprint(): void {
    const byNode = new Map([...this.members.values()].filter((m) => m.status === 1).map((m) => [m.node.ID, m]));
    for (const n of this.nomad.nodes.values()) {
      const m = byNode.get(n.ID);
      const want: Record<string, string> = m
        ? { 'consul.datacenter': m.dc, 'consul.version': m.version, 'consul.revision': '0a1b2c3d', 'consul.server': String(m.server), 'consul.sku': 'oss', 'consul.connect': 'false', 'consul.grpc': '-1', 'consul.ft.namespaces': 'false', 'unique.consul.name': m.name }
        : {};
      const have = Object.fromEntries(Object.entries(n.Attributes).filter(([k]) => k.startsWith('consul.') || k === 'unique.consul.name'));
      if (JSON.stringify(Object.entries(have).sort()) === JSON.stringify(Object.entries(want).sort())) continue;
      for (const k of Object.keys(have)) delete n.Attributes[k];
      Object.assign(n.Attributes, want);
      n.ModifyIndex = this.nomad.store.write(['nodes']);
    }
  }

  /** What templates read: KV and healthy service instances, only while Consul has a leader. */
  templateSource(): TemplateSource | undefined {
    if (!this.leaderName) return undefined;
    return {
      key: (k) => this.kv.get(k)?.Value?.toString('utf8') ?? (this.kv.has(k) ? '' : undefined),
      service: (name) =>
        this.liveServices()
          .filter((s) => s.name === name && s.member.status === 1 && s.checks.every((c) => c.status === 'passing'))
          .map((s) => ({ Address: s.address, Port: s.port, Node: s.member.name })),
    };
  }

  leaderMember(): Member | undefined {
    return this.leaderName ? this.members.get(this.leaderName) : undefined;
  }

  summary(): unknown {
    return {
      leader: this.leaderName,
      members: [...this.members.values()].map((m) => ({ name: m.name, role: m.server ? 'server' : 'client', dc: m.dc, status: m.status })),
      services: [...new Set([...this.services.values()].map((s) => s.name))],
    };
  }

  // ------------------------------------------------------------------ HTTP

  private memberJson(m: Member) {
    const tags: Record<string, string> = m.server
      ? { role: 'consul', dc: m.dc, segment: '', port: '8300', expect: String(m.expect), id: m.node.ID, vsn: '2', vsn_min: '2', vsn_max: '3', build: `${m.version}:0a1b2c3d`, raft_vsn: '3', wan_join_port: '8302', ft_fs: '1', ft_si: '1', grpc_tls_port: '8503' }
      : { role: 'node', dc: m.dc, segment: '', id: m.node.ID, vsn: '2', vsn_min: '2', vsn_max: '3', build: `${m.version}:0a1b2c3d` };
    return { Name: m.name, Addr: m.node.Address, Port: 8301, Tags: tags, Status: m.status, ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4 };
  }

  private catalogNode(m: Member) {
    const ni = this.nodeIndex.get(m.name) ?? { create: 1, modify: 1 };
    return {
      ID: m.node.ID,
      Node: m.name,
      Address: m.node.Address,
      Datacenter: m.dc,
      TaggedAddresses: { lan: m.node.Address, lan_ipv4: m.node.Address, wan: m.node.Address, wan_ipv4: m.node.Address },
      Meta: { 'consul-network-segment': '', 'consul-version': m.version },
      CreateIndex: ni.create,
      ModifyIndex: ni.modify,
    };
  }

  private catalogMembers(): Member[] {
    return [...this.members.values()].filter((m) => m.status !== 3).sort((a, b) => a.name.localeCompare(b.name));
  }

  private serfCheck(m: Member) {
    const ni = this.nodeIndex.get(m.name) ?? { create: 1, modify: 1 };
    return {
      Node: m.name,
      CheckID: 'serfHealth',
      Name: 'Serf Health Status',
      Status: m.status === 1 ? 'passing' : 'critical',
      Notes: '',
      Output: m.status === 1 ? 'Agent alive and reachable' : 'Agent not live or unreachable',
      ServiceID: '',
      ServiceName: '',
      ServiceTags: [],
      Type: '',
      Interval: '',
      Timeout: '',
      ExposedPort: 0,
      Definition: {},
      Namespace: 'default',
      CreateIndex: ni.create,
      ModifyIndex: this.store.tableIndex(['members']),
    };
  }

  private serviceChecks(s: RegisteredService) {
    return s.checks.map((c) => ({
      Node: s.member.name,
      CheckID: c.id,
      Name: c.name,
      Status: s.member.status === 1 ? c.status : 'critical',
      Notes: '',
      Output: c.output,
      ServiceID: s.id,
      ServiceName: s.name,
      ServiceTags: s.tags,
      Type: c.type,
      Interval: '10s',
      Timeout: '2s',
      ExposedPort: 0,
      Definition: {},
      Namespace: 'default',
      CreateIndex: s.createIndex,
      ModifyIndex: s.modifyIndex,
    }));
  }

  private agentService(s: RegisteredService) {
    return {
      ID: s.id,
      Service: s.name,
      Tags: s.tags,
      Address: s.address,
      TaggedAddresses: s.address ? { lan_ipv4: { Address: s.address, Port: s.port }, wan_ipv4: { Address: s.address, Port: s.port } } : undefined,
      Meta: s.meta,
      Port: s.port,
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      Proxy: { Mode: '', MeshGateway: {}, Expose: {} },
      Connect: {},
      PeerName: '',
      Datacenter: s.member.dc,
      Namespace: 'default',
      Partition: '',
      CreateIndex: s.createIndex,
      ModifyIndex: s.modifyIndex,
    };
  }

  private catalogService(s: RegisteredService) {
    const n = this.catalogNode(s.member);
    return {
      ID: n.ID,
      Node: n.Node,
      Address: n.Address,
      Datacenter: n.Datacenter,
      TaggedAddresses: n.TaggedAddresses,
      NodeMeta: n.Meta,
      ServiceKind: '',
      ServiceID: s.id,
      ServiceName: s.name,
      ServiceTags: s.tags,
      ServiceAddress: s.address,
      ServiceTaggedAddresses: { lan_ipv4: { Address: s.address, Port: s.port }, wan_ipv4: { Address: s.address, Port: s.port } },
      ServiceWeights: { Passing: 1, Warning: 1 },
      ServiceMeta: s.meta,
      ServicePort: s.port,
      ServiceEnableTagOverride: false,
      ServiceProxy: { Mode: '', MeshGateway: {}, Expose: {} },
      ServiceConnect: {},
      Namespace: 'default',
      CreateIndex: s.createIndex,
      ModifyIndex: s.modifyIndex,
    };
  }

  private headers(index: number): Record<string, string> {
    return { 'X-Consul-Index': String(index), 'X-Consul-KnownLeader': String(!!this.leaderName), 'X-Consul-LastContact': '0', 'X-Consul-Effective-Consistency': 'leader', 'X-Consul-Default-ACL-Policy': 'allow' };
  }

  private requireLeader(ctx: Ctx): void {
    if (!this.leaderName) throw new HttpError(500, 'No cluster leader');
    const dc = ctx.query.get('dc');
    const leader = this.leaderMember();
    if (dc && leader && dc !== leader.dc) throw new HttpError(500, 'No path to datacenter');
  }

  private liveServices(): RegisteredService[] {
    return [...this.services.values()].filter((s) => s.member.status !== 3);
  }

  handler(): (ctx: Ctx) => Promise<void> {
    return async (ctx: Ctx) => {
      const { method, path } = ctx;
      const seg = path.split('/').filter(Boolean);
      if (seg[0] !== 'v1') {
        if (path === '/' || path.startsWith('/ui')) return sendText(ctx, 404, 'Consul UI is not enabled on the lab cluster');
        ctx.res.writeHead(404);
        ctx.res.end();
        return;
      }
      const [, a0, a1, a2] = seg;
      const notAllowed = () => sendText(ctx, 405, `method ${method} not allowed`);
      const get = method === 'GET';
      if (a0 === 'status') {
        if (!get) return notAllowed();
        const leader = this.leaderMember();
        if (a1 === 'leader') return sendJson(ctx, 200, leader ? `${leader.node.Address}:8300` : '');
        if (a1 === 'peers') return sendJson(ctx, 200, leader ? this.catalogMembers().filter((m) => m.server && m.status === 1).map((m) => `${m.node.Address}:8300`) : []);
      }
      if (a0 === 'agent') {
        if (a1 === 'members') {
          if (!get) return notAllowed();
          return sendJson(ctx, 200, [...this.members.values()].sort((a, b) => a.name.localeCompare(b.name)).map((m) => this.memberJson(m)));
        }
        if (a1 === 'self') {
          if (!get) return notAllowed();
          const m = this.leaderMember() ?? [...this.members.values()].find((x) => x.status === 1);
          if (!m) throw new HttpError(500, 'No known Consul servers');
          return sendJson(ctx, 200, {
            Config: { Datacenter: m.dc, PrimaryDatacenter: m.dc, NodeName: m.name, NodeID: m.node.ID, Server: m.server, Revision: '0a1b2c3d', Version: m.version, BuildDate: '2024-08-27T16:06:44Z' },
            DebugConfig: {},
            Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 },
            Member: this.memberJson(m),
            Stats: {},
            Meta: { 'consul-network-segment': '', 'consul-version': m.version },
          });
        }
      }
      if (a0 === 'catalog') {
        if (!get) return notAllowed();
        if (a1 === 'datacenters') {
          const dcs = [...new Set([...this.members.values()].map((m) => m.dc))];
          return sendJson(ctx, 200, this.leaderName ? dcs : []);
        }
        this.requireLeader(ctx);
        if (a1 === 'nodes') {
          const index = await block(ctx, this.store, ['catalog']);
          return sendJson(ctx, 200, this.catalogMembers().map((m) => this.catalogNode(m)), this.headers(index));
        }
        if (a1 === 'services') {
          const index = await block(ctx, this.store, ['catalog']);
          const out: Record<string, string[]> = {};
          for (const s of this.liveServices()) out[s.name] = [...new Set([...(out[s.name] ?? []), ...s.tags])];
          return sendJson(ctx, 200, out, this.headers(index));
        }
        if (a1 === 'service' && a2) {
          const index = await block(ctx, this.store, ['catalog']);
          const tag = ctx.query.getAll('tag');
          return sendJson(ctx, 200, this.liveServices().filter((s) => s.name === a2 && tag.every((t) => s.tags.includes(t))).map((s) => this.catalogService(s)), this.headers(index));
        }
        if (a1 === 'node' && a2) {
          const index = await block(ctx, this.store, ['catalog']);
          const m = this.catalogMembers().find((x) => x.name === a2);
          if (!m) return sendJson(ctx, 200, null, this.headers(index));
          return sendJson(ctx, 200, { Node: this.catalogNode(m), Services: Object.fromEntries(this.liveServices().filter((s) => s.member === m).map((s) => [s.id, this.agentService(s)])) }, this.headers(index));
        }
      }
      if (a0 === 'health') {
        if (!get) return notAllowed();
        this.requireLeader(ctx);
        if (a1 === 'service' && a2) {
          const index = await block(ctx, this.store, ['health']);
          const passing = queryBool(ctx.query, 'passing');
          const tag = ctx.query.getAll('tag');
          const entries = this.liveServices()
            .filter((s) => s.name === a2 && tag.every((t) => s.tags.includes(t)))
            .map((s) => ({ Node: this.catalogNode(s.member), Service: this.agentService(s), Checks: [this.serfCheck(s.member), ...this.serviceChecks(s)] }))
            .filter((e) => !passing || e.Checks.every((c) => c.Status === 'passing'));
          return sendJson(ctx, 200, entries, this.headers(index));
        }
        if (a1 === 'state' && a2) {
          if (!['any', 'passing', 'warning', 'critical'].includes(a2)) throw new HttpError(400, 'Invalid state: ' + a2);
          const index = await block(ctx, this.store, ['health']);
          const checks = [...this.catalogMembers().map((m) => this.serfCheck(m)), ...this.liveServices().flatMap((s) => this.serviceChecks(s))];
          return sendJson(ctx, 200, checks.filter((c) => a2 === 'any' || c.Status === a2), this.headers(index));
        }
        if (a1 === 'node' && a2) {
          const index = await block(ctx, this.store, ['health']);
          const m = this.catalogMembers().find((x) => x.name === a2);
          return sendJson(ctx, 200, m ? [this.serfCheck(m), ...this.liveServices().filter((s) => s.member === m).flatMap((s) => this.serviceChecks(s))] : [], this.headers(index));
        }
        if (a1 === 'checks' && a2) {
          const index = await block(ctx, this.store, ['health']);
          return sendJson(ctx, 200, this.liveServices().filter((s) => s.name === a2).flatMap((s) => this.serviceChecks(s)), this.headers(index));
        }
      }
      if (a0 === 'kv') {
        const key = path.replace(/^\/v1\/kv\/?/, '');
        return this.kvHandler(ctx, key);
      }
      ctx.res.writeHead(404);
      ctx.res.end();
    };
  }

  private kvJson(p: KvPair) {
    return { LockIndex: p.LockIndex, Key: p.Key, Flags: p.Flags, Value: p.Value === null ? null : p.Value.toString('base64'), Session: p.Session, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex };
  }

  private async kvHandler(ctx: Ctx, key: string): Promise<void> {
    this.requireLeader(ctx);
    const q = ctx.query;
    if (ctx.method === 'GET') {
      const recurse = queryBool(q, 'recurse');
      const keys = q.has('keys');
      let index = await block(ctx, this.store, ['kv']);
      if (keys) {
        const sep = q.get('separator') ?? '';
        const out = new Set<string>();
        for (const k of [...this.kv.keys()].sort()) {
          if (!k.startsWith(key)) continue;
          if (sep) {
            const rest = k.slice(key.length);
            const i = rest.indexOf(sep);
            out.add(i >= 0 ? key + rest.slice(0, i + sep.length) : k);
          } else out.add(k);
        }
        if (out.size === 0) return sendText(ctx, 404, '', this.headers(index));
        return sendJson(ctx, 200, [...out], this.headers(index));
      }
      const pairs = recurse ? [...this.kv.values()].filter((p) => p.Key.startsWith(key)).sort((a, b) => a.Key.localeCompare(b.Key)) : this.kv.has(key) ? [this.kv.get(key) as KvPair] : [];
      if (recurse && pairs.length) index = Math.max(...pairs.map((p) => p.ModifyIndex));
      if (pairs.length === 0) {
        ctx.res.writeHead(404, this.headers(index));
        ctx.res.end();
        return;
      }
      if (q.has('raw') && !recurse) {
        ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', ...this.headers(index) });
        ctx.res.end((pairs[0] as KvPair).Value ?? Buffer.alloc(0));
        return;
      }
      return sendJson(ctx, 200, pairs.map((p) => this.kvJson(p)), this.headers(index));
    }
    if (ctx.method === 'PUT' || ctx.method === 'POST') {
      if (!key) throw new HttpError(400, 'Missing key name');
      const value = await ctx.rawBody();
      const existing = this.kv.get(key);
      const cas = q.get('cas');
      if (cas !== null) {
        if (!/^\d+$/.test(cas)) throw new HttpError(400, 'Invalid CAS index');
        const c = Number(cas);
        if ((c === 0 && existing) || (c !== 0 && existing?.ModifyIndex !== c)) return sendJson(ctx, 200, false);
      }
      const flags = q.get('flags');
      const idx = this.store.index + 1;
      this.kv.set(key, { Key: key, Value: value.length ? value : null, Flags: flags && /^\d+$/.test(flags) ? Number(flags) : (existing?.Flags ?? 0), LockIndex: existing?.LockIndex ?? 0, Session: '', CreateIndex: existing?.CreateIndex ?? idx, ModifyIndex: idx });
      this.store.write(['kv']);
      this.nomad.emit('kv', key);
      return sendJson(ctx, 200, true);
    }
    if (ctx.method === 'DELETE') {
      const cas = q.get('cas');
      if (queryBool(q, 'recurse')) {
        for (const k of [...this.kv.keys()]) if (k.startsWith(key)) this.kv.delete(k);
      } else {
        const existing = this.kv.get(key);
        if (cas !== null && existing && existing.ModifyIndex !== Number(cas)) return sendJson(ctx, 200, false);
        this.kv.delete(key);
      }
      this.store.write(['kv']);
      this.nomad.emit('kv', key);
      return sendJson(ctx, 200, true);
    }
    return sendText(ctx, 405, `method ${ctx.method} not allowed`);
  }
}

export function consulError(ctx: Ctx, err: unknown): void {
  if (err instanceof HttpError) return sendText(ctx, err.status, err.message);
  sendText(ctx, 500, (err as Error)?.message ?? String(err));
}
