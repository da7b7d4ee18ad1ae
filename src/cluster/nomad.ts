/** Typed client of the Nomad HTTP API: the reads the cluster model needs and the attendee's actions. */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { ClusterError, ClusterHttpError, ResponseShapeError, shapeProblems } from './errors';
import { ClusterApi, type ApiClientOptions, type BlockingOptions, type QueryResult } from './http';
import {
  addressListSchema,
  addressSchema,
  nomadAllocationSchema,
  nomadEvalResponseSchema,
  nomadEventLineSchema,
  nomadJobSchema,
  nomadJobStubSchema,
  nomadMembersSchema,
  nomadNodeSchema,
  nomadNodeStubSchema,
  nomadPlanResponseSchema,
  nomadValidateResponseSchema,
  type NomadAllocation,
  type NomadEvalResponse,
  type NomadEvent,
  type NomadJob,
  type NomadJobStub,
  type NomadMembers,
  type NomadNode,
  type NomadNodeStub,
  type NomadPlanResponse,
  type NomadValidateResponse,
} from './schemas';
import { readNdjson } from './watch';

export interface NomadClientOptions extends ApiClientOptions {
  /** Namespace for list reads and the event stream (default `*`: every namespace the token sees). */
  namespace?: string;
}

export interface NamespaceOption {
  namespace?: string;
}

export type NomadEventTopic = 'Job' | 'Allocation' | 'Evaluation' | 'Deployment' | 'Node' | 'NodePool' | 'Service' | '*';

export type NomadEventBatch = { heartbeat: true } | { heartbeat: false; index: number; events: NomadEvent[] };

export interface LogStreamOptions {
  task: string;
  type: 'stdout' | 'stderr';
  /** Keep the stream open and deliver new output as it is written. */
  follow?: boolean;
  origin?: 'start' | 'end';
  offset?: number;
  signal?: AbortSignal;
}

const emptyObject = z.object({}).passthrough();

export class NomadClient {
  private readonly api: ClusterApi;
  readonly namespace: string;

  constructor(options: NomadClientOptions) {
    this.api = new ClusterApi('Nomad', 'X-Nomad-Token', 'x-nomad-index', options);
    this.namespace = options.namespace ?? '*';
  }

  // ------------------------------------------------------------ cluster

  async members(signal?: AbortSignal): Promise<NomadMembers> {
    return (await this.api.request('GET', '/v1/agent/members', { schema: nomadMembersSchema, signal })).data;
  }

  /** The leader's RPC address (`ip:4647`); empty when there is none. */
  async leader(signal?: AbortSignal): Promise<string> {
    return (await this.api.request('GET', '/v1/status/leader', { schema: addressSchema, signal })).data;
  }

  /** Raft peers' RPC addresses. */
  async peers(signal?: AbortSignal): Promise<string[]> {
    return (await this.api.request('GET', '/v1/status/peers', { schema: addressListSchema, signal })).data ?? [];
  }

  // ------------------------------------------------------------ reads (blocking)

  nodes(opts?: BlockingOptions): Promise<QueryResult<NomadNodeStub[]>> {
    const blocking = this.api.blockingQuery(opts);
    return this.api.request('GET', '/v1/nodes', {
      query: { os: true, ...blocking.query },
      timeoutMs: blocking.timeoutMs,
      schema: z.array(nomadNodeStubSchema),
      signal: opts?.signal,
    });
  }

  async node(id: string, signal?: AbortSignal): Promise<NomadNode> {
    return (await this.api.request('GET', `/v1/node/${encodeURIComponent(id)}`, { schema: nomadNodeSchema, signal })).data;
  }

  jobs(opts?: BlockingOptions & NamespaceOption): Promise<QueryResult<NomadJobStub[]>> {
    const blocking = this.api.blockingQuery(opts);
    return this.api.request('GET', '/v1/jobs', {
      query: { namespace: opts?.namespace ?? this.namespace, ...blocking.query },
      timeoutMs: blocking.timeoutMs,
      schema: z.array(nomadJobStubSchema),
      signal: opts?.signal,
    });
  }

  /** The full job, or undefined when it does not exist (404). */
  async job(id: string, opts?: NamespaceOption & { signal?: AbortSignal }): Promise<NomadJob | undefined> {
    try {
      const res = await this.api.request('GET', `/v1/job/${encodeURIComponent(id)}`, {
        query: { namespace: opts?.namespace ?? 'default' },
        schema: nomadJobSchema,
        signal: opts?.signal,
      });
      return res.data;
    } catch (err) {
      if (err instanceof ClusterHttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  allocations(opts?: BlockingOptions & NamespaceOption): Promise<QueryResult<NomadAllocation[]>> {
    const blocking = this.api.blockingQuery(opts);
    return this.api.request('GET', '/v1/allocations', {
      query: { namespace: opts?.namespace ?? this.namespace, ...blocking.query },
      timeoutMs: blocking.timeoutMs,
      schema: z.array(nomadAllocationSchema),
      signal: opts?.signal,
    });
  }

  async jobAllocations(id: string, opts?: NamespaceOption & { all?: boolean; signal?: AbortSignal }): Promise<NomadAllocation[]> {
    const res = await this.api.request('GET', `/v1/job/${encodeURIComponent(id)}/allocations`, {
      query: { namespace: opts?.namespace ?? 'default', all: opts?.all },
      schema: z.array(nomadAllocationSchema),
      signal: opts?.signal,
    });
    return res.data;
  }

  async allocation(id: string, signal?: AbortSignal): Promise<NomadAllocation> {
    return (await this.api.request('GET', `/v1/allocation/${encodeURIComponent(id)}`, { schema: nomadAllocationSchema, signal })).data;
  }

  // ------------------------------------------------------------ event stream

  /**
   * Reads /v1/event/stream until it ends or `signal` aborts. Yields heartbeats too, so a
   * caller can tell a quiet stream from a dead one.
   */
  async *events(opts: { topics: NomadEventTopic[]; index?: number; namespace?: string; signal?: AbortSignal }): AsyncGenerator<NomadEventBatch> {
    const path = '/v1/event/stream';
    // Each stream gets its own signal, linked to the caller's and dropped after, so a model
    // that opens many streams over a day leaves no listener behind on its long-lived signal.
    const own = new AbortController();
    const outer = opts.signal;
    const onAbort = () => own.abort();
    if (outer?.aborted) own.abort();
    else outer?.addEventListener('abort', onAbort, { once: true });
    let body: Readable | undefined;
    try {
      const res = await this.api.send('GET', path, {
        query: {
          topic: opts.topics.map((t) => (t === '*' ? '*' : `${t}:*`)),
          index: opts.index,
          namespace: opts.namespace ?? this.namespace,
        },
        signal: own.signal,
        stream: true,
      });
      body = res.body;
      for await (const value of readNdjson(body)) {
        const parsed = nomadEventLineSchema.safeParse(value);
        if (!parsed.success) throw new ResponseShapeError('Nomad', path, shapeProblems(parsed.error.issues));
        const line = parsed.data;
        if (line.Index === undefined || !line.Events) yield { heartbeat: true };
        else yield { heartbeat: false, index: line.Index, events: line.Events };
      }
    } catch (err) {
      if (outer?.aborted) return;
      if (err instanceof ClusterError) throw err;
      if (err instanceof SyntaxError) throw new ResponseShapeError('Nomad', path, [{ field: '', message: err.message }]);
      throw new ClusterError(`Nomad GET ${path}: the stream broke off (${(err as Error).message})`, 'unreachable', 'Nomad', path, { cause: err });
    } finally {
      outer?.removeEventListener('abort', onAbort);
      own.abort();
      body?.destroy();
    }
  }

  // ------------------------------------------------------------ actions

  /** Restarts the tasks of an allocation in place (all tasks unless one is named). */
  async restartAllocation(id: string, opts: { task?: string } = {}): Promise<void> {
    await this.api.request('POST', `/v1/client/allocation/${encodeURIComponent(id)}/restart`, {
      body: opts.task ? { TaskName: opts.task } : { AllTasks: true },
      schema: emptyObject.nullable(),
    });
  }

  /** Stops an allocation; the scheduler places a replacement. */
  async stopAllocation(id: string): Promise<{ EvalID: string; Index?: number }> {
    const res = await this.api.request('POST', `/v1/allocation/${encodeURIComponent(id)}/stop`, {
      schema: z.object({ EvalID: z.string(), Index: z.number().optional() }),
    });
    return res.data;
  }

  /** Stops a job (it stays listed as dead) or, with purge, removes it. */
  async stopJob(id: string, opts: NamespaceOption & { purge?: boolean } = {}): Promise<NomadEvalResponse> {
    const res = await this.api.request('DELETE', `/v1/job/${encodeURIComponent(id)}`, {
      query: { namespace: opts.namespace ?? 'default', purge: opts.purge },
      schema: nomadEvalResponseSchema,
    });
    return res.data;
  }

  /**
   * A task's stdout or stderr as plain text (`plain=true`: raw bytes, no frames). With
   * `follow` the stream stays open; abort `signal` or destroy the stream to stop.
   */
  async logs(allocId: string, opts: LogStreamOptions): Promise<Readable> {
    const res = await this.api.send('GET', `/v1/client/fs/logs/${encodeURIComponent(allocId)}`, {
      query: { task: opts.task, type: opts.type, follow: opts.follow, origin: opts.origin, offset: opts.offset, plain: true },
      signal: opts.signal,
      accept: 'text/plain',
      stream: true,
    });
    return res.body;
  }

  /** Marks a node eligible or ineligible for new placements (`nomad node eligibility`). */
  async setNodeEligibility(nodeId: string, eligible: boolean): Promise<void> {
    await this.api.request('POST', `/v1/node/${encodeURIComponent(nodeId)}/eligibility`, {
      body: { NodeID: nodeId, Eligibility: eligible ? 'eligible' : 'ineligible' },
      schema: emptyObject.nullable(),
    });
  }

  /**
   * Starts draining a node (its allocations move elsewhere within `deadlineSeconds`; -1: no
   * deadline) or, with `enable: false`, stops the drain and marks it eligible again.
   */
  async drainNode(nodeId: string, opts: { enable: boolean; deadlineSeconds?: number; ignoreSystemJobs?: boolean }): Promise<void> {
    const body = opts.enable
      ? { NodeID: nodeId, DrainSpec: { Deadline: Math.round((opts.deadlineSeconds ?? 3600) * 1e9), IgnoreSystemJobs: opts.ignoreSystemJobs ?? false }, MarkEligible: false }
      : { NodeID: nodeId, DrainSpec: null, MarkEligible: true };
    await this.api.request('POST', `/v1/node/${encodeURIComponent(nodeId)}/drain`, { body, schema: emptyObject.nullable() });
  }

  /**
   * A request to the lab cluster's own admin API (`/_lab/…` on Nomad's port), which only the
   * stand-in cluster has: a real Nomad answers 404. Rides the same tunnel, token and log.
   */
  async labAdmin(method: string, path: string, body?: unknown): Promise<void> {
    const res = await this.api.send(method, `/_lab${path.startsWith('/') ? path : `/${path}`}`, { body });
    await res.text();
  }

  /** HCL2 → job JSON, through the server's own parser (`Failed to parse job: …` on errors). */
  async parseJob(hcl: string, opts: { canonicalize?: boolean; variables?: string } = {}): Promise<NomadJob> {
    const res = await this.api.request('POST', '/v1/jobs/parse', {
      body: { JobHCL: hcl, Canonicalize: opts.canonicalize ?? true, ...(opts.variables ? { Variables: opts.variables } : {}) },
      schema: nomadJobSchema,
    });
    return res.data;
  }

  async validateJob(job: NomadJob): Promise<NomadValidateResponse> {
    return (await this.api.request('POST', '/v1/validate/job', { body: { Job: job }, schema: nomadValidateResponseSchema })).data;
  }

  async planJob(job: NomadJob, opts: { diff?: boolean } = {}): Promise<NomadPlanResponse> {
    const res = await this.api.request('POST', `/v1/job/${encodeURIComponent(job.ID)}/plan`, {
      query: { namespace: job.Namespace ?? undefined },
      body: { Job: job, Diff: opts.diff ?? true },
      schema: nomadPlanResponseSchema,
    });
    return res.data;
  }

  /** Registers (runs) a job; `enforceIndex` makes it fail if the job changed since that plan. */
  async registerJob(job: NomadJob, opts: { enforceIndex?: number } = {}): Promise<NomadEvalResponse> {
    const res = await this.api.request('POST', '/v1/jobs', {
      query: { namespace: job.Namespace ?? undefined },
      body: { Job: job, ...(opts.enforceIndex !== undefined ? { EnforceIndex: true, JobModifyIndex: opts.enforceIndex } : {}) },
      schema: nomadEvalResponseSchema,
    });
    return res.data;
  }
}
