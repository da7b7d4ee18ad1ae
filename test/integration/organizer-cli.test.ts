/**
 * `organizer.ts` as an organizer runs it: keygen, serve (token printed once, clean stop on
 * SIGTERM), and the headless commands against the running service.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
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

function run(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...cli, ...args], { cwd: repoRoot, env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Starts `serve` and resolves once it prints its URL. */
async function serve(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; url: string; output: () => string }> {
  const child = spawn(process.execPath, [...cli, 'serve', '--port', '0', ...args], { cwd: repoRoot, env: cleanEnv() });
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
  for (const word of ['serve', 'keygen --out FILE', '--tls-cert', 'OPEN_KITCHEN_ORGANIZER_TOKEN', 'attendees import']) {
    assert.ok(r.stdout.includes(word), `help mentions ${word}`);
  }
  const bad = await run(['frobnicate']);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /unknown command "frobnicate"/);
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

  const csv = path.join(dir, 'roster.csv');
  fs.writeFileSync(csv, 'email,name,team\nada@example.com,Ada,red\nbroken,Nobody,\nada@example.com,Ada again,\ngrace@example.com,Grace,\n');
  const imported = await run(['attendees', 'import', '--workshop', 'cli-ws', '--csv', csv, ...api]);
  assert.equal(imported.code, 2, 'bad rows make the exit code non-zero');
  assert.match(imported.stdout, /Imported 2 attendees; 2 rows not imported\./);
  assert.match(imported.stdout, /line 3 \(broken\): email: not a valid email address/);
  assert.match(imported.stdout, /line 4 \(ada@example.com\): duplicate of attendees\.0 in this import/);

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
