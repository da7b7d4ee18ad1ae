/**
 * `npm run demo` (= `node dist/demo.js`): a whole workshop on this machine. Starts the organizer
 * service with a demo workshop, provisions each attendee's local stack (lab cluster + SSH
 * bastion), prints the invite links and how to reach each stack, and stays up until Ctrl+C,
 * then destroys the stacks (unless --keep) and stops.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { codeServerEntry, findRepoRoot, startDemoEditor, type CodeServer } from './codeServer';
import { DEFAULT_DEMO_PORT, startDemo, type Demo } from './demoBackend';

const USAGE = `Open Kitchen demo: an organizer with a demo workshop and local stacks, on this machine.

Usage: npm run demo -- [options]      (or: node dist/demo.js [options])

  --port N          organizer API port (default ${DEFAULT_DEMO_PORT}, a free one if taken; 0 = any free port)
  --attendees N     number of demo attendees (default 3)
  --data-dir D      where the database, keys and stacks live (default .demo/ in the repository)
  --fresh           wipe the data folder first
  --keep            leave the stacks running on exit (the next run finds them again)
  --no-wait         print the invite links without waiting for the stacks to be ready
  --bastion K       auto (default: OpenSSH sshd when installed), openssh or ssh2
  --editor E        auto (default: start VS Code in the browser when code-server is installed),
                    on (fail without it) or off; install it with: bash test/e2e/setup.sh
  --editor-port N   port for the browser VS Code (default: a free one)
  --json            print one JSON line (API URL, organizer token, invites, stacks) instead of text
  --help            this text
`;

function repoRoot(): string {
  try {
    return findRepoRoot(__dirname);
  } catch {
    return process.cwd();
  }
}

function fail(message: string, code = 1): never {
  process.stderr.write(message.endsWith('\n') ? message : message + '\n');
  process.exit(code);
}

/** The browser VS Code the demo started, or why it did not. */
interface DemoEditor {
  url: string;
  server: CodeServer;
}

function printHuman(demo: Demo, editor: DemoEditor | undefined, editorHint: string | undefined, out: (s: string) => void): void {
  const stacks = demo.stacks();
  const byId = new Map(stacks.map((s) => [s.attendeeId, s]));
  const lines: string[] = [
    '',
    '================ Open Kitchen demo ================',
    `Organizer API:    ${demo.apiUrl}`,
    `Organizer token:  ${demo.organizerToken}`,
    '                  (in VS Code: "Open Kitchen: Connect as Organizer", or the CLI: node dist/organizer.js help)',
    `Data folder:      ${demo.dataDir}`,
    `Invite mail:      written as .eml files to ${path.join(demo.dataDir, 'outbox')} ("Send Invites")`,
    '',
    'Invite links (open one on a machine with the extension installed, or paste it into "Open Kitchen: Sign In"):',
  ];
  for (const invite of demo.invites) {
    lines.push(`  ${invite.name} <${invite.email}>`, `    ${invite.link}`);
  }
  lines.push('', 'Stacks:');
  for (const invite of demo.invites) {
    const s = byId.get(invite.attendeeId);
    if (!s) continue;
    lines.push(`  ${s.email}: ${s.status}${s.statusMessage && s.status !== 'ready' ? ` (${s.statusMessage})` : ''}`);
    const c = s.connection;
    if (c) {
      lines.push(
        `    bastion ${c.bastion.user}@${c.bastion.host}:${c.bastion.port}  host key ${c.bastion.hostKeyFingerprint}`,
        `    Nomad ${c.nomad.host}:${c.nomad.port}, Consul ${c.consul.host}:${c.consul.port} (as seen from the bastion)`,
        `    try it: ${s.sshCommand}`,
        `            then: curl http://127.0.0.1:${s.localPort}/v1/status/leader`,
      );
    }
  }
  if (editor) {
    const first = demo.invites[0];
    lines.push(
      '',
      'VS Code in your browser, with the extension installed and the workshop\'s jobs and labs open:',
      `  ${editor.url}`,
      `  then press "Sign In" in the Open Kitchen sidebar and paste ${first ? `${first.name}'s invite link:` : 'an invite link.'}`,
      ...(first ? [`  ${first.link}`] : []),
    );
  } else if (editorHint) {
    lines.push('', editorHint);
  }
  lines.push('', 'Press Ctrl+C to stop (stacks are destroyed on exit unless --keep).', '');
  out(lines.join('\n'));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      attendees: { type: 'string' },
      'data-dir': { type: 'string' },
      fresh: { type: 'boolean' },
      keep: { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      bastion: { type: 'string' },
      editor: { type: 'string' },
      'editor-port': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = values.port === undefined ? DEFAULT_DEMO_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0-65535, not "${values.port}"\n\n${USAGE}`, 64);
  const attendees = values.attendees === undefined ? 3 : Number(values.attendees);
  if (!Number.isInteger(attendees) || attendees < 1 || attendees > 50) fail(`--attendees must be 1-50, not "${values.attendees}"\n\n${USAGE}`, 64);
  const bastion = values.bastion ?? 'auto';
  if (!['auto', 'openssh', 'ssh2'].includes(bastion)) fail(`--bastion must be auto, openssh or ssh2, not "${bastion}"\n\n${USAGE}`, 64);

  const editorMode = values.editor ?? 'auto';
  if (!['auto', 'on', 'off'].includes(editorMode)) fail(`--editor must be auto, on or off, not "${editorMode}"\n\n${USAGE}`, 64);
  const editorPort = values['editor-port'] === undefined ? 0 : Number(values['editor-port']);
  if (!Number.isInteger(editorPort) || editorPort < 0 || editorPort > 65535) fail(`--editor-port must be 0-65535, not "${values['editor-port']}"\n\n${USAGE}`, 64);

  // With --json, stdout carries only the JSON line; progress goes to stderr.
  const progress = (line: string) => (values.json ? process.stderr : process.stdout).write(line + '\n');
  const dataDir = path.resolve(values['data-dir'] ?? path.join(repoRoot(), '.demo'));

  // Filled in once started; a Ctrl+C during startup stops what exists by then.
  const running: { demo?: Demo; editor?: DemoEditor } = {};
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) fail(`${signal} again: exiting without waiting (stacks may be left running; "npm run demo -- --fresh" cleans up)`, 130);
    stopping = true;
    progress(`${signal}: stopping the demo…`);
    (running.editor ? running.editor.server.stop() : Promise.resolve())
      .then(() => running.demo?.stop())
      .then(
      () => {
        progress('Demo stopped.');
        process.exit(0);
      },
      (err: Error) => fail(`error while stopping: ${err.message}`),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  progress(`Starting the Open Kitchen demo in ${dataDir}`);
  const demo = await startDemo({
    dataDir,
    fresh: values.fresh,
    port,
    attendees,
    wait: !values['no-wait'],
    keep: values.keep,
    bastionKind: bastion as 'auto' | 'openssh' | 'ssh2',
    log: progress,
  });
  running.demo = demo;
  if (stopping) {
    // Ctrl+C arrived while starting: the stop handler had nothing to stop yet.
    await demo.stop();
    process.exit(0);
  }

  if (!values['no-wait']) {
    for (const r of await demo.verify()) {
      progress(`  ${r.ok ? '✓' : '✗'} ${r.email}: ${r.ok ? 'answers through its bastion' : 'does not answer'} — ${r.detail}`);
    }
  }
  let editorHint: string | undefined;
  if (editorMode !== 'off') {
    try {
      running.editor = await startEditor(dataDir, demo.apiUrl, editorPort, progress);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (editorMode === 'on') {
        await demo.stop();
        fail(`Could not start VS Code in the browser: ${message}`);
      }
      editorHint = `VS Code in the browser is not started: ${message}`;
    }
    if (stopping) {
      await running.editor?.server.stop();
      return;
    }
  }
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...demo.summary(), editorUrl: running.editor?.url ?? null }) + '\n');
  } else {
    printHuman(demo, running.editor, editorHint, progress);
  }
}

/**
 * code-server with this repository's extension, its organizer setting pointing at the demo, and a
 * workspace holding copies of the workshop's jobs and labs (copied once, so the attendee's edits
 * survive demo restarts and never touch the repository).
 */
async function startEditor(dataDir: string, apiUrl: string, port: number, progress: (line: string) => void): Promise<DemoEditor> {
  const root = repoRoot();
  codeServerEntry(root); // throws "not installed; run: bash test/e2e/setup.sh" before anything starts
  progress('Starting VS Code in the browser (code-server)…');
  const server = await startDemoEditor({ dataDir, apiUrl, port, repoRoot: root });
  for (const folder of ['jobs', 'labs']) {
    const target = path.join(server.workspaceDir, folder);
    if (!fs.existsSync(target)) fs.cpSync(path.join(root, folder), target, { recursive: true });
  }
  return { server, url: server.workbenchUrl({ folder: server.workspaceDir }) };
}

main().catch((err: unknown) => {
  if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) fail(`${(err as Error).message}\n\n${USAGE}`, 64);
  fail(`Demo failed: ${err instanceof Error ? err.message : String(err)}`);
});
