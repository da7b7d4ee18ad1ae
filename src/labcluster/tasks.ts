// Task events and states with the field set and wording of Nomad's client (structs.TaskEvent,
// client/allocrunner/taskrunner), and how a docker task's container behaves (from the image
// catalogue): the "driver model".
import type { ImageBehaviour } from './jobspec';

export interface TaskEvent {
  Type: string;
  Time: number;
  Message: string;
  DisplayMessage: string;
  Details: Record<string, string>;
  FailsTask: boolean;
  RestartReason: string;
  SetupError: string;
  DriverError: string;
  ExitCode: number;
  Signal: number;
  KillTimeout: number;
  KillError: string;
  KillReason: string;
  StartDelay: number;
  DownloadError: string;
  ValidationError: string;
  DiskLimit: number;
  FailedSibling: string;
  VaultError: string;
  TaskSignalReason: string;
  TaskSignal: string;
  DriverMessage: string;
  GenericSource: string;
}

export interface TaskState {
  State: 'pending' | 'running' | 'dead';
  Failed: boolean;
  Restarts: number;
  LastRestart: string | null;
  StartedAt: string | null;
  FinishedAt: string | null;
  Events: TaskEvent[];
  TaskHandle: null;
}

export const nowNs = (): number => Date.now() * 1e6;

export function taskEvent(type: string, display: string, extra: Partial<TaskEvent> = {}): TaskEvent {
  return {
    Type: type,
    Time: nowNs(),
    Message: '',
    DisplayMessage: display,
    Details: {},
    FailsTask: false,
    RestartReason: '',
    SetupError: '',
    DriverError: '',
    ExitCode: 0,
    Signal: 0,
    KillTimeout: 0,
    KillError: '',
    KillReason: '',
    StartDelay: 0,
    DownloadError: '',
    ValidationError: '',
    DiskLimit: 0,
    FailedSibling: '',
    VaultError: '',
    TaskSignalReason: '',
    TaskSignal: '',
    DriverMessage: '',
    GenericSource: '',
    ...extra,
  };
}

export const events = {
  received: () => taskEvent('Received', 'Task received by client'),
  setup: () => taskEvent('Task Setup', 'Building Task Directory', { Message: 'Building Task Directory', Details: { message: 'Building Task Directory' } }),
  downloading: (image: string) =>
    taskEvent('Driver', `Downloading image`, { DriverMessage: 'Downloading image', Details: { image } }),
  started: () => taskEvent('Started', 'Task started by client'),
  terminated: (exitCode: number, signal = 0) =>
    taskEvent('Terminated', `Exit Code: ${exitCode}${signal ? `, Signal: ${signal}` : ''}`, {
      ExitCode: exitCode,
      Signal: signal,
      Details: { exit_code: String(exitCode), signal: String(signal), oom_killed: 'false', exit_message: '' },
    }),
  driverFailure: (err: string) => taskEvent('Driver Failure', err, { DriverError: err, Details: { driver_error: err } }),
  restarting: (delayNs: number, reason = 'Restart within policy') =>
    taskEvent('Restarting', `Task restarting in ${goDurationString(delayNs)}`, {
      RestartReason: reason,
      StartDelay: delayNs,
      Details: { restart_reason: reason, start_delay: String(delayNs) },
    }),
  notRestarting: (reason: string) => taskEvent('Not Restarting', reason, { FailsTask: true, RestartReason: reason, Details: { fails_task: 'true', restart_reason: reason } }),
  restartSignaled: () => taskEvent('Restart Signaled', 'User requested restart', { RestartReason: 'User requested restart', Details: { restart_reason: 'User requested restart' } }),
  restartSignaledBy: (reason: string) => taskEvent('Restart Signaled', reason, { RestartReason: reason, Details: { restart_reason: reason } }),
  signaling: (signal: string, reason: string) => taskEvent('Signaling', `${reason}`, { TaskSignal: signal, TaskSignalReason: reason, Details: { signal, reason } }),
  killing: (timeoutNs: number) =>
    taskEvent('Killing', `Sent interrupt. Waiting ${goDurationString(timeoutNs)} before force killing`, { KillTimeout: timeoutNs, Details: { kill_timeout: goDurationString(timeoutNs) } }),
  killed: () => taskEvent('Killed', 'Task successfully killed'),
  template: (message: string) => taskEvent('Template', message, { Details: { message } }),
  siblingFailed: (task: string) => taskEvent('Sibling Task Failed', `Task's sibling "${task}" failed`, { FailedSibling: task, Details: { failed_sibling: task } }),
};

/** Go's time.Duration.String() for the values the lab uses (15s, 1m30s, 250ms, 0s). */
export function goDurationString(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e6) return `${ns / 1e3}µs`;
  if (ns < 1e9) return `${+(ns / 1e6).toFixed(3)}ms`;
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = `${+s.toFixed(9)}s`;
  if (h) return `${h}h${m}m${sec}`;
  if (m) return `${m}m${sec}`;
  return sec;
}

/** What a container of a `command`-kind image (busybox, alpine, python) does with its command line. */
export interface CommandRun {
  stdout: string[];
  /** seconds it runs before exiting; Infinity for servers and loops */
  seconds: number;
  exitCode: number;
}

export function runCommand(command: unknown, args: unknown, env: Record<string, string>): CommandRun {
  const parts = [typeof command === 'string' ? command : '', ...(Array.isArray(args) ? args.map(String) : [])].filter(Boolean);
  const line = parts.join(' ');
  const script = parts.length >= 2 && /(^|\/)(sh|bash|ash)$/.test(parts[0] ?? '') && parts[1] === '-c' ? parts.slice(2).join(' ') : line;
  if (/while\s+(true|:)|sleep\s+infinity|tail\s+-f|http\.server|nc\s+-l|httpd|yes\b|server/.test(script)) {
    return { stdout: echoes(script, env), seconds: Infinity, exitCode: 0 };
  }
  let seconds = 0;
  for (const m of script.matchAll(/sleep\s+(\d+(?:\.\d+)?)/g)) seconds += Number(m[1]);
  const exit = /exit\s+(\d+)/.exec(script);
  return { stdout: echoes(script, env), seconds, exitCode: exit ? Number(exit[1]) : 0 };
}

function echoes(script: string, env: Record<string, string>): string[] {
  const out: string[] = [];
  for (const stmt of script.split(/;|&&|\n/)) {
    const m = /^\s*echo\s+(.*)$/.exec(stmt);
    if (!m) continue;
    let text = (m[1] as string).trim().replace(/^(['"])(.*)\1$/, '$2');
    text = text.replace(/\$\(hostname\)/g, env.HOSTNAME ?? 'localhost').replace(/\$\{?(\w+)\}?/g, (_s, k: string) => env[k] ?? '');
    out.push(text);
  }
  return out;
}

export type { ImageBehaviour };
