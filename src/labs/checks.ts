/**
 * Evaluates a lab step's declarative check against a ClusterReader and says, in words an
 * attendee can act on, what holds and what is still missing. Reads are memoised for one
 * evaluation, so `all: [...]` of several checks on the same job reads it once.
 */
import type { ClusterReader, LabAllocation, LabConsulMember, LabJob, LabNode, LabServiceInstance } from './reader';
import type { Check, CheckResult, CountSpec } from './types';

const MAX_DETAILS = 6;

/** One evaluation's view of the cluster: each read happens at most once. */
class Snapshot {
  private readonly cache = new Map<string, Promise<unknown>>();
  constructor(readonly reader: ClusterReader) {}

  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = read();
      this.cache.set(key, p);
    }
    return p;
  }

  job = (id: string) => this.once(`job:${id}`, () => this.reader.getJob(id));
  allocations = (id: string) => this.once(`allocs:${id}`, () => this.reader.listAllocations(id));
  nodes = () => this.once('nodes', () => this.reader.listNodes());
  members = () => this.once('members', () => this.reader.consulMembers());
  leader = () => this.once('leader', () => this.reader.consulLeader());
  health = (name: string) => this.once(`health:${name}`, () => this.reader.consulHealth(name));
  kv = (key: string) => this.once(`kv:${key}`, () => this.reader.kvGet(key));
  file = (p: string) => this.once(`file:${p}`, () => this.reader.readWorkspaceFile(p));
  jobFile = (p: string) => this.once(`jobfile:${p}`, () => this.reader.checkJobFile(p));
}

export async function evaluateCheck(check: Check, reader: ClusterReader): Promise<CheckResult> {
  return evaluate(check, new Snapshot(reader));
}

// ------------------------------------------------------------------ wording helpers

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const q = (s: string) => JSON.stringify(s);

function countOk(n: number, spec: CountSpec, fallbackMin = 1): boolean {
  if (spec.count !== undefined) return n === spec.count;
  if (spec.min === undefined && spec.max === undefined) return n >= fallbackMin;
  return (spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max);
}

/** "3", "at least 2", "at most 1", "between 1 and 3" */
function wanted(spec: CountSpec, fallbackMin = 1): string {
  if (spec.count !== undefined) return String(spec.count);
  if (spec.min !== undefined && spec.max !== undefined) return `between ${spec.min} and ${spec.max}`;
  if (spec.max !== undefined) return `at most ${spec.max}`;
  return `at least ${spec.min ?? fallbackMin}`;
}

/**
 * How a count reads in a sentence: "1 of 3" / "1 of at least 2" when short, or the number plus
 * a suffix for the sentence's end (" (0 expected)") when there are too many.
 */
function ofWanted(n: number, spec: CountSpec, fallbackMin = 1): { amount: string; suffix: string } {
  const target = spec.count ?? (spec.max === undefined ? (spec.min ?? fallbackMin) : undefined);
  if (countOk(n, spec, fallbackMin)) return { amount: String(n), suffix: '' };
  if (target !== undefined && n < target) return { amount: spec.count !== undefined ? `${n} of ${target}` : `${n} of at least ${target}`, suffix: '' };
  return { amount: String(n), suffix: ` (${wanted(spec, fallbackMin)} expected)` };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fail(summary: string, details: string[] = []): CheckResult {
  return { ok: false, summary, details: details.slice(0, MAX_DETAILS + 1) };
}

function pass(summary: string, details: string[] = []): CheckResult {
  return { ok: true, summary, details };
}

/** Why an allocation is not running, from its task states. */
function allocReason(a: LabAllocation): string {
  const failed = a.tasks.find((t) => t.failed || t.failure);
  const reason = failed?.failure ?? failed?.lastEvent ?? a.tasks.find((t) => t.lastEvent)?.lastEvent ?? a.clientDescription;
  return reason ? `: ${reason}` : '';
}

function describeAlloc(a: LabAllocation, nodes: Map<string, LabNode>): string {
  const node = nodes.get(a.nodeId);
  const where = `${a.nodeName || node?.name || a.nodeId.slice(0, 8)}${node?.zone ? ` (${node.zone})` : ''}`;
  const status = a.desiredStatus !== 'run' && a.clientStatus === 'running' ? 'being stopped' : a.clientStatus;
  return `${a.name} on ${where} is ${status}${a.clientStatus === 'running' ? '' : allocReason(a)}`;
}

function scopeText(s: { group?: string; datacenter?: string; zone?: string; node?: string }): string {
  const parts: string[] = [];
  if (s.group) parts.push(`in group ${q(s.group)}`);
  if (s.datacenter) parts.push(`in ${s.datacenter}`);
  if (s.zone) parts.push(`in ${s.zone}`);
  if (s.node) parts.push(`on ${s.node}`);
  return parts.length ? ` ${parts.join(' ')}` : '';
}

function nodeMatches(n: LabNode, ref: string): boolean {
  return n.name === ref || n.id === ref || (ref.length >= 4 && n.id.startsWith(ref));
}

function findNode(nodes: LabNode[], ref: string): LabNode | undefined {
  return nodes.find((n) => n.name === ref) ?? nodes.find((n) => nodeMatches(n, ref));
}

/** Newest allocation per name: replaced ones (rescheduled, updated) do not count twice. */
function latestPerName(allocs: LabAllocation[]): LabAllocation[] {
  const byName = new Map<string, LabAllocation>();
  for (const a of allocs) {
    const prev = byName.get(a.name);
    const aLive = a.desiredStatus === 'run';
    const prevLive = prev?.desiredStatus === 'run';
    if (!prev || (aLive && !prevLive) || (aLive === prevLive && a.createTime >= prev.createTime)) byName.set(a.name, a);
  }
  return [...byName.values()];
}

function countBy<T>(items: T[], key: (t: T) => string | undefined): string {
  const m = new Map<string, number>();
  for (const i of items) {
    const k = key(i) ?? 'unknown';
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m.entries()].sort().map(([k, n]) => `${k}: ${n}`).join(', ');
}

// ------------------------------------------------------------------ image pinning

export interface ImageVerdict {
  image: string;
  pinned: boolean;
  /** Why it is (not) pinned, in words. */
  reason: string;
}

/** A version-pinned image names a digest or a full version tag (x.y.z); `latest`, no tag, `1.4` or `stable` move. */
export function judgeImage(image: string): ImageVerdict {
  if (image.includes('@sha256:')) return { image, pinned: true, reason: 'pinned by digest' };
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const tag = colon > lastSlash ? image.slice(colon + 1) : '';
  if (!tag) return { image, pinned: false, reason: `${q(image)} has no tag, so Docker pulls "latest", which moves with every release` };
  if (tag === 'latest') return { image, pinned: false, reason: `${q(image)} uses the tag "latest", which moves with every release` };
  if (/^v?\d+\.\d+\.\d+(?:[-+._][0-9A-Za-z.-]+)?$/.test(tag)) return { image, pinned: true, reason: `pinned to version ${tag}` };
  if (/^v?\d+(?:\.\d+)?$/.test(tag)) {
    return { image, pinned: false, reason: `${q(image)} uses the tag ${q(tag)}, which upstream re-pushes with every ${tag}.x release; pin a full version (x.y.z) or a digest` };
  }
  return { image, pinned: false, reason: `${q(image)} uses the tag ${q(tag)}, which is not a fixed version; pin a full version (x.y.z) or a digest` };
}

/** Docker images named in a job file, with `var.x` resolved to the variable's default. */
export function imagesInJobFile(hcl: string): { task?: string; image: string }[] {
  const out: { task?: string; image: string }[] = [];
  const defaults = new Map<string, string>();
  for (const m of hcl.matchAll(/variable\s+"([^"]+)"\s*\{([\s\S]*?)\n\s*\}/g)) {
    const d = /default\s*=\s*"([^"]*)"/.exec(m[2]);
    if (d) defaults.set(m[1], d[1]);
  }
  let task: string | undefined;
  for (const line of hcl.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    const t = /^\s*task\s+"([^"]+)"/.exec(line);
    if (t) task = t[1];
    const lit = /^\s*image\s*=\s*"([^"]*)"/.exec(line);
    if (lit) out.push({ task, image: lit[1] });
    const ref = /^\s*image\s*=\s*var\.([A-Za-z0-9_-]+)/.exec(line);
    if (ref) out.push({ task, image: defaults.get(ref[1]) ?? `var.${ref[1]}` });
  }
  return out;
}

// ------------------------------------------------------------------ evaluation

async function evaluate(check: Check, s: Snapshot): Promise<CheckResult> {
  try {
    return await evaluateKind(check, s);
  } catch (err) {
    const msg = errorText(err);
    const consulDown = /^Consul /.test(msg) && /(cannot be reached|500|No cluster leader)/i.test(msg);
    return fail(consulDown ? `Consul does not answer yet: is the Consul job running? (${msg})` : `could not check: ${msg}`);
  }
}

async function evaluateKind(check: Check, s: Snapshot): Promise<CheckResult> {
  switch (check.kind) {
    case 'all': {
      const children = await Promise.all(check.checks.map((c) => evaluate(c, s)));
      const failing = children.filter((c) => !c.ok);
      if (!failing.length) return { ...pass(children.map((c) => c.summary).join('; ')), children };
      const done = children.filter((c) => c.ok).map((c) => `done: ${c.summary}`);
      const unique = (list: string[]) => [...new Set(list)];
      return { ...fail(unique(failing.map((c) => c.summary)).join('; '), unique([...failing.flatMap((c) => c.details), ...done])), children };
    }
    case 'any': {
      const children = await Promise.all(check.checks.map((c) => evaluate(c, s)));
      const ok = children.find((c) => c.ok);
      if (ok) return { ...pass(ok.summary, ok.details), children };
      return { ...fail(`none of ${children.length} alternatives holds yet`, children.map((c) => `either: ${c.summary}`)), children };
    }
    case 'not': {
      const inner = await evaluate(check.check, s);
      if (inner.summary.startsWith('could not check') || inner.summary.startsWith('Consul does not answer')) return { ...fail(inner.summary), children: [inner] };
      return inner.ok ? { ...fail(`this should not be so: ${inner.summary}`, inner.details), children: [inner] } : { ...pass(inner.summary), children: [inner] };
    }
    case 'jobStatus':
      return jobStatus(check.job, check.status, s);
    case 'runningAllocs':
      return allocCount({ ...check, status: 'running' }, s, true);
    case 'allocations':
      return allocCount(check, s, false);
    case 'nodeEligibility': {
      const nodes = await s.nodes();
      const node = findNode(nodes, check.node);
      if (!node) return fail(`no Nomad node is called ${q(check.node)}`, [`nodes: ${nodes.map((n) => n.name).join(', ')}`]);
      const state = node.eligible ? 'eligible' : 'ineligible';
      if (node.eligible === check.eligible) return pass(`node ${node.name} is ${state} for scheduling`);
      return fail(`node ${node.name} is still ${state} for scheduling`, [
        `mark it ${check.eligible ? 'eligible' : 'ineligible'}: nomad node eligibility ${check.eligible ? '-enable' : '-disable'} ${node.id.slice(0, 8)}`,
      ]);
    }
    case 'nodeCount': {
      const nodes = (await s.nodes()).filter(
        (n) => (!check.datacenter || n.datacenter === check.datacenter) && (!check.zone || n.zone === check.zone) && (check.eligible === undefined || n.eligible === check.eligible),
      );
      const status = check.status ?? 'ready';
      const matching = nodes.filter((n) => n.status === status);
      const where = `${check.datacenter ? ` in ${check.datacenter}` : ''}${check.zone ? ` in ${check.zone}` : ''}${check.eligible === undefined ? '' : check.eligible ? ' (eligible)' : ' (ineligible)'}`;
      const { amount, suffix } = ofWanted(matching.length, check);
      const text = `${amount} Nomad ${amount === '1' ? 'node' : 'nodes'}${where} ${amount === '1' ? 'is' : 'are'} ${status}${suffix}`;
      const describe = (n: LabNode) => `${n.name}${n.zone ? ` (${n.zone})` : ''} is ${n.status}`;
      if (countOk(matching.length, check)) return pass(text);
      // Too many: name the ones that match; too few: name the ones that do not.
      return fail(text, (suffix ? matching : nodes.filter((n) => n.status !== status)).map(describe));
    }
    case 'nodeAttribute': {
      const nodes = (await s.nodes()).filter((n) => n.status === 'ready' && (!check.datacenter || n.datacenter === check.datacenter) && (!check.zone || n.zone === check.zone));
      const re = check.matches ? new RegExp(check.matches) : undefined;
      const has = (n: LabNode) => {
        const v = n.attributes[check.attribute];
        return v !== undefined && (check.equals !== undefined ? v === check.equals : re!.test(v));
      };
      const matching = nodes.filter(has);
      const spec: CountSpec = check.count === undefined && check.min === undefined && check.max === undefined ? { count: nodes.length } : check;
      const cond = check.equals !== undefined ? `${check.attribute} = ${check.equals}` : `${check.attribute} matching /${check.matches}/`;
      const where = `${check.datacenter ? ` in ${check.datacenter}` : ''}${check.zone ? ` in ${check.zone}` : ''}`;
      const text = `${matching.length} of ${plural(nodes.length, `ready node${where}`, `ready nodes${where}`)} ${matching.length === 1 ? 'has' : 'have'} ${cond}`;
      const missing = nodes.filter((n) => !has(n)).map((n) => {
        const v = n.attributes[check.attribute];
        return `${n.name}: ${check.attribute} ${v === undefined ? 'is not set' : `is ${q(v)}`}`;
      });
      if (nodes.length === 0) return fail(`no ready Nomad node${where}`);
      return countOk(matching.length, spec) ? pass(text) : fail(`${text} (${wanted(spec)} expected)`, missing);
    }
    case 'consulMembers':
      return consulMembers(check, s);
    case 'consulLeader': {
      const leader = await s.leader();
      if (leader) return pass(`Consul has elected a leader (${leader})`);
      const members = await s.members().catch(() => [] as LabConsulMember[]);
      const servers = members.filter((m) => m.role === 'server');
      const alive = servers.filter((m) => m.status === 'alive').length;
      return fail('Consul has no leader yet', [
        `${plural(alive, 'Consul server')} ${alive === 1 ? 'is' : 'are'} alive; a leader is elected once a majority of the expected servers (bootstrap-expect) have joined`,
      ]);
    }
    case 'consulService':
      return consulService(check.name, check.passing, check.tag, s);
    case 'kvValue': {
      const value = await s.kv(check.key);
      const key = `Consul KV key ${q(check.key)}`;
      if (check.exists === false) return value === undefined ? pass(`${key} is not set`) : fail(`${key} is still set (to ${q(value)})`);
      if (value === undefined) return fail(`${key} is not set yet`, check.equals !== undefined ? [`set it: consul kv put ${check.key} ${check.equals}`] : []);
      if (check.equals !== undefined && value !== check.equals) return fail(`${key} is ${q(value)}, expected ${q(check.equals)}`);
      if (check.matches !== undefined && !new RegExp(check.matches).test(value)) return fail(`${key} is ${q(value)}, which does not match /${check.matches}/`);
      return pass(`${key} is ${q(value)}`);
    }
    case 'fileContains': {
      const text = await s.file(check.path);
      if (text === undefined) return fail(`${check.path} does not exist`);
      return text.includes(check.text) ? pass(`${check.path} contains ${q(check.text)}`) : fail(`${check.path} does not contain ${q(check.text)} yet`);
    }
    case 'fileMatches': {
      const text = await s.file(check.path);
      if (text === undefined) return fail(`${check.path} does not exist`);
      const re = new RegExp(check.pattern, check.flags ?? 'm');
      const m = re.exec(text);
      if (m) {
        const line = text.slice(0, m.index).split('\n').length;
        return pass(`${check.path} matches /${check.pattern}/ (line ${line}: ${q(m[0].trim())})`);
      }
      return fail(`${check.path} does not match /${check.pattern}/`);
    }
    case 'jobImagePinned':
      return imagePinned(check, s);
    case 'jobFileValid': {
      const v = await s.jobFile(check.path);
      if (!v) return fail(`${check.path} does not exist`);
      if (!v.parsed) return fail(`${check.path} does not parse`, v.errors.map((e) => e.replace(/^Failed to parse job: /, '')));
      if (v.errors.length) return fail(`job ${q(v.jobId ?? check.path)} in ${check.path} does not validate`, v.errors);
      return pass(`${check.path} parses and validates (job ${q(v.jobId ?? '')})`, v.warnings);
    }
  }
}

async function jobStatus(id: string, status: string, s: Snapshot): Promise<CheckResult> {
  const job = await s.job(id);
  if (!job) return status === 'absent' ? pass(`job ${q(id)} is not registered`) : fail(`job ${q(id)} is not registered in Nomad yet`);
  if (status === 'absent') return fail(`job ${q(id)} is still registered (status ${job.status}${job.stop ? ', stopped' : ''})`, [`remove it: nomad job stop -purge ${id}`]);
  if (job.status === status) return pass(`job ${q(id)} is ${status}`);
  const details: string[] = [];
  if (job.stop && status !== 'dead') details.push(`the job was stopped; run it again`);
  if (status === 'running') {
    const nodes = new Map((await s.nodes().catch(() => [] as LabNode[])).map((n) => [n.id, n]));
    const allocs = latestPerName(await s.allocations(id)).filter((a) => a.clientStatus !== 'running');
    details.push(...allocs.slice(0, MAX_DETAILS).map((a) => describeAlloc(a, nodes)));
  }
  return fail(`job ${q(id)} is ${job.status}${job.stop ? ' (stopped)' : ''}, not ${status}`, details);
}

async function allocCount(
  check: { job: string; group?: string; datacenter?: string; zone?: string; node?: string; status: string } & CountSpec,
  s: Snapshot,
  /**
   * runningAllocs: only allocations Nomad still wants running, on nodes that are up. The plain
   * `allocations` kind counts client statuses as reported, so "none running" waits until
   * stopped allocations have really stopped.
   */
  live: boolean,
): Promise<CheckResult> {
  const job = await s.job(check.job);
  if (!job) return fail(`job ${q(check.job)} is not registered in Nomad yet`);
  if (check.group && !job.groups.some((g) => g.name === check.group)) {
    return fail(`job ${q(check.job)} has no group ${q(check.group)}`, [`its groups: ${job.groups.map((g) => g.name).join(', ')}`]);
  }
  const nodeList = await s.nodes();
  const nodes = new Map(nodeList.map((n) => [n.id, n]));
  const scoped = (await s.allocations(check.job)).filter((a) => {
    if (check.group && a.group !== check.group) return false;
    const node = nodes.get(a.nodeId);
    if (check.datacenter && node?.datacenter !== check.datacenter) return false;
    if (check.zone && node?.zone !== check.zone) return false;
    if (check.node && !(node ? nodeMatches(node, check.node) : a.nodeName === check.node)) return false;
    return true;
  });
  const running = live && check.status === 'running';
  // An allocation on a node that is down is not really running, whatever it last reported.
  const nodeDown = (a: LabAllocation) => nodes.get(a.nodeId)?.status === 'down';
  const matching = scoped.filter((a) => a.clientStatus === check.status && (!running || (a.desiredStatus === 'run' && !nodeDown(a))));
  const n = matching.length;
  const { amount, suffix } = ofWanted(n, check);
  const summary = `job ${q(check.job)} has ${amount} ${amount === '1' ? 'allocation' : 'allocations'} ${check.status}${scopeText(check)}${suffix}`;
  const details: string[] = [];
  if (running) {
    const notRunning = latestPerName(scoped).filter((a) => a.desiredStatus === 'run' && a.clientStatus !== 'running');
    details.push(...notRunning.slice(0, MAX_DETAILS).map((a) => describeAlloc(a, nodes)));
    if (notRunning.length > MAX_DETAILS) details.push(`… and ${notRunning.length - MAX_DETAILS} more`);
  }
  if (check.zone || check.datacenter || !countOk(n, check)) {
    const runningNow = (await s.allocations(check.job)).filter((a) => a.clientStatus === 'running' && a.desiredStatus === 'run' && !nodeDown(a) && (!check.group || a.group === check.group));
    if (runningNow.length && check.zone) details.push(`running per zone: ${countBy(runningNow, (a) => nodes.get(a.nodeId)?.zone)}`);
    else if (runningNow.length && check.datacenter) details.push(`running per datacenter: ${countBy(runningNow, (a) => nodes.get(a.nodeId)?.datacenter)}`);
  }
  if (!countOk(n, check) && job.stop) details.unshift(`the job was stopped; run it again`);
  return countOk(n, check) ? pass(summary, details) : fail(summary, details);
}

async function consulMembers(check: { role: 'server' | 'client'; alive?: number; min?: number; job?: string; group?: string }, s: Snapshot): Promise<CheckResult> {
  const spec: CountSpec = check.alive !== undefined ? { count: check.alive } : { min: check.min };
  const noun = check.role === 'server' ? 'Consul servers' : 'Consul clients';
  const members = await s.members().catch((err) => {
    throw new Error(`Consul ${errorText(err).replace(/^Consul /, '')}`);
  });
  const mine = members.filter((m) => m.role === check.role);
  const alive = mine.filter((m) => m.status === 'alive');
  const notAlive = mine.filter((m) => m.status !== 'alive');
  const target = spec.count ?? spec.min ?? 1;
  let summary = `${alive.length} of ${spec.count === undefined ? 'at least ' : ''}${target} ${noun} are alive`;
  if (notAlive.length === 1) summary += `; the one on ${notAlive[0].name} is ${notAlive[0].status === 'failed' ? 'failing' : notAlive[0].status}`;
  else if (notAlive.length > 1) summary += `; the ones on ${notAlive.map((m) => m.name).join(', ')} are not alive`;
  const details = notAlive.map((m) => `${m.name} (${m.addr}): member status ${m.status}`);
  if (!countOk(alive.length, spec) && check.job) {
    const nodes = new Map((await s.nodes().catch(() => [] as LabNode[])).map((n) => [n.id, n]));
    const allocs = latestPerName(await s.allocations(check.job)).filter((a) => a.desiredStatus === 'run' && (!check.group || a.group === check.group));
    const broken = allocs.filter((a) => a.clientStatus !== 'running');
    if (!allocs.length) details.push(`job ${q(check.job)} has no allocations${check.group ? ` in group ${q(check.group)}` : ''} yet`);
    details.push(...broken.slice(0, MAX_DETAILS).map((a) => describeAlloc(a, nodes)));
  }
  return countOk(alive.length, spec) ? pass(`${alive.length} ${noun} are alive`, details) : fail(summary, details);
}

function instancePassing(i: LabServiceInstance): boolean {
  return i.checks.every((c) => c.status === 'passing');
}

async function consulService(name: string, wantedPassing: number, tag: string | undefined, s: Snapshot): Promise<CheckResult> {
  const all = await s.health(name);
  const instances = tag ? all.filter((i) => i.tags.includes(tag)) : all;
  const label = `service ${q(name)}${tag ? ` (tag ${q(tag)})` : ''}`;
  if (!instances.length) {
    return fail(`${label} is not registered in Consul`, [`Nomad registers a job's service blocks in Consul once its allocations run`]);
  }
  const passing = instances.filter(instancePassing);
  const details = instances.filter((i) => !instancePassing(i)).map((i) => {
    const bad = i.checks.filter((c) => c.status !== 'passing').map((c) => `check ${q(c.name)} is ${c.status}${c.output ? `: ${c.output.trim().slice(0, 200)}` : ''}`);
    return `${name} on ${i.node}${i.address ? ` (${i.address}${i.port ? `:${i.port}` : ''})` : ''}: ${bad.join('; ')}`;
  });
  if (passing.length >= wantedPassing) return pass(`${label} has ${plural(passing.length, 'passing instance')} in Consul`, details);
  return fail(`${label} has ${passing.length} of ${wantedPassing} wanted instances passing in Consul (${instances.length} registered)`, details);
}

async function imagePinned(check: { job?: string; file?: string }, s: Snapshot): Promise<CheckResult> {
  let images: { task?: string; image: string }[];
  let subject: string;
  if (check.job) {
    const job: LabJob | undefined = await s.job(check.job);
    if (!job) return fail(`job ${q(check.job)} is not registered in Nomad yet`);
    subject = `job ${q(check.job)}`;
    images = job.groups.flatMap((g) => g.tasks.filter((t) => t.image).map((t) => ({ task: t.name, image: t.image! })));
  } else {
    const text = await s.file(check.file!);
    if (text === undefined) return fail(`${check.file} does not exist`);
    subject = check.file!;
    images = imagesInJobFile(text);
  }
  if (!images.length) return fail(`${subject} names no Docker image`);
  const verdicts = images.map((i) => ({ ...i, ...judgeImage(i.image) }));
  const moving = verdicts.filter((v) => !v.pinned);
  if (!moving.length) return pass(`${subject} pins ${verdicts.length === 1 ? `its image (${verdicts[0].image})` : `all ${verdicts.length} images`} to a version`);
  return fail(
    `${subject} runs ${moving.length === 1 ? `${moving[0].image}, a moving tag` : `${moving.length} images on moving tags`}`,
    moving.map((v) => `${v.task ? `task ${q(v.task)}: ` : ''}${v.reason}`),
  );
}
