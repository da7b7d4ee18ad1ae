/**
 * Shared helpers of the lab cluster tests: a cluster on 127.0.0.1 with free ports and a fast
 * clock, plain fetch helpers, and waiting by blocking queries (never by sleeping).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { startLabCluster, type LabCluster, type LabClusterOptions } from '../../src/labcluster';
import { parseJobHCL, type NomadJob } from '../../src/labcluster/jobspec';

export async function startTestCluster(opts: LabClusterOptions = {}): Promise<LabCluster> {
  return startLabCluster({ host: '127.0.0.1', nomadPort: 0, consulPort: 0, timeScale: 0.002, stepMs: 5, healthyAfterMs: 40, consulJob: false, ...opts });
}

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function call<T = unknown>(base: string, p: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
  const res = await fetch(`${base}${p}`, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers: { ...(init.body !== undefined && typeof init.body !== 'string' ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json') && text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: body as T, text };
}

export async function getOk<T>(base: string, p: string): Promise<Reply<T>> {
  const r = await call<T>(base, p);
  assert.equal(r.status, 200, `GET ${p}: ${r.text}`);
  return r;
}

/**
 * Blocking-query GET until `done` holds: each round waits for the index to move, so the test
 * reacts to the change instead of sleeping.
 */
export async function waitFor<T>(base: string, p: string, done: (body: T) => boolean, what = p, rounds = 200): Promise<T> {
  let index = 0;
  const indexHeader = (h: Headers) => Number(h.get('x-nomad-index') ?? h.get('x-consul-index') ?? 0);
  for (let i = 0; i < rounds; i++) {
    const sep = p.includes('?') ? '&' : '?';
    const r = await call<T>(base, index ? `${p}${sep}index=${index}&wait=10s` : p);
    if (r.status === 200 && done(r.body)) return r.body;
    index = indexHeader(r.headers) || index;
  }
  assert.fail(`timed out waiting for ${what}`);
}

export async function jobFile(name: string, variables?: string): Promise<NomadJob> {
  const hcl = readFileSync(path.join(__dirname, '..', '..', 'jobs', name), 'utf8');
  return parseJobHCL(hcl, { canonicalize: true, filename: name, variables });
}

export async function register(base: string, job: NomadJob): Promise<{ EvalID: string; JobModifyIndex: number }> {
  const r = await call<{ EvalID: string; JobModifyIndex: number }>(base, '/v1/jobs', { body: { Job: job } });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

export interface Alloc {
  ID: string;
  Name: string;
  NodeID: string;
  NodeName: string;
  TaskGroup: string;
  JobVersion: number;
  DesiredStatus: string;
  DesiredDescription: string;
  ClientStatus: string;
  ClientDescription: string;
  NextAllocation: string;
  DeploymentStatus: { Healthy: boolean | null } | null;
  TaskStates: Record<string, { State: string; Failed: boolean; Restarts: number; Events: { Type: string; DisplayMessage: string; Time: number }[] }> | null;
  CreateIndex: number;
  ModifyIndex: number;
  CreateTime: number;
  ModifyTime: number;
}

export interface Node {
  ID: string;
  Name: string;
  Datacenter: string;
  Status: string;
  Attributes?: Record<string, string>;
}

export interface Evaluation {
  Status: string;
  FailedTGAllocs: Record<string, Record<string, unknown>> | null;
  BlockedEval: string;
}

export async function evalDone(base: string, evalId: string): Promise<Evaluation> {
  return waitFor<Evaluation>(base, `/v1/evaluation/${evalId}`, (e) => e.Status !== 'pending', `evaluation ${evalId}`);
}

export const live = (allocs: Alloc[]): Alloc[] => allocs.filter((a) => a.DesiredStatus === 'run' && !['complete', 'failed', 'lost'].includes(a.ClientStatus));
