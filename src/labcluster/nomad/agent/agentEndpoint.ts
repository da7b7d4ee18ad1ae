// The agent's own endpoints: /v1/status/leader and /v1/status/peers, /v1/regions, and
// /v1/agent/members, servers, health and self, answered as a server agent of the lab's raft
// peers would. Nomad's command/agent/status_endpoint.go, region_endpoint.go and
// agent_endpoint.go, simplified.
import { sendJson } from '../../http';
import { NOMAD_REVISION, NOMAD_VERSION, type LabNode } from '../../topology';
import type { LabNomad } from '../server';
import { isTerminal, REGION } from '../structs';
import { notFound, type NomadApiOptions, type Route } from './request';

/** The leader's RPC address, or '' without a quorum. */
export function leaderAddr(nomad: LabNomad): string {
  const l = nomad.leader();
  return l ? `${l.Address}:4647` : '';
}

/** A server as a serf member (agent/members, agent/self). */
export const member = (nomad: LabNomad, n: LabNode) => ({
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

/** /v1/status/… */
export async function statusEndpoint(o: NomadApiOptions, { ctx, seg, is, invalid }: Route): Promise<void> {
  const nomad = o.nomad;
  const [, a1] = seg;
  if (!is('GET')) return invalid();
  if (a1 === 'leader') return sendJson(ctx, 200, leaderAddr(nomad));
  if (a1 === 'peers') return sendJson(ctx, 200, nomad.servers().filter((s) => s.Status !== 'down').map((s) => `${s.Address}:4647`));
  return notFound(ctx);
}

/** /v1/regions */
export async function regionsEndpoint(_o: NomadApiOptions, { ctx, seg, is, invalid }: Route): Promise<void> {
  const [, a1] = seg;
  if (!a1) return is('GET') ? sendJson(ctx, 200, [REGION]) : invalid();
  return notFound(ctx);
}

/** /v1/agent/… */
export async function agentEndpoint(o: NomadApiOptions, { ctx, seg, is, invalid }: Route): Promise<void> {
  const nomad = o.nomad;
  const [, a1] = seg;
  if (!is('GET')) return invalid();
  const agentNode = nomad.leader() ?? nomad.servers()[0];
  if (a1 === 'members') {
    const l = agentNode as LabNode;
    return sendJson(ctx, 200, { ServerName: `${l.Name}.${REGION}`, ServerRegion: REGION, ServerDC: l.Datacenter, Members: nomad.servers().map((n) => member(nomad, n)) });
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
      member: member(nomad, n),
      stats: {
        nomad: { server: 'true', leader: String(leader?.ID === n.ID), leader_addr: leaderAddr(nomad), bootstrap: 'false', known_regions: '1' },
        raft: { state: leader?.ID === n.ID ? 'Leader' : 'Follower', num_peers: String(nomad.servers().length - 1), applied_index: String(nomad.store.index), commit_index: String(nomad.store.index), last_log_index: String(nomad.store.index), protocol_version: '3' },
        client: { node_id: n.ID, known_servers: nomad.servers().map((s) => `${s.Address}:4647`).join(','), num_allocations: String([...nomad.allocs.values()].filter((x) => x.NodeID === n.ID && !isTerminal(x)).length), last_heartbeat: '10.2s', heartbeat_ttl: '16.5s' },
        serf: { members: String(nomad.servers().length), failed: String(nomad.servers().filter((s) => s.Status === 'down').length), left: '0', health_score: '0' },
        runtime: { arch: 'amd64', version: 'go1.22.11', max_procs: '2', goroutines: '312', cpu_count: '2', kernel_name: 'linux' },
      },
    });
  }
  return notFound(ctx);
}
