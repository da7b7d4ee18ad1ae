/**
 * The lab's Docker image catalogue: reference parsing as Docker does it, deterministic digests,
 * Docker's / Nomad's docker driver error text for images that do not exist, and the moving-tag
 * model behind the "pin your image versions" lesson.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerRegistryModel, dockerErrors, dockerImageCatalogue, hostPathVolumes, imageDigest, parseImageRef, resolveDockerImage } from '../../src/labcluster/jobspec';

describe('parseImageRef', () => {
  test('Docker Hub short names get the library/ prefix and the latest tag', () => {
    assert.deepEqual(parseImageRef('nginx'), { registry: 'docker.io', repository: 'library/nginx', tag: 'latest', original: 'nginx' });
    assert.deepEqual(parseImageRef('hashicorp/http-echo:1.0.0'), { registry: 'docker.io', repository: 'hashicorp/http-echo', tag: '1.0.0', original: 'hashicorp/http-echo:1.0.0' });
    assert.equal(parseImageRef('docker.io/library/redis:7.2').repository, 'library/redis');
    assert.equal(parseImageRef('index.docker.io/library/redis:7.2').registry, 'docker.io');
    assert.deepEqual(parseImageRef('localhost:5000/team/app:2'), { registry: 'localhost:5000', repository: 'team/app', tag: '2', original: 'localhost:5000/team/app:2' });
  });

  test('digests, and malformed references with Docker wording', () => {
    const d = 'sha256:' + 'a'.repeat(64);
    assert.deepEqual(parseImageRef(`redis@${d}`), { registry: 'docker.io', repository: 'library/redis', tag: '', digest: d, original: `redis@${d}` });
    assert.throws(() => parseImageRef('Nginx:1.27'), { message: 'Error response from daemon: invalid reference format: repository name must be lowercase' });
    assert.throws(() => parseImageRef('nginx:bad tag'), { message: 'Error response from daemon: invalid reference format' });
    assert.throws(() => parseImageRef('redis@sha256:short'), { message: 'Error response from daemon: invalid reference format' });
  });
});

describe('resolveDockerImage', () => {
  test('a version tag resolves to a stable sha256 digest', () => {
    const a = resolveDockerImage('nginx:1.27.3');
    const b = resolveDockerImage('docker.io/library/nginx:1.27.3');
    assert.ok(a.ok && b.ok);
    assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(a.digest, b.digest);
    assert.equal(a.digest, imageDigest('library/nginx', '1.27.3'));
    assert.equal(a.image, 'nginx');
    assert.equal(a.version, '1.27.3');
    assert.equal(a.behaviour.kind, 'serve');
    assert.deepEqual(a.behaviour.ports, [80]);
    const other = resolveDockerImage('nginx:1.25.4');
    assert.ok(other.ok);
    assert.notEqual(other.digest, a.digest);
  });

  test('an alias tag and no tag resolve to the version they point at', () => {
    const latest = resolveDockerImage('redis');
    const pinned = resolveDockerImage('redis:7.4.1');
    assert.ok(latest.ok && pinned.ok);
    assert.equal(latest.tag, 'latest');
    assert.equal(latest.version, '7.4.1');
    assert.equal(latest.digest, pinned.digest);
  });

  test('pinning by digest', () => {
    const d = imageDigest('hashicorp/http-echo', '0.2.3');
    const r = resolveDockerImage(`hashicorp/http-echo@${d}`);
    assert.ok(r.ok);
    assert.equal(r.version, '0.2.3');
    const missing = resolveDockerImage(`hashicorp/http-echo@sha256:${'0'.repeat(64)}`);
    assert.deepEqual(missing, {
      ok: false,
      error: `Failed to pull \`hashicorp/http-echo@sha256:${'0'.repeat(64)}\`: Error response from daemon: manifest for hashicorp/http-echo@sha256:${'0'.repeat(64)} not found: manifest unknown: manifest unknown`,
    });
  });

  test('an unknown tag fails with the docker driver and daemon wording', () => {
    assert.deepEqual(resolveDockerImage('nginx:1.99'), {
      ok: false,
      error: 'Failed to pull `nginx:1.99`: Error response from daemon: manifest for nginx:1.99 not found: manifest unknown: manifest unknown',
    });
  });

  test('an unknown repository fails with pull access denied', () => {
    assert.deepEqual(resolveDockerImage('acme/nope:1'), {
      ok: false,
      error:
        "Failed to pull `acme/nope:1`: Error response from daemon: pull access denied for acme/nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
    });
    const r = resolveDockerImage('Nginx');
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error, 'Failed to pull `Nginx`: Error response from daemon: invalid reference format: repository name must be lowercase');
  });

  test('every catalogue alias points at a version it has, and moving tags move to one', () => {
    for (const img of dockerImageCatalogue) {
      const versions = new Set(img.versions.map((v) => v.tag));
      for (const [tag, a] of Object.entries(img.aliases)) {
        assert.ok(versions.has(a.target), `${img.repository}:${tag} → ${a.target}`);
        if (a.movesTo) assert.ok(versions.has(a.movesTo), `${img.repository}:${tag} moves to ${a.movesTo}`);
        assert.ok(!versions.has(tag), `${img.repository}:${tag} is not both a version and an alias`);
      }
    }
  });

  test('the workshop images are all there', () => {
    for (const ref of ['hashicorp/consul:1.19.2', 'consul:1.15.4', 'nginx:1.27.3', 'redis:7.2.5', 'sysdig/sysdig:0.39.0', 'hashicorp/http-echo:1.0.0', 'busybox:1.36.1', 'python:3.12-slim', 'alpine:3.20']) {
      const r = resolveDockerImage(ref);
      assert.ok(r.ok, `${ref}: ${r.ok ? '' : r.error}`);
    }
    const busybox = resolveDockerImage('busybox:1.36.1');
    assert.ok(busybox.ok && busybox.behaviour.kind === 'command', 'busybox runs whatever command the task gives it');
  });
});

describe('DockerRegistryModel: tags that move under you', () => {
  test('menu-api:1.4 starts on a working 1.4.1, then upstream re-pushes it as a crashing 1.4.2', () => {
    const registry = new DockerRegistryModel();
    const before = registry.resolve('openkitchen/menu-api:1.4');
    assert.ok(before.ok);
    assert.equal(before.version, '1.4.1');
    assert.equal(before.behaviour.kind, 'serve');
    assert.equal(before.crashOnStart, undefined);

    const moved = registry.advanceMovingTags();
    assert.deepEqual(moved, [
      { image: 'openkitchen/menu-api', tag: '1.4', from: '1.4.1', to: '1.4.2' },
      { image: 'openkitchen/menu-api', tag: 'latest', from: '1.4.1', to: '1.4.2' },
    ]);
    assert.deepEqual(registry.advanceMovingTags(), [], 'advancing twice moves nothing more');

    const after = registry.resolve('openkitchen/menu-api:1.4');
    assert.ok(after.ok);
    assert.equal(after.tag, '1.4');
    assert.equal(after.version, '1.4.2');
    assert.notEqual(after.digest, before.digest, 'same tag, new digest');
    assert.equal(after.behaviour.kind, 'crash');
    assert.equal(after.behaviour.exitCode, 2);
    assert.equal(after.crashOnStart, 'Usage: menu-api --addr <host:port> [--menu <file>]');
    assert.ok(after.behaviour.stderr.includes('Error: unknown flag: --listen'));

    const pinned = registry.resolve('openkitchen/menu-api:1.4.1');
    assert.ok(pinned.ok);
    assert.equal(pinned.digest, before.digest, 'a pinned version never changes');
    assert.equal(pinned.behaviour.kind, 'serve');

    const fresh = resolveDockerImage('openkitchen/menu-api:1.4');
    assert.ok(fresh.ok && fresh.version === '1.4.1', 'resolveDockerImage uses a registry where nothing has moved');

    registry.reset();
    const reset = registry.resolve('openkitchen/menu-api:latest');
    assert.ok(reset.ok && reset.version === '1.4.1');
  });

  test('moveTag points one tag elsewhere and refuses nonsense', () => {
    const registry = new DockerRegistryModel();
    registry.moveTag('nginx', 'latest', '1.25.4');
    const r = registry.resolve('nginx');
    assert.ok(r.ok && r.version === '1.25.4');
    assert.throws(() => registry.moveTag('nginx', 'latest', '9.9.9'), /has no version 9\.9\.9/);
    assert.throws(() => registry.moveTag('nginx', '1.27.3', '1.25.4'), /is a version tag/);
    assert.throws(() => registry.moveTag('acme/nope', 'latest', '1'), /unknown image/);
  });
});

describe('dockerErrors', () => {
  test("the docker driver's refusals for host volumes and privileged mode", () => {
    const entry = '/var/run/docker.sock:/host/var/run/docker.sock';
    assert.equal(dockerErrors.volumesDisabled(entry), 'volumes are not enabled; cannot mount host paths: "/var/run/docker.sock:/host/var/run/docker.sock"');
    assert.equal(dockerErrors.privilegedDisabled, 'Docker privileged mode is disabled on this Nomad agent');
    assert.equal(
      dockerErrors.containerConfigFailed('sysdig/sysdig:0.39.0', 'sha256:abc', dockerErrors.volumesDisabled(entry)),
      'Failed to create container configuration for image "sysdig/sysdig:0.39.0" ("sha256:abc"): volumes are not enabled; cannot mount host paths: "/var/run/docker.sock:/host/var/run/docker.sock"',
    );
  });

  test('only host-path volume entries need the client to enable volumes', () => {
    assert.deepEqual(hostPathVolumes({ volumes: ['local/redis.conf:/etc/redis.conf', '/proc:/host/proc:ro', '${NOMAD_TASK_DIR}/x:/x'] }), ['/proc:/host/proc:ro']);
    assert.deepEqual(hostPathVolumes({ image: 'nginx' }), []);
    assert.deepEqual(hostPathVolumes(null), []);
  });
});
