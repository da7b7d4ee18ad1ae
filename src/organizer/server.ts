/**
 * The HTTP API: every route of `routes` in src/contract/api.ts, with bodies validated by
 * the contract's schemas and every error, Fastify's own included, shaped as ApiError.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { EventEmitter } from 'node:events';
import rateLimit from '@fastify/rate-limit';
import {
  API_VERSION,
  buildInviteLink,
  CancelStacksRequest,
  CreateInvitesRequest,
  CreateWorkshopRequest,
  ImportAttendeesRequest,
  ProgressRequest,
  ProvisionRequest,
  RedeemRequest,
  routes,
  SendInvitesRequest,
  type CreateInvitesResponse,
  type ListStacksResponse,
  type PreflightResponse,
  type SendInvitesResponse,
  type WorkshopEvent,
} from '../contract';
import { forbidden, ApiFailure, parseBody, unauthorized } from './errors';
import type { Mailer } from './mail';
import { SignInLimiter, type SignInLimitOptions } from './signinlimit';
import type { StackChange, StackService } from './stacks';
import { Store, type Principal } from './store';

export interface RateLimitOptions {
  max: number;
  timeWindowMs: number;
}

export interface AppOptions {
  store: Store;
  stacks: StackService;
  /** Sends invite mail (SMTP, or .eml files in an outbox folder). */
  mailer: Mailer;
  /** Interval of `: ping` comments on event streams (default 15 s), so proxies keep idle streams open. */
  eventPingMs?: number;
  /** Base URL put into invite links. */
  publicUrl: () => string;
  /** Cap on all sign-in requests per address (a flood guard; generous so a room behind one NAT fits). */
  redeemRateLimit: RateLimitOptions;
  /** Failed sign-in attempts allowed per address. */
  signInFailureLimit: SignInLimitOptions;
  now: () => number;
  https?: { cert: string | Buffer; key: string | Buffer };
  trustProxy?: boolean;
  logger?: FastifyServerOptions['logger'];
}

type AttendeePrincipal = Extract<Principal, { kind: 'attendee' }>;

function bearer(req: FastifyRequest): string {
  const header = req.headers.authorization;
  if (!header) throw unauthorized('Missing the Authorization: Bearer <token> header; sign in first.');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw unauthorized('The Authorization header must be "Bearer <token>".');
  return m[1];
}

function formatSeconds(s: number): string {
  return s < 120 ? `${s} seconds` : `${Math.ceil(s / 60)} minutes`;
}

/**
 * `?attendeeIds=a,b` (what the client sends) or `?attendee=a&attendee=b`; undefined when
 * neither is given. An empty list is refused: it would silently mean "everyone".
 */
function attendeeIdsQuery(query: unknown): string[] | undefined {
  const q = (query ?? {}) as { attendeeIds?: string | string[]; attendee?: string | string[] };
  if (q.attendeeIds === undefined && q.attendee === undefined) return undefined;
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const ids = [...list(q.attendeeIds).flatMap((v) => v.split(',')), ...list(q.attendee)].map((v) => v.trim()).filter(Boolean);
  if (!ids.length) {
    throw new ApiFailure('bad_request', 'attendeeIds is empty; give attendee ids separated by commas, or leave it out for every stack.');
  }
  return ids;
}

/** One Server-Sent Event: the JSON on a single `data:` line. */
function sseFrame(event: WorkshopEvent): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}

/** Splits `'POST /v1/auth/redeem'` into Fastify's method and url. */
function route(spec: string): { method: 'GET' | 'POST' | 'DELETE'; url: string } {
  const [method, url] = spec.split(' ');
  return { method: method as 'GET' | 'POST' | 'DELETE', url };
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { store, stacks } = opts;
  const app = Fastify({
    logger: opts.logger ?? false,
    trustProxy: opts.trustProxy ?? false,
    bodyLimit: 2 * 1024 * 1024,
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key } } : {}),
  });

  // The API speaks JSON only: other bodies get 415 rather than failing validation as strings.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof ApiFailure) {
      if (err.statusCode === 401) void reply.header('WWW-Authenticate', 'Bearer');
      return reply.status(err.statusCode).send(err.toBody());
    }
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.status(500).send(new ApiFailure('internal', 'Internal error; the organizer log has details.').toBody());
    }
    // Fastify's own client errors (body parsing, content type, size).
    let message = err.message;
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
      message = `The request body is not valid JSON: ${err.message}`;
    } else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      message = 'The request body is empty but Content-Type is application/json; send a JSON body.';
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      message = `Unsupported Content-Type "${req.headers['content-type'] ?? ''}"; send application/json.`;
    }
    const code = status === 404 ? ('not_found' as const) : status === 429 ? ('rate_limited' as const) : ('bad_request' as const);
    return reply.status(status).send(new ApiFailure(code, message).toBody());
  });

  app.setNotFoundHandler((req, reply) => {
    const e = new ApiFailure('not_found', `No route ${req.method} ${req.url.split('?')[0]}.`);
    return reply.status(404).send(e.toBody());
  });

  // Responses carry session tokens and SSH keys: keep them out of every cache.
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('Cache-Control', 'no-store');
    return payload;
  });

  // Open event streams never end by themselves; closing the service ends them.
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });

  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) =>
      new ApiFailure('rate_limited', `Too many sign-in attempts; try again in ${ctx.after}.`),
  });
  const signInLimiter = new SignInLimiter(opts.signInFailureLimit, opts.now);

  // What the Organizer view shows of an attendee changed: open event streams of the workshop hear it.
  const attendeeChanges = new EventEmitter();
  attendeeChanges.setMaxListeners(0);
  const attendeeChanged = (workshopId: string, attendeeId: string) => attendeeChanges.emit('change', workshopId, attendeeId);

  const attendee = (req: FastifyRequest): AttendeePrincipal => {
    const p = store.authenticate(bearer(req));
    if (p.kind !== 'attendee') {
      throw forbidden('This endpoint is for attendees; the organizer token has no attendee environment.');
    }
    if (store.touchAttendee(p.attendee)) attendeeChanged(p.attendee.workshop_id, p.attendee.id);
    return p;
  };
  const organizer = (req: FastifyRequest): void => {
    const p = store.authenticate(bearer(req));
    if (p.kind !== 'organizer') throw forbidden('This endpoint needs the organizer token; attendee sessions may not use it.');
  };
  const workshopParam = (req: FastifyRequest) => store.findWorkshop((req.params as { workshop: string }).workshop);

  app.route({
    ...route(routes.health),
    handler: async () => ({ status: 'ok', api: API_VERSION }),
  });

  app.route({
    ...route(routes.redeem),
    config: { rateLimit: { max: opts.redeemRateLimit.max, timeWindow: opts.redeemRateLimit.timeWindowMs } },
    handler: async (req, reply) => {
      const wait = signInLimiter.retryAfterMs(req.ip);
      if (wait) {
        const seconds = Math.ceil(wait / 1000);
        void reply.header('Retry-After', String(seconds));
        throw new ApiFailure('rate_limited', `Too many failed sign-in attempts; try again in ${formatSeconds(seconds)}.`);
      }
      try {
        const body = parseBody(RedeemRequest, req.body);
        const redeemed = store.redeemInvite(body.invite);
        attendeeChanged(redeemed.workshop.id, redeemed.attendee.id);
        return redeemed;
      } catch (err) {
        // Only what guessing looks like counts against the address: an unknown invite (401) or a
        // malformed body (422). A real invite used twice or expired (410) is an attendee, and a
        // room behind one NAT shares the address: ten of those must not lock everyone out.
        if (err instanceof ApiFailure && (err.statusCode === 401 || err.statusCode === 422)) signInLimiter.recordFailure(req.ip);
        throw err;
      }
    },
  });

  app.route({
    ...route(routes.signOut),
    handler: async (req, reply: FastifyReply) => {
      const p = attendee(req);
      store.revokeSession(p.sessionId);
      return reply.status(204).send();
    },
  });

  app.route({ ...route(routes.me), handler: async (req) => store.me(attendee(req)) });

  app.route({ ...route(routes.environment), handler: async (req) => store.environment(attendee(req).attendee) });

  app.route({
    ...route(routes.reportProgress),
    handler: async (req) => {
      const p = attendee(req);
      const body = parseBody(ProgressRequest, req.body);
      store.recordProgress(p.attendee.id, body);
      attendeeChanged(p.attendee.workshop_id, p.attendee.id);
      return store.listProgress(p.attendee.id);
    },
  });

  app.route({ ...route(routes.listProgress), handler: async (req) => store.listProgress(attendee(req).attendee.id) });

  app.route({
    ...route(routes.createWorkshop),
    handler: async (req, reply) => {
      organizer(req);
      const body = parseBody(CreateWorkshopRequest, req.body);
      return reply.status(201).send(store.createWorkshop(body));
    },
  });

  app.route({
    ...route(routes.listWorkshops),
    handler: async (req) => {
      organizer(req);
      return { workshops: store.listWorkshops() };
    },
  });

  app.route({
    ...route(routes.getWorkshop),
    handler: async (req) => {
      organizer(req);
      return Store.toWorkshop(workshopParam(req));
    },
  });

  app.route({
    ...route(routes.importAttendees),
    handler: async (req) => {
      organizer(req);
      const workshop = workshopParam(req);
      // Rows are checked one by one so good rows import and bad ones are reported; only a
      // missing body or a malformed envelope is a 422.
      if (req.body === undefined || req.body === null) parseBody(ImportAttendeesRequest, req.body);
      return store.importAttendees(workshop, req.body);
    },
  });

  app.route({
    ...route(routes.listAttendees),
    handler: async (req) => {
      organizer(req);
      return { attendees: store.listAttendees(workshopParam(req).id) };
    },
  });

  app.route({
    ...route(routes.createInvites),
    handler: async (req, reply) => {
      organizer(req);
      const workshop = workshopParam(req);
      // An empty body means "defaults": invites for everyone who still needs one.
      const body = parseBody(CreateInvitesRequest, req.body ?? {});
      const base = opts.publicUrl();
      const invites = store.createInvites(workshop, body.attendeeIds, body.ttlHours).map((i) => ({
        attendeeId: i.attendeeId,
        email: i.email,
        link: buildInviteLink(base, i.token),
        expiresAt: i.expiresAt,
      }));
      for (const i of invites) attendeeChanged(workshop.id, i.attendeeId);
      return reply.status(201).send({ invites } satisfies CreateInvitesResponse);
    },
  });

  app.route({
    ...route(routes.provisionStacks),
    handler: async (req, reply) => {
      organizer(req);
      const workshop = workshopParam(req);
      const body = parseBody(ProvisionRequest, req.body ?? {});
      return reply.status(202).send({ stacks: stacks.provision(workshop, body.attendeeIds) } satisfies ListStacksResponse);
    },
  });

  app.route({
    ...route(routes.listStacks),
    handler: async (req) => {
      organizer(req);
      const workshop = workshopParam(req);
      return { stacks: store.stacksOf(workshop.id).map(Store.toStackSummary) } satisfies ListStacksResponse;
    },
  });

  app.route({
    ...route(routes.destroyStacks),
    handler: async (req, reply) => {
      organizer(req);
      const workshop = workshopParam(req);
      // `?attendeeIds=a,b` limits the teardown; without it the whole workshop goes.
      const ids = attendeeIdsQuery(req.query);
      return reply.status(202).send({ stacks: stacks.destroy(workshop, ids) } satisfies ListStacksResponse);
    },
  });

  app.route({
    ...route(routes.cancelStacks),
    handler: async (req) => {
      organizer(req);
      const workshop = workshopParam(req);
      const body = parseBody(CancelStacksRequest, req.body ?? {});
      return { stacks: stacks.cancel(workshop, body.attendeeIds) } satisfies ListStacksResponse;
    },
  });

  app.route({
    ...route(routes.preflight),
    handler: async (req) => {
      organizer(req);
      return (await stacks.preflight(workshopParam(req))) satisfies PreflightResponse;
    },
  });

  app.route({
    ...route(routes.workshopEvents),
    handler: async (req, reply) => {
      organizer(req);
      const workshop = workshopParam(req);
      // From here on the response is a stream written by hand; errors above still get the JSON shape.
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        // Tells nginx-style proxies not to buffer the stream.
        'X-Accel-Buffering': 'no',
      });
      // The snapshot and the listener are set up in one turn, so no change falls between them.
      res.write(sseFrame({ type: 'snapshot', stacks: store.stacksOf(workshop.id).map(Store.toStackSummary) }));
      const onChange = (c: StackChange) => {
        if (c.workshopId !== workshop.id) return;
        const { workshopId: _ws, ...stack } = c;
        res.write(sseFrame({ type: 'stack', stack }));
      };
      stacks.on('change', onChange);
      const onAttendee = (workshopId: string, attendeeId: string) => {
        if (workshopId !== workshop.id) return;
        const [summary] = store.listAttendees(workshop.id, [attendeeId]);
        if (summary) res.write(sseFrame({ type: 'attendee', attendee: summary }));
      };
      attendeeChanges.on('change', onAttendee);
      const ping = setInterval(() => res.write(': ping\n\n'), opts.eventPingMs ?? 15_000);
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        stacks.off('change', onChange);
        attendeeChanges.off('change', onAttendee);
        clearInterval(ping);
        streams.delete(end);
        res.end();
      };
      streams.add(end);
      // The client went away (or the socket broke): stop listening. (The request's own
      // 'close' fires as soon as its empty body is read, so the response's is the one to watch.)
      res.once('close', end);
      res.once('error', end);
    },
  });

  app.route({
    ...route(routes.sendInvites),
    handler: async (req) => {
      organizer(req);
      const workshop = workshopParam(req);
      const body = parseBody(SendInvitesRequest, req.body ?? {});
      const targets = body.attendeeIds ? store.attendeesOf(workshop.id, body.attendeeIds) : store.attendeesToMail(workshop.id, body.which);
      const base = opts.publicUrl();
      // Each attendee's outcome in the roster's order, whichever mail finished first.
      const outcomes: ({ sent: SendInvitesResponse['sent'][number] } | { failed: SendInvitesResponse['failed'][number] })[] = [];
      const sendOne = async (i: number): Promise<void> => {
        const a = targets[i]!;
        const invite = store.issueInvite(a, body.ttlHours);
        try {
          const mail = await opts.mailer.sendInvite({
            to: a.email,
            name: a.name,
            workshopTitle: workshop.title,
            link: buildInviteLink(base, invite.token),
            expiresAt: invite.expiresAt,
          });
          store.inviteMailed(invite.inviteId);
          attendeeChanged(workshop.id, a.id);
          outcomes[i] = { sent: { attendeeId: a.id, email: a.email, messageId: mail.messageId } };
        } catch (err) {
          // A failure for one attendee does not stop the rest, and leaves their earlier link working.
          store.discardInvite(invite.inviteId);
          req.log.warn({ err, to: a.email }, 'invite mail failed');
          outcomes[i] = { failed: { attendeeId: a.id, email: a.email, reason: err instanceof Error ? err.message : String(err) } };
        }
      };
      // As many at once as the mailer has connections; each worker takes the next attendee.
      let next = 0;
      const worker = async () => {
        while (next < targets.length) await sendOne(next++);
      };
      await Promise.all(Array.from({ length: Math.min(opts.mailer.concurrency, targets.length) }, worker));
      return {
        transport: opts.mailer.mode,
        outboxDir: opts.mailer.outboxDir,
        sent: outcomes.flatMap((o) => ('sent' in o ? [o.sent] : [])),
        failed: outcomes.flatMap((o) => ('failed' in o ? [o.failed] : [])),
      } satisfies SendInvitesResponse;
    },
  });

  return app;
}
