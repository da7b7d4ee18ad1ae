/**
 * `npm run demo` (= `node dist/demo.js`): a whole workshop on this machine. Starts the organizer
 * service with a demo workshop, provisions each attendee's local stack (lab cluster + SSH
 * bastion), prints the invite links and how to reach each stack, and stays up until Ctrl+C,
 * then destroys the stacks (unless --keep) and stops.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
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
  --json            print one JSON line (API URL, organizer token, invites, stacks) instead of text
  --help            this text
`;

/** The repository root: the nearest folder above this file with our package.json. */
function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'open-kitchen') return dir;
    } catch {
      // keep looking
    }
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

function fail(message: string, code = 1): never {
  process.stderr.write(message.endsWith('\n') ? message : message + '\n');
  process.exit(code);
}

function printHuman(demo: Demo, out: (s: string) => void): void {
  const stacks = demo.stacks();
  const byId = new Map(stacks.map((s) => [s.attendeeId, s]));
  const lines: string[] = [
    '',
    '================ Open Kitchen demo ================',
    `Organizer API:    ${demo.apiUrl}`,
    `Organizer token:  ${demo.organizerToken}`,
    `Data folder:      ${demo.dataDir}`,
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

  // With --json, stdout carries only the JSON line; progress goes to stderr.
  const progress = (line: string) => (values.json ? process.stderr : process.stdout).write(line + '\n');
  const dataDir = path.resolve(values['data-dir'] ?? path.join(repoRoot(), '.demo'));

  // Filled in once started; a Ctrl+C during startup stops what exists by then.
  const running: { demo?: Demo } = {};
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) fail(`${signal} again: exiting without waiting (stacks may be left running; "npm run demo -- --fresh" cleans up)`, 130);
    stopping = true;
    progress(`${signal}: stopping the demo…`);
    (running.demo ? running.demo.stop() : Promise.resolve()).then(
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
  if (values.json) {
    process.stdout.write(JSON.stringify(demo.summary()) + '\n');
  } else {
    printHuman(demo, progress);
  }
}

main().catch((err: unknown) => {
  if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) fail(`${(err as Error).message}\n\n${USAGE}`, 64);
  fail(`Demo failed: ${err instanceof Error ? err.message : String(err)}`);
});
