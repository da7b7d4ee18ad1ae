/**
 * The terraform-gce provider: drives the real `terraform` CLI with one working folder and one
 * state per stack (`<stack dataDir>/terraform`). The module (terraform/gce by default) is copied
 * in with `init -from-module`, inputs go to `terraform.tfvars.json` (mode 0600: it holds the
 * bastion's host private key, which therefore never appears on a command line), `apply -json` is
 * read line by line for progress and errors, and `output -json` is mapped to the stack's
 * connection details.
 *
 * Settings come from the options or the environment: OPEN_KITCHEN_TERRAFORM (the binary),
 * OPEN_KITCHEN_TF_MODULE (the module folder), OPEN_KITCHEN_TF_VARS (JSON of more module inputs,
 * e.g. `{"project":"my-project","dns_domain":"ws.example.org"}`), OPEN_KITCHEN_GCLOUD.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { countResources, checkQuotas, moduleVariables, onPath, readQuotas, sizingOf } from './gcePreflight';
import type { PreflightEstimate, ProgressFn, Provider, ProvisionedStack, StackKeys, StackSpec, StackTopology } from './types';

export interface TerraformProviderOptions {
  dataDir: string;
  /** The module for one stack; defaults to terraform/gce of this repository. */
  moduleDir?: string;
  /** The terraform binary (default `terraform` on PATH, or OPEN_KITCHEN_TERRAFORM). */
  terraformBin?: string;
  /** gcloud, for the pre-flight's quota check (default `gcloud` on PATH, or OPEN_KITCHEN_GCLOUD). */
  gcloudBin?: string;
  /** More module inputs (project, region, dns_domain, …); added to those of OPEN_KITCHEN_TF_VARS. */
  vars?: Record<string, unknown>;
  /** After SIGINT, how long terraform may take to stop cleanly before it is killed (default 60 s). */
  killGraceMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface TerraformHandle {
  workDir: string;
  moduleDir: string;
}

/** An error Terraform reported, with its own summary and detail. */
export class TerraformError extends Error {
  override name = 'TerraformError';
  constructor(
    message: string,
    readonly diagnostics: { summary: string; detail: string }[],
    /** Configuration and quota problems will not go away by trying again. */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** Inputs the provider writes itself; OPEN_KITCHEN_TF_VARS may not set them. */
const STACK_INPUTS = [
  'stack_name',
  'workshop',
  'servers',
  'clients_per_zone',
  'zones',
  'bastion_host_private_key',
  'bastion_host_public_key',
  'attendee_public_key',
] as const;

const VARS_FILE = 'terraform.tfvars.json';

export function defaultModuleDir(): string {
  // src/organizer/providers → repo root, or dist/ → repo root.
  const fromSrc = path.resolve(__dirname, '..', '..', '..', 'terraform', 'gce');
  if (fs.existsSync(fromSrc)) return fromSrc;
  return path.resolve(__dirname, '..', 'terraform', 'gce');
}

interface Diagnostic {
  severity: string;
  summary: string;
  detail: string;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  diagnostics: Diagnostic[];
}

/** One line of Terraform's machine-readable UI (`-json`). */
export interface JsonLine {
  '@level'?: string;
  '@message'?: string;
  type?: string;
  diagnostic?: { severity?: string; summary?: string; detail?: string };
}

/**
 * Machine-readable lines worth showing the organizer while a stack is built or torn down. Each
 * becomes the stack's status message (a database write and an event), so the "Still creating...
 * [10s elapsed]" lines (apply_progress) are left out.
 */
const PROGRESS_TYPES = new Set(['apply_start', 'apply_complete', 'apply_errored', 'change_summary', 'provision_errored']);

/** The progress message for one `-json` line, or null for lines that only add noise. */
export function progressOf(line: JsonLine): string | null {
  if (line.type === 'diagnostic' && line.diagnostic) {
    const d = line.diagnostic;
    const what = d.severity === 'warning' ? 'warning' : 'error';
    return `terraform ${what}: ${d.summary ?? ''}${d.detail ? ` (${d.detail.trim()})` : ''}`;
  }
  if (line.type && PROGRESS_TYPES.has(line.type) && line['@message']) return `terraform: ${line['@message']}`;
  return null;
}

// Quota, permission and configuration errors: the same apply will fail the same way.
const PERMANENT = [
  /quotaExceeded|Quota '?\w+'? exceeded/i,
  /Error 40[034]\b/,
  /precondition failed|Invalid value for variable|No value for required variable|Unsupported argument|Missing required argument|Reference to undeclared|Invalid reference/i,
];

/** Terraform's error diagnostics as one message; without any, the last lines it printed. */
export function describeFailure(what: string, res: Pick<RunResult, 'code' | 'stdout' | 'stderr' | 'diagnostics'>, retryable?: boolean): TerraformError {
  const errors = res.diagnostics.filter((d) => d.severity === 'error');
  let text = errors.map((d) => (d.detail ? `${d.summary}: ${d.detail.trim()}` : d.summary)).join('; ');
  if (!text) {
    // Commands run without -json (init) print "Error: summary" then the detail.
    const plain = (res.stderr + '\n' + res.stdout).split('\n').map((l) => l.replace(/^[│╷╵]\s?/, '').trimEnd());
    const start = plain.findIndex((l) => l.startsWith('Error: '));
    text =
      start >= 0
        ? plain
            .slice(start, start + 8)
            .filter((l) => l.trim())
            .join(' ')
            .replace(/^Error: /, '')
        : plain.filter((l) => l.trim()).slice(-5).join(' ');
  }
  const permanent = PERMANENT.some((re) => re.test(text));
  return new TerraformError(
    `${what} failed: ${text || `exit code ${res.code}`}`,
    errors.map(({ summary, detail }) => ({ summary, detail })),
    retryable ?? !permanent,
  );
}

export class TerraformProvider implements Provider {
  readonly name = 'terraform-gce';
  /** The module each stack gets a copy of. */
  readonly moduleDir: string;
  private readonly bin: string;
  private readonly gcloudBin: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly vars: Record<string, unknown>;
  private readonly killGraceMs: number;
  private readonly pluginCacheDir: string;
  /** `terraform init` runs one at a time: the plugin cache is not safe for concurrent installs. */
  private initQueue: Promise<unknown> = Promise.resolve();

  constructor(opts: TerraformProviderOptions) {
    this.env = opts.env ?? process.env;
    this.moduleDir = path.resolve(opts.moduleDir ?? (this.env.OPEN_KITCHEN_TF_MODULE || defaultModuleDir()));
    this.bin = opts.terraformBin ?? (this.env.OPEN_KITCHEN_TERRAFORM || 'terraform');
    this.gcloudBin = opts.gcloudBin ?? (this.env.OPEN_KITCHEN_GCLOUD || 'gcloud');
    this.killGraceMs = opts.killGraceMs ?? 60_000;
    // One download of the Google provider for all stacks, not one per stack.
    this.pluginCacheDir = this.env.TF_PLUGIN_CACHE_DIR || path.join(opts.dataDir, 'terraform-plugin-cache');
    let fromEnv: Record<string, unknown> = {};
    if (this.env.OPEN_KITCHEN_TF_VARS) {
      try {
        fromEnv = JSON.parse(this.env.OPEN_KITCHEN_TF_VARS) as Record<string, unknown>;
      } catch (err) {
        throw Object.assign(new Error(`OPEN_KITCHEN_TF_VARS is not valid JSON: ${(err as Error).message}`), { retryable: false });
      }
      if (!fromEnv || typeof fromEnv !== 'object' || Array.isArray(fromEnv)) {
        throw Object.assign(new Error('OPEN_KITCHEN_TF_VARS must be a JSON object of module inputs, e.g. {"project":"my-project"}'), {
          retryable: false,
        });
      }
    }
    this.vars = { ...fromEnv, ...(opts.vars ?? {}) };
    const reserved = STACK_INPUTS.filter((k) => k in this.vars);
    if (reserved.length) {
      throw Object.assign(new Error(`Module inputs ${reserved.join(', ')} are set per stack by the organizer; remove them from the provider's inputs.`), {
        retryable: false,
      });
    }
  }

  private workDir(spec: StackSpec): string {
    return path.join(spec.dataDir, 'terraform');
  }

  async preflight(topology: StackTopology, count: number): Promise<PreflightEstimate> {
    const problems: string[] = [];
    if (!onPath(this.bin, this.env)) {
      problems.push(`terraform is not installed: "${this.bin}" is not on PATH (install Terraform or set OPEN_KITCHEN_TERRAFORM).`);
    }
    if (!fs.existsSync(path.join(this.moduleDir, 'main.tf'))) {
      return { resources: [], quotas: [], quotaNote: 'Nothing was counted: the Terraform module was not found.', problems: [...problems, `The Terraform module ${this.moduleDir} has no main.tf.`] };
    }
    const { defaults, required } = await moduleVariables(this.moduleDir);
    const missing = required.filter((name) => !(STACK_INPUTS as readonly string[]).includes(name) && this.vars[name] === undefined);
    for (const name of missing) problems.push(`The module needs a value for "${name}": set it in OPEN_KITCHEN_TF_VARS (JSON).`);
    const inputs = { ...defaults, ...this.vars };
    const sizing = sizingOf(inputs, topology);
    const resources = countResources(sizing, count, problems);
    const project = typeof inputs.project === 'string' && inputs.project ? inputs.project : null;
    const readings = await readQuotas({ gcloudBin: this.gcloudBin, project: missing.includes('project') ? null : project, region: sizing.region, env: this.env });
    const quotas = checkQuotas(resources, readings, { region: sizing.region, project: project ?? '' }, problems);
    return {
      resources: resources.map(({ name, unit, perStack, total }) => ({ name, unit, perStack, total })),
      quotas,
      quotaNote: readings.note,
      problems,
    };
  }

  async provision(spec: StackSpec, keys: StackKeys, onProgress: ProgressFn, signal?: AbortSignal): Promise<ProvisionedStack> {
    const dir = this.workDir(spec);
    await this.prepare(spec, onProgress, signal);
    this.writeVars(spec, keys);
    onProgress('terraform apply: planning.');
    // A terraform left running by an organizer that was killed holds the state lock for a while.
    const apply = await this.run('apply', ['apply', '-auto-approve', '-input=false', '-json', '-lock-timeout=120s'], dir, signal, onProgress);
    if (apply.code !== 0) throw describeFailure('terraform apply', apply);
    const out = await this.run('output', ['output', '-json'], dir, signal);
    if (out.code !== 0) throw describeFailure('terraform output', out);
    let outputs: Record<string, { value: unknown }>;
    try {
      outputs = JSON.parse(out.stdout) as Record<string, { value: unknown }>;
    } catch (err) {
      throw new TerraformError(`terraform output -json printed something that is not JSON: ${(err as Error).message}`, [], false);
    }
    onProgress('terraform apply finished; outputs read.');
    return mapOutputs(outputs, keys, { workDir: dir, moduleDir: this.moduleDir });
  }

  async destroy(spec: StackSpec, _handle: Record<string, unknown> | null, onProgress: ProgressFn): Promise<void> {
    const dir = this.workDir(spec);
    if (!hasResources(path.join(dir, 'terraform.tfstate'))) {
      // Never applied, or destroyed already: nothing exists. Only the secrets are left to remove.
      this.forgetSecrets(dir);
      return;
    }
    if (!fs.existsSync(path.join(dir, VARS_FILE))) {
      throw new TerraformError(
        `terraform destroy cannot run in ${dir}: the state lists resources but ${VARS_FILE} is gone; restore it or destroy the resources by hand.`,
        [],
        false,
      );
    }
    if (!fs.existsSync(path.join(dir, '.terraform'))) await this.init(dir, false, onProgress);
    onProgress('terraform destroy started.');
    const res = await this.run('destroy', ['destroy', '-auto-approve', '-input=false', '-json', '-lock-timeout=120s'], dir, undefined, onProgress);
    if (res.code !== 0) throw describeFailure('terraform destroy', res);
    this.forgetSecrets(dir);
  }

  async check(spec: StackSpec): Promise<'alive' | 'lost'> {
    const dir = this.workDir(spec);
    if (!fs.existsSync(path.join(dir, 'terraform.tfstate'))) return 'lost';
    const res = await this.run('state list', ['state', 'list'], dir);
    if (res.code !== 0) throw describeFailure('terraform state list', res);
    // A stack without its bastion cannot be reached, whatever else is left.
    return res.stdout.split('\n').some((l) => /\.bastion(\[|$)/.test(l.trim())) ? 'alive' : 'lost';
  }

  /** The stack's own copy of the module, initialised: `init -from-module` needs an empty folder. */
  private async prepare(spec: StackSpec, onProgress: ProgressFn, signal?: AbortSignal): Promise<void> {
    const dir = this.workDir(spec);
    if (!fs.existsSync(path.join(this.moduleDir, 'main.tf'))) {
      throw new TerraformError(`The Terraform module ${this.moduleDir} has no main.tf (set OPEN_KITCHEN_TF_MODULE to the module's folder).`, [], false);
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // State and variables hold the bastion's private host key: organizer only.
    fs.chmodSync(dir, 0o700);
    if (fs.existsSync(path.join(dir, '.terraform'))) return;
    const copied = fs.readdirSync(dir).some((f) => f.endsWith('.tf'));
    if (!copied) {
      // Leftovers of an attempt that failed before the copy (no state: nothing was created).
      for (const f of fs.readdirSync(dir)) {
        if (f === 'terraform.tfstate') continue;
        fs.rmSync(path.join(dir, f), { recursive: true, force: true });
      }
    }
    await this.init(dir, !copied, onProgress, signal);
  }

  private async init(dir: string, fromModule: boolean, onProgress: ProgressFn, signal?: AbortSignal): Promise<void> {
    onProgress('terraform init.');
    const args = ['init', '-input=false', '-no-color'];
    // -from-module copies the module in, so each stack keeps the configuration it was built with.
    if (fromModule) args.push(`-from-module=${this.moduleDir}`);
    const turn = this.initQueue.then(() => {
      fs.mkdirSync(this.pluginCacheDir, { recursive: true });
      return this.run('init', args, dir, signal);
    });
    this.initQueue = turn.catch(() => undefined);
    const res = await turn;
    if (res.code !== 0) throw describeFailure('terraform init', res);
  }

  private writeVars(spec: StackSpec, keys: StackKeys): void {
    const file = path.join(this.workDir(spec), VARS_FILE);
    const inputs = {
      ...this.vars,
      stack_name: spec.name,
      workshop: spec.workshopName,
      servers: spec.topology.servers,
      clients_per_zone: spec.topology.clientsPerZone,
      zones: spec.topology.zones,
      bastion_host_private_key: keys.hostPrivateKey,
      bastion_host_public_key: keys.hostPublicKey,
      attendee_public_key: keys.attendeePublicKey,
    };
    // Created 0600 before the key is written into it, and kept so if it existed already.
    fs.writeFileSync(file, '', { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    fs.writeFileSync(file, JSON.stringify(inputs, null, 2) + '\n');
  }

  private forgetSecrets(dir: string): void {
    // The variables and the previous state (the backup) both hold the host private key.
    for (const f of [VARS_FILE, 'terraform.tfstate.backup']) fs.rmSync(path.join(dir, f), { force: true });
  }

  /**
   * Runs terraform in `dir`. With `onProgress`, stdout is read as `-json` lines: progress goes
   * there and diagnostics are collected. An abort sends SIGINT (terraform then stops what it is
   * doing and writes its state), and SIGKILL to the whole process group if it has not stopped
   * within the grace period; the promise then rejects saying which.
   */
  private run(what: string, args: string[], cwd: string, signal?: AbortSignal, onProgress?: ProgressFn): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new TerraformError(`terraform ${what} was cancelled before it started.`, [], false));
        return;
      }
      const child = spawn(this.bin, args, {
        cwd,
        env: {
          ...this.env,
          TF_IN_AUTOMATION: '1',
          TF_INPUT: '0',
          CHECKPOINT_DISABLE: '1',
          TF_PLUGIN_CACHE_DIR: this.pluginCacheDir,
          // Each stack's copy of the module starts without a lock file; without this, Terraform
          // downloads the provider again for every stack instead of taking it from the cache.
          TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE: this.env.TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE ?? 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so a kill also reaches what it started (provisioners, plugins).
        detached: true,
      });
      const result: RunResult = { code: null, stdout: '', stderr: '', diagnostics: [] };
      let buf = '';
      const onLine = (line: string) => {
        if (!line.startsWith('{')) return;
        let parsed: JsonLine;
        try {
          parsed = JSON.parse(line) as JsonLine;
        } catch {
          return;
        }
        if (parsed.type === 'diagnostic' && parsed.diagnostic) {
          result.diagnostics.push({
            severity: parsed.diagnostic.severity ?? 'error',
            summary: parsed.diagnostic.summary ?? '',
            detail: parsed.diagnostic.detail ?? '',
          });
        }
        const message = onProgress ? progressOf(parsed) : null;
        if (message) onProgress?.(message);
      };
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        result.stdout += chunk;
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (result.stderr += chunk));

      let killed: 'SIGINT' | 'SIGKILL' | null = null;
      let killTimer: NodeJS.Timeout | undefined;
      const signalGroup = (sig: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          child.kill(sig);
        }
      };
      const abort = () => {
        killed = 'SIGINT';
        signalGroup('SIGINT');
        killTimer = setTimeout(() => {
          killed = 'SIGKILL';
          signalGroup('SIGKILL');
        }, this.killGraceMs);
      };
      signal?.addEventListener('abort', abort, { once: true });
      const cleanup = () => {
        signal?.removeEventListener('abort', abort);
        if (killTimer) clearTimeout(killTimer);
      };
      child.on('error', (err: NodeJS.ErrnoException) => {
        cleanup();
        reject(
          err.code === 'ENOENT'
            ? new TerraformError(`The terraform binary "${this.bin}" was not found; install Terraform or set OPEN_KITCHEN_TERRAFORM.`, [], false)
            : err,
        );
      });
      child.on('close', (code) => {
        cleanup();
        // What terraform started and left behind when interrupted (a provisioner's command, a
        // plugin) is still in its process group.
        if (killed) {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // Nothing left.
          }
        }
        if (buf) onLine(buf);
        result.code = code;
        if (killed === 'SIGKILL') {
          reject(
            new TerraformError(
              `terraform ${what} was cancelled: it did not stop within ${this.killGraceMs >= 1000 ? `${Math.round(this.killGraceMs / 1000)} s` : `${this.killGraceMs} ms`} of SIGINT and was killed (SIGKILL); its state may be locked or incomplete.`,
              [],
              false,
            ),
          );
        } else if (killed === 'SIGINT') {
          reject(new TerraformError(`terraform ${what} was cancelled: it was interrupted (SIGINT) and stopped.`, [], false));
        } else resolve(result);
      });
    });
  }
}

/** Whether a local state file lists any resource. */
function hasResources(stateFile: string): boolean {
  try {
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { resources?: unknown[] };
    return Array.isArray(state.resources) && state.resources.length > 0;
  } catch {
    return false;
  }
}

type Outputs = Record<string, { value: unknown } | undefined>;

function outputError(message: string): TerraformError {
  return new TerraformError(message, [], false);
}

function str(outputs: Outputs, name: string): string {
  const v = outputs[name]?.value;
  if (typeof v !== 'string' || !v) throw outputError(`The Terraform module's output "${name}" is missing or not a non-empty string.`);
  return v;
}

function port(outputs: Outputs, name: string): number {
  const v = outputs[name]?.value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw outputError(`The Terraform module's output "${name}" is not a port number: ${JSON.stringify(v)}.`);
  }
  return v;
}

function optional(outputs: Outputs, name: string): string | null {
  const v = outputs[name]?.value;
  return typeof v === 'string' && v ? v : null;
}

function list(outputs: Outputs, name: string): string[] {
  const v = outputs[name]?.value;
  if (!Array.isArray(v) || !v.length || !v.every((x) => typeof x === 'string')) {
    throw outputError(`The Terraform module's output "${name}" is missing or not a non-empty list of strings.`);
  }
  return v as string[];
}

/** `ssh-ed25519 AAAA… comment` → `ssh-ed25519 AAAA…`: the comment does not make the key. */
function keyOf(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** Maps the module's outputs (see terraform/gce/outputs.tf) to the stack's connection details. */
export function mapOutputs(outputs: Outputs, keys: StackKeys, handle: TerraformHandle): ProvisionedStack {
  // The fingerprint the attendee pins is the provisioner's; make sure the bastion got that key.
  const hostKey = str(outputs, 'bastion_host_key');
  if (keyOf(hostKey) !== keyOf(keys.hostPublicKey)) {
    throw outputError('The bastion was built with a different host key than the one the organizer generated; the attendee could not trust it.');
  }
  return {
    bastion: {
      host: str(outputs, 'bastion_host'),
      port: port(outputs, 'bastion_port'),
      user: str(outputs, 'bastion_user'),
      hostKeyFingerprint: keys.hostKeyFingerprint,
      hostPublicKey: keys.hostPublicKey,
    },
    attendeePrivateKey: keys.attendeePrivateKey,
    nomad: { host: str(outputs, 'nomad_address'), port: port(outputs, 'nomad_port') },
    consul: { host: str(outputs, 'consul_address'), port: port(outputs, 'consul_port') },
    region: str(outputs, 'region'),
    datacenters: list(outputs, 'datacenters'),
    zones: list(outputs, 'zones'),
    dns: { internal: optional(outputs, 'dns_internal'), external: optional(outputs, 'dns_external') },
    nomadToken: optional(outputs, 'nomad_token'),
    consulToken: optional(outputs, 'consul_token'),
    handle: { ...handle },
  };
}
