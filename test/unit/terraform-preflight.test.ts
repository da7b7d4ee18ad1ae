/**
 * The terraform-gce provider's pure parts: mapping outputs, reading terraform's -json lines,
 * and the pre-flight: what N stacks of terraform/gce create, counted from
 * the module's own variable defaults, and the check against Compute Engine quotas. gcloud
 * cannot reach Google here, so its answers are recorded JSON (test/fixtures/gcloud, the shape
 * `gcloud compute regions describe` and `gcloud compute project-info describe --format=json`
 * print), served by a small script standing in for gcloud on PATH.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkQuotas,
  countResources,
  moduleVariables,
  parseQuotas,
  readQuotas,
  sizingOf,
  vcpusOf,
  cpuQuotaMetric,
} from '../../src/organizer/providers/gcePreflight';
import { generateStackKeys } from '../../src/organizer/providers/keys';
import { describeFailure, mapOutputs, progressOf, TerraformProvider } from '../../src/organizer/providers/terraform';

const repoRoot = path.resolve(__dirname, '..', '..');
const gceModule = path.join(repoRoot, 'terraform', 'gce');
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'gcloud');
const regionJson = JSON.parse(fs.readFileSync(path.join(fixtures, 'regions-describe.json'), 'utf8')) as unknown;
const projectJson = JSON.parse(fs.readFileSync(path.join(fixtures, 'project-info-describe.json'), 'utf8')) as unknown;
const workshopTopology = { servers: 3, clientsPerZone: 3, zones: ['europe-west1-b', 'europe-west1-c'] };

let tmp: string;
let fakeBin: string;
let argsLog: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ok-preflight-'));
  fakeBin = path.join(tmp, 'bin');
  fs.mkdirSync(fakeBin);
  argsLog = path.join(tmp, 'gcloud-args.log');
  // Answers like gcloud does for a project with the recorded quotas; FAIL_WITH makes it fail like gcloud without an account.
  fs.writeFileSync(
    path.join(fakeBin, 'gcloud'),
    [
      '#!/bin/sh',
      'echo "$*" >> "$ARGS_LOG"',
      'if [ -n "$FAIL_WITH" ]; then echo "$FAIL_WITH" >&2; exit 1; fi',
      'case "$*" in',
      `  *"regions describe"*) cat "${path.join(fixtures, 'regions-describe.json')}" ;;`,
      `  *"project-info describe"*) cat "${path.join(fixtures, 'project-info-describe.json')}" ;;`,
      '  *) echo "unexpected: $*" >&2; exit 2 ;;',
      'esac',
    ].join('\n'),
    { mode: 0o755 },
  );
  // A terraform that exists, for the "is it installed" check.
  fs.writeFileSync(path.join(fakeBin, 'terraform'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: `${fakeBin}${path.delimiter}${process.env.PATH ?? ''}`, ARGS_LOG: argsLog, ...extra };
}

describe('counting what stacks create', () => {
  test('machine types give their vCPUs; unknown ones give null', () => {
    assert.equal(vcpusOf('e2-medium'), 2);
    assert.equal(vcpusOf('e2-small'), 2);
    assert.equal(vcpusOf('e2-standard-4'), 4);
    assert.equal(vcpusOf('n2-highmem-16'), 16);
    assert.equal(vcpusOf('n2-custom-6-12288'), 6);
    assert.equal(vcpusOf('c3-standard-22-lssd'), 22);
    assert.equal(vcpusOf('tiny-box'), null);
    assert.equal(cpuQuotaMetric('e2-medium'), 'CPUS');
    assert.equal(cpuQuotaMetric('n2-standard-8'), 'N2_CPUS');
  });

  test("the module's variables: defaults are read from terraform/gce, inputs without one are listed", async () => {
    const { defaults, required } = await moduleVariables(gceModule);
    assert.equal(defaults.machine_type_server, 'e2-medium');
    assert.equal(defaults.disk_size_gb, 20);
    assert.deepEqual(defaults.zones, ['europe-west1-b', 'europe-west1-c']);
    assert.deepEqual(required.sort(), [
      'attendee_public_key',
      'bastion_host_private_key',
      'bastion_host_public_key',
      'project',
      'stack_name',
      'workshop',
    ]);
  });

  test("20 stacks of the workshop's topology with the module's defaults", async () => {
    const { defaults } = await moduleVariables(gceModule);
    const problems: string[] = [];
    const resources = countResources(sizingOf(defaults, workshopTopology), 20, problems);
    const by = new Map(resources.map((r) => [r.name, r]));
    // 3 servers + 3 clients in each of 2 zones + the bastion.
    assert.deepEqual([by.get('VM instances')?.perStack, by.get('VM instances')?.total], [10, 200]);
    // e2-small bastion (2) + 9 e2-medium nodes (2 each).
    assert.deepEqual([by.get('vCPUs')?.perStack, by.get('vCPUs')?.total], [20, 400]);
    assert.equal(by.get('vCPUs counted in CPUS')?.perStack, 20);
    // 10 GB bastion disk + 9 × 20 GB.
    assert.deepEqual([by.get('Persistent disk (pd-standard)')?.perStack, by.get('Persistent disk (pd-standard)')?.unit], [190, 'GB']);
    assert.equal(by.get('Public IP addresses (bastion, Cloud NAT)')?.total, 40);
    assert.equal(by.get('VPC networks')?.total, 20);
    assert.equal(by.get('Managed instance groups')?.perStack, 2);
    assert.equal(by.get('Cloud DNS managed zones (internal, external)')?.perStack, 2);
    assert.deepEqual(problems, []);
  });

  test('inputs override the defaults: bigger clients, SSD disks, three zones', async () => {
    const { defaults } = await moduleVariables(gceModule);
    const problems: string[] = [];
    const sizing = sizingOf({ ...defaults, machine_type_client: 'n2-standard-4', disk_type: 'pd-balanced' }, {
      servers: 3,
      clientsPerZone: 2,
      zones: ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'],
    });
    const by = new Map(countResources(sizing, 1, problems).map((r) => [r.name, r]));
    assert.equal(by.get('VM instances')?.perStack, 10);
    assert.equal(by.get('vCPUs')?.perStack, 2 + 3 * 2 + 6 * 4);
    assert.equal(by.get('vCPUs counted in N2_CPUS')?.perStack, 24);
    assert.equal(by.get('vCPUs counted in CPUS')?.perStack, 8);
    assert.ok(by.has('Persistent disk (pd-balanced)'));
  });

  test('an unknown machine type is reported, not guessed', async () => {
    const { defaults } = await moduleVariables(gceModule);
    const problems: string[] = [];
    countResources(sizingOf({ ...defaults, machine_type_client: 'tiny-box' }, workshopTopology), 1, problems);
    assert.match(problems.join('\n'), /client machine type "tiny-box" is not one the pre-flight knows/);
  });
});

describe('quotas', () => {
  test("gcloud's JSON: every metric with its limit and usage", () => {
    const region = parseQuotas(regionJson, 'regions describe');
    assert.deepEqual(region.get('CPUS'), { limit: 24, usage: 4 });
    assert.deepEqual(region.get('IN_USE_ADDRESSES'), { limit: 8, usage: 1 });
    assert.deepEqual(parseQuotas(projectJson, 'project-info').get('NETWORKS'), { limit: 15, usage: 1 });
    assert.throws(() => parseQuotas({ name: 'europe-west1' }, 'gcloud compute regions describe europe-west1'), /regions describe europe-west1: the answer has no "quotas" list/);
  });

  test('each short quota is a problem that says what is needed and what is free', async () => {
    const { defaults } = await moduleVariables(gceModule);
    const problems: string[] = [];
    const resources = countResources(sizingOf(defaults, workshopTopology), 20, problems);
    const quotas = checkQuotas(
      resources,
      { region: parseQuotas(regionJson, 'r'), project: parseQuotas(projectJson, 'p') },
      { region: 'europe-west1', project: 'okp-test' },
      problems,
    );
    const cpus = quotas.find((q) => q.metric === 'CPUS');
    assert.deepEqual(cpus, { metric: 'CPUS', scope: 'region europe-west1', needed: 400, limit: 24, usage: 4, ok: false });
    assert.equal(quotas.find((q) => q.metric === 'DISKS_TOTAL_GB')?.ok, true);
    assert.equal(quotas.find((q) => q.metric === 'NETWORKS')?.ok, false);
    assert.ok(problems.includes('Quota CPUS in region europe-west1 is too small: the workshop needs 400 (vCPUs counted in CPUS), 4 of 24 are in use, so only 20 are free.'));
    assert.ok(problems.some((p) => p.startsWith('Quota NETWORKS in project okp-test is too small: the workshop needs 20')));
    // One stack fits everywhere.
    const fits: string[] = [];
    checkQuotas(countResources(sizingOf(defaults, workshopTopology), 1, fits), { region: parseQuotas(regionJson, 'r'), project: parseQuotas(projectJson, 'p') }, { region: 'europe-west1', project: 'okp-test' }, fits);
    assert.deepEqual(fits, []);
  });

  test('gcloud is asked about the right project and region', async () => {
    fs.rmSync(argsLog, { force: true });
    const r = await readQuotas({ gcloudBin: 'gcloud', project: 'okp-test', region: 'europe-west1', env: env() });
    assert.equal(r.note, null);
    assert.equal(r.region?.get('INSTANCES')?.limit, 24);
    assert.equal(r.project?.get('CPUS_ALL_REGIONS')?.limit, 32);
    const calls = fs.readFileSync(argsLog, 'utf8').trim().split('\n').sort();
    assert.deepEqual(calls, [
      'compute project-info describe --project=okp-test --format=json --quiet',
      'compute regions describe europe-west1 --project=okp-test --format=json --quiet',
    ]);
  });

  test('without gcloud, without a project, or when gcloud fails, the note says why quotas were not checked', async () => {
    const noGcloud = await readQuotas({ gcloudBin: 'gcloud', project: 'okp-test', region: 'europe-west1', env: { PATH: path.join(tmp, 'nowhere') } });
    assert.match(noGcloud.note ?? '', /Quotas were not checked: gcloud is not installed here/);
    const noProject = await readQuotas({ gcloudBin: 'gcloud', project: null, region: 'europe-west1', env: env() });
    assert.match(noProject.note ?? '', /no Google Cloud project is configured/);
    const failing = await readQuotas({
      gcloudBin: 'gcloud',
      project: 'okp-test',
      region: 'europe-west1',
      env: env({ FAIL_WITH: 'ERROR: (gcloud.compute.regions.describe) You do not currently have an active account selected.' }),
    });
    assert.equal(failing.region, null);
    assert.match(failing.note ?? '', /gcloud could not read the quotas of project okp-test \(region europe-west1: ERROR: \(gcloud.compute.regions.describe\) You do not currently have an active account selected/);
  });
});

describe('TerraformProvider.preflight', () => {
  test('counts from the module, checks the quotas with gcloud and lists what is short', async () => {
    const p = new TerraformProvider({ dataDir: tmp, moduleDir: gceModule, env: env({ OPEN_KITCHEN_TF_VARS: JSON.stringify({ project: 'okp-test' }) }) });
    const est = await p.preflight(workshopTopology, 2);
    assert.equal(est.quotaNote, null);
    assert.equal(est.resources.find((r) => r.name === 'VM instances')?.total, 20);
    // 2 stacks need 40 vCPUs; 20 of 24 are free.
    assert.deepEqual(
      est.problems.filter((x) => x.startsWith('Quota CPUS ')),
      ['Quota CPUS in region europe-west1 is too small: the workshop needs 40 (vCPUs counted in CPUS), 4 of 24 are in use, so only 20 are free.'],
    );
    assert.ok(est.quotas.every((q) => typeof q.limit === 'number' && q.scope));
  });

  test('a missing project and a missing terraform are problems; the note says quotas were not checked', async () => {
    const p = new TerraformProvider({ dataDir: tmp, moduleDir: gceModule, terraformBin: 'terraform-missing', env: env() });
    const est = await p.preflight(workshopTopology, 1);
    assert.ok(est.problems.includes('The module needs a value for "project": set it in OPEN_KITCHEN_TF_VARS (JSON).'), est.problems.join('\n'));
    assert.ok(est.problems.some((x) => /terraform is not installed: "terraform-missing" is not on PATH/.test(x)), est.problems.join('\n'));
    assert.match(est.quotaNote ?? '', /no Google Cloud project is configured/);
    assert.deepEqual(est.quotas, []);
    assert.equal(est.resources.find((r) => r.name === 'VM instances')?.perStack, 10);
  });

  test('bad provider settings are refused with what to fix', () => {
    assert.throws(() => new TerraformProvider({ dataDir: tmp, env: { OPEN_KITCHEN_TF_VARS: '{project:' } }), /OPEN_KITCHEN_TF_VARS is not valid JSON/);
    assert.throws(() => new TerraformProvider({ dataDir: tmp, env: { OPEN_KITCHEN_TF_VARS: '["p"]' } }), /must be a JSON object of module inputs/);
    assert.throws(
      () => new TerraformProvider({ dataDir: tmp, env: { OPEN_KITCHEN_TF_VARS: '{"stack_name":"x"}' } }),
      /Module inputs stack_name are set per stack by the organizer/,
    );
  });
});

describe("terraform's outputs and messages", () => {
  const keys = generateStackKeys();
  const outputs = (over: Record<string, unknown> = {}) =>
    Object.fromEntries(
      Object.entries({
        bastion_host: '203.0.113.9',
        bastion_port: 22,
        bastion_user: 'workshop',
        bastion_host_key: keys.hostPublicKey.replace(/ [^ ]+$/, ' another comment'),
        nomad_address: 'nomad.s.internal',
        nomad_port: 4646,
        consul_address: 'consul.s.internal',
        consul_port: 8500,
        region: 'europe-west1',
        datacenters: ['sys1', 'dc1'],
        zones: ['europe-west1-b', 'europe-west1-c'],
        dns_internal: 's.internal',
        dns_external: 's.ws.example.org',
        nomad_token: null,
        consul_token: null,
        ...over,
      }).map(([k, value]) => [k, { value }]),
    );
  const handle = { workDir: '/w', moduleDir: '/m' };

  test('outputs map to the connection details; the host key comment does not matter', () => {
    const s = mapOutputs(outputs(), keys, handle);
    assert.deepEqual(s.bastion, { host: '203.0.113.9', port: 22, user: 'workshop', hostKeyFingerprint: keys.hostKeyFingerprint, hostPublicKey: keys.hostPublicKey });
    assert.deepEqual(s.dns, { internal: 's.internal', external: 's.ws.example.org' });
    assert.equal(s.nomadToken, null);
  });

  test('a missing or malformed output, or a bastion with another host key, is refused by name', () => {
    assert.throws(() => mapOutputs(outputs({ bastion_host: undefined }), keys, handle), /output "bastion_host" is missing or not a non-empty string/);
    assert.throws(() => mapOutputs(outputs({ nomad_port: '4646x' }), keys, handle), /output "nomad_port" is not a port number: "4646x"/);
    assert.throws(() => mapOutputs(outputs({ zones: [] }), keys, handle), /output "zones" is missing or not a non-empty list of strings/);
    assert.throws(
      () => mapOutputs(outputs({ bastion_host_key: generateStackKeys().hostPublicKey }), keys, handle),
      (err: Error & { retryable?: boolean }) => /built with a different host key/.test(err.message) && err.retryable === false,
    );
  });

  test('progress comes from resource, summary and diagnostic lines only', () => {
    assert.equal(progressOf({ type: 'apply_start', '@message': 'google_compute_instance.bastion: Creating...' }), 'terraform: google_compute_instance.bastion: Creating...');
    assert.equal(progressOf({ type: 'apply_progress', '@message': 'x: Still creating... [10s elapsed]' }), null);
    assert.equal(progressOf({ type: 'planned_change', '@message': 'x: Plan to create' }), null);
    assert.equal(
      progressOf({ type: 'diagnostic', diagnostic: { severity: 'warning', summary: 'Deprecated attribute', detail: 'Use y.' } }),
      'terraform warning: Deprecated attribute (Use y.)',
    );
  });

  test('failures carry terraform\'s words; quota and configuration errors are not retried, others are', () => {
    const quota = describeFailure('terraform apply', {
      code: 1,
      stdout: '',
      stderr: '',
      diagnostics: [{ severity: 'error', summary: 'Error creating Instance', detail: "googleapi: Error 403: Quota 'CPUS' exceeded.  Limit: 24.0 in region europe-west1., quotaExceeded" }],
    });
    assert.equal(quota.message, "terraform apply failed: Error creating Instance: googleapi: Error 403: Quota 'CPUS' exceeded.  Limit: 24.0 in region europe-west1., quotaExceeded");
    assert.equal(quota.retryable, false);
    const transient = describeFailure('terraform apply', {
      code: 1,
      stdout: '',
      stderr: '',
      diagnostics: [{ severity: 'error', summary: 'Error waiting for instance to create', detail: 'googleapi: Error 503: Backend Error, backendError' }],
    });
    assert.equal(transient.retryable, true);
    // init runs without -json: the "Error:" paragraph of its text output.
    const init = describeFailure('terraform init', {
      code: 1,
      stdout: '',
      stderr: '\nError: Failed to query available provider packages\n\nCould not retrieve the list of available versions for provider hashicorp/google\n',
      diagnostics: [],
    });
    assert.equal(init.message, 'terraform init failed: Failed to query available provider packages Could not retrieve the list of available versions for provider hashicorp/google');
  });
});
