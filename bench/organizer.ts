/**
 * 6. Organizer service: 500 attendees redeem their invites and fetch their environment, all
 * at once, against startOrganizer (in its own process) with a temp SQLite file. Stacks are "built" by an instant
 * stand-in provider first, so the environment answer is the full ready one (key decrypted).
 * Attendees come from distinct addresses (X-Forwarded-For with trustProxy); a second run sends
 * all 500 from one address with the default rate limits, as a room behind one NAT would.
 */
import * as crypto from 'node:crypto';
import { Agent, request } from 'undici';
import { fmt, nowMs, quantile, sleep, statRow, type Benchmark, type BenchContext, type Row } from './lib';
import { firstMessage, forkTs } from './procs';
import { DEFAULT_REDEEM_RATE_LIMIT, DEFAULT_SIGN_IN_FAILURE_LIMIT } from '../src/organizer';

const ATTENDEES = 500;

const dispatcher = new Agent({ connections: ATTENDEES + 10, pipelining: 1, keepAliveTimeout: 30_000 });

/**
 * One request with undici's request() rather than fetch(): the load generator shares the two
 * cores with the service, and fetch's own overhead (about 3× request()'s per call here) was
 * being counted as the organizer's latency.
 */
async function call(base: string, method: string, p: string, o: { token?: string; body?: unknown; ip?: string } = {}): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.ip) headers['x-forwarded-for'] = o.ip;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await request(base + p, { method: method as 'GET' | 'POST', headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), dispatcher });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
}

async function start(ctx: BenchContext, trustProxy: boolean): Promise<{ org: { url: string }; token: string }> {
  const proc = await forkTs(ctx, 'child-organizer.ts', [JSON.stringify({ dataDir: ctx.tempDir('organizer'), trustProxy })]);
  const got = await firstMessage<{ url: string; token: string }>(proc, 'the organizer process');
  return { org: { url: got.url }, token: got.token };
}

/** A workshop of ATTENDEES with ready stacks; returns their invite tokens. */
async function workshop(org: { url: string }, token: string): Promise<string[]> {
  const name = 'bench-' + crypto.randomBytes(3).toString('hex');
  const must = (r: { status: number; body: unknown }, status: number, what: string) => {
    if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as Record<string, unknown>;
  };
  must(await call(org.url, 'POST', '/v1/workshops', { token, body: { name, title: 'Benchmark' } }), 201, 'create workshop');
  must(await call(org.url, 'POST', `/v1/workshops/${name}/attendees`, { token, body: { attendees: Array.from({ length: ATTENDEES }, (_, i) => ({ email: `a${i}@bench.example`, name: `Attendee ${i}` })) } }), 200, 'import attendees');
  const inv = must(await call(org.url, 'POST', `/v1/workshops/${name}/invites`, { token, body: {} }), 201, 'create invites') as { invites: { link: string }[] };
  must(await call(org.url, 'POST', `/v1/workshops/${name}/stacks`, { token, body: {} }), 202, 'provision');
  for (;;) {
    const st = must(await call(org.url, 'GET', `/v1/workshops/${name}/stacks`, { token }), 200, 'list stacks') as { stacks: { status: string }[] };
    if (st.stacks.every((x) => x.status === 'ready')) break;
    if (st.stacks.some((x) => x.status === 'failed')) throw new Error('a stand-in stack failed');
    await sleep(100);
  }
  return inv.invites.map((i) => new URL(i.link).searchParams.get('invite')!);
}

interface Round {
  latencies: number[];
  errors: Map<number | string, number>;
  wallMs: number;
}

async function storm(org: { url: string }, invites: string[], distinct: boolean, sequential = false): Promise<Round> {
  const latencies: number[] = [];
  const errors = new Map<number | string, number>();
  const fail = (k: number | string) => errors.set(k, (errors.get(k) ?? 0) + 1);
  const t0 = nowMs();
  const one = async (invite: string, i: number) => {
      const ip = distinct ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : undefined;
      try {
        let s = nowMs();
        const r = await call(org.url, 'POST', '/v1/auth/redeem', { body: { invite }, ip });
        latencies.push(nowMs() - s);
        if (r.status !== 200) return fail(r.status);
        s = nowMs();
        const env = await call(org.url, 'GET', '/v1/me/environment', { token: (r.body as { token: string }).token, ip });
        latencies.push(nowMs() - s);
        if (env.status !== 200) return fail(env.status);
        if ((env.body as { status: string }).status !== 'ready') fail('not ready');
      } catch (err) {
        fail((err as Error).message);
      }
  };
  if (sequential) for (let i = 0; i < invites.length; i++) await one(invites[i]!, i);
  else await Promise.all(invites.map(one));
  return { latencies, errors, wallMs: nowMs() - t0 };
}

export const organizerBench: Benchmark = {
  id: 'organizer',
  title: '6. Organizer: 500 attendees sign in at once',
  async run(ctx) {
    const rows: Row[] = [];
    const { org, token } = await start(ctx, true);
    const floorProc = await forkTs(ctx, 'child-floor.ts', []);
    const floor = await firstMessage<{ url: string }>(floorProc, 'the bare Fastify process');
    const floorP99: number[] = [];
    const ratio: number[] = [];
    const rounds = ctx.quick ? 3 : 5;
    const p50: number[] = [];
    const p99: number[] = [];
    const wall: number[] = [];
    let errors = 0;
    const kinds = new Map<string, number>();
    for (let r = 0; r < rounds; r++) {
      const invites = await workshop(org, token);
      // The floor first, in the same minute: the identical burst against a bare Fastify server.
      const bare = await storm(floor, invites, true);
      if (bare.errors.size) throw new Error(`the bare server failed: ${[...bare.errors].map(([k, n]) => `${k}×${n}`).join(', ')}`);
      floorP99.push(quantile(bare.latencies, 0.99));
      const round = await storm(org, invites, true);
      ratio.push(quantile(round.latencies, 0.99) / floorP99[r]!);
      p50.push(quantile(round.latencies, 0.5));
      p99.push(quantile(round.latencies, 0.99));
      wall.push(round.wallMs);
      for (const [k, n] of round.errors) {
        errors += n;
        kinds.set(String(k), (kinds.get(String(k)) ?? 0) + n);
      }
      ctx.log(`round ${r + 1}/${rounds}: floor p99 ${floorP99[r]!.toFixed(1)} ms; organizer p50 ${p50[r]!.toFixed(1)} ms, p99 ${p99[r]!.toFixed(1)} ms, ${round.wallMs.toFixed(0)} ms for all, ${[...round.errors.values()].reduce((a, b) => a + b, 0)} errors`);
    }
    const how = `${rounds} rounds, each a fresh workshop of ${ATTENDEES} attendees with ready stacks; all ${ATTENDEES} start at once, each POST /v1/auth/redeem then GET /v1/me/environment (${2 * ATTENDEES} requests per round, keep-alive, one connection per attendee, distinct X-Forwarded-For addresses). Latency per request; the figure is the median over rounds of each round's percentile.`;
    rows.push(statRow('organizer: request latency p99 (500 attendees at once)', p99, 'ms', '< 100 ms', (m) => m < 100, how));
    rows.push(statRow('organizer: request latency p50', p50, 'ms', '', null, 'Same rounds.'));
    rows.push(statRow('organizer: floor p99, same burst against a bare Fastify server', floorP99, 'ms', '', null, `bench/child-floor.ts: Fastify with the same two routes answering constants (no database, hashing or keys), in its own process, hit by the identical burst just before each organizer round. What the machine and the load generator cost by themselves.`));
    rows.push(statRow('organizer: p99 ratio organizer / bare Fastify', ratio, '×', '', null, 'Per round, the two p99s above measured a moment apart.'));
    rows.push(statRow('organizer: wall time for all 500 to sign in and fetch', wall, 'ms', '', null, 'From the first request to the last answer, per round.'));
    rows.push({ name: 'organizer: errors (distinct addresses)', median: String(errors), spread: '', target: '0', verdict: errors === 0 ? 'pass' : 'FAIL', note: errors ? `By kind: ${[...kinds].map(([k, n]) => `${k}×${n}`).join(', ')}.` : `Over ${rounds * 2 * ATTENDEES} requests.` });

    // The same work one attendee at a time: the service time of a request without queueing.
    const seq = await storm(org, await workshop(org, token), true, true);
    rows.push({ name: 'organizer: one attendee at a time (no queueing), p50 / p99', median: `${fmt(quantile(seq.latencies, 0.5), 'ms')} / ${fmt(quantile(seq.latencies, 0.99), 'ms')}`, spread: `${fmt(seq.wallMs, 'ms')} for all`, target: '', verdict: 'info', note: `${ATTENDEES} attendees in sequence: the per-request service time. ${2 * ATTENDEES} requests × this ≈ the burst's wall time, so in the burst the p99 is queueing behind the other attendees on one event loop.` });

    // All from one address, default limits (300 sign-ins a minute per address).
    const single = await start(ctx, false);
    const invites = await workshop(single.org, single.token);
    const round = await storm(single.org, invites, false);
    const bad = [...round.errors.values()].reduce((a, b) => a + b, 0);
    rows.push({
      name: 'organizer: 500 from ONE address, default rate limit',
      median: `${bad} failed`,
      spread: `p99 ${fmt(quantile(round.latencies, 0.99), 'ms')}`,
      target: '',
      verdict: 'info',
      note: `One round, no X-Forwarded-For: ${round.errors.size ? [...round.errors].map(([k, n]) => `${k}×${n}`).join(', ') : 'no errors'}. Default limits: all sign-ins ${DEFAULT_REDEEM_RATE_LIMIT.max} per ${DEFAULT_REDEEM_RATE_LIMIT.timeWindowMs / 1000} s per address (DEFAULT_REDEEM_RATE_LIMIT), failed ones ${DEFAULT_SIGN_IN_FAILURE_LIMIT.max} per ${DEFAULT_SIGN_IN_FAILURE_LIMIT.timeWindowMs / 1000} s${bad ? '; a room of this size behind one NAT needs more' : ''}.`,
    });
    return rows;
  },
};
