// /v1/client/fs/…: an allocation's directory (ls, stat, cat, readat over the AllocFs) and its
// task logs (logs: plain or framed JSON with base64 data, origin and offset, follow with
// heartbeats). Nomad's command/agent/fs_endpoint.go, simplified.
import { HttpError, queryBool, sendJson, type Ctx } from '../../http';
import { notFound, untilClosed, type NomadApiOptions, type Route } from './request';

/** /v1/client/fs/… */
export async function fsEndpoint(o: NomadApiOptions, { ctx, seg, is, invalid }: Route): Promise<void> {
  const nomad = o.nomad;
  const [a0, a1, a2, a3] = seg;
  if (a0 === 'client' && a1 === 'fs' && (a2 === 'ls' || a2 === 'stat' || a2 === 'cat' || a2 === 'readat') && a3) {
    if (!is('GET')) return invalid();
    const x = nomad.allocs.get(a3);
    if (!x) throw new HttpError(404, `Unknown allocation "${a3}"`);
    const p = ctx.query.get('path') ?? '/';
    if (a2 === 'ls') {
      const list = o.fs.ls(x, p);
      if (!list) throw new HttpError(500, `open ${p}: no such file or directory`);
      return sendJson(ctx, 200, list);
    }
    if (a2 === 'stat') {
      const st = o.fs.stat(x, p);
      if (!st) throw new HttpError(500, `stat ${p}: no such file or directory`);
      return sendJson(ctx, 200, st);
    }
    const data = o.fs.cat(x, p);
    if (!data) throw new HttpError(500, `stat ${p}: no such file or directory`);
    const offset = Number(ctx.query.get('offset') ?? 0) || 0;
    const limit = ctx.query.get('limit');
    const slice = a2 === 'readat' ? data.subarray(offset, limit ? offset + (Number(limit) || 0) : undefined) : data;
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    ctx.res.end(slice);
    return;
  }
  if (a0 === 'client' && a1 === 'fs' && a2 === 'logs' && a3) {
    if (!is('GET')) return invalid();
    return logs(o, ctx, a3);
  }
  return notFound(ctx);
}

async function logs(o: NomadApiOptions, ctx: Ctx, allocId: string): Promise<void> {
  const nomad = o.nomad;
  const q = ctx.query;
  const task = q.get('task') ?? '';
  if (!task) throw new HttpError(400, 'must provide task name');
  const type = q.get('type') ?? '';
  if (type !== 'stdout' && type !== 'stderr') throw new HttpError(400, 'must provide log type (stdout/stderr)');
  const origin = q.get('origin') || 'start';
  if (origin !== 'start' && origin !== 'end') throw new HttpError(400, 'origin must be start or end');
  const offRaw = q.get('offset') || '0';
  if (!/^\d+$/.test(offRaw)) throw new HttpError(400, `strconv.ParseInt: parsing "${offRaw}": invalid syntax`);
  const offset = Number(offRaw);
  const follow = queryBool(q, 'follow');
  const plain = queryBool(q, 'plain');
  const a = nomad.allocs.get(allocId);
  if (!a) throw new HttpError(404, `Unknown allocation "${allocId}"`);
  if (!nomad.hasTask(a, task)) throw new HttpError(400, `unknown task name "${task}"`);
  const file = `alloc/logs/${task}.${type}.0`;
  const res = ctx.res;
  const data0 = nomad.logData(a, task, type);
  let pos = origin === 'start' ? Math.min(offset, data0.length) : Math.max(0, data0.length - offset);
  res.writeHead(200, { 'Content-Type': plain ? 'text/plain; charset=utf-8' : 'application/json' });
  const flush = () => {
    const data = nomad.logData(a, task, type);
    if (data.length <= pos) return;
    for (let start = pos; start < data.length; start += 64 * 1024) {
      const chunk = data.subarray(start, Math.min(data.length, start + 64 * 1024));
      if (plain) res.write(chunk);
      else res.write(JSON.stringify({ Offset: start + chunk.length, Data: chunk.toString('base64'), File: file }));
    }
    pos = data.length;
  };
  flush();
  if (!follow) {
    res.end();
    return;
  }
  const onLog = (id: string, k: string) => {
    if (id === a.ID && k === `${task}.${type}`) flush();
  };
  nomad.on('log', onLog);
  // Long-running containers' repeated lines are materialised on read; a follower reads them on a timer.
  const tick = setInterval(() => {
    flush();
    if (!plain) res.write('{}');
  }, o.logHeartbeatMs);
  await untilClosed(ctx, nomad);
  clearInterval(tick);
  nomad.off('log', onLog);
  res.end();
}
