// /v1/event/stream: newline-delimited JSON batches of state change events, filtered by topic and
// key (or filter key) and namespace, replayed from `index`, with {} heartbeats. Nomad's
// command/agent/event_endpoint.go and the event broker's subscriptions (nomad/stream),
// simplified.
import { HttpError, type Ctx } from '../../http';
import type { StreamEvent } from '../../store';
import { notFound, nsMatch, untilClosed, type NomadApiOptions, type Route } from './request';

/** /v1/event/stream */
export async function eventEndpoint(o: NomadApiOptions, { ctx, seg, is, invalid }: Route): Promise<void> {
  const [a0, a1] = seg;
  if (a0 === 'event' && a1 === 'stream') {
    if (!is('GET')) return invalid();
    return eventStream(o, ctx);
  }
  return notFound(ctx);
}

async function eventStream(o: NomadApiOptions, ctx: Ctx): Promise<void> {
  const nomad = o.nomad;
  const topics = new Map<string, string[]>();
  for (const t of ctx.query.getAll('topic')) {
    const [name, key = '*'] = t.split(':');
    if (!name || !['*', 'Job', 'Allocation', 'Evaluation', 'Deployment', 'Node', 'NodePool', 'Service', 'ACLToken', 'ACLPolicy', 'ACLRole'].includes(name)) throw new HttpError(400, `Invalid topic query: Invalid topic format "${t}"`);
    topics.set(name, [...(topics.get(name) ?? []), key]);
  }
  if (topics.size === 0) topics.set('*', ['*']);
  const idxRaw = ctx.query.get('index');
  if (idxRaw && !/^\d+$/.test(idxRaw)) throw new HttpError(400, `Unable to parse index: strconv.ParseUint: parsing "${idxRaw}": invalid syntax`);
  const from = Number(idxRaw ?? 0);
  const matches = (e: StreamEvent): boolean => {
    if (e.Namespace && !nsMatch(ctx, e.Namespace) && e.Topic !== 'Node') return false;
    for (const [topic, keys] of topics) {
      if (topic !== '*' && topic !== e.Topic) continue;
      if (keys.includes('*') || keys.includes(e.Key) || (e.FilterKeys ?? []).some((k) => keys.includes(k))) return true;
    }
    return false;
  };
  const res = ctx.res;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  res.write('{}\n');
  const send = (batch: { index: number; events: StreamEvent[] }) => {
    const evs = batch.events.filter(matches);
    if (evs.length) res.write(JSON.stringify({ Index: batch.index, Events: evs }) + '\n');
  };
  if (from > 0) for (const b of nomad.store.eventsSince(from)) send(b);
  const unsubscribe = nomad.store.subscribe(send);
  const hb = setInterval(() => res.write('{}\n'), o.eventHeartbeatMs);
  await untilClosed(ctx, nomad);
  clearInterval(hb);
  unsubscribe();
  res.end();
}
