/**
 * The terraform-gce provider with the real `terraform` binary. Google's provider cannot be
 * downloaded here, so the stacks are built from terraform/standin: the same inputs and outputs
 * as terraform/gce, made of Terraform's built-in terraform_data resources. terraform/gce itself
 * is covered by `terraform fmt -check` and by comparing its inputs and outputs with the stand-in's.
 * Skipped, saying so, only where no terraform binary is installed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as hcl2json } from '@cdktf/hcl2json';
import { findSshd } from '../../src/organizer/providers/bastion/openssh';
import { generateStackKeys } from '../../src/organizer/providers/keys';
import { moduleVariables } from '../../src/organizer/providers/gcePreflight';
import { TerraformError, TerraformProvider, type TerraformProviderOptions } from '../../src/organizer/providers/terraform';
import type { StackSpec } from '../../src/organizer/providers/types';

const repoRoot = path.resolve(__dirname, '..', '..');
const standin = path.join(repoRoot, 'terraform', 'standin');
const gce = path.join(repoRoot, 'terraform', 'gce');

const which = spawnSync('which', ['terraform'], { encoding: 'utf8' });
const terraformBin = which.status === 0 ? which.stdout.trim() : null;
const skip = terraformBin ? false : 'no terraform binary on PATH (`which terraform` found none): install Terraform to run these tests';

let tmp: string;
let argsLog: string;
let shim: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-terraform-'));
  argsLog = path.join(tmp, 'terraform-args.log');
  // Records every command line terraform is started with, then runs the real one.
  shim = path.join(tmp, 'terraform-shim');
  fs.writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argsLog}'\nexec '${terraformBin ?? 'terraform'}' "$@"\n`, { mode: 0o755 });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function spec(name: string, zones = ['europe-west1-b', 'europe-west1-d']): StackSpec {
  const dataDir = path.join(tmp, 'stacks', name);
  fs.mkdirSync(dataDir, { recursive: true });
  return { stackId: `st-${name}`, workshopName: 'nomad-101', attendeeId: `at-${name}`, name, topology: { servers: 3, clientsPerZone: 2, zones }, dataDir };
}

function provider(vars: Record<string, unknown> = {}, opts: Partial<TerraformProviderOptions> = {}): TerraformProvider {
  return new TerraformProvider({
    dataDir: tmp,
    moduleDir: standin,
    terraformBin: shim,
    env: { ...process.env, OPEN_KITCHEN_TF_VARS: JSON.stringify({ dns_domain: 'lab.example.org' }) },
    vars,
    ...opts,
  });
}

function stateList(dir: string): string[] {
  return execFileSync(terraformBin!, ['state', 'list'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n')
    .filter(Boolean);
}

function processesRunning(pattern: string): string[] {
  const r = spawnSync('pgrep', ['-f', pattern], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

describe('terraform-gce provider with the real terraform on the stand-in module', { skip }, () => {
  const keys = generateStackKeys();
  const s = (): StackSpec => spec('ws-ada-1a2b');
  let stackSpec: StackSpec;
  const progress: string[] = [];

  test('apply builds the stack and its outputs become the connection details', async () => {
    stackSpec = s();
    const p = provider();
    const stack = await p.provision(stackSpec, keys, (m) => progress.push(m));
    assert.deepEqual(stack.bastion, {
      host: '198.51.100.7',
      port: 22,
      user: 'workshop',
      hostKeyFingerprint: keys.hostKeyFingerprint,
      hostPublicKey: keys.hostPublicKey,
    });
    assert.equal(stack.attendeePrivateKey, keys.attendeePrivateKey);
    assert.deepEqual(stack.nomad, { host: 'nomad.ws-ada-1a2b.internal', port: 4646 });
    assert.deepEqual(stack.consul, { host: 'consul.ws-ada-1a2b.internal', port: 8500 });
    assert.equal(stack.region, 'europe-west1');
    assert.deepEqual(stack.datacenters, ['sys1', 'dc1']);
    assert.deepEqual(stack.zones, ['europe-west1-b', 'europe-west1-d']);
    assert.deepEqual(stack.dns, { internal: 'ws-ada-1a2b.internal', external: 'ws-ada-1a2b.lab.example.org' });
    assert.equal(stack.nomadToken, null);
    const workDir = path.join(stackSpec.dataDir, 'terraform');
    assert.deepEqual(stack.handle, { workDir, moduleDir: standin });
    // What terraform built: 3 servers, one client group per zone, the rest.
    const built = stateList(workDir);
    assert.equal(built.filter((a) => a.startsWith('terraform_data.server[')).length, 3);
    assert.deepEqual(built.filter((a) => a.startsWith('terraform_data.clients')), [
      'terraform_data.clients["europe-west1-b"]',
      'terraform_data.clients["europe-west1-d"]',
    ]);
  });

  test('progress came from terraform itself, resource by resource', () => {
    assert.ok(progress.includes('terraform init.'), progress.join('\n'));
    assert.ok(progress.includes('terraform: terraform_data.bastion: Creating...'), progress.join('\n'));
    assert.ok(progress.some((m) => /^terraform: terraform_data\.server\[2\]: Creation complete after \d+s \[id=/.test(m)), progress.join('\n'));
    assert.ok(progress.includes('terraform: Plan: 8 to add, 0 to change, 0 to destroy.'), progress.join('\n'));
    assert.ok(progress.includes('terraform: Apply complete! Resources: 8 added, 0 changed, 0 destroyed.'), progress.join('\n'));
  });

  test('the host private key is in a 0600 file in a 0700 folder, never on a command line', () => {
    const workDir = path.join(stackSpec.dataDir, 'terraform');
    assert.equal(fs.statSync(workDir).mode & 0o777, 0o700);
    const varsFile = path.join(workDir, 'terraform.tfvars.json');
    assert.equal(fs.statSync(varsFile).mode & 0o777, 0o600);
    assert.equal(JSON.parse(fs.readFileSync(varsFile, 'utf8')).bastion_host_private_key, keys.hostPrivateKey);
    const lines = fs.readFileSync(argsLog, 'utf8');
    assert.match(lines, /^apply -auto-approve -input=false -json -lock-timeout=120s$/m);
    const secretLine = keys.hostPrivateKey.split('\n')[1];
    assert.ok(!lines.includes(secretLine), 'a line of the private key appeared in terraform arguments');
  });

  test('check() finds the stack alive from its state', async () => {
    assert.equal(await provider().check(stackSpec), 'alive');
  });

  test('applying again changes nothing', async () => {
    const again: string[] = [];
    const stack = await provider().provision(stackSpec, keys, (m) => again.push(m));
    assert.equal(stack.bastion.host, '198.51.100.7');
    assert.ok(again.includes('terraform: Apply complete! Resources: 0 added, 0 changed, 0 destroyed.'), again.join('\n'));
    assert.ok(!again.includes('terraform init.'), 'the stack folder was initialised once');
  });

  test('destroy empties the state and removes the files holding the key; check() then says lost', async () => {
    const p = provider();
    const seen: string[] = [];
    await p.destroy(stackSpec, null, (m) => seen.push(m));
    assert.ok(seen.includes('terraform: Destroy complete! Resources: 8 destroyed.'), seen.join('\n'));
    const workDir = path.join(stackSpec.dataDir, 'terraform');
    assert.deepEqual(stateList(workDir), []);
    assert.ok(!fs.existsSync(path.join(workDir, 'terraform.tfvars.json')));
    assert.ok(!fs.existsSync(path.join(workDir, 'terraform.tfstate.backup')));
    assert.equal(await p.check(stackSpec), 'lost');
    // A second destroy has nothing to do.
    await p.destroy(stackSpec, null, () => undefined);
  });

  test("a failing apply is reported with Terraform's own message, and destroy cleans up what was built", async () => {
    const failing = spec('ws-bob-9f00');
    const p = provider({ fail: true });
    const seen: string[] = [];
    await assert.rejects(p.provision(failing, keys, (m) => seen.push(m)), (err: unknown) => {
      assert.ok(err instanceof TerraformError, String(err));
      assert.match(err.message, /^terraform apply failed: local-exec provisioner error: Error running command/);
      assert.match(err.message, /googleapi: Error 403: Quota 'CPUS' exceeded\.\s+Limit: 24\.0 in region europe-west1\., quotaExceeded/);
      assert.equal(err.diagnostics[0].summary, 'local-exec provisioner error');
      // A quota error comes back the same on every try.
      assert.equal(err.retryable, false);
      return true;
    });
    assert.ok(seen.includes('terraform: terraform_data.bastion: Creation errored after 0s'), seen.join('\n'));
    assert.ok(seen.some((m) => m.startsWith('terraform error: local-exec provisioner error (Error running command')), seen.join('\n'));
    // The servers were built before the bastion failed; destroy removes them.
    const workDir = path.join(failing.dataDir, 'terraform');
    assert.ok(stateList(workDir).includes('terraform_data.server[0]'));
    await p.destroy(failing, null, () => undefined);
    assert.deepEqual(stateList(workDir), []);
  });

  test('a zone outside the region fails with the precondition message, not retried', async () => {
    const bad = spec('ws-cy-0001', ['europe-west1-b', 'us-east1-c']);
    await assert.rejects(
      provider().provision(bad, keys, () => undefined),
      (err: TerraformError) =>
        /Resource precondition failed: Every zone must be in the region europe-west1; got europe-west1-b, us-east1-c\./.test(err.message) && err.retryable === false,
    );
  });

  test('cancelling stops terraform with SIGINT; the error says so and nothing it started keeps running', async () => {
    const slow = spec('ws-dee-5150');
    // A bastion that takes 587 s to build: only a cancel ends it.
    const p = provider({ delay_seconds: 587 });
    const ac = new AbortController();
    const run = p.provision(slow, keys, (m) => {
      if (m === 'terraform: terraform_data.bastion: Creating...') ac.abort();
    }, ac.signal);
    await assert.rejects(run, /terraform apply was cancelled: it was interrupted \(SIGINT\) and stopped\./);
    assert.deepEqual(processesRunning('sleep 587'), []);
    await p.destroy(slow, null, () => undefined);
    assert.deepEqual(stateList(path.join(slow.dataDir, 'terraform')), []);
  });

  test('a terraform that ignores SIGINT is killed after the grace period, and the error says so', async () => {
    const stuck = spec('ws-eve-0bad');
    const stubborn = path.join(tmp, 'terraform-stubborn');
    // Initialises for real, then "applies" by announcing a resource and ignoring SIGINT.
    fs.writeFileSync(
      stubborn,
      [
        '#!/bin/sh',
        `if [ "$1" != apply ]; then exec '${terraformBin}' "$@"; fi`,
        "trap '' INT",
        'echo \'{"type":"apply_start","@message":"terraform_data.bastion: Creating..."}\'',
        'sleep 589',
      ].join('\n'),
      { mode: 0o755 },
    );
    const p = provider({}, { terraformBin: stubborn, killGraceMs: 200 });
    const ac = new AbortController();
    const run = p.provision(stuck, keys, (m) => {
      if (m === 'terraform: terraform_data.bastion: Creating...') ac.abort();
    }, ac.signal);
    await assert.rejects(run, /terraform apply was cancelled: it did not stop within 200 ms of SIGINT and was killed \(SIGKILL\)/);
    assert.deepEqual(processesRunning('sleep 589'), []);
  });

  test('stacks built at the same time each get their own folder and state', async () => {
    const p = provider();
    const [a, b] = [spec('ws-gil-0a0a'), spec('ws-hal-0b0b')];
    const [sa, sb] = await Promise.all([p.provision(a, keys, () => undefined), p.provision(b, keys, () => undefined)]);
    assert.equal(sa.nomad.host, 'nomad.ws-gil-0a0a.internal');
    assert.equal(sb.nomad.host, 'nomad.ws-hal-0b0b.internal');
    assert.notEqual(sa.handle.workDir, sb.handle.workDir);
    await Promise.all([p.destroy(a, sa.handle, () => undefined), p.destroy(b, sb.handle, () => undefined)]);
    assert.deepEqual([await p.check(a), await p.check(b)], ['lost', 'lost']);
  });

  test('a missing terraform binary is a clear error that retrying will not fix', async () => {
    const p = provider({}, { terraformBin: path.join(tmp, 'no-such-terraform') });
    await assert.rejects(
      p.provision(spec('ws-fay-0002'), keys, () => undefined),
      (err: TerraformError) => /The terraform binary ".*no-such-terraform" was not found; install Terraform or set OPEN_KITCHEN_TERRAFORM\./.test(err.message) && !err.retryable,
    );
  });
});

describe('the terraform/ modules', { skip }, () => {
  test('terraform fmt -check finds nothing to reformat', () => {
    const r = spawnSync(terraformBin!, ['fmt', '-check', '-recursive', '-diff', 'terraform/'], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 0, `terraform fmt -check failed:\n${r.stdout}\n${r.stderr}`);
  });
});

describe("terraform/gce's startup scripts, rendered by terraform's templatefile", { skip }, () => {
  const rendered: Record<string, string> = {};
  before(() => {
    // A configuration without resources or providers: it only renders the templates as main.tf does.
    const dir = fs.mkdtempSync(path.join(tmp, 'templates-'));
    const scripts = JSON.stringify(path.join(gce, 'scripts'));
    const servers = 'ws-ada-server-0.ws-ada.internal. ws-ada-server-1.ws-ada.internal. ws-ada-server-2.ws-ada.internal.';
    fs.writeFileSync(
      path.join(dir, 'main.tf'),
      [
        `locals { s = ${scripts} }`,
        'locals { install = templatefile("${local.s}/install.sh.tftpl", { nomad_version = "1.9.7", consul_version = "1.20.6", docker_version = "5:27.5.1-1~debian.12~bookworm" }) }',
        'output "bastion" { value = templatefile("${local.s}/bastion.sh.tftpl", { user = "workshop", permit_open = "nomad.ws-ada.internal:4646 consul.ws-ada.internal:8500" }) }',
        `output "server" { value = join("\\n", [local.install, templatefile("\${local.s}/server.sh.tftpl", { servers = 3, datacenter = "sys1", region = "europe-west1", server_names = "${servers}" })]) }`,
        `output "client" { value = join("\\n", [local.install, templatefile("\${local.s}/client.sh.tftpl", { datacenter = "dc1", region = "europe-west1", server_names = "${servers}" })]) }`,
      ].join('\n'),
    );
    execFileSync(terraformBin!, ['init', '-input=false'], { cwd: dir, stdio: 'ignore' });
    execFileSync(terraformBin!, ['apply', '-auto-approve', '-input=false'], { cwd: dir, stdio: 'ignore' });
    for (const name of ['bastion', 'server', 'client']) {
      rendered[name] = execFileSync(terraformBin!, ['output', '-raw', name], { cwd: dir, encoding: 'utf8' });
    }
  });

  test('every script is valid bash and installs the pinned versions', () => {
    for (const [name, script] of Object.entries(rendered)) {
      const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    }
    for (const name of ['server', 'client']) {
      assert.match(rendered[name], /NOMAD_VERSION="1\.9\.7"/);
      assert.match(rendered[name], /CONSUL_VERSION="1\.20\.6"/);
      assert.match(rendered[name], /"docker-ce=\$DOCKER_VERSION"/);
      assert.match(rendered[name], /volumes \{\n\s+enabled = true/, 'the Consul system job needs Docker volumes');
    }
    assert.match(rendered.server, /datacenter = "sys1"[\s\S]*bootstrap_expect = 3/);
    assert.match(rendered.client, /datacenter = "dc1"/);
  });

  test("the bastion's sshd configuration is valid for OpenSSH and forwards only to Nomad and Consul", (t) => {
    const conf = /<<'CONF'\n([\s\S]*?)\nCONF\n/.exec(rendered.bastion)?.[1];
    assert.ok(conf, rendered.bastion);
    assert.match(conf, /^\s+PermitOpen nomad\.ws-ada\.internal:4646 consul\.ws-ada\.internal:8500$/m);
    assert.match(conf, /^\s+ForceCommand \/usr\/sbin\/nologin$/m);
    assert.match(conf, /^\s+PermitTTY no$/m);
    const sshd = findSshd();
    if (!sshd) {
      t.skip('OpenSSH sshd is not installed, so its own check (sshd -t) cannot run');
      return;
    }
    const dir = fs.mkdtempSync(path.join(tmp, 'sshd-'));
    const hostKey = path.join(dir, 'host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    fs.writeFileSync(path.join(dir, 'sshd_config'), conf.replace('/etc/ssh/ssh_host_ed25519_key', hostKey) + '\n');
    const r = spawnSync(sshd, ['-t', '-f', path.join(dir, 'sshd_config')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `sshd -t: ${r.stderr}`);
  });
});

describe('terraform/gce and terraform/standin', () => {
  async function outputsOf(dir: string): Promise<string[]> {
    const parsed = (await hcl2json('outputs.tf', fs.readFileSync(path.join(dir, 'outputs.tf'), 'utf8'))) as { output: Record<string, unknown> };
    return Object.keys(parsed.output).sort();
  }

  test('have the same outputs', async () => {
    assert.deepEqual(await outputsOf(standin), await outputsOf(gce));
  });

  test('take the same inputs (the stand-in adds only its test switches)', async () => {
    const g = await moduleVariables(gce);
    const s = await moduleVariables(standin);
    const names = (v: { defaults: Record<string, unknown>; required: string[] }) => [...Object.keys(v.defaults), ...v.required].sort();
    assert.deepEqual(
      names(s).filter((n) => n !== 'fail' && n !== 'delay_seconds'),
      names(g),
    );
    // The same defaults, so a pre-flight counts the same for both.
    assert.deepEqual({ ...s.defaults, project: undefined, fail: undefined, delay_seconds: undefined }, { ...g.defaults, project: undefined, fail: undefined, delay_seconds: undefined });
  });
});
