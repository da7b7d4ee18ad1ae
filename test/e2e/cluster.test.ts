/**
 * The live cluster as an attendee sees it: after sign-in the extension connects through the
 * stack's bastion by itself (status bar), the Cluster view shows the Nomad servers with their
 * leader, the clients by datacenter and zone and Consul; the Allocations view shows the jobs
 * that run. A node taken down in the lab cluster shows up as down without any refresh.
 *
 * Run alone: node --import tsx --test --test-reporter=spec test/e2e/cluster.test.ts
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  collapsePane,
  expandPane,
  openWorkbench,
  repoRoot,
  runFromPalette,
  signInWithInvite,
  startWalkthrough,
  toast,
  treeRow,
  treeRows,
  workbench,
} from './harness';

test('the Cluster and Allocations views follow the live cluster through the tunnel', { timeout: 300_000 }, async (t) => {
  const { shots, demo, server, step } = await startWalkthrough(t, 'cluster', { attendees: 1 });
  const invite = demo.invites[0]!;
  // The attendee's workspace holds a job file and a broken copy before VS Code opens it.
  const webJob = fs.readFileSync(path.join(repoRoot, 'jobs', 'web.nomad.hcl'), 'utf8');
  const brokenJob = webJob.replace(/count = 3/, 'count = ');
  fs.writeFileSync(path.join(server.workspaceDir, 'web.nomad.hcl'), webJob);
  fs.writeFileSync(path.join(server.workspaceDir, 'broken.nomad.hcl'), brokenJob);


  const [stack] = await demo.settled();
  assert.equal(stack?.status, 'ready', `the demo stack is ${stack?.status}: ${stack?.statusMessage}`);
  // The lab cluster's own address (the bastion forwards to it), for the fault-injection API.
  const nomad = `http://${stack!.connection!.nomad.host}:${stack!.connection!.nomad.port}`;

  await step('signing in connects to the stack by itself; the status bar says so', async (p) => {
    await openWorkbench(p, server.workbenchUrl());
    await signInWithInvite(p, invite);
    await p.locator(workbench.statusBar).getByText('Nomad: connected').waitFor({ timeout: 60_000 });
    await collapsePane(p, 'Environment');
    await collapsePane(p, 'Labs');
  });

  await step('the Cluster view shows three servers with one leader, dc1 by zone, and Consul', async (p) => {
    await collapsePane(p, 'Allocations');
    const servers = treeRow(p, 'Cluster', 'Nomad servers');
    await servers.locator('.label-description', { hasText: /3 of 3 alive, leader / }).waitFor();
    await treeRow(p, 'Cluster', 'sys1').waitFor();
    await treeRow(p, 'Cluster', 'dc1').waitFor();
    // Zones appear under each datacenter that has nodes in them (sys1's servers sit in one too).
    await treeRow(p, 'Cluster', 'europe-west1-b').first().waitFor();
    await treeRow(p, 'Cluster', 'europe-west1-c').first().waitFor();
    // The stack runs Consul from the start (as the workshop's provisioning did): a leader is elected.
    await treeRow(p, 'Cluster', 'Consul').locator('.label-description', { hasText: /^leader / }).waitFor();
  });

  await step('the Allocations view lists the running jobs with their task groups', async (p) => {
    await collapsePane(p, 'Cluster');
    await expandPane(p, 'Allocations');
    await treeRow(p, 'Allocations', 'consul').locator('.label-description', { hasText: /system · running/ }).waitFor();
    await treeRow(p, 'Allocations', 'server').waitFor();
    await treeRow(p, 'Allocations', 'client').waitFor();
  });

  await step('a node that goes down in the cluster shows as down, without a refresh', async (p) => {
    const nodes = (await (await fetch(`${nomad}/v1/nodes`)).json()) as { ID: string; Name: string; Datacenter: string }[];
    const victim = nodes.find((n) => n.Datacenter === 'dc1')!;
    const res = await fetch(`${nomad}/_lab/node/${victim.ID}/down`, { method: 'POST' });
    assert.equal(res.status, 200, await res.text());
    await collapsePane(p, 'Allocations');
    await expandPane(p, 'Cluster');
    const full = (await (await fetch(`${nomad}/v1/node/${victim.ID}`)).json()) as { Attributes: Record<string, string> };
    const zoneRow = treeRow(p, 'Cluster', full.Attributes['platform.gce.zone']!).filter({ has: p.locator('.label-description', { hasText: /^2 of 3 ready, 1 down/ }) });
    await zoneRow.waitFor();
    // Unfolded, the zone shows which node it is.
    await zoneRow.click();
    await treeRow(p, 'Cluster', victim.Name).locator('.label-description', { hasText: /^down/ }).waitFor();
  });

  await step('a job file runs from its CodeLens and its allocations appear', async (p) => {
    await openFile(p, 'web.nomad.hcl');
    await p.locator('.contentWidgets .codelens-decoration a', { hasText: 'Run' }).click();
    await toast(p, /Job "web" submitted/).waitFor();
    await collapsePane(p, 'Cluster');
    await expandPane(p, 'Allocations');
    await treeRow(p, 'Allocations', 'web').locator('.label-description', { hasText: /3 running/ }).first().waitFor();
  });

  await step('Show Logs on an allocation streams its stdout into an output channel', async (p) => {
    const row = treeRows(p, 'Allocations').filter({ has: p.locator('.label-description', { hasText: /^running · nomad-client/ }) }).filter({ has: p.locator('.label-name', { hasText: /\[[0-2]\]$/ }) });
    await row.first().click({ button: 'right' });
    // VS Code's context menu acts on mouse-up over a hovered item; the keyboard is steadier.
    await p.locator('.context-view .monaco-menu .action-label', { hasText: 'Show Logs' }).waitFor();
    await p.keyboard.press('ArrowDown');
    await p.keyboard.press('Enter');
    await p.locator(workbench.quickInputRows, { hasText: 'stdout' }).first().click();
    const output = p.locator('.part.panel .monaco-editor .view-lines .view-line');
    await output.filter({ hasText: /\S/ }).first().waitFor();
    await shots.take(p, 'allocation logs');
    await runFromPalette(p, 'View: Hide Panel');
  });

  await step('a syntax error in a job file shows as a problem on its line', async (p) => {
    const line = brokenJob.split('\n').findIndex((l) => /count = $/.test(l)) + 1;
    await openFile(p, 'broken.nomad.hcl');
    await p.locator('.contentWidgets .codelens-decoration a', { hasText: 'Validate' }).click();
    await runFromPalette(p, 'View: Focus Problems');
    const problem = p.locator('.markers-panel .monaco-list-row', { hasText: 'Invalid expression' });
    await problem.waitFor();
    assert.match(await problem.innerText(), new RegExp(`\\[Ln ${line}, Col \\d+\\]`));
  });

  await step('the Labs view lists the workshop labs; Start Lab opens the first step beside the editor', async (p) => {
    await collapsePane(p, 'Allocations');
    await expandPane(p, 'Labs');
    await treeRow(p, 'Labs', 'Connect and explore your cluster').locator('.label-description', { hasText: /^0\/3 · 15 min/ }).waitFor();
    await treeRow(p, 'Labs', 'Deploy Consul').or(treeRow(p, 'Labs', 'Consul')).first().waitFor();
    await runFromPalette(p, 'Open Kitchen: Start Lab');
    await p.locator(workbench.quickInputRows, { hasText: 'Connect and explore your cluster' }).first().click();
    await p.locator('.tabs-container .tab', { hasText: 'Connect and explore your cluster · 1/3' }).waitFor();
    await treeRow(p, 'Labs', 'Connect and explore your cluster').click();
    await treeRow(p, 'Labs', '1. Look around and run a first job').locator('.label-description', { hasText: 'current step' }).waitFor();
  });

  await step('Check Step checks the cluster and explains what is still missing', async (p) => {
    await runFromPalette(p, 'Open Kitchen: Check Step');
    await toast(p, /^(✓|Not yet:)/).waitFor();
    const text = await toast(p, /^(✓|Not yet:)/).first().innerText();
    assert.match(text, /inventory/i, `the check names what it looked at: ${text}`);
  });

  await step('Show Hint gives the first hint; Show Solution asks first', async (p) => {
    await runFromPalette(p, 'Open Kitchen: Show Hint');
    await toast(p, /^Hint 1 of \d+:/).waitFor();
    await runFromPalette(p, 'Open Kitchen: Show Solution');
    const dialog = p.locator(workbench.dialog);
    await dialog.getByText('Show the solution?').waitFor();
    await shots.take(p, 'show solution asks first');
    await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^Show Solution$/ }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  await step('doing the step in the cluster checks it by itself: the next step becomes current', async (p) => {
    // The attendee runs the inventory job (here straight at the lab cluster, as `nomad job run` would).
    const hcl = fs.readFileSync(path.join(repoRoot, 'jobs', 'inventory.nomad.hcl'), 'utf8');
    const parsed = await fetch(`${nomad}/v1/jobs/parse`, { method: 'POST', body: JSON.stringify({ JobHCL: hcl, Canonicalize: true }) });
    const run = await fetch(`${nomad}/v1/jobs`, { method: 'POST', body: JSON.stringify({ Job: await parsed.json() }) });
    assert.equal(run.status, 200, await run.text());
    await treeRow(p, 'Labs', '2. Take a client out of scheduling').locator('.label-description', { hasText: 'current step' }).waitFor();
  });

  await step('Simulate Zone Outage (the zone-outage lab) takes a zone down, and the Cluster view shows it', async (p) => {
    await runFromPalette(p, 'Open Kitchen: Simulate Zone Outage');
    await p.locator(workbench.quickInputRows, { hasText: 'europe-west1-b' }).first().click();
    await toast(p, 'Zone europe-west1-b is down').waitFor();
    await collapsePane(p, 'Labs');
    await expandPane(p, 'Cluster');
    await treeRow(p, 'Cluster', 'europe-west1-b').filter({ has: p.locator('.label-description', { hasText: /^0 of 3 ready, 3 down/ }) }).waitFor();
  });
});

/** Opens a workspace file through Quick Open, as a person would. */
async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+P');
  await page.locator(workbench.quickInputBox).fill(name);
  await page.locator(workbench.quickInputRows, { hasText: name }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor();
}
