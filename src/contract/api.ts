/**
 * The organizer API contract: one definition, used by the organizer service (to validate
 * requests and shape responses) and by the extension (to validate what it receives).
 * Every change here is a change of the wire format; keep it backwards compatible.
 */
import { z } from 'zod';
import { StackStatus } from './stacks';

export const API_VERSION = 'v1';

/** Stable machine-readable error codes; the message is for humans. */
export const ErrorCode = z.enum([
  'bad_request',        // 400: malformed JSON, bad query
  'validation_failed',  // 422: body parsed but does not match the schema
  'unauthorized',       // 401: no token, unknown or expired session token
  'forbidden',          // 403: the token is valid but may not do this
  'not_found',          // 404
  'conflict',           // 409: e.g. duplicate attendee, workshop exists
  'invite_used',        // 410: the invite was already redeemed
  'invite_expired',     // 410: the invite is past its expiry
  'invite_invalid',     // 401: no such invite
  'rate_limited',       // 429
  'internal',           // 500
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ApiError = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    /** Field-level problems for 422s: `path` is dotted (`attendees.3.email`). */
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiError = z.infer<typeof ApiError>;


export const Role = z.enum(['attendee', 'organizer']);
export type Role = z.infer<typeof Role>;

// ---- auth ----

export const RedeemRequest = z.object({
  invite: z.string().min(16, 'invite must be the token from the invite link').max(200),
});
export type RedeemRequest = z.infer<typeof RedeemRequest>;

export const RedeemResponse = z.object({
  token: z.string(),
  expiresAt: z.string().datetime(),
  attendee: z.object({ id: z.string(), email: z.string(), name: z.string() }),
  workshop: z.object({ id: z.string(), name: z.string(), title: z.string() }),
});
export type RedeemResponse = z.infer<typeof RedeemResponse>;

// ---- attendee ----

export const Me = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  team: z.string().nullable(),
  role: Role,
  workshop: z.object({ id: z.string(), name: z.string(), title: z.string() }),
  sessionExpiresAt: z.string().datetime(),
});
export type Me = z.infer<typeof Me>;

export const Endpoint = z.object({ host: z.string(), port: z.number().int().min(1).max(65535) });
export type Endpoint = z.infer<typeof Endpoint>;

export const Bastion = z.object({
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  user: z.string(),
  /** OpenSSH form: `SHA256:` + unpadded base64 of the host key blob. */
  hostKeyFingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an OpenSSH SHA256 fingerprint'),
  /** OpenSSH public key line of the host key (`ssh-ed25519 AAAA…`). */
  hostPublicKey: z.string(),
});
export type Bastion = z.infer<typeof Bastion>;

export const Environment = z.object({
  stackId: z.string(),
  status: StackStatus,
  /** Human explanation of the status (e.g. the provisioning step, or why it failed). */
  statusMessage: z.string().nullable(),
  provider: z.string(),
  updatedAt: z.string().datetime(),
  /** Present once the stack is ready. */
  connection: z
    .object({
      bastion: Bastion,
      /** The attendee's private key (OpenSSH PEM). Store only in SecretStorage. */
      privateKey: z.string(),
      /** Addresses as seen from the bastion. */
      nomad: Endpoint,
      consul: Endpoint,
      region: z.string(),
      datacenters: z.array(z.string()),
      zones: z.array(z.string()),
      dns: z.object({ internal: z.string().nullable(), external: z.string().nullable() }),
      /** ACL tokens where the stack has ACLs on. */
      nomadToken: z.string().nullable(),
      consulToken: z.string().nullable(),
    })
    .nullable(),
});
export type Environment = z.infer<typeof Environment>;

export const ProgressRequest = z.object({
  labId: z.string().min(1).max(100),
  stepId: z.string().min(1).max(100),
  status: z.enum(['started', 'done', 'failed']),
  detail: z.string().max(2000).optional(),
});
export type ProgressRequest = z.infer<typeof ProgressRequest>;

export const ProgressEntry = ProgressRequest.extend({ at: z.string().datetime() });
export const ProgressResponse = z.object({ progress: z.array(ProgressEntry) });
export type ProgressResponse = z.infer<typeof ProgressResponse>;

// ---- organizer ----

export const CreateWorkshopRequest = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'name must be 2-41 lowercase letters, digits or dashes'),
  title: z.string().min(1).max(200),
  provider: z.enum(['local', 'terraform-gce']).default('local'),
  /** Topology of each stack. */
  topology: z
    .object({
      servers: z.number().int().min(1).max(7).default(3),
      clientsPerZone: z.number().int().min(1).max(50).default(3),
      zones: z.array(z.string()).min(1).max(4).default(['europe-west1-b', 'europe-west1-c']),
    })
    .default({}),
});
export type CreateWorkshopRequest = z.infer<typeof CreateWorkshopRequest>;

export const Workshop = z.object({
  id: z.string(),
  name: z.string(),
  title: z.string(),
  provider: z.string(),
  topology: z.object({ servers: z.number(), clientsPerZone: z.number(), zones: z.array(z.string()) }),
  createdAt: z.string().datetime(),
});
export type Workshop = z.infer<typeof Workshop>;
export const ListWorkshopsResponse = z.object({ workshops: z.array(Workshop) });
export type ListWorkshopsResponse = z.infer<typeof ListWorkshopsResponse>;

export const AttendeeInput = z.object({
  email: z.string().email('not a valid email address'),
  name: z.string().min(1, 'name is required').max(200),
  team: z.string().max(100).optional(),
});
export type AttendeeInput = z.infer<typeof AttendeeInput>;

export const ImportAttendeesRequest = z.object({ attendees: z.array(AttendeeInput).min(1).max(5000) });
export type ImportAttendeesRequest = z.infer<typeof ImportAttendeesRequest>;

export const ImportAttendeesResponse = z.object({
  imported: z.array(z.object({ id: z.string(), email: z.string() })),
  /** Rows not imported, with the 0-based index in the request and why. */
  rejected: z.array(z.object({ index: z.number(), email: z.string().nullable(), reason: z.string() })),
});
export type ImportAttendeesResponse = z.infer<typeof ImportAttendeesResponse>;

export const CreateInvitesRequest = z.object({
  /** Attendee ids; omitted = every attendee without an unused invite. */
  attendeeIds: z.array(z.string()).optional(),
  /** Lifetime of the invite in hours. */
  ttlHours: z.number().positive().max(24 * 60).default(72),
});
export type CreateInvitesRequest = z.infer<typeof CreateInvitesRequest>;

export const Invite = z.object({
  attendeeId: z.string(),
  email: z.string(),
  /** The link to click: `vscode://openkitchen.open-kitchen/signin?api=…&invite=…`. */
  link: z.string(),
  expiresAt: z.string().datetime(),
});
export type Invite = z.infer<typeof Invite>;
export const CreateInvitesResponse = z.object({ invites: z.array(Invite) });
export type CreateInvitesResponse = z.infer<typeof CreateInvitesResponse>;

export const AttendeeSummary = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  team: z.string().nullable(),
  stack: z.object({ id: z.string(), status: StackStatus, statusMessage: z.string().nullable() }).nullable(),
  invite: z.object({
    status: z.enum(['none', 'sent', 'redeemed', 'expired']),
    expiresAt: z.string().datetime().nullable(),
    /** When an invite was last mailed to the attendee (null: never mailed). */
    mailedAt: z.string().datetime().nullable().default(null),
  }),
  lastSeenAt: z.string().datetime().nullable(),
  progress: z.object({ done: z.number().int(), current: z.string().nullable() }),
});
export type AttendeeSummary = z.infer<typeof AttendeeSummary>;
export const ListAttendeesResponse = z.object({ attendees: z.array(AttendeeSummary) });
export type ListAttendeesResponse = z.infer<typeof ListAttendeesResponse>;

export const ProvisionRequest = z.object({
  /** Attendee ids; omitted = every attendee whose stack is not ready. */
  attendeeIds: z.array(z.string()).optional(),
});
export type ProvisionRequest = z.infer<typeof ProvisionRequest>;

export const StackSummary = z.object({
  id: z.string(),
  attendeeId: z.string(),
  status: StackStatus,
  statusMessage: z.string().nullable(),
  updatedAt: z.string().datetime(),
});
export type StackSummary = z.infer<typeof StackSummary>;
export const ListStacksResponse = z.object({ stacks: z.array(StackSummary) });
export type ListStacksResponse = z.infer<typeof ListStacksResponse>;

export const CancelStacksRequest = z.object({
  /** Attendee ids; omitted = every queued or running build of the workshop. */
  attendeeIds: z.array(z.string()).optional(),
});
export type CancelStacksRequest = z.infer<typeof CancelStacksRequest>;

/**
 * One line of the pre-flight table: what provisioning the stacks not yet ready will create
 * (`VMs`, `vCPUs`, `Disk`, `Public IPs` for terraform-gce; `Processes`, `Ports` for local).
 */
export const PreflightResource = z.object({
  name: z.string(),
  unit: z.string().nullable(),
  perStack: z.number(),
  total: z.number(),
});
/** A quota the provider could read, with what the workshop needs of it. */
export const PreflightQuota = z.object({
  metric: z.string(),
  /** Where the limit applies (`region europe-west1`, `this machine`). */
  scope: z.string(),
  needed: z.number(),
  limit: z.number(),
  usage: z.number(),
  ok: z.boolean(),
});
export const PreflightResponse = z.object({
  workshop: z.string(),
  provider: z.string(),
  /** Stacks a "provision all" would build now (those not ready). */
  stacks: z.number().int(),
  /** Stacks already ready (left alone). */
  ready: z.number().int(),
  resources: z.array(PreflightResource),
  quotas: z.array(PreflightQuota),
  /** Why quotas could not be checked (or null when they were). */
  quotaNote: z.string().nullable(),
  /** Problems that would make provisioning fail (a quota exceeded, a missing binary); empty = go. */
  problems: z.array(z.string()),
  ok: z.boolean(),
});
export type PreflightResponse = z.infer<typeof PreflightResponse>;

/**
 * Events of `GET /v1/workshops/:workshop/events` (Server-Sent Events, one JSON object per
 * `data:` line). The stream starts with a `snapshot` of every stack, then a `stack` event per
 * change and an `attendee` event when an attendee signs in, is seen, makes lab progress or is
 * mailed an invite; `: ping` comments keep idle connections open.
 */
export const WorkshopEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('snapshot'), stacks: z.array(StackSummary) }),
  z.object({ type: z.literal('stack'), stack: StackSummary }),
  /** An attendee signed in, was seen, made lab progress, or was mailed an invite. */
  z.object({ type: z.literal('attendee'), attendee: AttendeeSummary }),
]);
export type WorkshopEvent = z.infer<typeof WorkshopEvent>;

export const SendInvitesRequest = z.object({
  /** Attendee ids (a resend to one); omitted = chosen by `which`. */
  attendeeIds: z.array(z.string()).optional(),
  /** Without ids: `unsent` = attendees never mailed; `unopened` = every attendee who has not signed in yet. */
  which: z.enum(['unsent', 'unopened']).default('unsent'),
  ttlHours: z.number().positive().max(24 * 60).default(72),
});
export type SendInvitesRequest = z.infer<typeof SendInvitesRequest>;

export const SendInvitesResponse = z.object({
  /** `smtp`, or `outbox` when the messages were written as .eml files. */
  transport: z.enum(['smtp', 'outbox']),
  /** Where the .eml files were written (transport `outbox`); null over SMTP. */
  outboxDir: z.string().nullable().default(null),
  sent: z.array(z.object({ attendeeId: z.string(), email: z.string(), messageId: z.string() })),
  failed: z.array(z.object({ attendeeId: z.string(), email: z.string(), reason: z.string() })),
});
export type SendInvitesResponse = z.infer<typeof SendInvitesResponse>;

/**
 * The routes, relative to the API base URL (which may carry a path prefix).
 * Attendee routes take `Authorization: Bearer <session token>`;
 * organizer routes take `Authorization: Bearer <organizer token>`.
 */
export const routes = {
  health: 'GET /v1/health',
  redeem: 'POST /v1/auth/redeem',                          // RedeemRequest → RedeemResponse
  signOut: 'POST /v1/auth/signout',                        // → 204, the session is revoked
  me: 'GET /v1/me',                                        // → Me
  environment: 'GET /v1/me/environment',                   // → Environment
  reportProgress: 'POST /v1/me/progress',                  // ProgressRequest → ProgressResponse
  listProgress: 'GET /v1/me/progress',                     // → ProgressResponse
  createWorkshop: 'POST /v1/workshops',                    // CreateWorkshopRequest → Workshop (409 if the name exists)
  listWorkshops: 'GET /v1/workshops',                      // → ListWorkshopsResponse
  getWorkshop: 'GET /v1/workshops/:workshop',              // :workshop is the id or the name → Workshop
  importAttendees: 'POST /v1/workshops/:workshop/attendees', // ImportAttendeesRequest → ImportAttendeesResponse
  listAttendees: 'GET /v1/workshops/:workshop/attendees',  // → ListAttendeesResponse
  createInvites: 'POST /v1/workshops/:workshop/invites',   // CreateInvitesRequest → CreateInvitesResponse
  provisionStacks: 'POST /v1/workshops/:workshop/stacks',  // ProvisionRequest → 202 ListStacksResponse (work goes on in the background)
  listStacks: 'GET /v1/workshops/:workshop/stacks',        // → ListStacksResponse
  destroyStacks: 'DELETE /v1/workshops/:workshop/stacks',  // → 202 ListStacksResponse
  cancelStacks: 'POST /v1/workshops/:workshop/stacks/cancel', // CancelStacksRequest → ListStacksResponse (queued builds unqueued, running ones aborted and cleaned up)
  preflight: 'GET /v1/workshops/:workshop/preflight',      // → PreflightResponse
  workshopEvents: 'GET /v1/workshops/:workshop/events',    // → text/event-stream of WorkshopEvent
  sendInvites: 'POST /v1/workshops/:workshop/invites/send', // SendInvitesRequest → SendInvitesResponse
} as const;
