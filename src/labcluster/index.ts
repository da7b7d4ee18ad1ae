// Lab cluster: a faithful simulation of a Nomad + Consul stack (the workshop's topology) over
// real HTTP listeners, for machines without the real binaries. Nomad's API and the admin API
// (/_lab/…) and the /ui/ page share the Nomad port; Consul's API has its own port.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AllocFs } from './allocfs';
import { consulSystemJob } from './bootstrap';
import { consulError, LabConsul } from './consul';
import { faultGate, noFaults, type Faults } from './faults';
import { makeCtx, type Ctx } from './http';
import { LabNomad } from './nomad';
import { createNomadHandler, nomadError } from './nomad/agent/http';
import { defaultTopology, type LabTopology } from './topology';

export type { LabTopology } from './topology';
export { LabNomad } from './nomad';
export { LabConsul } from './consul';
export type { Faults } from './faults';

export interface LabClusterOptions {
  host?: string;
  /** 0 (default) picks a free port */
  nomadPort?: number;
  consulPort?: number;
  topology?: LabTopology;
  /** when set, every /v1 request except status needs this token (X-Nomad-Token, Bearer or ?token) */
  nomadAclToken?: string;
  /** the stack's name, shown on /ui/ and used to derive stable node IDs */
  name?: string;
  /**
   * Real milliseconds per simulated millisecond for restart and reschedule delays and task run
   * times (Nomad's 15 s restart delay is 300 ms at the default 0.02).
   */
  timeScale?: number;
  /** delay of each client step (received → setup → pull → started), default 25 ms */
  stepMs?: number;
  /** how long a new allocation must run before its deployment counts it healthy, default 300 ms */
  healthyAfterMs?: number;
  /** event stream heartbeat interval, default 10 s */
  eventHeartbeatMs?: number;
  /** log follow heartbeat interval, default 1 s */
  logHeartbeatMs?: number;
  /**
   * Run the Consul system job at start, as the workshop's provisioning did (default true). With
   * false, Consul answers "no leader" until someone runs jobs/consul.nomad.hcl.
   */
  consulJob?: boolean;
}

export interface LabCluster {
  nomadPort: number;
  consulPort: number;
  nomadUrl: string;
  consulUrl: string;
  adminUrl?: string;
  /** in-process handles for tests */
  nomad: LabNomad;
  consul: LabConsul;
  faults: Faults;
  close(): Promise<void>;
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function serve(handler: (ctx: Ctx) => Promise<void>, onError: (ctx: Ctx, err: unknown) => void, before?: (ctx: Ctx) => Promise<boolean>): http.Server {
  const server = http.createServer((req, res) => {
    const ctx = makeCtx(req, res);
    void (async () => {
      try {
        if (before && (await before(ctx))) return;
        await handler(ctx);
      } catch (err) {
        onError(ctx, err);
      }
    })();
  });
  // Blocking queries hold requests up to 10 minutes (plus jitter).
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  return server;
}

export async function startLabCluster(opts: LabClusterOptions = {}): Promise<LabCluster> {
  const host = opts.host ?? '127.0.0.1';
  const name = opts.name ?? 'lab';
  const nomad = new LabNomad({
    topology: opts.topology ?? defaultTopology,
    name,
    timeScale: opts.timeScale ?? 0.02,
    stepMs: opts.stepMs ?? 25,
    healthyAfterMs: opts.healthyAfterMs ?? 300,
  });
  const consul = new LabConsul(nomad);
  nomad.consulAvailable = () => consul.templateSource() !== undefined;
  if (opts.consulJob !== false) nomad.registerJob(consulSystemJob(), 'default');
  const faults = noFaults();
  const nomadServer = serve(
    createNomadHandler({ nomad, fs: new AllocFs(nomad, () => consul.templateSource()), aclToken: opts.nomadAclToken, name, faults, eventHeartbeatMs: opts.eventHeartbeatMs ?? 10_000, logHeartbeatMs: opts.logHeartbeatMs ?? 1000, admin: { consulSummary: () => consul.summary() } }),
    nomadError,
  );
  const consulServer = serve(consul.handler(), consulError, (ctx) => faultGate(ctx, faults, 'consul'));
  const nomadPort = await listen(nomadServer, host, opts.nomadPort ?? 0);
  let consulPort: number;
  try {
    consulPort = await listen(consulServer, host, opts.consulPort ?? 0);
  } catch (err) {
    nomadServer.close();
    nomad.close();
    throw err;
  }
  const base = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    nomadPort,
    consulPort,
    nomadUrl: `http://${base}:${nomadPort}`,
    consulUrl: `http://${base}:${consulPort}`,
    adminUrl: `http://${base}:${nomadPort}/_lab`,
    nomad,
    consul,
    faults,
    close: () =>
      (closing ??= (async () => {
        nomad.close();
        consul.store.releaseAll();
        await Promise.all(
          [nomadServer, consulServer].map(
            (s) =>
              new Promise<void>((resolve) => {
                s.close(() => resolve());
                s.closeAllConnections();
              }),
          ),
        );
      })()),
  };
}
