/**
 * Starts code-server (VS Code's workbench and extension host, installed from the npm registry by
 * test/e2e/setup.sh) with the Open Kitchen extension loaded from a folder, for the end-to-end
 * tests and the demo. Plain Node: no `vscode` import.
 *
 * Facts this relies on (test/e2e/README.md has the whole list):
 * - The extension under development and the in-host test runner are passed in the `payload` URL
 *   parameter, as `vscode-remote://` URIs (file:// ones fail with "No extension host found").
 * - `entry.js` forks the real server as a child, so the launcher starts it in its own process
 *   group and stops the whole group; a crash of the caller kills it too (`process.on('exit')`).
 * - Without `--config FILE` code-server writes ~/.config/code-server/config.yaml, and without
 *   EXTENSIONS_GALLERY='{}' it asks open-vsx.org for extensions.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';

/** The repository root: the nearest folder above `from` with our package.json. */
export function findRepoRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'open-kitchen') return dir;
    } catch {
      // keep looking
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no open-kitchen package.json above ${from}`);
    dir = up;
  }
}

/** Where test/e2e/setup.sh installs code-server. */
export function codeServerEntry(repoRoot: string = findRepoRoot()): string {
  const cache = process.env.OPEN_KITCHEN_E2E_CACHE ?? path.join(repoRoot, 'test', 'e2e', '.cache');
  const dir = path.join(cache, `code-server-${CODE_SERVER_VERSION}`);
  const entry = path.join(dir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (!fs.existsSync(path.join(dir, '.installed')) || !fs.existsSync(entry)) {
    throw new Error(`code-server ${CODE_SERVER_VERSION} is not installed; run: bash test/e2e/setup.sh`);
  }
  return entry;
}

/** A free loopback port, probed by binding port 0. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Settings that keep a fresh workbench quiet: no welcome page, tips, trust prompt or updates. */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
  'git.enabled': false,
  'chat.commandCenter.enabled': false,
  'window.commandCenter': false,
};

export interface CodeServerOptions {
  /**
   * The extension folder (with package.json and dist/extension.js), loaded as the extension under
   * development (the window title then says "[Extension Development Host]").
   */
  extensionPath?: string;
  /** A .vsix installed into the server's extensions folder first, as a user would install it. */
  vsix?: string;
  /** A folder for user data, extensions and the workspace; made if missing. */
  dir: string;
  /** User settings merged over QUIET_SETTINGS. */
  settings?: Record<string, unknown>;
  /** Extra environment for the server; the remote extension host inherits it. */
  env?: Record<string, string>;
  /** 0 or unset = a free port. */
  port?: number;
  host?: string;
  /** Where the server's output goes (default: a file `code-server.log` in `dir`). */
  logFile?: string;
  /** How long to wait for /healthz (default 60 s). */
  readyTimeoutMs?: number;
  repoRoot?: string;
}

export interface CodeServer {
  port: number;
  /** http://host:port */
  origin: string;
  userDataDir: string;
  workspaceDir: string;
  logFile: string;
  /**
   * The workbench URL with the extension under development loaded, and optionally the in-host
   * test runner (`extensionTestsPath`, a .js file exporting `run()`).
   */
  workbenchUrl(opts?: { extensionTestsPath?: string; folder?: string }): string;
  /** Stops the server and its children; safe to call twice. */
  stop(): Promise<void>;
  process: ChildProcess;
}

function remoteUri(origin: URL, absPath: string): string {
  return `vscode-remote://${origin.host}${absPath.split(path.sep).join('/')}`;
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  // A probed free port can be taken by another process before code-server binds it (suites run
  // in parallel): then try another one, unless the caller asked for this port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCodeServerOnce(opts);
    } catch (err) {
      if (opts.port || attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

async function startCodeServerOnce(opts: CodeServerOptions): Promise<CodeServer> {
  const repoRoot = opts.repoRoot ?? findRepoRoot();
  const entry = codeServerEntry(repoRoot);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port || (await freePort(host));
  const origin = `http://${host}:${port}`;
  // A server left behind by a crashed run would answer /healthz for us; refuse instead.
  if ((await get(`${origin}/healthz`)) !== 0) throw new Error(`something already answers on ${origin}; refusing to start code-server there`);

  const dir = path.resolve(opts.dir);
  const userDataDir = path.join(dir, 'user-data');
  const extensionsDir = path.join(dir, 'extensions');
  const workspaceDir = path.join(dir, 'workspace');
  for (const d of [path.join(userDataDir, 'User'), extensionsDir, workspaceDir]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...QUIET_SETTINGS, ...opts.settings }, null, 2));
  const configFile = path.join(dir, 'config.yaml');
  fs.writeFileSync(configFile, 'auth: none\n');
  const logFile = opts.logFile ?? path.join(dir, 'code-server.log');
  const env = { ...process.env, EXTENSIONS_GALLERY: '{}', ...opts.env };
  if (opts.vsix) {
    const res = spawnSync(
      process.execPath,
      [entry, '--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', path.resolve(opts.vsix)],
      { env, encoding: 'utf8', timeout: 60_000 },
    );
    if (res.status !== 0) throw new Error(`code-server could not install ${opts.vsix}:\n${res.stdout}${res.stderr}`);
  }
  // Truncated: a retry's log must not carry the previous attempt's error.
  const logFd = fs.openSync(logFile, 'w');

  const child = spawn(
    process.execPath,
    [
      entry,
      '--config', configFile,
      '--auth', 'none',
      '--bind-addr', `${host}:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir,
      workspaceDir,
    ],
    {
      cwd: dir,
      env,
      stdio: ['ignore', logFd, logFd],
      // Its own process group, so stop() reaches the server that entry.js forks.
      detached: true,
    },
  );
  fs.closeSync(logFd);

  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const killGroup = (signal: NodeJS.Signals) => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.on('exit', onExit);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
      await exitedPromise;
      clearTimeout(timer);
      // The forked server may outlive entry.js by a moment; make sure the group is gone.
      killGroup('SIGKILL');
      process.off('exit', onExit);
    })();
    return stopped;
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (exited) throw new Error(`code-server exited while starting; see ${logFile}:\n${tail(logFile)}`);
      if ((await get(`${origin}/healthz`)) === 200) break;
      if (Date.now() > deadline) throw new Error(`code-server did not answer on ${origin} in time; see ${logFile}:\n${tail(logFile)}`);
      // Polling: code-server has no readiness event to wait on besides its log.
      await new Promise((r) => setTimeout(r, 150));
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const url = new URL(origin);
  return {
    port,
    origin,
    userDataDir,
    workspaceDir,
    logFile,
    process: child,
    stop,
    workbenchUrl(o = {}) {
      const payload: [string, string][] = [];
      if (opts.extensionPath) payload.push(['extensionDevelopmentPath', remoteUri(url, path.resolve(opts.extensionPath))]);
      if (o.extensionTestsPath) payload.push(['extensionTestsPath', remoteUri(url, path.resolve(o.extensionTestsPath))]);
      const q = new URLSearchParams({ folder: o.folder ?? workspaceDir });
      if (payload.length) q.set('payload', JSON.stringify(payload));
      return `${origin}/?${q.toString()}`;
    },
  };
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A temporary folder for one code-server run. */
export function makeTempDir(prefix = 'open-kitchen-vscode-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * For `npm run demo`: code-server with this repository's extension (dist/extension.js, built by
 * `npm run build`), its organizer setting pointing at the demo. Its folders live in
 * `<dataDir>/editor`, so the window layout survives demo restarts; the attendee's session lives in
 * the browser (VS Code for the Web keeps secrets in the browser's storage).
 * Needs `bash test/e2e/setup.sh` once; throws with that hint otherwise.
 */
export async function startDemoEditor(opts: { dataDir: string; apiUrl: string; port?: number; host?: string; repoRoot?: string }): Promise<CodeServer> {
  const repoRoot = opts.repoRoot ?? findRepoRoot();
  return startCodeServer({
    extensionPath: repoRoot,
    repoRoot,
    dir: path.join(opts.dataDir, 'editor'),
    port: opts.port,
    host: opts.host,
    settings: { 'openKitchen.apiUrl': opts.apiUrl },
  });
}
