/** Typed client of the Consul HTTP API: what the cluster view shows (members, services, health). */
import { ClusterApi, type ApiClientOptions, type BlockingOptions, type QueryResult } from './http';
import {
  addressListSchema,
  addressSchema,
  consulCatalogServiceListSchema,
  consulHealthChecksSchema,
  consulMembersSchema,
  consulServicesSchema,
  type ConsulCatalogService,
  type ConsulHealthCheck,
  type ConsulMember,
  type ConsulServices,
} from './schemas';

export type ConsulClientOptions = ApiClientOptions;

/** Serf member status (Consul encodes it as an int). */
export const consulMemberStatus: Record<number, string> = { 0: 'none', 1: 'alive', 2: 'leaving', 3: 'left', 4: 'failed' };

export class ConsulClient {
  private readonly api: ClusterApi;

  constructor(options: ConsulClientOptions) {
    this.api = new ClusterApi('Consul', 'X-Consul-Token', 'x-consul-index', options);
  }

  /** LAN gossip members: servers (`role=consul`) and clients (`role=node`). */
  async members(signal?: AbortSignal): Promise<ConsulMember[]> {
    return (await this.api.request('GET', '/v1/agent/members', { schema: consulMembersSchema, signal })).data;
  }

  /** The leader's server RPC address (`ip:8300`), `""` when there is none. */
  async leader(signal?: AbortSignal): Promise<string> {
    return (await this.api.request('GET', '/v1/status/leader', { schema: addressSchema, signal })).data;
  }

  async peers(signal?: AbortSignal): Promise<string[]> {
    return (await this.api.request('GET', '/v1/status/peers', { schema: addressListSchema, signal })).data ?? [];
  }

  /** Service name → tags (blocking). */
  services(opts?: BlockingOptions): Promise<QueryResult<ConsulServices>> {
    const blocking = this.api.blockingQuery(opts);
    return this.api.request('GET', '/v1/catalog/services', { query: blocking.query, timeoutMs: blocking.timeoutMs, schema: consulServicesSchema, signal: opts?.signal });
  }

  /** Instances of one service (blocking). */
  service(name: string, opts?: BlockingOptions): Promise<QueryResult<ConsulCatalogService[]>> {
    const blocking = this.api.blockingQuery(opts);
    return this.api.request('GET', `/v1/catalog/service/${encodeURIComponent(name)}`, {
      query: blocking.query,
      timeoutMs: blocking.timeoutMs,
      schema: consulCatalogServiceListSchema,
      signal: opts?.signal,
    });
  }

  /** Every health check in a state (`any` for all), node checks included (blocking). */
  healthState(state: 'any' | 'passing' | 'warning' | 'critical', opts?: BlockingOptions): Promise<QueryResult<ConsulHealthCheck[]>> {
    const blocking = this.api.blockingQuery(opts);
    return this.api.request('GET', `/v1/health/state/${state}`, {
      query: blocking.query,
      timeoutMs: blocking.timeoutMs,
      schema: consulHealthChecksSchema,
      signal: opts?.signal,
    });
  }

  /** A KV value as stored (`?raw`); undefined when the key does not exist. */
  kvGet(key: string, signal?: AbortSignal): Promise<string | undefined> {
    return this.api.text('GET', `/v1/kv/${encodeKey(key)}`, { query: { raw: true }, signal });
  }

  async kvPut(key: string, value: string): Promise<void> {
    await this.api.send('PUT', `/v1/kv/${encodeKey(key)}`, { rawBody: value });
  }
}

/** A KV path, each segment escaped: `a/b c` → `a/b%20c`. */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
