// The allocation directory as `nomad alloc fs` sees it (/v1/client/fs/ls|stat|cat): alloc/{data,
// logs,tmp} plus a folder per task with local/, secrets/ and tmp/, where templates are rendered
// with the subset of consul-template the workshop uses: env, key, keyOrDefault and
// `range service`.
import type { LabAlloc, LabNomad } from './nomad';

export interface TemplateSource {
  key(k: string): string | undefined;
  service(name: string): { Address: string; Port: number; Node: string }[];
}

export interface FsEntry {
  Name: string;
  IsDir: boolean;
  Size: number;
  FileMode: string;
  ModTime: string;
  ContentType: string;
}

export function renderTemplate(tmpl: string, env: Record<string, string>, src: TemplateSource | undefined): string {
  let out = tmpl.replace(/\{\{-?\s*range\s+service\s+"([^"]+)"\s*-?\}\}([\s\S]*?)\{\{-?\s*end\s*-?\}\}/g, (_m, name: string, body: string) =>
    (src?.service(name) ?? []).map((s) => body.replace(/\{\{\s*\.Address\s*\}\}/g, s.Address).replace(/\{\{\s*\.Port\s*\}\}/g, String(s.Port)).replace(/\{\{\s*\.Node\s*\}\}/g, s.Node)).join(''),
  );
  out = out.replace(/\{\{-?\s*(env|key|keyOrDefault)\s+"([^"]*)"(?:\s+"([^"]*)")?\s*-?\}\}/g, (_m, fn: string, arg: string, def?: string) => {
    if (fn === 'env') return env[arg] ?? '';
    const v = src?.key(arg);
    return v ?? (fn === 'keyOrDefault' ? (def ?? '') : '');
  });
  return out;
}

export class AllocFs {
  constructor(
    private readonly nomad: LabNomad,
    private readonly source: () => TemplateSource | undefined,
  ) {}

  private files(a: LabAlloc): Map<string, Buffer> {
    const files = new Map<string, Buffer>();
    const tg = a.job.TaskGroups.find((g) => g.Name === a.TaskGroup);
    for (const dir of ['alloc/data/', 'alloc/tmp/', 'alloc/logs/']) files.set(dir, Buffer.alloc(0));
    for (const t of tg?.Tasks ?? []) {
      for (const dir of ['local/', 'secrets/', 'tmp/']) files.set(`${t.Name}/${dir}`, Buffer.alloc(0));
      for (const type of ['stdout', 'stderr'] as const) files.set(`alloc/logs/${t.Name}.${type}.0`, this.nomad.logData(a, t.Name, type));
      if (!a.TaskStates?.[t.Name]?.StartedAt) continue;
      const env = { ...(t.Env ?? {}), NOMAD_ALLOC_NAME: a.Name, NOMAD_ALLOC_ID: a.ID, NOMAD_TASK_NAME: t.Name, NOMAD_JOB_NAME: a.JobID, NOMAD_ALLOC_INDEX: String(/\[(\d+)\]$/.exec(a.Name)?.[1] ?? 0) };
      for (const tm of t.Templates ?? []) {
        const dest = String(tm.DestPath ?? '').replace(/^\.?\//, '');
        if (!dest) continue;
        files.set(`${t.Name}/${dest}`, Buffer.from(renderTemplate(String(tm.EmbeddedTmpl ?? ''), env, this.source())));
      }
    }
    return files;
  }

  private entry(name: string, size: number, dir: boolean, at: number): FsEntry {
    return { Name: name, IsDir: dir, Size: size, FileMode: dir ? 'drwxrwxrwx' : '-rw-r--r--', ModTime: new Date(at / 1e6).toISOString(), ContentType: dir ? '' : 'text/plain; charset=utf-8' };
  }

  /** Entries directly under `path` ("/" for the root), or null when it is not a directory. */
  ls(a: LabAlloc, path: string): FsEntry[] | null {
    const files = this.files(a);
    const dir = path.replace(/^\/+/, '').replace(/\/*$/, '/').replace(/^\/$/, '');
    const children = new Map<string, FsEntry>();
    let exists = dir === '';
    for (const [p, data] of files) {
      if (!p.startsWith(dir)) continue;
      exists = true;
      const rest = p.slice(dir.length);
      if (!rest) continue;
      const slash = rest.indexOf('/');
      const name = slash >= 0 ? rest.slice(0, slash) : rest;
      if (!children.has(name)) children.set(name, this.entry(name, slash >= 0 ? 4096 : data.length, slash >= 0, a.ModifyTime));
    }
    if (!exists) return null;
    return [...children.values()].sort((x, y) => x.Name.localeCompare(y.Name));
  }

  stat(a: LabAlloc, path: string): FsEntry | null {
    const p = path.replace(/^\/+/, '');
    const files = this.files(a);
    const data = files.get(p);
    const name = p.replace(/\/$/, '').split('/').pop() || '/';
    if (data && !p.endsWith('/')) return this.entry(name, data.length, false, a.ModifyTime);
    if (p === '' || [...files.keys()].some((k) => k.startsWith(p.replace(/\/?$/, '/')))) return this.entry(name, 4096, true, a.ModifyTime);
    return null;
  }

  cat(a: LabAlloc, path: string): Buffer | null {
    return this.files(a).get(path.replace(/^\/+/, '')) ?? null;
  }
}
