/**
 * Pre-flight for the terraform-gce provider: what N stacks of the module in terraform/gce create
 * (VMs, vCPUs, disk, public addresses, networks…), counted from the module's own variables and
 * their defaults, and the Compute Engine quotas of the project read with `gcloud` where it can.
 * A workshop that hits a quota fails halfway through provisioning; this says so before.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as hcl2json } from '@cdktf/hcl2json';
import type { PreflightEstimate, StackTopology } from './types';

type Resource = PreflightEstimate['resources'][number];
type Quota = PreflightEstimate['quotas'][number];

/** The module inputs that decide how much one stack takes. */
export interface GceSizing {
  region: string;
  servers: number;
  clientsPerZone: number;
  zones: string[];
  machineTypes: { server: string; client: string; bastion: string };
  diskGb: { node: number; bastion: number };
  diskType: string;
}

/** A resource counted per stack, and the Compute Engine quota metric it uses (if any). */
export interface CountedResource extends Resource {
  /** Quota metric and where it applies: `region` (regions describe) or `project` (project-info describe). */
  quota?: { metric: string; scope: 'region' | 'project' };
}

/**
 * The defaults of every `variable` block in a module's .tf files. Read with HashiCorp's HCL
 * parser so the pre-flight counts from the same numbers `terraform apply` will use.
 */
export async function moduleVariables(moduleDir: string): Promise<{ defaults: Record<string, unknown>; required: string[] }> {
  const defaults: Record<string, unknown> = {};
  const required: string[] = [];
  const files = fs.readdirSync(moduleDir).filter((f) => f.endsWith('.tf')).sort();
  for (const f of files) {
    const parsed = (await hcl2json(f, fs.readFileSync(path.join(moduleDir, f), 'utf8'))) as {
      variable?: Record<string, { default?: unknown }[]>;
    };
    for (const [name, blocks] of Object.entries(parsed.variable ?? {})) {
      const block = blocks[0] ?? {};
      if ('default' in block) defaults[name] = block.default;
      else required.push(name);
    }
  }
  return { defaults, required };
}

function asNumber(v: unknown, name: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) throw new Error(`The module input "${name}" must be a number, not ${JSON.stringify(v)}`);
  return n;
}

function asString(v: unknown, name: string): string {
  if (typeof v !== 'string' || !v) throw new Error(`The module input "${name}" must be a non-empty string, not ${JSON.stringify(v)}`);
  return v;
}

/** The sizing of one stack: module defaults, overridden by the provider's inputs, then by the topology. */
export function sizingOf(inputs: Record<string, unknown>, topology: StackTopology): GceSizing {
  return {
    region: asString(inputs.region, 'region'),
    servers: topology.servers,
    clientsPerZone: topology.clientsPerZone,
    zones: topology.zones,
    machineTypes: {
      server: asString(inputs.machine_type_server, 'machine_type_server'),
      client: asString(inputs.machine_type_client, 'machine_type_client'),
      bastion: asString(inputs.machine_type_bastion, 'machine_type_bastion'),
    },
    diskGb: { node: asNumber(inputs.disk_size_gb, 'disk_size_gb'), bastion: asNumber(inputs.bastion_disk_size_gb, 'bastion_disk_size_gb') },
    diskType: asString(inputs.disk_type ?? 'pd-standard', 'disk_type'),
  };
}

const SHARED_CORE: Record<string, number> = {
  // Shared-core types count as the vCPUs Compute Engine lists for them.
  'e2-micro': 2,
  'e2-small': 2,
  'e2-medium': 2,
  'f1-micro': 1,
  'g1-small': 1,
};

/** vCPUs of a machine type name (`e2-standard-4`, `n2-custom-6-12288`, `e2-medium`), or null when unknown. */
export function vcpusOf(machineType: string): number | null {
  if (machineType in SHARED_CORE) return SHARED_CORE[machineType];
  const custom = /^(?:[a-z0-9]+-)?custom-(\d+)-\d+(?:-ext)?$/.exec(machineType);
  if (custom) return Number(custom[1]);
  const predefined = /^[a-z][a-z0-9]*-(?:standard|highmem|highcpu|highgpu|ultramem|megamem|hypermem)-(\d+)(?:-[a-z]+)?$/.exec(machineType);
  return predefined ? Number(predefined[1]) : null;
}

/** The regional quota metric a machine family's vCPUs count against. */
export function cpuQuotaMetric(machineType: string): string {
  const family = machineType.split('-')[0];
  // E2, N1 and the old shared-core types share the general CPUS quota; newer families have their own.
  if (['e2', 'n1', 'f1', 'g1', 'custom'].includes(family)) return 'CPUS';
  return `${family.toUpperCase()}_CPUS`;
}

/** The regional quota a boot disk type counts against, or null when gcloud's region quotas have none. */
export function diskQuotaMetric(diskType: string): string | null {
  if (diskType === 'pd-standard') return 'DISKS_TOTAL_GB';
  if (diskType === 'pd-balanced' || diskType === 'pd-ssd') return 'SSD_TOTAL_GB';
  return null;
}

/**
 * What one stack of terraform/gce creates (see its main.tf): the bastion, `servers` Nomad
 * servers, `clientsPerZone` clients in each zone's instance group, and what surrounds them.
 * `problems` gets the things that cannot be counted.
 */
export function countPerStack(s: GceSizing, problems: string[]): CountedResource[] {
  const clients = s.clientsPerZone * s.zones.length;
  const vms = 1 + s.servers + clients;
  const cpuByMetric = new Map<string, number>();
  let vcpus = 0;
  for (const [role, type, n] of [
    ['bastion', s.machineTypes.bastion, 1],
    ['server', s.machineTypes.server, s.servers],
    ['client', s.machineTypes.client, clients],
  ] as const) {
    const each = vcpusOf(type);
    if (each === null) {
      problems.push(`The ${role} machine type "${type}" is not one the pre-flight knows; its vCPUs are not counted.`);
      continue;
    }
    vcpus += each * n;
    const metric = cpuQuotaMetric(type);
    cpuByMetric.set(metric, (cpuByMetric.get(metric) ?? 0) + each * n);
  }
  const diskMetric = diskQuotaMetric(s.diskType);
  const diskGb = s.diskGb.bastion + (s.servers + clients) * s.diskGb.node;
  const out: CountedResource[] = [
    { name: 'VM instances', unit: null, perStack: vms, total: 0, quota: { metric: 'INSTANCES', scope: 'region' } },
    { name: 'vCPUs', unit: 'vCPU', perStack: vcpus, total: 0, quota: { metric: 'CPUS_ALL_REGIONS', scope: 'project' } },
  ];
  // Per family (CPUS for E2, N2_CPUS for N2…), as the regional quotas are kept.
  for (const [metric, n] of cpuByMetric) {
    out.push({ name: `vCPUs counted in ${metric}`, unit: 'vCPU', perStack: n, total: 0, quota: { metric, scope: 'region' } });
  }
  out.push(
    {
      name: `Persistent disk (${s.diskType})`,
      unit: 'GB',
      perStack: diskGb,
      total: 0,
      ...(diskMetric ? { quota: { metric: diskMetric, scope: 'region' as const } } : {}),
    },
    // The bastion's static address, and the one Cloud NAT allocates for the nodes' downloads.
    { name: 'Public IP addresses (bastion, Cloud NAT)', unit: null, perStack: 2, total: 0, quota: { metric: 'IN_USE_ADDRESSES', scope: 'region' } },
    { name: 'Static IP addresses', unit: null, perStack: 1, total: 0, quota: { metric: 'STATIC_ADDRESSES', scope: 'region' } },
    { name: 'VPC networks', unit: null, perStack: 1, total: 0, quota: { metric: 'NETWORKS', scope: 'project' } },
    { name: 'Subnetworks', unit: null, perStack: 1, total: 0, quota: { metric: 'SUBNETWORKS', scope: 'project' } },
    { name: 'Firewall rules', unit: null, perStack: 2, total: 0, quota: { metric: 'FIREWALLS', scope: 'project' } },
    { name: 'Cloud Routers', unit: null, perStack: 1, total: 0, quota: { metric: 'ROUTERS', scope: 'project' } },
    { name: 'Instance templates', unit: null, perStack: 1, total: 0, quota: { metric: 'INSTANCE_TEMPLATES', scope: 'project' } },
    {
      name: 'Managed instance groups',
      unit: null,
      perStack: s.zones.length,
      total: 0,
      quota: { metric: 'INSTANCE_GROUP_MANAGERS', scope: 'region' },
    },
    // Cloud DNS quotas are not among Compute Engine's; counted, not checked.
    { name: 'Cloud DNS managed zones (internal, external)', unit: null, perStack: 2, total: 0 },
  );
  return out;
}

/** Resources for `count` stacks, in the contract's shape. */
export function countResources(s: GceSizing, count: number, problems: string[]): CountedResource[] {
  return countPerStack(s, problems).map((r) => ({ ...r, total: r.perStack * count }));
}

export interface QuotaReading {
  limit: number;
  usage: number;
}

/**
 * Quotas from the JSON of `gcloud compute regions describe R --format=json` or
 * `gcloud compute project-info describe --format=json`: `{ quotas: [{ metric, limit, usage }] }`.
 * Anything else is refused with a message saying what was expected.
 */
export function parseQuotas(json: unknown, what: string): Map<string, QuotaReading> {
  const quotas = (json as { quotas?: unknown } | null)?.quotas;
  if (!Array.isArray(quotas)) throw new Error(`${what}: the answer has no "quotas" list`);
  const out = new Map<string, QuotaReading>();
  for (const q of quotas as { metric?: unknown; limit?: unknown; usage?: unknown }[]) {
    if (typeof q?.metric !== 'string') continue;
    const limit = Number(q.limit);
    const usage = Number(q.usage ?? 0);
    if (!Number.isFinite(limit) || !Number.isFinite(usage)) continue;
    out.set(q.metric, { limit, usage });
  }
  return out;
}

/** Compares what the workshop needs with the quotas read; adds a problem for each that is short. */
export function checkQuotas(
  resources: CountedResource[],
  readings: { region: Map<string, QuotaReading> | null; project: Map<string, QuotaReading> | null },
  names: { region: string; project: string },
  problems: string[],
): Quota[] {
  const out: Quota[] = [];
  for (const r of resources) {
    if (!r.quota) continue;
    const reading = readings[r.quota.scope]?.get(r.quota.metric);
    if (!reading) continue;
    const scope = r.quota.scope === 'region' ? `region ${names.region}` : `project ${names.project}`;
    const ok = reading.usage + r.total <= reading.limit;
    out.push({ metric: r.quota.metric, scope, needed: r.total, limit: reading.limit, usage: reading.usage, ok });
    if (!ok) {
      const free = Math.max(0, reading.limit - reading.usage);
      problems.push(
        `Quota ${r.quota.metric} in ${scope} is too small: the workshop needs ${r.total} (${r.name}), ` +
          `${reading.usage} of ${reading.limit} are in use, so only ${free} are free.`,
      );
    }
  }
  return out;
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        const why = e.code === 'ENOENT' ? 'not found' : e.killed ? `no answer within ${timeoutMs / 1000} s` : stderr.trim().split('\n').slice(-3).join(' ') || e.message;
        reject(Object.assign(new Error(why), { code: e.code }));
      } else resolve({ stdout, stderr });
    });
  });
}

/** Whether an executable of that name is on PATH (or the path itself exists). */
export function onPath(bin: string, env: NodeJS.ProcessEnv): boolean {
  if (bin.includes(path.sep)) return isExecutable(bin);
  return (env.PATH ?? '').split(path.delimiter).some((d) => d && isExecutable(path.join(d, bin)));
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export interface QuotaSource {
  gcloudBin: string;
  project: string | null;
  region: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Reads the region's and the project's quotas with gcloud. Returns a note (and no readings)
 * saying plainly why they could not be read: no gcloud, no project, or gcloud's own error.
 */
export async function readQuotas(src: QuotaSource): Promise<{
  region: Map<string, QuotaReading> | null;
  project: Map<string, QuotaReading> | null;
  note: string | null;
}> {
  const none = (note: string) => ({ region: null, project: null, note });
  if (!onPath(src.gcloudBin, src.env)) {
    return none(`Quotas were not checked: gcloud is not installed here ("${src.gcloudBin}" is not on PATH; set OPEN_KITCHEN_GCLOUD if it lives elsewhere).`);
  }
  if (!src.project) {
    return none('Quotas were not checked: no Google Cloud project is configured (set "project" in OPEN_KITCHEN_TF_VARS).');
  }
  const timeout = src.timeoutMs ?? 60_000;
  const common = [`--project=${src.project}`, '--format=json', '--quiet'];
  const [region, project] = await Promise.allSettled([
    run(src.gcloudBin, ['compute', 'regions', 'describe', src.region, ...common], src.env, timeout).then((r) =>
      parseQuotas(JSON.parse(r.stdout), `gcloud compute regions describe ${src.region}`),
    ),
    run(src.gcloudBin, ['compute', 'project-info', 'describe', ...common], src.env, timeout).then((r) =>
      parseQuotas(JSON.parse(r.stdout), 'gcloud compute project-info describe'),
    ),
  ]);
  const failed: string[] = [];
  if (region.status === 'rejected') failed.push(`region ${src.region}: ${(region.reason as Error).message}`);
  if (project.status === 'rejected') failed.push(`project-wide: ${(project.reason as Error).message}`);
  return {
    region: region.status === 'fulfilled' ? region.value : null,
    project: project.status === 'fulfilled' ? project.value : null,
    note: failed.length ? `gcloud could not read the quotas of project ${src.project} (${failed.join('; ')}), so those were not checked.` : null,
  };
}
