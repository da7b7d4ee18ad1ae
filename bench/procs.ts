/** Child processes and an HTTP proxy that counts requests, shared by the benchmarks. */
import { fork, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { repoRoot, type BenchContext } from './lib';

export interface LabChild {
  proc: ChildProcess;
  nomadUrl: string;
  consulUrl: string;
  nomadPort: number;
  consulPort: number;
  adminUrl: string;
  /** The lab cluster process's CPU time so far, in ms. */
  cpuMs(): Promise<number>;
  /**
   * Resolves once the lab cluster has used under 2 ms CPU in each of `quietS` consecutive
   * seconds (start-up leaves work behind: the Consul job's placement and deployment), at
   * most `maxMs`; returns how long that took.
   */
  waitQuiet(quietS?: number, maxMs?: number): Promise<number>;
}

const bundles = new Map<string, Promise<string>>();

/**
 * Bundles a TypeScript child module with esbuild and forks it under plain `node` with IPC
 * (tsx's loader thread alone burns ~6 ms CPU a second, which would drown idle figures).
 * Killed at the end of the benchmark.
 */
export async function forkTs(ctx: BenchContext, file: string, args: string[]): Promise<ChildProcess> {
  let out = bundles.get(file);
  if (!out) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-bench-child-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const outfile = path.join(dir, file.replace(/\.ts$/, '.cjs'));
    out = build({
      entryPoints: [path.join(__dirname, file)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile,
      external: ['better-sqlite3', 'fastify', '@fastify/*', 'nodemailer', '@cdktf/hcl2json', 'cpu-features', '*.node'],
      logLevel: 'silent',
      sourcemap: 'inline',
    }).then(() => outfile);
    bundles.set(file, out);
  }
  const proc = fork(await out, args, { execArgv: (process.env.BENCH_CHILD_NODE_FLAGS ?? '').split(' ').filter(Boolean), cwd: repoRoot, env: { ...process.env, NODE_PATH: path.join(repoRoot, 'node_modules') }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  ctx.defer(
    () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => (clearTimeout(timer), resolve()));
        if (proc.connected) proc.disconnect();
        else proc.kill('SIGTERM');
      }),
  );
  return proc;
}

export function firstMessage<T>(proc: ChildProcess, what: string, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null) => (clearTimeout(timer), reject(new Error(`${what} exited (code ${code}) before answering`)));
    proc.once('exit', onExit);
    proc.once('message', (m) => {
      clearTimeout(timer);
      proc.off('exit', onExit);
      resolve(m as T);
    });
  });
}

export async function startLabChild(ctx: BenchContext, opts: Record<string, unknown> = {}): Promise<LabChild> {
  const proc = await forkTs(ctx, 'child-labcluster.ts', [JSON.stringify(opts)]);
  const info = await firstMessage<Omit<LabChild, 'proc' | 'cpuMs'>>(proc, 'the lab cluster process');
  const child: LabChild = {
    proc,
    ...info,
    waitQuiet: async (quietS = 10, maxMs = 45_000) => {
      const start = Date.now();
      let c = await child.cpuMs();
      for (let quiet = 0; quiet < quietS && Date.now() - start < maxMs; ) {
        await new Promise((r) => setTimeout(r, 1000));
        const c2 = await child.cpuMs();
        quiet = c2 - c < 2 ? quiet + 1 : 0;
        c = c2;
      }
      return Date.now() - start;
    },
    cpuMs: async () => {
      const p = new Promise<{ cpu: NodeJS.CpuUsage }>((resolve) => {
        const on = (m: { cpu?: NodeJS.CpuUsage }) => {
          if (!m.cpu) return;
          proc.off('message', on);
          resolve(m as { cpu: NodeJS.CpuUsage });
        };
        proc.on('message', on);
      });
      proc.send({ cpu: true });
      const { cpu } = await p;
      return (cpu.user + cpu.system) / 1000;
    },
  };
  return child;
}

/** A pass-through HTTP proxy to one upstream that counts the requests it forwards. */
export class CountingProxy {
  count = 0;
  readonly byPath = new Map<string, number>();
  private server: http.Server | undefined;
  private readonly agent = new http.Agent({ keepAlive: true });
  url = '';

  constructor(private readonly upstream: string) {}

  async start(): Promise<this> {
    const up = new URL(this.upstream);
    this.server = http.createServer((req, res) => {
      this.count++;
      const p = (req.url ?? '').split('?')[0]!;
      this.byPath.set(p, (this.byPath.get(p) ?? 0) + 1);
      const out = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers, agent: this.agent }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      out.on('error', () => res.destroy());
      res.on('close', () => out.destroy());
      req.pipe(out);
    });
    this.server.requestTimeout = 0;
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  reset(): void {
    this.count = 0;
    this.byPath.clear();
  }

  async close(): Promise<void> {
    this.agent.destroy();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
