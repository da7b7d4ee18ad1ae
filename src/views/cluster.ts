/**
 * What the Cluster view shows: Nomad servers with the leader marked, clients by datacenter →
 * zone, and Consul members and services; and, shared with the Allocations view, what a view
 * says while there is no cluster to show (waiting for the stack, connecting, failed).
 */
import type { AllocationCounts, ClusterSnapshot, ConsulMemberInfo, NodeInfo, ServerInfo } from '../cluster';
import type { ConnectionState } from '../clusterSession';
import { contextValue } from './contextValue';
import { CommandId } from './ids';
import { firstLine, type ViewNode } from './node';
import { stateRows, type TreeRoots, type TreeState } from './states';

/** The connection underneath, as the views need it. */
export interface ConnectionView {
  /** idle: signed out or the stack is not ready; otherwise the tunnel's state. */
  state: ConnectionState;
  error?: string;
}

const CONNECT = { command: CommandId.connect, title: 'Connect' };
const RETRY = { command: CommandId.retryConnection, title: 'Retry' };

const OK = 'testing.iconPassed';
const BAD = 'testing.iconFailed';
const WARN = 'charts.yellow';

/** What a view says when there is no cluster (yet) to show; undefined when there is data to show. */
export function connectionState(connection: ConnectionView, hasData: boolean, what: string): TreeState | undefined {
  switch (connection.state) {
    case 'idle':
      return { state: 'waiting', label: 'Waiting for your stack', why: `${what} shows once your stack is ready and connected`, icon: { id: 'clock' } };
    case 'disconnected':
      if (hasData) break;
      return { state: 'disconnected', label: 'Not connected', why: 'click to connect', tooltip: "Connect opens the SSH tunnel to your stack's bastion.", icon: { id: 'debug-disconnect' }, command: CONNECT };
    case 'connecting':
      if (hasData) break;
      return { state: 'connecting', label: 'Connecting…', why: 'opening the SSH tunnel through your bastion', icon: { id: 'sync~spin' } };
    case 'failed':
      return { state: 'failed', label: 'Connection failed', error: connection.error ?? 'The SSH tunnel could not be opened.', retry: RETRY };
    default:
      break;
  }
  return undefined;
}

/** A banner above stale data while the tunnel is down or being re-opened. */
export function reconnectBanner(connection: ConnectionView): ViewNode[] {
  if (connection.state !== 'reconnecting' && connection.state !== 'disconnected' && connection.state !== 'connecting') return [];
  const reconnecting = connection.state !== 'disconnected';
  return [
    {
      id: 'state/reconnecting',
      label: connection.state === 'connecting' ? 'Connecting…' : reconnecting ? 'Reconnecting…' : 'Disconnected',
      description: `${connection.error ? firstLine(connection.error) + '; ' : ''}showing what was last seen`,
      tooltip: `${connection.error ?? ''}\n\nClick to ${reconnecting ? 'retry now' : 'connect'}.`.trim(),
      icon: { id: reconnecting ? 'sync~spin' : 'debug-disconnect', color: WARN },
      contextValue: contextValue('state', 'reconnecting'),
      command: reconnecting ? RETRY : CONNECT,
    },
  ];
}

export function clusterRoots(connection: ConnectionView, snapshot: ClusterSnapshot | undefined): TreeRoots {
  const early = connectionState(connection, !!snapshot, 'Your cluster');
  if (early) return early;
  if (!snapshot) return { state: 'connecting', label: 'Connecting…', why: 'opening the SSH tunnel through your bastion', icon: { id: 'sync~spin' } };
  return [...reconnectBanner(connection), serversNode(snapshot), ...clientNodes(snapshot), consulNode(snapshot)];
}

function serversNode(s: ClusterSnapshot): ViewNode {
  if (s.nomad.state === 'error' && s.servers.length === 0) {
    return { ...stateRows({ state: 'failed', label: 'Nomad servers', error: s.nomad.error ?? 'error', retry: RETRY })[0]!, id: 'servers' };
  }
  if (s.nomad.state === 'loading' && s.servers.length === 0) {
    return { id: 'servers', label: 'Nomad servers', description: 'loading…', icon: { id: 'loading~spin' }, contextValue: contextValue('state', 'loading') };
  }
  const leader = s.servers.find((x) => x.leader);
  const alive = s.servers.filter((x) => x.status === 'alive').length;
  return {
    id: 'servers',
    label: 'Nomad servers',
    description: `${alive} of ${s.servers.length} alive${leader ? `, leader ${leader.name}` : ', no leader'}`,
    icon: { id: 'server-environment', color: leader ? undefined : BAD },
    contextValue: contextValue('section'),
    children: s.servers.map(serverNode),
  };
}

function serverNode(x: ServerInfo): ViewNode {
  const parts = [x.leader ? 'leader' : x.raftPeer ? 'follower' : 'not a raft peer', x.status !== 'alive' ? x.status : '', x.datacenter ?? '', x.version ? `v${x.version}` : ''].filter(Boolean);
  return {
    id: `server/${x.name}`,
    label: x.name,
    description: parts.join(' · '),
    tooltip: `${x.name}\nRPC ${x.rpcAddress} · serf ${x.address}\nStatus: ${x.status}${x.leader ? ' (raft leader)' : ''}\nRegion ${x.region ?? '?'}, datacenter ${x.datacenter ?? '?'}`,
    icon: x.leader ? { id: 'star-full', color: OK } : { id: 'server', color: x.status === 'alive' ? undefined : BAD },
    contextValue: contextValue('server', serverState(x.status), { leader: x.leader }),
  };
}

function clientNodes(s: ClusterSnapshot): ViewNode[] {
  if (s.datacenters.length === 0) {
    if (s.nomad.state === 'error') return [{ ...stateRows({ state: 'failed', label: 'Clients', error: s.nomad.error ?? 'error', retry: RETRY })[0]!, id: 'clients' }];
    return [{ id: 'clients', label: 'Clients', description: s.nomad.state === 'loading' ? 'loading…' : 'no client nodes registered', icon: { id: 'vm-outline' }, contextValue: contextValue('state', s.nomad.state === 'loading' ? 'loading' : 'empty') }];
  }
  return s.datacenters.map((dc) => {
    const nodes = dc.zones.flatMap((z) => z.nodes);
    const ready = nodes.filter((n) => n.status === 'ready').length;
    const zoneChildren = dc.zones.map((z) => ({
      id: `dc/${dc.datacenter}/zone/${z.zone}`,
      label: z.zone || 'no zone',
      description: zoneDescription(z.nodes),
      icon: { id: 'layers', color: z.nodes.every((n) => n.status !== 'ready') ? BAD : undefined },
      contextValue: contextValue('zone'),
      // Zones start folded: their row already says how many nodes are ready.
      collapsed: true,
      children: z.nodes.map(nodeNode),
    }));
    return {
      id: `dc/${dc.datacenter}`,
      label: dc.datacenter,
      description: `datacenter · ${ready} of ${nodes.length} nodes ready`,
      icon: { id: 'database' },
      contextValue: contextValue('section'),
      // One zone (or none) adds nothing: show its nodes directly.
      children: dc.zones.length === 1 && !dc.zones[0]!.zone ? dc.zones[0]!.nodes.map(nodeNode) : zoneChildren,
    };
  });
}

function nodeNode(n: NodeInfo): ViewNode {
  const flags = [n.status !== 'ready' ? n.status : '', n.eligibility !== 'eligible' ? 'ineligible' : '', n.drain ? 'draining' : ''].filter(Boolean);
  const icon =
    n.status === 'down' || n.status === 'disconnected'
      ? { id: 'error', color: BAD }
      : n.drain || n.eligibility !== 'eligible'
        ? { id: 'circle-slash', color: WARN }
        : n.status === 'ready'
          ? { id: 'vm-active', color: OK }
          : { id: 'vm-outline' };
  return {
    id: `node/${n.id}`,
    label: n.name,
    description: [...flags, allocSummary(n.allocations)].filter(Boolean).join(' · '),
    tooltip: `${n.name} (${n.id.slice(0, 8)})\n${n.address ?? ''}\nDatacenter ${n.datacenter}${n.zone ? `, zone ${n.zone}` : ''}\nStatus: ${n.status}${n.statusDescription ? ` (${n.statusDescription})` : ''}\nScheduling: ${n.eligibility}${n.drain ? ', draining' : ''}`,
    icon,
    contextValue: contextValue('node', nodeState(n.status), { ineligible: n.eligibility !== 'eligible', draining: n.drain }),
    target: { kind: 'node', nodeId: n.id },
    copyValue: n.id,
  };
}

function zoneDescription(nodes: NodeInfo[]): string {
  const ready = nodes.filter((n) => n.status === 'ready').length;
  const down = nodes.filter((n) => n.status === 'down').length;
  const ineligible = nodes.filter((n) => n.eligibility !== 'eligible' || n.drain).length;
  return [`${ready} of ${nodes.length} ready`, down ? `${down} down` : '', ineligible ? `${ineligible} ineligible` : ''].filter(Boolean).join(', ');
}

/** `3 running, 1 failed`, or `no allocations`. */
export function allocSummary(c: AllocationCounts): string {
  const parts = (['running', 'pending', 'failed', 'lost'] as const).filter((k) => c[k] > 0).map((k) => `${c[k]} ${k}`);
  return parts.length ? parts.join(', ') : 'no allocations';
}

function consulNode(s: ClusterSnapshot): ViewNode {
  const base = { id: 'consul', label: 'Consul', contextValue: contextValue('consul', s.consul.state) };
  switch (s.consul.state) {
    case 'disabled':
      return { ...base, description: 'not part of this stack', icon: { id: 'circle-slash' } };
    case 'loading':
      if (s.consulMembers.length === 0) return { ...base, description: 'loading…', icon: { id: 'loading~spin' } };
      break;
    case 'not-running':
      return {
        ...base,
        description: 'not running yet',
        tooltip: `${s.consul.error ?? 'Nothing answers at Consul\'s address, or it has no leader.'}\n\nConsul runs as a Nomad system job: run jobs/consul.nomad.hcl (the Consul lab shows how).`,
        icon: { id: 'info', color: WARN },
      };
    case 'error':
      return { ...base, description: firstLine(s.consul.error ?? 'error'), tooltip: s.consul.error, icon: { id: 'error', color: BAD } };
    default:
      break;
  }
  const servers = s.consulMembers.filter((m) => m.role === 'server');
  const clients = s.consulMembers.filter((m) => m.role === 'client');
  const leader = servers.find((m) => m.leader);
  const members: ViewNode = {
    id: 'consul/members',
    label: 'Members',
    description: `servers ${aliveCount(servers)}, clients ${aliveCount(clients)}`,
    icon: { id: 'organization' },
    contextValue: contextValue('section'),
    collapsed: true,
    children: [...servers, ...clients].map(memberNode),
  };
  const services: ViewNode = {
    id: 'consul/services',
    label: 'Services',
    description: `${s.consulServices.length}`,
    icon: { id: 'symbol-interface' },
    contextValue: contextValue('section'),
    children: s.consulServices.map((svc) => {
      const { passing, warning, critical } = svc.checks;
      return {
        id: `consul/service/${svc.name}`,
        label: svc.name,
        description: `${svc.instances} instance${svc.instances === 1 ? '' : 's'} · ${passing} passing${warning ? `, ${warning} warning` : ''}${critical ? `, ${critical} critical` : ''}`,
        tooltip: `${svc.name}${svc.tags.length ? ` [${svc.tags.join(', ')}]` : ''}\nChecks: ${passing} passing, ${warning} warning, ${critical} critical`,
        icon: { id: critical ? 'error' : warning ? 'warning' : 'pass', color: critical ? BAD : warning ? WARN : OK },
        contextValue: contextValue('service', critical ? 'critical' : warning ? 'warning' : 'passing'),
      };
    }),
  };
  return {
    ...base,
    description: leader ? `leader ${leader.name}` : 'no leader',
    icon: { id: 'plug', color: leader ? OK : WARN },
    children: [members, services],
  };
}

function aliveCount(members: ConsulMemberInfo[]): string {
  const alive = members.filter((m) => m.status === 'alive').length;
  return `${alive}/${members.length} alive`;
}

function memberNode(m: ConsulMemberInfo): ViewNode {
  return {
    id: `consul/member/${m.name}`,
    label: m.name,
    description: [m.role, m.leader ? 'leader' : '', m.status !== 'alive' ? m.status : '', m.address].filter(Boolean).join(' · '),
    icon: m.status === 'alive' ? { id: m.role === 'server' ? 'server' : 'vm', color: m.leader ? OK : undefined } : { id: 'error', color: BAD },
    contextValue: contextValue('consul-member', memberState(m.status), { role: m.role }),
  };
}

const SERVER_STATES = ['alive', 'leaving', 'left', 'failed', 'none'] as const;
const serverState = (s: string) => (SERVER_STATES as readonly string[]).includes(s) ? (s as (typeof SERVER_STATES)[number]) : 'none';
const memberState = serverState;
const NODE_STATES = ['initializing', 'ready', 'down', 'disconnected'] as const;
const nodeState = (s: string) => (NODE_STATES as readonly string[]).includes(s) ? (s as (typeof NODE_STATES)[number]) : 'initializing';
