/**
 * Nomad and Consul HTTP clients, watchers (blocking queries, event stream) and the shared
 * cluster model. Wiring in the extension (the clients ride the tunnel's own HTTP agents):
 *
 *   const nomad = new NomadClient({ baseUrl: 'http://127.0.0.1:4646', agent: tunnel.createAgent('nomad'), token });
 *   const consul = new ConsulClient({ baseUrl: 'http://127.0.0.1:8500', agent: tunnel.createAgent('consul') });
 *   const model = new ClusterModel({ nomad, consul, connection: tunnel, log });
 *   model.start();   // views subscribe to model.onDidChange and read model.get…()
 */
export { NomadClient } from './nomad';
export type { LogStreamOptions, NamespaceOption, NomadClientOptions, NomadEventBatch, NomadEventTopic } from './nomad';
export { ConsulClient, consulMemberStatus } from './consul';
export type { ConsulClientOptions } from './consul';
export { ClusterModel } from './model';
export type { ClusterModelOptions } from './model';
export { ClusterStore, compareNames, emptyCounts, jobKeyOf, toAllocationInfo } from './store';
export type { ClusterStoreOptions } from './store';
export type * from './types';
export { ClusterError, ClusterHttpError, ResponseShapeError, formatFieldPath } from './errors';
export type { ClusterErrorKind, ClusterService, ShapeProblem } from './errors';
export type { ApiClientOptions, BlockingOptions, QueryResult } from './http';
export { readNdjson, watchBlocking } from './watch';
export type { BlockingWatchOptions, Watch } from './watch';
export type * from './schemas';
