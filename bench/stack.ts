/** A lab cluster behind a real bastion and TunnelManager, with the ClusterModel riding the tunnel. */
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterModel, ConsulClient, NomadClient } from '../src/cluster';
import { findSshd, startBastion, type BastionKind } from '../src/organizer/providers/bastion';
import { generateStackKeys } from '../src/organizer/providers/keys';
import type { StackKeys } from '../src/organizer/providers/types';
import { TunnelManager } from '../src/tunnel';
import type { BenchContext } from './lib';

export const bastionKinds = (): BastionKind[] => (findSshd() ? ['ssh2', 'openssh'] : ['ssh2']);

export interface Tunnelled {
  keys: StackKeys;
  bastionPort: number;
  tunnel: TunnelManager;
}

/** Starts a bastion permitting `targets` and a connected TunnelManager to it (nomad → first, consul → second). */
export async function tunnelTo(ctx: BenchContext, kind: BastionKind, nomad: { host: string; port: number }, consul: { host: string; port: number }): Promise<Tunnelled> {
  const keys = generateStackKeys();
  const user = os.userInfo().username;
  const bastion = await startBastion({
    kind,
    host: '127.0.0.1',
    port: 0,
    hostPrivateKey: keys.hostPrivateKey,
    authorizedPublicKey: keys.attendeePublicKey,
    user,
    permit: [nomad, consul],
    dir: path.join(ctx.tempDir(`bastion-${kind}`), 'bastion'),
  });
  ctx.defer(() => bastion.close());
  const tunnel = new TunnelManager({
    bastion: { host: '127.0.0.1', port: bastion.port, user, hostKeyFingerprint: keys.hostKeyFingerprint },
    privateKey: keys.attendeePrivateKey,
    targets: { nomad, consul },
  });
  ctx.defer(() => tunnel.dispose());
  await tunnel.connect();
  return { keys, bastionPort: bastion.port, tunnel };
}

export async function modelThrough(ctx: BenchContext, tunnel: TunnelManager): Promise<ClusterModel> {
  const model = new ClusterModel({
    nomad: new NomadClient({ baseUrl: 'http://nomad', agent: tunnel.createAgent('nomad') }),
    consul: new ConsulClient({ baseUrl: 'http://consul', agent: tunnel.createAgent('consul') }),
    connection: tunnel,
  });
  ctx.defer(() => model.dispose());
  model.start();
  await model.waitFor((m) => m.nomadStatus.state === 'ready' && m.consulStatus.state === 'ready', 'the model to load', 30_000);
  return model;
}
