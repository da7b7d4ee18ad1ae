/**
 * The one HTTP layer of the extension and the CLI: Nomad, Consul and the organizer API all go
 * through `HttpClient`. It owns what every call needs and none may forget: the agent (the SSH
 * tunnel's, for the cluster), the credential header, a time limit, a cap on the response size,
 * gzip, and one log line per request (method, path, status, duration). Callers turn statuses
 * into their own errors; transport failures arrive here as `HttpTransportError` with a kind.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { silentLogger, type Logger } from './logger';

export type QueryValue = string | number | boolean | undefined | null | string[];
export type Query = Record<string, QueryValue>;

export interface HttpClientOptions {
  /** `http://127.0.0.1:4646`; with a tunnel agent the host part only names the Host header. */
  baseUrl: string;
  /** Connections come from here (the tunnel's agent for the cluster). */
  agent?: http.Agent;
  /** Sent with every request: the credential (`X-Nomad-Token`, `Authorization`), the user agent. */
  headers?: Record<string, string>;
  /** Longest a request may take, headers and body, in ms (default 30 s); a stream only waits this long for its headers. */
  timeoutMs?: number;
  /** Largest response body accepted, in bytes after decompression (default 64 MiB). */
  maxBytes?: number;
  /** Names the service in log lines and errors: `Nomad`, `Consul`, `Organizer API`. */
  service: string;
  log?: Logger;
  /** Level of the per-request line (default `debug`; the organizer API logs at `info`). */
  logLevel?: 'debug' | 'info';
}

export interface RequestOptions {
  query?: Query;
  /** JSON-encoded unless `rawBody` is set. */
  body?: unknown;
  /** Sent as it is (`text/plain`), e.g. a Consul KV value. */
  rawBody?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Overrides the client's time limit for this request (a blocking query waits longer). */
  timeoutMs?: number;
  /** Overrides the client's size cap. */
  maxBytes?: number;
  /** A long-lived stream (logs, events): no time limit after the headers, no size cap, no gzip. */
  stream?: boolean;
  accept?: string;
}

export type TransportErrorKind =
  /** Nothing answered: refused, reset, the tunnel down. */
  | 'unreachable'
  /** No complete answer within the time limit. */
  | 'timeout'
  /** The caller cancelled. */
  | 'aborted'
  /** The body is larger than the cap. */
  | 'too-large'
  /** The answer started and broke off. */
  | 'broken';

export class HttpTransportError extends Error {
  override readonly name = 'HttpTransportError';
  constructor(
    message: string,
    readonly kind: TransportErrorKind,
    readonly service: string,
    readonly method: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** A header's value (first one), lower-case name. */
  header(name: string): string | undefined;
  /** The body, decompressed; for `stream` requests the caller reads and destroys it. */
  readonly body: Readable;
  /** The whole body as text (within the time limit and the size cap). */
  text(): Promise<string>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

export function buildQuery(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, v);
    else params.append(key, value === true ? 'true' : String(value));
  }
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

function describeNetworkError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ENOTFOUND') return `host not found (${err.message.replace(/^getaddrinfo ENOTFOUND\s*/, '') || 'DNS'})`;
  return err.message;
}

export class HttpClient {
  readonly baseUrl: string;
  readonly service: string;
  readonly log: Logger;
  private readonly url: URL;

  constructor(private readonly options: HttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.url = new URL(this.baseUrl);
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') throw new Error(`${options.service}: ${options.baseUrl} is not an http(s) URL`);
    this.service = options.service;
    this.log = options.log ?? silentLogger;
  }

  /** A client for the same server with other defaults (e.g. another credential). */
  with(overrides: Partial<Omit<HttpClientOptions, 'baseUrl'>>): HttpClient {
    return new HttpClient({ ...this.options, ...overrides, headers: { ...this.options.headers, ...overrides.headers } });
  }

  /**
   * Sends a request and resolves once the status and headers are in (any status). The body is
   * read with `text()` or, for streams, from `body`. Rejects with HttpTransportError only.
   */
  request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const started = Date.now();
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxBytes = opts.stream ? Infinity : (opts.maxBytes ?? this.options.maxBytes ?? DEFAULT_MAX_BYTES);
    const fail = (kind: TransportErrorKind, why: string, cause?: unknown) => {
      const text =
        kind === 'aborted'
          ? `${this.service} ${method} ${path}: cancelled`
          : kind === 'timeout'
            ? `${this.service} ${method} ${path}: no answer within ${Math.round(timeoutMs / 100) / 10} s`
            : `${this.service} ${method} ${path}: ${why}`;
      return new HttpTransportError(text, kind, this.service, method, path, { cause });
    };

    const headers: Record<string, string> = { accept: opts.accept ?? 'application/json', ...this.options.headers, ...opts.headers };
    if (!opts.stream) headers['accept-encoding'] = 'gzip';
    let payload: Buffer | undefined;
    if (opts.rawBody !== undefined) {
      payload = Buffer.from(opts.rawBody, 'utf8');
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    } else if (opts.body !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.body), 'utf8');
      headers['content-type'] = 'application/json';
    }
    if (payload) headers['content-length'] = String(payload.length);

    return new Promise<HttpResponse>((resolve, reject) => {
      const signal = opts.signal;
      if (signal?.aborted) return reject(fail('aborted', 'cancelled'));
      const transport = this.url.protocol === 'https:' ? https : http;
      let settledHeaders = false;
      let finished = false;
      let bodyError: HttpTransportError | undefined;
      const req = transport.request({
        protocol: this.url.protocol,
        hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
        port: this.url.port || undefined,
        method,
        path: `${this.url.pathname.replace(/\/+$/, '')}${path}${buildQuery(opts.query)}`,
        headers,
        agent: this.options.agent,
      });
      const stop = (err: HttpTransportError) => {
        if (finished) return;
        bodyError ??= err;
        req.destroy(err);
      };
      const timer = setTimeout(() => stop(fail('timeout', 'timed out')), timeoutMs);
      // The socket keeps a process alive while a request is under way; the time limit need not.
      timer.unref();
      const onAbort = () => stop(fail('aborted', 'cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        finished = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };

      req.on('error', (err: NodeJS.ErrnoException) => {
        const known = err instanceof HttpTransportError ? err : bodyError;
        if (!settledHeaders) {
          cleanup();
          const e = known ?? fail('unreachable', `${this.service} cannot be reached (${describeNetworkError(err)})`, err);
          this.log.debug(`${this.service} ${method} ${path} failed after ${Date.now() - started} ms: ${e.message}`);
          reject(e);
        }
      });

      req.on('response', (res) => {
        settledHeaders = true;
        const ms = Date.now() - started;
        const line = `${this.service} ${method} ${path} ${res.statusCode} ${ms} ms`;
        if (this.options.logLevel === 'info') this.log.info(line);
        else this.log.debug(line);
        if (opts.stream) {
          // From here on the caller owns the stream: its own signal or destroy() ends it.
          clearTimeout(timer);
        }
        const declared = Number(res.headers['content-length'] ?? NaN);
        if (Number.isFinite(declared) && declared > maxBytes) {
          const err = fail('too-large', `the answer is ${declared} bytes, more than the ${maxBytes} accepted`);
          cleanup();
          res.destroy();
          req.destroy();
          reject(err);
          return;
        }
        const gzip = !opts.stream && /^(x-)?gzip$/i.test(String(res.headers['content-encoding'] ?? ''));
        const body: Readable = gzip ? res.pipe(zlib.createGunzip()) : res;
        if (gzip) res.on('error', (err) => body.destroy(err));
        let read: Promise<string> | undefined;
        const response: HttpResponse = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          header: (name) => {
            const v = res.headers[name.toLowerCase()];
            return Array.isArray(v) ? v[0] : v;
          },
          body,
          text: () =>
            (read ??= new Promise<string>((done, broke) => {
              const chunks: Buffer[] = [];
              let size = 0;
              body.on('data', (chunk: Buffer) => {
                size += chunk.length;
                if (size > maxBytes) {
                  stop(fail('too-large', `the answer is larger than the ${maxBytes} bytes accepted`));
                  body.destroy(bodyError);
                  return;
                }
                chunks.push(chunk);
              });
              body.on('end', () => {
                cleanup();
                done(Buffer.concat(chunks).toString('utf8'));
              });
              body.on('error', (err: Error) => {
                cleanup();
                broke(bodyError ?? (err instanceof HttpTransportError ? err : fail('broken', `the answer broke off (${err.message})`, err)));
              });
              res.on('aborted', () => {
                cleanup();
                broke(bodyError ?? fail('broken', 'the answer broke off'));
              });
            })),
        };
        if (!opts.stream) {
          // A response nobody reads must still end the timer and free the socket.
          res.on('end', cleanup);
        } else {
          res.on('close', cleanup);
        }
        resolve(response);
      });

      if (payload) req.end(payload);
      else req.end();
    });
  }
}

/** True for errors that mean "the request was cancelled by its caller". */
export function isAborted(err: unknown): boolean {
  return err instanceof HttpTransportError && err.kind === 'aborted';
}
