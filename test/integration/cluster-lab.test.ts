/**
 * The whole attendee path against the lab cluster, through real SSH to both bastion kinds:
 * tunnel → HTTP agent → Nomad/Consul clients → ClusterModel. A job parsed, validated,
 * planned and run through the tunnel shows its allocations in the model as the lab places
 * them; logs stream; stopping the job shows; after the SSH connection is cut, the model
 * catches up on the same local ports.
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
import { Relay } from './tunnel-relay';

const USER = os.userInfo().username;

interface LabCluster {
  nomadUrl: string;
  nomadPort: number;
  consulPort: number;
  close(): Promise<void>;
}
type StartLabCluster = (opts: { host?: string; nomadPort?: number; consulPort?: number }) => Promise<LabCluster>;

const labIndex = path.join(__dirname, '..', '..', 'src', 'labcluster', 'index.ts');
const labMissing = fs.existsSync(labIndex) ? false : 'the lab cluster (src/labcluster) is not built yet';

const HELLO_JOB = `job "hello" {
  datacenters = ["dc1"]
  type        = "service"

  group "web" {
    count = 2

    task "echo" {
      driver = "docker"

      config {
        image = "hashicorp/http-echo:1.0.0"
        args  = ["-text", "hello"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;

for (const kind of ['openssh', 'ssh2'] as BastionKind[]) {
  const skip = labMissing || (kind === 'openssh' && !findSshd() ? 'OpenSSH sshd is not installed' : false);

  describe(`lab cluster through the ${kind} bastion`, { skip }, () => {
    let dir: string;
    let lab: LabCluster;
    let bastion: Bastion;
    let relay: Relay;
    let tunnel: TunnelManager;
    let nomad: NomadClient;
    let model: ClusterModel;
    /** Set while src/labcluster is only a placeholder that does not answer the Nomad API yet. */
    let notServing: string | false = false;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `ok-cluster-lab-${kind}-`));
      const { startLabCluster } = (await import(labIndex)) as { startLabCluster: StartLabCluster };
      lab = await startLabCluster({ host: '127.0.0.1', nomadPort: 0, consulPort: 0 });
      const probe = await fetch(`${lab.nomadUrl}/v1/status/leader`);
      if (probe.status === 404) {
        notServing = 'the lab cluster does not serve the Nomad API yet';
        return;
      }
      const hostKey = generateKeyPair('host');
      const attendee = generateKeyPair('attendee');
      bastion = await startBastion({
        kind,
        host: '127.0.0.1',
        port: 0,
        hostPrivateKey: hostKey.privateKey,
        authorizedPublicKey: attendee.publicKey,
        user: USER,
        permit: [
          { host: '127.0.0.1', port: lab.nomadPort },
          { host: '127.0.0.1', port: lab.consulPort },
        ],
        dir: path.join(dir, 'bastion'),
      });
      relay = new Relay(bastion.port);
      await relay.start();
      tunnel = new TunnelManager({
        bastion: { host: '127.0.0.1', port: relay.port, user: USER, hostKeyFingerprint: hostKey.fingerprint },
        privateKey: attendee.privateKey,
        targets: { nomad: { host: '127.0.0.1', port: lab.nomadPort }, consul: { host: '127.0.0.1', port: lab.consulPort } },
        keepaliveInterval: 1000,
        backoff: { initialMs: 20, maxMs: 200 },
      });
      await tunnel.connect();
      nomad = new NomadClient({ baseUrl: 'http://127.0.0.1:4646', agent: tunnel.createAgent('nomad') });
      model = new ClusterModel({
        nomad,
        consul: new ConsulClient({ baseUrl: 'http://127.0.0.1:8500', agent: tunnel.createAgent('consul') }),
        connection: tunnel,
        backoff: { initialMs: 20, maxMs: 200 },
        waitSeconds: 60,
      });
      model.start();
    });

    /** The lab's fault-injection API, straight to the lab (it is not part of what attendees reach). */
    async function labAdmin(method: string, urlPath: string, body?: unknown): Promise<void> {
      const res = await fetch(`${lab.nomadUrl}${urlPath}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      assert.equal(res.status, 200, `${method} ${urlPath}: ${await res.text()}`);
    }

    after(async () => {
      await model?.dispose();
      await tunnel?.dispose();
      await relay?.stop();
      await bastion?.close();
      await lab?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('shows the servers, the clients by datacenter and zone, and Consul honestly', async (t) => {
      if (notServing) return t.skip(notServing);
      await model.waitFor((m) => m.nomadStatus.state === 'ready', 'the model to load');
      const servers = model.getServers();
      assert.ok(servers.length >= 1, 'at least one Nomad server');
      assert.equal(servers.filter((s) => s.leader).length, 1, 'exactly one leader');
      assert.ok(servers.every((s) => s.raftPeer), 'every server is a raft peer');
      assert.ok(model.getDatacenters().some((d) => d.datacenter === 'dc1'), 'clients in dc1');
      await model.waitFor((m) => m.getNodes().every((n) => n.datacenter !== 'dc1' || n.zone !== undefined), 'zones of the dc1 clients');
      const dcs = model.getDatacenters();
      assert.ok(dcs.find((d) => d.datacenter === 'dc1')!.zones.length >= 2, 'dc1 spreads over zones');
      t.diagnostic(`datacenters: ${dcs.map((d) => `${d.datacenter}[${d.zones.map((z) => `${z.zone || '-'}:${z.nodes.length}`).join(' ')}]`).join(', ')}`);
      await model.waitFor((m) => m.consulStatus.state !== 'loading', 'a Consul state');
      t.diagnostic(`consul: ${JSON.stringify(model.consulStatus)}`);
      assert.ok(['ready', 'not-running'].includes(model.consulStatus.state), `Consul is ready or honestly not running: ${JSON.stringify(model.consulStatus)}`);
    });

    test('a job run through the tunnel shows its allocations as the lab places them', async (t) => {
      if (notServing) return t.skip(notServing);
      const job = await nomad.parseJob(HELLO_JOB);
      assert.equal(job.ID, 'hello');
      const validation = await nomad.validateJob(job);
      assert.deepEqual(validation.ValidationErrors ?? [], []);
      const plan = await nomad.planJob(job);
      assert.equal(plan.Annotations?.DesiredTGUpdates?.['web']?.Place, 2);
      assert.ok(!plan.FailedTGAllocs || Object.keys(plan.FailedTGAllocs).length === 0, 'the plan places everything');

      const registered = await nomad.registerJob(job);
      const registeredAt = Date.now();
      assert.ok(registered.EvalID);
      await model.waitFor((m) => m.getAllocations('default/hello').length === 2, 'two allocations of hello');
      t.diagnostic(`allocations in the model ${Date.now() - registeredAt} ms after the register call returned`);
      await model.waitFor((m) => m.getAllocations('default/hello').every((a) => a.clientStatus === 'running'), 'both running');
      const allocs = model.getAllocations('default/hello', 'web');
      for (const a of allocs) {
        assert.ok(a.nodeName, 'placed on a named node');
        assert.ok(a.createTime > 0);
      }
      const jobInfo = model.getJob('default/hello')!;
      assert.deepEqual(jobInfo.taskGroups, ['web']);
      assert.equal(jobInfo.allocations.running, 2);
      const nodeCounts = model.getNodes().reduce((sum, n) => sum + n.allocations.running, 0);
      assert.ok(nodeCounts >= 2, 'node allocation counts include them');

      const logs = await nomad.logs(allocs[0]!.id, { task: 'echo', type: 'stderr' });
      let text = '';
      for await (const chunk of logs) text += chunk.toString();
      t.diagnostic(`stderr: ${JSON.stringify(text.slice(0, 120))}`);
      assert.match(text, /listening/);
    });

    test('stopping the job shows in the model', async (t) => {
      if (notServing) return t.skip(notServing);
      await nomad.stopJob('hello');
      await model.waitFor((m) => m.getJob('default/hello')?.stop === true, 'the job marked stopped');
      await model.waitFor((m) => m.getAllocations('default/hello').every((a) => a.desiredStatus === 'stop'), 'allocations told to stop');
    });

    test('running the Consul system job brings the Consul section to life', async (t) => {
      if (notServing) return t.skip(notServing);
      const hcl = fs.readFileSync(path.join(__dirname, '..', '..', 'jobs', 'consul.nomad.hcl'), 'utf8');
      const job = await nomad.parseJob(hcl);
      await nomad.registerJob(job);
      await model.waitFor((m) => m.getJob('default/consul')?.type === 'system', 'the consul system job');
      await model.waitFor((m) => m.consulStatus.state === 'ready' && m.getConsulMembers().some((c) => c.role === 'server'), 'Consul to be up', 20_000);
      const members = model.getConsulMembers();
      t.diagnostic(`consul members: ${members.map((c) => `${c.name}(${c.role},${c.status}${c.leader ? ',leader' : ''})`).join(' ')}`);
      assert.equal(members.filter((c) => c.leader).length, 1, 'one Consul leader');
      const services = model.getConsulServices();
      t.diagnostic(`consul services: ${services.map((c) => `${c.name} ${c.instances} ${JSON.stringify(c.checks)}`).join('; ')}`);
      const consulService = services.find((c) => c.name === 'consul');
      assert.ok(consulService, 'the consul service is listed');
      assert.equal(consulService.instances, members.filter((c) => c.role === 'server').length, 'one consul instance per server');
    });

    test('a zone outage shows as down nodes, and the restore as ready ones', async (t) => {
      if (notServing) return t.skip(notServing);
      const zone = 'europe-west1-b';
      const inZone = () => model.getNodes().filter((n) => n.datacenter === 'dc1' && n.zone === zone);
      assert.ok(inZone().length > 0);
      await labAdmin('POST', `/_lab/zone/${zone}/outage`);
      await model.waitFor(() => inZone().every((n) => n.status === 'down'), `the nodes of ${zone} down`);
      await labAdmin('DELETE', `/_lab/zone/${zone}/outage`);
      await model.waitFor(() => inZone().every((n) => n.status === 'ready'), `the nodes of ${zone} back`);
    });

    test('server errors show as an error state, and a retry after they stop clears it', async (t) => {
      if (notServing) return t.skip(notServing);
      await labAdmin('POST', '/_lab/faults', { errorRate: 1, status: 500, target: 'nomad', pathPrefix: '/v1/jobs' });
      try {
        await model.refresh();
        await model.waitFor((m) => m.nomadStatus.state === 'error', 'the error state');
        assert.match(model.nomadStatus.error!, /^Nomad GET \/v1\/jobs: 500 lab fault injection/);
        assert.ok(model.getJobs().length > 0, 'the last known jobs stay visible');
      } finally {
        await labAdmin('DELETE', '/_lab/faults');
      }
      await model.refresh();
      await model.waitFor((m) => m.nomadStatus.state === 'ready', 'recovery');
    });

    test('after the SSH connection is cut, the model catches up on the same local ports', async (t) => {
      if (notServing) return t.skip(notServing);
      const ports = tunnel.localPorts;
      const reconnecting = new Promise<void>((resolve) => {
        const sub = tunnel.onDidChangeState((e) => {
          if (e.state !== 'reconnecting') return;
          sub.dispose();
          resolve();
        });
      });
      relay.cut();
      await reconnecting;
      await nomad.registerJob(await nomad.parseJob(HELLO_JOB.replace('job "hello"', 'job "again"')));
      await model.waitFor((m) => m.getAllocations('default/again').length === 2, 'the allocations of a job run after the cut');
      assert.equal(tunnel.state, 'connected');
      assert.deepEqual(tunnel.localPorts, ports);
    });
  });
}

describe('lab cluster with Nomad ACLs on', { skip: labMissing }, () => {
  let lab: LabCluster | undefined;
  let notServing: string | false = false;
  const models: ClusterModel[] = [];

  before(async () => {
    const { startLabCluster } = (await import(labIndex)) as { startLabCluster: (o: Record<string, unknown>) => Promise<LabCluster> };
    lab = await startLabCluster({ host: '127.0.0.1', nomadPort: 0, consulPort: 0, nomadAclToken: 'workshop-secret' });
    if ((await fetch(`${lab.nomadUrl}/v1/status/leader`)).status === 404) notServing = 'the lab cluster does not serve the Nomad API yet';
  });

  after(async () => {
    for (const m of models) await m.dispose();
    await lab?.close();
  });

  function modelWith(token?: string): ClusterModel {
    const model = new ClusterModel({ nomad: new NomadClient({ baseUrl: lab!.nomadUrl, token }), backoff: { initialMs: 20, maxMs: 200 } });
    models.push(model);
    model.start();
    return model;
  }

  test('without the token the model says why; with it, it loads', async (t) => {
    if (notServing) return t.skip(notServing);
    const anonymous = modelWith();
    await anonymous.waitFor((m) => m.nomadStatus.state === 'error', 'the ACL error');
    assert.match(anonymous.nomadStatus.error!, /403 (Permission denied|ACL token not found)/);
    const wrong = modelWith('not-it');
    await wrong.waitFor((m) => m.nomadStatus.state === 'error', 'the ACL error');
    assert.match(wrong.nomadStatus.error!, /403 ACL token not found/);
    const right = modelWith('workshop-secret');
    await right.waitFor((m) => m.nomadStatus.state === 'ready', 'the model to load with the token');
    assert.ok(right.getNodes().length > 0);
  });
});
