/**
 * 5. Tunnel: throughput (one 256 MiB HTTP download) and small-request latency (1,000
 * sequential keep-alive GETs) over four paths to the same loopback HTTP server:
 * direct (the physical limit here), OpenSSH's `ssh -L` through the OpenSSH bastion, and the
 * extension's TunnelManager (its local forward, and its HTTP agent on SSH channels) through
 * the same bastion. Paths take turns within each repeat so drift hits them alike.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { findSshd } from '../src/organizer/providers/bastion';
import { fmt, median, nowMs, quantile, skippedRow, sleep, statRow, stats, type Benchmark, type BenchContext, type Row } from './lib';
import { tunnelTo } from './stack';

const CHUNK = Buffer.alloc(1 << 20, 0x61);

async function startTarget(ctx: BenchContext): Promise<number> {
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/blob')) {
      const mib = Number(new URL(req.url, 'http://x').searchParams.get('mib') ?? 256);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(mib * CHUNK.length) });
      let sent = 0;
      const pump = () => {
        while (sent < mib) {
          sent++;
          if (!res.write(CHUNK)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    const body = '{"ok":true}';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ctx.defer(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return (server.address() as AddressInfo).port;
}

interface Path {
  name: string;
  url: string;
  agent: http.Agent;
}

function download(p: Path, mib: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    let bytes = 0;
    http
      .get(`${p.url}/blob?mib=${mib}`, { agent: p.agent }, (res) => {
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => {
          if (bytes !== mib * CHUNK.length) return reject(new Error(`${p.name}: got ${bytes} bytes`));
          resolve(mib / 1.048576 / ((nowMs() - t0) / 1000)); // MB/s (10^6 bytes)
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function getSmall(p: Path): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    http
      .get(`${p.url}/small`, { agent: p.agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(nowMs() - t0));
      })
      .on('error', reject);
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** `ssh -N -L` with the attendee key and the pinned host key; killed at the end. */
async function opensshForward(ctx: BenchContext, o: { bastionPort: number; privateKey: string; hostPublicKey: string; targetPort: number }): Promise<number> {
  const dir = ctx.tempDir('ssh-client');
  const keyFile = path.join(dir, 'id');
  fs.writeFileSync(keyFile, o.privateKey, { mode: 0o600 });
  const known = path.join(dir, 'known_hosts');
  fs.writeFileSync(known, `[127.0.0.1]:${o.bastionPort} ${o.hostPublicKey.split(' ').slice(0, 2).join(' ')}\n`);
  for (let attempt = 0; ; attempt++) {
    const local = await freePort();
    const proc = spawn('ssh', ['-F', '/dev/null', '-N', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${known}`, '-o', 'ExitOnForwardFailure=yes', '-o', 'IdentitiesOnly=yes', '-i', keyFile, '-p', String(o.bastionPort), '-L', `127.0.0.1:${local}:127.0.0.1:${o.targetPort}`, `${os.userInfo().username}@127.0.0.1`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    ctx.defer(() => new Promise<void>((r) => (proc.exitCode !== null ? r() : (proc.once('exit', () => r()), proc.kill('SIGTERM')))));
    try {
      await Promise.race([waitForPort(local, 10_000), new Promise((_, reject) => proc.once('exit', (c) => reject(new Error(`ssh -L exited ${c}: ${err.trim()}`))))]);
      return local;
    } catch (e) {
      proc.kill('SIGTERM');
      if (attempt >= 2) throw e;
    }
  }
}

export const tunnelBench: Benchmark = {
  id: 'tunnel',
  title: '5. Tunnel throughput and latency',
  async run(ctx) {
    const throughputTarget = 'tunnel ≥ 60% of OpenSSH';
    const latencyTarget = 'tunnel p50 ≤ 1.5× OpenSSH';
    if (!findSshd()) return [skippedRow('tunnel: all', `${throughputTarget}; ${latencyTarget}`, 'OpenSSH sshd is not installed, so there is no OpenSSH side to compare with.')];
    const mib = 256;
    const target = await startTarget(ctx);
    const { tunnel, keys, bastionPort } = await tunnelTo(ctx, 'openssh', { host: '127.0.0.1', port: target }, { host: '127.0.0.1', port: target });
    const sshLocal = await opensshForward(ctx, { bastionPort, privateKey: keys.attendeePrivateKey, hostPublicKey: keys.hostPublicKey, targetPort: target });
    const keepAlive = () => new http.Agent({ keepAlive: true, maxSockets: 1 });
    const paths: Path[] = [
      { name: 'direct loopback', url: `http://127.0.0.1:${target}`, agent: keepAlive() },
      { name: 'OpenSSH ssh -L', url: `http://127.0.0.1:${sshLocal}`, agent: keepAlive() },
      { name: 'TunnelManager local forward', url: tunnel.localUrl('nomad')!, agent: keepAlive() },
      { name: 'TunnelManager HTTP agent', url: 'http://nomad', agent: tunnel.createAgent('nomad') },
    ];
    ctx.defer(() => paths.forEach((p) => p.agent.destroy()));
    // Warm up every path (connections, JIT) before measuring.
    for (const p of paths) {
      await download(p, 16);
      for (let i = 0; i < 50; i++) await getSmall(p);
    }
    const tput = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const p50 = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const p99 = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const ratioT: { fwd: number[]; agent: number[] } = { fwd: [], agent: [] };
    const ratioL: { fwd: number[]; agent: number[] } = { fwd: [], agent: [] };
    const repeats = ctx.quick ? 3 : 5;
    for (let r = 0; r < repeats; r++) {
      const round = new Map<string, { t: number; l: number }>();
      for (const p of paths) {
        const t = await download(p, mib);
        const lat: number[] = [];
        for (let i = 0; i < 1000; i++) lat.push(await getSmall(p));
        tput.get(p.name)!.push(t);
        p50.get(p.name)!.push(quantile(lat, 0.5));
        p99.get(p.name)!.push(quantile(lat, 0.99));
        round.set(p.name, { t, l: quantile(lat, 0.5) });
      }
      const ssh = round.get('OpenSSH ssh -L')!;
      ratioT.fwd.push(round.get('TunnelManager local forward')!.t / ssh.t);
      ratioT.agent.push(round.get('TunnelManager HTTP agent')!.t / ssh.t);
      ratioL.fwd.push(round.get('TunnelManager local forward')!.l / ssh.l);
      ratioL.agent.push(round.get('TunnelManager HTTP agent')!.l / ssh.l);
      ctx.log(`round ${r + 1}/${repeats}: ${paths.map((p) => `${p.name} ${round.get(p.name)!.t.toFixed(0)} MB/s p50 ${round.get(p.name)!.l.toFixed(3)} ms`).join('; ')}`);
    }
    const rows: Row[] = [];
    for (const p of paths) rows.push(statRow(`tunnel: ${p.name} throughput (${mib} MiB)`, tput.get(p.name)!, 'MB/s', '', null, `One ${mib} MiB HTTP download per repeat (${repeats} repeats), MB = 10^6 bytes.`));
    for (const p of paths) rows.push(statRow(`tunnel: ${p.name} GET latency p50`, p50.get(p.name)!, 'ms', '', null, `Median of 1,000 sequential keep-alive GETs of a 11-byte body, per repeat; p99 median ${fmt(median(p99.get(p.name)!), 'ms')}.`));
    const ratioRow = (name: string, v: number[], target: string, pass: (m: number) => boolean, note: string): Row => {
      const s = stats(v);
      return { name, median: `${s.median.toFixed(2)}×`, spread: `${s.min.toFixed(2)}–${s.max.toFixed(2)}× (min–max, n=${s.n})`, target, verdict: pass(s.median) ? 'pass' : 'FAIL', note };
    };
    rows.push(ratioRow('tunnel: throughput ratio TunnelManager forward / OpenSSH', ratioT.fwd, '≥ 0.60×', (m) => m >= 0.6, 'Per-repeat ratio of the figures above, same bastion (OpenSSH sshd), same target.'));
    rows.push(ratioRow('tunnel: throughput ratio TunnelManager agent / OpenSSH', ratioT.agent, '≥ 0.60×', (m) => m >= 0.6, 'The agent path is what the extension\'s own HTTP clients use.'));
    rows.push(ratioRow('tunnel: latency p50 ratio TunnelManager forward / OpenSSH', ratioL.fwd, '≤ 1.5×', (m) => m <= 1.5, 'Per-repeat ratio of the p50s.'));
    rows.push(ratioRow('tunnel: latency p50 ratio TunnelManager agent / OpenSSH', ratioL.agent, '≤ 1.5×', (m) => m <= 1.5, 'Per-repeat ratio of the p50s.'));
    return rows;
  },
};
