/**
 * A small fake Nomad + Consul HTTP server for the cluster client and model tests: responses
 * shaped like the documented API (field names, types, blocking-query headers, NDJSON event
 * stream), an in-memory state with one raft-like index, and hooks to break responses.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Override = (req: FakeRequest, res: http.ServerResponse) => boolean | void;

const NS = 1_000_000;
export const T0 = 1_704_103_200_000; // 2024-01-01T10:00:00Z in ms

export function uuid(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-0000-4000-8000-${hex}`;
}

export function nodeStub(i: number, dc: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ID: uuid(1000 + i),
    Name: `client-${i}`,
    Address: `10.0.0.${10 + i}`,
    Datacenter: dc,
    NodeClass: '',
    NodePool: 'default',
    Version: '1.9.7',
    Drain: false,
    SchedulingEligibility: 'eligible',
    Status: 'ready',
    StatusDescription: '',
    Drivers: { docker: { Detected: true, Healthy: true } },
    HostVolumes: null,
    LastDrain: null,
    CreateIndex: 6,
    ModifyIndex: 6,
    ...extra,
  };
}

export function jobStub(id: string, groups: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ID: id,
    ParentID: '',
    Name: id,
    Namespace: 'default',
    Datacenters: ['dc1'],
    NodePool: 'default',
    Multiregion: null,
    Type: 'service',
    Priority: 50,
    Periodic: false,
    ParameterizedJob: false,
    Stop: false,
    Status: 'running',
    StatusDescription: '',
    JobSummary: {
      JobID: id,
      Namespace: 'default',
      Summary: Object.fromEntries(groups.map((g) => [g, { Queued: 0, Complete: 0, Failed: 0, Running: 1, Starting: 0, Lost: 0, Unknown: 0 }])),
      Children: { Pending: 0, Running: 0, Dead: 0 },
      CreateIndex: 52,
      ModifyIndex: 52,
    },
    CreateIndex: 52,
    ModifyIndex: 52,
    JobModifyIndex: 52,
    SubmitTime: T0 * NS,
    ...extra,
  };
}

export function taskState(state: string, opts: { failed?: boolean; restarts?: number; events?: [string, string][] } = {}): Record<string, unknown> {
  return {
    State: state,
    Failed: opts.failed ?? false,
    Restarts: opts.restarts ?? 0,
    LastRestart: null,
    StartedAt: '2024-01-01T10:00:02.04Z',
    FinishedAt: null,
    TaskHandle: null,
    Events: (opts.events ?? [['Received', 'Task received by client']]).map(([type, msg], i) => ({
      Type: type,
      Time: (T0 + i * 1000) * NS,
      DisplayMessage: msg,
      Details: {},
      Message: '',
      FailsTask: false,
      ExitCode: 0,
      Signal: 0,
    })),
  };
}

export function allocation(n: number, job: string, group: string, node: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ID: uuid(n),
    EvalID: uuid(900000 + n),
    Name: `${job}.${group}[${n}]`,
    Namespace: 'default',
    NodeID: node['ID'],
    NodeName: node['Name'],
    JobID: job,
    JobType: 'service',
    JobVersion: 0,
    TaskGroup: group,
    DesiredStatus: 'run',
    DesiredDescription: '',
    ClientStatus: 'running',
    ClientDescription: 'Tasks are running',
    DesiredTransition: { Migrate: null, Reschedule: null, ForceReschedule: null },
    TaskStates: { web: taskState('running') },
    DeploymentStatus: null,
    FollowupEvalID: '',
    NextAllocation: '',
    RescheduleTracker: null,
    PreemptedAllocations: null,
    PreemptedByAllocation: '',
    CreateIndex: 10,
    ModifyIndex: 10,
    CreateTime: (T0 + n) * NS,
    ModifyTime: (T0 + n) * NS,
    ...extra,
  };
}

export class FakeCluster {
  index = 100;
  readonly requests: FakeRequest[] = [];
  readonly overrides: Override[] = [];
  eventStream = true;

  servers = [
    { name: 'srv1.global', addr: '10.0.0.5' },
    { name: 'srv2.global', addr: '10.0.0.6' },
    { name: 'srv3.global', addr: '10.0.0.7' },
  ];
  leader = '10.0.0.6:4647';
  peers = ['10.0.0.5:4647', '10.0.0.6:4647', '10.0.0.7:4647'];
  nodes: Record<string, unknown>[] = [];
  /** Zone attribute of the full node (the list stubs do not carry it). */
  zones = new Map<string, string>();
  jobs: Record<string, unknown>[] = [];
  allocs = new Map<string, Record<string, unknown>>();

  consulMembers: Record<string, unknown>[] = [];
  consulLeader = '10.0.1.5:8300';
  consulServices: Record<string, string[]> = { consul: [] };
  /** Service name → [node, service id] of each instance. */
  consulInstances: Record<string, [string, string][]> = {};
  consulChecks: Record<string, unknown>[] = [];

  private server: http.Server | undefined;
  private waiters = new Set<() => void>();
  private streams = new Set<http.ServerResponse>();
  private streamOpeners: (() => void)[] = [];
  private requestWaiters = new Set<() => void>();
  private sockets = new Set<import('node:net').Socket>();
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const w of this.waiters) w();
    for (const s of this.streams) s.end();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** A write: bumps the index and wakes blocking queries. */
  bump(): number {
    this.index++;
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
    return this.index;
  }

  upsertAllocation(alloc: Record<string, unknown>, type = 'AllocationUpdated'): void {
    const index = this.bump();
    const a: Record<string, unknown> = { ...alloc, ModifyIndex: index };
    if (!this.allocs.has(a['ID'] as string)) a['CreateIndex'] = index;
    this.allocs.set(a['ID'] as string, a);
    this.publish({ Index: index, Events: [{ Topic: 'Allocation', Type: type, Key: a['ID'], Namespace: 'default', FilterKeys: [a['JobID'], ''], Index: index, Payload: { Allocation: a } }] });
  }

  /** Resolves once `count` requests for `path` have arrived. */
  waitForRequests(path: string, count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.requests.filter((r) => r.path === path).length < count) return;
        this.requestWaiters.delete(check);
        resolve();
      };
      this.requestWaiters.add(check);
      check();
    });
  }

  /** Resolves once an event stream is open (or at once if one is). */
  whenStreamOpen(): Promise<void> {
    if (this.streams.size) return Promise.resolve();
    return new Promise((resolve) => this.streamOpeners.push(resolve));
  }

  publish(line: unknown): void {
    for (const s of this.streams) s.write(JSON.stringify(line) + '\n');
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const fr: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body };
      this.requests.push(fr);
      for (const w of [...this.requestWaiters]) w();
      for (const o of this.overrides) if (o(fr, res)) return;
      this.route(fr, res);
    });
  }

  private json(res: http.ServerResponse, data: unknown, index?: number, header = 'X-Nomad-Index'): void {
    res.setHeader('content-type', 'application/json');
    if (index !== undefined) {
      res.setHeader(header, String(index));
      res.setHeader(header.replace('Index', 'KnownLeader'), 'true');
      res.setHeader(header.replace('Index', 'LastContact'), '0');
    }
    res.end(JSON.stringify(data));
  }

  private text(res: http.ServerResponse, status: number, msg: string): void {
    res.statusCode = status;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(msg);
  }

  /** Blocking-query semantics: hold while ?index is not behind, up to ?wait. */
  private blocking(req: FakeRequest, res: http.ServerResponse, answer: () => void): void {
    const wanted = Number(req.query.get('index') ?? 0);
    if (!wanted || wanted < this.index) return answer();
    const waitS = Number((req.query.get('wait') ?? '300s').replace(/s$/, ''));
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.waiters.delete(finish);
      answer();
    };
    const timer = setTimeout(finish, waitS * 1000);
    this.waiters.add(finish);
    res.on('close', () => {
      done = true;
      clearTimeout(timer);
      this.waiters.delete(finish);
    });
  }

  private route(req: FakeRequest, res: http.ServerResponse): void {
    const p = req.path;
    const m = (re: RegExp) => re.exec(p);
    let match: RegExpExecArray | null;
    // Nomad and Consul share this fake; Consul lives under the /consul prefix.
    if (p === '/v1/agent/members') {
      return this.json(res, {
        ServerName: 'srv1.global',
        ServerRegion: 'global',
        ServerDC: 'sys1',
        Members: this.servers.map((s) => ({
          Name: s.name,
          Addr: s.addr,
          Port: 4648,
          Status: 'alive',
          Tags: { role: 'nomad', region: 'global', dc: 'sys1', build: '1.9.7', rpc_addr: s.addr, port: '4647', vsn: '1', raft_vsn: '3' },
          ProtocolMin: 1,
          ProtocolMax: 5,
          ProtocolCur: 2,
          DelegateMin: 2,
          DelegateMax: 5,
          DelegateCur: 4,
        })),
      });
    }
    if (p === '/v1/status/leader') return this.json(res, this.leader);
    if (p === '/v1/status/peers') return this.json(res, this.peers);
    if (p === '/v1/nodes') return this.blocking(req, res, () => this.json(res, this.nodes, this.index));
    if ((match = m(/^\/v1\/node\/([^/]+)$/))) {
      const node = this.nodes.find((n) => n['ID'] === match![1]);
      if (!node) return this.text(res, 404, 'node not found');
      const zone = this.zones.get(node['ID'] as string);
      return this.json(res, { ...node, HTTPAddr: `${node['Address']}:4646`, Attributes: { 'kernel.name': 'linux', ...(zone ? { 'platform.gce.zone': zone } : {}) }, Meta: {} }, this.index);
    }
    if (p === '/v1/jobs' && req.method === 'GET') return this.blocking(req, res, () => this.json(res, this.jobs, this.index));
    if (p === '/v1/allocations') return this.blocking(req, res, () => this.json(res, [...this.allocs.values()], this.index));
    if ((match = m(/^\/v1\/job\/([^/]+)$/)) && req.method === 'GET') {
      const job = this.jobs.find((j) => j['ID'] === decodeURIComponent(match![1]!));
      return job ? this.json(res, { ...job, TaskGroups: [] }, this.index) : this.text(res, 404, 'job not found');
    }
    if (p === '/v1/event/stream') {
      if (!this.eventStream) return this.text(res, 404, '');
      res.setHeader('content-type', 'application/json');
      res.setHeader('cache-control', 'no-cache');
      res.write('{}\n');
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
      for (const resolve of this.streamOpeners.splice(0)) resolve();
      return;
    }
    // Consul, mounted under /consul so one fake serves both
    if (p === '/consul/v1/agent/members') return this.json(res, this.consulMembers);
    if (p === '/consul/v1/status/leader') return this.json(res, this.consulLeader);
    if (p === '/consul/v1/catalog/services') return this.blocking(req, res, () => this.json(res, this.consulServices, this.index, 'X-Consul-Index'));
    if ((match = m(/^\/consul\/v1\/catalog\/service\/([^/]+)$/))) {
      const name = decodeURIComponent(match[1]!);
      const list = (this.consulInstances[name] ?? []).map(([node, id]) => ({
        ID: '',
        Node: node,
        Address: '10.0.0.11',
        Datacenter: 'dc1',
        ServiceID: id,
        ServiceName: name,
        ServiceAddress: '',
        ServicePort: 8080,
        ServiceTags: this.consulServices[name] ?? [],
      }));
      return this.blocking(req, res, () => this.json(res, list, this.index, 'X-Consul-Index'));
    }
    if (p === '/consul/v1/health/state/any') return this.blocking(req, res, () => this.json(res, this.consulChecks, this.index, 'X-Consul-Index'));
    this.text(res, 404, '');
  }
}

export function consulMember(name: string, addr: string, role: 'consul' | 'node', status = 1): Record<string, unknown> {
  return {
    Name: name,
    Addr: addr,
    Port: 8301,
    Status: status,
    Tags: { role, dc: 'dc1', port: '8300', build: '1.16.1', vsn: '2' },
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  };
}

export function consulCheck(node: string, service: string, serviceId: string, status: string): Record<string, unknown> {
  return {
    Node: node,
    CheckID: service ? `service:${serviceId}` : 'serfHealth',
    Name: service ? `Service '${service}' check` : 'Serf Health Status',
    Status: status,
    Notes: '',
    Output: '',
    ServiceID: serviceId,
    ServiceName: service,
    ServiceTags: [],
    Type: service ? 'http' : '',
    Namespace: 'default',
    CreateIndex: 52,
    ModifyIndex: 52,
  };
}
