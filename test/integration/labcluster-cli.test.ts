/**
 * `labcluster` as a process (src/cli/labcluster.ts): prints the Nomad and Consul addresses, answers
 * on them, runs the Consul system job unless --no-consul, rejects bad flags with usage, and
 * stops cleanly on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const cli = path.join(__dirname, '..', '..', 'src', 'cli', 'labcluster.ts');

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const printed = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) resolve(m);
      };
      child.stdout.on('data', check);
      void exited.then(() => reject(new Error(`exited before printing ${re}: ${out}${err}`)));
      check();
    });
  return { child, exited, printed, output: () => out + err };
}

test('prints its URLs, serves Nomad and Consul, stops on SIGTERM', async (t) => {
  const p = run(['--nomad-port', '0', '--consul-port', '0', '--clients-per-zone', '1', '--name', 'cli-test']);
  t.after(() => p.child.kill('SIGKILL'));
  const nomad = (await p.printed(/NOMAD_ADDR=(http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
  const consul = (await p.printed(/CONSUL_HTTP_ADDR=(http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
  const nodes = (await (await fetch(`${nomad}/v1/nodes`)).json()) as { Datacenter: string }[];
  assert.equal(nodes.filter((n) => n.Datacenter === 'dc1').length, 2, 'one client in each of the two default zones');
  const jobs = (await (await fetch(`${nomad}/v1/jobs`)).json()) as { ID: string; Type: string }[];
  assert.deepEqual(jobs.map((j) => [j.ID, j.Type]), [['consul', 'system']]);
  assert.equal((await fetch(`${consul}/v1/status/leader`)).status, 200);
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('a bad flag exits 64 with the usage', async () => {
  const p = run(['--nomad-port', 'many']);
  assert.equal(await p.exited, 64);
  assert.match(p.output(), /--nomad-port must be a port number/);
  assert.match(p.output(), /Usage: node dist\/labcluster\.js/);
});
