/**
 * The cluster model: the store (./store.ts) kept current from the cluster itself, with blocking
 * queries and Nomad's event stream (never a fixed-interval poll), backing off on errors and
 * re-reading everything when the tunnel comes back. Every view renders it; it is owned by the
 * attendee's cluster session (src/clusterSession).
 */
import { setMaxListeners } from 'node:events';
import { backoffDelay, defaultBackoff, type BackoffOptions } from '../common/backoff';
import type { Logger } from '../common/logger';
import type { ConsulClient } from './consul';
import { ClusterError, ClusterHttpError } from './errors';
import type { NomadClient } from './nomad';
import { ClusterStore } from './store';
import type { ConnectionSource, ConnectionStatus } from './types';
import { sleep, watchBlocking, type Watch } from './watch';

export interface ClusterModelOptions {
  nomad: NomadClient;
  /** Leave out to run without Consul (its section then reports `disabled`). */
  consul?: ConsulClient;
  /** Node attribute that names the zone (default `platform.gce.zone`). */
  zoneAttribute?: string;
  /** Use /v1/event/stream for allocations (default true); falls back to blocking queries when refused. */
  useEventStream?: boolean;
  /** An event stream without a line (heartbeats included) for this long is reopened (default 95 s). */
  streamIdleTimeoutMs?: number;
  /** Longest server-side wait of a blocking query, in seconds (default 300). */
  waitSeconds?: number;
  backoff?: BackoffOptions;
  /** The tunnel the clients ride: its state is reported, and a reconnect triggers a full re-read. */
  connection?: ConnectionSource;
  log?: Logger;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An HTTP status that says "this server does not offer the event stream to us". */
function streamRefused(err: unknown): boolean {
  return err instanceof ClusterHttpError && [400, 403, 404, 405, 501].includes(err.status);
}

export class ClusterModel extends ClusterStore {
  readonly nomadClient: NomadClient;
  readonly consulClient: ConsulClient | undefined;
  private readonly backoff: BackoffOptions;
  // loops
  private abort: AbortController | undefined;
  private watches: Watch[] = [];
  private loops: Promise<void>[] = [];
  private serversRefreshedAt = 0;
  private serversRefreshing: Promise<void> | undefined;
  private membersRefreshedAt = 0;
  private membersRefreshing: Promise<void> | undefined;
  private readonly connectionSub: { dispose(): void } | undefined;

  constructor(private readonly options: ClusterModelOptions) {
    super({ zoneAttribute: options.zoneAttribute, consul: !!options.consul, log: options.log });
    this.nomadClient = options.nomad;
    this.consulClient = options.consul;
    this.backoff = options.backoff ?? defaultBackoff;
    this.connectionSub = options.connection?.onDidChangeState((e) => {
      this.markSection('connection');
      // Back after a cut: re-read everything now instead of waiting out the watchers' backoff.
      if (e.state === 'connected' && e.previous === 'reconnecting' && this.abort) {
        this.log.info('cluster model: connection is back; re-reading the cluster');
        void this.refresh();
      }
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts watching. Safe to call again after stop(). */
  start(): void {
    if (this.disposed) throw new Error('the cluster model was disposed');
    if (this.abort) return;
    const abort = (this.abort = new AbortController());
    const signal = abort.signal;
    // Every request of the model listens on this one signal (a dozen at once is normal:
    // watchers, server reads, one zone read per new node).
    setMaxListeners(0, signal);
    const wait = this.options.waitSeconds ?? 300;
    const nomad = this.nomadClient;

    this.loops.push(this.refreshServers(true));
    this.watches.push(
      watchBlocking({
        query: (index, s) => nomad.nodes({ index, waitSeconds: wait, signal: s }),
        onChange: (data) => {
          this.replaceNodes(data);
          this.loaded('nodes');
          void this.refreshServers(false);
        },
        onError: (err, attempt, delay) => this.nomadError('nodes', err, attempt, delay),
        onRecovered: () => void this.refreshServers(true),
        backoff: this.backoff,
        signal,
      }),
      watchBlocking({
        query: (index, s) => nomad.jobs({ index, waitSeconds: wait, signal: s }),
        onChange: (data) => {
          this.replaceJobs(data);
          this.loaded('jobs');
        },
        onError: (err, attempt, delay) => this.nomadError('jobs', err, attempt, delay),
        backoff: this.backoff,
        signal,
      }),
    );
    this.loops.push(this.runAllocations(signal, wait));

    if (this.consulClient) this.startConsul(this.consulClient, signal, wait);
    else this.markSection('consul');
    this.updateStatus();
  }

  /** Stops watching; the last known state stays readable. */
  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    this.abort = undefined;
    abort.abort();
    const watches = this.watches;
    const loops = this.loops;
    this.watches = [];
    this.loops = [];
    await Promise.all([...watches.map((w) => w.done), ...loops]);
  }

  /** Re-reads everything now (a "Retry" action, or after the tunnel reconnected). */
  async refresh(): Promise<void> {
    await this.stop();
    this.nomadErrors.clear();
    this.consulErrors.clear();
    this.start();
  }

  async dispose(): Promise<void> {
    this.connectionSub?.dispose();
    await this.stop();
    this.disposed = true;
    this.changeEmitter.dispose();
  }

  /**
   * Resolves once `predicate` holds, re-checking after every change; rejects after
   * `timeoutMs` (default 10 s) with `what` in the message.
   */
  waitFor(predicate: (model: ClusterModel) => boolean, what = 'the cluster model', timeoutMs = 10_000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const sub = this.onDidChange(() => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        sub.dispose();
        resolve();
      });
    });
  }

  override get connectionStatus(): ConnectionStatus {
    const c = this.options.connection;
    if (!c) return { state: 'direct' };
    return c.state === 'connected' || !c.lastError ? { state: c.state } : { state: c.state, error: c.lastError.message };
  }

  // ---------------------------------------------------------------- Nomad: servers

  private refreshServers(force: boolean): Promise<void> {
    // Servers have no blocking endpoint: re-read them when something else moved, at most every 5 s.
    if (this.serversRefreshing) return this.serversRefreshing;
    if (!force && Date.now() - this.serversRefreshedAt < 5000) return Promise.resolve();
    const signal = this.abort?.signal;
    this.serversRefreshing = (async () => {
      try {
        const [members, leader, peers] = await Promise.all([
          this.nomadClient.members(signal),
          this.nomadClient.leader(signal),
          this.nomadClient.peers(signal),
        ]);
        if (signal?.aborted) return;
        this.serversRefreshedAt = Date.now();
        this.setServers(members, leader, peers);
        this.loaded('servers');
      } catch (err) {
        if (signal?.aborted) return;
        this.nomadError('servers', err as Error);
      } finally {
        this.serversRefreshing = undefined;
      }
    })();
    return this.serversRefreshing;
  }

  protected override zoneUnknown(nodeId: string): void {
    void this.fetchZone(nodeId);
  }

  private async fetchZone(id: string): Promise<void> {
    if (this.zoneFetches.has(id)) return;
    this.zoneFetches.add(id);
    try {
      const node = await this.nomadClient.node(id, this.abort?.signal);
      this.setZone(id, node.Attributes?.[this.zoneAttribute] ?? null);
    } catch (err) {
      if (!(err instanceof ClusterError && err.kind === 'aborted')) this.log.warn(`cannot read the zone of node ${id}: ${describe(err)}`);
    } finally {
      this.zoneFetches.delete(id);
    }
  }

  // ---------------------------------------------------------------- Nomad: allocations

  /**
   * The full list once, then the event stream from the list's index on; after a broken
   * stream, a full re-read (diffed by ID) and a new stream. Servers that refuse the stream
   * get a blocking query on the list instead.
   */
  private async runAllocations(signal: AbortSignal, wait: number): Promise<void> {
    let failures = 0;
    let streamWorked = false;
    while (!signal.aborted) {
      let phase: 'list' | 'stream' = 'list';
      try {
        const list = await this.nomadClient.allocations({ signal });
        if (signal.aborted) break;
        this.replaceAllocations(list.data);
        this.loaded('allocations');
        if (this.options.useEventStream === false) break;
        phase = 'stream';
        // Nomad sends a heartbeat every 30 s; a stream silent for longer is dead even if
        // no socket error says so (a half-open connection).
        const idleMs = this.options.streamIdleTimeoutMs ?? 95_000;
        const streamAbort = new AbortController();
        const onAbort = () => streamAbort.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        let idle = false;
        let watchdog = setTimeout(() => ((idle = true), streamAbort.abort()), idleMs);
        try {
          for await (const batch of this.nomadClient.events({ topics: ['Allocation'], index: list.index + 1, signal: streamAbort.signal })) {
            clearTimeout(watchdog);
            watchdog = setTimeout(() => ((idle = true), streamAbort.abort()), idleMs);
            if (!streamWorked) {
              streamWorked = true;
              this.log.info('Nomad event stream open: allocations update live');
            }
            if (failures) {
              failures = 0;
              this.clearNomadError('allocations');
            }
            if (!batch.heartbeat) this.applyAllocationEvents(batch.events);
          }
        } finally {
          clearTimeout(watchdog);
          signal.removeEventListener('abort', onAbort);
        }
        if (signal.aborted) break;
        this.log.info(idle ? `Nomad event stream silent for ${idleMs} ms; reopening it` : 'Nomad event stream ended; re-reading allocations');
      } catch (err) {
        if (signal.aborted) break;
        if (phase === 'stream' && !streamWorked && streamRefused(err)) {
          this.log.warn(`Nomad refused the event stream (${describe(err)}); watching allocations with blocking queries instead`);
          break;
        }
        const delay = backoffDelay(this.backoff, failures);
        failures++;
        this.nomadError('allocations', err as Error, failures, delay);
        await sleep(delay, signal);
      }
    }
    if (signal.aborted) return;
    // Fallback: a blocking query on the whole list, diffed by ID.
    const watch = watchBlocking({
      query: (index, s) => this.nomadClient.allocations({ index, waitSeconds: wait, signal: s }),
      onChange: (data) => {
        this.replaceAllocations(data);
        this.loaded('allocations');
      },
      onError: (err, attempt, delay) => this.nomadError('allocations', err, attempt, delay),
      backoff: this.backoff,
      signal,
    });
    await watch.done;
  }

  // ---------------------------------------------------------------- Consul

  private startConsul(consul: ConsulClient, signal: AbortSignal, wait: number): void {
    this.loops.push(this.refreshConsulMembers(true));
    this.watches.push(
      watchBlocking({
        // The catalog's index moves with every instance change, so the instances are re-read with it.
        query: async (index, s) => {
          const res = await consul.services({ index, waitSeconds: wait, signal: s });
          if (res.index === index && index !== 0) return { ...res, data: undefined };
          const names = Object.keys(res.data);
          const lists = await Promise.all(names.map((n) => consul.service(n, { signal: s })));
          const instances: Record<string, { node: string; serviceId: string }[]> = {};
          names.forEach((n, i) => (instances[n] = lists[i]!.data.map((e) => ({ node: e.Node, serviceId: e.ServiceID }))));
          return { ...res, data: { services: res.data, instances } };
        },
        onChange: (data) => {
          if (!data) return;
          const tags: Record<string, string[]> = {};
          for (const [name, t] of Object.entries(data.services)) tags[name] = t ?? [];
          const next = JSON.stringify([tags, data.instances]);
          if (next !== JSON.stringify([this.consulServiceTags, this.consulInstances])) {
            this.consulServiceTags = tags;
            this.consulInstances = data.instances;
            this.markSection('consul');
          }
          this.consulSourceLoaded('services');
        },
        onError: (err, attempt, delay) => this.consulError('services', err, attempt, delay),
        onRecovered: () => void this.refreshConsulMembers(true),
        backoff: this.backoff,
        signal,
      }),
      watchBlocking({
        query: (index, s) => consul.healthState('any', { index, waitSeconds: wait, signal: s }),
        onChange: (data) => {
          this.consulChecks = data;
          this.markSection('consul');
          this.consulSourceLoaded('health');
          // A member joining, leaving or failing changes its serfHealth check: re-read members then.
          void this.refreshConsulMembers(false);
        },
        onError: (err, attempt, delay) => this.consulError('health', err, attempt, delay),
        backoff: this.backoff,
        signal,
      }),
    );
  }

  private refreshConsulMembers(force: boolean): Promise<void> {
    const consul = this.consulClient;
    if (!consul) return Promise.resolve();
    if (this.membersRefreshing) return this.membersRefreshing;
    if (!force && Date.now() - this.membersRefreshedAt < 1000) return Promise.resolve();
    const signal = this.abort?.signal;
    this.membersRefreshing = (async () => {
      try {
        const [members, leader] = await Promise.all([consul.members(signal), consul.leader(signal)]);
        if (signal?.aborted) return;
        this.membersRefreshedAt = Date.now();
        this.consulLeader = leader;
        this.setConsulMembers(members);
        this.consulSourceLoaded('members');
      } catch (err) {
        if (signal?.aborted) return;
        this.consulError('members', err as Error);
      } finally {
        this.membersRefreshing = undefined;
      }
    })();
    return this.membersRefreshing;
  }
}
