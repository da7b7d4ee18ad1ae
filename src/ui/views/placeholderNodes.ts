import type { EnvironmentSnapshot, EnvNode } from '../../attendee';
import { ViewId } from '../ids';

/**
 * The Cluster, Allocations and Labs views before their models exist. Each shows one
 * honest node saying what is missing; signed out, each shows nothing so its welcome content
 * (package.json `viewsWelcome`) explains what it will hold. When the cluster model arrives, a
 * view's provider is replaced here by one that renders the model; the view ids stay.
 */
export function placeholderNodes(viewId: string, snapshot: EnvironmentSnapshot): EnvNode[] {
  const status = 'environment' in snapshot ? snapshot.environment?.status : undefined;
  const notReady: EnvNode | undefined =
    status && status !== 'ready'
      ? { id: 'notReady', label: 'Your stack is not ready yet', description: `it is ${status}; see the Environment view`, icon: { id: 'clock' }, contextValue: 'placeholder:notReady' }
      : undefined;
  switch (viewId) {
    case ViewId.cluster:
      return [notReady ?? {
        id: 'notConnected',
        label: 'Not connected to your cluster',
        description: 'this version cannot open the SSH tunnel yet',
        tooltip: 'Nomad servers, clients by datacenter and zone, and Consul members and services appear here once the extension connects through your bastion.',
        icon: { id: 'debug-disconnect' },
        contextValue: 'placeholder:notConnected',
      }];
    case ViewId.allocations:
      return [notReady ?? {
        id: 'notConnected',
        label: 'No allocations to show',
        description: 'not connected to your cluster',
        tooltip: 'Jobs, task groups and their allocations appear here once the extension is connected to your cluster.',
        icon: { id: 'debug-disconnect' },
        contextValue: 'placeholder:notConnected',
      }];
    case ViewId.labs:
      return [{
        id: 'noLabs',
        label: 'No labs available yet',
        description: 'this version ships no lab content',
        icon: { id: 'book' },
        contextValue: 'placeholder:noLabs',
      }];
    default:
      return [];
  }
}
