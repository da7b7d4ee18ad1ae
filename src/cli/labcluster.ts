/**
 * `node dist/labcluster.js [--nomad-port N] [--consul-port M] [--host H] [--clients-per-zone K]
 * [--servers S] [--zones a,b] [--name NAME] [--acl-token T] [--no-consul]` — one lab cluster
 * (simulated Nomad + Consul, with the Consul system job running unless --no-consul) in the
 * foreground. Prints the URLs, runs until SIGINT/SIGTERM. Port 0 (the default) picks a free port.
 */
import { parseArgs } from 'node:util';
import { startLabCluster } from '../labcluster';
import { defaultTopology } from '../labcluster/topology';

const USAGE =
  'Usage: node dist/labcluster.js [--nomad-port N] [--consul-port M] [--host 127.0.0.1] [--servers 3] [--clients-per-zone 3] [--zones europe-west1-b,europe-west1-c] [--name lab] [--acl-token TOKEN] [--no-consul]\n';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}`);
  process.exit(64);
}

function port(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value) || Number(value) > 65535) fail(`${flag} must be a port number (0-65535), got "${value}"`);
  return Number(value);
}

function count(value: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) fail(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  return Number(value);
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      options: {
        'nomad-port': { type: 'string' },
        'consul-port': { type: 'string' },
        host: { type: 'string' },
        servers: { type: 'string' },
        'clients-per-zone': { type: 'string' },
        zones: { type: 'string' },
        name: { type: 'string' },
        'acl-token': { type: 'string' },
        'no-consul': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const zones = str('zones')
    ?.split(',')
    .map((z) => z.trim())
    .filter(Boolean);
  if (zones && zones.length === 0) fail('--zones needs at least one zone name');
  const cluster = await startLabCluster({
    host: str('host') ?? '127.0.0.1',
    nomadPort: port(str('nomad-port'), '--nomad-port'),
    consulPort: port(str('consul-port'), '--consul-port'),
    name: str('name') ?? 'lab',
    nomadAclToken: str('acl-token'),
    consulJob: values['no-consul'] !== true,
    topology: {
      servers: count(str('servers'), '--servers', defaultTopology.servers, 1, 7),
      clientsPerZone: count(str('clients-per-zone'), '--clients-per-zone', defaultTopology.clientsPerZone, 0, 50),
      zones: zones ?? defaultTopology.zones,
    },
  });
  // Signals are handled before the URLs are printed: whoever waits for them may stop us at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping the lab cluster\n`);
    void cluster.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.stdout.write(`Lab cluster "${str('name') ?? 'lab'}" is running.\n`);
  process.stdout.write(`  NOMAD_ADDR=${cluster.nomadUrl}\n`);
  process.stdout.write(`  CONSUL_HTTP_ADDR=${cluster.consulUrl}\n`);
  process.stdout.write(`  UI:    ${cluster.nomadUrl}/ui/\n`);
  process.stdout.write(`  Admin: ${cluster.adminUrl}/  (fault injection)\n`);
  process.stdout.write('Press Ctrl+C to stop.\n');
}

main().catch((err: Error) => {
  process.stderr.write(`lab cluster failed to start: ${err.message}\n`);
  process.exit(1);
});
