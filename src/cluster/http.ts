/**
 * The HTTP layer both cluster clients share: node-fetch over a given agent (the tunnel's
 * `http.Agent` in the extension), token header, blocking-query parameters and headers,
 * runtime validation of bodies, and one log line per request.
 */
import type * as http from 'node:http';
import fetch, { type RequestInit, type Response } from 'node-fetch';
import type { ZodType, ZodTypeDef } from 'zod';
import { silentLogger, type Logger } from '../attendee/logger';
import { ClusterError, ClusterHttpError, ResponseShapeError, shapeProblems, type ClusterService } from './errors';

export interface ApiClientOptions {
  /** e.g. `http://127.0.0.1:4646`; with a tunnel agent the host part only names the Host header. */
  baseUrl: string;
  agent?: http.Agent;
  /** ACL token (Nomad SecretID / Consul token). */
  token?: string;
  log?: Logger;
}

export type QueryValue = string | number | boolean | undefined | null | string[];
export type Query = Record<string, QueryValue>;

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
  schema?: ZodType<T, ZodTypeDef, unknown>;
  signal?: AbortSignal;
}

function isAbort(err: unknown): boolean {
  return (err as { name?: string })?.name === 'AbortError';
}

/** Errors of the tunnel or the socket that mean "nothing answers there". */
function describeUnreachable(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  return err.message;
}

export class HttpApi {
  private readonly baseUrl: string;
  readonly log: Logger;

  constructor(
    readonly service: ClusterService,
    private readonly tokenHeader: string,
    private readonly indexHeader: string,
    private readonly options: ApiClientOptions,
  ) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.log = options.log ?? silentLogger;
  }

  url(path: string, query?: Query): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null || value === false) continue;
      if (Array.isArray(value)) for (const v of value) params.append(key, v);
      else params.append(key, value === true ? 'true' : String(value));
    }
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  blockingQuery(opts: BlockingOptions | undefined): Query {
    if (!opts?.index) return {};
    return { index: Math.max(1, Math.floor(opts.index)), wait: `${Math.max(1, Math.round(opts.waitSeconds ?? 300))}s` };
  }

  /** Sends a request; resolves with the raw response when the status is 2xx. */
  async send(
    method: string,
    path: string,
    opts: { query?: Query; body?: unknown; signal?: AbortSignal; accept?: string; stream?: boolean } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: opts.accept ?? 'application/json' };
    if (this.options.token) headers[this.tokenHeader] = this.options.token;
    // Streams (logs, events) go uncompressed: a gzip layer would hold back small writes.
    const init: RequestInit = { method, headers, agent: this.options.agent, compress: !opts.stream };
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    if (opts.signal) init.signal = opts.signal as RequestInit['signal'];
    const started = Date.now();
    let res: Response;
    try {
      res = await fetch(this.url(path, opts.query), init);
    } catch (err) {
      if (isAbort(err)) throw new ClusterError(`${this.service} ${method} ${path}: cancelled`, 'aborted', this.service, path, { cause: err });
      const msg = describeUnreachable(err as Error);
      this.log.debug(`${this.service} ${method} ${path} failed after ${Date.now() - started} ms: ${msg}`);
      throw new ClusterError(`${this.service} ${method} ${path}: ${this.service} cannot be reached (${msg})`, 'unreachable', this.service, path, { cause: err });
    }
    this.log.debug(`${this.service} ${method} ${path} ${res.status} ${Date.now() - started} ms`);
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
      if (isAbort(err)) throw new ClusterError(`${this.service} ${method} ${path}: cancelled`, 'aborted', this.service, path, { cause: err });
      throw new ClusterError(`${this.service} ${method} ${path}: the answer broke off (${(err as Error).message})`, 'unreachable', this.service, path, { cause: err });
    }
    let json: unknown;
    try {
      json = text.length ? JSON.parse(text) : null;
    } catch {
      throw new ResponseShapeError(this.service, path, [{ field: '', message: `the body is not JSON: ${JSON.stringify(text.slice(0, 80))}` }]);
    }
    const data = this.validate(path, json, opts.schema);
    const index = Number(res.headers.get(this.indexHeader) ?? 0);
    const knownLeader = res.headers.get(`${this.indexHeader.replace(/-index$/i, '')}-knownleader`);
    const lastContact = res.headers.get(`${this.indexHeader.replace(/-index$/i, '')}-lastcontact`);
    return {
      data,
      index: Number.isFinite(index) ? index : 0,
      knownLeader: knownLeader === null ? undefined : knownLeader === 'true',
      lastContactMs: lastContact === null ? undefined : Number(lastContact),
    };
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
}
