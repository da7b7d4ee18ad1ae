/**
 * The packaged extension, installed the way a user installs it: `vsce package` (as
 * `npm run package` does) → `code-server --install-extension` → the workbench shows Open Kitchen
 * and its sign-in welcome without any development path. Catches a .vsix that leaves out the bundle,
 * the icons or the manifest's contributions.
 *
 * Run alone: node --import tsx --test --test-reporter=spec test/e2e/vsix.test.ts
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  activityBarEntry,
  buildExtension,
  launchBrowser,
  newPage,
  openWorkbench,
  packageVsix,
  Screenshots,
  startVSCode,
  Teardown,
  workbench,
} from './harness';

test('the packaged .vsix installs into VS Code and shows Open Kitchen', { timeout: 180_000 }, async (t) => {
  const teardown = new Teardown(t);
  const shots = new Screenshots('vsix');
  await buildExtension();
  const vsix = packageVsix(teardown);
  const server = await startVSCode(teardown, { vsix });
  const installed = fs.readdirSync(path.join(server.userDataDir, '..', 'extensions')).filter((d) => d.startsWith('openkitchen.open-kitchen-'));
  assert.equal(installed.length, 1, `installed extensions: ${installed.join(', ')}`);

  const browser = await launchBrowser(teardown);
  const { page } = await newPage(browser, teardown);
  try {
    await openWorkbench(page, server.workbenchUrl());
    await activityBarEntry(page, 'Open Kitchen').click();
    await page.locator(workbench.sidebarTitle, { hasText: /open kitchen/i }).waitFor();
    await page.locator('.part.sidebar .welcome-view-content .monaco-button', { hasText: /^Sign In$/ }).waitFor();
    // The activity-bar icon is the extension's own SVG (a missing file renders an empty square).
    const icon = activityBarEntry(page, 'Open Kitchen');
    const mask = await icon.evaluate((el) => getComputedStyle(el).maskImage || getComputedStyle(el).webkitMaskImage);
    assert.match(mask, /open-kitchen\.svg/);
    assert.doesNotMatch(await page.title(), /Extension Development Host/);
    await shots.take(page, 'installed from the vsix, signed out');
  } catch (err) {
    await shots.take(page, 'FAILED').catch(() => undefined);
    throw err;
  }
});
