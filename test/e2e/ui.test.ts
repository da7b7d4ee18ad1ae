/**
 * Open Kitchen as an attendee meets it: VS Code (code-server) in Chromium, driven by Playwright,
 * against the demo backend. One code-server and one page for the whole walk-through (a page load
 * costs seconds; steps inside it are quick); each step is a subtest with a screenshot in
 * test/e2e/artifacts/ui/.
 *
 * Run alone: node --import tsx --test --test-reporter=spec test/e2e/ui.test.ts
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEMO_TITLE } from '../../src/cli/demoBackend';
import {
  activityBarEntry,
  collapsePane,
  openWorkbench,
  runFromPalette,
  startWalkthrough,
  toast,
  treeLabels,
  treeRow,
  treeRows,
  workbench,
} from './harness';

const STATUS_LABELS = /^(Pending|Provisioning|Ready|Failed)$/;

test('Open Kitchen in VS Code: sign in, see the environment, run commands, sign out', { timeout: 300_000 }, async (t) => {
  const { shots, demo, server, page, walk, step } = await startWalkthrough(t, 'ui', { attendees: 2 });
  const ada = demo.invites[0];


  await step('workbench loads with the Open Kitchen activity-bar entry', async (p) => {
    await openWorkbench(p, server.workbenchUrl());
    await activityBarEntry(p, 'Open Kitchen').waitFor();
  });

  await step('signed out: the Environment view offers Sign In', async (p) => {
    await activityBarEntry(p, 'Open Kitchen').click();
    await p.locator(workbench.sidebarTitle, { hasText: /open kitchen/i }).waitFor();
    const welcome = p.locator('.part.sidebar .welcome-view-content').first();
    await welcome.getByText('Sign in with the invite link your organizer mailed you').waitFor();
    await welcome.locator('.monaco-button', { hasText: /^Sign In$/ }).waitFor();
    // The other views explain what they will hold.
    await p.locator('.part.sidebar').getByText('this view shows your cluster').waitFor();
  });

  await step('Sign In asks for the invite link and checks it as it is typed', async (p) => {
    await p.locator('.part.sidebar .welcome-view-content .monaco-button', { hasText: /^Sign In$/ }).click();
    await p.locator('.quick-input-widget .quick-input-title', { hasText: 'Sign In to Open Kitchen' }).waitFor();
    const box = p.locator(workbench.quickInputBox);
    await box.fill('https://example.com/not-an-invite');
    // The box's prompt is replaced by the validation message, in the error style.
    await p.locator('.quick-input-widget .quick-input-message', { hasText: 'carries no Open Kitchen invite' }).waitFor();
    await p.locator('.quick-input-widget .quick-input-box .monaco-inputbox.error').waitFor();
  });

  await step('pasting the invite link signs in and says who is signed in', async (p) => {
    await p.locator(workbench.quickInputBox).fill(ada.link);
    await p.keyboard.press('Enter');
    await p.locator(workbench.quickInput).waitFor({ state: 'hidden' });
    await toast(p, `Signed in as ${ada.name} (${ada.email}) to ${DEMO_TITLE}.`).waitFor();
  });

  await step('the Environment view shows the workshop, the attendee and the stack status', async (p) => {
    await treeRow(p, 'Environment', DEMO_TITLE).waitFor();
    const row = treeRow(p, 'Environment', DEMO_TITLE);
    assert.equal((await row.locator('.label-description').innerText()).trim(), ada.email);
    const labels = await treeLabels(p, 'Environment');
    assert.equal(labels[0], DEMO_TITLE);
    assert.match(labels[1] ?? '', STATUS_LABELS, `Environment rows: ${labels.join(' | ')}`);
    // The welcome content is gone from the other views too: each shows its state or content.
    for (const view of ['Cluster', 'Allocations', 'Labs']) await treeRows(p, view).first().waitFor();
    await shots.take(p, 'signed in, all views');
    // Trees render only the rows in sight: give Environment the sidebar, as an attendee would.
    for (const view of ['Cluster', 'Allocations', 'Labs']) await collapsePane(p, view);
  });

  await step('F1 → Open Kitchen: Refresh Environment keeps it on show', async (p) => {
    await runFromPalette(p, 'Open Kitchen: Refresh Environment');
    await p.locator(workbench.quickInput).waitFor({ state: 'hidden' });
    await treeRow(p, 'Environment', DEMO_TITLE).waitFor();
    assert.match((await treeLabels(p, 'Environment'))[1] ?? '', STATUS_LABELS);
  });

  await step('F1 → Open Kitchen: Show Log shows the API calls', async (p) => {
    await runFromPalette(p, 'Open Kitchen: Show Log');
    const output = p.locator('.part.panel .monaco-editor .view-lines');
    // The log follows its end, so any API line in sight will do. (Monaco renders spaces as
    // no-break spaces, so match a path, not "GET /…".)
    await output.locator('.view-line', { hasText: /\/v1\/(me|auth)\b/ }).first().waitFor();
    await shots.take(p, 'the Open Kitchen log');
    await runFromPalette(p, 'View: Hide Panel');
    await p.locator('.part.panel').waitFor({ state: 'hidden' });
  });

  // The demo's stacks take a while; the view refreshes by itself until the stack settles.
  let settled: { status: string; statusMessage: string | null } | undefined;
  await step('the Environment view follows the stack until it is ready (or says why it failed)', async (p) => {
    const stacks = await demo.settled();
    settled = stacks.find((s) => s.email === ada.email)!;
    const statusLabel = settled.status === 'ready' ? 'Ready' : settled.status === 'failed' ? 'Failed' : settled.status;
    await treeRow(p, 'Environment', statusLabel).waitFor({ timeout: 60_000 });
    if (settled.status === 'ready') {
      for (const label of ['Bastion', 'Address', 'User', 'Host key', 'Cluster', 'Nomad', 'Consul', 'DNS']) {
        await treeRow(p, 'Environment', label).first().waitFor();
      }
      const hostKey = await treeRow(p, 'Environment', 'Host key').locator('.label-description').innerText();
      assert.match(hostKey, /^SHA256:/);
    } else {
      const row = treeRow(p, 'Environment', statusLabel);
      assert.ok((await row.locator('.label-description').innerText()).trim().length > 0, 'a failed stack must say why');
    }
  });

  await t.test(
    'F1 → Open Kitchen: Copy SSH Command saves the key (after asking) and copies a pinned ssh command',
    { skip: walk.broken ? `an earlier step failed (${walk.broken})` : undefined },
    async (st) => {
      if (settled?.status !== 'ready') {
        st.skip(`the demo stack is ${settled?.status ?? 'unknown'}: ${settled?.statusMessage ?? ''}`.replace(/\s+/g, ' ').slice(0, 160));
        return;
      }
      try {
        await runFromPalette(page, 'Open Kitchen: Copy SSH Command');
        const dialog = page.locator(workbench.dialog);
        await dialog.getByText('The SSH command needs your private key in a file.').waitFor();
        await shots.take(page, 'copy ssh command asks before saving the key');
        await dialog.locator('.dialog-buttons .monaco-button', { hasText: 'Save Key and Copy Command' }).click();
        await toast(page, /^SSH command copied/).waitFor();
        await shots.take(page, 'ssh command copied');
        const copied = await page.evaluate(() => navigator.clipboard.readText());
        assert.match(copied, /^ssh /);
        assert.match(copied, /StrictHostKeyChecking=yes/);
        assert.ok(fs.existsSync(path.join(server.home, '.ssh', 'open-kitchen')), 'no key folder under ~/.ssh/open-kitchen');
      } catch (err) {
        walk.broken = 'Copy SSH Command';
        await shots.take(page, 'FAILED copy ssh command').catch(() => undefined);
        throw err;
      }
    },
  );

  await step('after a reload the session is still there (secret storage)', async (p) => {
    await p.reload();
    await p.locator(workbench.activityBar).waitFor({ timeout: 60_000 });
    await activityBarEntry(p, 'Open Kitchen').waitFor();
    // Whether the sidebar comes back open depends on when the workbench saved its layout; a
    // click on the activity bar would toggle it, so focus the view by its command instead.
    await runFromPalette(p, 'Open Kitchen: Focus on Environment View');
    await treeRow(p, 'Environment', DEMO_TITLE).waitFor();
    await treeRow(p, 'Environment', 'Ready').or(treeRow(p, 'Environment', 'Failed')).first().waitFor();
  });

  await step('F1 → Open Kitchen: Sign Out asks, then signs out', async (p) => {
    await runFromPalette(p, 'Open Kitchen: Sign Out');
    const dialog = p.locator(workbench.dialog);
    await dialog.getByText(`Sign out of ${DEMO_TITLE}?`).waitFor();
    await shots.take(p, 'sign-out confirmation');
    await dialog.locator('.dialog-buttons .monaco-button', { hasText: /^Sign Out$/ }).click();
    await toast(p, /^Signed out of Open Kitchen/).waitFor();
    await p.locator('.part.sidebar .welcome-view-content .monaco-button', { hasText: /^Sign In$/ }).waitFor();
    assert.deepEqual(await treeLabels(p, 'Environment'), []);
    // Signing out also deletes the key files Copy SSH Command saved.
    const keyDir = path.join(server.home, '.ssh', 'open-kitchen');
    const left = fs.existsSync(keyDir) ? fs.readdirSync(keyDir, { recursive: true }).filter((f) => !fs.statSync(path.join(keyDir, String(f))).isDirectory()) : [];
    assert.deepEqual(left, [], 'key files left after signing out');
  });
});
