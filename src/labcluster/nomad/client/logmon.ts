// A task's stdout and stderr files (alloc/logs/<task>.<type>.0): lines appended as the task
// writes them, and the repeated line of a long-running container (a heartbeat every 5 s)
// materialised only when the file is read. Nomad's client/logmon (logmon.go), simplified.
import type { LabAlloc } from '../structs';

/** Appends `lines` to a task's log file, creating the file; returns its key, `<task>.<type>`. */
export function appendLog(a: LabAlloc, task: string, type: 'stdout' | 'stderr', lines: string[]): string {
  const k = `${task}.${type}`;
  const s = a.logs.get(k) ?? { data: Buffer.alloc(0), heartbeatCount: 0 };
  if (lines.length) s.data = Buffer.concat([s.data, Buffer.from(lines.map((l) => l + '\n').join(''))]);
  a.logs.set(k, s);
  return k;
}

/** A task's log file, with the lines a long-running container wrote since (materialised lazily). */
export function logData(a: LabAlloc, task: string, type: 'stdout' | 'stderr'): Buffer {
  const k = `${task}.${type}`;
  const s = a.logs.get(k);
  if (!s) return Buffer.alloc(0);
  if (s.heartbeat && s.heartbeatFrom !== undefined) {
    const due = Math.min(500, Math.floor((Date.now() - s.heartbeatFrom) / 5000));
    if (due > s.heartbeatCount) {
      const lines: string[] = [];
      for (let i = s.heartbeatCount; i < due; i++) lines.push(s.heartbeat.replace(/^12:00:00/, new Date(s.heartbeatFrom + (i + 1) * 5000).toISOString().slice(11, 19)));
      s.heartbeatCount = due;
      s.data = Buffer.concat([s.data, Buffer.from(lines.map((l) => l + '\n').join(''))]);
    }
  }
  return s.data;
}
