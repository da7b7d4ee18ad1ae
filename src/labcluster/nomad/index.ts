// The Nomad model of the lab cluster, laid out as Nomad's source is: the objects
// (./structs, nomad/structs), the state store (./state, nomad/state), the scheduler
// (./scheduler, scheduler/), the plan applier, deployment watcher, drainer and GC (nomad/), the
// client (./client, client/), the JSON views (./stubs, api/) and the plan diff (./diff,
// nomad/structs/diff.go). LabNomad (./server) ties them together; the HTTP API is ./agent.
export { LabNomad } from './server';
export { REGION, NotFound, BadRequest, isTerminal, allocIndex } from './structs';
export type { StoredJob, AllocPort, LabAlloc, Evaluation, Deployment, AllocMetric, DesiredUpdates, LabNomadOptions } from './structs';
export type { PlanResult } from './scheduler/context';
