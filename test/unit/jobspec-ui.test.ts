/**
 * The lab cluster's /ui/ page: shows jobs, allocations and nodes from plain state arrays, says
 * plainly that it is not the real Nomad UI, escapes everything, and follows the real UI's paths
 * (/ui/jobs/<id>@<namespace>, /ui/allocations/<id>, /ui/clients/<id>) for deep links.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, renderUi, renderUiPage, uiRoute, type UiPageInput } from '../../src/labcluster/ui';

const now = new Date('2025-01-01T10:00:00Z');
const ns = (d: Date): number => d.getTime() * 1e6;

function state(overrides: Partial<UiPageInput> = {}): UiPageInput {
  return {
    path: '/ui/',
    clusterName: 'stack-ana',
    region: 'global',
    leader: '10.0.0.5:4647',
    now,
    jobs: [
      { ID: 'web', Namespace: 'default', Type: 'service', Status: 'running', Datacenters: ['dc1'], Version: 2, TaskGroups: [{ Name: 'web', Count: 3 }] },
      { ID: 'consul', Namespace: 'default', Type: 'system', Status: 'running', Datacenters: ['sys1', 'dc1'] },
    ],
    allocations: [
      {
        ID: '5457f16d-1111-2222-3333-444455556666',
        Name: 'web.web[0]',
        JobID: 'web',
        TaskGroup: 'web',
        NodeID: 'node-a-0000-0000-0000-000000000001',
        ClientStatus: 'running',
        DesiredStatus: 'run',
        CreateTime: ns(new Date('2025-01-01T09:58:30Z')),
        TaskStates: { 'http-echo': { State: 'running', Restarts: 1, Events: [{ Type: 'Started', Time: ns(new Date('2025-01-01T09:58:35Z')), DisplayMessage: 'Task started by client' }] } },
      },
      {
        ID: '99999999-aaaa-bbbb-cccc-dddddddddddd',
        Name: 'web.web[1]',
        JobID: 'web',
        TaskGroup: 'web',
        NodeID: 'node-b-0000-0000-0000-000000000002',
        ClientStatus: 'failed',
        DesiredStatus: 'run',
        TaskStates: {
          'http-echo': {
            State: 'dead',
            Failed: true,
            Events: [{ Type: 'Driver Failure', Time: 1, DisplayMessage: 'Failed to pull `hashicorp/http-echo:9`: Error response from daemon: manifest for hashicorp/http-echo:9 not found' }],
          },
        },
      },
    ],
    nodes: [
      { ID: 'node-a-0000-0000-0000-000000000001', Name: 'client-1', Datacenter: 'dc1', Status: 'ready', SchedulingEligibility: 'eligible', Address: '10.0.1.11', Attributes: { 'platform.gce.zone': 'europe-west1-b' } },
      { ID: 'node-b-0000-0000-0000-000000000002', Name: 'client-2', Datacenter: 'dc1', Status: 'down', SchedulingEligibility: 'ineligible', Drain: true, Attributes: { 'platform.gce.zone': 'europe-west1-c' } },
    ],
    ...overrides,
  };
}

describe('renderUi', () => {
  test('the overview shows jobs, allocations and nodes and says it is not the real Nomad UI', () => {
    const r = renderUi(state());
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'text/html; charset=utf-8');
    assert.match(r.body, /^<!doctype html>/);
    assert.match(r.body, /Open Kitchen lab cluster — not the real Nomad UI/);
    assert.match(r.body, /stack-ana · region global · leader 10\.0\.0\.5:4647/);
    assert.match(r.body, /<a href="\/ui\/jobs\/web">web<\/a>/);
    assert.match(r.body, /1 running, <span class="st bad">1 failed<\/span>/);
    assert.match(r.body, /href="\/ui\/allocations\/5457f16d-1111-2222-3333-444455556666"[^>]*>5457f16d<\/a>/);
    assert.match(r.body, /europe-west1-b/);
    assert.match(r.body, /<td>1m30s<\/td>/, 'allocation age');
    assert.match(r.body, /Driver Failure: Failed to pull &#96;hashicorp\/http-echo:9&#96;/);
    assert.match(r.body, /draining/);
    assert.doesNotMatch(r.body, /<script/i, 'no scripts');
  });

  test('every value from the state is escaped', () => {
    const evil = '<script>alert("x")</script>';
    const body = renderUiPage(
      state({
        clusterName: evil,
        jobs: [{ ID: `a"><img src=x onerror=alert(1)>`, Type: evil, Status: evil }],
        allocations: [],
        nodes: [{ ID: 'n1', Name: evil, Datacenter: `dc'1`, Status: 'ready' }],
      }),
    );
    assert.doesNotMatch(body, /<script>/);
    assert.doesNotMatch(body, /<img/);
    assert.match(body, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
    assert.match(body, /dc&#39;1/);
    assert.equal(escapeHtml(`<&>"'\``), '&lt;&amp;&gt;&quot;&#39;&#96;');
  });

  test('job deep link, with and without a namespace', () => {
    const r = renderUi(state({ path: '/ui/jobs/web' }));
    assert.equal(r.status, 200);
    assert.match(r.body, /<h2>Job web <span class="st ok">running<\/span><\/h2>/);
    assert.match(r.body, /web × 3/);
    assert.match(r.body, /web\.web\[0\]/);
    assert.doesNotMatch(r.body, /consul\.server/);
    assert.equal(renderUi(state({ path: '/ui/jobs/web@default' })).status, 200);
    const missing = renderUi(state({ path: '/ui/jobs/web@other' }));
    assert.equal(missing.status, 404);
    assert.match(missing.body, /No job <code>web<\/code> in namespace <code>other<\/code>/);
  });

  test('allocation and client pages, by full or unique short ID', () => {
    const alloc = renderUi(state({ path: '/ui/allocations/99999999-aaaa-bbbb-cccc-dddddddddddd' }));
    assert.equal(alloc.status, 200);
    assert.match(alloc.body, /Task http-echo <span class="st bad">dead<\/span> <span class="st bad">failed<\/span>/);
    assert.match(alloc.body, /Driver Failure/);
    assert.equal(renderUi(state({ path: '/ui/allocations/5457f16d' })).status, 200);
    assert.equal(renderUi(state({ path: '/ui/allocations/nope' })).status, 404);
    const node = renderUi(state({ path: '/ui/clients/node-a-0000-0000-0000-000000000001' }));
    assert.equal(node.status, 200);
    assert.match(node.body, /Client client-1/);
    assert.match(node.body, /web\.web\[0\]/);
    assert.doesNotMatch(node.body, /web\.web\[1\]/);
  });

  test('servers page marks the leader by its RPC address', () => {
    const servers = [
      { Name: 'server-1.global', Addr: '10.0.0.5', Port: 4648, Status: 'alive', Tags: { port: '4647', dc: 'sys1', build: '1.9.7' } },
      { Name: 'server-2.global', Addr: '10.0.0.6', Port: 4648, Status: 'failed', Tags: { port: '4647', dc: 'sys1', build: '1.9.7' } },
    ];
    const r = renderUi(state({ path: '/ui/servers', servers }));
    assert.equal(r.status, 200);
    assert.match(r.body, /server-1\.global <span class="st ok">leader<\/span>/);
    assert.doesNotMatch(r.body, /server-2\.global <span class="st ok">leader/);
    assert.match(r.body, /<span class="st bad">failed<\/span>/);
    assert.match(renderUi(state({ servers })).body, /<h2>Servers<\/h2>/);
  });

  test('empty cluster, unknown page and auto-refresh', () => {
    const empty = renderUi(state({ jobs: [], allocations: [], nodes: [], refreshSeconds: 5 }));
    assert.match(empty.body, /No jobs yet/);
    assert.match(empty.body, /<meta http-equiv="refresh" content="5">/);
    assert.equal(renderUi(state({ path: '/ui/topology' })).status, 404);
  });
});

describe('uiRoute', () => {
  test('maps the real Nomad UI paths', () => {
    assert.deepEqual(uiRoute('/ui'), { view: 'overview' });
    assert.deepEqual(uiRoute('/ui/'), { view: 'overview' });
    assert.deepEqual(uiRoute('/ui/jobs?status=running'), { view: 'jobs' });
    assert.deepEqual(uiRoute('/ui/jobs/my%20job@prod'), { view: 'job', jobId: 'my job', namespace: 'prod' });
    assert.deepEqual(uiRoute('/ui/jobs/web/allocations'), { view: 'job', jobId: 'web', namespace: 'default' });
    assert.deepEqual(uiRoute('/ui/allocations/abc'), { view: 'allocation', allocId: 'abc' });
    assert.deepEqual(uiRoute('/ui/clients'), { view: 'clients' });
    assert.deepEqual(uiRoute('/ui/clients/n1'), { view: 'client', nodeId: 'n1' });
    assert.deepEqual(uiRoute('/ui/servers'), { view: 'servers' });
    assert.deepEqual(uiRoute('/v1/jobs'), { view: 'not-found' });
  });
});
