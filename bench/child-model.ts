/**
 * The extension's ClusterModel alone in a process (forked with tsx), for the idle benchmark:
 * loads, settles until quiet, then measures its own CPU time and event-loop use over a window in which
 * the cluster does not change. IPC: → `{ ready }`, → `{ windowStart }`, → result.
 * argv[2]: JSON `{ nomadUrl, consulUrl, settleMs, windowMs }`.
 */
import { performance } from 'node:perf_hooks';
import { ClusterModel, ConsulClient, NomadClient } from '../src/cluster';

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2]!) as { nomadUrl: string; consulUrl: string; settleMs: number; windowMs: number };
  const model = new ClusterModel({ nomad: new NomadClient({ baseUrl: o.nomadUrl }), consul: new ConsulClient({ baseUrl: o.consulUrl }) });
  let changes = 0;
  model.onDidChange(() => changes++);
  model.start();
  await model.waitFor((m) => m.nomadStatus.state === 'ready' && m.consulStatus.state === 'ready', 'the model to load', 30_000);
  process.send!({ ready: true, allocations: model.allocationCount, nodes: model.getNodes().length });
  // Settle: start-up leaves work behind (V8's memory reducer runs two full GCs about 8 s after
  // the load, seen with --trace-gc); wait at least 12 s and until three 1 s intervals in a row
  // use under 2 ms CPU, at most settleMs.
  const settleStart = Date.now();
  await new Promise((r) => setTimeout(r, 12_000));
  for (let quiet = 0; quiet < 3 && Date.now() - settleStart < o.settleMs; ) {
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const c = process.cpuUsage(c0);
    quiet = (c.user + c.system) / 1000 < 2 ? quiet + 1 : 0;
  }
  changes = 0;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  process.send!({ windowStart: true, settledMs: Date.now() - settleStart });
  // Per-second CPU too, so a one-off (a GC) can be told from a steady cost.
  const perSecond: number[] = [];
  let last = process.cpuUsage();
  const sampler = setInterval(() => {
    const c = process.cpuUsage(last);
    last = process.cpuUsage();
    perSecond.push(Math.round((c.user + c.system) / 100) / 10);
  }, 1000);
  await new Promise((r) => setTimeout(r, o.windowMs));
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  process.send!({ cpuMs: (cpu.user + cpu.system) / 1000, eluActiveMs: elu.active, changes, perSecond });
  await model.dispose();
  process.exit(0);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
