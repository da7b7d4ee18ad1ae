/**
 * What runs inside one local stack's process (`node dist/stack.js --dir <stackDir>`): the
 * cluster (the lab cluster in-process, or real `nomad`/`consul -dev` agents when installed)
 * and the bastion that forwards to it. The local provider writes `stack.json` and the keys
 * into the folder, starts the process detached, and waits for `state.json`, which is written
 * once everything listens and removed again on a clean stop.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startLabCluster } from '../../labcluster';
import { startBastion, type Bastion } from './bastion';
import { findAgentBinaries, startDevAgents } from './devAgents';
import { BASTION_DIR, readStackConfig, type StackState } from './stackFiles';

export * from './stackFiles';

export interface RunningStack {
  state: StackState;
  close(): Promise<void>;
}

export async function runStack(dir: string, log: (line: string) => void): Promise<RunningStack> {
  const config = readStackConfig(dir);
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((err: Error) => log(`error while stopping: ${err.message}`));
    }
  };
  try {
    let backend: 'lab' | 'agents' = 'lab';
    let nomadPort: number;
    let consulPort: number;
    const binaries = config.backend === 'lab' ? null : findAgentBinaries();
    if (config.backend === 'agents' && !binaries) throw new Error('backend "agents" needs both nomad and consul on PATH');
    if (binaries) {
      backend = 'agents';
      const agents = await startDevAgents({ binaries, dir, name: config.name, host: config.host, log });
      closers.push(() => agents.close());
      nomadPort = agents.nomadPort;
      consulPort = agents.consulPort;
    } else {
      const cluster = await startLabCluster({
        host: config.host,
        nomadPort: 0,
        consulPort: 0,
        topology: config.topology,
        name: config.name,
      });
      closers.push(() => cluster.close());
      nomadPort = cluster.nomadPort;
      consulPort = cluster.consulPort;
    }
    log(`${backend === 'lab' ? 'lab cluster' : 'dev agents'}: nomad on ${config.host}:${nomadPort}, consul on ${config.host}:${consulPort}`);

    const bastion: Bastion = await startBastion({
      kind: config.bastion.kind,
      host: config.host,
      port: 0,
      hostPrivateKey: fs.readFileSync(path.join(dir, config.bastion.hostKeyFile), 'utf8'),
      authorizedPublicKey: fs.readFileSync(path.join(dir, config.bastion.authorizedKeyFile), 'utf8'),
      user: config.bastion.user,
      permit: [
        { host: config.host, port: nomadPort },
        { host: config.host, port: consulPort },
      ],
      dir: path.join(dir, BASTION_DIR),
      log,
    });
    closers.push(() => bastion.close());

    const state: StackState = {
      pid: process.pid,
      backend,
      nomadPort,
      consulPort,
      bastionPort: bastion.port,
      bastionKind: bastion.kind,
      bastionUser: config.bastion.user,
      bastionPid: bastion.pid ?? null,
      startedAt: new Date().toISOString(),
    };
    return { state, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
