/**
 * Applies a step's machine-applicable solution (`yaml apply`) through the attendee's Nomad and
 * Consul clients, the workspace, and the stack's lab faults (the lab cluster's admin API on a
 * local stack). The test that walks every lab uses it; the extension can offer it behind
 * "Show Solution".
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ConsulClient, NomadClient } from '../cluster';
import { sleep } from '../common/backoff';
import { evaluateCheck } from './checks';
import { readWorkspaceText, workspacePath } from './clusterReader';
import type { ClusterReader } from './reader';
import type { ApplyAction, Check, CheckResult, LabFault } from './types';

export interface SolutionApplier {
  apply(action: ApplyAction): Promise<string>;
}

export interface SolutionApplierOptions {
  nomad: NomadClient;
  consul: ConsulClient;
  /** Performs a lab fault on the stack; without it, faults fail saying so. */
  labFault?: (fault: LabFault) => Promise<string>;
  workspaceRoot: string;
}

/** Turns `{ key: value }` into Nomad var-file text (`key = "value"`). */
export function varFileText(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}\n`)
    .join('');
}

/** The admin request for a fault (lab cluster API, see src/labcluster). */
export function faultRequest(fault: LabFault): { method: string; path: string; body?: unknown } {
  switch (fault.type) {
    case 'zoneOutage':
      return { method: 'POST', path: `/zone/${encodeURIComponent(fault.zone)}/outage` };
    case 'zoneRestore':
      return { method: 'DELETE', path: `/zone/${encodeURIComponent(fault.zone)}/outage` };
    case 'nodeDown':
      return { method: 'POST', path: `/node/${encodeURIComponent(fault.node)}/down` };
    case 'nodeUp':
      return { method: 'POST', path: `/node/${encodeURIComponent(fault.node)}/up` };
    case 'advanceImageTags':
      return { method: 'POST', path: '/images/advance' };
    case 'dockerVolumes': {
      // Host volumes and privileged containers go together in the workshop's client config.
      const settings = { volumes: fault.enabled, privileged: fault.enabled };
      if (fault.node) return { method: 'POST', path: `/node/${encodeURIComponent(fault.node)}/docker`, body: settings };
      return { method: 'POST', path: '/docker', body: { ...settings, datacenter: fault.datacenter } };
    }
    case 'raw':
      return { method: fault.method, path: fault.path.startsWith('/') ? fault.path : `/${fault.path}`, body: fault.body };
  }
}

export function createSolutionApplier(opts: SolutionApplierOptions): SolutionApplier {
  const { nomad, consul } = opts;

  const nodeId = async (ref: string): Promise<string> => {
    const nodes = (await nomad.nodes()).data;
    const node = nodes.find((n) => n.Name === ref) ?? nodes.find((n) => n.ID === ref || (ref.length >= 4 && n.ID.startsWith(ref)));
    if (!node) throw new Error(`no Nomad node is called "${ref}"`);
    return node.ID;
  };

  return {
    async apply(action) {
      switch (action.kind) {
        case 'runJob': {
          const hcl = await readWorkspaceText(opts.workspaceRoot, action.file);
          if (hcl === undefined) throw new Error(`${action.file} does not exist`);
          const job = await nomad.parseJob(hcl, { canonicalize: true, variables: action.variables ? varFileText(action.variables) : undefined });
          const res = await nomad.registerJob(job);
          return `registered job "${job.ID}" from ${action.file} (evaluation ${res.EvalID.slice(0, 8)})`;
        }
        case 'stopJob':
          await nomad.stopJob(action.job, { purge: action.purge });
          return `stopped job "${action.job}"${action.purge ? ' and purged it' : ''}`;
        case 'nodeEligibility': {
          const id = await nodeId(action.node);
          await nomad.setNodeEligibility(id, action.eligible);
          return `marked ${action.node} ${action.eligible ? 'eligible' : 'ineligible'}`;
        }
        case 'nodeDrain': {
          const id = await nodeId(action.node);
          await nomad.drainNode(id, { enable: action.enable, deadlineSeconds: 60 });
          return `${action.enable ? 'started draining' : 'stopped draining'} ${action.node}`;
        }
        case 'kvPut': {
          await consul.kvPut(action.key, action.value);
          return `set Consul KV ${action.key} = ${action.value}`;
        }
        case 'editFile': {
          const file = workspacePath(opts.workspaceRoot, action.path);
          if (action.content !== undefined) {
            await fs.mkdir(path.dirname(file), { recursive: true });
            await fs.writeFile(file, action.content);
            return `wrote ${action.path}`;
          }
          let text = await readWorkspaceText(opts.workspaceRoot, action.path);
          if (text === undefined) throw new Error(`${action.path} does not exist`);
          for (const r of action.replace ?? []) {
            if (!text.includes(r.find)) throw new Error(`${action.path} does not contain ${JSON.stringify(r.find)}`);
            text = text.split(r.find).join(r.with);
          }
          await fs.writeFile(file, text);
          return `edited ${action.path}`;
        }
        case 'labFault': {
          if (!opts.labFault) throw new Error('this stack has no lab admin API: faults can only be injected on a lab cluster');
          return opts.labFault(action.fault);
        }
      }
    },
  };
}

export interface WaitForCheckOptions {
  timeoutMs?: number;
  /** Pause between evaluations (the cluster changes asynchronously after a solution). */
  intervalMs?: number;
  signal?: AbortSignal;
}

/** Evaluates a check until it passes or the time is up; resolves with the last result. */
export async function waitForCheck(check: Check, reader: ClusterReader, opts: WaitForCheckOptions = {}): Promise<CheckResult> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const interval = opts.intervalMs ?? 200;
  for (;;) {
    const result = await evaluateCheck(check, reader);
    if (result.ok || Date.now() >= deadline || opts.signal?.aborted) return result;
    await sleep(interval, opts.signal);
  }
}
