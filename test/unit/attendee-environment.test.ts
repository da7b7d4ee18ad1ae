/**
 * The environment watcher (when it polls, and when it stops), the Environment view's nodes as
 * plain data, and the SSH command and key files behind "Copy SSH Command".
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  buildSshCommand,
  EnvironmentWatcher,
  knownHostsLine,
  removeSshFiles,
  sshFilesExist,
  sshFilesFor,
  writeSshFiles,
  type EnvironmentSnapshot,
  type PublicEnvironment,
  type StoredSession,
  type TimerApi,
} from '../../src/attendee';
import { nextEvent } from '../../src/common/events';
import type { StackStatus } from '../../src/contract';
import { SessionExpiredError } from '../../src/organizerClient';
import { environmentRoots, stateRows, type ViewNode } from '../../src/views';

/** The Environment view's rows (a state shown as its rows). */
function buildEnvironmentNodes(...args: Parameters<typeof environmentRoots>): ViewNode[] {
  const roots = environmentRoots(...args);
  return Array.isArray(roots) ? roots : stateRows(roots);
}

const FINGERPRINT = 'SHA256:' + 'b'.repeat(43);

function env(status: StackStatus, statusMessage: string | null = null): PublicEnvironment {
  return {
    stackId: 'stk_1',
    status,
    statusMessage,
    provider: 'local',
    updatedAt: '2025-01-01T10:00:00.000Z',
    connection:
      status === 'ready'
        ? {
            bastion: { host: 'bastion.stack1.example.com', port: 2222, user: 'kitchen', hostKeyFingerprint: FINGERPRINT, hostPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 host@stack1' },
            nomad: { host: 'nomad.service.consul', port: 4646 },
            consul: { host: '10.0.0.3', port: 8500 },
            region: 'global',
            datacenters: ['sys1', 'dc1'],
            zones: ['europe-west1-b', 'europe-west1-c'],
            dns: { internal: 'stack1.internal', external: null },
            nomadToken: null,
            consulToken: null,
          }
        : null,
  };
}

/** Timers the test fires by hand, so backoff is checked without waiting. */
class ManualTimers implements TimerApi {
  pending: { fn: () => void; ms: number; id: number }[] = [];
  private seq = 0;
  set(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.push({ fn, ms, id });
    return id;
  }
  clear(h: unknown): void {
    this.pending = this.pending.filter((t) => t.id !== h);
  }
  /** Fires the one scheduled timer; returns its delay. */
  fire(): number {
    assert.equal(this.pending.length, 1, 'exactly one poll should be scheduled');
    const t = this.pending.shift()!;
    t.fn();
    return t.ms;
  }
}

function watcherWith(responses: (PublicEnvironment | Error)[]) {
  const timers = new ManualTimers();
  let calls = 0;
  const watcher = new EnvironmentWatcher({
    fetch: async () => {
      const r = responses[Math.min(calls++, responses.length - 1)];
      if (r instanceof Error) throw r;
      return r;
    },
    timers,
    jitter: 0,
    minDelayMs: 1000,
    maxDelayMs: 8000,
  });
  return { watcher, timers, calls: () => calls };
}

const loaded = (s: EnvironmentSnapshot) => s.state === 'loaded';

describe('EnvironmentWatcher', () => {
  test('polls with growing delays while provisioning, resets on progress, stops when ready', async () => {
    const { watcher, timers, calls } = watcherWith([
      env('pending'), env('provisioning', 'starting Nomad servers'), env('provisioning'), env('provisioning'), env('provisioning'), env('provisioning'), env('ready'),
    ]);
    const seen: string[] = [];
    watcher.onDidChange((s) => seen.push(s.state === 'loaded' ? s.environment.status : s.state));

    const first = await watcher.refresh();
    assert.equal(first.state === 'loaded' && first.nextRefreshAt instanceof Date, true);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const next = nextEvent(watcher.onDidChange, loaded);
      delays.push(timers.fire());
      await next;
    }
    // pending: 1000; provisioning (changed → reset): 1000, 2000, 4000, 8000 (cap), 8000; then ready.
    assert.deepEqual(delays, [1000, 1000, 2000, 4000, 8000, 8000]);
    assert.equal(calls(), 7);
    assert.equal(timers.pending.length, 0, 'no polling once the stack is ready');
    const last = watcher.snapshot;
    assert.ok(last.state === 'loaded' && last.environment.status === 'ready' && last.nextRefreshAt === undefined);
    assert.deepEqual(seen.filter((s) => s !== 'loading'), ['pending', 'provisioning', 'provisioning', 'provisioning', 'provisioning', 'provisioning', 'ready']);
  });

  test('a ready or failed stack is fetched once and not polled', async () => {
    for (const status of ['ready', 'failed'] as const) {
      const { watcher, timers } = watcherWith([env(status)]);
      await watcher.refresh();
      assert.equal(timers.pending.length, 0, status);
    }
  });

  test('concurrent refreshes share one fetch', async () => {
    const { watcher, calls } = watcherWith([env('ready')]);
    await Promise.all([watcher.refresh(), watcher.refresh(), watcher.refresh()]);
    assert.equal(calls(), 1);
  });

  test('a first fetch that fails shows the error and retries with backoff', async () => {
    const { watcher, timers } = watcherWith([new Error('connect ECONNREFUSED'), env('ready')]);
    const s = await watcher.refresh();
    assert.ok(s.state === 'error' && /ECONNREFUSED/.test(s.message) && s.nextRetryAt);
    const next = nextEvent(watcher.onDidChange, loaded);
    timers.fire();
    assert.equal(((await next) as { environment: PublicEnvironment }).environment.status, 'ready');
  });

  test('an error after a ready stack keeps the last environment and waits for the user', async () => {
    const { watcher, timers } = watcherWith([env('ready'), new Error('socket hang up')]);
    await watcher.refresh();
    const s = await watcher.refresh();
    assert.ok(s.state === 'error' && s.environment?.status === 'ready' && !s.nextRetryAt);
    assert.equal(timers.pending.length, 0);
  });

  test('a session that ended stops polling and says so', async () => {
    const { watcher, timers } = watcherWith([env('provisioning'), new SessionExpiredError()]);
    await watcher.refresh();
    const expired = nextEvent(watcher.onSessionExpired);
    timers.fire();
    assert.ok((await expired) instanceof SessionExpiredError);
    assert.equal(watcher.snapshot.state, 'idle');
    assert.equal(timers.pending.length, 0);
  });

  test('stop() cancels the poll and drops a fetch still in flight', async () => {
    let release!: (e: PublicEnvironment) => void;
    const timers = new ManualTimers();
    const watcher = new EnvironmentWatcher({ fetch: () => new Promise((r) => (release = r)), timers });
    const p = watcher.refresh();
    watcher.stop();
    release(env('provisioning'));
    await p;
    assert.equal(watcher.snapshot.state, 'idle');
    assert.equal(timers.pending.length, 0);
  });
});

const session: StoredSession = {
  version: 1,
  token: 't',
  expiresAt: '2030-01-01T00:00:00.000Z',
  apiUrl: 'https://kitchen.example.com',
  attendee: { id: 'att_1', email: 'ada@example.com', name: 'Ada' },
  workshop: { id: 'ws_1', name: 'nomad-101', title: 'Nomad 101' },
};

function find(nodes: ViewNode[], id: string): ViewNode | undefined {
  for (const n of nodes) {
    if (n.id === id) return n;
    const c = find(n.children ?? [], id);
    if (c) return c;
  }
  return undefined;
}

describe('Environment view nodes', () => {
  test('signed out: no nodes, so the welcome content with Sign In shows', () => {
    assert.deepEqual(buildEnvironmentNodes({ state: 'idle' }, undefined), []);
  });

  test('loading without data: the workshop and a spinning loading node', () => {
    const nodes = buildEnvironmentNodes({ state: 'loading' }, session);
    assert.deepEqual(nodes.map((n) => [n.label, n.description, n.icon?.id, n.contextValue]), [
      ['Nomad 101', 'ada@example.com', 'account', 'workshop'],
      ['Loading your environment…', undefined, 'loading~spin', 'state:loading'],
    ]);
  });

  test('each status has its label, icon, colour and context value; the message is the description', () => {
    const expected: Record<StackStatus, [string, string, string | undefined]> = {
      pending: ['Pending', 'clock', 'charts.yellow'],
      queued: ['Queued', 'clock', 'charts.yellow'],
      provisioning: ['Provisioning', 'sync~spin', 'charts.blue'],
      ready: ['Ready', 'pass-filled', 'testing.iconPassed'],
      failed: ['Failed', 'error', 'testing.iconFailed'],
      cancelled: ['Not built', 'circle-slash', 'charts.orange'],
      destroying: ['Being torn down', 'trash', 'charts.orange'],
      destroyed: ['Torn down', 'circle-slash', undefined],
    };
    for (const [status, [label, icon, color]] of Object.entries(expected) as [StackStatus, [string, string, string | undefined]][]) {
      const nodes = buildEnvironmentNodes({ state: 'loaded', environment: env(status, `msg ${status}`), fetchedAt: new Date() }, session);
      const s = find(nodes, 'status')!;
      assert.deepEqual([s.label, s.icon?.id, s.icon?.color, s.contextValue, s.description], [label, icon, color, `stack:${status}`, `msg ${status}`], status);
    }
    const failed = find(buildEnvironmentNodes({ state: 'loaded', environment: env('failed'), fetchedAt: new Date() }, session), 'status')!;
    assert.equal(failed.command?.command, 'openKitchen.refreshEnvironment');
    assert.match(failed.description!, /failed/);
  });

  test('a status message that repeats the label gives way to the explanation; a long one shows its first line', () => {
    const status = (message: string) => find(buildEnvironmentNodes({ state: 'loaded', environment: env('ready', message), fetchedAt: new Date() }, session), 'status')!;
    assert.equal(status('Ready.').description, 'Your stack is up.');
    const failed = find(buildEnvironmentNodes({ state: 'loaded', environment: env('failed', 'Bastion did not start\n    at spawn (node:internal)'), fetchedAt: new Date() }, session), 'status')!;
    assert.equal(failed.description, 'Bastion did not start');
    assert.match(String(failed.tooltip), /at spawn \(node:internal\)/);
  });

  test('a ready stack shows bastion, cluster addresses, datacenters, zones and DNS', () => {
    const nodes = buildEnvironmentNodes({ state: 'loaded', environment: env('ready'), fetchedAt: new Date() }, session);
    assert.deepEqual(nodes.map((n) => n.label), ['Nomad 101', 'Ready', 'Bastion', 'Cluster', 'DNS']);
    const bastion = find(nodes, 'bastion')!;
    assert.equal(bastion.description, 'kitchen@bastion.stack1.example.com:2222');
    assert.equal(bastion.contextValue, 'bastion copyable');
    assert.deepEqual(bastion.children!.map((c) => [c.label, c.description]), [
      ['Address', 'bastion.stack1.example.com:2222'],
      ['User', 'kitchen'],
      ['Host key', FINGERPRINT],
    ]);
    assert.equal(find(nodes, 'bastion.hostKey')!.copyValue, FINGERPRINT);
    assert.equal(find(nodes, 'cluster.nomad')!.description, 'nomad.service.consul:4646');
    assert.equal(find(nodes, 'cluster.consul')!.description, '10.0.0.3:8500');
    assert.equal(find(nodes, 'cluster.datacenters')!.description, 'sys1, dc1');
    assert.deepEqual(find(nodes, 'cluster.zones')!.children!.map((z) => z.label), ['europe-west1-b', 'europe-west1-c']);
    assert.equal(find(nodes, 'dns.internal')!.description, 'stack1.internal');
    assert.equal(find(nodes, 'dns.external')!.description, 'none');
    assert.equal(find(nodes, 'dns.external')!.contextValue, 'detail', 'nothing to copy');
    assert.equal(find(nodes, 'dns.internal')!.contextValue, 'detail copyable');
  });

  test('node ids are unique and stable across refreshes', () => {
    const ids = (nodes: ViewNode[]): string[] => nodes.flatMap((n) => [n.id, ...ids(n.children ?? [])]);
    const a = ids(buildEnvironmentNodes({ state: 'loaded', environment: env('ready'), fetchedAt: new Date() }, session));
    const b = ids(buildEnvironmentNodes({ state: 'loading', environment: env('ready') }, session));
    assert.equal(new Set(a).size, a.length);
    assert.deepEqual(a, b);
  });

  test('an error shows a retry node, above the last environment if there was one', () => {
    const fresh = buildEnvironmentNodes({ state: 'error', message: 'Cannot reach the organizer API' }, session);
    assert.deepEqual(fresh.map((n) => n.label), ['Nomad 101', 'Could not load your environment']);
    assert.equal(fresh[1].command?.command, 'openKitchen.refreshEnvironment');
    assert.equal(fresh[1].description, 'Cannot reach the organizer API');
    assert.match(fresh[1].tooltip!, /Click to try again/);
    const stale = buildEnvironmentNodes({ state: 'error', message: 'timeout', environment: env('ready') }, session);
    assert.deepEqual(stale.slice(0, 3).map((n) => n.label), ['Nomad 101', 'Could not refresh your environment', 'Ready']);
  });

});

describe('SSH command and key files', () => {
  const connection = env('ready').connection!;

  test('the command pins the host key, uses only the saved key and forwards Nomad and Consul', () => {
    const cmd = buildSshCommand(connection, { keyFile: '/home/ada/.ssh/open-kitchen/nomad-101/id_ed25519', knownHostsFile: '/home/ada/.ssh/open-kitchen/nomad-101/known_hosts', platform: 'linux' });
    assert.equal(
      cmd,
      'ssh -N -i /home/ada/.ssh/open-kitchen/nomad-101/id_ed25519 -o IdentitiesOnly=yes ' +
        '-o UserKnownHostsFile=/home/ada/.ssh/open-kitchen/nomad-101/known_hosts -o StrictHostKeyChecking=yes ' +
        '-o ExitOnForwardFailure=yes -o ServerAliveInterval=30 -p 2222 ' +
        '-L 4646:nomad.service.consul:4646 -L 8500:10.0.0.3:8500 kitchen@bastion.stack1.example.com',
    );
  });

  test('paths with spaces are quoted for the platform; IPv6 forward targets get brackets', () => {
    const v6 = { ...connection, nomad: { host: 'fd00::2', port: 4646 } };
    const posix = buildSshCommand(v6, { keyFile: "/Users/Ada Lovelace/k'ey", knownHostsFile: '/tmp/kh', platform: 'darwin' });
    assert.match(posix, / -i '\/Users\/Ada Lovelace\/k'\\''ey' /);
    assert.match(posix, / -L 4646:\[fd00::2\]:4646 /);
    const win = buildSshCommand(connection, { keyFile: 'C:\\Users\\Ada Lovelace\\id', knownHostsFile: 'C:\\kh', platform: 'win32' });
    assert.match(win, / -i "C:\\Users\\Ada Lovelace\\id" /);
  });

  test('the known_hosts line names the bastion with its port and drops the key comment', () => {
    assert.equal(knownHostsLine(connection), '[bastion.stack1.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5');
    assert.equal(knownHostsLine({ bastion: { ...connection.bastion, port: 22 } }), 'bastion.stack1.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5');
  });

  test('key files are written 0600 in a 0700 folder named after the workshop, and removed again', async (t) => {
    const base = mkdtempSync(path.join(tmpdir(), 'ok-ssh-'));
    t.after(() => rmSync(base, { recursive: true, force: true }));
    const files = sshFilesFor(base, '../Nomad 101/');
    assert.equal(path.dirname(files.dir), base, 'the workshop name cannot escape the base folder');
    assert.equal(await sshFilesExist(files), false);
    await writeSshFiles(files, '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----', connection);
    assert.equal(await sshFilesExist(files), true);
    assert.equal(statSync(files.keyFile).mode & 0o777, 0o600);
    assert.equal(statSync(files.dir).mode & 0o777, 0o700);
    assert.match(readFileSync(files.keyFile, 'utf8'), /END OPENSSH PRIVATE KEY-----\n$/);
    assert.equal(readFileSync(files.knownHostsFile, 'utf8'), `${knownHostsLine(connection)}\n`);
    await removeSshFiles(files);
    assert.equal(await sshFilesExist(files), false);
  });
});
