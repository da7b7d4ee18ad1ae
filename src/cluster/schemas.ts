/**
 * Runtime schemas of the Nomad and Consul responses the extension reads. They list only the
 * fields we use (unknown fields are dropped), with the documented names and types; optional
 * where real servers omit them (`omitempty`) or older versions lack them.
 * Shapes: docs/… and the team reference on the Nomad and Consul HTTP APIs.
 */
import { z } from 'zod';

const str = z.string();
const int = z.number();
/** Maps that Go encodes as `null` when empty. */
const nullableRecord = <T extends z.ZodTypeAny>(value: T) => z.record(value).nullable().optional();

// ------------------------------------------------------------------ Nomad

export const nomadMemberSchema = z.object({
  Name: str,
  Addr: str,
  Port: int,
  /** alive | leaving | left | failed | none (a string in Nomad, unlike Consul). */
  Status: str,
  Tags: z.record(str).nullable().optional(),
});
export type NomadMember = z.infer<typeof nomadMemberSchema>;

export const nomadMembersSchema = z.object({
  ServerName: str.optional(),
  ServerRegion: str.optional(),
  ServerDC: str.optional(),
  Members: z.array(nomadMemberSchema).nullable(),
});
export type NomadMembers = z.infer<typeof nomadMembersSchema>;

export const addressSchema = str;
export const addressListSchema = z.array(str).nullable();

export const nomadNodeStubSchema = z.object({
  ID: str,
  Name: str,
  Address: str.optional(),
  Datacenter: str,
  NodeClass: str.optional(),
  NodePool: str.optional(),
  Version: str.optional(),
  Drain: z.boolean(),
  SchedulingEligibility: str,
  Status: str,
  StatusDescription: str.optional(),
  /** Only with `?os=true` on the list; always on the full node. */
  Attributes: nullableRecord(str),
  CreateIndex: int,
  ModifyIndex: int,
});
export type NomadNodeStub = z.infer<typeof nomadNodeStubSchema>;

export const nomadNodeSchema = nomadNodeStubSchema.extend({
  HTTPAddr: str.optional(),
  Attributes: nullableRecord(str),
  Meta: nullableRecord(str),
});
export type NomadNode = z.infer<typeof nomadNodeSchema>;

const taskGroupSummarySchema = z.object({
  Queued: int,
  Complete: int,
  Failed: int,
  Running: int,
  Starting: int,
  Lost: int,
  Unknown: int.optional(),
});

export const nomadJobStubSchema = z.object({
  ID: str,
  ParentID: str.optional(),
  Name: str,
  Namespace: str.optional(),
  Datacenters: z.array(str).nullable().optional(),
  Type: str,
  Priority: int.optional(),
  Periodic: z.boolean().optional(),
  ParameterizedJob: z.boolean().optional(),
  Stop: z.boolean(),
  Status: str,
  StatusDescription: str.optional(),
  JobSummary: z
    .object({ Summary: nullableRecord(taskGroupSummarySchema) })
    .nullable()
    .optional(),
  CreateIndex: int,
  ModifyIndex: int,
  JobModifyIndex: int.optional(),
  SubmitTime: int.optional(),
});
export type NomadJobStub = z.infer<typeof nomadJobStubSchema>;

/**
 * A full job as GET /v1/job/:id, /v1/jobs/parse and the event stream give it. Parsed jobs are
 * sent back to validate/plan/run unchanged, so every field passes through.
 */
export const nomadJobSchema = z
  .object({
    ID: str,
    Name: str.optional(),
    Namespace: str.nullable().optional(),
    Type: str.nullable().optional(),
    Status: str.optional(),
    Stop: z.boolean().nullable().optional(),
    Datacenters: z.array(str).nullable().optional(),
    TaskGroups: z
      .array(z.object({ Name: str, Count: int.nullable().optional() }).passthrough())
      .nullable()
      .optional(),
    CreateIndex: int.nullable().optional(),
    ModifyIndex: int.nullable().optional(),
    SubmitTime: int.nullable().optional(),
  })
  .passthrough();
export type NomadJob = z.infer<typeof nomadJobSchema>;

export const nomadTaskEventSchema = z.object({
  Type: str,
  /** Unix nanoseconds. */
  Time: int,
  DisplayMessage: str.optional(),
  Message: str.optional(),
  FailsTask: z.boolean().optional(),
  ExitCode: int.optional(),
  Details: nullableRecord(str),
});
export type NomadTaskEvent = z.infer<typeof nomadTaskEventSchema>;

export const nomadTaskStateSchema = z.object({
  State: str,
  Failed: z.boolean(),
  Restarts: int,
  LastRestart: str.nullable().optional(),
  StartedAt: str.nullable().optional(),
  FinishedAt: str.nullable().optional(),
  Events: z.array(nomadTaskEventSchema).nullable().optional(),
});
export type NomadTaskState = z.infer<typeof nomadTaskStateSchema>;

/** AllocListStub, and the same fields of a full Allocation (event payloads, GET /v1/allocation/:id). */
export const nomadAllocationSchema = z.object({
  ID: str,
  EvalID: str.optional(),
  Name: str,
  Namespace: str.optional(),
  NodeID: str,
  NodeName: str.optional(),
  JobID: str,
  JobType: str.optional(),
  JobVersion: int.optional(),
  TaskGroup: str,
  DesiredStatus: str,
  DesiredDescription: str.optional(),
  ClientStatus: str,
  ClientDescription: str.optional(),
  TaskStates: nullableRecord(nomadTaskStateSchema),
  FollowupEvalID: str.optional(),
  NextAllocation: str.optional(),
  CreateIndex: int,
  ModifyIndex: int,
  /** Unix nanoseconds. */
  CreateTime: int,
  ModifyTime: int,
});
export type NomadAllocation = z.infer<typeof nomadAllocationSchema>;

export const nomadEvalResponseSchema = z.object({
  EvalID: str,
  EvalCreateIndex: int.optional(),
  JobModifyIndex: int.optional(),
  Warnings: str.nullable().optional(),
  Index: int.optional(),
});
export type NomadEvalResponse = z.infer<typeof nomadEvalResponseSchema>;

export const nomadValidateResponseSchema = z.object({
  DriverConfigValidated: z.boolean().optional(),
  ValidationErrors: z.array(str).nullable().optional(),
  Error: str.nullable().optional(),
  Warnings: str.nullable().optional(),
});
export type NomadValidateResponse = z.infer<typeof nomadValidateResponseSchema>;

const desiredUpdatesSchema = z
  .object({
    Ignore: int.optional(),
    Place: int.optional(),
    Migrate: int.optional(),
    Stop: int.optional(),
    InPlaceUpdate: int.optional(),
    DestructiveUpdate: int.optional(),
    Canary: int.optional(),
    Preemptions: int.optional(),
  })
  .passthrough();

export const nomadAllocationMetricSchema = z
  .object({
    NodesEvaluated: int.optional(),
    NodesFiltered: int.optional(),
    NodesAvailable: nullableRecord(int),
    ClassFiltered: nullableRecord(int),
    ConstraintFiltered: nullableRecord(int),
    NodesExhausted: int.optional(),
    ClassExhausted: nullableRecord(int),
    DimensionExhausted: nullableRecord(int),
    CoalescedFailures: int.optional(),
  })
  .passthrough();
export type NomadAllocationMetric = z.infer<typeof nomadAllocationMetricSchema>;

export const nomadPlanResponseSchema = z
  .object({
    JobModifyIndex: int,
    Warnings: str.nullable().optional(),
    Annotations: z
      .object({ DesiredTGUpdates: nullableRecord(desiredUpdatesSchema) })
      .passthrough()
      .nullable()
      .optional(),
    FailedTGAllocs: nullableRecord(nomadAllocationMetricSchema),
    /** Structured job diff (Type, Fields, Objects, TaskGroups…), passed through as is. */
    Diff: z.object({ Type: str }).passthrough().nullable().optional(),
    CreatedEvals: z.array(z.object({}).passthrough()).nullable().optional(),
  })
  .passthrough();
export type NomadPlanResponse = z.infer<typeof nomadPlanResponseSchema>;

export const nomadEventSchema = z.object({
  Topic: str,
  Type: str,
  Key: str,
  Namespace: str.optional(),
  FilterKeys: z.array(str).nullable().optional(),
  Index: int,
  Payload: z.record(z.unknown()),
});
export type NomadEvent = z.infer<typeof nomadEventSchema>;

/** One NDJSON line of /v1/event/stream: `{}` (heartbeat) or `{Index, Events}`. */
export const nomadEventLineSchema = z.object({
  Index: int.optional(),
  Events: z.array(nomadEventSchema).nullable().optional(),
});

// ------------------------------------------------------------------ Consul

export const consulMemberSchema = z.object({
  Name: str,
  Addr: str,
  Port: int,
  /** Serf status as an int: 0 none, 1 alive, 2 leaving, 3 left, 4 failed. */
  Status: int,
  Tags: z.record(str).nullable().optional(),
});
export type ConsulMember = z.infer<typeof consulMemberSchema>;
export const consulMembersSchema = z.array(consulMemberSchema);

/** /v1/catalog/services: service name → tags. */
export const consulServicesSchema = z.record(z.array(str).nullable());
export type ConsulServices = z.infer<typeof consulServicesSchema>;

export const consulHealthCheckSchema = z.object({
  Node: str,
  CheckID: str,
  Name: str,
  /** passing | warning | critical (| maintenance) */
  Status: str,
  Notes: str.optional(),
  Output: str.optional(),
  ServiceID: str,
  ServiceName: str,
  ServiceTags: z.array(str).nullable().optional(),
  Type: str.optional(),
  CreateIndex: int.optional(),
  ModifyIndex: int.optional(),
});
export type ConsulHealthCheck = z.infer<typeof consulHealthCheckSchema>;
export const consulHealthChecksSchema = z.array(consulHealthCheckSchema);

export const consulCatalogServiceSchema = z.object({
  Node: str,
  Address: str,
  Datacenter: str.optional(),
  ServiceID: str,
  ServiceName: str,
  ServiceAddress: str.optional(),
  ServicePort: int,
  ServiceTags: z.array(str).nullable().optional(),
});
export type ConsulCatalogService = z.infer<typeof consulCatalogServiceSchema>;
export const consulCatalogServiceListSchema = z.array(consulCatalogServiceSchema);
