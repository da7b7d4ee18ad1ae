import * as vscode from 'vscode';
import type { AllocationFilter } from '../../views';
import { UserCancelledError } from '../commands/runCommand';
import { CommandId } from '../../views/ids';
import type { Services } from '../services';
import { requireConnection } from './requireConnection';

interface FilterAccess {
  getFilter(): AllocationFilter;
  setFilter(filter: AllocationFilter): void;
}

const STATUSES = ['running', 'pending', 'failed', 'complete', 'lost'];

/** Context actions of the Allocations view: logs, restart, stop, stop job, Nomad UI, filters. */
export function allocationCommands(services: Services, filters: FilterAccess): vscode.Disposable[] {
  const { commands, log } = services;
  const logStreams = new Map<string, { channel: vscode.OutputChannel; abort: AbortController }>();

  const connected = () => requireConnection(services);
  const allocationFrom = async (allocId: string | undefined) => {
    if (!allocId) throw new Error('Pick an allocation in the Allocations view.');
    const alloc = (await connected()).model.getAllocation(allocId);
    if (!alloc) throw new Error(`Allocation ${allocId.slice(0, 8)} is no longer in the cluster.`);
    return alloc;
  };

  const showLogs = async (allocId: string | undefined) => {
    const { nomad } = await connected();
    const alloc = await allocationFrom(allocId);
    const tasks = alloc.tasks.map((t) => t.name);
    const task =
      tasks.length === 1
        ? tasks[0]
        : (await vscode.window.showQuickPick(tasks, { title: `Logs of ${alloc.name}`, placeHolder: 'Which task?' }));
    if (!task) throw new UserCancelledError();
    const type = (await vscode.window.showQuickPick(['stdout', 'stderr'], { title: `Logs of ${alloc.name} · ${task}`, placeHolder: 'Which stream?' })) as 'stdout' | 'stderr' | undefined;
    if (!type) throw new UserCancelledError();
    const key = `${alloc.id}/${task}/${type}`;
    // One channel per stream; showing it again restarts the follow from the start.
    const existing = logStreams.get(key);
    existing?.abort.abort();
    const channel = existing?.channel ?? vscode.window.createOutputChannel(`Nomad: ${alloc.name} ${task} ${type}`);
    channel.clear();
    channel.show(true);
    const abort = new AbortController();
    logStreams.set(key, { channel, abort });
    const stream = await nomad.logs(alloc.id, { task, type, follow: true, origin: 'start', signal: abort.signal });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => channel.append(chunk));
    stream.on('error', (err: Error) => {
      if (!abort.signal.aborted) channel.appendLine(`\n[Open Kitchen] the log stream stopped: ${err.message}`);
    });
    stream.on('end', () => {
      if (!abort.signal.aborted) channel.appendLine('\n[Open Kitchen] end of log (the task has stopped).');
    });
  };

  const restart = async (allocId: string | undefined) => {
    const alloc = await allocationFrom(allocId);
    await (await connected()).nomad.restartAllocation(alloc.id);
    void vscode.window.showInformationMessage(`Restarting ${alloc.name} (${alloc.shortId}).`);
  };

  const stopAlloc = async (allocId: string | undefined) => {
    const alloc = await allocationFrom(allocId);
    const ok = await vscode.window.showWarningMessage(`Stop allocation ${alloc.name} (${alloc.shortId})?`, { modal: true, detail: 'Nomad stops it and places a replacement, as `nomad alloc stop` does.' }, 'Stop Allocation');
    if (ok !== 'Stop Allocation') throw new UserCancelledError();
    const res = await (await connected()).nomad.stopAllocation(alloc.id);
    log.info(`Stopped allocation ${alloc.id}; evaluation ${res.EvalID}`);
    void vscode.window.showInformationMessage(`Stopping ${alloc.name} (${alloc.shortId}); Nomad places a replacement.`);
  };

  const stopJob = async (jobKey: string | undefined) => {
    const { nomad, model } = await connected();
    let key = jobKey;
    if (!key) {
      const running = model.getJobs().filter((j) => !j.stop && j.status !== 'dead');
      const pick = await vscode.window.showQuickPick(
        running.map((j) => ({ label: j.id, description: `${j.type} · ${j.namespace}`, key: j.key })),
        { title: 'Stop Job', placeHolder: running.length ? 'Which job?' : 'No running jobs' },
      );
      if (!pick) throw new UserCancelledError();
      key = pick.key;
    }
    const job = model.getJob(key);
    if (!job) throw new Error(`Job ${key} is no longer in the cluster.`);
    const choice = await vscode.window.showWarningMessage(
      `Stop job "${job.id}"?`,
      { modal: true, detail: `Its ${job.allocations.running} running allocation(s) stop. "Stop and Purge" also removes the job and its history.` },
      'Stop Job',
      'Stop and Purge',
    );
    if (!choice) throw new UserCancelledError();
    await nomad.stopJob(job.id, { namespace: job.namespace, purge: choice === 'Stop and Purge' });
    void vscode.window.showInformationMessage(`Job "${job.id}" is stopping${choice === 'Stop and Purge' ? ' and will be purged' : ''}.`);
  };

  const openInUi = async (target: { kind: 'alloc'; allocId: string } | { kind: 'job'; jobKey: string } | undefined) => {
    const path = !target ? '/ui/' : target.kind === 'alloc' ? `/ui/allocations/${target.allocId}` : `/ui/jobs/${encodeURIComponent(target.jobKey.slice(target.jobKey.indexOf('/') + 1))}`;
    await vscode.commands.executeCommand(CommandId.openNomadUi, path);
  };

  const filter = async () => {
    const { model } = await connected();
    const current = filters.getFilter();
    const kind = await vscode.window.showQuickPick(
      [
        { label: '$(package) By job…', value: 'job' as const },
        { label: '$(pulse) By status…', value: 'status' as const },
        { label: '$(clear-all) Show everything', value: 'clear' as const },
      ],
      { title: 'Filter Allocations' },
    );
    if (!kind) throw new UserCancelledError();
    if (kind.value === 'clear') return filters.setFilter({});
    if (kind.value === 'job') {
      const pick = await vscode.window.showQuickPick(
        model.getJobs().map((j) => ({ label: j.id, description: `${j.type} · ${j.status}`, key: j.key, picked: j.key === current.jobKey })),
        { title: 'Show only the allocations of' },
      );
      if (!pick) throw new UserCancelledError();
      return filters.setFilter({ ...current, jobKey: pick.key });
    }
    const picks = await vscode.window.showQuickPick(
      STATUSES.map((s) => ({ label: s, picked: current.statuses?.includes(s) ?? false })),
      { title: 'Show only allocations that are', canPickMany: true },
    );
    if (!picks) throw new UserCancelledError();
    filters.setFilter({ ...current, statuses: picks.map((p) => p.label) });
  };

  return [
    commands.register(CommandId.showAllocationLogs, showLogs),
    commands.register(CommandId.restartAllocation, restart),
    commands.register(CommandId.stopAllocation, stopAlloc),
    commands.register(CommandId.stopJob, stopJob),
    commands.register(CommandId.openAllocationInNomadUi, openInUi),
    commands.register(CommandId.filterAllocations, filter),
    commands.register(CommandId.clearAllocationFilter, () => filters.setFilter({})),
    {
      dispose: () => {
        for (const { channel, abort } of logStreams.values()) {
          abort.abort();
          channel.dispose();
        }
        logStreams.clear();
      },
    },
  ];
}
