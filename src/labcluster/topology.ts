// The workshop's topology as Nomad fingerprints it on Google Cloud: servers in datacenter
// `sys1` (they run a Nomad client too, so Consul's server group can be placed on them) and
// clients in `dc1` spread over zones. Attribute names and values follow what Nomad's
// fingerprinters report (nomad-consul-api reference §2.2).
import { createHash } from 'node:crypto';

export const NOMAD_VERSION = '1.9.7';
export const NOMAD_REVISION = 'f8695974efdb1c7ef3e3be9dcf7ae0f1f78c0b50';
export const DOCKER_VERSION = '27.3.1';

export interface LabTopology {
  servers: number;
  clientsPerZone: number;
  zones: string[];
}

export const defaultTopology: LabTopology = { servers: 3, clientsPerZone: 3, zones: ['europe-west1-b', 'europe-west1-c'] };

export interface DriverInfo {
  Attributes: Record<string, string> | null;
  Detected: boolean;
  Healthy: boolean;
  HealthDescription: string;
  UpdateTime: string;
}

export interface NodeEvent {
  Message: string;
  Subsystem: string;
  Details: Record<string, string> | null;
  Timestamp: string;
  CreateIndex: number;
}

export interface LabNode {
  ID: string;
  SecretID: string;
  Name: string;
  Datacenter: string;
  NodeClass: string;
  NodePool: string;
  Address: string;
  HTTPAddr: string;
  TLSEnabled: boolean;
  Status: 'initializing' | 'ready' | 'down' | 'disconnected';
  StatusDescription: string;
  StatusUpdatedAt: number;
  SchedulingEligibility: 'eligible' | 'ineligible';
  DrainStrategy: { DrainSpec: { Deadline: number; IgnoreSystemJobs: boolean }; ForceDeadline: string; StartedAt: string } | null;
  LastDrain: { StartedAt: string; UpdatedAt: string; Status: string; AccessorID: string; Meta: Record<string, string> | null } | null;
  Attributes: Record<string, string>;
  Meta: Record<string, string>;
  Drivers: Record<string, DriverInfo>;
  Events: NodeEvent[];
  CreateIndex: number;
  ModifyIndex: number;
  Version: string;
  /** capacity as the scheduler sees it (total minus reserved) */
  cpuMHz: number;
  memoryMB: number;
  reservedCpu: number;
  reservedMemory: number;
  /** lab-only: this node is one of the Nomad servers */
  isServer: boolean;
  zone: string;
  dockerVolumes: boolean;
  dockerPrivileged: boolean;
}

export function stableUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16] ?? '8', 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function zoneLetter(zone: string): string {
  return zone.split('-').pop() || zone;
}

const nowIso = (): string => new Date().toISOString();

export function dockerDriver(node: Pick<LabNode, 'dockerVolumes' | 'dockerPrivileged'>): DriverInfo {
  const attrs: Record<string, string> = {
    'driver.docker': 'true',
    'driver.docker.version': DOCKER_VERSION,
    'driver.docker.os_type': 'linux',
    'driver.docker.runtimes': 'io.containerd.runc.v2,runc',
    'driver.docker.bridge_ip': '172.17.0.1',
  };
  if (node.dockerVolumes) attrs['driver.docker.volumes.enabled'] = 'true';
  if (node.dockerPrivileged) attrs['driver.docker.privileged.enabled'] = 'true';
  return { Attributes: attrs, Detected: true, Healthy: true, HealthDescription: 'Healthy', UpdateTime: nowIso() };
}

/** Recompute the driver-derived attributes after a docker plugin setting changed. */
export function refreshDockerAttributes(node: LabNode): void {
  node.Drivers.docker = dockerDriver(node);
  delete node.Attributes['driver.docker.volumes.enabled'];
  delete node.Attributes['driver.docker.privileged.enabled'];
  if (node.dockerVolumes) node.Attributes['driver.docker.volumes.enabled'] = 'true';
  if (node.dockerPrivileged) node.Attributes['driver.docker.privileged.enabled'] = 'true';
}

export function buildNodes(topology: LabTopology, clusterName: string, index: number): LabNode[] {
  const nodes: LabNode[] = [];
  const zones = topology.zones.length ? topology.zones : defaultTopology.zones;
  const make = (name: string, dc: string, zone: string, ip: string, isServer: boolean): LabNode => {
    const id = stableUuid(`${clusterName}/node/${name}`);
    const cpuMHz = 4400;
    const memoryMB = isServer ? 3932 : 7961;
    const node: LabNode = {
      ID: id,
      SecretID: stableUuid(`${clusterName}/node-secret/${name}`),
      Name: name,
      Datacenter: dc,
      NodeClass: '',
      NodePool: 'default',
      Address: ip,
      HTTPAddr: `${ip}:4646`,
      TLSEnabled: false,
      Status: 'ready',
      StatusDescription: '',
      StatusUpdatedAt: Math.floor(Date.now() / 1000),
      SchedulingEligibility: 'eligible',
      DrainStrategy: null,
      LastDrain: null,
      Attributes: {
        'arch': 'x86_64',
        'cpu.arch': 'amd64',
        'cpu.frequency': '2200',
        'cpu.modelname': 'Intel(R) Xeon(R) CPU @ 2.20GHz',
        'cpu.numcores': '2',
        'cpu.reservablecores': '2',
        'cpu.totalcompute': String(cpuMHz),
        'cpu.usablecompute': String(cpuMHz),
        'driver.docker': '1',
        'driver.docker.version': DOCKER_VERSION,
        'driver.docker.os_type': 'linux',
        'driver.docker.runtimes': 'io.containerd.runc.v2,runc',
        'driver.docker.bridge_ip': '172.17.0.1',
        'driver.exec': '1',
        'kernel.arch': 'x86_64',
        'kernel.name': 'linux',
        'kernel.version': '6.1.0-28-cloud-amd64',
        'memory.totalbytes': String(memoryMB * 1024 * 1024),
        'nomad.advertise.address': `${ip}:4646`,
        'nomad.bridge.hairpin_mode': 'false',
        'nomad.revision': NOMAD_REVISION,
        'nomad.service_discovery': 'true',
        'nomad.version': NOMAD_VERSION,
        'os.name': 'debian',
        'os.version': '12',
        'os.signals': 'SIGABRT,SIGALRM,SIGBUS,SIGCHLD,SIGCONT,SIGFPE,SIGHUP,SIGILL,SIGINT,SIGIO,SIGKILL,SIGPIPE,SIGPROF,SIGQUIT,SIGSEGV,SIGSTOP,SIGSYS,SIGTERM,SIGTRAP,SIGTSTP,SIGTTIN,SIGTTOU,SIGURG,SIGUSR1,SIGUSR2,SIGWINCH,SIGXCPU,SIGXFSZ',
        'platform.gce.cpu-platform': 'Intel Broadwell',
        'platform.gce.hostname': `${name}.${zone}.c.open-kitchen-lab.internal`,
        'platform.gce.id': String(BigInt('0x' + id.replace(/-/g, '').slice(0, 15))),
        'platform.gce.machine-type': isServer ? 'e2-medium' : 'e2-standard-2',
        'platform.gce.network.default': 'true',
        'platform.gce.scheduling.automatic-restart': 'TRUE',
        'platform.gce.scheduling.on-host-maintenance': 'MIGRATE',
        'platform.gce.zone': zone,
        'unique.cgroup.mountpoint': '/sys/fs/cgroup',
        'unique.cgroup.version': 'v2',
        'unique.hostname': name,
        'unique.network.ip-address': ip,
        'unique.platform.gce.hostname': `${name}.${zone}.c.open-kitchen-lab.internal`,
        'unique.platform.gce.id': String(BigInt('0x' + id.replace(/-/g, '').slice(0, 15))),
        'unique.platform.gce.network.default.ip': ip,
        'unique.storage.bytesfree': '41234567168',
        'unique.storage.bytestotal': '51835101184',
        'unique.storage.volume': '/dev/sda1',
      },
      Meta: { connect: 'false', role: isServer ? 'server' : 'client', zone },
      Drivers: {},
      Events: [{ Message: 'Node registered', Subsystem: 'Cluster', Details: null, Timestamp: nowIso(), CreateIndex: index }],
      CreateIndex: index,
      ModifyIndex: index,
      Version: NOMAD_VERSION,
      cpuMHz,
      memoryMB,
      reservedCpu: 100,
      reservedMemory: 256,
      isServer,
      zone,
      dockerVolumes: false,
      dockerPrivileged: false,
    };
    node.Drivers = {
      docker: dockerDriver(node),
      exec: { Attributes: { 'driver.exec': 'true' }, Detected: true, Healthy: true, HealthDescription: 'Healthy', UpdateTime: nowIso() },
      raw_exec: { Attributes: null, Detected: false, Healthy: false, HealthDescription: 'disabled', UpdateTime: nowIso() },
      java: { Attributes: null, Detected: false, Healthy: false, HealthDescription: '', UpdateTime: nowIso() },
      qemu: { Attributes: null, Detected: false, Healthy: false, HealthDescription: '', UpdateTime: nowIso() },
    };
    return node;
  };
  for (let i = 0; i < topology.servers; i++) {
    const zone = zones[i % zones.length] as string;
    nodes.push(make(`nomad-server-${i + 1}`, 'sys1', zone, `10.132.0.${2 + i}`, true));
  }
  let host = 10;
  for (const zone of zones) {
    for (let i = 0; i < topology.clientsPerZone; i++) {
      nodes.push(make(`nomad-client-${zoneLetter(zone)}-${i + 1}`, 'dc1', zone, `10.132.0.${host++}`, false));
    }
  }
  return nodes;
}

/** Node resources in the shape of structs.NodeResources / ReservedResources and the legacy Resources. */
export function nodeResources(n: LabNode): Record<string, unknown> {
  const network = { Mode: 'host', Device: 'ens4', CIDR: `${n.Address}/32`, IP: n.Address, MBits: 1000, DNS: null, ReservedPorts: null, DynamicPorts: null };
  return {
    NodeResources: {
      Cpu: { CpuShares: n.cpuMHz, TotalCpuCores: 2, ReservableCpuCores: [0, 1] },
      Memory: { MemoryMB: n.memoryMB },
      Disk: { DiskMB: 49435 },
      Networks: [network],
      NodeNetworks: [{ Mode: 'host', Device: 'ens4', MacAddress: '42:01:0a:84:00:02', Speed: 1000, Addresses: [{ Family: 'ipv4', Alias: 'default', Address: n.Address, ReservedPorts: '', Gateway: '' }] }],
      Devices: null,
      MinDynamicPort: 20000,
      MaxDynamicPort: 32000,
    },
    ReservedResources: { Cpu: { CpuShares: n.reservedCpu }, Memory: { MemoryMB: n.reservedMemory }, Disk: { DiskMB: 0 }, Networks: { ReservedHostPorts: '22' } },
    Resources: { CPU: n.cpuMHz, MemoryMB: n.memoryMB, DiskMB: 49435, IOPS: 0, Networks: [network], Devices: null },
    Reserved: { CPU: n.reservedCpu, MemoryMB: n.reservedMemory, DiskMB: 0, IOPS: 0, Networks: null, Devices: null },
  };
}

/** GET /v1/node/:id (api.Node). */
export function nodeJson(n: LabNode): Record<string, unknown> {
  return {
    ID: n.ID,
    Name: n.Name,
    Datacenter: n.Datacenter,
    NodeClass: n.NodeClass,
    NodePool: n.NodePool,
    HTTPAddr: n.HTTPAddr,
    TLSEnabled: n.TLSEnabled,
    Attributes: { ...n.Attributes },
    ...nodeResources(n),
    Links: { gce: n.Attributes['unique.platform.gce.id'] ?? '' },
    Meta: { ...n.Meta },
    CgroupParent: '/nomad',
    Drain: n.DrainStrategy !== null,
    DrainStrategy: n.DrainStrategy,
    SchedulingEligibility: n.SchedulingEligibility,
    Status: n.Status,
    StatusDescription: n.StatusDescription,
    StatusUpdatedAt: n.StatusUpdatedAt,
    Events: n.Events,
    Drivers: n.Drivers,
    HostVolumes: null,
    HostNetworks: null,
    CSIControllerPlugins: null,
    CSINodePlugins: null,
    LastDrain: n.LastDrain,
    CreateIndex: n.CreateIndex,
    ModifyIndex: n.ModifyIndex,
  };
}

/** GET /v1/nodes element (structs.NodeListStub). */
export function nodeStubJson(n: LabNode, opts: { os?: boolean; resources?: boolean }): Record<string, unknown> {
  const res = opts.resources ? nodeResources(n) : {};
  return {
    Address: n.Address,
    ID: n.ID,
    // ?os=true copies only these two attributes into the stub (structs.Node.Stub).
    ...(opts.os ? { Attributes: { 'os.name': n.Attributes['os.name'] ?? '', 'os.version': n.Attributes['os.version'] ?? '' } } : {}),
    Datacenter: n.Datacenter,
    Name: n.Name,
    NodeClass: n.NodeClass,
    NodePool: n.NodePool,
    Version: n.Version,
    Drain: n.DrainStrategy !== null,
    SchedulingEligibility: n.SchedulingEligibility,
    Status: n.Status,
    StatusDescription: n.StatusDescription,
    Drivers: n.Drivers,
    HostVolumes: null,
    ...(opts.resources ? { NodeResources: res.NodeResources, ReservedResources: res.ReservedResources } : {}),
    LastDrain: n.LastDrain,
    CreateIndex: n.CreateIndex,
    ModifyIndex: n.ModifyIndex,
  };
}
