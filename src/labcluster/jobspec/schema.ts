// The jobspec schema: each block of a job file and the API field its arguments and nested blocks
// decode to (Nomad 1.6–1.9 api package field names), with the normalisations jobspec2 applies
// (constraint and affinity shorthands, ports split into reserved and dynamic, template and vault
// defaults, group vault blocks pushed to tasks, top-level tasks as their own groups). The hcl
// tags of Nomad's api/jobs.go, api/tasks.go, api/resources.go, api/services.go, and
// jobspec2/parse_job.go (normalizeJob, normalizeVault, normalizeTemplates,
// normalizeNetworkPorts), simplified.
import type { BlockDef, Raw, Spec } from './decode';
import type { NomadJob, Port, Task, TaskGroup } from './types';

const S = (field: string, spec: BlockDef['spec'], extra: Partial<BlockDef> = {}): BlockDef => ({ field, mode: 'single', spec, ...extra });
const L = (field: string, spec: BlockDef['spec'], extra: Partial<BlockDef> = {}): BlockDef => ({ field, mode: 'list', spec, ...extra });
const NAMED = (field: string, spec: BlockDef['spec'], labelField = 'Name'): BlockDef => ({ field, mode: 'labeled', spec, labelField });
const MAP = { mode: 'single' as const, spec: 'stringmap' as const, attrOk: true };

const constraintSpec: Spec = {
  attrs: {
    attribute: ['attribute', 'string'],
    value: ['value', 'string'],
    operator: ['operator', 'string'],
    distinct_property: ['distinct_property', 'string'],
    distinct_hosts: ['distinct_hosts', 'bool'],
    regexp: ['regexp', 'string'],
    version: ['version', 'string'],
    semver: ['semver', 'string'],
    set_contains: ['set_contains', 'string'],
    set_contains_all: ['set_contains_all', 'string'],
    set_contains_any: ['set_contains_any', 'string'],
    is_set: ['is_set', 'string'],
    is_not_set: ['is_not_set', 'string'],
  },
  blocks: {},
  post: (o) => {
    const s = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
    const c = { LTarget: s('attribute'), RTarget: s('value'), Operand: s('operator') };
    for (const op of ['version', 'semver', 'regexp', 'set_contains']) {
      if (s(op)) {
        c.Operand = op;
        c.RTarget = s(op);
      }
    }
    if (o.distinct_hosts === true) c.Operand = 'distinct_hosts';
    if (s('distinct_property')) {
      c.Operand = 'distinct_property';
      c.LTarget = s('distinct_property');
    }
    if (!c.Operand) c.Operand = '=';
    return c;
  },
};

const affinitySpec: Spec = {
  attrs: {
    attribute: ['attribute', 'string'],
    value: ['value', 'string'],
    operator: ['operator', 'string'],
    weight: ['weight', 'int'],
    version: ['version', 'string'],
    semver: ['semver', 'string'],
    regexp: ['regexp', 'string'],
    set_contains: ['set_contains', 'string'],
    set_contains_all: ['set_contains_all', 'string'],
    set_contains_any: ['set_contains_any', 'string'],
  },
  blocks: {},
  post: (o) => {
    const s = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
    const a: Raw = { LTarget: s('attribute'), RTarget: s('value'), Operand: s('operator') };
    if (typeof o.weight === 'number') a.Weight = o.weight;
    for (const op of ['version', 'semver', 'regexp', 'set_contains_any', 'set_contains_all', 'set_contains']) {
      if (s(op)) {
        a.Operand = op;
        a.RTarget = s(op);
      }
    }
    if (!a.Operand) a.Operand = '=';
    return a;
  },
};

const spreadSpec: Spec = {
  attrs: { attribute: ['Attribute', 'string'], weight: ['Weight', 'int'] },
  blocks: { target: NAMED('SpreadTarget', { attrs: { percent: ['Percent', 'int'] }, blocks: {} }, 'Value') },
  post: (o) => ({ Attribute: o.Attribute ?? '', Weight: o.Weight ?? null, SpreadTarget: o.SpreadTarget ?? null }),
};

const portSpec: Spec = {
  attrs: { static: ['Value', 'int'], to: ['To', 'int'], host_network: ['HostNetwork', 'string'], ignore_collision: ['IgnoreCollision', 'bool'] },
  blocks: {},
  post: (o) => ({ Label: '', Value: o.Value ?? 0, To: o.To ?? 0, HostNetwork: o.HostNetwork ?? '', ...(o.IgnoreCollision !== undefined ? { IgnoreCollision: o.IgnoreCollision } : {}) }),
};

const networkSpec: Spec = {
  attrs: { mode: ['Mode', 'string'], device: ['Device', 'string'], cidr: ['CIDR', 'string'], ip: ['IP', 'string'], hostname: ['Hostname', 'string'], mbits: ['MBits', 'int'] },
  blocks: {
    port: NAMED('DynamicPorts', portSpec, 'Label'),
    dns: S('DNS', { attrs: { servers: ['Servers', 'strings'], searches: ['Searches', 'strings'], options: ['Options', 'strings'] }, blocks: {} }),
    cni: S('CNI', 'generic'),
  },
  post: (o) => {
    // jobspec2 normalizeNetworkPorts: ports with a static value are reserved, the rest dynamic.
    const ports = (o.DynamicPorts as Port[] | undefined) ?? [];
    const reserved = ports.filter((p) => p.Value > 0);
    const dynamic = ports.filter((p) => !(p.Value > 0));
    const n: Raw = { Mode: o.Mode ?? '', ...o, ReservedPorts: reserved.length ? reserved : null, DynamicPorts: dynamic.length ? dynamic : null };
    return n;
  },
};

const checkRestartSpec: Spec = { attrs: { limit: ['Limit', 'int'], grace: ['Grace', 'duration'], ignore_warnings: ['IgnoreWarnings', 'bool'] }, blocks: {} };

const checkSpec: Spec = {
  attrs: {
    name: ['Name', 'string'],
    type: ['Type', 'string'],
    command: ['Command', 'string'],
    args: ['Args', 'strings'],
    path: ['Path', 'string'],
    protocol: ['Protocol', 'string'],
    port: ['PortLabel', 'string'],
    expose: ['Expose', 'bool'],
    address_mode: ['AddressMode', 'string'],
    advertise: ['Advertise', 'string'],
    interval: ['Interval', 'duration'],
    timeout: ['Timeout', 'duration'],
    initial_status: ['InitialStatus', 'string'],
    notes: ['Notes', 'string'],
    tls_server_name: ['TLSServerName', 'string'],
    tls_skip_verify: ['TLSSkipVerify', 'bool'],
    method: ['Method', 'string'],
    grpc_service: ['GRPCService', 'string'],
    grpc_use_tls: ['GRPCUseTLS', 'bool'],
    task: ['TaskName', 'string'],
    success_before_passing: ['SuccessBeforePassing', 'int'],
    failures_before_critical: ['FailuresBeforeCritical', 'int'],
    failures_before_warning: ['FailuresBeforeWarning', 'int'],
    body: ['Body', 'string'],
    on_update: ['OnUpdate', 'string'],
  },
  blocks: { header: { field: 'Header', mode: 'single', spec: 'any', attrOk: true }, check_restart: S('CheckRestart', checkRestartSpec) },
};

const serviceSpec: Spec = {
  attrs: {
    name: ['Name', 'string'],
    tags: ['Tags', 'strings'],
    canary_tags: ['CanaryTags', 'strings'],
    enable_tag_override: ['EnableTagOverride', 'bool'],
    port: ['PortLabel', 'string'],
    address_mode: ['AddressMode', 'string'],
    address: ['Address', 'string'],
    task: ['TaskName', 'string'],
    on_update: ['OnUpdate', 'string'],
    provider: ['Provider', 'string'],
    cluster: ['Cluster', 'string'],
  },
  blocks: {
    check: L('Checks', checkSpec),
    check_restart: S('CheckRestart', checkRestartSpec),
    connect: S('Connect', 'generic'),
    meta: { field: 'Meta', ...MAP },
    canary_meta: { field: 'CanaryMeta', ...MAP },
    tagged_addresses: { field: 'TaggedAddresses', ...MAP },
    weights: S('Weights', { attrs: { passing: ['Passing', 'int'], warning: ['Warning', 'int'] }, blocks: {} }),
    identity: S('Identity', 'generic'),
  },
};

const restartSpec: Spec = {
  attrs: { interval: ['Interval', 'duration'], attempts: ['Attempts', 'int'], delay: ['Delay', 'duration'], mode: ['Mode', 'string'], render_templates: ['RenderTemplates', 'bool'] },
  blocks: {},
};

const rescheduleSpec: Spec = {
  attrs: {
    attempts: ['Attempts', 'int'],
    interval: ['Interval', 'duration'],
    delay: ['Delay', 'duration'],
    delay_function: ['DelayFunction', 'string'],
    max_delay: ['MaxDelay', 'duration'],
    unlimited: ['Unlimited', 'bool'],
  },
  blocks: {},
};

const updateSpec: Spec = {
  attrs: {
    stagger: ['Stagger', 'duration'],
    max_parallel: ['MaxParallel', 'int'],
    health_check: ['HealthCheck', 'string'],
    min_healthy_time: ['MinHealthyTime', 'duration'],
    healthy_deadline: ['HealthyDeadline', 'duration'],
    progress_deadline: ['ProgressDeadline', 'duration'],
    canary: ['Canary', 'int'],
    auto_revert: ['AutoRevert', 'bool'],
    auto_promote: ['AutoPromote', 'bool'],
  },
  blocks: {},
};

const migrateSpec: Spec = {
  attrs: { max_parallel: ['MaxParallel', 'int'], health_check: ['HealthCheck', 'string'], min_healthy_time: ['MinHealthyTime', 'duration'], healthy_deadline: ['HealthyDeadline', 'duration'] },
  blocks: {},
};

const vaultSpec: Spec = {
  attrs: {
    policies: ['Policies', 'strings'],
    role: ['Role', 'string'],
    namespace: ['Namespace', 'string'],
    cluster: ['Cluster', 'string'],
    env: ['Env', 'bool'],
    disable_file: ['DisableFile', 'bool'],
    change_mode: ['ChangeMode', 'string'],
    change_signal: ['ChangeSignal', 'string'],
    allow_token_expiration: ['AllowTokenExpiration', 'bool'],
  },
  blocks: {},
  // jobspec2 normalizeVault
  post: (o) => ({ ...o, Env: o.Env ?? true, ChangeMode: o.ChangeMode ?? 'restart' }),
};

const consulSpec: Spec = { attrs: { namespace: ['Namespace', 'string'], cluster: ['Cluster', 'string'], partition: ['Partition', 'string'] }, blocks: {} };

const resourcesSpec: Spec = {
  attrs: { cpu: ['CPU', 'int'], cores: ['Cores', 'int'], memory: ['MemoryMB', 'int'], memory_max: ['MemoryMaxMB', 'int'], disk: ['DiskMB', 'int'], iops: ['IOPS', 'int'] },
  blocks: {
    network: L('Networks', networkSpec),
    device: NAMED('Devices', { attrs: { count: ['Count', 'int'] }, blocks: { constraint: L('Constraints', constraintSpec), affinity: L('Affinities', affinitySpec) } }),
    numa: S('NUMA', 'generic'),
  },
};

const templateSpec: Spec = {
  attrs: {
    source: ['SourcePath', 'string'],
    destination: ['DestPath', 'string'],
    data: ['EmbeddedTmpl', 'string'],
    change_mode: ['ChangeMode', 'string'],
    change_signal: ['ChangeSignal', 'string'],
    splay: ['Splay', 'duration'],
    perms: ['Perms', 'string'],
    uid: ['Uid', 'int'],
    gid: ['Gid', 'int'],
    left_delimiter: ['LeftDelim', 'string'],
    right_delimiter: ['RightDelim', 'string'],
    env: ['Envvars', 'bool'],
    vault_grace: ['VaultGrace', 'duration'],
    error_on_missing_key: ['ErrMissingKey', 'bool'],
    once: ['Once', 'bool'],
  },
  blocks: {
    change_script: S('ChangeScript', { attrs: { command: ['Command', 'string'], args: ['Args', 'strings'], timeout: ['Timeout', 'duration'], fail_on_error: ['FailOnError', 'bool'] }, blocks: {} }),
    wait: S('Wait', { attrs: { min: ['Min', 'duration'], max: ['Max', 'duration'] }, blocks: {} }),
  },
  // jobspec2 normalizeTemplates
  post: (o) => ({ ...o, ChangeMode: o.ChangeMode ?? 'restart', Perms: o.Perms ?? '0644', Splay: o.Splay ?? 5e9, ErrMissingKey: o.ErrMissingKey ?? false }),
};

const taskSpec: Spec = {
  attrs: {
    driver: ['Driver', 'string'],
    user: ['User', 'string'],
    kill_timeout: ['KillTimeout', 'duration'],
    leader: ['Leader', 'bool'],
    shutdown_delay: ['ShutdownDelay', 'duration'],
    kill_signal: ['KillSignal', 'string'],
    kind: ['Kind', 'string'],
  },
  blocks: {
    config: S('Config', 'any'),
    constraint: L('Constraints', constraintSpec),
    affinity: L('Affinities', affinitySpec),
    env: { field: 'Env', ...MAP },
    meta: { field: 'Meta', ...MAP },
    service: L('Services', serviceSpec),
    resources: S('Resources', resourcesSpec),
    restart: S('RestartPolicy', restartSpec),
    logs: S('LogConfig', { attrs: { max_files: ['MaxFiles', 'int'], max_file_size: ['MaxFileSizeMB', 'int'], disabled: ['Disabled', 'bool'], enabled: ['Enabled', 'bool'] }, blocks: {} }),
    artifact: L('Artifacts', {
      attrs: { source: ['GetterSource', 'string'], destination: ['RelativeDest', 'string'], mode: ['GetterMode', 'string'], chown: ['Chown', 'bool'] },
      blocks: { options: { field: 'GetterOptions', ...MAP }, headers: { field: 'GetterHeaders', ...MAP } },
    }),
    vault: S('Vault', vaultSpec),
    consul: S('Consul', consulSpec),
    template: L('Templates', templateSpec),
    dispatch_payload: S('DispatchPayload', { attrs: { file: ['File', 'string'] }, blocks: {} }),
    volume_mount: L('VolumeMounts', {
      attrs: { volume: ['Volume', 'string'], destination: ['Destination', 'string'], read_only: ['ReadOnly', 'bool'], propagation_mode: ['PropagationMode', 'string'], selinux_label: ['SELinuxLabel', 'string'] },
      blocks: {},
    }),
    csi_plugin: S('CSIPluginConfig', 'generic'),
    lifecycle: S('Lifecycle', { attrs: { hook: ['Hook', 'string'], sidecar: ['Sidecar', 'bool'] }, blocks: {} }),
    scaling: NAMED('ScalingPolicies', 'generic', 'Type'),
    identity: L('Identities', 'generic'),
    action: NAMED('Actions', 'generic'),
    schedule: S('Schedule', 'generic'),
  },
  post: (o) => {
    if (Array.isArray(o.ScalingPolicies)) {
      o.ScalingPolicies = (o.ScalingPolicies as Raw[]).map((p) => ({ ...p, Type: p.Type === 'cpu' ? 'vertical_cpu' : p.Type === 'mem' ? 'vertical_mem' : p.Type }));
    }
    return o;
  },
};

const groupSpec: Spec = {
  attrs: {
    count: ['Count', 'int'],
    shutdown_delay: ['ShutdownDelay', 'duration'],
    stop_after_client_disconnect: ['StopAfterClientDisconnect', 'duration'],
    max_client_disconnect: ['MaxClientDisconnect', 'duration'],
    prevent_reschedule_on_lost: ['PreventRescheduleOnLost', 'bool'],
  },
  blocks: {
    constraint: L('Constraints', constraintSpec),
    affinity: L('Affinities', affinitySpec),
    spread: L('Spreads', spreadSpec),
    task: NAMED('Tasks', taskSpec),
    volume: {
      field: 'Volumes',
      mode: 'labeledMap',
      labelField: 'Name',
      spec: {
        attrs: {
          type: ['Type', 'string'],
          source: ['Source', 'string'],
          read_only: ['ReadOnly', 'bool'],
          access_mode: ['AccessMode', 'string'],
          attachment_mode: ['AttachmentMode', 'string'],
          per_alloc: ['PerAlloc', 'bool'],
          sticky: ['Sticky', 'bool'],
        },
        blocks: { mount_options: S('MountOptions', { attrs: { fs_type: ['FSType', 'string'], mount_flags: ['MountFlags', 'strings'] }, blocks: {} }) },
        post: (o) => ({ Name: '', Type: o.Type ?? '', Source: o.Source ?? '', ReadOnly: o.ReadOnly ?? false, ...o }),
      },
    },
    restart: S('RestartPolicy', restartSpec),
    reschedule: S('ReschedulePolicy', rescheduleSpec),
    ephemeral_disk: S('EphemeralDisk', { attrs: { sticky: ['Sticky', 'bool'], migrate: ['Migrate', 'bool'], size: ['SizeMB', 'int'] }, blocks: {} }),
    update: S('Update', updateSpec),
    migrate: S('Migrate', migrateSpec),
    network: L('Networks', networkSpec),
    meta: { field: 'Meta', ...MAP },
    service: L('Services', serviceSpec),
    scaling: S('Scaling', {
      attrs: { min: ['Min', 'int'], max: ['Max', 'int'], enabled: ['Enabled', 'bool'], type: ['Type', 'string'] },
      blocks: { policy: { field: 'Policy', mode: 'single', spec: 'any', attrOk: true } },
      post: (o) => ({ ...o, Type: o.Type ?? 'horizontal' }),
    }),
    consul: S('Consul', consulSpec),
    vault: S('Vault', vaultSpec),
    disconnect: S('Disconnect', {
      attrs: { lost_after: ['LostAfter', 'duration'], replace: ['Replace', 'bool'], reconcile: ['Reconcile', 'string'], stop_on_client_after: ['StopOnClientAfter', 'duration'] },
      blocks: {},
    }),
  },
  post: (o) => {
    // A group-level vault block applies to each task that has none of its own.
    if (o.Vault) {
      for (const t of (o.Tasks as Raw[] | undefined) ?? []) if (!t.Vault) t.Vault = o.Vault;
      delete o.Vault;
    }
    return o;
  },
};

export const jobSpec: Spec = {
  attrs: {
    region: ['Region', 'string'],
    namespace: ['Namespace', 'string'],
    id: ['ID', 'string'],
    name: ['Name', 'string'],
    type: ['Type', 'string'],
    priority: ['Priority', 'int'],
    all_at_once: ['AllAtOnce', 'bool'],
    datacenters: ['Datacenters', 'strings'],
    node_pool: ['NodePool', 'string'],
    consul_token: ['ConsulToken', 'string'],
    vault_token: ['VaultToken', 'string'],
  },
  blocks: {
    constraint: L('Constraints', constraintSpec),
    affinity: L('Affinities', affinitySpec),
    spread: L('Spreads', spreadSpec),
    group: NAMED('TaskGroups', groupSpec),
    task: NAMED('__Tasks', taskSpec),
    update: S('Update', updateSpec),
    multiregion: S('Multiregion', 'generic'),
    periodic: S('Periodic', {
      attrs: { cron: ['Spec', 'string'], crons: ['Specs', 'strings'], prohibit_overlap: ['ProhibitOverlap', 'bool'], time_zone: ['TimeZone', 'string'], enabled: ['Enabled', 'bool'] },
      blocks: {},
      post: (o) => (o.Spec !== undefined || o.Specs !== undefined ? { ...o, SpecType: 'cron' } : o),
    }),
    parameterized: S('ParameterizedJob', { attrs: { payload: ['Payload', 'string'], meta_required: ['MetaRequired', 'strings'], meta_optional: ['MetaOptional', 'strings'] }, blocks: {} }),
    reschedule: S('Reschedule', rescheduleSpec),
    migrate: S('Migrate', migrateSpec),
    meta: { field: 'Meta', ...MAP },
    ui: S('UI', 'generic'),
    vault: S('__Vault', vaultSpec),
  },
};

/** jobspec2 normalizeJob: label → ID/Name, top-level tasks become their own groups. */
export function normalizeJob(o: Raw, jobID: string): NomadJob {
  const job = { ...o } as Raw;
  if (job.Name === undefined) job.Name = jobID;
  if (job.ID === undefined) job.ID = jobID;
  const groups = ((job.TaskGroups as TaskGroup[] | undefined) ?? []).slice();
  const loose = (job.__Tasks as Task[] | undefined) ?? [];
  delete job.__Tasks;
  const vault = job.__Vault;
  delete job.__Vault;
  job.TaskGroups = [...loose.map((t) => ({ Name: t.Name, Tasks: [t] }) as TaskGroup), ...groups];
  for (const g of job.TaskGroups as TaskGroup[]) {
    if (!g.Tasks) g.Tasks = [];
    for (const t of g.Tasks) {
      if (t.Config === undefined) t.Config = null;
      if (vault && !t.Vault) t.Vault = vault;
    }
  }
  // Field order like Nomad's output: identity first, groups last.
  const ordered: Raw = { ID: job.ID, Name: job.Name };
  for (const [k, v] of Object.entries(job)) if (k !== 'TaskGroups' && !(k in ordered)) ordered[k] = v;
  ordered.TaskGroups = job.TaskGroups;
  return ordered as NomadJob;
}
