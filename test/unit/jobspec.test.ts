/**
 * HCL2 job files → Nomad job JSON. Expected shapes follow Nomad's jobspec2 behaviour and the
 * api package's JSON field names (hashicorp/nomad v1.9.7: jobspec2/parse_job.go,
 * jobspec2/hcl_conversions.go, api/jobs.go, api/tasks.go; summarised in the shared
 * nomad-consul-api reference §4).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  canonicalizeJob,
  formatMultiError,
  formatWarnings,
  goDuration,
  JobParseError,
  parseGoDuration,
  parseJobHCL,
  resolveDockerImage,
  validateJob,
  type NomadJob,
} from '../../src/labcluster/jobspec';

const jobsDir = path.join(__dirname, '..', '..', 'jobs');
const jobFiles = readdirSync(jobsDir).filter((f) => f.endsWith('.nomad.hcl'));
const readJob = (f: string): string => readFileSync(path.join(jobsDir, f), 'utf8');

async function parseError(hcl: string, opts: Parameters<typeof parseJobHCL>[1] = {}): Promise<JobParseError> {
  try {
    await parseJobHCL(hcl, opts);
  } catch (e) {
    assert.ok(e instanceof JobParseError, `expected JobParseError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the parse to fail');
}

const group = (job: NomadJob, name: string) => {
  const g = job.TaskGroups.find((x) => x.Name === name);
  assert.ok(g, `group ${name}`);
  return g;
};

describe('the workshop job files (jobs/)', () => {
  test('there are job files for every lesson', () => {
    for (const f of ['consul.nomad.hcl', 'web.nomad.hcl', 'frontend.nomad.hcl', 'menu.nomad.hcl', 'menu-pinned.nomad.hcl', 'cache.nomad.hcl', 'sysdig.nomad.hcl', 'inventory.nomad.hcl']) {
      assert.ok(jobFiles.includes(f), `jobs/${f} exists`);
    }
  });

  for (const f of jobFiles) {
    test(`${f} parses, validates without errors and uses only images the lab can pull`, async () => {
      const job = await parseJobHCL(readJob(f), { filename: f, canonicalize: true });
      assert.ok(job.ID);
      assert.ok(job.TaskGroups.length > 0);
      const v = validateJob(job);
      assert.deepEqual(v.errors, []);
      assert.deepEqual(v.warnings, []);
      for (const g of job.TaskGroups) {
        for (const t of g.Tasks) {
          assert.equal(t.Driver, 'docker');
          const image = String((t.Config as { image?: unknown }).image);
          const r = resolveDockerImage(image);
          assert.ok(r.ok, `${f}: ${image}: ${r.ok ? '' : r.error}`);
        }
      }
    });
  }

  test('legacy/web-0.x.nomad shows a Nomad 0.x (HCL1) job breaking, and what 1.x still tolerates once fixed', async () => {
    const legacy = readFileSync(path.join(jobsDir, 'legacy', 'web-0.x.nomad'), 'utf8');
    const e = await parseError(legacy, { filename: 'web-0.x.nomad' });
    assert.equal(e.message, 'Failed to parse job: web-0.x.nomad:39,9-10: Invalid argument name; Argument names must not be quoted.');
    assert.equal(legacy.split('\n')[e.line - 1].trim(), '"APP_MODE" = "legacy"');
    const fixed = await parseJobHCL(legacy.replace('"APP_MODE" =', 'APP_MODE ='), { canonicalize: true });
    const v = validateJob(fixed);
    assert.deepEqual(v.errors, []);
    assert.deepEqual(v.warnings, [
      'Group "web" has warnings: 1 error occurred:\n\t* Task "http-echo": task network resources have been deprecated as of Nomad 0.12.0. Please configure networking via group network block.\n\n',
    ]);
  });

  test('consul.nomad.hcl is one system job: server group on sys1, client group on dc1', async () => {
    const job = await parseJobHCL(readJob('consul.nomad.hcl'), { filename: 'consul.nomad.hcl' });
    assert.equal(job.ID, 'consul');
    assert.equal(job.Type, 'system');
    assert.deepEqual(job.Datacenters, ['sys1', 'dc1']);
    assert.deepEqual(
      job.TaskGroups.map((g) => g.Name),
      ['server', 'client'],
    );
    assert.deepEqual(group(job, 'server').Constraints, [{ LTarget: '${node.datacenter}', RTarget: 'sys1', Operand: '=' }]);
    assert.deepEqual(group(job, 'client').Constraints, [{ LTarget: '${node.datacenter}', RTarget: 'dc1', Operand: '=' }]);
    const server = group(job, 'server');
    const ports = server.Networks?.[0].ReservedPorts?.map((p) => `${p.Label}:${p.Value}`);
    assert.deepEqual(ports, ['http:8500', 'dns:8600', 'server:8300', 'serf_lan:8301', 'serf_wan:8302']);
    assert.equal(server.Networks?.[0].DynamicPorts, null);
    const cfg = server.Tasks[0].Config as { image: string; args: string[] };
    assert.equal(cfg.image, 'hashicorp/consul:1.19.2', 'var.consul_image default is interpolated');
    assert.ok(cfg.args.includes('-datacenter=${node.datacenter}'), 'runtime interpolation kept verbatim');
    assert.ok(cfg.args.includes('-retry-join=consul-server.internal'));
  });

  test('web.nomad.hcl registers a Consul service with an HTTP check on a dynamic port', async () => {
    const job = await parseJobHCL(readJob('web.nomad.hcl'));
    const g = group(job, 'web');
    assert.equal(g.Count, 3);
    assert.deepEqual(g.Networks, [{ Mode: '', DynamicPorts: [{ Label: 'http', Value: 0, To: 5678, HostNetwork: '' }], ReservedPorts: null }]);
    assert.equal(g.Services?.[0].Name, 'web');
    assert.equal(g.Services?.[0].PortLabel, 'http');
    assert.deepEqual(g.Services?.[0].Checks?.[0], { Type: 'http', Path: '/', Interval: 10e9, Timeout: 2e9 });
    assert.deepEqual(g.Tasks[0].Resources, { CPU: 100, MemoryMB: 64 });
  });

  test('frontend.nomad.hcl spreads over the GCE zone attribute', async () => {
    const job = await parseJobHCL(readJob('frontend.nomad.hcl'));
    assert.deepEqual(group(job, 'frontend').Spreads, [{ Attribute: '${attr.platform.gce.zone}', Weight: 100, SpreadTarget: null }]);
  });

  test('menu.nomad.hcl uses the moving tag, menu-pinned.nomad.hcl the same job pinned', async () => {
    const moving = await parseJobHCL(readJob('menu.nomad.hcl'));
    const pinned = await parseJobHCL(readJob('menu-pinned.nomad.hcl'));
    assert.equal(moving.ID, pinned.ID, 'the pinned file is the fix for the same job');
    assert.equal((moving.TaskGroups[0].Tasks[0].Config as { image: string }).image, 'openkitchen/menu-api:1.4');
    assert.equal((pinned.TaskGroups[0].Tasks[0].Config as { image: string }).image, 'openkitchen/menu-api:1.4.1');
  });

  test('cache.nomad.hcl injects configuration with templates and a relative docker volume', async () => {
    const job = await parseJobHCL(readJob('cache.nomad.hcl'));
    const t = job.TaskGroups[0].Tasks[0];
    assert.equal(t.Templates?.length, 2);
    assert.equal(t.Templates?.[0].DestPath, 'local/redis.conf');
    assert.match(String(t.Templates?.[0].EmbeddedTmpl), /maxmemory \{\{ keyOrDefault "kitchen\/cache\/maxmemory" "64mb" \}\}/);
    assert.equal(t.Templates?.[1].Envvars, true);
    assert.deepEqual((t.Config as { volumes: string[] }).volumes, ['local/redis.conf:/usr/local/etc/redis/redis.conf']);
    assert.deepEqual(t.Env, { REDIS_ARGS: '--save 60 1' });
    assert.deepEqual(job.TaskGroups[0].EphemeralDisk, { Sticky: true, Migrate: true, SizeMB: 300 });
  });

  test('sysdig.nomad.hcl is a privileged system job mounting host paths', async () => {
    const job = await parseJobHCL(readJob('sysdig.nomad.hcl'));
    assert.equal(job.Type, 'system');
    const cfg = job.TaskGroups[0].Tasks[0].Config as { privileged: boolean; volumes: string[] };
    assert.equal(cfg.privileged, true);
    assert.ok(cfg.volumes.includes('/var/run/docker.sock:/host/var/run/docker.sock'));
  });
});

describe('parseJobHCL: mapping HCL to the API job', () => {
  const src = `job "shop" {
  datacenters = ["dc1"]
  type = "service"
  priority = 70
  meta {
    owner = "kitchen"
  }

  constraint {
    attribute = "\${attr.kernel.name}"
    value     = "linux"
  }
  constraint {
    distinct_hosts = true
  }
  constraint {
    attribute = "\${attr.nomad.version}"
    version   = ">= 1.6"
  }
  constraint {
    attribute = "\${meta.rack}"
    regexp    = "r[0-9]+"
  }
  constraint {
    distinct_property = "\${meta.rack}"
    value             = "2"
  }

  group "zeta" {
    task "z" {
      driver = "exec"
      config {
        command = "/bin/true"
      }
    }
  }

  group "alpha" {
    count = 2
    restart {
      attempts = 5
      delay    = "1m30s"
      mode     = "delay"
    }
    update {
      max_parallel = 2
      canary       = 1
    }
    affinity {
      attribute = "\${node.class}"
      value     = "fast"
      weight    = 50
    }
    volume "data" {
      type      = "host"
      source    = "shop-data"
      read_only = true
    }
    task "app" {
      driver = "docker"
      config {
        image = "nginx:1.27.3"
        ports = ["http"]
        mount {
          type   = "bind"
          source = "local"
          target = "/etc/app"
        }
      }
      volume_mount {
        volume      = "data"
        destination = "/data"
      }
      env = {
        "APP.MODE" = "prod"
        WORKERS    = 4
      }
      meta {
        team = "pastry"
      }
      resources {
        cpu        = 250
        memory     = 96
        memory_max = 256
      }
      logs {
        max_files     = 3
        max_file_size = 5
      }
      kill_timeout = "20s"
      service {
        name     = "app-\${NOMAD_ALLOC_INDEX}"
        provider = "nomad"
      }
    }
  }
}
`;

  test('labels become names; groups keep source order; fields use API names', async () => {
    const job = await parseJobHCL(src);
    assert.equal(job.ID, 'shop');
    assert.equal(job.Name, 'shop');
    assert.equal(job.Priority, 70);
    assert.deepEqual(job.Meta, { owner: 'kitchen' });
    assert.deepEqual(
      job.TaskGroups.map((g) => g.Name),
      ['zeta', 'alpha'],
    );
    assert.deepEqual(job.TaskGroups[0].Tasks[0], { Name: 'z', Driver: 'exec', Config: { command: '/bin/true' } });
  });

  test('constraint operators and shorthands map to LTarget/Operand/RTarget', async () => {
    const job = await parseJobHCL(src);
    assert.deepEqual(job.Constraints, [
      { LTarget: '${attr.kernel.name}', RTarget: 'linux', Operand: '=' },
      { LTarget: '', RTarget: '', Operand: 'distinct_hosts' },
      { LTarget: '${attr.nomad.version}', RTarget: '>= 1.6', Operand: 'version' },
      { LTarget: '${meta.rack}', RTarget: 'r[0-9]+', Operand: 'regexp' },
      { LTarget: '${meta.rack}', RTarget: '2', Operand: 'distinct_property' },
    ]);
  });

  test('group blocks: restart, update, affinity, volume', async () => {
    const g = group(await parseJobHCL(src), 'alpha');
    assert.equal(g.Count, 2);
    assert.deepEqual(g.RestartPolicy, { Attempts: 5, Delay: 90e9, Mode: 'delay' });
    assert.deepEqual(g.Update, { MaxParallel: 2, Canary: 1 });
    assert.deepEqual(g.Affinities, [{ LTarget: '${node.class}', RTarget: 'fast', Operand: '=', Weight: 50 }]);
    assert.deepEqual(g.Volumes, { data: { Name: 'data', Type: 'host', Source: 'shop-data', ReadOnly: true } });
  });

  test('task blocks: driver config kept as written, env as attribute, resources, logs, services', async () => {
    const t = group(await parseJobHCL(src), 'alpha').Tasks[0];
    assert.deepEqual(t.Config, { image: 'nginx:1.27.3', ports: ['http'], mount: [{ type: 'bind', source: 'local', target: '/etc/app' }] });
    assert.deepEqual(t.Env, { 'APP.MODE': 'prod', WORKERS: '4' });
    assert.deepEqual(t.Meta, { team: 'pastry' });
    assert.deepEqual(t.Resources, { CPU: 250, MemoryMB: 96, MemoryMaxMB: 256 });
    assert.deepEqual(t.LogConfig, { MaxFiles: 3, MaxFileSizeMB: 5 });
    assert.equal(t.KillTimeout, 20e9);
    assert.deepEqual(t.VolumeMounts, [{ Volume: 'data', Destination: '/data' }]);
    assert.deepEqual(t.Services, [{ Name: 'app-${NOMAD_ALLOC_INDEX}', Provider: 'nomad' }]);
  });

  test('templates get jobspec2 normalisation even without canonicalize', async () => {
    const job = await parseJobHCL(`job "t" {
  group "g" {
    task "x" {
      driver = "docker"
      template {
        data        = "port={{ env \\"NOMAD_PORT_http\\" }}"
        destination = "local/app.env"
        env         = true
      }
    }
  }
}
`);
    assert.deepEqual(job.TaskGroups[0].Tasks[0].Templates, [
      { EmbeddedTmpl: 'port={{ env "NOMAD_PORT_http" }}', DestPath: 'local/app.env', Envvars: true, ChangeMode: 'restart', Perms: '0644', Splay: 5e9, ErrMissingKey: false },
    ]);
  });

  test('dynamic blocks expand with their iterator', async () => {
    const job = await parseJobHCL(`variable "ports" {
  default = { http = 8080, admin = 9000 }
}
job "dyn" {
  group "g" {
    network {
      dynamic "port" {
        for_each = var.ports
        iterator = p
        labels   = [p.key]
        content {
          to = p.value
        }
      }
    }
    task "t" {
      driver = "docker"
    }
  }
}
`);
    assert.deepEqual(job.TaskGroups[0].Networks?.[0].DynamicPorts, [
      { Label: 'admin', Value: 0, To: 9000, HostNetwork: '' },
      { Label: 'http', Value: 0, To: 8080, HostNetwork: '' },
    ]);
  });

  test('a task directly under job becomes its own group', async () => {
    const job = await parseJobHCL('job "solo" {\n  task "only" {\n    driver = "exec"\n  }\n}\n');
    assert.deepEqual(job.TaskGroups, [{ Name: 'only', Tasks: [{ Name: 'only', Driver: 'exec', Config: null }] }]);
  });

  test('explicit id/name override the label', async () => {
    const job = await parseJobHCL('job "label" {\n  name = "Pretty name"\n}\n');
    assert.equal(job.ID, 'label');
    assert.equal(job.Name, 'Pretty name');
  });

  test('batch periodic job gets SpecType cron', async () => {
    const job = await parseJobHCL('job "nightly" {\n  type = "batch"\n  periodic {\n    cron = "0 3 * * *"\n    prohibit_overlap = true\n  }\n}\n');
    assert.deepEqual(job.Periodic, { Spec: '0 3 * * *', ProhibitOverlap: true, SpecType: 'cron' });
  });

  test('a JSON job ({"Job": …}) is accepted as nomad job run -json does', async () => {
    const job = await parseJobHCL(JSON.stringify({ Job: { ID: 'j', Name: 'j', TaskGroups: [{ Name: 'g', Tasks: [{ Name: 't', Driver: 'exec' }] }] } }));
    assert.equal(job.ID, 'j');
    assert.equal(job.TaskGroups[0].Tasks[0].Driver, 'exec');
  });
});

describe('parseJobHCL: variables, locals and interpolation', () => {
  const src = `variable "replicas" {
  type    = number
  default = 2
}
variable "image" {
  type = string
}
locals {
  tag  = "\${local.base}-stable"
  base = "v1"
}
job "vars" {
  datacenters = ["dc1"]
  group "g" {
    count = var.replicas
    task "t" {
      driver = "docker"
      config {
        image   = var.image
        args    = ["--dc", "\${node.datacenter}", "--port", "\${NOMAD_PORT_http}", "--tag", local.tag, "$\${not_interpolated}"]
        labels  = { replicas = "\${var.replicas * 10}" }
        command = upper("x-\${var.image}")
      }
    }
  }
}
`;

  test('var-file values, defaults, locals in any order; runtime references stay verbatim', async () => {
    const job = await parseJobHCL(src, { variables: 'image = "redis:7.2.5"\nreplicas = "3"\n' });
    const g = job.TaskGroups[0];
    assert.equal(g.Count, 3);
    assert.deepEqual(g.Tasks[0].Config, {
      image: 'redis:7.2.5',
      args: ['--dc', '${node.datacenter}', '--port', '${NOMAD_PORT_http}', '--tag', 'v1-stable', '${not_interpolated}'],
      labels: { replicas: 30 }, // a lone interpolation keeps its type, as in HCL
      command: 'X-REDIS:7.2.5',
    });
  });

  test('for expressions, variables blocks and functions (as in jobspec2 TestParse_VarsAndFunctions)', async () => {
    const job = await parseJobHCL(`variables {
  region_var = "default"
  dcs        = ["dc1", "dc2"]
  ports      = { http = 80, admin = 9000 }
}
job "example" {
  datacenters = [for s in var.dcs : upper(s)]
  region      = var.region_var
  meta        = {for k, v in var.ports : k => v if v > 100}
}
`, { variables: 'region_var = "aug"\n' });
    assert.deepEqual(job.Datacenters, ['DC1', 'DC2']);
    assert.equal(job.Region, 'aug');
    assert.deepEqual(job.Meta, { admin: '9000' });
  });

  test('an unset variable without default is an error naming it', async () => {
    const e = await parseError(src, { filename: 'vars.nomad.hcl' });
    assert.match(e.message, /^Failed to parse job: vars\.nomad\.hcl:5,1-9: Unset variable "image"; A used variable must be set or have a default value/);
    assert.equal(e.line, 5);
    assert.equal(e.column, 1);
  });

  test('a reference to an undeclared variable is reported where it is used', async () => {
    const e = await parseError('job "x" {\n  group "g" {\n    count = var.nope\n  }\n}\n', { filename: 'x.hcl' });
    assert.equal(e.message, 'Failed to parse job: x.hcl:3,13-14: Unsupported attribute; This object does not have an attribute named "nope".');
  });

  test('a syntax error in the var file is reported against it', async () => {
    const e = await parseError(src, { variables: 'image = \n' });
    assert.match(e.message, /^Failed to parse job: variables\.hcl:1,\d+-/);
  });
});

describe('parseJobHCL: errors carry file:line,col like Nomad', () => {
  test('a syntax error (Nomad issue #15386: several attributes on one line)', async () => {
    const e = await parseError('job "a" {\n  group "g" { count = 1 \n task "t" { driver = "docker" config { image = "x" } } }\n}\n', { filename: 'bad.nomad.hcl' });
    assert.equal(
      e.message,
      "Failed to parse job: bad.nomad.hcl:2,25-3,1: Invalid single-argument block definition; An argument definition on the same line as its containing block creates a single-line block definition, which must also be closed on the same line. Place the block's closing brace immediately after the argument definition.",
    );
    assert.equal(e.filename, 'bad.nomad.hcl');
    assert.equal(e.line, 2);
    assert.equal(e.column, 25);
    assert.deepEqual(
      { endLine: e.diagnostics[0].endLine, endColumn: e.diagnostics[0].endColumn },
      { endLine: 3, endColumn: 1 },
    );
  });

  test('several syntax errors: the first one and a count, as hcl.Diagnostics.Error() prints them', async () => {
    const e = await parseError('job "a" {\n  type = "unterminated\n}\n');
    assert.match(e.message, /^Failed to parse job: input\.hcl:2,23-3,1: Invalid multi-line string; Quoted strings may not be split over multiple lines\. .*, and 2 other diagnostic\(s\)$/);
    assert.equal(e.diagnostics.length, 3);
  });

  test('a missing expression', async () => {
    const e = await parseError('job "a" {\n  group "b" {\n    count = \n  }\n}\n');
    assert.equal(e.message, 'Failed to parse job: input.hcl:3,13-4,1: Invalid expression; Expected the start of an expression, but found an invalid expression token.');
  });

  test('an argument from another Nomad version (unsupported argument) points at its name', async () => {
    const hcl = 'job "old" {\n  group "g" {\n    task "t" {\n      driver = "docker"\n      resources {\n        cpu = 100\n        iops = 10\n        network_speed = 10\n      }\n    }\n  }\n}\n';
    const e = await parseError(hcl, { filename: 'old.nomad.hcl' });
    assert.equal(e.message, 'Failed to parse job: old.nomad.hcl:8,9-22: Unsupported argument; An argument named "network_speed" is not expected here.');
    assert.equal(e.line, 8);
    assert.equal(e.column, 9);
  });

  test('an unsupported block and a block written as an argument', async () => {
    const e = await parseError('job "x" {\n  group "g" {\n    port "http" {\n    }\n    update = {}\n  }\n}\n');
    assert.equal(
      e.message,
      'Failed to parse job: input.hcl:5,5-11: Unsupported argument; An argument named "update" is not expected here. Did you mean to define a block of type "update"?\ninput.hcl:3,5-9: Unsupported block type; Blocks of type "port" are not expected here.',
    );
    assert.equal(e.diagnostics.length, 2);
  });

  test('an argument written as a block', async () => {
    const e = await parseError('job "x" {\n  type {\n  }\n}\n');
    assert.match(e.message, /input\.hcl:2,3-7: Unsupported block type; Blocks of type "type" are not expected here\. Did you mean to define argument "type"\?/);
  });

  test('duplicate single blocks', async () => {
    const e = await parseError('job "x" {\n  update {\n  }\n  update {\n  }\n}\n');
    assert.equal(e.message, 'Failed to parse job: input.hcl:4,3-9: Duplicate update block; Only one update block is allowed. Another was defined at input.hcl:2,3-9.');
  });

  test('a group without a name', async () => {
    const e = await parseError('job "x" {\n  group {\n  }\n}\n');
    assert.equal(e.message, 'Failed to parse job: input.hcl:2,3-8: Missing name for group; All group blocks must have 1 labels (name).');
  });

  test('wrong value types and bad durations', async () => {
    let e = await parseError('job "x" {\n  group "g" {\n    count = "many"\n  }\n}\n');
    assert.equal(e.message, 'Failed to parse job: input.hcl:3,13-14: Unsuitable value type; Unsuitable value: a number is required');
    e = await parseError('job "x" {\n  group "g" {\n    restart {\n      delay = "15 seconds"\n    }\n  }\n}\n');
    assert.equal(e.message, 'Failed to parse job: input.hcl:4,15-16: Unsuitable value type; Unsuitable duration value: time: unknown unit " seconds" in duration "15 seconds"');
  });

  test('no job block, two job blocks, empty input', async () => {
    // HCL reports this one without a source range; Go prints the nil range as <nil>
    assert.equal((await parseError('variable "x" {\n  default = 1\n}\n')).message, 'Failed to parse job: <nil>: Missing job block; A job block is required');
    assert.equal(
      (await parseError('job "a" {\n}\njob "b" {\n}\n')).message,
      'Failed to parse job: input.hcl:3,1-4: Duplicate job block; Only one block of type "job" is allowed. Previous definition was at input.hcl:1,1-4.',
    );
    assert.equal((await parseError('')).message, 'Job spec is empty');
    assert.equal((await parseError('  \n')).message, 'Failed to parse job: <nil>: Missing job block; A job block is required');
  });

  test('unknown top-level content', async () => {
    const e = await parseError('jobb "a" {\n}\n');
    assert.equal(e.message, 'Failed to parse job: input.hcl:1,1-5: Unsupported block type; Blocks of type "jobb" are not expected here.');
  });

  test('positions stay right after heredocs, comments and multi-line lists', async () => {
    const hcl = `# comment { with braces }
job "x" {
  /* block
     comment */
  datacenters = [
    "dc1", # trailing
    "dc2",
  ]
  group "g" {
    task "t" {
      driver = "docker"
      template {
        data = <<EOT
{ "not": "a block" }
  bogus = 1
EOT
        destination = "local/x"
      }
      config {
        args = ["\${upper(lookup({a = "}"}, "a"))}"]
      }
      bogus = true
    }
  }
}
`;
    const e = await parseError(hcl);
    assert.equal(e.message, 'Failed to parse job: input.hcl:22,7-12: Unsupported argument; An argument named "bogus" is not expected here.');
  });
});

describe('canonicalizeJob: the api package defaults', () => {
  test('service job defaults', async () => {
    const job = canonicalizeJob(await parseJobHCL('job "svc" {\n  group "g" {\n    task "t" {\n      driver = "docker"\n      service {\n        port = "http"\n      }\n    }\n  }\n}\n'));
    assert.equal(job.Namespace, 'default');
    assert.equal(job.Region, 'global');
    assert.equal(job.Type, 'service');
    assert.equal(job.Priority, 50);
    assert.equal(job.Datacenters, null, 'Datacenters ["*"] is a server-side default');
    assert.deepEqual(job.Update, { Stagger: 30e9, MaxParallel: 1, HealthCheck: 'checks', MinHealthyTime: 10e9, HealthyDeadline: 300e9, ProgressDeadline: 600e9, Canary: 0, AutoRevert: false, AutoPromote: false });
    const g = job.TaskGroups[0];
    assert.equal(g.Count, 1);
    assert.deepEqual(g.EphemeralDisk, { Sticky: false, Migrate: false, SizeMB: 300 });
    assert.deepEqual(g.RestartPolicy, { Delay: 15e9, Attempts: 2, Interval: 1800e9, Mode: 'fail', RenderTemplates: false });
    assert.deepEqual(g.ReschedulePolicy, { Attempts: 0, Interval: 0, Delay: 30e9, DelayFunction: 'exponential', MaxDelay: 3600e9, Unlimited: true });
    assert.deepEqual(g.Update, job.Update);
    const t = g.Tasks[0];
    assert.deepEqual(t.Resources, { CPU: 100, Cores: 0, MemoryMB: 300 });
    assert.equal(t.KillTimeout, 5e9);
    assert.deepEqual(t.LogConfig, { MaxFiles: 10, MaxFileSizeMB: 10, Disabled: false });
    assert.equal(t.Services?.[0].Name, 'svc-g-t');
    assert.equal(t.Services?.[0].Provider, 'consul');
    assert.equal(t.Services?.[0].AddressMode, 'auto');
  });

  test('batch and system jobs get their own restart/reschedule defaults and no update block', async () => {
    const batch = await parseJobHCL('job "b" {\n  type = "batch"\n  group "g" {\n    task "t" {\n      driver = "exec"\n    }\n  }\n}\n', { canonicalize: true });
    assert.equal(batch.Update, null);
    assert.deepEqual(batch.TaskGroups[0].RestartPolicy, { Delay: 15e9, Attempts: 3, Interval: 86400e9, Mode: 'fail', RenderTemplates: false });
    assert.deepEqual(batch.TaskGroups[0].ReschedulePolicy, { Attempts: 1, Interval: 86400e9, Delay: 5e9, DelayFunction: 'constant', MaxDelay: 0, Unlimited: false });
    const sys = await parseJobHCL('job "s" {\n  type = "system"\n  group "g" {\n    task "t" {\n      driver = "exec"\n    }\n  }\n}\n', { canonicalize: true });
    assert.equal(sys.TaskGroups[0].ReschedulePolicy, null);
    assert.equal(sys.TaskGroups[0].Update, null);
  });

  test('group update merges over the job update; user values win over defaults', async () => {
    const job = await parseJobHCL(
      'job "u" {\n  update {\n    max_parallel = 2\n  }\n  group "g" {\n    count = 3\n    update {\n      canary = 1\n    }\n    task "t" {\n      driver = "exec"\n      resources {\n        memory = 64\n      }\n    }\n  }\n}\n',
      { canonicalize: true },
    );
    assert.equal(job.Update?.MaxParallel, 2);
    assert.equal(job.TaskGroups[0].Update?.MaxParallel, 2);
    assert.equal(job.TaskGroups[0].Update?.Canary, 1);
    assert.equal(job.TaskGroups[0].Count, 3);
    assert.deepEqual(job.TaskGroups[0].Tasks[0].Resources, { CPU: 100, Cores: 0, MemoryMB: 64 });
  });

  test('server defaults: datacenters "*" and node pool "default"', async () => {
    const job = canonicalizeJob(await parseJobHCL('job "x" {\n  group "g" {\n    task "t" {\n      driver = "exec"\n    }\n  }\n}\n'), { server: true });
    assert.deepEqual(job.Datacenters, ['*']);
    assert.equal(job.NodePool, 'default');
    // the group keeps the full update strategy; the job keeps Stagger and MaxParallel only
    assert.equal(job.TaskGroups[0].Update?.HealthCheck, 'checks');
    assert.deepEqual(job.Update, { Stagger: 30e9, MaxParallel: 1, HealthCheck: '', MinHealthyTime: 0, HealthyDeadline: 0, ProgressDeadline: 0, Canary: 0, AutoRevert: false, AutoPromote: false });
  });

  test('does not modify its input', async () => {
    const parsed = await parseJobHCL('job "x" {\n  group "g" {\n  }\n}\n');
    const before = JSON.stringify(parsed);
    canonicalizeJob(parsed);
    assert.equal(JSON.stringify(parsed), before);
  });
});

describe('validateJob: Nomad wording', () => {
  const parse = (hcl: string) => parseJobHCL(hcl);

  test('a group without tasks and a task without driver', async () => {
    const v = validateJob(await parse('job "x" {\n  datacenters = ["dc1"]\n  group "empty" {\n  }\n  group "g" {\n    task "t" {\n    }\n  }\n}\n'));
    assert.deepEqual(v.errors, [
      'Task group empty validation failed: 1 error occurred:\n\t* Missing tasks for task group\n\n',
      'Task group g validation failed: 1 error occurred:\n\t* Task t validation failed: 1 error occurred:\n\t* Missing task driver\n\n\n\n',
    ]);
  });

  test('job-level problems', async () => {
    const v = validateJob({ ID: 'has space', Name: 'x', Type: 'cron', Priority: 200, TaskGroups: [] });
    assert.deepEqual(v.errors, ['Job ID contains a space', 'Invalid job type: "cron"', 'Job priority must be between [1, 100]', 'Missing job task groups']);
  });

  test('duplicate groups and tasks, system count, constraint problems', async () => {
    const job: NomadJob = {
      ID: 'sys',
      Name: 'sys',
      Type: 'system',
      Datacenters: ['dc1'],
      Constraints: [{ LTarget: '${node.datacenter}', RTarget: '', Operand: '=' }],
      TaskGroups: [
        { Name: 'g', Count: 2, Tasks: [{ Name: 't', Driver: 'docker', Config: null }, { Name: 't', Driver: 'docker', Config: null }] },
        { Name: 'g', Tasks: [{ Name: 'u', Driver: 'docker', Config: null }] },
      ],
    };
    const v = validateJob(job);
    assert.ok(v.errors.includes('Constraint 1 validation failed: 1 error occurred:\n\t* Operator "=" requires an RTarget\n\n'));
    assert.ok(v.errors.includes("Job task group 2 redefines 'g' from group 1"));
    assert.ok(v.errors.includes('Job task group g has count 2. Count cannot exceed 1 with system scheduler'));
    assert.ok(v.errors.some((e) => e.includes("Task 2 redefines 't' from task 1")));
  });

  test('services that reference a port label the group does not define', async () => {
    const v = validateJob(
      await parse('job "x" {\n  group "g" {\n    network {\n      port "http" {\n      }\n    }\n    service {\n      name = "web"\n      port = "htttp"\n    }\n    task "t" {\n      driver = "docker"\n    }\n  }\n}\n'),
    );
    assert.deepEqual(v.errors, ['Task group g validation failed: 1 error occurred:\n\t* port label "htttp" referenced by services web does not exist\n\n']);
  });

  test('health checks: missing path, too-short interval, missing timeout', async () => {
    const job: NomadJob = {
      ID: 'c',
      Name: 'c',
      Datacenters: ['dc1'],
      TaskGroups: [
        {
          Name: 'g',
          Networks: [{ Mode: '', ReservedPorts: null, DynamicPorts: [{ Label: 'http', Value: 0, To: 0, HostNetwork: '' }] }],
          Services: [
            {
              Name: 'web',
              PortLabel: 'http',
              Checks: [
                { Name: 'a', Type: 'http', Interval: 10e9, Timeout: 2e9 },
                { Name: 'b', Type: 'tcp', Interval: 5e8, Timeout: 2e9 },
                { Name: '', Type: 'tcp', Interval: 10e9, Timeout: 0 },
              ],
            },
          ],
          Tasks: [{ Name: 't', Driver: 'docker', Config: null }],
        },
      ],
    };
    const [err] = validateJob(job).errors;
    assert.equal(
      err,
      'Task group g validation failed: 1 error occurred:\n\t* service[0] "web" validation failed: 3 errors occurred:\n\t* Check a invalid: http type must have http path set\n\t* Check b invalid: interval (500ms) cannot be lower than 1s\n\t* Check service: "web" check invalid: missing required value timeout. Timeout cannot be less than 1s\n\n\n\n',
    );
  });

  test('resources below the minimum', async () => {
    const v = validateJob(await parse('job "x" {\n  group "g" {\n    task "t" {\n      driver = "docker"\n      resources {\n        memory = 5\n      }\n    }\n  }\n}\n'));
    assert.match(v.errors[0], /minimum MemoryMB value is 10; got 5/);
  });

  test('warnings: update max_parallel larger than the count', async () => {
    const v = validateJob(await parse('job "x" {\n  group "g" {\n    count = 2\n    update {\n      max_parallel = 5\n    }\n    task "t" {\n      driver = "docker"\n    }\n  }\n}\n'));
    assert.deepEqual(v.errors, []);
    assert.equal(v.warnings.length, 1);
    assert.match(v.warnings[0], /^Group "g" has warnings: 1 error occurred:\n\t\* Update max parallel count is greater than task group count \(5 > 2\)/);
    assert.match(formatWarnings(v.warnings), /^1 warning\(s\):\n\n\* Group "g"/);
  });

  test('formatMultiError matches go-multierror', () => {
    assert.equal(formatMultiError(['a']), '1 error occurred:\n\t* a\n\n');
    assert.equal(formatMultiError(['a', 'b']), '2 errors occurred:\n\t* a\n\t* b\n\n');
  });
});

describe('parseGoDuration', () => {
  test('Go duration syntax', () => {
    assert.equal(parseGoDuration('10s'), 10e9);
    assert.equal(parseGoDuration('1h30m'), 5400e9);
    assert.equal(parseGoDuration('1.5s'), 1.5e9);
    assert.equal(parseGoDuration('250ms'), 250e6);
    assert.equal(parseGoDuration('0'), 0);
    assert.throws(() => parseGoDuration('10'), /missing unit in duration "10"/);
    assert.throws(() => parseGoDuration('ten'), /invalid duration "ten"/);
    assert.equal(goDuration(500e6), '500ms');
    assert.equal(goDuration(90e9), '1m30s');
    assert.equal(goDuration(3600e9), '1h0m0s');
  });
});
