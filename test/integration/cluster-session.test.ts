/**
 * The attendee's connection to their cluster as plain modules (src/clusterSession), with a real
 * lab cluster behind a real SSH bastion: it connects by itself once the environment is ready,
 * reconnects after a cut, keeps one subscription working across reconnects and rebuilt stacks,
 * honours Disconnect, refuses a wrong host key, and is torn down on sign-out. And the labs read
 * the cluster through it: on a stack with ACLs a check sends the token and is logged.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import * as path from 'node:path';
import type { PublicEnvironment } from '../../src/attendee';
import { NomadClient, type ClusterChange } from '../../src/cluster';
import { ClusterConnection, NotConnectedError, type ConnectionState } from '../../src/clusterSession';
import { Emitter, nextEvent } from '../../src/common/events';
import { silentLogger } from '../../src/common/logger';
import { LabSession, loadLabs } from '../../src/labs';
import { generateKeyPair } from '../../src/organizer/providers/keys';
import { startLabStack, recordingLog, type LabStack } from '../fixtures/labStack';
import { Relay } from './tunnel-relay';

const root = path.resolve(__dirname, '..', '..');
const fastTunnel = { backoff: { initialMs: 50, maxMs: 200, jitter: 0 }, keepaliveInterval: 500, readyTimeout: 5_000 };

/** A connection following an environment the test sets, as the extension follows its watcher. */
function follow(stack: LabStack, log = silentLogger) {
  let env: PublicEnvironment | undefined;
  const changed = new Emitter<void>();
  const connection = new ClusterConnection({
    environment: () => env,
    onDidChangeEnvironment: changed.event,
    privateKey: async (stackId) => (stackId === env?.stackId ? stack.privateKey : undefined),
    log,
    session: { tunnel: fastTunnel },
  });
  const states: ConnectionState[] = [connection.state];
  connection.onDidChange(() => {
    if (states.at(-1) !== connection.state) states.push(connection.state);
  });
  return {
    connection,
    states,
    set(next: PublicEnvironment | undefined) {
      env = next;
      changed.fire();
    },
    until(state: ConnectionState, live = state === 'connected'): Promise<void> {
      const ok = () => connection.state === state && (!live || !!connection.session);
      if (ok()) return Promise.resolve();
      return nextEvent(connection.onDidChange, ok).then(() => undefined);
    },
  };
}

describe('the cluster connection, as a plain module', () => {
  test('connects by itself when the stack is ready; one subscription keeps working across a reconnect and a rebuilt stack; sign-out tears it down', async (t) => {
    const stack = await startLabStack({ name: 'session-life' });
    t.after(() => stack.close());
    // The network between the attendee and the bastion, which the test can cut.
    const relay = new Relay(stack.environment.connection.bastion.port);
    await relay.start();
    t.after(() => relay.stop());
    const environment = { ...stack.environment, connection: { ...stack.environment.connection, bastion: { ...stack.environment.connection.bastion, port: relay.port } } };
    const f = follow(stack);
    t.after(() => f.connection.dispose());
    await f.connection.start();
    assert.equal(f.connection.state, 'idle');
    assert.throws(() => f.connection.require(), (e: Error) => e instanceof NotConnectedError && e.state === 'idle' && /stack is not ready/.test(e.message));

    // The one subscription a view makes, for the whole test.
    const changes: ClusterChange[] = [];
    f.connection.onDidChangeCluster((c) => changes.push(c));

    f.set({ ...environment, status: 'provisioning', connection: null });
    await f.connection.start();
    assert.equal(f.connection.state, 'idle', 'a stack being built is not connected to');

    f.set(environment);
    await f.until('connected');
    const session = f.connection.require();
    await session.model.waitFor((m) => m.getServers().length === 3, 'three servers');
    assert.ok(changes.length > 0, 'cluster changes reach the subscriber');
    assert.match(session.nomadAddr ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(Object.keys(session.terminalEnvironment()).sort(), ['CONSUL_HTTP_ADDR', 'NOMAD_ADDR']);

    // The network drops: the tunnel reconnects, and the same subscriber hears of the cluster again.
    const reconnecting = f.until('reconnecting', false);
    relay.cut();
    await reconnecting;
    await f.until('connected');
    assert.equal(f.connection.session, session, 'the same session: a reconnect is not a new stack');
    const before = changes.length;
    await session.labFault({ type: 'nodeDown', node: 'nomad-client-b-1' });
    await session.model.waitFor((m) => m.getNodes().some((n) => n.name === 'nomad-client-b-1' && n.status === 'down'), 'the node down after the reconnect');
    assert.ok(changes.length > before);

    // The stack is re-provisioned: a new bastion host key is a new session; the subscriber stays.
    const rebuilt = { ...environment, stackId: `${environment.stackId}-2` };
    f.set(rebuilt);
    await nextEvent(f.connection.onDidChange, () => !!f.connection.session && f.connection.session !== session);
    await f.until('connected');
    const second = f.connection.require();
    assert.notEqual(second, session);
    assert.equal(session.tunnel.state, 'disconnected', 'the old session was torn down');
    const afterRebuild = changes.length;
    await second.model.waitFor(() => changes.length > afterRebuild, 'changes from the new session');

    // Sign-out: no environment, no session.
    f.set(undefined);
    await f.until('idle', false);
    assert.equal(f.connection.session, undefined);
    assert.equal(second.tunnel.state, 'disconnected');
    assert.deepEqual(f.states.slice(0, 5), ['idle', 'connecting', 'connected', 'reconnecting', 'connected']);
  });

  test('Disconnect stays disconnected until Connect; a refused host key fails and says so', async (t) => {
    const stack = await startLabStack({ name: 'session-disconnect' });
    t.after(() => stack.close());
    const f = follow(stack);
    t.after(() => f.connection.dispose());
    f.set(stack.environment);
    await f.until('connected');

    await f.connection.disconnect();
    assert.equal(f.connection.state, 'disconnected');
    assert.throws(() => f.connection.require(), (e: Error) => e instanceof NotConnectedError && e.state === 'disconnected');
    f.set({ ...stack.environment }); // an environment refresh does not undo the attendee's Disconnect
    await f.connection.start();
    assert.equal(f.connection.state, 'disconnected');
    await f.connection.connect();
    await f.until('connected');

    // A bastion whose host key is not the pinned one: failed, with the reason, and nothing forwarded.
    const stranger = generateKeyPair('stranger');
    const failed = nextEvent(f.connection.onDidFail);
    f.set({ ...stack.environment, stackId: 'stk-other', connection: { ...stack.environment.connection, bastion: { ...stack.environment.connection.bastion, hostKeyFingerprint: stranger.fingerprint, hostPublicKey: stranger.publicKey } } });
    const error = await failed;
    assert.equal(error.kind, 'host-key-mismatch');
    await f.until('failed', false);
    assert.throws(() => f.connection.require(), (e: Error) => e instanceof NotConnectedError && e.state === 'failed' && /host key/i.test(e.message));
  });
});

test('on a stack with ACLs a lab check goes through the shared session: the token is sent and the request logged', async (t) => {
  const token = 'lab-acl-token-0123456789abcdef';
  const stack = await startLabStack({ name: 'session-acl', nomadAclToken: token });
  t.after(() => stack.close());
  const log = recordingLog();
  const f = follow(stack, log);
  t.after(() => f.connection.dispose());
  f.set(stack.environment);
  await f.until('connected');
  const session = f.connection.require();

  // The stack really refuses a request without the token, through the same tunnel.
  const anonymous = new NomadClient({ baseUrl: 'http://nomad', agent: session.tunnel.createAgent('nomad') });
  await assert.rejects(anonymous.job('inventory'), /403/);

  const workspace = path.join(stack.dir, 'workspace');
  cpSync(path.join(root, 'jobs'), path.join(workspace, 'jobs'), { recursive: true });
  const { labs } = await loadLabs({ dir: path.join(root, 'labs'), workspaceRoot: root });
  const labs1 = new LabSession({
    labs,
    reader: () => f.connection.session?.labReader(workspace),
    connected: () => f.connection.state === 'connected',
    onDidChangeCluster: f.connection.onDidChangeCluster,
    save: async () => undefined,
    autoCheckDelayMs: 60_000,
  });
  t.after(() => labs1.dispose());
  await labs1.controller.start('connect-and-explore');
  const first = await labs1.check('connect-and-explore');
  assert.equal(first.result.ok, false);
  assert.match(first.result.summary, /not registered/, `a lab reason, not a refusal: ${first.result.summary}`);
  assert.doesNotMatch([first.result.summary, ...first.result.details].join('\n'), /403|Permission denied|could not check/);

  const step = labs.find((l) => l.id === 'connect-and-explore')!.steps[0]!;
  for (const action of step.apply) await session.solutionApplier(workspace).apply(action);
  const passed = await waitFor(() => labs1.check('connect-and-explore', step.id), (r) => r.result.ok);
  assert.equal(passed.result.ok, true, passed.result.summary);
  assert.ok(log.lines.some((l) => /^debug Nomad GET \/v1\/job\/inventory 200 \d+ ms$/.test(l)), `the lab's reads are logged like every other call:\n${log.lines.slice(-20).join('\n')}`);
  assert.ok(log.lines.every((l) => !l.includes(token)), 'the token itself is never logged');
});

async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
