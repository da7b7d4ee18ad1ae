/**
 * What the Environment view shows: the workshop and the attendee, the stack's status (with what
 * it means), and once the stack is ready how to reach it (bastion, pinned host key, addresses,
 * datacenters, zones, DNS). Signed out it shows nothing, so the view's welcome content explains
 * how to sign in.
 */
import type { EnvironmentSnapshot, PublicEnvironment } from '../attendee/environmentWatcher';
import type { StoredSession } from '../attendee/sessionStore';
import type { StackStatus } from '../contract';
import { contextValue } from './contextValue';
import { CommandId } from './ids';
import type { NodeIcon, ViewNode } from './node';
import { stateRows, type TreeRoots } from './states';

const REFRESH = { command: CommandId.refreshEnvironment, title: 'Refresh' };

interface StatusLook {
  label: string;
  icon: NodeIcon;
  fallback: string;
}

export const STATUS_LOOK: Record<StackStatus, StatusLook> = {
  pending: { label: 'Pending', icon: { id: 'clock', color: 'charts.yellow' }, fallback: 'Waiting for the organizer to start building your stack.' },
  queued: { label: 'Queued', icon: { id: 'clock', color: 'charts.yellow' }, fallback: 'Your stack is next in line to be built; this view updates by itself.' },
  provisioning: { label: 'Provisioning', icon: { id: 'sync~spin', color: 'charts.blue' }, fallback: 'Your stack is being built; this view updates by itself.' },
  ready: { label: 'Ready', icon: { id: 'pass-filled', color: 'testing.iconPassed' }, fallback: 'Your stack is up.' },
  failed: { label: 'Failed', icon: { id: 'error', color: 'testing.iconFailed' }, fallback: 'Building your stack failed; your organizer has been told.' },
  cancelled: { label: 'Not built', icon: { id: 'circle-slash', color: 'charts.orange' }, fallback: 'The organizer stopped building your stack; it is built when they start again.' },
  destroying: { label: 'Being torn down', icon: { id: 'trash', color: 'charts.orange' }, fallback: 'The organizer is tearing your stack down.' },
  destroyed: { label: 'Torn down', icon: { id: 'circle-slash' }, fallback: 'Your stack was torn down by the organizer.' },
};

function detail(id: string, label: string, value: string, icon: string, tooltip?: string): ViewNode {
  return { id, label, description: value, tooltip: tooltip ?? `${label}: ${value}`, icon: { id: icon }, contextValue: contextValue('detail', undefined, { copyable: true }), copyValue: value };
}

/** A named thing without a separate value (a datacenter, a zone): copying copies the name. */
function leaf(id: string, label: string, icon: string, tooltip: string): ViewNode {
  return { id, label, tooltip, icon: { id: icon }, contextValue: contextValue('detail', undefined, { copyable: true }), copyValue: label };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function workshopNode(session: StoredSession): ViewNode {
  return {
    id: 'workshop',
    label: session.workshop.title,
    description: session.attendee.email,
    tooltip: `Workshop "${session.workshop.title}" (${session.workshop.name})\nSigned in as ${session.attendee.name} <${session.attendee.email}>\nOrganizer: ${session.apiUrl}`,
    icon: { id: 'account' },
    contextValue: contextValue('workshop'),
  };
}

function statusNode(env: PublicEnvironment): ViewNode {
  const look = STATUS_LOOK[env.status];
  const given = env.statusMessage?.trim();
  // "Ready." next to "Ready" says nothing: the fallback explains what the status means instead.
  const repeatsLabel = !given || given.replace(/[.!\s]+$/, '').toLowerCase() === look.label.toLowerCase();
  const message = repeatsLabel ? look.fallback : given;
  // A row has one line: the first line of a long message there, all of it in the tooltip.
  const firstLine = message.split('\n', 1)[0]!;
  return {
    id: 'status',
    label: look.label,
    description: firstLine,
    tooltip: `Stack ${env.stackId} (${env.provider}): ${look.label}\n${message}\nUpdated ${env.updatedAt}`,
    icon: look.icon,
    contextValue: contextValue('stack', env.status),
    ...(env.status === 'failed' ? { command: REFRESH } : {}),
  };
}

/** The details of a stack once it has a connection. */
export function stackDetailNodes(env: PublicEnvironment): ViewNode[] {
  const c = env.connection;
  if (!c) return [];
  const { bastion } = c;
  const zones = c.zones.length ? c.zones.join(', ') : 'none';
  return [
    {
      id: 'bastion',
      label: 'Bastion',
      description: `${bastion.user}@${hostPort(bastion.host, bastion.port)}`,
      tooltip: `SSH bastion ${bastion.user}@${hostPort(bastion.host, bastion.port)}\nHost key ${bastion.hostKeyFingerprint} (pinned)`,
      icon: { id: 'remote' },
      contextValue: contextValue('bastion', undefined, { copyable: true }),
      copyValue: `${bastion.user}@${hostPort(bastion.host, bastion.port)}`,
      children: [
        detail('bastion.address', 'Address', hostPort(bastion.host, bastion.port), 'plug'),
        detail('bastion.user', 'User', bastion.user, 'person'),
        detail('bastion.hostKey', 'Host key', bastion.hostKeyFingerprint, 'key',
          `The bastion's host key fingerprint. Connections are refused unless the bastion presents exactly this key.\n${bastion.hostKeyFingerprint}`),
      ],
    },
    {
      id: 'cluster',
      label: 'Cluster',
      description: `region ${c.region}`,
      tooltip: 'Addresses as seen from the bastion; the extension tunnels to them over SSH.',
      icon: { id: 'server-environment' },
      contextValue: contextValue('section'),
      children: [
        detail('cluster.nomad', 'Nomad', hostPort(c.nomad.host, c.nomad.port), 'server-process', `Nomad API, as seen from the bastion: ${hostPort(c.nomad.host, c.nomad.port)}`),
        detail('cluster.consul', 'Consul', hostPort(c.consul.host, c.consul.port), 'server-process', `Consul API, as seen from the bastion: ${hostPort(c.consul.host, c.consul.port)}`),
        detail('cluster.region', 'Region', c.region, 'globe'),
        {
          id: 'cluster.datacenters',
          label: 'Datacenters',
          description: c.datacenters.join(', ') || 'none',
          icon: { id: 'database' },
          contextValue: contextValue('section'),
          collapsed: true,
          children: c.datacenters.map((dc) => leaf(`cluster.datacenters.${dc}`, dc, 'database', `Datacenter ${dc}`)),
        },
        {
          id: 'cluster.zones',
          label: 'Zones',
          description: zones,
          icon: { id: 'layers' },
          contextValue: contextValue('section'),
          collapsed: true,
          children: c.zones.map((z) => leaf(`cluster.zones.${z}`, z, 'layers', `Availability zone ${z}`)),
        },
      ],
    },
    {
      id: 'dns',
      label: 'DNS',
      description: [c.dns.internal, c.dns.external].filter(Boolean).join(', ') || 'no DNS zones',
      icon: { id: 'symbol-namespace' },
      contextValue: contextValue('section'),
      children: [
        c.dns.internal
          ? detail('dns.internal', 'Internal zone', c.dns.internal, 'lock', `Internal DNS zone (resolves inside the stack): ${c.dns.internal}`)
          : { id: 'dns.internal', label: 'Internal zone', description: 'none', icon: { id: 'lock' }, contextValue: contextValue('detail') },
        c.dns.external
          ? detail('dns.external', 'External zone', c.dns.external, 'globe', `External DNS zone: ${c.dns.external}`)
          : { id: 'dns.external', label: 'External zone', description: 'none', icon: { id: 'globe' }, contextValue: contextValue('detail') },
      ],
    },
  ];
}

function environmentNodes(env: PublicEnvironment): ViewNode[] {
  const nodes = [statusNode(env)];
  if (env.connection) nodes.push(...stackDetailNodes(env));
  else if (env.status === 'ready') {
    nodes.push(...stateRows({ state: 'empty', label: 'No connection details yet', why: 'the organizer API sent none; click to refresh', icon: { id: 'warning', color: 'problemsWarningIcon.foreground' }, command: REFRESH }));
  }
  return nodes;
}

/**
 * The root nodes of the Environment view. Signed out → no nodes (the view's welcome content
 * explains how to sign in).
 */
export function environmentRoots(snapshot: EnvironmentSnapshot, session: StoredSession | undefined): TreeRoots {
  if (!session) return { state: 'welcome' };
  const top = [workshopNode(session)];
  switch (snapshot.state) {
    case 'idle':
    case 'loading':
      if (snapshot.state === 'loading' && snapshot.environment) return [...top, ...environmentNodes(snapshot.environment)];
      return [...top, ...stateRows({ state: 'loading', label: 'Loading your environment…' })];
    case 'loaded':
      return [...top, ...environmentNodes(snapshot.environment)];
    case 'error': {
      const error = stateRows({
        state: 'failed',
        label: snapshot.environment ? 'Could not refresh your environment' : 'Could not load your environment',
        error: `${snapshot.message}${snapshot.nextRetryAt ? ' (retrying)' : ''}${snapshot.environment ? '\nShowing what was last loaded.' : ''}`,
        retry: REFRESH,
      });
      return [...top, ...error, ...(snapshot.environment ? environmentNodes(snapshot.environment) : [])];
    }
  }
}
