import * as vscode from 'vscode';
import { followRun, type StackRun } from '../../organizerClient';
import { countStacks, formatPreflight, formatProvisionOutcome, formatRunProgress } from '../../views';
import { UserCancelledError } from '../commands/runCommand';
import type { Services } from '../services';
import type { OrganizerSession } from './organizerSession';

/**
 * Open Kitchen: Provision All Stacks. Shows the pre-flight numbers (what will be created, the
 * quotas) in a modal; on confirmation queues every stack that is not ready and follows the run in
 * a cancellable progress notification, with the same run rule as the CLI's `--wait`
 * (src/organizerClient/runs.ts). Cancelling unqueues what has not started and aborts running builds.
 */
export function provisionAllCommand(services: Services, organizer: OrganizerSession) {
  return async (): Promise<{ run: StackRun; cancelled: boolean } | undefined> => {
    const { client, model, connection } = organizer.require();
    const ws = connection.workshop;
    const preflight = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `Checking what provisioning "${ws}" will create…` },
      () => client.preflight(ws),
    );
    const shown = formatPreflight(preflight);
    services.log.info(`Pre-flight for ${ws}: ${shown.message}\n${shown.detail}`);
    if (!shown.canProvision) {
      if (preflight.stacks === 0) void vscode.window.showInformationMessage(shown.message);
      else await vscode.window.showErrorMessage(shown.message, { modal: true, detail: shown.detail });
      return undefined;
    }
    const go = `Provision ${preflight.stacks} ${preflight.stacks === 1 ? 'Stack' : 'Stacks'}`;
    const choice = await vscode.window.showInformationMessage(shown.message, { modal: true, detail: shown.detail }, go);
    if (choice !== go) throw new UserCancelledError();

    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Provisioning "${ws}"`, cancellable: true },
      async (progress, token) => {
        let shownDone = 0;
        const stop = new AbortController();
        const onCancel = token.onCancellationRequested(() => stop.abort());
        try {
          const { run, stopped } = await followRun({
            kind: 'provision',
            feed: model.onStack,
            request: async () => {
              const { stacks } = await client.provisionStacks(ws);
              model.applyStacks(stacks);
              return stacks;
            },
            signal: stop.signal,
            onChange: (r) => {
              // The bar fills with the stacks that are done, ready or failed.
              const view = r.view();
              const done = view.total ? Math.round((view.done / view.total) * 100) : 100;
              progress.report({ message: formatRunProgress(r), increment: Math.max(0, done - shownDone) });
              shownDone = Math.max(done, shownDone);
            },
          });
          if (stopped) {
            progress.report({ message: 'Cancelling…' });
            model.applyStacks((await client.cancelStacks(ws)).stacks);
          }
          return { run, cancelled: stopped };
        } finally {
          onCancel.dispose();
        }
      },
    );
    const room = model.snapshot.state === 'loaded' ? countStacks(model.snapshot.attendees) : undefined;
    const outcome = formatProvisionOutcome(result.run, result.cancelled, room);
    services.log.info(`Provision all (${ws}): ${outcome.message}`);
    if (outcome.level === 'info') void vscode.window.showInformationMessage(outcome.message);
    else void vscode.window.showWarningMessage(outcome.message);
    return result;
  };
}
