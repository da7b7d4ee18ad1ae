/**
 * `npm run demo` as an organizer rehearsing a workshop runs it: the real entry point (the CLI, not
 * its backend module) starts the organizer, a local stack and VS Code in the browser, and prints
 * one URL. Opening that URL shows the workshop's files and the Open Kitchen sidebar; the printed
 * invite link signs in and the stack is ready. Ctrl+C (SIGINT) stops everything it started.
 *
 * Run alone: node --import tsx --test --test-reporter=spec test/e2e/demo-editor.test.ts
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { test } from 'node:test';
import { isAlive } from '../../src/organizer/providers/bastion';
import { readStackState } from '../../src/organizer/providers/stackFiles';
import {
  buildExtension,
  launchBrowser,
  newPage,
  openWorkbench,
  repoRoot,
  Screenshots,
  signInWithInvite,
  Teardown,
  tempDir,
  treeRow,
} from './harness';

interface DemoJson {
  apiUrl: string;
  editorUrl: string | null;
  invites: { name: string; email: string; link: string }[];
  stacks: { email: string; status: string }[];
}

test('npm run demo prints one browser URL that opens VS Code ready to sign in, and Ctrl+C stops it all', { timeout: 300_000 }, async (t) => {
  const teardown = new Teardown(t);
  const shots = new Screenshots('demo-editor');
  const dataDir = tempDir(teardown, 'open-kitchen-demo-e2e-');
  await buildExtension();

  const demo = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'demo.ts'), '--port', '0', '--attendees', '1', '--data-dir', dataDir, '--editor', 'on', '--json'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => demo.on('exit', (code) => resolve(code)));
  teardown.add('stop the demo', async () => {
    if (demo.exitCode === null && demo.signalCode === null) {
      demo.kill('SIGINT');
      await exited;
    }
  });
  const progress: string[] = [];
  demo.stderr.setEncoding('utf8').on('data', (chunk: string) => progress.push(chunk));

  // With --json, stdout carries exactly one line once everything is up.
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = readline.createInterface({ input: demo.stdout });
    lines.once('line', resolve);
    void exited.then((code) => reject(new Error(`demo exited with ${code} before printing its summary:\n${progress.join('')}`)));
  });
  const summary = JSON.parse(firstLine) as DemoJson;
  assert.ok(summary.editorUrl, `the demo printed no editor URL:\n${progress.join('')}`);
  assert.equal(summary.invites.length, 1);
  assert.deepEqual(
    summary.stacks.map((s) => s.status),
    ['ready'],
  );
  const invite = summary.invites[0]!;

  const browser = await launchBrowser(teardown);
  const { page } = await newPage(browser, teardown);
  await openWorkbench(page, summary.editorUrl);
  // The workspace holds the workshop's job files and labs.
  const explorer = page.locator('.part.sidebar .explorer-folders-view');
  await explorer.getByText('jobs', { exact: true }).waitFor();
  await explorer.getByText('labs', { exact: true }).waitFor();
  await shots.take(page, 'the printed URL opens VS Code with the workshop files');

  await signInWithInvite(page, invite);
  await treeRow(page, 'Environment', 'Ready').waitFor({ timeout: 60_000 });
  await shots.take(page, 'signed in with the printed invite link, stack ready');

  // The stack processes the demo started, by pid, to check that Ctrl+C stops them.
  const stackPids = stackProcessIds(dataDir);
  assert.ok(stackPids.length > 0, 'found no stack process to watch');

  await browser.close();
  demo.kill('SIGINT');
  assert.equal(await exited, 0, `demo exit code; its output:\n${progress.join('')}`);
  assert.match(progress.join(''), /Demo stopped\./);
  for (const pid of stackPids) assert.equal(isAlive(pid), false, `stack process ${pid} still runs after Ctrl+C`);
});

/** The pids in the local stacks' state files (`<dataDir>/stacks/<stack>/state.json`). */
function stackProcessIds(dataDir: string): number[] {
  const stacksDir = path.join(dataDir, 'stacks');
  return fs
    .readdirSync(stacksDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => readStackState(path.join(stacksDir, entry.name))?.pid)
    .filter((pid): pid is number => pid !== undefined);
}
