/**
 * The end-to-end harness: the demo backend (organizer + local stacks) on free ports, the extension
 * in a real VS Code (code-server from test/e2e/setup.sh), and Debian's Chromium driven by
 * playwright-core. Everything a test starts is stopped by the test's `t.after`, in reverse order,
 * also when the test fails.
 *
 * Screenshots go to test/e2e/artifacts/<test>/<NN>-<step>.png (ignored by git).
 */
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { format, promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { startCodeServer, findRepoRoot, type CodeServer } from '../../src/cli/codeServer';
import { startDemo, type Demo } from '../../src/cli/demoBackend';

export const repoRoot = findRepoRoot(__dirname);
export const artifactsRoot = path.join(repoRoot, 'test', 'e2e', 'artifacts');
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Runs cleanups in reverse order of registration from one `t.after`, so the browser goes before the server. */
export class Teardown {
  private readonly steps: { what: string; run: () => Promise<unknown> | unknown }[] = [];

  constructor(t: TestContext) {
    t.after(() => this.runAll());
  }

  add(what: string, run: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, run });
  }

  async runAll(): Promise<void> {
    const errors: string[] = [];
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        errors.push(`${step.what}: ${(err as Error).message}`);
      }
    }
    if (errors.length) throw new Error(`teardown failed: ${errors.join('; ')}`);
  }
}

/** A temporary folder, removed at teardown. */
export function tempDir(teardown: Teardown, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  teardown.add(`remove ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const execFileAsync = promisify(execFile);

/**
 * Builds dist/ from the current sources with scripts/build.mjs itself, so suites run what ships:
 * the minified extension with its lazily loaded packages (dist/vendor/), and the process bundles.
 * The script writes each file atomically and only when it changed, so suites building in parallel
 * and a running extension host reading the files are safe.
 */
export async function buildExtension(): Promise<void> {
  await execFileAsync(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot });
}

/**
 * Packages the extension as `npm run package` does (same vsce flags), into a temporary file.
 * Call buildExtension() first.
 */
export function packageVsix(teardown: Teardown): string {
  const out = path.join(tempDir(teardown, 'open-kitchen-e2e-vsix-'), 'open-kitchen.vsix');
  const vsce = path.join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
  const res = spawnSync(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--skip-license', '-o', out], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (res.status !== 0) throw new Error(`vsce package failed (as \`npm run package\` would):\n${res.stdout}${res.stderr}`);
  return out;
}

/**
 * The demo backend on a free port with a temporary data folder. It does not wait for the stacks:
 * a stack still provisioning is a state the Environment view must show too.
 */
export async function startBackend(teardown: Teardown, opts: { attendees?: number } = {}): Promise<Demo> {
  const dataDir = tempDir(teardown, 'open-kitchen-e2e-demo-');
  const lines: string[] = [];
  const demo = await startDemo({ dataDir, port: 0, attendees: opts.attendees ?? 3, wait: false, log: (l) => lines.push(l) });
  teardown.add('stop the demo backend', () => demo.stop());
  return demo;
}

/**
 * code-server with the extension under development, settings pointing at the demo's organizer.
 * OPEN_KITCHEN_E2E_EXTENSION_DIR runs another build of the extension (e.g. an unpacked .vsix)
 * instead of this repository's.
 */
export async function startVSCode(
  teardown: Teardown,
  opts: { demo?: Demo; env?: Record<string, string>; settings?: Record<string, unknown>; vsix?: string; extensionPath?: string } = {},
): Promise<CodeServer & { home: string }> {
  const dir = tempDir(teardown, 'open-kitchen-e2e-vscode-');
  // A home of its own: the extension writes SSH key files under ~/.ssh/open-kitchen.
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  const server = await startCodeServer({
    extensionPath: opts.vsix
      ? undefined
      : (opts.extensionPath ?? (process.env.OPEN_KITCHEN_E2E_EXTENSION_DIR ? path.resolve(process.env.OPEN_KITCHEN_E2E_EXTENSION_DIR) : repoRoot)),
    vsix: opts.vsix,
    dir,
    repoRoot,
    env: { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share'), ...opts.env },
    settings: { ...(opts.demo ? { 'openKitchen.apiUrl': opts.demo.apiUrl } : {}), ...opts.settings },
  });
  teardown.add('stop code-server', () => server.stop());
  return { ...server, home };
}

export async function launchBrowser(teardown: Teardown): Promise<Browser> {
  if (!fs.existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}; run: bash test/e2e/setup.sh (or set CHROMIUM)`);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  teardown.add('close Chromium', () => browser.close());
  return browser;
}

/** A page whose console errors and host logs are kept, to print when a step fails. */
export async function newPage(browser: Browser, teardown: Teardown): Promise<{ page: Page; consoleLines: string[] }> {
  // Clipboard access lets a test read what "Copy …" commands copied.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['clipboard-read', 'clipboard-write'] });
  teardown.add('close the browser context', () => context.close());
  // Two cores shared with other suites: give the workbench time, but fail rather than hang.
  context.setDefaultTimeout(45_000);
  const page = await context.newPage();
  const consoleLines: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`[${m.type()}] ${m.text()}`);
  });
  return { page, consoleLines };
}

/** Screenshots of one test's steps: test/e2e/artifacts/<test>/<NN>-<step>.png. */
export class Screenshots {
  readonly dir: string;
  private n = 0;

  constructor(testName: string) {
    this.dir = path.join(artifactsRoot, slug(testName));
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
  }

  async take(page: Page, step: string): Promise<string> {
    const file = path.join(this.dir, `${String(++this.n).padStart(2, '0')}-${slug(step)}.png`);
    // Off the sidebar, so no hover tooltip covers what the step is about.
    await page.mouse.move(900, 600);
    await page.screenshot({ path: file });
    return file;
  }
}

/**
 * Steps of one walk-through that build on each other: each is a subtest with a screenshot;
 * after a failure the rest are skipped (not piled up as noise), and the failure leaves a
 * screenshot, code-server's logs and the page console.
 */
export class Walkthrough {
  /** The step that failed, if any. */
  broken: string | undefined;

  constructor(
    private readonly t: TestContext,
    private readonly page: Page,
    private readonly server: CodeServer,
    private readonly shots: Screenshots,
    private readonly consoleLines: string[],
  ) {}

  step(name: string, fn: (page: Page) => Promise<void>): Promise<void> {
    return this.t.test(name, { skip: this.broken ? `an earlier step failed (${this.broken})` : undefined }, async (st: TestContext) => {
      try {
        await fn(this.page);
        await this.shots.take(this.page, name);
      } catch (err) {
        this.broken = name;
        await this.shots.take(this.page, `FAILED ${name}`).catch(() => undefined);
        saveLogs(this.server, this.shots);
        if (this.consoleLines.length) st.diagnostic(`page console (errors and warnings, last 30):\n${this.consoleLines.slice(-30).join('\n')}`);
        throw err;
      }
    });
  }
}

/**
 * The common start of a step-by-step scenario: the demo backend with `attendees` and its stacks,
 * a fresh build of the extension, code-server pointing at the demo, Chromium with one page, and
 * the Walkthrough that takes a screenshot per step. Everything stops when the test ends.
 * The page is blank: the first step opens the workbench (after the test prepared the workspace).
 */
export async function startWalkthrough(t: TestContext, name: string, opts: { attendees: number; settings?: Record<string, unknown> }) {
  const teardown = new Teardown(t);
  const shots = new Screenshots(name);
  const [demo] = await Promise.all([startBackend(teardown, { attendees: opts.attendees }), buildExtension()]);
  const server = await startVSCode(teardown, { demo, settings: opts.settings });
  const browser = await launchBrowser(teardown);
  const { page, consoleLines } = await newPage(browser, teardown);
  // The steps build on each other; after a failure the rest are skipped.
  const walk = new Walkthrough(t, page, server, shots, consoleLines);
  const step = (stepName: string, fn: (page: Page) => Promise<void>) => walk.step(stepName, fn);
  return { teardown, shots, demo, server, page, walk, step };
}

/**
 * Copies code-server's logs (server, extension host, the extension's output channel) next to the
 * screenshots, for a failed run: the temporary folders are gone after teardown.
 */
export function saveLogs(server: CodeServer, shots: Screenshots): void {
  const to = path.join(shots.dir, 'logs');
  try {
    fs.cpSync(path.join(server.userDataDir, 'logs'), to, { recursive: true });
    fs.copyFileSync(server.logFile, path.join(to, 'code-server.log'));
  } catch {
    // best effort: a failure report must not fail on its attachments
  }
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

// ---------------------------------------------------------------------------------------------
// The workbench, as a person sees it. Selectors verified on VS Code 1.100.3 (code-server 4.100.3).

export const workbench = {
  activityBar: '.monaco-workbench .part.activitybar',
  statusBar: '.monaco-workbench .part.statusbar',
  sidebarTitle: '.part.sidebar .composite.title .title-label h2',
  quickInput: '.quick-input-widget',
  quickInputBox: '.quick-input-widget .quick-input-box input',
  quickInputRows: '.quick-input-widget .quick-input-list .monaco-list-row',
  toastMessage: '.notifications-toasts .notification-toast.notification-fade-in-done .notification-list-item-message',
  dialog: '.monaco-dialog-box',
};

/** Opens the workbench URL and waits until the activity bar and status bar are there. */
export async function openWorkbench(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator(workbench.activityBar).waitFor({ timeout: 60_000 });
  await page.locator(workbench.statusBar).waitFor();
}

/**
 * Signs in as an attendee the way they would: the Open Kitchen activity-bar entry, the Sign In
 * button of its welcome view, the invite link pasted into the input box; waits for the toast.
 */
export async function signInWithInvite(page: Page, invite: { link: string; name: string }): Promise<void> {
  await activityBarEntry(page, 'Open Kitchen').click();
  await page.locator('.part.sidebar .welcome-view-content .monaco-button', { hasText: /^Sign In$/ }).click();
  await page.locator(workbench.quickInputBox).fill(invite.link);
  await page.keyboard.press('Enter');
  await toast(page, new RegExp(`Signed in as ${invite.name}`)).waitFor();
}

/** The activity-bar entry of a view container (aria-label is the container's title, maybe plus a keybinding). */
export function activityBarEntry(page: Page, title: string): Locator {
  return page.locator(`.part.activitybar .action-item a.action-label[aria-label^="${title}"]`);
}

/** A view's pane in the sidebar (by view name). */
export function viewPane(page: Page, viewName: string): Locator {
  return page.locator('.part.sidebar .pane').filter({ has: page.locator(`.pane-header[aria-label^="${viewName} Section"]`) });
}

/** Collapses a view's pane in the sidebar (clicking its header, as a person would). */
export async function collapsePane(page: Page, viewName: string): Promise<void> {
  const header = page.locator(`.part.sidebar .pane-header[aria-label^="${viewName} Section"]`);
  if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
  await page.locator(`.part.sidebar .pane-header[aria-label^="${viewName} Section"][aria-expanded="false"]`).waitFor();
}

/** Expands a view's pane in the sidebar (clicking its header). */
export async function expandPane(page: Page, viewName: string): Promise<void> {
  const header = page.locator(`.part.sidebar .pane-header[aria-label^="${viewName} Section"]`);
  if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  await page.locator(`.part.sidebar .pane-header[aria-label^="${viewName} Section"][aria-expanded="true"]`).waitFor();
}

/** A tree view's rows (by view name, which is the tree's aria-label). */
export function treeRows(page: Page, viewName: string): Locator {
  return page.locator(`.part.sidebar .monaco-list[role="tree"][aria-label="${viewName}"] .monaco-list-row[role="treeitem"]`);
}

/** The labels of a tree's rows, top to bottom. Row aria-labels are tooltips, so read `.label-name`. */
export async function treeLabels(page: Page, viewName: string): Promise<string[]> {
  return treeRows(page, viewName).locator('.label-name').allInnerTexts();
}

/** One tree row by its label. */
export function treeRow(page: Page, viewName: string, label: string): Locator {
  return treeRows(page, viewName).filter({ has: page.locator('.label-name', { hasText: label }) });
}

/** Runs a command from the palette (F1) by its full title, e.g. "Open Kitchen: Refresh Environment". */
export async function runFromPalette(page: Page, title: string): Promise<void> {
  const row = page.locator(workbench.quickInputRows, { hasText: title }).first();
  const open = async () => {
    await page.keyboard.press('F1');
    const box = page.locator(workbench.quickInputBox);
    await box.waitFor();
    await box.fill('>' + title);
  };
  await open();
  try {
    await row.waitFor({ timeout: 15_000 });
  } catch {
    // The palette lists the commands known when it opened; right after a (re)load an
    // extension's contributions may come in later. Open it once more.
    await page.keyboard.press('Escape');
    await page.locator(workbench.quickInput).waitFor({ state: 'hidden' });
    await open();
    await row.waitFor();
  }
  await page.keyboard.press('Enter');
}

/** A notification toast with this text, once fully faded in (screenshots miss it before). */
export function toast(page: Page, text: string | RegExp): Locator {
  return page.locator(workbench.toastMessage, { hasText: text });
}

/**
 * Records the text of every notification toast from now on, also ones that come and go between
 * two looks (a progress notification of quick work); read them with the returned function.
 */
export async function recordToasts(page: Page): Promise<() => Promise<string[]>> {
  // A string, not a function: tsx would wrap named functions in a helper the page does not have.
  await page.evaluate(`(() => {
    const seen = [];
    window.__okToasts = seen;
    function look() {
      for (const el of document.querySelectorAll('.notifications-toasts .notification-list-item-message')) {
        const text = el.textContent || '';
        if (text && !seen.includes(text)) seen.push(text);
      }
    }
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
    look();
  })()`);
  return () => page.evaluate('[...window.__okToasts]') as Promise<string[]>;
}

/** Closes every visible toast so later screenshots and waits see only new ones. */
export async function clearToasts(page: Page): Promise<void> {
  await runFromPalette(page, 'Notifications: Clear All Notifications');
  await page.locator('.notifications-toasts .notification-toast').first().waitFor({ state: 'detached' }).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// The in-host suite (test/vscode/suite): runs inside the remote extension host through the
// `extensionTestsPath` payload; the result comes back through window.codeAutomationExit.

export interface InHostTestResult {
  title: string;
  fullTitle: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs?: number;
  error?: string;
}

export interface InHostRun {
  exitCode: number;
  results: InHostTestResult[];
  log: string[];
  /** Set when the runner could not even start (no results file). */
  problem?: string;
}

/**
 * Bundles the in-host suite into a folder inside the repository (test/e2e/.cache is ignored):
 * inside the extension's folder, so the suite's `require('vscode')` is the extension's own API
 * object and `require('mocha')` resolves to the repository's node_modules.
 */
export async function bundleInHostSuite(teardown?: Teardown): Promise<string> {
  const suiteDir = path.join(repoRoot, 'test', 'vscode', 'suite');
  const outDir = fs.mkdtempSync(path.join(repoRoot, 'test', 'e2e', '.cache', 'inhost-'));
  teardown?.add('remove the bundled in-host suite', () => fs.rmSync(outDir, { recursive: true, force: true }));
  const entries = fs.readdirSync(suiteDir).filter((f) => f.endsWith('.ts'));
  await esbuild.build({
    entryPoints: entries.map((f) => path.join(suiteDir, f)),
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    logLevel: 'warning',
    external: ['vscode', 'mocha'],
  });
  return path.join(outDir, 'index.js');
}

/** Loads the workbench with the in-host suite and waits for codeAutomationExit. */
export async function runInHostSuite(
  browser: Browser,
  teardown: Teardown,
  server: CodeServer,
  opts: { testsPath: string; resultFile: string; timeoutMs?: number; shots?: Screenshots },
): Promise<InHostRun> {
  const { page, consoleLines } = await newPage(browser, teardown);
  const log: string[] = [];
  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (exit = resolve));
  // Both hooks must exist before the workbench loads; they are VS Code's test-automation contract.
  await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
    log.push(`${type}: ${format(...(Array.isArray(args) ? args : [args]))}`);
  });
  await page.exposeFunction('codeAutomationExit', (code: number) => exit(code));
  await page.goto(server.workbenchUrl({ extensionTestsPath: opts.testsPath }));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<number>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the in-host suite did not finish in ${(opts.timeoutMs ?? 180_000) / 1000} s`)), opts.timeoutMs ?? 180_000);
  });
  let exitCode: number;
  try {
    exitCode = await Promise.race([exited, timeout]);
  } catch (err) {
    await opts.shots?.take(page, 'in-host suite timed out').catch(() => undefined);
    throw new Error(`${(err as Error).message}\n--- host log ---\n${log.join('\n')}\n--- console ---\n${consoleLines.join('\n')}`);
  } finally {
    clearTimeout(timer);
  }
  await opts.shots?.take(page, 'after the in-host suite').catch(() => undefined);
  let results: InHostTestResult[] = [];
  let problem: string | undefined;
  try {
    results = (JSON.parse(fs.readFileSync(opts.resultFile, 'utf8')) as { tests: InHostTestResult[] }).tests;
  } catch (err) {
    problem = `no results from the in-host suite (${(err as Error).message}); exit code ${exitCode}`;
  }
  if (problem || exitCode !== 0) log.push(...consoleLines.map((l) => `console ${l}`));
  return { exitCode, results, log, problem };
}

/**
 * A row's inline action button (the icons shown on hover), by the command's title. Hovering the
 * row first shows them, as for a person.
 */
export async function inlineAction(page: Page, viewName: string, rowLabel: string, actionTitle: string): Promise<Locator> {
  const row = treeRow(page, viewName, rowLabel).first();
  await row.hover();
  return row.locator(`.actions .action-label[aria-label^="${actionTitle}"]`);
}

/** Runs a row's context-menu entry (right click, then the entry by its title). */
export async function contextMenuAction(page: Page, viewName: string, rowLabel: string, actionTitle: string): Promise<void> {
  await treeRow(page, viewName, rowLabel).first().click({ button: 'right' });
  const entry = page.locator('.context-view .monaco-menu .action-item', { has: page.locator('.action-label', { hasText: actionTitle }) });
  await entry.waitFor();
  // VS Code's context menu acts on mouse-up over a hovered item: hover, then press Enter on it.
  await entry.hover();
  await page.keyboard.press('Enter');
}
