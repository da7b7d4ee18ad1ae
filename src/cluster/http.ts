/**
 * What Nomad and Consul calls share on top of the common HTTP layer (src/common/http.ts): the
 * ACL token header, blocking-query parameters and headers, Nomad's and Consul's error bodies as
 * ClusterHttpError, and runtime validation of every body.
 */
import type * as http from 'node:http';
import type { ZodType, ZodTypeDef } from 'zod';
import { HttpClient, HttpTransportError, type HttpResponse, type Query } from '../common/http';
import type { Logger } from '../common/logger';
import { ClusterError, ClusterHttpError, ResponseShapeError, shapeProblems, type ClusterErrorKind, type ClusterService } from './errors';

export type { Query, QueryValue } from '../common/http';

export interface ApiClientOptions {
  /** e.g. `http://127.0.0.1:4646`; with a tunnel agent the host part only names the Host header. */
  baseUrl: string;
  agent?: http.Agent;
  /** ACL token (Nomad SecretID / Consul token). */
  token?: string;
  log?: Logger;
  /** Time limit of a call that does not block (default 30 s). */
  timeoutMs?: number;
  /** Largest body read, in bytes (default 64 MiB). */
  maxBytes?: number;
}

/** Options of a blocking read. */
export interface BlockingOptions {
  /** Return only after the state's index exceeds this (0 or absent = answer at once). */
  index?: number;
  /** Longest wait of the server, in seconds (server default 5 min, max 10 min). */
  waitSeconds?: number;
  signal?: AbortSignal;
}

export interface QueryResult<T> {
  data: T;
  /** X-Nomad-Index / X-Consul-Index; 0 when the endpoint does not block. */
  index: number;
  knownLeader?: boolean;
  lastContactMs?: number;
}

export interface RequestOptions<T> {
  query?: Query;
  body?: unknown;
  rawBody?: string;
  schema?: ZodType<T, ZodTypeDef, unknown>;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const TRANSPORT_KIND: Record<HttpTransportError['kind'], ClusterErrorKind> = {
  unreachable: 'unreachable',
  broken: 'unreachable',
  timeout: 'timeout',
  aborted: 'aborted',
  'too-large': 'too-large',
};

export class ClusterApi {
  readonly http: HttpClient;

  constructor(
    readonly service: ClusterService,
    tokenHeader: string,
    private readonly indexHeader: string,
    options: ApiClientOptions,
  ) {
    this.http = new HttpClient({
      baseUrl: options.baseUrl,
      agent: options.agent,
      headers: options.token ? { [tokenHeader]: options.token } : {},
      timeoutMs: options.timeoutMs,
      maxBytes: options.maxBytes,
      service,
      log: options.log,
    });
  }

  get log(): Logger {
    return this.http.log;
  }

  /** The query of a blocking read, and how long the call may take (the wait plus Nomad's jitter of wait/16, plus a margin). */
  blockingQuery(opts: BlockingOptions | undefined): { query: Query; timeoutMs?: number } {
    if (!opts?.index) return { query: {} };
    const wait = Math.max(1, Math.round(opts.waitSeconds ?? 300));
    return { query: { index: Math.max(1, Math.floor(opts.index)), wait: `${wait}s` }, timeoutMs: Math.ceil(wait * (1 + 1 / 16)) * 1000 + 15_000 };
  }

  /** Sends a request; resolves with the response when the status is 2xx. */
  async send(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown; rawBody?: string; signal?: AbortSignal; accept?: string; stream?: boolean; timeoutMs?: number } = {},
  ): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await this.http.request(method, path, opts);
    } catch (err) {
      throw this.transportError(err, path);
    }
    if (res.status < 200 || res.status >= 300) {
      const body = await res.text().catch(() => '');
      throw new ClusterHttpError(this.service, method, path, res.status, body);
    }
    return res;
  }

  /** A JSON request validated by `schema`. */
  async request<T>(method: string, path: string, opts: RequestOptions<T> = {}): Promise<QueryResult<T>> {
    const res = await this.send(method, path, opts);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.transportError(err, path);
    }
    let json: unknown;
    try {
      json = text.length ? JSON.parse(text) : null;
    } catch {
      throw new ResponseShapeError(this.service, path, [{ field: '', message: `the body is not JSON: ${JSON.stringify(text.slice(0, 80))}` }]);
    }
    const data = this.validate(path, json, opts.schema);
    const prefix = this.indexHeader.replace(/-index$/i, '');
    const index = Number(res.header(this.indexHeader) ?? 0);
    const knownLeader = res.header(`${prefix}-knownleader`);
    const lastContact = res.header(`${prefix}-lastcontact`);
    return {
      data,
      index: Number.isFinite(index) ? index : 0,
      knownLeader: knownLeader === undefined ? undefined : knownLeader === 'true',
      lastContactMs: lastContact === undefined ? undefined : Number(lastContact),
    };
  }

  /** A plain-text request (`?raw` reads); undefined on 404. */
  async text(method: string, path: string, opts: { query?: Query; signal?: AbortSignal } = {}): Promise<string | undefined> {
    try {
      const res = await this.send(method, path, { ...opts, accept: '*/*' });
      return await res.text();
    } catch (err) {
      if (err instanceof ClusterHttpError && err.status === 404) return undefined;
      if (err instanceof ClusterError) throw err;
      throw this.transportError(err, path);
    }
  }

  validate<T>(path: string, json: unknown, schema?: ZodType<T, ZodTypeDef, unknown>): T {
    if (!schema) return json as T;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const err = new ResponseShapeError(this.service, path, shapeProblems(parsed.error.issues));
      this.log.error(err.message);
      throw err;
    }
    return parsed.data;
  }

  transportError(err: unknown, path: string): ClusterError {
    if (err instanceof ClusterError) return err;
    if (err instanceof HttpTransportError) return new ClusterError(err.message, TRANSPORT_KIND[err.kind], this.service, path, { cause: err });
    return new ClusterError(`${this.service} ${path}: ${(err as Error).message}`, 'unreachable', this.service, path, { cause: err });
  }
}
