/**
 * The local provider's pieces that need no running stack: the command lines for real
 * `nomad agent -dev` / `consul agent -dev` (the binaries cannot be installed where these tests
 * run, so this is how that path is covered), how binaries are found on PATH, which stack program
 * is started, and what createProvider says for providers that do not exist (yet).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { agentCommands, findAgentBinaries, freeAgentPorts } from '../../src/organizer/providers/devAgents';
import { createProvider, LocalProvider, TerraformProvider } from '../../src/organizer/providers';
import { stackProgram } from '../../src/organizer/providers/local';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-agents-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('dev agent command lines', () => {
  const ports = {
    nomad: { http: 24646, rpc: 24647, serf: 24648 },
    consul: { http: 28500, serfLan: 28301, serfWan: 28302, server: 28300 },
  };
  const cmds = agentCommands({
    binaries: { nomad: '/opt/bin/nomad', consul: '/opt/bin/consul' },
    dir: '/srv/stacks/s1',
    name: 'ws-ada-1234',
    host: '127.0.0.1',
    ports,
  });

  test('consul runs -dev with its own config file', () => {
    assert.equal(cmds.consul.file, '/opt/bin/consul');
    assert.deepEqual(cmds.consul.args, ['agent', '-dev', '-config-file=/srv/stacks/s1/consul-dev.json']);
    assert.equal(cmds.consul.configFile, '/srv/stacks/s1/consul-dev.json');
  });

  test("consul's config binds loopback on the chosen ports and switches off DNS and gRPC", () => {
    const config = JSON.parse(cmds.consul.config) as Record<string, unknown>;
    assert.deepEqual(config, {
      node_name: 'ws-ada-1234-consul',
      bind_addr: '127.0.0.1',
      client_addr: '127.0.0.1',
      ports: { http: 28500, dns: -1, grpc: -1, grpc_tls: -1, serf_lan: 28301, serf_wan: 28302, server: 28300 },
    });
  });

  test('nomad runs -dev with an HCL config naming its ports and its Consul', () => {
    assert.equal(cmds.nomad.file, '/opt/bin/nomad');
    assert.deepEqual(cmds.nomad.args, ['agent', '-dev', '-config=/srv/stacks/s1/nomad-dev.hcl']);
    assert.equal(
      cmds.nomad.config,
      [
        'name      = "ws-ada-1234-nomad"',
        'bind_addr = "127.0.0.1"',
        'ports {',
        '  http = 24646',
        '  rpc  = 24647',
        '  serf = 24648',
        '}',
        'consul {',
        '  address = "127.0.0.1:28500"',
        '}',
        '',
      ].join('\n'),
    );
  });

  test('free ports are distinct', async () => {
    const p = await freeAgentPorts('127.0.0.1');
    const all = [...Object.values(p.nomad), ...Object.values(p.consul)];
    assert.equal(new Set(all).size, all.length);
    for (const port of all) assert.ok(port > 0 && port < 65536);
  });
});

describe('finding nomad and consul', () => {
  test('both on PATH: found; one missing: the lab cluster stands in (null)', () => {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'nomad'), '#!/bin/sh\n', { mode: 0o755 });
    assert.equal(findAgentBinaries({ PATH: bin }), null);
    fs.writeFileSync(path.join(bin, 'consul'), '#!/bin/sh\n', { mode: 0o755 });
    assert.deepEqual(findAgentBinaries({ PATH: `/nonexistent${path.delimiter}${bin}` }), {
      nomad: path.join(bin, 'nomad'),
      consul: path.join(bin, 'consul'),
    });
  });

  test('a file that is not executable does not count', () => {
    const bin = path.join(tmp, 'bin2');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'nomad'), '', { mode: 0o644 });
    fs.writeFileSync(path.join(bin, 'consul'), '', { mode: 0o755 });
    assert.equal(findAgentBinaries({ PATH: bin }), null);
  });
});

describe('createProvider', () => {
  test("'local' is the local provider", () => {
    const p = createProvider('local', { dataDir: tmp });
    assert.ok(p instanceof LocalProvider);
    assert.equal(p.name, 'local');
  });

  test("'terraform-gce' is the Terraform provider, with terraform/gce of this repository as its module", () => {
    const p = createProvider('terraform-gce', { dataDir: tmp, env: {} });
    assert.ok(p instanceof TerraformProvider);
    assert.equal(p.name, 'terraform-gce');
    assert.equal(p.moduleDir, path.resolve(__dirname, '..', '..', 'terraform', 'gce'));
  });

  test('an unknown name lists the known ones', () => {
    assert.throws(() => createProvider('aws' as 'local', { dataDir: tmp }), /Unknown provider "aws"; known providers: local, terraform-gce/);
  });
});

describe('stack program', () => {
  test('from source it runs src/cli/stack.ts through tsx, from the repository root', () => {
    const p = stackProgram();
    assert.equal(p.command, process.execPath);
    assert.deepEqual(p.args.slice(0, 2), ['--import', 'tsx']);
    assert.ok(p.args[2].endsWith(path.join('src', 'cli', 'stack.ts')));
    assert.ok(fs.existsSync(p.args[2]));
    assert.ok(fs.existsSync(path.join(p.cwd, 'package.json')));
  });
});
