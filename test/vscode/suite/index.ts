/**
 * The in-host test runner: VS Code loads this file as `extensionTestsPath` inside the extension
 * host (code-server's remote host in test/e2e/inhost.test.ts, or a downloaded VS Code in
 * test/vscode/runTest.ts) and calls `run()`. It runs Mocha over the `*.test.js` files bundled next
 * to it, writes every test's result to $OPEN_KITCHEN_E2E_RESULT_FILE (JSON, read by the node:test
 * driver so each in-host test counts in the summary), and rejects when a test failed, which makes
 * the workbench report a non-zero exit code.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import { installMessageSpy, installTreeSpy } from './treeSpy';

interface Result {
  title: string;
  fullTitle: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs?: number;
  error?: string;
}

export function run(): Promise<void> {
  // Before any test activates the extension, so its tree providers are seen (see treeSpy.ts).
  installTreeSpy();
  installMessageSpy();
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 90_000, reporter: 'spec' });
  for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(path.join(__dirname, file));
  }
  const results: Result[] = [];
  const resultFile = process.env.OPEN_KITCHEN_E2E_RESULT_FILE;
  const write = (extra: Record<string, unknown> = {}) => {
    if (resultFile) fs.writeFileSync(resultFile, JSON.stringify({ tests: results, ...extra }, null, 2));
  };
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        write({ failures });
        if (failures > 0) reject(new Error(`${failures} in-host test(s) failed`));
        else resolve();
      });
      runner.on('pass', (t) => results.push({ title: t.title, fullTitle: t.fullTitle(), state: 'passed', durationMs: t.duration }));
      runner.on('pending', (t) => results.push({ title: t.title, fullTitle: t.fullTitle(), state: 'pending' }));
      runner.on('fail', (t, err: Error) =>
        results.push({ title: t.title, fullTitle: t.fullTitle(), state: 'failed', durationMs: t.duration, error: err.stack ?? err.message }),
      );
    } catch (err) {
      write({ error: (err as Error).stack });
      reject(err);
    }
  });
}
