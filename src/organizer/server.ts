/**
 * The HTTP API: every route of `routes` in src/contract/api.ts, with bodies validated by
 * the contract's schemas and every error, Fastify's own included, shaped as ApiError.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import {
  API_VERSION,
  buildInviteLink,
  CreateInvitesRequest,
  CreateWorkshopRequest,
  ImportAttendeesRequest,
  ProgressRequest,
  ProvisionRequest,
  RedeemRequest,
  routes,
  type CreateInvitesResponse,
  type ListStacksResponse,
} from '../contract';
import { forbidden, HttpError, parseBody, unauthorized } from './errors';
import { SignInLimiter, type SignInLimitOptions } from './signinlimit';
import type { StackService } from './stacks';
import { Store, type Principal } from './store';

export interface RateLimitOptions {
  max: number;
  timeWindowMs: number;
}

export interface AppOptions {
  store: Store;
  stacks: StackService;
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
    if (err instanceof HttpError) {
      if (err.statusCode === 401) void reply.header('WWW-Authenticate', 'Bearer');
      return reply.status(err.statusCode).send(err.toBody());
    }
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.status(500).send(new HttpError(500, 'internal', 'Internal error; the organizer log has details.').toBody());
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
    const code = status === 404 ? 'not_found' : status === 429 ? 'rate_limited' : 'bad_request';
    return reply.status(status).send(new HttpError(status, code, message).toBody());
  });

  app.setNotFoundHandler((req, reply) => {
    const e = new HttpError(404, 'not_found', `No route ${req.method} ${req.url.split('?')[0]}.`);
    return reply.status(404).send(e.toBody());
  });

  // Responses carry session tokens and SSH keys: keep them out of every cache.
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('Cache-Control', 'no-store');
    return payload;
  });

  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) =>
      new HttpError(429, 'rate_limited', `Too many sign-in attempts; try again in ${ctx.after}.`),
  });
  const signInLimiter = new SignInLimiter(opts.signInFailureLimit, opts.now);

  const attendee = (req: FastifyRequest): AttendeePrincipal => {
    const p = store.authenticate(bearer(req));
    if (p.kind !== 'attendee') {
      throw forbidden('This endpoint is for attendees; the organizer token has no attendee environment.');
    }
    store.touchAttendee(p.attendee);
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
        throw new HttpError(429, 'rate_limited', `Too many failed sign-in attempts; try again in ${formatSeconds(seconds)}.`);
      }
      try {
        const body = parseBody(RedeemRequest, req.body);
        return store.redeemInvite(body.invite);
      } catch (err) {
        if (err instanceof HttpError && err.statusCode < 500) signInLimiter.recordFailure(req.ip);
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
      const q = req.query as { attendee?: string | string[] };
      // `?attendee=<id>` (repeatable) limits the teardown; without it the whole workshop goes.
      const ids = q.attendee === undefined ? undefined : Array.isArray(q.attendee) ? q.attendee : [q.attendee];
      return reply.status(202).send({ stacks: stacks.destroy(workshop, ids) } satisfies ListStacksResponse);
    },
  });

  return app;
}
