// The Docker images the lab cluster's docker driver can "pull": the ones the workshop's jobs use,
// each with a few versions, deterministic sha256 digests, and how a container of it behaves.
//
// Moving tags: some tags are aliases (`latest`, `1.4`) whose target changes when upstream pushes a
// new patch release under the same tag. The workshop lesson "pin image versions" is modelled with
// `openkitchen/menu-api`: its `1.4` and `latest` tags point at 1.4.1 (fine) and, after
// DockerRegistryModel.advanceMovingTags(), at 1.4.2, which renamed a flag and crashes at start.
// A job pinned to `1.4.1` (or to a digest) keeps working.
import { createHash } from 'node:crypto';

export interface ImageBehaviour {
  /**
   * `serve`: keeps running until stopped. `crash`: exits with `exitCode` right after starting
   * (writing `stderr`). `command`: runs the task's `config.command`/`args` (busybox, python…):
   * long-running commands (sleep, loops, servers) keep running, others exit 0.
   */
  kind: 'serve' | 'crash' | 'command';
  exitCode?: number;
  /** lines the container writes to stdout when it starts */
  stdout: string[];
  /** lines the container writes to stderr when it starts (or before it crashes) */
  stderr: string[];
  /** a line the container repeats while it runs (e.g. an access log line), if any */
  heartbeat?: string;
  /** ports the image listens on inside the container (its EXPOSE) */
  ports?: number[];
}

export interface CatalogueVersion {
  tag: string;
  sizeMB: number;
  behaviour: ImageBehaviour;
}

export interface CatalogueAlias {
  /** the version tag this alias points at when the lab starts */
  target: string;
  /** where upstream re-pushes this tag to (DockerRegistryModel.advanceMovingTags) */
  movesTo?: string;
}

export interface CatalogueImage {
  /** full Docker Hub repository path, e.g. "library/nginx" */
  repository: string;
  description: string;
  versions: CatalogueVersion[];
  aliases: Record<string, CatalogueAlias>;
}

export interface ImageRef {
  /** registry host; "docker.io" for Docker Hub */
  registry: string;
  /** repository path with Docker Hub's implicit "library/" for official images */
  repository: string;
  /** the tag asked for ("latest" when none was given; "" when pinned only by digest) */
  tag: string;
  digest?: string;
  /** the reference as the user wrote it (what Docker's error messages quote) */
  original: string;
}

export type ImageResolution =
  | {
      ok: true;
      /** repository as written without registry/library prefix, e.g. "nginx", "hashicorp/http-echo" */
      image: string;
      repository: string;
      /** the tag asked for ("" when pinned by digest) */
      tag: string;
      /** the concrete version that tag or digest resolves to, e.g. "1.4.1" for `1.4` */
      version: string;
      /** "sha256:…" of the resolved version */
      digest: string;
      sizeMB: number;
      behaviour: ImageBehaviour;
      /** set when the resolved version crashes at start: its last stderr line */
      crashOnStart?: string;
    }
  | { ok: false; error: string };

const ok = (stdout: string[], extra: Partial<ImageBehaviour> = {}): ImageBehaviour => ({ kind: 'serve', stdout, stderr: [], ...extra });
const cmd = (extra: Partial<ImageBehaviour> = {}): ImageBehaviour => ({ kind: 'command', stdout: [], stderr: [], ...extra });

const nginxStart = [
  '/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration',
  '/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh',
  '/docker-entrypoint.sh: Configuration complete; ready for start up',
];
const nginx = (v: string): CatalogueVersion => ({
  tag: v,
  sizeMB: 187,
  behaviour: ok(nginxStart, {
    stderr: [`nginx/${v}: start worker processes`],
    heartbeat: '10.0.0.1 - - "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0"',
    ports: [80],
  }),
});
const redis = (v: string): CatalogueVersion => ({
  tag: v,
  sizeMB: 138,
  behaviour: ok([`1:C oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo`, `1:C Redis version=${v}, bits=64, commit=00000000, modified=0, pid=1, just started`, '1:M * Server initialized', '1:M * Ready to accept connections tcp'], {
    ports: [6379],
  }),
});
const consul = (v: string): CatalogueVersion => ({
  tag: v,
  sizeMB: 155,
  behaviour: ok(
    [
      '==> Starting Consul agent...',
      `               Version: '${v}'`,
      '==> Consul agent running!',
      '[INFO]  agent: Joining cluster...',
      '[INFO]  agent: Join cluster completed. Synced with initial agents',
    ],
    { ports: [8500, 8600, 8300, 8301, 8302] },
  ),
});
const httpEcho = (v: string): CatalogueVersion => ({
  tag: v,
  sizeMB: 7,
  behaviour: ok([], { stderr: ['[INFO] server is listening on :5678'], heartbeat: '[INFO] 10.0.0.1:51820 "GET / HTTP/1.1" 200 12', ports: [5678] }),
});
const sysdig = (v: string): CatalogueVersion => ({
  tag: v,
  sizeMB: 1150,
  behaviour: ok(['* Setting up /usr/src links from host', '* Running sysdig-probe-loader', `* Success: sysdig ${v} probe found and loaded`], {
    heartbeat: '12:00:00.000000000 0 containerd (1021) > switch next=1090 pgft_maj=0 pgft_min=2 vm_size=0',
  }),
});
const menuApi = (v: string, crash = false): CatalogueVersion => ({
  tag: v,
  sizeMB: 24,
  behaviour: crash
    ? {
        kind: 'crash',
        exitCode: 2,
        stdout: [`menu-api ${v} starting`],
        stderr: ['Error: unknown flag: --listen', 'flag --listen was renamed to --addr in 1.4.2', 'Usage: menu-api --addr <host:port> [--menu <file>]'],
        ports: [8080],
      }
    : ok([`menu-api ${v} starting`, 'loaded 12 dishes from /local/menu.json', 'listening on 0.0.0.0:8080'], {
        heartbeat: 'GET /menu 200 1.2ms',
        ports: [8080],
      }),
});

export const dockerImageCatalogue: CatalogueImage[] = [
  {
    repository: 'library/nginx',
    description: 'Official build of Nginx.',
    versions: ['1.24.0', '1.25.3', '1.25.4', '1.27.0', '1.27.3'].map(nginx),
    aliases: { '1.24': { target: '1.24.0' }, '1.25': { target: '1.25.4' }, '1.27': { target: '1.27.3' }, stable: { target: '1.24.0' }, mainline: { target: '1.27.3' }, alpine: { target: '1.27.3' }, latest: { target: '1.27.3' } },
  },
  {
    repository: 'library/redis',
    description: 'Redis is an open source key-value store.',
    versions: ['6.2.14', '7.2.4', '7.2.5', '7.4.1'].map(redis),
    aliases: { '6': { target: '6.2.14' }, '6.2': { target: '6.2.14' }, '7': { target: '7.4.1' }, '7.2': { target: '7.2.5' }, '7.4': { target: '7.4.1' }, alpine: { target: '7.4.1' }, latest: { target: '7.4.1' } },
  },
  {
    repository: 'library/consul',
    description: 'Consul (deprecated official image; use hashicorp/consul).',
    versions: ['1.14.8', '1.15.4'].map(consul),
    aliases: { '1.14': { target: '1.14.8' }, '1.15': { target: '1.15.4' }, latest: { target: '1.15.4' } },
  },
  {
    repository: 'hashicorp/consul',
    description: 'Consul by HashiCorp.',
    versions: ['1.15.4', '1.16.3', '1.17.3', '1.18.2', '1.19.2', '1.20.1'].map(consul),
    aliases: { '1.16': { target: '1.16.3' }, '1.17': { target: '1.17.3' }, '1.18': { target: '1.18.2' }, '1.19': { target: '1.19.2' }, '1.20': { target: '1.20.1' }, latest: { target: '1.20.1' } },
  },
  {
    repository: 'hashicorp/http-echo',
    description: 'A tiny in-memory web server that echos back the text given to it.',
    versions: ['0.2.3', '1.0.0'].map(httpEcho),
    aliases: { latest: { target: '1.0.0' } },
  },
  {
    repository: 'sysdig/sysdig',
    description: 'Sysdig: system-level exploration and troubleshooting (needs host volumes and privileged mode).',
    versions: ['0.36.1', '0.38.1', '0.39.0'].map(sysdig),
    aliases: { latest: { target: '0.39.0' } },
  },
  {
    repository: 'library/busybox',
    description: 'Busybox base image.',
    versions: ['1.36.1', '1.37.0'].map((v) => ({ tag: v, sizeMB: 4, behaviour: cmd() })),
    aliases: { '1.36': { target: '1.36.1' }, '1.37': { target: '1.37.0' }, stable: { target: '1.36.1' }, latest: { target: '1.37.0' } },
  },
  {
    repository: 'library/alpine',
    description: 'A minimal Docker image based on Alpine Linux.',
    versions: ['3.19.4', '3.20.3'].map((v) => ({ tag: v, sizeMB: 8, behaviour: cmd() })),
    aliases: { '3.19': { target: '3.19.4' }, '3.20': { target: '3.20.3' }, latest: { target: '3.20.3' } },
  },
  {
    repository: 'library/python',
    description: 'Python is an interpreted, interactive, object-oriented, open-source programming language.',
    versions: ['3.11.10-slim', '3.12.7-slim', '3.12.7'].map((v) => ({ tag: v, sizeMB: v.endsWith('slim') ? 125 : 1020, behaviour: cmd() })),
    aliases: { '3.11-slim': { target: '3.11.10-slim' }, '3.12-slim': { target: '3.12.7-slim' }, '3.12': { target: '3.12.7' }, slim: { target: '3.12.7-slim' }, latest: { target: '3.12.7' } },
  },
  {
    repository: 'openkitchen/menu-api',
    description: "The workshop's sample service. Its 1.4 and latest tags move from 1.4.1 to 1.4.2 during the pin-your-images lab.",
    versions: [menuApi('1.3.0'), menuApi('1.4.0'), menuApi('1.4.1'), menuApi('1.4.2', true)],
    aliases: { '1.3': { target: '1.3.0' }, '1.4': { target: '1.4.1', movesTo: '1.4.2' }, latest: { target: '1.4.1', movesTo: '1.4.2' } },
  },
];

/** Deterministic, real-looking content digest of one image version. */
export function imageDigest(repository: string, version: string): string {
  return `sha256:${createHash('sha256').update(`open-kitchen-lab-image\0${repository}\0${version}`).digest('hex')}`;
}

/** Error strings of Nomad's docker driver and the Docker daemon, for the lab cluster's driver model. */
export const dockerErrors = {
  /** task event "Driver Failure" when a pull fails (drivers/docker: "Failed to pull `%s`: %s") */
  pullFailed: (ref: string, daemonError: string): string => `Failed to pull \`${ref}\`: ${daemonError}`,
  manifestUnknown: (ref: string): string => `Error response from daemon: manifest for ${ref} not found: manifest unknown: manifest unknown`,
  accessDenied: (repo: string): string =>
    `Error response from daemon: pull access denied for ${repo}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`,
  invalidReference: (detail: string): string => `Error response from daemon: invalid reference format${detail ? `: ${detail}` : ''}`,
  /**
   * The docker plugin's `volumes { enabled = false }` (the default since Nomad 0.12); `entry` is
   * the `volumes` entry as written, e.g. "/var/run/docker.sock:/host/var/run/docker.sock".
   */
  volumesDisabled: (entry: string): string => `volumes are not enabled; cannot mount host paths: ${JSON.stringify(entry)}`,
  /** the docker plugin's `allow_privileged = false` (the default) */
  privilegedDisabled: 'Docker privileged mode is disabled on this Nomad agent',
  /** how the driver reports either of the two above when starting the task */
  containerConfigFailed: (image: string, imageId: string, err: string): string =>
    `Failed to create container configuration for image ${JSON.stringify(image)} (${JSON.stringify(imageId)}): ${err}`,
};

/**
 * The entries of a docker task's `config.volumes` that bind a host path, i.e. that the driver
 * refuses unless the client enables volumes. Relative sources resolve inside the task directory
 * and are always allowed, as are the NOMAD_*_DIR locations.
 */
export function hostPathVolumes(config: Record<string, unknown> | null | undefined): string[] {
  const volumes = config?.volumes;
  if (!Array.isArray(volumes)) return [];
  return volumes.filter((v): v is string => typeof v === 'string' && v.startsWith('/'));
}

/**
 * Split an image reference the way Docker does: [registry/][namespace/]name[:tag][@digest].
 * Throws an Error carrying Docker's wording for malformed references.
 */
export function parseImageRef(ref: string): ImageRef {
  const original = ref;
  let rest = ref.trim();
  if (!rest) throw new Error(dockerErrors.invalidReference(''));
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(dockerErrors.invalidReference(''));
  }
  let tag = '';
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new Error(dockerErrors.invalidReference(''));
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift() as string;
    if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  }
  let repository = parts.join('/');
  if (repository !== repository.toLowerCase()) throw new Error(dockerErrors.invalidReference('repository name must be lowercase'));
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)) {
    throw new Error(dockerErrors.invalidReference(''));
  }
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!tag && !digest) tag = 'latest';
  return { registry, repository, tag, ...(digest ? { digest } : {}), original };
}

function shortName(repository: string): string {
  return repository.startsWith('library/') ? repository.slice('library/'.length) : repository;
}

/**
 * The registry as one lab cluster sees it. Moving tags are state: advanceMovingTags() is
 * "upstream re-pushed its tags", after which new pulls of `1.4`/`latest` get the new version.
 */
export class DockerRegistryModel {
  private readonly aliasTargets = new Map<string, string>();

  constructor(readonly catalogue: CatalogueImage[] = dockerImageCatalogue) {
    this.reset();
  }

  /** Put every moving tag back where it was when the lab started. */
  reset(): void {
    this.aliasTargets.clear();
    for (const img of this.catalogue) for (const [tag, a] of Object.entries(img.aliases)) this.aliasTargets.set(`${img.repository}:${tag}`, a.target);
  }

  /** Point `tag` of `image` (e.g. "openkitchen/menu-api", "1.4") at another version. */
  moveTag(image: string, tag: string, toVersion: string): void {
    const { repository } = parseImageRef(image);
    const img = this.catalogue.find((i) => i.repository === repository);
    if (!img) throw new Error(`unknown image ${image}`);
    if (!img.versions.some((v) => v.tag === toVersion)) throw new Error(`image ${image} has no version ${toVersion}`);
    if (img.versions.some((v) => v.tag === tag)) throw new Error(`${image}:${tag} is a version tag, not a moving tag`);
    this.aliasTargets.set(`${repository}:${tag}`, toVersion);
  }

  /** Move every tag that has a `movesTo` to it; returns what moved. */
  advanceMovingTags(): { image: string; tag: string; from: string; to: string }[] {
    const moved: { image: string; tag: string; from: string; to: string }[] = [];
    for (const img of this.catalogue) {
      for (const [tag, a] of Object.entries(img.aliases)) {
        const key = `${img.repository}:${tag}`;
        const from = this.aliasTargets.get(key) ?? a.target;
        if (a.movesTo && from !== a.movesTo) {
          this.aliasTargets.set(key, a.movesTo);
          moved.push({ image: shortName(img.repository), tag, from, to: a.movesTo });
        }
      }
    }
    return moved;
  }

  /** Resolve a reference like `docker pull` would, with Nomad's docker driver error text. */
  resolve(ref: string): ImageResolution {
    let r: ImageRef;
    try {
      r = parseImageRef(ref);
    } catch (e) {
      return { ok: false, error: dockerErrors.pullFailed(ref, (e as Error).message) };
    }
    const name = r.registry === 'docker.io' ? shortName(r.repository) : `${r.registry}/${r.repository}`;
    const img = r.registry === 'docker.io' ? this.catalogue.find((i) => i.repository === r.repository) : undefined;
    if (!img) return { ok: false, error: dockerErrors.pullFailed(ref, dockerErrors.accessDenied(name)) };
    let version: CatalogueVersion | undefined;
    if (r.tag) {
      const aliasTarget = this.aliasTargets.get(`${img.repository}:${r.tag}`);
      version = img.versions.find((v) => v.tag === (aliasTarget ?? r.tag));
      if (!version) return { ok: false, error: dockerErrors.pullFailed(ref, dockerErrors.manifestUnknown(`${name}:${r.tag}`)) };
    }
    if (r.digest) {
      const byDigest = img.versions.find((v) => imageDigest(img.repository, v.tag) === r.digest);
      // With both a tag and a digest Docker pulls by digest and ignores the tag.
      if (!byDigest) return { ok: false, error: dockerErrors.pullFailed(ref, dockerErrors.manifestUnknown(`${name}@${r.digest}`)) };
      version = byDigest;
    }
    if (!version) return { ok: false, error: dockerErrors.pullFailed(ref, dockerErrors.manifestUnknown(name)) };
    const b = version.behaviour;
    return {
      ok: true,
      image: name,
      repository: img.repository,
      tag: r.tag,
      version: version.tag,
      digest: imageDigest(img.repository, version.tag),
      sizeMB: version.sizeMB,
      behaviour: b,
      ...(b.kind === 'crash' ? { crashOnStart: b.stderr[b.stderr.length - 1] ?? `exit code ${b.exitCode ?? 1}` } : {}),
    };
  }
}

const pristine = new DockerRegistryModel();

/** Resolve against the catalogue as it is when a lab starts (no tag has moved yet). */
export function resolveDockerImage(ref: string): ImageResolution {
  return pristine.resolve(ref);
}
