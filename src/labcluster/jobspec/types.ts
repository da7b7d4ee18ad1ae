// Nomad API job JSON types (field names exactly as Nomad's api package / POST /v1/jobs/parse emit them).
// Durations are int64 nanoseconds, as on the wire.

export interface Constraint {
  LTarget: string;
  RTarget: string;
  Operand: string;
}

export interface Affinity {
  LTarget: string;
  RTarget: string;
  Operand: string;
  Weight: number;
}

export interface SpreadTarget {
  Value: string;
  Percent: number;
}

export interface Spread {
  Attribute: string;
  Weight: number;
  SpreadTarget: SpreadTarget[] | null;
}

export interface Port {
  Label: string;
  Value: number;
  To: number;
  HostNetwork: string;
}

export interface NetworkResource {
  Mode: string;
  Device?: string;
  CIDR?: string;
  IP?: string;
  Hostname?: string;
  MBits?: number;
  DNS?: { Servers?: string[]; Searches?: string[]; Options?: string[] } | null;
  ReservedPorts: Port[] | null;
  DynamicPorts: Port[] | null;
}

export interface Resources {
  CPU?: number;
  Cores?: number;
  MemoryMB?: number;
  MemoryMaxMB?: number;
  DiskMB?: number;
  IOPS?: number;
  Networks?: NetworkResource[] | null;
  Devices?: unknown[] | null;
}

export interface ServiceCheck {
  Name: string;
  Type: string;
  Command?: string;
  Args?: string[] | null;
  Path?: string;
  Protocol?: string;
  PortLabel?: string;
  Expose?: boolean;
  AddressMode?: string;
  Interval: number;
  Timeout: number;
  InitialStatus?: string;
  Method?: string;
  Header?: Record<string, string[]> | null;
  Body?: string;
  TLSSkipVerify?: boolean;
  TaskName?: string;
  SuccessBeforePassing?: number;
  FailuresBeforeCritical?: number;
  OnUpdate?: string;
  [key: string]: unknown;
}

export interface Service {
  Name: string;
  Tags?: string[] | null;
  CanaryTags?: string[] | null;
  PortLabel?: string;
  AddressMode?: string;
  Address?: string;
  Checks?: ServiceCheck[] | null;
  Meta?: Record<string, string> | null;
  TaskName?: string;
  OnUpdate?: string;
  Provider?: string;
  [key: string]: unknown;
}

export interface Template {
  SourcePath?: string;
  DestPath?: string;
  EmbeddedTmpl?: string;
  ChangeMode?: string;
  ChangeSignal?: string;
  Splay?: number;
  Perms?: string;
  Uid?: number | null;
  Gid?: number | null;
  LeftDelim?: string;
  RightDelim?: string;
  Envvars?: boolean;
  VaultGrace?: number;
  ErrMissingKey?: boolean;
  [key: string]: unknown;
}

export interface RestartPolicy {
  Interval?: number;
  Attempts?: number;
  Delay?: number;
  Mode?: string;
  RenderTemplates?: boolean;
}

export interface ReschedulePolicy {
  Attempts?: number;
  Interval?: number;
  Delay?: number;
  DelayFunction?: string;
  MaxDelay?: number;
  Unlimited?: boolean;
}

export interface UpdateStrategy {
  Stagger?: number;
  MaxParallel?: number;
  HealthCheck?: string;
  MinHealthyTime?: number;
  HealthyDeadline?: number;
  ProgressDeadline?: number;
  Canary?: number;
  AutoRevert?: boolean;
  AutoPromote?: boolean;
}

export interface EphemeralDisk {
  Sticky?: boolean;
  Migrate?: boolean;
  SizeMB?: number;
}

export interface VolumeRequest {
  Name: string;
  Type: string;
  Source: string;
  ReadOnly: boolean;
  AccessMode?: string;
  AttachmentMode?: string;
  PerAlloc?: boolean;
  [key: string]: unknown;
}

export interface VolumeMount {
  Volume: string;
  Destination: string;
  ReadOnly: boolean;
  PropagationMode?: string;
}

export interface LogConfig {
  MaxFiles?: number;
  MaxFileSizeMB?: number;
  Disabled?: boolean;
}

export interface Task {
  Name: string;
  Driver: string;
  User?: string;
  Lifecycle?: { Hook: string; Sidecar: boolean } | null;
  Config: Record<string, unknown> | null;
  Constraints?: Constraint[] | null;
  Affinities?: Affinity[] | null;
  Env?: Record<string, string> | null;
  Services?: Service[] | null;
  Resources?: Resources;
  Meta?: Record<string, string> | null;
  KillTimeout?: number;
  LogConfig?: LogConfig | null;
  Artifacts?: unknown[] | null;
  Vault?: unknown;
  Templates?: Template[] | null;
  VolumeMounts?: VolumeMount[] | null;
  RestartPolicy?: RestartPolicy | null;
  Leader?: boolean;
  ShutdownDelay?: number;
  KillSignal?: string;
  Kind?: string;
  [key: string]: unknown;
}

export interface TaskGroup {
  Name: string;
  Count?: number;
  Constraints?: Constraint[] | null;
  Affinities?: Affinity[] | null;
  Spreads?: Spread[] | null;
  Tasks: Task[];
  Volumes?: Record<string, VolumeRequest> | null;
  RestartPolicy?: RestartPolicy | null;
  ReschedulePolicy?: ReschedulePolicy | null;
  EphemeralDisk?: EphemeralDisk | null;
  Update?: UpdateStrategy | null;
  Migrate?: unknown;
  Networks?: NetworkResource[] | null;
  Meta?: Record<string, string> | null;
  Services?: Service[] | null;
  ShutdownDelay?: number | null;
  StopAfterClientDisconnect?: number | null;
  MaxClientDisconnect?: number | null;
  Scaling?: unknown;
  [key: string]: unknown;
}

export interface NomadJob {
  ID: string;
  Name: string;
  Namespace?: string;
  Region?: string;
  Type?: string;
  Priority?: number;
  AllAtOnce?: boolean;
  Datacenters?: string[] | null;
  NodePool?: string;
  Constraints?: Constraint[] | null;
  Affinities?: Affinity[] | null;
  Spreads?: Spread[] | null;
  TaskGroups: TaskGroup[];
  Update?: UpdateStrategy | null;
  Multiregion?: unknown;
  Periodic?: unknown;
  ParameterizedJob?: unknown;
  Payload?: string | null;
  Meta?: Record<string, string> | null;
  ConsulToken?: string;
  VaultToken?: string;
  Stop?: boolean;
  ParentID?: string;
  Dispatched?: boolean;
  Status?: string;
  StatusDescription?: string;
  Stable?: boolean;
  Version?: number;
  SubmitTime?: number;
  CreateIndex?: number;
  ModifyIndex?: number;
  JobModifyIndex?: number;
  [key: string]: unknown;
}
