/**
 * The in-host suite (test/vscode/suite) in code-server's real extension host, against the demo
 * backend. Each in-host Mocha test becomes a node:test subtest here, so it counts in the summary.
 *
 * Run alone: node --import tsx --test --test-reporter=spec test/e2e/inhost.test.ts
 */
import * as path from 'node:path';
import { test } from 'node:test';
import {
  buildExtension,
  bundleInHostSuite,
  launchBrowser,
  runInHostSuite,
  repoRoot,
  Screenshots,
  startBackend,
  startVSCode,
  Teardown,
  tempDir,
} from './harness';
import { DEMO_TITLE } from '../../src/cli/demoBackend';

test('in-host suite in code-server', { timeout: 300_000 }, async (t) => {
  const teardown = new Teardown(t);
  const shots = new Screenshots('inhost');
  const [demo, testsPath] = await Promise.all([startBackend(teardown, { attendees: 2 }), bundleInHostSuite(teardown), buildExtension()]);
  const resultFile = path.join(tempDir(teardown, 'open-kitchen-e2e-results-'), 'results.json');
  const server = await startVSCode(teardown, {
    demo,
    // The suite is bundled inside this folder (see bundleInHostSuite), so it must be the extension.
    extensionPath: repoRoot,
    env: {
      OPEN_KITCHEN_E2E_RESULT_FILE: resultFile,
      OPEN_KITCHEN_E2E_INVITES: JSON.stringify(demo.invites.map(({ email, name, link }) => ({ email, name, link }))),
      OPEN_KITCHEN_E2E_WORKSHOP_TITLE: DEMO_TITLE,
    },
  });
  const browser = await launchBrowser(teardown);
  const run = await runInHostSuite(browser, teardown, server, { testsPath, resultFile, shots, timeoutMs: 260_000 });

  // OPEN_KITCHEN_E2E_VERBOSE=1 prints what the host logged (Mocha's spec output included).
  if (process.env.OPEN_KITCHEN_E2E_VERBOSE) for (const line of run.log) t.diagnostic(line);
  if (run.problem) throw new Error(`${run.problem}\n--- host log ---\n${run.log.join('\n')}`);
  for (const r of run.results) {
    await t.test(r.title, { skip: r.state === 'pending' ? 'skipped in the host' : undefined }, () => {
      if (r.state === 'failed') throw new Error(`${r.fullTitle}\n${r.error ?? ''}`);
    });
  }
  if (run.exitCode !== 0 && !run.results.some((r) => r.state === 'failed')) {
    throw new Error(`the in-host suite exited with ${run.exitCode}\n${run.log.join('\n')}`);
  }
  if (run.results.length === 0) throw new Error(`the in-host suite ran no tests\n${run.log.join('\n')}`);
});
