/**
 * `npm run test:vscode`: the in-host suite (test/vscode/suite) in a desktop VS Code downloaded by
 * @vscode/test-electron, against the demo backend, for machines that can download VS Code.
 *
 * Where VS Code cannot be downloaded (no internet, as on the project's build machine) it says so
 * and exits 0 without running anything: the same suite runs in code-server's real extension host
 * in test/e2e/inhost.test.ts, which `npm test` and `npm run test:e2e` include.
 *
 * Env: VSCODE_EXECUTABLE_PATH uses an installed VS Code instead of downloading one;
 *      VSCODE_TEST_VERSION picks the version to download (default 1.100.3, the engine's minimum).
 * On Linux without a display, run it under xvfb-run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { download, runTests, SilentReporter } from '@vscode/test-electron';
import { DEMO_TITLE, startDemo } from '../../src/cli/demoBackend';
import { buildExtension, bundleInHostSuite, repoRoot, type InHostTestResult } from '../e2e/harness';

const NETWORK_ERRORS = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|timed? ?out|socket hang up|getaddrinfo|certificate/i;

async function findVSCode(): Promise<string | { unavailable: string }> {
  const given = process.env.VSCODE_EXECUTABLE_PATH;
  if (given) {
    if (!fs.existsSync(given)) throw new Error(`VSCODE_EXECUTABLE_PATH=${given} does not exist`);
    return given;
  }
  const version = process.env.VSCODE_TEST_VERSION ?? '1.100.3';
  try {
    // A copy cached in .vscode-test/ is used without the network.
    return await download({ version, cachePath: path.join(repoRoot, '.vscode-test'), timeout: 15_000, reporter: new SilentReporter() });
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (NETWORK_ERRORS.test(`${code} ${message}`)) return { unavailable: `${code ? code + ': ' : ''}${message}` };
    throw err;
  }
}

async function main(): Promise<number> {
  const vscodePath = await findVSCode();
  if (typeof vscodePath !== 'string') {
    process.stdout.write(
      [
        'test:vscode: NOT RUN. VS Code cannot be downloaded on this machine',
        `  (${vscodePath.unavailable}).`,
        '  The same in-host suite (test/vscode/suite) runs in code-server\'s real extension host in',
        '  test/e2e/inhost.test.ts: `npm run test:e2e` (also part of `npm test`).',
        '  To run it here in desktop VS Code, set VSCODE_EXECUTABLE_PATH to an installed `code` binary.',
        '',
      ].join('\n'),
    );
    return 0;
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'open-kitchen-test-vscode-'));
  let suiteDir: string | undefined;
  const demo = await startDemo({ dataDir: path.join(work, 'demo'), port: 0, attendees: 2, wait: false });
  try {
    await buildExtension();
    const testsPath = await bundleInHostSuite();
    suiteDir = path.dirname(testsPath);
    const resultFile = path.join(work, 'results.json');
    const workspace = path.join(work, 'workspace');
    fs.mkdirSync(workspace);
    let exitCode = 0;
    try {
      await runTests({
        vscodeExecutablePath: vscodePath,
        extensionDevelopmentPath: repoRoot,
        extensionTestsPath: testsPath,
        extensionTestsEnv: {
          OPEN_KITCHEN_E2E_RESULT_FILE: resultFile,
          OPEN_KITCHEN_E2E_INVITES: JSON.stringify(demo.invites.map(({ email, name, link }) => ({ email, name, link }))),
          OPEN_KITCHEN_E2E_WORKSHOP_TITLE: DEMO_TITLE,
        },
        launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', path.join(work, 'user-data')],
      });
    } catch (err) {
      process.stderr.write(`test:vscode: VS Code reported a failure: ${(err as Error).message}\n`);
      exitCode = 1;
    }
    let results: InHostTestResult[] = [];
    try {
      results = (JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { tests: InHostTestResult[] }).tests;
    } catch {
      process.stderr.write('test:vscode: the suite wrote no results (did VS Code start? on Linux without a display use xvfb-run)\n');
      return 1;
    }
    const count = (s: InHostTestResult['state']) => results.filter((r) => r.state === s).length;
    for (const r of results.filter((x) => x.state === 'failed')) process.stderr.write(`✖ ${r.fullTitle}\n${r.error ?? ''}\n`);
    process.stdout.write(`test:vscode: ${count('passed')} passed, ${count('failed')} failed, ${count('pending')} skipped\n`);
    return count('failed') > 0 || results.length === 0 ? 1 : exitCode;
  } finally {
    await demo.stop();
    if (suiteDir) fs.rmSync(suiteDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`test:vscode failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
