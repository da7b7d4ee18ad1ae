/**
 * Job files and the Allocations view, as an attendee uses them: after sign-in the extension
 * connects by itself; web.nomad.hcl's Plan CodeLens opens a `nomad job plan`-style document,
 * Run places the job and its allocations appear in the Allocations view; the view filters by
 * job and clears the filter; Stop Job from a job's context menu asks first and stops it; a
 * broken copy of the job file shows its syntax error in the Problems panel on the right line,
 * and fixing and saving the file clears it.
 *
 * Run alone: node --import tsx --test --test-reporter=spec test/e2e/allocations.test.ts
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import {
  clearToasts,
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

test('job files run from their CodeLens; the Allocations view shows, filters and stops them', { timeout: 300_000 }, async (t) => {
  // VS Code in a browser saves a second after each edit by default (files.autoSave "afterDelay");
  // here the attendee saves with Ctrl+S, so "unsaved" and "saved" are states the test can wait for.
  const { shots, demo, server, step } = await startWalkthrough(t, 'allocations', { attendees: 1, settings: { 'files.autoSave': 'off' } });
  const invite = demo.invites[0]!;
  // The attendee's workspace: a copy of the workshop's jobs/ folder and a broken job file.
  const jobsDir = path.join(server.workspaceDir, 'jobs');
  fs.cpSync(path.join(repoRoot, 'jobs'), jobsDir, { recursive: true });
  const webJob = fs.readFileSync(path.join(jobsDir, 'web.nomad.hcl'), 'utf8');
  const brokenJob = webJob.replace(/count = 3/, 'count = ');
  const brokenLine = brokenJob.split('\n').findIndex((l) => /count = $/.test(l)) + 1;
  assert.ok(brokenLine > 0, 'web.nomad.hcl has a `count = 3` line to break');
  fs.writeFileSync(path.join(server.workspaceDir, 'broken.nomad.hcl'), brokenJob);


  const [stack] = await demo.settled();
  assert.equal(stack?.status, 'ready', `the demo stack is ${stack?.status}: ${stack?.statusMessage}`);

  await step('signing in connects to the cluster by itself', async (p) => {
    await openWorkbench(p, server.workbenchUrl());
    await signInWithInvite(p, invite);
    await p.locator(workbench.statusBar).getByText('Nomad: connected').waitFor({ timeout: 60_000 });
    await collapsePane(p, 'Environment');
    await collapsePane(p, 'Cluster');
    await collapsePane(p, 'Labs');
    await expandPane(p, 'Allocations');
    // The stack runs Consul as a system job from the start.
    await treeRow(p, 'Allocations', 'consul').locator('.label-description', { hasText: /^system · running/ }).waitFor();
    await clearToasts(p);
  });

  await step('the job file has Validate, Plan, Run and Stop lenses; Plan opens the plan like nomad job plan', async (p) => {
    await openFile(p, 'web.nomad.hcl');
    const lenses = p.locator('.contentWidgets .codelens-decoration a');
    await lenses.filter({ hasText: 'Run' }).waitFor();
    assert.deepEqual((await lenses.allInnerTexts()).map((s) => s.trim()), ['Validate', 'Plan', 'Run', 'Stop']);
    await lenses.filter({ hasText: 'Plan' }).click();
    await p.locator('.tabs-container .tab', { hasText: 'Plan web.txt' }).waitFor();
    const plan = p.locator('.editor-group-container .monaco-editor .view-lines').last();
    await plan.getByText('+ Job: "web"').waitFor();
    await plan.getByText('+ Task Group: "web" (3 create)').waitFor();
    await plan.getByText('- All tasks successfully allocated.').waitFor();
  });

  await step('Run places the job; its allocations appear in the Allocations view, running, with node and zone', async (p) => {
    await openFile(p, 'web.nomad.hcl');
    await p.locator('.contentWidgets .codelens-decoration a', { hasText: 'Run' }).click();
    await toast(p, /Job "web" submitted \(evaluation [0-9a-f]{8}\)/).waitFor();
    const job = treeRow(p, 'Allocations', 'web').filter({ has: p.locator('.label-description', { hasText: /^service · running · 3 running$/ }) });
    await job.waitFor();
    const allocs = treeRows(p, 'Allocations').filter({ has: p.locator('.label-name', { hasText: /^[0-9a-f]{8} \[[0-2]\]$/ }) });
    await allocs.nth(2).waitFor();
    const descriptions = await allocs.locator('.label-description').allInnerTexts();
    const web = descriptions.filter((d) => /^running · nomad-client-[a-z0-9-]+ · europe-west1-[bc] · \d+s$/.test(d));
    assert.ok(web.length >= 3, `three running web allocations with node and zone, saw: ${descriptions.join(' | ')}`);
    await clearToasts(p);
  });

  await step('filtering by job shows only that job and says so; Clear Filter brings everything back', async (p) => {
    await runFromPalette(p, 'Open Kitchen: Filter Allocations');
    await p.locator(workbench.quickInputRows, { hasText: 'By job' }).first().click();
    await p.locator(workbench.quickInputRows, { hasText: /^web/ }).first().click();
    // The header's aria-label takes the description in ("Allocations - filtered: job web Section").
    const header = p.locator('.part.sidebar .pane-header').filter({ has: p.locator('h3.title', { hasText: /^Allocations$/ }) });
    await header.locator('.description', { hasText: 'filtered: job web' }).waitFor();
    await treeRow(p, 'Allocations', 'consul').waitFor({ state: 'detached' });
    await treeRow(p, 'Allocations', 'web').first().waitFor();
    await shots.take(p, 'filtered by job web');
    // The view's title bar offers Clear Allocation Filter while a filter is set.
    await header.hover();
    await header.locator('.actions .action-label[aria-label="Clear Allocation Filter"]').click();
    await treeRow(p, 'Allocations', 'consul').first().waitFor();
    assert.doesNotMatch(await header.innerText(), /filtered/);
  });

  await step('Stop Job from the job row asks first, then the job shows as stopped', async (p) => {
    const webJob = treeRow(p, 'Allocations', 'web').filter({ has: p.locator('.label-description', { hasText: /^service · / }) });
    await contextMenu(p, webJob, 'Stop Job');
    const dialog = p.locator(workbench.dialog);
    await dialog.getByText('Stop job "web"?').waitFor();
    await shots.take(p, 'stop job asks first');
    await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^Stop Job$/ }).click();
    await treeRow(p, 'Allocations', 'web').locator('.label-description', { hasText: /^service · stopped/ }).first().waitFor();
    await clearToasts(p);
  });

  await step('a syntax error in a job file shows in the Problems panel on its line', async (p) => {
    await openFile(p, 'broken.nomad.hcl');
    await p.locator('.contentWidgets .codelens-decoration a', { hasText: 'Validate' }).click();
    await runFromPalette(p, 'View: Focus Problems');
    const problem = p.locator('.markers-panel .monaco-list-row', { hasText: 'Invalid expression' });
    await problem.waitFor();
    assert.match(await problem.innerText(), new RegExp(`\\[Ln ${brokenLine}, Col \\d+\\]`));
    // The squiggle is in the editor too, on that line.
    await p.locator('.monaco-editor .squiggly-error').first().waitFor();
  });

  await step('fixing the file and saving it clears the problem', async (p) => {
    await clearToasts(p);
    // Clicking the tab focuses its editor without moving the cursor or scrolling.
    const tab = p.locator('.tabs-container .tab', { hasText: 'broken.nomad.hcl' });
    await tab.click();
    await p.keyboard.press('Control+G');
    await p.locator(workbench.quickInputBox).fill(`:${brokenLine}`);
    await p.keyboard.press('Enter');
    await p.keyboard.press('End');
    await p.keyboard.type('3');
    // The problem goes as soon as the text changes; the file on disk changes only once the save is done,
    // which is when the tab stops showing unsaved changes.
    await tab.and(p.locator('.dirty')).waitFor();
    await p.keyboard.press('Control+S');
    await tab.and(p.locator('.dirty')).waitFor({ state: 'detached' });
    await p.locator('.markers-panel .monaco-list-row', { hasText: 'Invalid expression' }).waitFor({ state: 'detached' });
    await p.locator('.markers-panel', { hasText: 'No problems have been detected in the workspace.' }).waitFor();
    assert.match(fs.readFileSync(path.join(server.workspaceDir, 'broken.nomad.hcl'), 'utf8'), /count = 3\n/, 'the fix was saved');
  });
});

/**
 * Runs a context-menu entry of a row. VS Code's menu acts on mouse-up over a hovered item, which
 * a synthetic click does not always give; moving through the menu with the keyboard is steady.
 */
async function contextMenu(page: Page, row: Locator, entry: string): Promise<void> {
  await row.first().click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  await menu.locator('.action-label', { hasText: entry }).waitFor();
  const labels = (await menu.locator('.action-item:not(.disabled) .action-label').allInnerTexts()).map((l) => l.trim());
  const index = labels.findIndex((l) => l === entry);
  assert.ok(index >= 0, `"${entry}" is in the menu: ${labels.join(', ')}`);
  for (let i = 0; i <= index; i++) await page.keyboard.press('ArrowDown');
  await menu.locator('.action-item.focused .action-label', { hasText: entry }).waitFor();
  await page.keyboard.press('Enter');
}

/** Opens a workspace file through Quick Open, as a person would. */
async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Control+P');
  await page.locator(workbench.quickInputBox).fill(name);
  await page.locator(workbench.quickInputRows, { hasText: name }).first().waitFor();
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor();
}
