/**
 * The shape of a loaded lab: what the loader produces from labs/*.md and what the checks,
 * the progress model and (later) the Labs view consume. Paths are workspace-relative POSIX
 * paths (`jobs/web.nomad.hcl`), so one lab works wherever the workspace lives.
 */

/** How many things must match: exactly `count`, or at least `min` and/or at most `max`. */
export interface CountSpec {
  count?: number;
  min?: number;
  max?: number;
}

export type JobStatusWanted = 'pending' | 'running' | 'dead' | 'absent';
export type AllocClientStatus = 'pending' | 'running' | 'complete' | 'failed' | 'lost' | 'unknown';
export type NodeStatus = 'initializing' | 'ready' | 'down' | 'disconnected';

export interface AllocScope {
  job: string;
  group?: string;
  datacenter?: string;
  zone?: string;
  /** Node name (or ID prefix). */
  node?: string;
}

/** A declarative check, as written in a lab's `yaml check` block, after validation. */
export type Check =
  | { kind: 'all'; checks: Check[] }
  | { kind: 'any'; checks: Check[] }
  | { kind: 'not'; check: Check }
  | { kind: 'jobStatus'; job: string; status: JobStatusWanted }
  | ({ kind: 'runningAllocs' } & AllocScope & CountSpec)
  | ({ kind: 'allocations'; status: AllocClientStatus } & AllocScope & CountSpec)
  | { kind: 'nodeEligibility'; node: string; eligible: boolean }
  | ({ kind: 'nodeCount'; status?: NodeStatus; datacenter?: string; zone?: string; eligible?: boolean } & CountSpec)
  | ({ kind: 'nodeAttribute'; attribute: string; equals?: string; matches?: string; datacenter?: string; zone?: string } & CountSpec)
  | { kind: 'consulMembers'; role: 'server' | 'client'; alive?: number; min?: number; job?: string; group?: string }
  | { kind: 'consulLeader' }
  | { kind: 'consulService'; name: string; passing: number; tag?: string }
  | { kind: 'kvValue'; key: string; equals?: string; matches?: string; exists?: boolean }
  | { kind: 'fileContains'; path: string; text: string }
  | { kind: 'fileMatches'; path: string; pattern: string; flags?: string }
  | { kind: 'jobImagePinned'; job?: string; file?: string }
  | { kind: 'jobFileValid'; path: string };

export type CheckKind = Check['kind'];

/** Buttons offered with a step's instructions. */
export type StepAction =
  | { kind: 'runJob'; file: string; label?: string }
  | { kind: 'stopJob'; job: string; label?: string }
  | { kind: 'openFile'; file: string; label?: string }
  | { kind: 'openUi'; ui: 'nomad' | 'consul'; path?: string; label?: string }
  | { kind: 'command'; command: string; args?: unknown[]; label: string }
  | { kind: 'terminal'; text: string; label?: string };

/**
 * One machine-applicable part of a solution: what a test (or a "do it for me" button) does
 * to make the step's check pass.
 */
export type ApplyAction =
  | { kind: 'runJob'; file: string; variables?: Record<string, string> }
  | { kind: 'stopJob'; job: string; purge?: boolean }
  | { kind: 'nodeEligibility'; node: string; eligible: boolean }
  | { kind: 'nodeDrain'; node: string; enable: boolean }
  | { kind: 'kvPut'; key: string; value: string }
  | { kind: 'editFile'; path: string; replace?: { find: string; with: string }[]; content?: string }
  | { kind: 'labFault'; fault: LabFault };

/** Faults and lab-machine changes the lab cluster's admin API (`/_lab/`) makes. */
export type LabFault =
  | { type: 'zoneOutage'; zone: string }
  | { type: 'zoneRestore'; zone: string }
  | { type: 'nodeDown'; node: string }
  | { type: 'nodeUp'; node: string }
  | { type: 'advanceImageTags' }
  | { type: 'dockerVolumes'; enabled: boolean; datacenter?: string; node?: string }
  | { type: 'raw'; method: string; path: string; body?: unknown };

export type LinkKind = 'file' | 'command' | 'url' | 'anchor';

export interface LabLink {
  text: string;
  /** As written in the Markdown. */
  target: string;
  kind: LinkKind;
  /** For file links: the workspace-relative path the link points at. */
  path?: string;
  line: number;
}

export interface LabStep {
  id: string;
  title: string;
  /** Markdown, with the `yaml check|actions` blocks taken out. */
  instructions: string;
  actions: StepAction[];
  hints: string[];
  /** Markdown of the solution, with the `yaml apply` block taken out ('' when none). */
  solution: string;
  apply: ApplyAction[];
  check: Check;
  links: LabLink[];
  /** 1-based line of the `## Step:` heading in the lab file. */
  line: number;
}

export interface Lab {
  id: string;
  title: string;
  /** Minutes. */
  duration: number;
  prerequisites: string[];
  optional: boolean;
  order: number;
  summary?: string;
  /** Markdown before the first step. */
  intro: string;
  /** Markdown after the steps (a `## ` heading that is not a step). */
  outro: string;
  steps: LabStep[];
  /** Workspace-relative path of the lab file. */
  file: string;
}

export interface LabProblem {
  /** Workspace-relative path of the lab file. */
  file: string;
  /** Step id (or title when it has no valid id yet). */
  step?: string;
  /** 1-based line in the file, where known. */
  line?: number;
  message: string;
  severity: 'error' | 'warning';
}

/** What a check says: whether it holds, one line for a status bar, and the why in words. */
export interface CheckResult {
  ok: boolean;
  summary: string;
  details: string[];
  /** Results of the parts of all/any/not. */
  children?: CheckResult[];
}
