/**
 * Real `nomad agent -dev` and `consul agent -dev` for a local stack, used instead of the lab
 * cluster when both binaries are on PATH. Each stack gets its own free ports and config files
 * in its folder, so several stacks run side by side.
 *
 * The machines this project is built and tested on cannot install the HashiCorp binaries,
 * so this path is covered by unit tests of the command lines it builds (see
 * test/unit/localprovider-agents.test.ts), not by running the agents.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { probeFreePort } from './bastion/common';

/** The absolute path of an executable on PATH, or null. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface AgentBinaries {
  nomad: string;
  consul: string;
}

/** Both binaries, or null when either is missing (then the lab cluster stands in). */
export function findAgentBinaries(env: NodeJS.ProcessEnv = process.env): AgentBinaries | null {
  const nomad = findOnPath('nomad', env);
  const consul = findOnPath('consul', env);
  return nomad && consul ? { nomad, consul } : null;
}

export interface AgentPorts {
  nomad: { http: number; rpc: number; serf: number };
  consul: { http: number; serfLan: number; serfWan: number; server: number };
}

export interface AgentCommand {
  file: string;
  args: string[];
  /** Config file to write before starting, with its content. */
  configFile: string;
  config: string;
}

/**
 * The two command lines and their config files. Consul's DNS and gRPC ports are switched
 * off (-1): nothing in a workshop stack uses them and fixed defaults would clash between stacks.
 */
export function agentCommands(opts: { binaries: AgentBinaries; dir: string; name: string; host: string; ports: AgentPorts }): {
  consul: AgentCommand;
  nomad: AgentCommand;
} {
  const { dir, host, ports, name } = opts;
  const consulConfigFile = path.join(dir, 'consul-dev.json');
  const consulConfig = JSON.stringify(
    {
      node_name: `${name}-consul`,
      bind_addr: host,
      client_addr: host,
      ports: {
        http: ports.consul.http,
        dns: -1,
        grpc: -1,
        grpc_tls: -1,
        serf_lan: ports.consul.serfLan,
        serf_wan: ports.consul.serfWan,
        server: ports.consul.server,
      },
    },
    null,
    2,
  );
  const nomadConfigFile = path.join(dir, 'nomad-dev.hcl');
  const nomadConfig = [
    `name      = ${JSON.stringify(`${name}-nomad`)}`,
    `bind_addr = ${JSON.stringify(host)}`,
    'ports {',
    `  http = ${ports.nomad.http}`,
    `  rpc  = ${ports.nomad.rpc}`,
    `  serf = ${ports.nomad.serf}`,
    '}',
    'consul {',
    `  address = ${JSON.stringify(`${host}:${ports.consul.http}`)}`,
    '}',
    '',
  ].join('\n');
  return {
    consul: {
      file: opts.binaries.consul,
      args: ['agent', '-dev', `-config-file=${consulConfigFile}`],
      configFile: consulConfigFile,
      config: consulConfig,
    },
    nomad: {
      file: opts.binaries.nomad,
      args: ['agent', '-dev', `-config=${nomadConfigFile}`],
      configFile: nomadConfigFile,
      config: nomadConfig,
    },
  };
}

export async function freeAgentPorts(host: string): Promise<AgentPorts> {
  const seen = new Set<number>();
  const next = async () => {
    for (;;) {
      const p = await probeFreePort(host);
      if (!seen.has(p)) {
        seen.add(p);
        return p;
      }
    }
  };
  return {
    nomad: { http: await next(), rpc: await next(), serf: await next() },
    consul: { http: await next(), serfLan: await next(), serfWan: await next(), server: await next() },
  };
}

async function waitForLeader(url: string, child: ChildProcess, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited during startup (see the stack log)`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      // Both answer `"127.0.0.1:4647"`-like JSON strings once a leader is elected, `""` before.
      if (res.ok && ((await res.text()).replace(/"/g, '').trim() !== '')) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not elect a leader within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
}

export interface RunningAgents {
  nomadPort: number;
  consulPort: number;
  close(): Promise<void>;
}

function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT'); // both agents leave their cluster gracefully on SIGINT
  });
}

export async function startDevAgents(opts: {
  binaries: AgentBinaries;
  dir: string;
  name: string;
  host: string;
  log: (line: string) => void;
  startTimeoutMs?: number;
}): Promise<RunningAgents> {
  const ports = await freeAgentPorts(opts.host);
  const cmds = agentCommands({ binaries: opts.binaries, dir: opts.dir, name: opts.name, host: opts.host, ports });
  const children: ChildProcess[] = [];
  const start = (cmd: AgentCommand, label: string) => {
    fs.writeFileSync(cmd.configFile, cmd.config, { mode: 0o600 });
    opts.log(`starting ${label}: ${cmd.file} ${cmd.args.join(' ')}`);
    const child = spawn(cmd.file, cmd.args, { stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
    return child;
  };
  const closeAll = async () => {
    for (const c of children.reverse()) await stopChild(c, 10_000);
  };
  try {
    const consul = start(cmds.consul, 'consul agent -dev');
    await waitForLeader(`http://${opts.host}:${ports.consul.http}/v1/status/leader`, consul, 'consul agent -dev', opts.startTimeoutMs ?? 60_000);
    const nomad = start(cmds.nomad, 'nomad agent -dev');
    await waitForLeader(`http://${opts.host}:${ports.nomad.http}/v1/status/leader`, nomad, 'nomad agent -dev', opts.startTimeoutMs ?? 60_000);
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { nomadPort: ports.nomad.http, consulPort: ports.consul.http, close: closeAll };
}
