/**
 * What the Cluster view shows, as plain data (no `vscode`): Nomad servers with the leader
 * marked, clients by datacenter → zone, and Consul members and services. The UI maps each
 * node to a TreeItem one to one, so tests check labels, icons and context values here.
 *
 * Context values are built from parts and matched by regex in package.json menus:
 * `cluster:server`, `cluster:node:ready`, `cluster:consul-service`, …
 */
import type { EnvNode } from '../../attendee/environmentPresentation';
import type { AllocationCounts, ClusterSnapshot, ConsulMemberInfo, NodeInfo, ServerInfo } from '../model';

/** The connection underneath, as the view needs it. */
export interface ConnectionView {
  /** idle: signed out or the stack is not ready; otherwise the tunnel's state. */
  state: 'idle' | 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'failed';
  error?: string;
}

const OK = 'testing.iconPassed';
const BAD = 'testing.iconFailed';
const WARN = 'charts.yellow';

/** Nodes that explain why there is nothing (yet) to show; shared with the Allocations view. */
export function connectionNodes(connection: ConnectionView, snapshot: ClusterSnapshot | undefined, what: string): EnvNode[] | undefined {
  switch (connection.state) {
    case 'idle':
      return [{ id: 'idle', label: 'Waiting for your stack', description: `${what} shows once your stack is ready and connected`, icon: { id: 'clock' }, contextValue: 'cluster:idle' }];
    case 'disconnected':
      if (snapshot) break;
      return [{ id: 'disconnected', label: 'Not connected', description: 'click to connect', tooltip: 'Connect opens the SSH tunnel to your stack\'s bastion.', icon: { id: 'debug-disconnect' }, contextValue: 'cluster:disconnected', action: 'connect' }];
    case 'connecting':
      if (snapshot) break;
      return [{ id: 'connecting', label: 'Connecting…', description: 'opening the SSH tunnel through your bastion', icon: { id: 'sync~spin' }, contextValue: 'cluster:connecting' }];
    case 'failed':
      return [
        {
          id: 'failed',
          label: 'Connection failed',
          description: connection.error ? firstLine(connection.error) : 'click to retry',
          tooltip: `${connection.error ?? 'The SSH tunnel could not be opened.'}\n\nClick to try again; the Open Kitchen log has details.`,
          icon: { id: 'error', color: BAD },
          contextValue: 'cluster:failed',
          action: 'retryConnection',
        },
      ];
    default:
      break;
  }
  return undefined;
}

/** A banner above stale data while the tunnel is down or being re-opened. */
function reconnectBanner(connection: ConnectionView): EnvNode[] {
  if (connection.state !== 'reconnecting' && connection.state !== 'disconnected' && connection.state !== 'connecting') return [];
  const reconnecting = connection.state !== 'disconnected';
  return [
    {
      id: 'reconnecting',
      label: connection.state === 'connecting' ? 'Connecting…' : reconnecting ? 'Reconnecting…' : 'Disconnected',
      description: `${connection.error ? firstLine(connection.error) + '; ' : ''}showing what was last seen`,
      tooltip: `${connection.error ?? ''}\n\nClick to ${reconnecting ? 'retry now' : 'connect'}.`.trim(),
      icon: { id: reconnecting ? 'sync~spin' : 'debug-disconnect', color: WARN },
      contextValue: 'cluster:reconnecting',
      action: reconnecting ? 'retryConnection' : 'connect',
    },
  ];
}

export function buildClusterNodes(connection: ConnectionView, snapshot: ClusterSnapshot | undefined): EnvNode[] {
  const early = connectionNodes(connection, snapshot, 'Your cluster');
  if (early) return early;
  if (!snapshot) return [];
  return [...reconnectBanner(connection), serversNode(snapshot), ...clientNodes(snapshot), consulNode(snapshot)];
}

function serversNode(s: ClusterSnapshot): EnvNode {
  if (s.nomad.state === 'error' && s.servers.length === 0) {
    return { id: 'servers', label: 'Nomad servers', description: firstLine(s.nomad.error ?? 'error'), tooltip: s.nomad.error, icon: { id: 'error', color: BAD }, contextValue: 'cluster:error', action: 'retryConnection' };
  }
  if (s.nomad.state === 'loading' && s.servers.length === 0) {
    return { id: 'servers', label: 'Nomad servers', description: 'loading…', icon: { id: 'loading~spin' }, contextValue: 'cluster:loading' };
  }
  const leader = s.servers.find((x) => x.leader);
  const alive = s.servers.filter((x) => x.status === 'alive').length;
  return {
    id: 'servers',
    label: 'Nomad servers',
    description: `${alive} of ${s.servers.length} alive${leader ? `, leader ${leader.name}` : ', no leader'}`,
    icon: { id: 'server-environment', color: leader ? undefined : BAD },
    contextValue: 'cluster:servers',
    children: s.servers.map(serverNode),
  };
}

function serverNode(x: ServerInfo): EnvNode {
  const parts = [x.leader ? 'leader' : x.raftPeer ? 'follower' : 'not a raft peer', x.status !== 'alive' ? x.status : '', x.datacenter ?? '', x.version ? `v${x.version}` : ''].filter(Boolean);
  return {
    id: `server/${x.name}`,
    label: x.name,
    description: parts.join(' · '),
    tooltip: `${x.name}\nRPC ${x.rpcAddress} · serf ${x.address}\nStatus: ${x.status}${x.leader ? ' (raft leader)' : ''}\nRegion ${x.region ?? '?'}, datacenter ${x.datacenter ?? '?'}`,
    icon: x.leader ? { id: 'star-full', color: OK } : { id: 'server', color: x.status === 'alive' ? undefined : BAD },
    contextValue: `cluster:server${x.leader ? ' leader' : ''}`,
  };
}

function clientNodes(s: ClusterSnapshot): EnvNode[] {
  if (s.datacenters.length === 0) {
    if (s.nomad.state === 'error') return [{ id: 'clients', label: 'Clients', description: firstLine(s.nomad.error ?? 'error'), tooltip: s.nomad.error, icon: { id: 'error', color: BAD }, contextValue: 'cluster:error' }];
    return [{ id: 'clients', label: 'Clients', description: s.nomad.state === 'loading' ? 'loading…' : 'no client nodes registered', icon: { id: 'vm-outline' }, contextValue: 'cluster:empty' }];
  }
  return s.datacenters.map((dc) => {
    const nodes = dc.zones.flatMap((z) => z.nodes);
    const ready = nodes.filter((n) => n.status === 'ready').length;
    const zoneChildren = dc.zones.map((z) => ({
      id: `dc/${dc.datacenter}/zone/${z.zone}`,
      label: z.zone || 'no zone',
      description: zoneDescription(z.nodes),
      icon: { id: 'layers', color: z.nodes.every((n) => n.status !== 'ready') ? BAD : undefined },
      contextValue: 'cluster:zone',
      // Zones start folded: their row already says how many nodes are ready.
      collapsed: true,
      children: z.nodes.map(nodeNode),
    }));
    return {
      id: `dc/${dc.datacenter}`,
      label: dc.datacenter,
      description: `datacenter · ${ready} of ${nodes.length} nodes ready`,
      icon: { id: 'database' },
      contextValue: 'cluster:datacenter',
      // One zone (or none) adds nothing: show its nodes directly.
      children: dc.zones.length === 1 && !dc.zones[0]!.zone ? dc.zones[0]!.nodes.map(nodeNode) : zoneChildren,
    };
  });
}

function nodeNode(n: NodeInfo): EnvNode {
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
    contextValue: `cluster:node:${n.status}${n.eligibility === 'eligible' ? '' : ' ineligible'}${n.drain ? ' draining' : ''}`,
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

function consulNode(s: ClusterSnapshot): EnvNode {
  const base = { id: 'consul', label: 'Consul', contextValue: 'cluster:consul' };
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
        contextValue: 'cluster:consul not-running',
      };
    case 'error':
      return { ...base, description: firstLine(s.consul.error ?? 'error'), tooltip: s.consul.error, icon: { id: 'error', color: BAD }, contextValue: 'cluster:consul error' };
    default:
      break;
  }
  const servers = s.consulMembers.filter((m) => m.role === 'server');
  const clients = s.consulMembers.filter((m) => m.role === 'client');
  const leader = servers.find((m) => m.leader);
  const members: EnvNode = {
    id: 'consul/members',
    label: 'Members',
    description: `servers ${aliveCount(servers)}, clients ${aliveCount(clients)}`,
    icon: { id: 'organization' },
    contextValue: 'cluster:consul-members',
    collapsed: true,
    children: [...servers, ...clients].map(memberNode),
  };
  const services: EnvNode = {
    id: 'consul/services',
    label: 'Services',
    description: `${s.consulServices.length}`,
    icon: { id: 'symbol-interface' },
    contextValue: 'cluster:consul-services',
    children: s.consulServices.map((svc) => {
      const { passing, warning, critical } = svc.checks;
      return {
        id: `consul/service/${svc.name}`,
        label: svc.name,
        description: `${svc.instances} instance${svc.instances === 1 ? '' : 's'} · ${passing} passing${warning ? `, ${warning} warning` : ''}${critical ? `, ${critical} critical` : ''}`,
        tooltip: `${svc.name}${svc.tags.length ? ` [${svc.tags.join(', ')}]` : ''}\nChecks: ${passing} passing, ${warning} warning, ${critical} critical`,
        icon: { id: critical ? 'error' : warning ? 'warning' : 'pass', color: critical ? BAD : warning ? WARN : OK },
        contextValue: `cluster:consul-service${critical ? ' critical' : warning ? ' warning' : ''}`,
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

function memberNode(m: ConsulMemberInfo): EnvNode {
  return {
    id: `consul/member/${m.name}`,
    label: m.name,
    description: [m.role, m.leader ? 'leader' : '', m.status !== 'alive' ? m.status : '', m.address].filter(Boolean).join(' · '),
    icon: m.status === 'alive' ? { id: m.role === 'server' ? 'server' : 'vm', color: m.leader ? OK : undefined } : { id: 'error', color: BAD },
    contextValue: `cluster:consul-member ${m.role} ${m.status}`,
  };
}

function firstLine(s: string): string {
  return s.split('\n', 1)[0]!;
}
