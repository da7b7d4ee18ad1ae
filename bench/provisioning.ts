/**
 * 7. Provisioning scale: N real local stacks (each its own `node dist/stack.js` process: a lab
 * cluster, plus sshd when the bastion is OpenSSH) built by the organizer as organizers run it
 * (`node dist/organizer.js serve`, concurrency 8), through the API (POST
 * /v1/workshops/:w/stacks), then torn down the same way. Total time until every stack is ready,
 * peak memory (resident set of the organizer and every process of the stacks), and how both
 * grow with N. Sizes that would not fit this machine's memory, or that quick mode leaves out,
 * are reported as skipped, with the figure that decided it.
 *
 * The organizer runs from dist/, not from source: from source (tsx) the local provider starts
 * each stack through tsx too, which cost about 80 MiB more per stack than the product does.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fmt, nowMs, repoRoot, skippedRow, sleep, type Benchmark, type BenchContext, type Row } from './lib';

/** Summed RSS of the processes whose command line mentions `needle` (the organizer and its stacks). */
function rssOf(needle: string): { totalMiB: number; processes: number; pids: number[] } {
  let out = '';
  try {
    out = execFileSync('ps', ['-eo', 'pid=,rss=,args='], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch {
    return { totalMiB: NaN, processes: 0, pids: [] };
  }
  let kib = 0;
  const pids: number[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (!m || !m[3]!.includes(needle)) continue;
    pids.push(Number(m[1]));
    kib += Number(m[2]);
  }
  return { totalMiB: kib / 1024, processes: pids.length, pids };
}

/** `node dist/organizer.js serve` on a free port with its own data folder, key and token. */
async function startOrganizerProcess(ctx: BenchContext, dataDir: string): Promise<{ url: string; token: string; pid: number }> {
  const token = 'oko_bench-' + crypto.randomBytes(16).toString('hex');
  const keyFile = path.join(ctx.tempDir('provision-key'), 'secret.key');
  fs.writeFileSync(keyFile, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  const proc = spawn(process.execPath, [path.join(repoRoot, 'dist', 'organizer.js'), 'serve', '--port', '0', '--data-dir', dataDir, '--secret-key-file', keyFile, '--concurrency', '8'], {
    cwd: repoRoot,
    env: { ...process.env, OPEN_KITCHEN_ORGANIZER_TOKEN: token, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the organizer did not start within 30 s:\n${output}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the organizer exited (code ${code}):\n${output}`));
    });
  });
  proc.stdout!.resume();
  ctx.defer(
    () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => (clearTimeout(timer), resolve()));
        proc.kill('SIGTERM');
      }),
  );
  return { url, token, pid: proc.pid! };
}

async function call(base: string, token: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(base + p, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

interface SizeResult {
  n: number;
  provisionS: number;
  peakMiB: number;
  idleMiB: number;
  destroyS: number;
  processes: number;
  organizerMiB: number;
}

async function runSize(ctx: BenchContext, n: number): Promise<SizeResult> {
  const dataDir = ctx.tempDir(`provision-${n}`);
  // Whatever happens, no stack process outlives the benchmark: destroy through the service,
  // then (deferred cleanups run last first) stop the organizer, then kill (by pid) anything
  // still running from this data folder.
  ctx.defer(() => {
    for (const pid of rssOf(dataDir).pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  const org = await startOrganizerProcess(ctx, dataDir);
  const token = org.token;
  const name = `bench-${n}`;
  const must = async (method: string, p: string, status: number, body?: unknown) => {
    const r = await call(org.url, token, method, p, body);
    if (r.status !== status) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as Record<string, unknown>;
  };
  await must('POST', '/v1/workshops', 201, { name, title: 'Provisioning benchmark' });
  await must('POST', `/v1/workshops/${name}/attendees`, 200, { attendees: Array.from({ length: n }, (_, i) => ({ email: `p${i}@bench.example`, name: `P ${i}` })) });
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(dataDir).totalMiB)), 500);
  try {
    const t0 = nowMs();
    await must('POST', `/v1/workshops/${name}/stacks`, 202, {});
    for (;;) {
      const st = (await must('GET', `/v1/workshops/${name}/stacks`, 200)) as { stacks: { status: string; statusMessage: string | null }[] };
      if (st.stacks.every((s) => s.status === 'ready')) break;
      const failed = st.stacks.find((s) => s.status === 'failed');
      if (failed) throw new Error(`a stack failed: ${failed.statusMessage}`);
      await sleep(200);
    }
    const provisionS = (nowMs() - t0) / 1000;
    await sleep(2000);
    const idle = rssOf(dataDir);
    const organizerMiB = rssOf(`--data-dir ${dataDir}`).totalMiB;
    peak = Math.max(peak, idle.totalMiB);
    const t1 = nowMs();
    await must('DELETE', `/v1/workshops/${name}/stacks`, 202);
    for (;;) {
      const st = (await must('GET', `/v1/workshops/${name}/stacks`, 200)) as { stacks: { status: string }[] };
      if (st.stacks.every((s) => s.status === 'destroyed' || s.status === 'pending')) break;
      await sleep(200);
    }
    const destroyS = (nowMs() - t1) / 1000;
    return { n, provisionS, peakMiB: peak, idleMiB: idle.totalMiB, destroyS, processes: idle.processes, organizerMiB };
  } finally {
    clearInterval(sampler);
  }
}

export const provisioningBench: Benchmark = {
  id: 'provisioning',
  title: '7. Provisioning scale (local stacks, concurrency 8)',
  async run(ctx) {
    if (!fs.existsSync(path.join(repoRoot, 'dist', 'stack.js'))) throw new Error('dist/stack.js is missing: run `npm run build` first');
    const sizes = [10, 50, 100];
    const rows: Row[] = [];
    const done: SizeResult[] = [];
    for (const n of sizes) {
      if (ctx.quick && n > 10) {
        rows.push(skippedRow(`provisioning: ${n} stacks`, '', 'quick mode builds 10 stacks only; run without --quick for 50 and 100.'));
        continue;
      }
      const perStack = done.length ? (done[done.length - 1]!.idleMiB / done[done.length - 1]!.n) : 0;
      const need = perStack * n * 1.3;
      const avail = os.freemem() / 2 ** 20;
      if (need > avail * 0.7) {
        rows.push(skippedRow(`provisioning: ${n} stacks`, '', `would need about ${need.toFixed(0)} MiB (${perStack.toFixed(0)} MiB a stack measured at ${done[done.length - 1]!.n}); ${avail.toFixed(0)} MiB free.`));
        continue;
      }
      ctx.log(`building ${n} stacks…`);
      const r = await runSize(ctx, n);
      ctx.log(`${n} stacks ready in ${r.provisionS.toFixed(1)} s, peak ${r.peakMiB.toFixed(0)} MiB, destroyed in ${r.destroyS.toFixed(1)} s`);
      done.push(r);
      const base = done[0]!;
      const growth = done.length > 1 ? `; ×${(r.provisionS / base.provisionS).toFixed(2)} time and ×${(r.peakMiB / base.peakMiB).toFixed(2)} memory for ×${(r.n / base.n).toFixed(0)} stacks vs ${base.n}` : '';
      rows.push({ name: `provisioning: ${n} stacks, total time`, median: fmt(r.provisionS, 's'), spread: `${fmt(r.provisionS / n, 's')}/stack`, target: '', verdict: 'info', note: `One run (a size is too costly to repeat here): POST /v1/workshops/:w/stacks until every stack is ready, \`node dist/organizer.js serve\` with the real local provider (one \`node dist/stack.js\` per stack, plus sshd for an OpenSSH bastion), concurrency 8${growth}. Teardown took ${fmt(r.destroyS, 's')}.` });
      rows.push({ name: `provisioning: ${n} stacks, peak memory`, median: fmt(r.peakMiB, 'MiB'), spread: `${fmt(r.idleMiB / n, 'MiB')}/stack idle`, target: '', verdict: 'info', note: `Peak of the summed resident set of the organizer process and every process of the stacks (${r.processes} processes in all, found by their data folder), sampled every 0.5 s; per stack at rest: ${fmt((r.idleMiB - r.organizerMiB) / n, 'MiB')} (the organizer alone ${fmt(r.organizerMiB, 'MiB')}).` });
    }
    return rows;
  },
};
