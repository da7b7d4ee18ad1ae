/**
 * The labs' ClusterReader over the attendee's Nomad and Consul clients, the same ones the
 * cluster views use (the tunnel's agent, the stack's ACL tokens, the size cap, the time limit,
 * one log line per request): a check sees exactly what the rest of the extension sees.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ClusterHttpError, type ConsulClient, type NomadClient } from '../cluster';
import {
  allocationFromNomad,
  jobFromNomad,
  memberFromConsul,
  nodeFromNomad,
  type ClusterReader,
  type LabNode,
  type LabServiceInstance,
} from './reader';

export interface ClusterReaderOptions {
  nomad: NomadClient;
  consul: ConsulClient;
  /** Folder the lab paths (jobs/…) are relative to. */
  workspaceRoot: string;
}

/** Resolves a workspace-relative path, refusing paths that leave the workspace. */
export function workspacePath(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  const base = path.resolve(root);
  if (abs !== base && !abs.startsWith(base + path.sep)) throw new Error(`${rel} is outside the workspace`);
  return abs;
}

export async function readWorkspaceText(root: string, rel: string): Promise<string | undefined> {
  try {
    return await fs.readFile(workspacePath(root, rel), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function createClusterReader(opts: ClusterReaderOptions): ClusterReader {
  const { nomad, consul } = opts;

  return {
    async getJob(id) {
      const job = await nomad.job(id, { namespace: 'default' });
      return job ? jobFromNomad(job) : undefined;
    },
    async listAllocations(jobId) {
      return (await nomad.jobAllocations(jobId, { namespace: 'default', all: true })).map(allocationFromNomad);
    },
    async listNodes() {
      // The list stub carries no attributes (the zone is one), so read each node in full.
      const stubs = (await nomad.nodes()).data;
      return Promise.all(
        stubs.map(async (s): Promise<LabNode> => {
          const full = await nomad.node(s.ID).catch(() => s);
          return nodeFromNomad({ ...s, ...full });
        }),
      );
    },
    async consulMembers() {
      return (await consul.members()).map(memberFromConsul);
    },
    async consulLeader() {
      return consul.leader();
    },
    async consulHealth(service) {
      const [instances, checks] = await Promise.all([consul.service(service), consul.healthState('any')]);
      return instances.data.map(
        (i): LabServiceInstance => ({
          node: i.Node,
          serviceId: i.ServiceID,
          address: i.ServiceAddress || i.Address,
          port: i.ServicePort,
          tags: i.ServiceTags ?? [],
          checks: checks.data
            .filter((c) => c.Node === i.Node && (c.ServiceID === i.ServiceID || c.ServiceID === ''))
            .map((c) => ({ name: c.Name, status: c.Status, output: c.Output || undefined })),
        }),
      );
    },
    kvGet(key) {
      return consul.kvGet(key);
    },
    readWorkspaceFile(rel) {
      return readWorkspaceText(opts.workspaceRoot, rel);
    },
    async checkJobFile(rel) {
      const hcl = await readWorkspaceText(opts.workspaceRoot, rel);
      if (hcl === undefined) return undefined;
      let job;
      try {
        job = await nomad.parseJob(hcl, { canonicalize: true });
      } catch (err) {
        // A 400 is the parser's verdict on the file; anything else is a failure to ask.
        if (err instanceof ClusterHttpError && err.status === 400) {
          // Nomad names the text it parsed "input.hcl"; the attendee knows it by its path.
          return { parsed: false, errors: [err.body.trim().replace(/\binput\.hcl:/g, `${rel}:`)], warnings: [] };
        }
        throw err;
      }
      const v = await nomad.validateJob(job);
      const warnings = (v.Warnings ?? '').trim();
      return { parsed: true, jobId: job.ID, errors: v.ValidationErrors ?? [], warnings: warnings ? [warnings] : [] };
    },
  };
}
