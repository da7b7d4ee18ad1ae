import * as vscode from 'vscode';
import { ClusterHttpError } from '../../cluster';
import type { LabFault } from '../../labs';
import { requireConnection } from '../allocations/requireConnection';
import { UserCancelledError } from '../commands/runCommand';
import { CommandId } from '../../views/ids';
import type { Services } from '../services';

/**
 * The lab-cluster actions the labs ask for (zone outage, re-pushed image tags, Docker volumes),
 * through the cluster session (its tunnel, token and log). On a local stack the lab cluster's
 * admin API performs them; a real Nomad has none, and the command says what to do instead.
 */
export function labClusterCommands(services: Services): vscode.Disposable[] {
  const { commands, log } = services;

  const send = async (fault: LabFault, done: string): Promise<void> => {
    const session = await requireConnection(services);
    try {
      await session.labFault(fault);
    } catch (err) {
      if (err instanceof ClusterHttpError && err.status === 404) {
        throw new Error('Your stack runs a real Nomad, which has no lab controls: do this on the machines themselves (your organizer can help).');
      }
      throw err;
    }
    log.info(`Lab cluster: ${done}`);
    void vscode.window.showInformationMessage(done);
  };

  const pickZone = async (title: string): Promise<string> => {
    const zones = new Set<string>();
    for (const dc of services.cluster.model?.getDatacenters() ?? []) if (dc.datacenter !== 'sys1') for (const z of dc.zones) if (z.zone) zones.add(z.zone);
    const zone = await vscode.window.showQuickPick([...zones].sort(), { title, placeHolder: 'Which zone of dc1?' });
    if (!zone) throw new UserCancelledError();
    return zone;
  };

  return [
    commands.register(CommandId.simulateZoneOutage, async () => {
      const zone = await pickZone('Simulate Zone Outage');
      await send({ type: 'zoneOutage', zone }, `Zone ${zone} is down: its clients stop answering.`);
    }),
    commands.register(CommandId.restoreZone, async () => {
      const zone = await pickZone('Restore Zone');
      await send({ type: 'zoneRestore', zone }, `Zone ${zone} is back.`);
    }),
    commands.register(CommandId.repushImageTags, () => send({ type: 'advanceImageTags' }, 'The moving image tags now point at a newer build, as an upstream re-push would do.')),
    commands.register(CommandId.enableDockerVolumes, () => send({ type: 'dockerVolumes', enabled: true, datacenter: 'dc1' }, 'Docker volumes are enabled on the dc1 clients.')),
  ];
}
