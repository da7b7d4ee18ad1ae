import * as vscode from 'vscode';
import { formatPreflight, formatProvisionOutcome, formatProvisionProgress, provisioningSettled, type StackCounts } from '../../organizerView';
import { UserCancelledError } from '../commands/runCommand';
import type { Services } from '../services';
import type { OrganizerSession } from './organizerSession';
import { waitForStacks } from './waitForStacks';

/**
 * Open Kitchen: Provision All Stacks. Shows the pre-flight numbers (what will be created, the
 * quotas) in a modal; on confirmation queues every stack that is not ready and follows the run in
 * a cancellable progress notification whose counts come from the workshop's event stream.
 * Cancelling unqueues what has not started and aborts running builds.
 */
export function provisionAllCommand(services: Services, organizer: OrganizerSession) {
  return async (): Promise<{ counts: StackCounts; cancelled: boolean } | undefined> => {
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

    model.applyStacks((await client.provisionStacks(ws)).stacks);
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Provisioning "${ws}"`, cancellable: true },
      async (progress, token) => {
        let shownDone = 0;
        const result = await waitForStacks(
          model,
          provisioningSettled,
          (c) => {
            // The bar fills with stacks that are finished, ready or failed.
            const done = c.total ? Math.round(((c.ready + c.failed) / c.total) * 100) : 100;
            progress.report({ message: formatProvisionProgress(c), increment: Math.max(0, done - shownDone) });
            shownDone = Math.max(done, shownDone);
          },
          token,
        );
        if (result.cancelled) {
          progress.report({ message: 'Cancelling…' });
          model.applyStacks((await client.cancelStacks(ws)).stacks);
        }
        return result;
      },
    );
    const outcome = formatProvisionOutcome(result.counts, result.cancelled);
    services.log.info(`Provision all (${ws}): ${outcome.message}`);
    if (outcome.level === 'info') void vscode.window.showInformationMessage(outcome.message);
    else void vscode.window.showWarningMessage(outcome.message);
    return result;
  };
}
