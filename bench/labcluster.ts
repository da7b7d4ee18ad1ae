/**
 * 8. Lab cluster: placing a 2,000-allocation service job (the scheduler's evaluation, timed
 * in process, and register-to-placed over HTTP), and the CPU a lab cluster process spends
 * holding 500 blocking queries while nothing changes, against the same process idle with none.
 */
import * as http from 'node:http';
import { parseJobHCL } from '../src/labcluster/jobspec';
import { startLabCluster } from '../src/labcluster';
import { fmt, nowMs, sleep, statRow, type Benchmark, type Row } from './lib';
import { startLabChild } from './procs';

const COUNT = 2000;

const jobHcl = (id: string) => `
job "${id}" {
  datacenters = ["dc1"]
  type = "service"
  group "app" {
    count = ${COUNT}
    task "app" {
      driver = "docker"
      config {
        image = "nginx:1.27.3"
      }
      resources {
        cpu    = 5
        memory = 12
      }
    }
  }
}
`;

interface Reply {
  EvalID: string;
  Status: string;
  FailedTGAllocs?: unknown;
  length: number;
}

async function json(url: string, init?: RequestInit): Promise<{ body: Reply; index: number }> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${text}`);
  return { body: text ? JSON.parse(text) : undefined, index: Number(res.headers.get('x-nomad-index') ?? 0) };
}

export const labclusterBench: Benchmark = {
  id: 'labcluster',
  title: '8. Lab cluster: placement and blocking queries',
  async run(ctx) {
    const rows: Row[] = [];
    const evalMs: number[] = [];
    const e2eMs: number[] = [];
    for (let r = 0; r < ctx.repeats; r++) {
      const lab = await startLabCluster({ host: '127.0.0.1', nomadPort: 0, consulPort: 0, consulJob: false });
      try {
        const nomad = lab.nomad as unknown as { processEval(id: string): void };
        const original = nomad.processEval.bind(nomad);
        let evalTime = NaN;
        let target = '';
        nomad.processEval = (id: string) => {
          const t0 = nowMs();
          original(id);
          if (id === target) evalTime = nowMs() - t0;
        };
        const id = `big-${r}`;
        const job = await parseJobHCL(jobHcl(id), { canonicalize: true, filename: `${id}.nomad.hcl` });
        const t0 = nowMs();
        const reg = await json(`${lab.nomadUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Job: job }) });
        target = reg.body.EvalID;
        // Blocking queries on the evaluation until the scheduler has placed the job.
        let index = 0;
        for (;;) {
          const e = await json(`${lab.nomadUrl}/v1/evaluation/${target}${index ? `?index=${index}&wait=30s` : ''}`);
          index = e.index;
          if (e.body.Status === 'complete' || e.body.Status === 'failed' || e.body.Status === 'blocked') {
            if (e.body.Status !== 'complete') throw new Error(`evaluation ${e.body.Status}: ${JSON.stringify(e.body.FailedTGAllocs ?? {}).slice(0, 300)}`);
            break;
          }
        }
        e2eMs.push(nowMs() - t0);
        const allocs = await json(`${lab.nomadUrl}/v1/job/${id}/allocations`);
        if (allocs.body.length !== COUNT) throw new Error(`placed ${allocs.body.length} of ${COUNT} allocations`);
        evalMs.push(evalTime);
      } finally {
        await lab.close();
      }
    }
    rows.push(statRow(`lab cluster: placement of ${COUNT} allocations (scheduler)`, evalMs, 'ms', '< 200 ms', (m) => m < 200, `Default topology (6 clients); the evaluation's processEval (reconcile, feasibility and scoring of every placement, plan applied) timed in process; fresh cluster per repeat.`));
    rows.push(statRow(`lab cluster: register → evaluation complete over HTTP`, e2eMs, 'ms', '', null, 'POST /v1/jobs, then blocking queries on /v1/evaluation/:id until complete; includes the simulated scheduler delay (stepMs/2 = 12.5 ms).'));

    // 500 blocking queries held open against a lab cluster in its own process.
    const windowMs = ctx.quick ? 10_000 : 20_000;
    const lab = await startLabChild(ctx);
    const settledS = (await lab.waitQuiet()) / 1000;
    const idle0 = await lab.cpuMs();
    await sleep(windowMs);
    const idleCpu = (await lab.cpuMs()) - idle0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 600 });
    ctx.defer(() => agent.destroy());
    const paths = ['/v1/jobs', '/v1/nodes', '/v1/allocations', '/v1/evaluations', '/v1/deployments'];
    const first = await json(`${lab.nomadUrl}/v1/jobs`);
    const reqs: http.ClientRequest[] = [];
    let answered = 0;
    for (let i = 0; i < 500; i++) {
      const req = http.get(`${lab.nomadUrl}${paths[i % paths.length]}?index=${first.index + 1000}&wait=300s`, { agent }, (res) => {
        answered++;
        res.resume();
      });
      req.on('error', () => undefined);
      reqs.push(req);
    }
    await sleep(2000); // all 500 parked
    const held0 = await lab.cpuMs();
    await sleep(windowMs);
    const heldCpu = (await lab.cpuMs()) - held0;
    for (const r of reqs) r.destroy();
    const perMin = (ms: number) => (ms * 60_000) / windowMs;
    rows.push({
      name: 'lab cluster: CPU with 500 blocking queries held, idle',
      median: fmt(perMin(heldCpu), 'ms CPU/min'),
      spread: `vs ${fmt(perMin(idleCpu), 'ms/min')} with none`,
      target: 'no CPU while idle (< 60 ms/min)',
      verdict: perMin(heldCpu) < 60 ? 'pass' : 'FAIL',
      note: `The lab cluster process's cpuUsage over a ${windowMs / 1000} s window with 500 parked GETs (${paths.join(', ')}, wait=300s; ${answered} answered early) and, before them in the same process, an equal window with none, once the process was quiet after start-up (${settledS.toFixed(1)} s). One window each.`,
    });
    return rows;
  },
};
