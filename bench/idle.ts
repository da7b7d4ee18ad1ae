/**
 * 2. Idle cost: the ClusterModel (blocking queries + event stream) in its own process against
 * a lab cluster in another, through counting proxies, while nothing changes; versus a
 * reference client that polls /v1/jobs, /v1/allocations and /v1/nodes every 2 s (the way
 * peer extensions do), counted by its own proxy over the same window.
 */
import * as http from 'node:http';
import { fmt, statRow, type Benchmark, type Row } from './lib';
import { CountingProxy, firstMessage, forkTs, startLabChild } from './procs';

function get(url: string, agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
}

export const idleBench: Benchmark = {
  id: 'idle',
  title: '2. Idle cost',
  async run(ctx) {
    const windowMs = ctx.quick ? 20_000 : 60_000;
    const SETTLE = 30_000;
    const lab = await startLabChild(ctx);
    const labSettledMs = await lab.waitQuiet();
    const modelNomad = await new CountingProxy(lab.nomadUrl).start();
    const modelConsul = await new CountingProxy(lab.consulUrl).start();
    const refNomad = await new CountingProxy(lab.nomadUrl).start();
    ctx.defer(() => Promise.all([modelNomad.close(), modelConsul.close(), refNomad.close()]).then(() => undefined));

    const child = await forkTs(ctx, 'child-model.ts', [JSON.stringify({ nomadUrl: modelNomad.url, consulUrl: modelConsul.url, settleMs: SETTLE, windowMs })]);
    const ready = await firstMessage<{ allocations: number; nodes: number }>(child, 'the model process');
    ctx.log(`model loaded ${ready.nodes} nodes, ${ready.allocations} allocations; settling, then a ${windowMs / 1000} s window (lab cluster quiet after ${(labSettledMs / 1000).toFixed(1)} s)`);
    const loadRequests = modelNomad.count + modelConsul.count;
    const { settledMs } = await firstMessage<{ settledMs: number }>(child, 'the model process', SETTLE + 10_000);
    modelNomad.reset();
    modelConsul.reset();
    refNomad.reset();
    const labCpu0 = await lab.cpuMs();

    // The reference client: three list reads every 2 s, each its full response read.
    const agent = new http.Agent({ keepAlive: true });
    const refCpu0 = process.cpuUsage();
    const poll = async () => {
      await Promise.all(['/v1/jobs', '/v1/allocations', '/v1/nodes'].map((p) => get(refNomad.url + p, agent)));
    };
    void poll();
    const timer = setInterval(() => void poll(), 2000);
    const result = await firstMessage<{ cpuMs: number; eluActiveMs: number; changes: number; perSecond: number[] }>(child, 'the model process', windowMs + 30_000);
    clearInterval(timer);
    const refCpu = process.cpuUsage(refCpu0);
    agent.destroy();
    const labCpu = (await lab.cpuMs()) - labCpu0;

    const perMin = (n: number) => (n * 60_000) / windowMs;
    const modelReq = modelNomad.count + modelConsul.count;
    const refReq = refNomad.count;
    const paths = [...modelNomad.byPath, ...modelConsul.byPath].map(([p, n]) => `${p}×${n}`).join(', ') || 'none';
    const rows: Row[] = [];
    rows.push({ name: 'idle: extension model requests/min (Nomad+Consul)', median: fmt(perMin(modelReq), 'req/min'), spread: '', target: '', verdict: 'info', note: `${modelReq} requests in a ${windowMs / 1000} s window with no cluster change (${paths}); ${loadRequests} requests to load ${ready.nodes} nodes / ${ready.allocations} allocations before it. One window, so no spread.` });
    rows.push({ name: 'idle: reference poller requests/min (2 s interval)', median: fmt(perMin(refReq), 'req/min'), spread: '', target: '', verdict: 'info', note: 'GET /v1/jobs, /v1/allocations, /v1/nodes every 2 s over the same window, counted by its own proxy.' });
    const ratio = modelReq === 0 ? Infinity : refReq / modelReq;
    rows.push({
      name: 'idle: request ratio reference / extension',
      median: modelReq === 0 ? `∞ (${refReq} vs 0)` : `${ratio.toFixed(1)}×`,
      spread: '',
      target: '≥ 10× fewer',
      verdict: ratio >= 10 ? 'pass' : 'FAIL',
      note: 'Ratio of the two counts above, same window.',
    });
    const cpuPerMin = (result.cpuMs * 60_000) / windowMs;
    rows.push({
      name: 'idle: extension model CPU while idle',
      median: fmt(cpuPerMin, 'ms CPU/min'),
      spread: '',
      target: 'no busy work (< 60 ms/min = 0.1% core)',
      verdict: cpuPerMin < 60 ? 'pass' : 'FAIL',
      note: `process.cpuUsage() of the model's own process over the window (user+system ${result.cpuMs.toFixed(1)} ms; event loop active ${result.eluActiveMs.toFixed(1)} ms; ${result.changes} change events; ms CPU per second: ${result.perSecond.join(' ')}). Includes Node's own idle housekeeping. The window started once the process was quiet after loading (${(settledMs / 1000).toFixed(1)} s).`,
    });
    rows.push({ name: 'idle: reference poller CPU (client side)', median: fmt((((refCpu.user + refCpu.system) / 1000) * 60_000) / windowMs, 'ms CPU/min'), spread: '', target: '', verdict: 'info', note: 'process.cpuUsage() of the bench process (poller + the three counting proxies) over the same window.' });
    rows.push({ name: 'idle: lab cluster CPU serving both', median: fmt((labCpu * 60_000) / windowMs, 'ms CPU/min'), spread: '', target: '', verdict: 'info', note: 'The lab cluster process over the same window: the server-side cost the poller causes.' });
    void statRow;
    return rows;
  },
};
