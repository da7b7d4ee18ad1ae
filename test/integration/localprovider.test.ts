/**
 * The local provider with real stacks: each is a detached `stack` process running the lab
 * cluster and a bastion (OpenSSH sshd and the ssh2 bastion). Nomad and Consul answer through
 * the bastion with the attendee key and the pinned host key; check() tells alive from lost
 * (also from a fresh provider, as after an organizer restart); destroy() leaves no process and
 * no folder; failures at start report the stack's log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findSshd, isAlive, waitForExit, type BastionKind } from '../../src/organizer/providers/bastion';
import { httpGetThroughBastion } from '../../src/organizer/providers/bastion/probe';
import { generateStackKeys } from '../../src/organizer/providers/keys';
import { LocalProvider, localStackNeeds, stackProgram, stackProcessesOf, type LocalHandle } from '../../src/organizer/providers/local';
import type { ProvisionedStack, StackKeys, StackSpec } from '../../src/organizer/providers/types';
import { listeningPortsOf, processesUnder } from './procfs';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-local-'));
const topology = { servers: 3, clientsPerZone: 3, zones: ['europe-west1-b', 'europe-west1-c'] };
let counter = 0;

function newSpec(): StackSpec {
  const id = `stk_t${++counter}`;
  return { stackId: id, workshopName: 'ws', attendeeId: `att_${counter}`, name: `ws-t${counter}`, topology, dataDir: path.join(root, 'stacks', id) };
}


const provisioned: { provider: LocalProvider; spec: StackSpec; handle: Record<string, unknown> | null }[] = [];

after(async () => {
  for (const p of provisioned) await p.provider.destroy(p.spec, p.handle, () => undefined).catch(() => undefined);
  fs.rmSync(root, { recursive: true, force: true });
});

async function provision(provider: LocalProvider, spec: StackSpec, keys: StackKeys, progress: string[] = []): Promise<ProvisionedStack> {
  const entry = { provider, spec, handle: null as Record<string, unknown> | null };
  provisioned.push(entry);
  const stack = await provider.provision(spec, keys, (m) => progress.push(m));
  entry.handle = stack.handle;
  return stack;
}

const kinds: BastionKind[] = ['openssh', 'ssh2'];

for (const kind of kinds) {
  describe(`a local stack behind the ${kind} bastion`, { skip: kind === 'openssh' && !findSshd() ? 'OpenSSH sshd is not installed' : false }, () => {
    const provider = new LocalProvider({ dataDir: root, bastionKind: kind });
    const spec = newSpec();
    const keys = generateStackKeys();
    const progress: string[] = [];
    let stack: ProvisionedStack;
    let handle: LocalHandle;

    before(async () => {
      stack = await provision(provider, spec, keys, progress);
      handle = stack.handle as unknown as LocalHandle;
    });

    test('provision returns the connection details of the stack', () => {
      assert.deepEqual(
        { ...stack.bastion, port: 0 },
        { host: '127.0.0.1', port: 0, user: os.userInfo().username, hostKeyFingerprint: keys.hostKeyFingerprint, hostPublicKey: keys.hostPublicKey },
      );
      assert.ok(stack.bastion.port > 0);
      assert.equal(stack.attendeePrivateKey, keys.attendeePrivateKey);
      assert.equal(stack.nomad.host, '127.0.0.1');
      assert.equal(stack.consul.host, '127.0.0.1');
      assert.notEqual(stack.nomad.port, stack.consul.port);
      assert.equal(stack.region, 'global');
      assert.deepEqual(stack.datacenters, ['sys1', 'dc1']);
      assert.deepEqual(stack.zones, topology.zones);
      assert.deepEqual(stack.dns, { internal: `${spec.name}.internal`, external: null });
      assert.equal(stack.nomadToken, null);
      assert.equal(handle.bastionKind, kind);
      assert.equal(handle.dir, spec.dataDir);
      assert.equal(handle.backend, 'lab');
      assert.ok(isAlive(handle.pid));
      assert.ok(progress.some((m) => /Starting the stack process/.test(m)));
      assert.ok(progress.some((m) => /Stack is up/.test(m)));
      // The handle survives the organizer's JSON round trip.
      assert.deepEqual(JSON.parse(JSON.stringify(stack.handle)), stack.handle);
    });

    test('keys and config in the stack folder are readable by the owner only', () => {
      for (const f of ['bastion_host_ed25519_key', 'attendee_ed25519.pub', 'stack.json']) {
        assert.equal(fs.statSync(path.join(spec.dataDir, f)).mode & 0o777, 0o600, f);
      }
      assert.ok(!fs.readFileSync(path.join(spec.dataDir, 'stack.json'), 'utf8').includes('PRIVATE KEY'), 'no key inside stack.json');
    });

    test("Nomad and Consul answer through the bastion, which shows the pinned host key", async () => {
      for (const target of [stack.nomad, stack.consul]) {
        const res = await httpGetThroughBastion({
          bastion: stack.bastion,
          privateKey: stack.attendeePrivateKey,
          target,
          path: '/v1/status/leader',
        });
        assert.equal(res.status, 200, `${target.host}:${target.port}`);
        assert.equal(res.seenFingerprint, stack.bastion.hostKeyFingerprint);
      }
    });

    test('the bastion forwards to nothing else', async () => {
      await assert.rejects(
        httpGetThroughBastion({ bastion: stack.bastion, privateKey: stack.attendeePrivateKey, target: { host: '127.0.0.1', port: 22 }, path: '/' }),
        (err: Error & { reason?: number }) => err.reason === 1,
      );
    });

    test('check() says alive, also from a new provider given only the stored handle (an organizer restart)', async () => {
      assert.equal(await provider.check(spec, stack.handle), 'alive');
      const restarted = new LocalProvider({ dataDir: root });
      assert.equal(await restarted.check(spec, JSON.parse(JSON.stringify(stack.handle)) as Record<string, unknown>), 'alive');
    });

    test('a killed stack process is reported lost, and destroy() leaves no process and no folder', async () => {
      process.kill(handle.pid, 'SIGKILL');
      assert.ok(await waitForExit(handle.pid, 10_000));
      assert.equal(await provider.check(spec, stack.handle), 'lost');
      await provider.destroy(spec, stack.handle, () => undefined);
      assert.deepEqual(processesUnder(spec.dataDir), []);
      if (handle.bastionPid) assert.equal(isAlive(handle.bastionPid), false, 'sshd is stopped too');
      assert.equal(fs.existsSync(spec.dataDir), false);
      // Destroying again is harmless.
      await provider.destroy(spec, stack.handle, () => undefined);
    });
  });
}

describe('stopping local stacks', () => {
  const provider = new LocalProvider({ dataDir: root });

  test('destroy() stops a running stack with SIGTERM; it removes its state file on the way out', async () => {
    const spec = newSpec();
    const stack = await provision(provider, spec, generateStackKeys());
    const pid = (stack.handle as unknown as LocalHandle).pid;
    const progress: string[] = [];
    await provider.destroy(spec, stack.handle, (m) => progress.push(m));
    assert.equal(isAlive(pid), false);
    assert.deepEqual(processesUnder(spec.dataDir), []);
    assert.equal(fs.existsSync(spec.dataDir), false);
    assert.ok(progress.some((m) => /Stopping the stack process/.test(m)));
    assert.equal(await provider.check(spec, stack.handle), 'lost');
  });

  test('SIGTERM alone stops the stack cleanly and removes state.json', async () => {
    const spec = newSpec();
    const stack = await provision(provider, spec, generateStackKeys());
    const h = stack.handle as unknown as LocalHandle;
    process.kill(h.pid, 'SIGTERM');
    assert.ok(await waitForExit(h.pid, 15_000));
    assert.equal(fs.existsSync(path.join(spec.dataDir, 'state.json')), false);
    assert.deepEqual(processesUnder(spec.dataDir), []);
    assert.match(fs.readFileSync(path.join(spec.dataDir, 'stack.log'), 'utf8'), /stopping: SIGTERM[\s\S]*stopped/);
    await provider.destroy(spec, stack.handle, () => undefined);
  });

  test('a stack whose folder is removed stops by itself', async () => {
    const spec = newSpec();
    const stack = await provision(provider, spec, generateStackKeys());
    const h = stack.handle as unknown as LocalHandle;
    fs.rmSync(spec.dataDir, { recursive: true, force: true });
    assert.ok(await waitForExit(h.pid, 15_000), 'the stack process exits');
    if (h.bastionPid) assert.ok(await waitForExit(h.bastionPid, 5000), 'its sshd too');
  });

  test('destroy() does not signal a process that merely reuses the pid', async () => {
    const spec = newSpec();
    fs.mkdirSync(spec.dataDir, { recursive: true });
    // Our own pid stands in for an unrelated process: it is alive but is not this stack's process.
    await provider.destroy(spec, { pid: process.pid, dir: spec.dataDir }, () => undefined);
    assert.equal(fs.existsSync(spec.dataDir), false);
  });
});

describe('provisioning failures', () => {
  const provider = new LocalProvider({ dataDir: root, bastionKind: 'ssh2' });

  test('a stack that dies at start fails provision with the end of its log, and leaves no process', async () => {
    const spec = newSpec();
    const keys = { ...generateStackKeys(), hostPrivateKey: 'not a key' };
    await assert.rejects(provision(provider, spec, keys), (err: Error) => {
      assert.match(err.message, /The stack process exited \(code 1\) before it was ready/);
      assert.match(err.message, /host private key/);
      return true;
    });
    assert.deepEqual(processesUnder(spec.dataDir), []);
  });

  test('an aborted provision stops the stack process it started', async () => {
    const spec = newSpec();
    const controller = new AbortController();
    const started = provider.provision(spec, generateStackKeys(), (m) => {
      if (/Starting the stack process/.test(m)) controller.abort(new Error('destroy requested'));
    }, controller.signal);
    provisioned.push({ provider, spec, handle: null });
    await assert.rejects(started, /destroy requested/);
    assert.deepEqual(processesUnder(spec.dataDir), []);
  });
});

describe('an organizer killed while it starts a stack', () => {
  test('destroy() finds the stack process by its folder when no state file or handle names it yet', async () => {
    const spec = newSpec();
    const keys = generateStackKeys();
    provisioned.push({ provider: new LocalProvider({ dataDir: root, bastionKind: 'ssh2' }), spec, handle: null });
    // A stand-in organizer: it starts provisioning and is SIGKILLed right after the stack process is spawned.
    const script = `
      const { LocalProvider } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'src', 'organizer', 'providers', 'local.ts'))});
      const [spec, keys] = JSON.parse(process.argv[1]);
      new LocalProvider({ dataDir: ${JSON.stringify(root)}, bastionKind: 'ssh2' }).provision(spec, keys, (m) => {
        // Spawning follows this progress report in the same turn; die before anything else runs.
        if (/Starting the stack process/.test(m)) setImmediate(() => process.kill(process.pid, 'SIGKILL'));
      });
    `;
    const organizer = spawn(process.execPath, ['--import', 'tsx', '-e', script, JSON.stringify([spec, keys])], { stdio: 'inherit' });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => organizer.once('exit', (_code, sig) => resolve(sig)));
    assert.equal(signal, 'SIGKILL');
    const orphans = stackProcessesOf(spec.dataDir);
    assert.equal(orphans.length, 1, 'the stack process outlived its organizer');
    assert.equal(fs.existsSync(path.join(spec.dataDir, 'state.json')), false, 'killed before the stack wrote its state file');

    // A restarted organizer knows only the folder: no handle, no state file.
    await new LocalProvider({ dataDir: root }).destroy(spec, null, () => undefined);
    assert.deepEqual(processesUnder(spec.dataDir), []);
    assert.equal(isAlive(orphans[0]), false);
    assert.equal(fs.existsSync(spec.dataDir), false);
  });
});

describe('pre-flight of local stacks', () => {
  test('counts the processes and ports a stack really starts, and checks them against this machine', async () => {
    const provider = new LocalProvider({ dataDir: root, bastionKind: 'ssh2', backend: 'lab' });
    const estimate = await provider.preflight(topology, 20);
    const byName = new Map(estimate.resources.map((r) => [r.name, r]));
    assert.deepEqual(byName.get('Processes'), { name: 'Processes', unit: null, perStack: 1, total: 20 });
    assert.deepEqual(byName.get('Ports'), { name: 'Ports', unit: 'loopback TCP', perStack: 3, total: 60 });
    assert.equal(byName.get('Memory')?.total, 20 * byName.get('Memory')!.perStack);
    assert.deepEqual(localStackNeeds('openssh', false).processes, 2, 'an OpenSSH bastion adds its sshd');

    // What the estimate says is what a stack starts: its processes and listening ports.
    const spec = newSpec();
    const stack = await provision(provider, spec, generateStackKeys());
    const pids = processesUnder(spec.dataDir);
    assert.equal(pids.length, byName.get('Processes')!.perStack);
    assert.equal(listeningPortsOf(pids).length, byName.get('Ports')!.perStack);
    assert.ok(listeningPortsOf(pids).includes(stack.bastion.port));

    // This machine's quotas are read, each with its scope.
    const metrics = estimate.quotas.map((q) => `${q.metric} / ${q.scope}`);
    for (const m of ['Memory (MiB) / this machine', 'Ephemeral ports / this machine (ip_local_port_range)', 'Open files / each stack process (ulimit -n)']) {
      assert.ok(metrics.includes(m), `${m} in ${metrics.join(', ')}`);
    }
    for (const q of estimate.quotas) assert.equal(q.ok, q.needed <= q.limit - q.usage, JSON.stringify(q));
    assert.deepEqual(estimate.problems, []);

    // Far more stacks than this machine has memory or ports for are refused with the reason.
    const huge = await provider.preflight(topology, 1_000_000);
    assert.ok(huge.problems.some((p) => /^Memory \(MiB\) \(this machine\): 1000000 stacks need \d+, but only \d+ of \d+ are free\.$/.test(p)), huge.problems.join('\n'));
    assert.ok(huge.problems.some((p) => /^Ephemeral ports/.test(p)));
  });
});

describe('the stack program', () => {
  const program = stackProgram();
  const run = (args: string[]) => spawnSync(program.command, [...program.args, ...args], { cwd: program.cwd, encoding: 'utf8', timeout: 30_000 });

  test('without --dir it says how to call it', () => {
    const r = run([]);
    assert.equal(r.status, 64);
    assert.match(r.stderr, /Usage: node dist\/stack\.js --dir/);
  });

  test('a folder without stack.json fails with the file it wanted', () => {
    const dir = path.join(root, 'empty');
    fs.mkdirSync(dir, { recursive: true });
    const r = run(['--dir', dir]);
    assert.equal(r.status, 1);
    assert.ok(r.stdout.includes(`cannot read ${path.join(dir, 'stack.json')}`), r.stdout);
  });
});
