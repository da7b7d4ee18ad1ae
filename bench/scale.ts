/**
 * 4. Scale of the views: 10,000 allocations over 500 nodes (40 jobs × 2 task groups) fed
 * straight into a ClusterModel, then the Cluster and Allocations trees built from it with the
 * presenters of src/cluster/presentation; then single allocation updates. The model has no
 * public feeding API (it feeds itself over HTTP), so the list and event handlers the watchers
 * call are invoked directly: that is exactly the work a load or an event costs, minus the wire.
 * A second figure loads the same cluster end to end over loopback HTTP (the unit tests' fake
 * Nomad), JSON and schema validation included.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { z } from 'zod';
import { ClusterModel, NomadClient, type ClusterChange } from '../src/cluster';
import { nomadAllocationSchema, nomadJobStubSchema, nomadNodeStubSchema } from '../src/cluster/schemas';
import { affectedJobs, allocationNode, allocationRoots, buildAllocationNodes, clusterRoots, groupAllocations, groupNode, isTreeState, jobGroups, jobNode, type ConnectionView } from '../src/views';
import { FakeCluster, allocation, jobStub, nodeStub, taskState } from '../test/unit/cluster-fixture';
import { fmt, nowMs, statRow, type Benchmark, type Row } from './lib';

const NODES = 500;
const JOBS = 40;
const GROUPS = ['api', 'worker'];
const ALLOCS = 10_000;
const ZONES = ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'];

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function fixture() {
  const nodes = Array.from({ length: NODES }, (_, i) => nodeStub(i, 'dc1', { Name: `client-${String(i).padStart(3, '0')}`, Attributes: { 'platform.gce.zone': ZONES[i % ZONES.length] } }));
  const jobs = Array.from({ length: JOBS }, (_, j) => jobStub(`job-${String(j).padStart(2, '0')}`, GROUPS));
  const allocs = Array.from({ length: ALLOCS }, (_, n) => {
    const job = `job-${String(n % JOBS).padStart(2, '0')}`;
    const group = GROUPS[Math.floor(n / JOBS) % GROUPS.length]!;
    const failed = n % 20 === 0;
    return allocation(n + 1, job, group, nodes[n % NODES]!, failed ? { ClientStatus: 'failed', TaskStates: { web: taskState('dead', { failed: true, restarts: 2, events: [['Driver Failure', 'failed to pull image']] }) } } : {});
  });
  return { nodes, jobs, allocs };
}

type Feedable = {
  replaceNodes(n: unknown[]): void;
  replaceJobs(j: unknown[]): void;
  replaceAllocations(a: unknown[]): void;
  applyAllocationEvents(e: unknown[]): void;
  flush(): void;
};

const connected: ConnectionView = { state: 'connected' };

export const scaleBench: Benchmark = {
  id: 'scale',
  title: '4. Scale of the views (10,000 allocations, 500 nodes)',
  async run(ctx) {
    const raw = fixture();
    const nomad = new NomadClient({ baseUrl: 'http://127.0.0.1:9' });
    const validateMs: number[] = [];
    const ingestMs: number[] = [];
    const treesMs: number[] = [];
    const fullMs: number[] = [];
    const updateMs: number[] = [];
    const handlerMs: number[] = [];
    const memMb: number[] = [];
    let treeRows = 0;
    for (let r = 0; r < ctx.repeats; r++) {
      gc();
      const heap0 = process.memoryUsage().heapUsed;
      const t0 = nowMs();
      const nodes = z.array(nomadNodeStubSchema).parse(raw.nodes);
      const jobs = z.array(nomadJobStubSchema).parse(raw.jobs);
      const allocs = z.array(nomadAllocationSchema).parse(raw.allocs);
      const t1 = nowMs();
      const model = new ClusterModel({ nomad });
      const feed = model as unknown as Feedable;
      feed.replaceNodes(nodes);
      feed.replaceJobs(jobs);
      feed.replaceAllocations(allocs);
      feed.flush();
      const t2 = nowMs();
      const snapshot = model.snapshot();
      const clusterRows = clusterRoots(connected, snapshot);
      const clusterTree = isTreeState(clusterRows) ? [] : clusterRows;
      const allocTree = buildAllocationNodes(connected, snapshot);
      const t3 = nowMs();
      validateMs.push(t1 - t0);
      ingestMs.push(t2 - t1);
      treesMs.push(t3 - t2);
      fullMs.push(t3 - t1);
      const count = (ns: { children?: unknown[] }[]): number => ns.reduce((s, n) => s + 1 + (n.children ? count(n.children as { children?: unknown[] }[]) : 0), 0);
      treeRows = count(clusterTree) + count(allocTree);
      gc();
      memMb.push((process.memoryUsage().heapUsed - heap0) / 2 ** 20);
      void [clusterTree, allocTree, snapshot];

      // One allocation update: the event handler, the change event, and re-rendering the one
      // job node it touches the way the lazy Allocations view does (expanded groups included).
      let last: ClusterChange | undefined;
      const sub = model.onDidChange((c) => (last = c));
      const updates = 200;
      for (let u = 0; u < updates; u++) {
        const base = raw.allocs[(u * 37) % ALLOCS]!;
        const next: Record<string, unknown> = { ...base, ClientStatus: u % 2 ? 'running' : 'failed', ModifyIndex: 1000 + r * updates + u };
        const u0 = nowMs();
        feed.applyAllocationEvents([{ Topic: 'Allocation', Type: 'AllocationUpdated', Key: next['ID'], Payload: { Allocation: next } }]);
        feed.flush();
        const u1 = nowMs();
        const { jobKeys } = affectedJobs(last!, model, () => undefined);
        const now = Date.now();
        for (const key of jobKeys) {
          const job = model.getJob(key)!;
          jobNode(job);
          for (const g of jobGroups(model, job, {})) {
            const { all, shown } = groupAllocations(model, key, g, {});
            groupNode(key, g, all);
            shown.map((a) => allocationNode(a, now));
          }
        }
        allocationRoots(connected, model);
        updateMs.push(nowMs() - u0);
        handlerMs.push(u1 - u0);
      }
      sub.dispose();
      await model.dispose();
    }
    const rows: Row[] = [];
    const presenters = 'src/views (clusterRoots, buildAllocationNodes: everything expanded)';
    rows.push(statRow('scale: full build (model ingest + both trees)', fullMs, 'ms', '< 50 ms', (m) => m < 50, `Model fed ${NODES} nodes, ${JOBS} jobs, ${ALLOCS} allocations through its list handlers, then snapshot() and the trees of ${presenters}: ${treeRows} tree items (task groups over 200 allocations show 200 and a "more" item). Schema validation is the next row.`));
    rows.push(statRow('scale: model ingest alone', ingestMs, 'ms', '', null, 'replaceNodes/replaceJobs/replaceAllocations + the change event.'));
    rows.push(statRow('scale: both trees alone (snapshot + build)', treesMs, 'ms', '', null, 'model.snapshot() and the two eager tree builds.'));
    rows.push(statRow('scale: zod validation of the three lists', validateMs, 'ms', '', null, 'What NomadClient does to each list response before the model sees it (not in the full-build figure).'));
    rows.push(statRow('scale: one allocation update', updateMs, 'ms', '< 2 ms', (m) => m < 2, `${updateMs.length} updates (200 per repeat): event handler (with its schema check), change event, affectedJobs, and re-rendering the touched job (its groups and up to 200 allocation items).`));
    rows.push(statRow('scale: one allocation update, model part', handlerMs, 'ms', '', null, 'The event handler (schema check + upsert) and the change event, without re-rendering.'));
    rows.push(statRow('scale: memory growth (heap, after GC)', memMb, 'MiB', '< 50 MiB', (m) => m < 50, 'heapUsed after a forced GC with the model, snapshot and both trees alive, minus before (raw fixture excluded).'));

    // End to end: the same cluster served by the unit tests' fake Nomad over loopback HTTP.
    const fake = await new FakeCluster().start();
    ctx.defer(() => fake.close());
    fake.nodes = raw.nodes;
    fake.jobs = raw.jobs;
    for (const a of raw.allocs) fake.allocs.set(a['ID'] as string, a);
    const loadMs: number[] = [];
    for (let r = 0; r < Math.min(ctx.repeats, 5); r++) {
      const m = new ClusterModel({ nomad: new NomadClient({ baseUrl: fake.url }) });
      const t0 = nowMs();
      m.start();
      await m.waitFor((x) => x.nomadStatus.state === 'ready' && x.allocationCount === ALLOCS, 'the model to load', 60_000);
      loadMs.push(nowMs() - t0);
      await m.dispose();
    }
    rows.push(statRow('scale: load over loopback HTTP (fake Nomad)', loadMs, 'ms', '', null, `model.start() to ready with all ${ALLOCS} allocations: HTTP, JSON, validation and ingest (no trees).`));
    void fmt;
    return rows;
  },
};
