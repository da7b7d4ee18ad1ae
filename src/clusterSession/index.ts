/** The attendee's live cluster, as plain modules: one session per ready stack, and the connection that follows the environment. */
export { ClusterSession, sessionIdentity } from './clusterSession';
export type { ClusterSessionOptions } from './clusterSession';
export { ClusterConnection, NotConnectedError } from './connection';
export type { ClusterConnectionOptions, ConnectionState } from './connection';
