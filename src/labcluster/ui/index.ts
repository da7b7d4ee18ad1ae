// The lab cluster's answer to GET /ui/…: a small, self-contained HTML page that shows what the
// cluster really holds (jobs, allocations, nodes), plainly marked as the lab cluster and not the
// real Nomad UI. No scripts, no external assets; every value from the cluster state is escaped.
// Paths follow the real UI's so "Open in Nomad UI" deep links land somewhere sensible:
//   /ui/  /ui/jobs  /ui/jobs/<id>[@<namespace>]  /ui/allocations/<id>  /ui/clients  /ui/clients/<id>

export interface UiTaskEvent {
  Type: string;
  Time?: number;
  DisplayMessage?: string;
  Message?: string;
}

export interface UiTaskState {
  State: string;
  Failed?: boolean;
  Restarts?: number;
  Events?: UiTaskEvent[] | null;
}

export interface UiJob {
  ID: string;
  Name?: string;
  Namespace?: string;
  Type?: string;
  Status?: string;
  StatusDescription?: string;
  Datacenters?: string[] | null;
  Priority?: number;
  Version?: number;
  Stop?: boolean;
  SubmitTime?: number;
  TaskGroups?: { Name: string; Count?: number }[] | null;
}

export interface UiAllocation {
  ID: string;
  Name: string;
  Namespace?: string;
  JobID: string;
  TaskGroup: string;
  NodeID: string;
  NodeName?: string;
  ClientStatus: string;
  DesiredStatus: string;
  ClientDescription?: string;
  JobVersion?: number;
  CreateTime?: number;
  ModifyTime?: number;
  TaskStates?: Record<string, UiTaskState> | null;
}

export interface UiNode {
  ID: string;
  Name: string;
  Datacenter: string;
  Status: string;
  SchedulingEligibility?: string;
  Drain?: boolean;
  Address?: string;
  NodeClass?: string;
  NodePool?: string;
  Version?: string;
  Attributes?: Record<string, string> | null;
}

/** A server as /v1/agent/members lists it. */
export interface UiServer {
  Name: string;
  Addr: string;
  Port?: number;
  Status: string;
  Tags?: Record<string, string> | null;
}

export interface UiPageInput {
  /** the request path, e.g. "/ui/jobs/web"; selects the view */
  path?: string;
  /** shown in the header, e.g. the stack name */
  clusterName?: string;
  region?: string;
  /** leader's RPC address as /v1/status/leader reports it */
  leader?: string;
  jobs: UiJob[];
  allocations: UiAllocation[];
  nodes: UiNode[];
  /** Nomad servers (agent members); the leader is the one whose RPC address equals `leader` */
  servers?: UiServer[];
  /** if set, the page reloads itself every N seconds */
  refreshSeconds?: number;
  /** for a stable "as of" line in tests; defaults to now */
  now?: Date;
}

export type UiRoute =
  | { view: 'overview' }
  | { view: 'jobs' }
  | { view: 'job'; jobId: string; namespace: string }
  | { view: 'allocation'; allocId: string }
  | { view: 'clients' }
  | { view: 'servers' }
  | { view: 'client'; nodeId: string }
  | { view: 'not-found' };

export interface UiResponse {
  status: number;
  contentType: string;
  body: string;
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c] as string);
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Map a /ui/… path to a view. */
export function uiRoute(path: string): UiRoute {
  const clean = (path.split('?')[0] ?? '').replace(/\/+$/, '');
  const parts = clean.split('/').filter(Boolean);
  if (parts[0] !== 'ui') return { view: 'not-found' };
  const [, section, id] = parts;
  if (!section) return { view: 'overview' };
  if (section === 'jobs') {
    if (!id) return { view: 'jobs' };
    const full = decodeSegment(id);
    const at = full.lastIndexOf('@');
    return at > 0 ? { view: 'job', jobId: full.slice(0, at), namespace: full.slice(at + 1) } : { view: 'job', jobId: full, namespace: 'default' };
  }
  if (section === 'allocations' && id) return { view: 'allocation', allocId: decodeSegment(id) };
  if (section === 'clients') return id ? { view: 'client', nodeId: decodeSegment(id) } : { view: 'clients' };
  if (section === 'servers' && !id) return { view: 'servers' };
  return { view: 'not-found' };
}

const statusClass = (s: string | undefined): string => {
  switch (s) {
    case 'running':
    case 'ready':
    case 'complete':
    case 'successful':
      return 'ok';
    case 'pending':
    case 'initializing':
    case 'starting':
      return 'warn';
    case 'failed':
    case 'lost':
    case 'down':
    case 'dead':
      return 'bad';
    default:
      return 'muted';
  }
};

const badge = (s: string | undefined): string => `<span class="st ${statusClass(s)}">${escapeHtml(s ?? 'unknown')}</span>`;
const short = (id: string): string => escapeHtml(id.slice(0, 8));
const zoneOf = (n: UiNode | undefined): string => n?.Attributes?.['platform.gce.zone'] ?? '';

function age(ns: number | undefined, now: Date): string {
  if (!ns) return '';
  const secs = Math.max(0, Math.round((now.getTime() - ns / 1e6) / 1000));
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) return `${Math.floor(secs / 60)}m${secs % 60 ? `${secs % 60}s` : ''}`;
  return `${Math.floor(secs / 3600)}h${Math.floor((secs % 3600) / 60)}m`;
}

function jobHref(j: { ID: string; Namespace?: string }): string {
  const ns = j.Namespace && j.Namespace !== 'default' ? `@${j.Namespace}` : '';
  return `/ui/jobs/${encodeURIComponent(j.ID + ns)}`;
}

const allocHref = (id: string): string => `/ui/allocations/${encodeURIComponent(id)}`;
const nodeHref = (id: string): string => `/ui/clients/${encodeURIComponent(id)}`;

function lastEvent(a: UiAllocation): string {
  let best: UiTaskEvent | undefined;
  for (const ts of Object.values(a.TaskStates ?? {})) {
    for (const e of ts.Events ?? []) if (!best || (e.Time ?? 0) >= (best.Time ?? 0)) best = e;
  }
  if (!best) return a.ClientDescription ?? '';
  const msg = best.DisplayMessage || best.Message || '';
  return msg ? `${best.Type}: ${msg}` : best.Type;
}

function jobsTable(jobs: UiJob[], allocs: UiAllocation[]): string {
  if (jobs.length === 0) return '<p class="empty">No jobs yet. Run one with <code>nomad job run jobs/web.nomad.hcl</code>.</p>';
  const rows = [...jobs]
    .sort((a, b) => a.ID.localeCompare(b.ID))
    .map((j) => {
      const mine = allocs.filter((a) => a.JobID === j.ID && (a.Namespace ?? 'default') === (j.Namespace ?? 'default'));
      const running = mine.filter((a) => a.ClientStatus === 'running').length;
      const failed = mine.filter((a) => a.ClientStatus === 'failed').length;
      return `<tr><td><a href="${escapeHtml(jobHref(j))}">${escapeHtml(j.ID)}</a></td><td>${escapeHtml(j.Namespace ?? 'default')}</td><td>${escapeHtml(j.Type ?? '')}</td><td>${badge(j.Stop ? 'dead' : j.Status)}${j.Stop ? ' <span class="muted">(stopped)</span>' : ''}</td><td>${escapeHtml((j.Datacenters ?? []).join(', '))}</td><td>${running} running${failed ? `, <span class="st bad">${failed} failed</span>` : ''}</td><td>${escapeHtml(j.Version ?? 0)}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>Job</th><th>Namespace</th><th>Type</th><th>Status</th><th>Datacenters</th><th>Allocations</th><th>Version</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function allocsTable(allocs: UiAllocation[], nodes: UiNode[], now: Date): string {
  if (allocs.length === 0) return '<p class="empty">No allocations.</p>';
  const byId = new Map(nodes.map((n) => [n.ID, n]));
  const rows = [...allocs]
    .sort((a, b) => (b.CreateTime ?? 0) - (a.CreateTime ?? 0) || a.Name.localeCompare(b.Name))
    .map((a) => {
      const n = byId.get(a.NodeID);
      const restarts = Object.values(a.TaskStates ?? {}).reduce((s, t) => s + (t.Restarts ?? 0), 0);
      return `<tr><td><a href="${escapeHtml(allocHref(a.ID))}" title="${escapeHtml(a.ID)}">${short(a.ID)}</a></td><td>${escapeHtml(a.Name)}</td><td>${badge(a.ClientStatus)}</td><td>${escapeHtml(a.DesiredStatus)}</td><td><a href="${escapeHtml(nodeHref(a.NodeID))}">${escapeHtml(a.NodeName ?? n?.Name ?? a.NodeID.slice(0, 8))}</a></td><td>${escapeHtml(zoneOf(n))}</td><td>${escapeHtml(age(a.CreateTime, now))}</td><td>${restarts}</td><td class="ev">${escapeHtml(lastEvent(a))}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>ID</th><th>Name</th><th>Status</th><th>Desired</th><th>Node</th><th>Zone</th><th>Age</th><th>Restarts</th><th>Last event</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function nodesTable(nodes: UiNode[], allocs: UiAllocation[]): string {
  if (nodes.length === 0) return '<p class="empty">No client nodes.</p>';
  const rows = [...nodes]
    .sort((a, b) => a.Datacenter.localeCompare(b.Datacenter) || zoneOf(a).localeCompare(zoneOf(b)) || a.Name.localeCompare(b.Name))
    .map((n) => {
      const running = allocs.filter((a) => a.NodeID === n.ID && a.ClientStatus === 'running').length;
      return `<tr><td><a href="${escapeHtml(nodeHref(n.ID))}" title="${escapeHtml(n.ID)}">${escapeHtml(n.Name)}</a></td><td>${escapeHtml(n.Datacenter)}</td><td>${escapeHtml(zoneOf(n))}</td><td>${escapeHtml(n.Address ?? '')}</td><td>${badge(n.Status)}</td><td>${escapeHtml(n.SchedulingEligibility ?? 'eligible')}${n.Drain ? ' <span class="st warn">draining</span>' : ''}</td><td>${running}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>Name</th><th>Datacenter</th><th>Zone</th><th>Address</th><th>Status</th><th>Eligibility</th><th>Running allocs</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function serversTable(servers: UiServer[] | undefined, leader: string | undefined): string {
  if (!servers || servers.length === 0) return '<p class="empty">No server information.</p>';
  const rows = [...servers]
    .sort((a, b) => a.Name.localeCompare(b.Name))
    .map((s) => {
      const rpc = `${s.Addr}:${s.Tags?.port ?? '4647'}`;
      const isLeader = leader !== undefined && leader === rpc;
      return `<tr><td>${escapeHtml(s.Name)}${isLeader ? ' <span class="st ok">leader</span>' : ''}</td><td>${escapeHtml(s.Addr)}</td><td>${badge(s.Status === 'alive' ? 'ready' : s.Status)}</td><td>${escapeHtml(s.Tags?.dc ?? '')}</td><td>${escapeHtml(s.Tags?.build ?? '')}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>Name</th><th>Address</th><th>Status</th><th>Datacenter</th><th>Version</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function taskStatesHtml(a: UiAllocation): string {
  const entries = Object.entries(a.TaskStates ?? {});
  if (entries.length === 0) return '<p class="empty">No task states yet.</p>';
  return entries
    .map(([task, ts]) => {
      const events = (ts.Events ?? [])
        .map((e) => `<tr><td>${escapeHtml(e.Time ? new Date(e.Time / 1e6).toISOString() : '')}</td><td>${escapeHtml(e.Type)}</td><td>${escapeHtml(e.DisplayMessage || e.Message || '')}</td></tr>`)
        .join('');
      return `<h3>Task ${escapeHtml(task)} ${badge(ts.State)}${ts.Failed ? ' <span class="st bad">failed</span>' : ''} <span class="muted">restarts: ${escapeHtml(ts.Restarts ?? 0)}</span></h3>${events ? `<table><thead><tr><th>Time</th><th>Type</th><th>Description</th></tr></thead><tbody>${events}</tbody></table>` : ''}`;
    })
    .join('');
}

const css = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#1f2328;color:#fff;padding:10px 20px}header a{color:#fff}
.banner{background:#fff4d6;border-bottom:1px solid #e6c56a;padding:8px 20px;font-weight:600}
main{padding:12px 20px}nav a{margin-right:14px}h2{margin:20px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:12px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef1f4}
.st{padding:0 6px;border-radius:8px;font-size:12px}.ok{background:#d8f5dd;color:#116329}.warn{background:#fff1c2;color:#7a5200}
.bad{background:#ffdcdc;color:#a40e26}.muted{color:#656d76}.empty{color:#656d76;font-style:italic}.ev{max-width:420px}
code{background:#eef1f4;padding:0 3px}dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px}dt{font-weight:600}`;

function page(title: string, body: string, input: UiPageInput, now: Date): string {
  const refresh = input.refreshSeconds && input.refreshSeconds > 0 ? `<meta http-equiv="refresh" content="${Math.floor(input.refreshSeconds)}">` : '';
  const where = [input.clusterName, input.region ? `region ${input.region}` : '', input.leader ? `leader ${input.leader}` : ''].filter(Boolean).join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${refresh}
<title>${escapeHtml(title)} · Open Kitchen lab cluster</title><style>${css}</style></head>
<body><header><strong>Open Kitchen lab cluster</strong>${where ? ` · ${escapeHtml(where)}` : ''}</header>
<div class="banner" role="note">Open Kitchen lab cluster — not the real Nomad UI. This page shows the simulated cluster's state; the Nomad HTTP API on this port is what the CLI and the extension use.</div>
<main><nav><a href="/ui/">Overview</a><a href="/ui/jobs">Jobs</a><a href="/ui/clients">Clients</a><a href="/ui/servers">Servers</a></nav>
${body}
<p class="muted">As of ${escapeHtml(now.toISOString())}.</p></main></body></html>`;
}

function dl(rows: [string, unknown][]): string {
  return `<dl>${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${v === undefined || v === null || v === '' ? '<span class="muted">–</span>' : escapeHtml(v)}</dd>`).join('')}</dl>`;
}

/** Render the page for `input.path` with its HTTP status (404 for unknown jobs, allocations, nodes). */
export function renderUi(input: UiPageInput): UiResponse {
  const now = input.now ?? new Date();
  const route = uiRoute(input.path ?? '/ui/');
  const html = (status: number, title: string, body: string): UiResponse => ({ status, contentType: 'text/html; charset=utf-8', body: page(title, body, input, now) });
  switch (route.view) {
    case 'overview':
      return html(
        200,
        'Overview',
        `<h2>Jobs</h2>${jobsTable(input.jobs, input.allocations)}<h2>Allocations</h2>${allocsTable(input.allocations, input.nodes, now)}<h2>Clients</h2>${nodesTable(input.nodes, input.allocations)}${input.servers ? `<h2>Servers</h2>${serversTable(input.servers, input.leader)}` : ''}`,
      );
    case 'jobs':
      return html(200, 'Jobs', `<h2>Jobs</h2>${jobsTable(input.jobs, input.allocations)}`);
    case 'clients':
      return html(200, 'Clients', `<h2>Clients</h2>${nodesTable(input.nodes, input.allocations)}`);
    case 'servers':
      return html(200, 'Servers', `<h2>Servers</h2>${serversTable(input.servers, input.leader)}`);
    case 'job': {
      const job = input.jobs.find((j) => j.ID === route.jobId && (j.Namespace ?? 'default') === route.namespace);
      if (!job) return html(404, 'Not found', `<h2>Job not found</h2><p>No job <code>${escapeHtml(route.jobId)}</code> in namespace <code>${escapeHtml(route.namespace)}</code>.</p>`);
      const allocs = input.allocations.filter((a) => a.JobID === job.ID && (a.Namespace ?? 'default') === route.namespace);
      const groups = (job.TaskGroups ?? []).map((g) => `${g.Name} × ${g.Count ?? 1}`).join(', ');
      return html(
        200,
        `Job ${job.ID}`,
        `<h2>Job ${escapeHtml(job.ID)} ${badge(job.Stop ? 'dead' : job.Status)}</h2>${dl([
          ['Name', job.Name ?? job.ID],
          ['Namespace', job.Namespace ?? 'default'],
          ['Type', job.Type],
          ['Priority', job.Priority],
          ['Datacenters', (job.Datacenters ?? []).join(', ')],
          ['Version', job.Version ?? 0],
          ['Task groups', groups],
          ['Stopped', job.Stop ? 'yes' : 'no'],
        ])}<h2>Allocations</h2>${allocsTable(allocs, input.nodes, now)}`,
      );
    }
    case 'allocation': {
      const a = input.allocations.find((x) => x.ID === route.allocId) ?? input.allocations.filter((x) => x.ID.startsWith(route.allocId)).find((_x, _i, arr) => arr.length === 1);
      if (!a) return html(404, 'Not found', `<h2>Allocation not found</h2><p>No allocation <code>${escapeHtml(route.allocId)}</code>.</p>`);
      const n = input.nodes.find((x) => x.ID === a.NodeID);
      return html(
        200,
        `Allocation ${a.ID.slice(0, 8)}`,
        `<h2>Allocation ${short(a.ID)} ${badge(a.ClientStatus)}</h2>${dl([
          ['ID', a.ID],
          ['Name', a.Name],
          ['Job', a.JobID],
          ['Task group', a.TaskGroup],
          ['Node', `${a.NodeName ?? n?.Name ?? ''} (${a.NodeID})`],
          ['Zone', zoneOf(n)],
          ['Desired status', a.DesiredStatus],
          ['Client description', a.ClientDescription],
          ['Job version', a.JobVersion],
        ])}<p><a href="${escapeHtml(jobHref({ ID: a.JobID, Namespace: a.Namespace }))}">Job ${escapeHtml(a.JobID)}</a></p>${taskStatesHtml(a)}`,
      );
    }
    case 'client': {
      const n = input.nodes.find((x) => x.ID === route.nodeId) ?? input.nodes.filter((x) => x.ID.startsWith(route.nodeId)).find((_x, _i, arr) => arr.length === 1);
      if (!n) return html(404, 'Not found', `<h2>Client not found</h2><p>No client node <code>${escapeHtml(route.nodeId)}</code>.</p>`);
      const allocs = input.allocations.filter((a) => a.NodeID === n.ID);
      return html(
        200,
        `Client ${n.Name}`,
        `<h2>Client ${escapeHtml(n.Name)} ${badge(n.Status)}</h2>${dl([
          ['ID', n.ID],
          ['Datacenter', n.Datacenter],
          ['Zone', zoneOf(n)],
          ['Address', n.Address],
          ['Node class', n.NodeClass],
          ['Node pool', n.NodePool],
          ['Eligibility', n.SchedulingEligibility ?? 'eligible'],
          ['Draining', n.Drain ? 'yes' : 'no'],
          ['Nomad version', n.Version],
        ])}<h2>Allocations</h2>${allocsTable(allocs, input.nodes, now)}`,
      );
    }
    default:
      return html(404, 'Not found', `<h2>Page not found</h2><p>The lab cluster has no page at <code>${escapeHtml(input.path ?? '')}</code>.</p>`);
  }
}

/** The HTML for `input.path` (see renderUi for the status code). */
export function renderUiPage(input: UiPageInput): string {
  return renderUi(input).body;
}
