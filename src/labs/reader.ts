/**
 * What the checks read from the cluster and the workspace: a small interface so checks run
 * against fixtures in unit tests and against the live cluster (./httpReader) in the extension.
 * The converters turn Nomad/Consul JSON (documented field names) into these flat records.
 */

export interface LabTask {
  name: string;
  driver: string;
  /** Docker image reference (config.image), when the task has one. */
  image?: string;
}

export interface LabJob {
  id: string;
  type: string;
  /** pending | running | dead */
  status: string;
  stop: boolean;
  datacenters: string[];
  groups: { name: string; count: number; tasks: LabTask[] }[];
}

export interface LabTaskState {
  name: string;
  /** pending | running | dead */
  state: string;
  failed: boolean;
  /** The last task event in words (DisplayMessage, else Type). */
  lastEvent?: string;
  /** The last event that failed the task, if any. */
  failure?: string;
}

export interface LabAllocation {
  id: string;
  /** `<job>.<group>[<index>]` */
  name: string;
  jobId: string;
  group: string;
  nodeId: string;
  nodeName: string;
  /** pending | running | complete | failed | lost | unknown */
  clientStatus: string;
  /** run | stop | evict */
  desiredStatus: string;
  clientDescription?: string;
  tasks: LabTaskState[];
  /** Unix nanoseconds. */
  createTime: number;
}

export interface LabNode {
  id: string;
  name: string;
  datacenter: string;
  /** The node's availability zone (attribute platform.gce.zone), when it reports one. */
  zone?: string;
  /** initializing | ready | down | disconnected */
  status: string;
  eligible: boolean;
  drain: boolean;
  attributes: Record<string, string>;
}

export interface LabConsulMember {
  name: string;
  addr: string;
  /** alive | leaving | left | failed | none */
  status: string;
  role: 'server' | 'client';
  datacenter?: string;
}

export interface LabHealthCheck {
  name: string;
  /** passing | warning | critical | maintenance */
  status: string;
  output?: string;
}

export interface LabServiceInstance {
  node: string;
  serviceId: string;
  address?: string;
  port?: number;
  tags: string[];
  /** Service checks and the node's own checks (serfHealth). */
  checks: LabHealthCheck[];
}

/** What Nomad says about a job file: does it parse (/v1/jobs/parse), does it validate (/v1/validate/job). */
export interface JobFileVerdict {
  parsed: boolean;
  jobId?: string;
  /** The parse error, or the validation errors, in Nomad's words. */
  errors: string[];
  warnings: string[];
}

export interface ClusterReader {
  /** The job, or undefined when Nomad does not know it. */
  getJob(id: string): Promise<LabJob | undefined>;
  /** Every allocation of the job (old ones included); [] for an unknown job. */
  listAllocations(jobId: string): Promise<LabAllocation[]>;
  listNodes(): Promise<LabNode[]>;
  consulMembers(): Promise<LabConsulMember[]>;
  /** The Consul leader's address, '' when there is none. */
  consulLeader(): Promise<string>;
  /** Instances of a Consul service with their health checks; [] when not registered. */
  consulHealth(service: string): Promise<LabServiceInstance[]>;
  /** A KV value as text, or undefined when the key does not exist. */
  kvGet(key: string): Promise<string | undefined>;
  /** A workspace file's text (workspace-relative path), or undefined when it does not exist. */
  readWorkspaceFile(path: string): Promise<string | undefined>;
  /** Nomad's verdict on a workspace job file, or undefined when the file does not exist. */
  checkJobFile(path: string): Promise<JobFileVerdict | undefined>;
}

// ------------------------------------------------------------------ converters

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** GET /v1/job/:id (a full Job) → LabJob. */
export function jobFromNomad(raw: unknown): LabJob {
  const j = obj(raw);
  return {
    id: str(j.ID),
    type: str(j.Type) || 'service',
    status: str(j.Status),
    stop: j.Stop === true,
    datacenters: arr(j.Datacenters).map(str),
    groups: arr(j.TaskGroups).map((g) => {
      const tg = obj(g);
      return {
        name: str(tg.Name),
        count: typeof tg.Count === 'number' ? tg.Count : 1,
        tasks: arr(tg.Tasks).map((t) => {
          const task = obj(t);
          const image = obj(task.Config).image;
          return { name: str(task.Name), driver: str(task.Driver), image: typeof image === 'string' ? image : undefined };
        }),
      };
    }),
  };
}

/** An AllocListStub (or full Allocation) → LabAllocation. */
export function allocationFromNomad(raw: unknown): LabAllocation {
  const a = obj(raw);
  const tasks = Object.entries(obj(a.TaskStates)).map(([name, s]) => {
    const st = obj(s);
    const events = arr(st.Events).map(obj);
    const words = (e: Json) => str(e.DisplayMessage) || str(e.Message) || str(e.Type);
    const last = events[events.length - 1];
    // The cause (a driver or setup failure, a non-zero exit) says more than the final
    // "Not Restarting: Exceeded allowed attempts" or "Error was unrecoverable".
    const isCause = (e: Json) =>
      /failure|failed|Terminated/i.test(str(e.Type)) && !(str(e.Type) === 'Terminated' && (e.ExitCode === 0 || /Exit Code: 0\b/.test(str(e.DisplayMessage))));
    const failing = [...events].reverse().find(isCause) ?? [...events].reverse().find((e) => e.FailsTask === true);
    return { name, state: str(st.State), failed: st.Failed === true, lastEvent: last ? words(last) : undefined, failure: failing ? words(failing) : undefined };
  });
  return {
    id: str(a.ID),
    name: str(a.Name),
    jobId: str(a.JobID),
    group: str(a.TaskGroup),
    nodeId: str(a.NodeID),
    nodeName: str(a.NodeName),
    clientStatus: str(a.ClientStatus),
    desiredStatus: str(a.DesiredStatus),
    clientDescription: str(a.ClientDescription) || undefined,
    tasks,
    createTime: typeof a.CreateTime === 'number' ? a.CreateTime : 0,
  };
}

/** A Node (or NodeListStub) → LabNode; the zone is the GCE fingerprinter's attribute. */
export function nodeFromNomad(raw: unknown): LabNode {
  const n = obj(raw);
  const attributes = Object.fromEntries(Object.entries(obj(n.Attributes)).map(([k, v]) => [k, String(v)]));
  const meta = obj(n.Meta);
  const zone = attributes['platform.gce.zone'] || str(meta.zone) || undefined;
  return {
    id: str(n.ID),
    name: str(n.Name),
    datacenter: str(n.Datacenter),
    zone,
    status: str(n.Status),
    eligible: str(n.SchedulingEligibility) !== 'ineligible',
    drain: n.Drain === true,
    attributes,
  };
}

const serfStatus: Record<number, string> = { 0: 'none', 1: 'alive', 2: 'leaving', 3: 'left', 4: 'failed' };

/** A Consul /v1/agent/members entry → LabConsulMember (role tag `consul` = server, `node` = client). */
export function memberFromConsul(raw: unknown): LabConsulMember {
  const m = obj(raw);
  const tags = obj(m.Tags);
  return {
    name: str(m.Name),
    addr: str(m.Addr),
    status: typeof m.Status === 'number' ? (serfStatus[m.Status] ?? String(m.Status)) : str(m.Status),
    role: str(tags.role) === 'consul' ? 'server' : 'client',
    datacenter: str(tags.dc) || undefined,
  };
}

/** A /v1/health/service/:name entry ({Node, Service, Checks}) → LabServiceInstance. */
export function serviceInstanceFromConsul(raw: unknown): LabServiceInstance {
  const e = obj(raw);
  const node = obj(e.Node);
  const svc = obj(e.Service);
  return {
    node: str(node.Node),
    serviceId: str(svc.ID),
    address: str(svc.Address) || str(node.Address) || undefined,
    port: typeof svc.Port === 'number' ? svc.Port : undefined,
    tags: arr(svc.Tags).map(str),
    checks: arr(e.Checks).map((c) => {
      const ch = obj(c);
      return { name: str(ch.Name) || str(ch.CheckID), status: str(ch.Status), output: str(ch.Output) || undefined };
    }),
  };
}
