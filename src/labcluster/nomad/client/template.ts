// What a task's templates read from Consul: the dependencies consul-template waits for before
// the task can start, and which templates a changed key re-renders. Nomad's
// client/allocrunner/taskrunner/template/template.go (with consul-template's dependency
// notation), simplified: the lab reads the template source for key, keyOrDefault, ls, tree and
// service calls instead of running consul-template.
import type { Task, Template } from '../../jobspec';

/** The Consul dependencies of a task's templates, in consul-template's notation. */
export function templateDeps(t: Task): string[] {
  const deps: string[] = [];
  for (const tm of t.Templates ?? []) {
    const src = String(tm.EmbeddedTmpl ?? '');
    for (const m of src.matchAll(/\b(key|keyOrDefault)\s+"([^"]*)"/g)) deps.push(`kv.block(${m[2]})`);
    for (const m of src.matchAll(/\b(ls|tree)\s+"([^"]*)"/g)) deps.push(`kv.list(${m[2]})`);
    for (const m of src.matchAll(/\bservice\s+"([^"]*)"/g)) deps.push(`health.service(${m[1]}|passing)`);
  }
  return [...new Set(deps)];
}

/** The templates of `t` that read Consul key `key`, directly or as a prefix they list. */
export function templatesReading(t: Task, key: string): Template[] {
  return (t.Templates ?? []).filter((tm) => [...String(tm.EmbeddedTmpl ?? '').matchAll(/\b(?:key|keyOrDefault|ls|tree)\s+"([^"]*)"/g)].some((m) => m[1] === key || (m[1] && key.startsWith(m[1].replace(/\/?$/, '/')))));
}
