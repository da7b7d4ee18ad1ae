/**
 * 3. Change latency: a lab cluster (own process) behind a real bastion (ssh2 and OpenSSH),
 * the ClusterModel riding TunnelManager's HTTP agents; time from asking the lab cluster for a
 * change to the model's onDidChange showing it. Two kinds of change, interleaved: a node goes
 * down / comes back (/_lab/node/:id/down|up; the model sees it through a blocking query on
 * /v1/nodes) and an allocation is stopped (/v1/allocation/:id/stop; seen through the event stream).
 */
import { parseJobHCL } from '../src/labcluster/jobspec';
import type { ClusterModel } from '../src/cluster';
import { nowMs, quantile, sleep, stats, fmt, type Benchmark, type Row } from './lib';
import { startLabChild } from './procs';
import { bastionKinds, modelThrough, tunnelTo } from './stack';

const JOB = `
job "bench-web" {
  datacenters = ["dc1"]
  type = "service"
  group "web" {
    count = 6
    task "web" {
      driver = "docker"
      config {
        image = "nginx:1.27.3"
      }
      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
`;

async function post(url: string, body?: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** Starts the change, resolves with ms until the model's change event shows it. */
function measure(model: ClusterModel, start: () => Promise<void>, done: () => boolean, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const timer = setTimeout(() => (sub.dispose(), reject(new Error(`the model did not show ${what} within 10 s`))), 10_000);
    const sub = model.onDidChange(() => {
      if (!done()) return;
      const ms = nowMs() - t0;
      clearTimeout(timer);
      sub.dispose();
      resolve(ms);
    });
    start().catch((err) => (clearTimeout(timer), sub.dispose(), reject(err)));
  });
}

function pctRow(name: string, values: number[], q: number, target: number, note: string): Row {
  const v = quantile(values, q);
  const s = stats(values);
  return { name, median: fmt(v, 'ms'), spread: `${fmt(s.min, 'ms')}–${fmt(s.max, 'ms')} (min–max, n=${s.n})`, target: `< ${target} ms`, verdict: v < target ? 'pass' : 'FAIL', note };
}

export const latencyBench: Benchmark = {
  id: 'latency',
  title: '3. Change latency through an SSH tunnel',
  async run(ctx) {
    const changes = ctx.quick ? 30 : 100;
    const rows: Row[] = [];
    for (const kind of bastionKinds()) {
      const lab = await startLabChild(ctx);
      const job = await parseJobHCL(JOB, { canonicalize: true, filename: 'bench-web.nomad.hcl' });
      await post(`${lab.nomadUrl}/v1/jobs`, { Job: job });
      const { tunnel } = await tunnelTo(ctx, kind, { host: '127.0.0.1', port: lab.nomadPort }, { host: '127.0.0.1', port: lab.consulPort });
      const model = await modelThrough(ctx, tunnel);
      await model.waitFor((m) => m.getAllocations('default/bench-web').filter((a) => a.clientStatus === 'running').length >= 6, 'the job to run', 30_000);
      const node = model.getNodes().find((n) => n.datacenter === 'dc1' && n.status === 'ready')!;
      const nodeMs: number[] = [];
      const allocMs: number[] = [];
      let down = false;
      for (let i = 0; i < changes; i++) {
        if (i % 2 === 0) {
          const target = down ? 'ready' : 'down';
          nodeMs.push(await measure(model, () => post(`${lab.adminUrl}/node/${node.id}/${down ? 'up' : 'down'}`), () => model.getNode(node.id)?.status === target, `node ${target}`));
          down = !down;
        } else {
          const a = model.getAllocations('default/bench-web').find((x) => x.clientStatus === 'running' && x.desiredStatus === 'run');
          if (!a) {
            await model.waitFor((m) => m.getAllocations('default/bench-web').some((x) => x.clientStatus === 'running' && x.desiredStatus === 'run'), 'a running allocation');
            i--;
            continue;
          }
          allocMs.push(await measure(model, () => post(`${lab.nomadUrl}/v1/allocation/${a.id}/stop`), () => model.getAllocation(a.id)?.desiredStatus === 'stop', 'the stopped allocation'));
        }
        // Let the scheduler's follow-up (replacements, lost allocations) settle between changes.
        await sleep(150);
      }
      const all = [...nodeMs, ...allocMs];
      const how = `${all.length} changes via a ${kind} bastion (${nodeMs.length} node down/up, ${allocMs.length} allocation stops, 150 ms apart); from sending the change request to the lab cluster to the model's onDidChange showing it.`;
      rows.push(pctRow(`latency (${kind} tunnel): p50, all changes`, all, 0.5, 100, how));
      rows.push(pctRow(`latency (${kind} tunnel): p99, all changes`, all, 0.99, 300, 'Same samples.'));
      rows.push({ name: `latency (${kind} tunnel): node down/up p50 / p99`, median: `${fmt(quantile(nodeMs, 0.5), 'ms')} / ${fmt(quantile(nodeMs, 0.99), 'ms')}`, spread: '', target: '', verdict: 'info', note: 'Blocking query on /v1/nodes returning.' });
      rows.push({ name: `latency (${kind} tunnel): allocation stop p50 / p99`, median: `${fmt(quantile(allocMs, 0.5), 'ms')} / ${fmt(quantile(allocMs, 0.99), 'ms')}`, spread: '', target: '', verdict: 'info', note: 'Event stream delivering the allocation update.' });
      await model.dispose();
      await tunnel.dispose();
    }
    return rows;
  },
};
