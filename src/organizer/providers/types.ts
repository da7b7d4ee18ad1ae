/**
 * What a provider (local, terraform-gce) does for the organizer: build one attendee's
 * stack, report progress, tear it down, and tell whether a stack it built is still there.
 * The organizer store persists `handle` so an organizer restart can find stacks again.
 */
import type { Endpoint, PreflightResponse } from '../../contract';

export interface StackTopology {
  servers: number;
  clientsPerZone: number;
  zones: string[];
}

export interface StackSpec {
  stackId: string;
  workshopName: string;
  attendeeId: string;
  /** Short, DNS-safe name for the stack (e.g. `ws-alice-3f9a`). */
  name: string;
  topology: StackTopology;
  /** A folder the provider owns for this stack (state, keys, logs). */
  dataDir: string;
}

export interface StackKeys {
  /** OpenSSH private key (PEM) of the bastion's host key, and its public line. */
  hostPrivateKey: string;
  hostPublicKey: string;
  /** `SHA256:…` of the host key, as OpenSSH prints it. */
  hostKeyFingerprint: string;
  /** The attendee's key pair. */
  attendeePrivateKey: string;
  attendeePublicKey: string;
}

export interface ProvisionedStack {
  bastion: { host: string; port: number; user: string; hostKeyFingerprint: string; hostPublicKey: string };
  attendeePrivateKey: string;
  nomad: Endpoint;
  consul: Endpoint;
  region: string;
  datacenters: string[];
  zones: string[];
  dns: { internal: string | null; external: string | null };
  nomadToken: string | null;
  consulToken: string | null;
  /** Provider-specific state to find the stack again (pids, ports, state paths). JSON-serialisable. */
  handle: Record<string, unknown>;
}

export type ProgressFn = (message: string) => void;

/** What a provider can tell before building `count` stacks: resources, quotas, blockers. */
export type PreflightEstimate = Pick<PreflightResponse, 'resources' | 'quotas' | 'quotaNote' | 'problems'>;

export interface Provider {
  readonly name: string;
  /** Counts what `count` stacks of this topology create and checks it against quotas the provider can read. */
  preflight(topology: StackTopology, count: number): Promise<PreflightEstimate>;
  provision(spec: StackSpec, keys: StackKeys, onProgress: ProgressFn, signal?: AbortSignal): Promise<ProvisionedStack>;
  destroy(spec: StackSpec, handle: Record<string, unknown> | null, onProgress: ProgressFn): Promise<void>;
  /** After an organizer restart: is the stack built earlier still answering? */
  check(spec: StackSpec, handle: Record<string, unknown>): Promise<'alive' | 'lost'>;
}
