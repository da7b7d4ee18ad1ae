/**
 * `organizer.ts` as an organizer runs it: keygen, serve (token printed once, clean stop on
 * SIGTERM), and the headless commands against the running service with the local provider:
 * roster import with bad rows, pre-flight, provision with confirmation and --wait, invites
 * mailed to the outbox, destroy with its confirmation, cancel and Ctrl+C.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');
const cli = ['--import', 'tsx', 'src/cli/organizer.ts'];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-orgcli-'));
const children = new Set<ChildProcessWithoutNullStreams>();

after(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const k of ['OPEN_KITCHEN_SECRET_KEY', 'OPEN_KITCHEN_SECRET_KEY_FILE', 'OPEN_KITCHEN_ORGANIZER_TOKEN', 'OPEN_KITCHEN_API_URL']) {
    if (!(k in extra)) delete env[k];
  }
  return env;
}

type Result = { code: number; stdout: string; stderr: string };

function run(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...cli, ...args], { cwd: repoRoot, env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Starts `serve` and resolves once it prints its URL. */
async function serve(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcessWithoutNullStreams; url: string; output: () => string }> {
  const child = spawn(process.execPath, [...cli, 'serve', '--port', '0', ...args], { cwd: repoRoot, env: cleanEnv(env) });
  children.add(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 15_000);
    const check = () => {
      const m = /listening on (http\S+)/.exec(out);
      if (m && out.includes('Press Ctrl+C to stop.')) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', check);
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`serve exited:\n${out}`));
    });
  });
  return { child, url, output: () => out };
}

async function stopGracefully(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const code = await exited;
  children.delete(child);
  return code;
}

test('help explains every command', async () => {
  const r = await run(['help']);
  assert.equal(r.code, 0);
  for (const word of [
    'serve',
    'keygen --out FILE',
    '--tls-cert',
    'OPEN_KITCHEN_ORGANIZER_TOKEN',
    'attendees import ROSTER.csv',
    'stacks preflight',
    'stacks provision',
    'stacks cancel',
    'stacks destroy',
    'invites send',
    '--smtp-host',
    'OPEN_KITCHEN_SMTP_PASS',
    '--outbox DIR',
    'Exit codes',
  ]) {
    assert.ok(r.stdout.includes(word), `help mentions ${word}`);
  }
  const one = await run(['stacks', 'provision', '--help']);
  assert.equal(one.code, 0);
  assert.match(one.stdout, /^Usage: node dist\/organizer\.js stacks provision --workshop W/);
  assert.match(one.stdout, /--yes confirms/);
  assert.equal((await run(['help', 'invites', 'send'])).stdout.split('\n')[0], (await run(['invites', 'send', '-h'])).stdout.split('\n')[0]);

  const bad = await run(['frobnicate']);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /unknown command "frobnicate"/);
});

test('bad command lines and an unreachable API get specific errors', async () => {
  const env = cleanEnv({ OPEN_KITCHEN_ORGANIZER_TOKEN: 'oko_x', OPEN_KITCHEN_API_URL: 'http://127.0.0.1:9' });
  const cases: [string[], number, RegExp][] = [
    [['stacks', 'frob'], 64, /unknown command "stacks frob" \(stacks has: preflight, provision, destroy, cancel, list\)/],
    [['stacks'], 64, /"stacks" needs a subcommand/],
    [['stacks', 'list', '--workshop', 'w', '--yes'], 64, /stacks list: Unknown option '--yes'[\s\S]*Usage: node dist\/organizer\.js stacks list/],
    [['stacks', 'list'], 64, /stacks list needs --workshop W/],
    [['attendees', 'import', '--workshop', 'w'], 64, /attendees import needs the roster file/],
    [['attendees', 'import', path.join(dir, 'missing.csv'), '--workshop', 'w'], 64, /cannot read the roster .*missing\.csv: ENOENT/],
    [['invites', 'send', '--workshop', 'w', '--ttl-hours', 'soon'], 64, /--ttl-hours must be a number of hours/],
    [['invites', 'send', '--workshop', 'w', '--unopened', '--attendee', 'att_1'], 64, /--unopened and --attendee do not go together/],
    [['stacks', 'list', '--workshop', 'w', '--api', 'localhost:7411'], 64, /--api must be an http\(s\) URL/],
    [['serve', '--smtp-pass', 'hunter2'], 64, /there is no --smtp-pass: put the SMTP password in OPEN_KITCHEN_SMTP_PASS/],
    [['serve', '--smtp-user', 'me'], 64, /--smtp-user needs --smtp-host/],
    [['serve', '--smtp-host', 'mail', '--smtp-port', '99999'], 64, /--smtp-port must be 1-65535/],
    [['stacks', 'list', '--workshop', 'w'], 1, /Cannot reach the organizer API at http:\/\/127\.0\.0\.1:9[\s\S]*Is `node dist\/organizer\.js serve` running there\?/],
  ];
  for (const [args, code, message] of cases) {
    const r = await run(args, env);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  const noToken = await run(['stacks', 'list', '--workshop', 'w']);
  assert.equal(noToken.code, 64);
  assert.match(noToken.stderr, /the organizer token is needed: --token T or OPEN_KITCHEN_ORGANIZER_TOKEN/);
});

test('serve prints the organizer token once, the headless commands drive it, and SIGTERM stops it cleanly', async () => {
  const keyFile = path.join(dir, 'organizer.key');
  const dataDir = path.join(dir, 'data');
  assert.equal((await run(['keygen', '--out', keyFile])).code, 0);

  const first = await serve(['--secret-key-file', keyFile, '--data-dir', dataDir]);
  const token = /Organizer token \(shown once[^\n]*\n\s+(oko_\S+)/.exec(first.output())?.[1];
  assert.ok(token, `token printed:\n${first.output()}`);
  const api = ['--api', first.url, '--token', token];

  const created = await run(['workshop', 'create', '--name', 'cli-ws', '--title', 'CLI workshop', ...api]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /Created workshop cli-ws/);
  const workshops = await run(['workshop', 'list', ...api]);
  assert.equal(workshops.code, 0, workshops.stderr);
  assert.match(workshops.stdout, /^NAME +ID +PROVIDER +TITLE\ncli-ws +ws_\S+ +local +CLI workshop\n$/);

  const csv = path.join(dir, 'roster.csv');
  fs.writeFileSync(csv, 'email,name,team\nada@example.com,Ada,red\nbroken,Nobody,\nada@example.com,Ada again,\ngrace@example.com,Grace,\n');
  const imported = await run(['attendees', 'import', csv, '--workshop', 'cli-ws', ...api]);
  assert.equal(imported.code, 2, 'bad rows make the exit code non-zero');
  assert.match(imported.stdout, /Imported 2 attendees; 2 rows not imported\./);
  assert.match(imported.stdout, /line 3 \(broken\): email: not a valid email address/);
  assert.match(imported.stdout, /line 4 \(ada@example.com\): duplicate of line 2 in this import/);

  const invites = await run(['invites', 'create', '--workshop', 'cli-ws', '--json', ...api]);
  assert.equal(invites.code, 0, invites.stderr);
  const links = (JSON.parse(invites.stdout) as { invites: { link: string }[] }).invites.map((i) => i.link);
  assert.equal(links.length, 2);
  assert.ok(links.every((l) => l.startsWith('vscode://openkitchen.open-kitchen/signin?')));

  const list = await run(['attendees', 'list', '--workshop', 'cli-ws', '--json', ...api]);
  const attendees = (JSON.parse(list.stdout) as { attendees: { email: string; invite: { status: string } }[] }).attendees;
  assert.deepEqual(attendees.map((a) => [a.email, a.invite.status]), [['ada@example.com', 'sent'], ['grace@example.com', 'sent']]);

  const denied = await run(['stacks', 'list', '--workshop', 'cli-ws', '--api', first.url, '--token', 'oko_wrong']);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /Unknown token/);

  assert.equal(await stopGracefully(first.child), 0);
  assert.match(first.output(), /SIGTERM: stopping/);

  // The second start keeps the data and does not print a token again.
  const second = await serve(['--secret-key-file', keyFile, '--data-dir', dataDir]);
  assert.doesNotMatch(second.output(), /Organizer token/);
  const again = await run(['attendees', 'list', '--workshop', 'cli-ws', '--api', second.url, '--token', token]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /grace@example.com/);
  assert.equal(await stopGracefully(second.child), 0);
});

/** A running service with a workshop and a roster of `emails`; `cli()` runs a headless command against it. */
async function kitchen(name: string, emails: string[], serveArgs: string[] = [], env: Record<string, string> = {}) {
  const keyFile = path.join(dir, `${name}.key`);
  assert.equal((await run(['keygen', '--out', keyFile])).code, 0);
  const server = await serve(['--secret-key-file', keyFile, '--data-dir', path.join(dir, name), ...serveArgs], env);
  const token = /Organizer token \(shown once[^\n]*\n\s+(oko_\S+)/.exec(server.output())![1];
  const api = ['--api', server.url, '--token', token];
  const cli = (...args: string[]) => run([...args, ...api]);
  assert.equal((await cli('workshop', 'create', '--name', name, '--title', `Workshop ${name}`)).code, 0);
  const roster = path.join(dir, `${name}.csv`);
  fs.writeFileSync(roster, ['email,name', ...emails.map((e) => `${e},${e.split('@')[0]}`)].join('\n') + '\n');
  const imported = await cli('attendees', 'import', roster, '--workshop', name);
  assert.equal(imported.code, 0, imported.stdout + imported.stderr);
  return { ...server, cli, api };
}

type Stack = { id: string; attendeeId: string; status: string; statusMessage: string | null };

async function stacksOf(k: { cli: (...a: string[]) => Promise<Result> }, workshop: string): Promise<Stack[]> {
  const r = await k.cli('stacks', 'list', '--workshop', workshop, '--json');
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { stacks: Stack[] }).stacks;
}

function ndjson(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('a roster with bad rows imports the good ones and reports each bad one by line, also as JSON', async () => {
  const k = await kitchen('roster-ws', ['first@example.com']);
  const csv = path.join(dir, 'bad-roster.csv');
  fs.writeFileSync(
    csv,
    'Name,Email,Team\nAda,ada@example.com,red\nNobody,not-an-email,\n\n,nameless@example.com,\nAda again,ADA@example.com,\nGrace,grace@example.com,blue\nFirst,first@example.com,\n',
  );
  const r = await k.cli('attendees', 'import', csv, '--workshop', 'roster-ws', '--json');
  assert.equal(r.code, 2, 'some rows rejected: exit 2');
  const report = JSON.parse(r.stdout) as { imported: { email: string; line: number }[]; rejected: { line: number; email: string | null; reason: string }[] };
  assert.deepEqual(report.imported.map((a) => [a.line, a.email]), [[2, 'ada@example.com'], [7, 'grace@example.com']]);
  assert.deepEqual(report.rejected.map((x) => x.line), [3, 5, 6, 8], JSON.stringify(report.rejected));
  assert.match(report.rejected[0].reason, /not a valid email address/);
  assert.match(report.rejected[1].reason, /name is required/);
  assert.match(report.rejected[2].reason, /duplicate of line 2/);
  assert.match(report.rejected[3].reason, /already/i, 'first@example.com was imported before');

  const list = await k.cli('attendees', 'list', '--workshop', 'roster-ws', '--json');
  const emails = (JSON.parse(list.stdout) as { attendees: { email: string }[] }).attendees.map((a) => a.email).sort();
  assert.deepEqual(emails, ['ada@example.com', 'first@example.com', 'grace@example.com']);

  const clean = path.join(dir, 'clean-roster.csv');
  fs.writeFileSync(clean, 'email,name\nlin@example.com,Lin\n');
  const ok = await k.cli('attendees', 'import', clean, '--workshop', 'roster-ws');
  assert.equal(ok.code, 0, 'all imported: exit 0');
  assert.match(ok.stdout, /^Imported 1 attendee; 0 rows not imported\.$/m);

  const unknown = await k.cli('attendees', 'import', clean, '--workshop', 'no-such-ws');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /No workshop "no-such-ws"/);
  assert.equal(await stopGracefully(k.child), 0);
});

test('pre-flight, provision with confirmation and --wait, invites to the outbox, destroy with its confirmation', async () => {
  const outbox = path.join(dir, 'outbox');
  const k = await kitchen('stacks-ws', ['ada@example.com', 'grace@example.com'], ['--outbox', outbox, '--concurrency', '2']);
  assert.match(k.output(), new RegExp(`Invite mail: written as \\.eml files to ${outbox.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const ws = ['--workshop', 'stacks-ws'];

  const pre = await k.cli('stacks', 'preflight', ...ws);
  assert.equal(pre.code, 0, pre.stderr);
  assert.match(pre.stdout, /^Pre-flight for workshop stacks-ws \(provider local\): 2 stacks to build, 0 ready already\./);
  assert.match(pre.stdout, /RESOURCE +PER STACK +TOTAL\n/);
  const preJson = JSON.parse((await k.cli('stacks', 'preflight', ...ws, '--json')).stdout) as { stacks: number; ok: boolean; resources: { name: string; perStack: number; total: number }[] };
  assert.equal(preJson.stacks, 2);
  assert.equal(preJson.ok, true);
  for (const r of preJson.resources) {
    assert.equal(r.total, r.perStack * 2, `${r.name}: total is per stack times 2`);
    assert.match(pre.stdout, new RegExp(`\\n  ${r.name}.* ${r.perStack} +${r.total}\\n`), `${r.name} in the table`);
  }

  // No terminal to ask on and no --yes: refused, nothing queued.
  const refused = await k.cli('stacks', 'provision', ...ws);
  assert.equal(refused.code, 64);
  assert.match(refused.stderr, /Pre-flight for workshop stacks-ws/, 'the numbers are shown before refusing');
  assert.match(refused.stderr, /Not a terminal, so I cannot ask before I provision: pass --yes to confirm\./);
  assert.ok((await stacksOf(k, 'stacks-ws')).every((s) => s.status === 'pending' && !/Queued/.test(s.statusMessage ?? '')));

  const prov = await k.cli('stacks', 'provision', ...ws, '--yes', '--wait', '--json');
  assert.equal(prov.code, 0, prov.stderr);
  const events = ndjson(prov.stdout);
  assert.equal(events[0].type, 'preflight');
  assert.equal(events[1].type, 'started');
  const result = events.at(-1)!;
  assert.equal(result.type, 'result');
  assert.equal(result.ok, true);
  const readyEvents = events.filter((e) => e.type === 'stack' && (e.stack as Stack).status === 'ready');
  assert.equal(new Set(readyEvents.map((e) => (e.stack as Stack).id)).size, 2, 'one ready event per stack');
  assert.ok(events.some((e) => e.type === 'stack' && (e.stack as Stack).status === 'provisioning'), 'progress on the way');
  assert.deepEqual((await stacksOf(k, 'stacks-ws')).map((s) => s.status), ['ready', 'ready']);

  // Again: nothing left to build, nothing built twice.
  const again = await k.cli('stacks', 'provision', ...ws, '--yes', '--wait');
  assert.equal(again.code, 0);
  assert.match(again.stdout, /Nothing to provision: all 2 stacks of stacks-ws are ready\./);

  const sent = await k.cli('invites', 'send', ...ws);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.stdout, /ada@example\.com +sent\n/);
  assert.match(sent.stdout, /grace@example\.com +sent\n/);
  assert.ok(sent.stdout.includes(`2 sent, 0 failed. Written as .eml files to ${outbox};`), sent.stdout);
  const files = fs.readdirSync(outbox).filter((f) => f.endsWith('.eml'));
  assert.equal(files.length, 2);
  const { simpleParser } = await import('mailparser');
  for (const f of files) {
    const mail = await simpleParser(fs.readFileSync(path.join(outbox, f)));
    assert.match(mail.text ?? '', /vscode:\/\/openkitchen\.open-kitchen\/signin\?api=.*&invite=/);
  }
  const resend = await k.cli('invites', 'send', ...ws, '--attendee', 'grace@example.com', '--json');
  assert.deepEqual((JSON.parse(resend.stdout) as { sent: { email: string }[] }).sent.map((x) => x.email), ['grace@example.com']);
  assert.equal(fs.readdirSync(outbox).length, 3);

  const noConfirm = await k.cli('stacks', 'destroy', ...ws);
  assert.equal(noConfirm.code, 64);
  assert.match(noConfirm.stderr, /needs confirmation: pass --confirm stacks-ws/);
  const unknown = await k.cli('stacks', 'destroy', '--workshop', 'no-such-ws', '--confirm', 'no-such-ws');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /No workshop "no-such-ws"/);
  const wrong = await k.cli('stacks', 'destroy', ...ws, '--confirm', 'other-ws');
  assert.equal(wrong.code, 64);
  assert.match(wrong.stderr, /--confirm "other-ws" is not the workshop's name "stacks-ws"; nothing destroyed\./);
  assert.deepEqual((await stacksOf(k, 'stacks-ws')).map((s) => s.status), ['ready', 'ready'], 'refusals destroyed nothing');

  const one = await k.cli('stacks', 'destroy', ...ws, '--attendee', 'ada@example.com', '--wait');
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^Destroying 1 stack of stacks-ws\.$/m);
  assert.match(one.stdout, /ada@example\.com destroyed: Destroyed\./);
  assert.match(one.stdout, /Destroyed 1 of 1 stack in \d+:\d\d; 0 failed\./);

  const all = await k.cli('stacks', 'destroy', ...ws, '--confirm', 'stacks-ws', '--wait');
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /Destroyed 1 of 1 stack/, 'the one left');
  assert.deepEqual((await stacksOf(k, 'stacks-ws')).map((s) => s.status), ['destroyed', 'destroyed']);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'stacks-ws', 'stacks')).filter((d) => fs.readdirSync(path.join(dir, 'stacks-ws', 'stacks', d)).length), [], 'no stack folder left');
  assert.equal(await stopGracefully(k.child), 0);
});

test('failed stacks end --wait with exit 3 and their messages; Ctrl+C cancels the run; stacks cancel stops builds', async () => {
  // Every build attempt fails with a transient error, so nothing gets ready and runs stay cancellable.
  const k = await kitchen('cancel-ws', ['ada@example.com', 'grace@example.com', 'lin@example.com'], ['--concurrency', '1'], {
    OPEN_KITCHEN_INJECT_FAILURES: '1000',
  });
  const ws = ['--workshop', 'cancel-ws'];

  const failed = await k.cli('stacks', 'provision', ...ws, '--attendee', 'ada@example.com', '--yes', '--wait');
  assert.equal(failed.code, 3, failed.stderr);
  assert.match(failed.stdout, /Attempt 1 failed: injected failure/);
  assert.match(failed.stdout, /Provisioned 0 of 1 stack in \d+:\d\d; 1 failed\.\n {2}ada@example\.com \(stk_[\w-]+\): injected failure \d+ of 1000 .*\(after 3 attempts\)/);

  // Ctrl+C while the builds run: the service is asked to cancel them, exit 130.
  const child = spawn(process.execPath, [...cli, 'stacks', 'provision', ...ws, '--yes', '--wait', ...k.api], { cwd: repoRoot, env: cleanEnv() });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/provisioning: /.test(stdout)) resolve();
    });
  });
  child.kill('SIGINT');
  assert.equal(await exited, 130, stdout + stderr);
  children.delete(child);
  assert.match(stderr, /Interrupted: asking the service to cancel the builds of this run/);
  assert.match(stderr, /Cancelled\. Ready stacks stay/);
  // What was running is cleaned up; wait for that, then nothing is queued or building any more.
  const settle = await k.cli('stacks', 'cancel', ...ws, '--wait', '--json');
  assert.equal(settle.code, 0, settle.stderr);
  for (const s of await stacksOf(k, 'cancel-ws')) {
    assert.ok(s.status === 'failed' || (s.status === 'cancelled' && /^Cancelled/.test(s.statusMessage ?? '')), JSON.stringify(s));
  }

  // Without --wait a provision only queues; `stacks cancel --wait` follows the running build to its clean-up.
  assert.equal((await k.cli('stacks', 'provision', ...ws, '--yes')).code, 0);
  const cancel = await k.cli('stacks', 'cancel', ...ws, '--wait', '--json');
  assert.equal(cancel.code, 0, cancel.stderr);
  const lines = ndjson(cancel.stdout);
  assert.equal(lines.at(-1)!.type, 'result');
  const after = await stacksOf(k, 'cancel-ws');
  assert.deepEqual(
    after.map((s) => [s.status, s.statusMessage]),
    after.map(() => ['cancelled', 'Cancelled by the organizer.']),
  );
  assert.equal(await stopGracefully(k.child), 0);
});

/** Runs the CLI on a pseudo-terminal (util-linux `script`), typing `answers[i]` once the output matches `prompts[i]`. */
function runOnTerminal(args: string[], dialogue: [RegExp, string][]): Promise<{ code: number | null; output: string }> {
  const quoted = [process.execPath, ...cli, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', `stty cols 100; exec ${quoted}`, '/dev/null'], { cwd: repoRoot, env: cleanEnv() });
  children.add(child);
  let output = '';
  let next = 0;
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    if (next < dialogue.length && dialogue[next][0].test(output)) child.stdin.write(dialogue[next++][1]);
  });
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve({ code, output });
    }),
  );
}

const hasScript = spawnSync('script', ['--version']).status === 0;

test('on a terminal: provision asks with the pre-flight numbers and draws a progress bar; destroy asks for the workshop name', { skip: hasScript ? false : 'util-linux `script` is not installed: no pseudo-terminal to run the CLI on' }, async () => {
  const k = await kitchen('tty-ws', ['ada@example.com', 'grace@example.com']);
  const ws = ['--workshop', 'tty-ws', ...k.api];

  const declined = await runOnTerminal(['stacks', 'provision', ...ws], [[/\[y\/N\] /, 'n\r']]);
  assert.equal(declined.code, 64);
  assert.match(declined.output, /2 stacks to build[\s\S]*Provision 2 stacks for workshop tty-ws\? \[y\/N\][\s\S]*Not confirmed; nothing done\./);
  assert.ok((await stacksOf(k, 'tty-ws')).every((s) => s.status === 'pending'));

  const prov = await runOnTerminal(['stacks', 'provision', ...ws, '--wait'], [[/\[y\/N\] /, 'y\r']]);
  assert.equal(prov.code, 0, prov.output);
  // The bar is redrawn in place (carriage return, then erase to the end of the line) and ends full.
  const eraseLine = String.fromCharCode(27) + '[K';
  assert.ok(prov.output.includes(eraseLine), 'erases the rest of the line after each redraw');
  const drawn = prov.output.replaceAll(eraseLine, '');
  assert.match(drawn, /\rProvisioning \[░+\] 0\/2 {2}ready 0 {2}failed 0 {2}(provisioning|queued) 2 {2}0:\d\d\r/);
  assert.match(drawn, /Provisioning \[█+\] 2\/2 {2}ready 2 {2}failed 0 {2}0:\d\d/);
  for (const line of drawn.split(/[\r\n]/)) assert.ok(line.length < 100, `fits the 100-column terminal: ${line}`);
  assert.match(prov.output, /Provisioned 2 of 2 stacks in 0:\d\d; 0 failed\./);

  const mistyped = await runOnTerminal(['stacks', 'destroy', ...ws], [[/Type the workshop name to go on: /, 'tty\r']]);
  assert.equal(mistyped.code, 64);
  assert.match(mistyped.output, /"tty" is not "tty-ws"; nothing destroyed\./);
  const destroyed = await runOnTerminal(['stacks', 'destroy', ...ws, '--wait'], [[/Type the workshop name to go on: /, 'tty-ws\r']]);
  assert.equal(destroyed.code, 0, destroyed.output);
  assert.match(destroyed.output, /Destroyed 2 of 2 stacks/);
  assert.deepEqual((await stacksOf(k, 'tty-ws')).map((s) => s.status), ['destroyed', 'destroyed']);
  assert.equal(await stopGracefully(k.child), 0);
});

test('serve --smtp-* flags send the invites over SMTP, logging in with the password from OPEN_KITCHEN_SMTP_PASS', async () => {
  const { SMTPServer } = await import('smtp-server');
  const { simpleParser } = await import('mailparser');
  const received: { user: unknown; from: string; to: string[]; raw: Buffer }[] = [];
  const smtp = new SMTPServer({
    // A loopback relay without TLS: the test is about the flags reaching the mailer.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, cb) {
      if (auth.username === 'kitchen' && auth.password === 'from the environment') cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          user: session.user,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as { port: number }).port;
  try {
    const k = await kitchen(
      'smtp-ws',
      ['ada@example.com', 'grace@example.com'],
      ['--smtp-host', '127.0.0.1', '--smtp-port', String(port), '--smtp-user', 'kitchen', '--mail-from', 'Kitchen <kitchen@example.org>'],
      { OPEN_KITCHEN_SMTP_PASS: 'from the environment' },
    );
    assert.match(k.output(), /Invite mail: over SMTP via 127\.0\.0\.1/);
    const sent = await k.cli('invites', 'send', '--workshop', 'smtp-ws');
    assert.equal(sent.code, 0, sent.stdout + sent.stderr);
    assert.match(sent.stdout, /2 sent, 0 failed\. Sent over SMTP\./);
    assert.deepEqual(received.map((m) => m.to[0]).sort(), ['ada@example.com', 'grace@example.com']);
    for (const m of received) {
      assert.equal(m.user, 'kitchen', 'logged in');
      assert.equal(m.from, 'kitchen@example.org');
      assert.match((await simpleParser(m.raw)).text ?? '', /vscode:\/\/openkitchen\.open-kitchen\/signin\?api=.*&invite=/);
    }
    // Nobody left to mail: a second run sends nothing; --unopened reminds everyone who has not signed in.
    assert.match((await k.cli('invites', 'send', '--workshop', 'smtp-ws')).stdout, /Nobody to send to/);
    const reminder = await k.cli('invites', 'send', '--workshop', 'smtp-ws', '--unopened', '--json');
    assert.equal((JSON.parse(reminder.stdout) as { sent: unknown[] }).sent.length, 2);
    assert.equal(received.length, 4);
    assert.equal(await stopGracefully(k.child), 0);
  } finally {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  }
});
