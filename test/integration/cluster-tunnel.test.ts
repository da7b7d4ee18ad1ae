/**
 * The cluster model fed through a real SSH tunnel (both bastion kinds) by the extension's
 * own HTTP agent: it loads, follows a new allocation live, and after the SSH connection is
 * cut it catches up on what changed meanwhile, on the same local ports.
 * (The Nomad/Consul side is the documented-shape fake of the unit tests; cluster-lab.test.ts
 * runs the same path against the lab cluster.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ClusterModel, ConsulClient, NomadClient } from '../../src/cluster';
import { findSshd, startBastion, type Bastion, type BastionKind } from '../../src/organizer/providers/bastion';
import { generateKeyPair } from '../../src/organizer/providers/keys';
import { TunnelManager } from '../../src/tunnel';
import { FakeCluster, allocation, consulCheck, consulMember, jobStub, nodeStub, uuid } from '../unit/cluster-fixture';
import { Relay } from './tunnel-relay';

const USER = os.userInfo().username;

for (const kind of ['openssh', 'ssh2'] as BastionKind[]) {
  const skip = kind === 'openssh' && !findSshd() ? 'OpenSSH sshd is not installed' : false;

  describe(`cluster model through the ${kind} bastion`, { skip }, () => {
    let dir: string;
    let fake: FakeCluster;
    let bastion: Bastion;
    let relay: Relay;
    let tunnel: TunnelManager;
    let model: ClusterModel;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `ok-cluster-tunnel-${kind}-`));
      fake = await new FakeCluster().start();
      const n1 = nodeStub(1, 'dc1');
      fake.nodes = [n1];
      fake.zones.set(n1['ID'] as string, 'europe-west1-b');
      fake.jobs = [jobStub('web', ['frontend'])];
      fake.allocs.set(uuid(1), allocation(1, 'web', 'frontend', n1));
      fake.consulMembers = [consulMember('consul-server-1', '10.0.1.5', 'consul')];
      fake.consulChecks = [consulCheck('consul-server-1', '', '', 'passing')];
      const port = Number(new URL(fake.url).port);
      const hostKey = generateKeyPair('host');
      const attendee = generateKeyPair('attendee');
      bastion = await startBastion({
        kind,
        host: '127.0.0.1',
        port: 0,
        hostPrivateKey: hostKey.privateKey,
        authorizedPublicKey: attendee.publicKey,
        user: USER,
        permit: [{ host: '127.0.0.1', port }],
        dir: path.join(dir, 'bastion'),
      });
      relay = new Relay(bastion.port);
      await relay.start();
      tunnel = new TunnelManager({
        bastion: { host: '127.0.0.1', port: relay.port, user: USER, hostKeyFingerprint: hostKey.fingerprint },
        privateKey: attendee.privateKey,
        // The fake serves Nomad at / and Consul under /consul on one port.
        targets: { nomad: { host: '127.0.0.1', port }, consul: { host: '127.0.0.1', port } },
        keepaliveInterval: 1000,
        backoff: { initialMs: 20, maxMs: 200 },
      });
      await tunnel.connect();
      model = new ClusterModel({
        nomad: new NomadClient({ baseUrl: 'http://nomad', agent: tunnel.createAgent('nomad') }),
        consul: new ConsulClient({ baseUrl: 'http://consul/consul', agent: tunnel.createAgent('consul') }),
        backoff: { initialMs: 20, maxMs: 200 },
        waitSeconds: 60,
        connection: tunnel,
      });
    });

    after(async () => {
      await model?.dispose();
      await tunnel?.dispose();
      await relay?.stop();
      await bastion?.close();
      await fake?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('loads the cluster and follows a new allocation live', async () => {
      model.start();
      await model.waitFor((m) => m.nomadStatus.state === 'ready' && m.consulStatus.state === 'ready', 'the model to load');
      assert.equal(model.getServers().find((s) => s.leader)?.name, 'srv2.global');
      assert.equal(model.getConsulMembers()[0]?.name, 'consul-server-1');
      await fake.whenStreamOpen();
      fake.upsertAllocation(allocation(2, 'web', 'frontend', fake.nodes[0]!, { ClientStatus: 'pending' }), 'AllocationCreated');
      await model.waitFor((m) => m.getAllocation(uuid(2))?.clientStatus === 'pending', 'the new allocation');
      assert.equal(model.getAllocation(uuid(2))!.zone, 'europe-west1-b');
    });

    test('after the SSH connection is cut, the model catches up on the same local ports', async () => {
      const ports = tunnel.localPorts;
      const reconnecting = new Promise<void>((resolve) => {
        const sub = tunnel.onDidChangeState((e) => {
          if (e.state !== 'reconnecting') return;
          sub.dispose();
          resolve();
        });
      });
      await relay.stop();
      await reconnecting;
      assert.equal(model.connectionStatus.state, 'reconnecting');
      assert.match(model.connectionStatus.error ?? '', /bastion/);
      // Changes made while the attendee is cut off…
      fake.allocs.set(uuid(2), { ...fake.allocs.get(uuid(2))!, ClientStatus: 'running', ModifyIndex: fake.bump() });
      fake.jobs = [...fake.jobs, jobStub('batch', ['work'], { Type: 'batch' })];
      fake.bump();
      await relay.start();
      // …show up once the tunnel is back.
      await model.waitFor((m) => m.getAllocation(uuid(2))?.clientStatus === 'running' && !!m.getJob('default/batch'), 'the model to catch up');
      assert.equal(tunnel.state, 'connected');
      assert.deepEqual(model.connectionStatus, { state: 'connected' });
      assert.deepEqual(tunnel.localPorts, ports);
      await model.waitFor((m) => m.nomadStatus.state === 'ready', 'errors to clear');
    });
  });
}
